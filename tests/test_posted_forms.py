"""The new-statement forms bind, on a POST, only the fields that were sent (PostedFieldsForm): the rows a save
stores, and the page a refused save shows again, must be what the full form gave."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from helpers import EDITOR, app_beside, csrf_token, query, sign_in

from claimtrack.web.claims.forms import LinkForm, NewClaimForm
from claimtrack.web.claims.routes import NewClaim, NewLink
from claimtrack.web.forms import Unposted

TOKEN = "posted-form-token-0123456789"


def _full_forms(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every POST binds the whole form, as before forms were built for what was posted."""
    monkeypatch.setattr(NewClaim, "posted_form", NewClaim.form)
    monkeypatch.setattr(NewLink, "posted_form", NewLink.form)


def _existing(db_path: Path) -> dict[str, Any]:
    row = query(
        db_path,
        """SELECT c.id, c.text, s.name AS speaker FROM claims c JOIN speakers s ON s.id = c.speaker_id
        WHERE c.retracted = 0 ORDER BY c.id LIMIT 1""",
    )[0]
    return dict(row)


def _refusals(db_path: Path) -> list[tuple[str, dict[str, str]]]:
    c = _existing(db_path)
    new_link = f"/claims/{c['id']}/links/new"
    near = c["speaker"][:-1] + ("x" if c["speaker"][-1] != "x" else "y")  # one letter off a recorded name
    return [
        # a field's own check (date, language, verdict choice): 400 from validation
        ("/claims/new", {"text": "Said once", "speaker": "Someone", "stated_on": "31/02/2016", "language": "!!"}),
        ("/claims/new", {"text": "Said once", "speaker": "Someone", "verdict": "bogus", "verbatim": "y"}),
        # the input model's checks: no statement, a date too late
        ("/claims/new", {"speaker": "Someone", "outlet": "Paper", "stated_time": "25:99"}),
        # a duplicate of a recorded statement by its speaker: 409, the form links it
        ("/claims/new", {"text": c["text"], "speaker": c["speaker"], "event": "A new event name"}),
        # a near name: 409 with the names to pick from, ticked boxes and picks kept
        ("/claims/new", {"text": "Another thing said", "speaker": near, "confirm_new_event": "y"}),
        # a pick that is no source; the picked speaker replaces the typed one on the page shown again
        ("/claims/new", {"text": "Said", "speaker": "Typed", "pick_speaker": c["speaker"], "pick_source": "x"}),
        ("/claims/new", {"text": "Said", "pick_speaker": c["speaker"], "pick_source": "999999999"}),
        # links: an unknown relation, a pick that is no number, a new statement with a bad language
        (new_link, {"relation": "nonsense", "text": "An answer", "speaker": "Someone"}),
        (new_link, {"target_id": "#abc", "note": "Why"}),
        (new_link, {"text": "An answer", "speaker": "Someone", "language": "??", "q": "words"}),
        (new_link, {"text": c["text"], "speaker": c["speaker"], "relation": "supports"}),
    ]


@pytest.mark.parametrize("case", range(11))
def test_a_refused_save_shows_the_page_the_full_form_shows(
    seeded_client: FlaskClient, db_path: Path, monkeypatch: pytest.MonkeyPatch, case: int
) -> None:
    url, data = _refusals(db_path)[case]
    data = {**data, "form_token": TOKEN}
    posted = seeded_client.post(url, data=data)
    _full_forms(monkeypatch)
    full = seeded_client.post(url, data=data)
    assert posted.status_code in (400, 404, 409)
    assert (posted.status_code, _page(posted.get_data(as_text=True))) == (
        full.status_code,
        _page(full.get_data(as_text=True)),
    )


def _page(html: str) -> str:
    """The page without its CSRF tokens' signatures, which carry the second they were made."""
    return re.sub(r'(name="csrf_token" value="[^".]*)\.[^"]*"', r'\1"', html)


def test_a_save_stores_the_rows_the_full_form_stored(
    seeded_client: FlaskClient, db_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    c = _existing(db_path)
    columns = "text, verbatim, language, translation, stated_on, stated_time, context, verdict, speaker_id, event_id"

    def save(n: int) -> list[Any]:
        data = {"text": f"Said on day {n}", "speaker": c["speaker"], "stated_on": "16/12/2016", "verdict": "false"}
        assert seeded_client.post("/claims/new", data=data).status_code == 303
        linked = {"text": f"Answered on day {n}", "speaker": "Someone new", "relation": "supports", "note": "Why"}
        assert seeded_client.post(f"/claims/{c['id']}/links/new", data=linked).status_code == 303
        claims = query(db_path, f"SELECT {columns} FROM claims ORDER BY id DESC LIMIT 2")
        link = query(db_path, "SELECT relation, note, to_claim_id FROM claim_links ORDER BY id DESC LIMIT 1")
        return [tuple(r) for r in claims] + [tuple(r) for r in link]

    posted = save(1)
    _full_forms(monkeypatch)
    full = save(2)
    assert [[str(v).replace("day 1", "day 2") for v in row] for row in posted] == [
        [str(v) for v in row] for row in full
    ]


def test_a_posted_form_binds_only_what_was_sent(app: Flask) -> None:
    with app.test_request_context("/claims/new", method="POST", data={"text": "Said", "speaker": "Someone"}):
        form = NewClaimForm.posted()
        assert isinstance(form.verdict, Unposted) and isinstance(form["confirm_new_speaker"], Unposted)
        assert not isinstance(form.text, Unposted)
        assert form.validate_on_submit()
        whole = form.whole()
        assert not any(isinstance(f, Unposted) for f in whole)
        assert {f.name: f.data for f in whole if f.name != "form_token"} == {
            f.name: f.data for f in NewClaimForm() if f.name != "form_token"
        }
    with app.test_request_context("/claims/1/links/new", method="GET"):
        assert not any(isinstance(f, Unposted) for f in LinkForm.posted())


def test_with_csrf_on_a_refused_save_keeps_its_token_and_input(app: Flask, seeded_client: FlaskClient) -> None:
    csrf_app = app_beside(app, WTF_CSRF_ENABLED=True, SECRET_KEY=app.config["SECRET_KEY"])
    client = csrf_app.test_client()
    sign_in(client, *EDITOR)
    token = csrf_token(client.get("/claims/new").get_data(as_text=True))
    page = client.post("/claims/new", data={"csrf_token": token, "speaker": "Someone", "outlet": "The Paper"})
    html = page.get_data(as_text=True)
    assert page.status_code == 400
    assert 'value="The Paper"' in html and 'value="Someone"' in html
    assert client.post("/claims/new", data={"text": "Said", "speaker": "Someone"}).status_code == 400  # no token
    # the page shown again carries a token that saves
    again = {"csrf_token": csrf_token(html), "text": "Said", "speaker": "Someone", "outlet": "The Paper"}
    assert client.post("/claims/new", data=again).status_code == 303

"""Retraction: nothing is deleted through the UI; retracted claims and links stay visible (marked, with the
reason) on their own page and in Datasette, and drop out of default lists and contested-claim figures.

The seeded Aleppo scenario: the Russian defence ministry's claim that the evacuation was complete is
contradicted by five statements, among them Abdu Khudr's ("still thousands of people ...") and the
unnamed ICRC official's; all of them belong to the event "Aleppo evacuation, December 2016".
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import re
from pathlib import Path
from typing import Any

import httpx
import pytest
from flask import Flask
from flask.testing import FlaskClient
from helpers import query, snapshot, text_of

from claimtrack.asgi import ASGIApp, create_asgi_app
from claimtrack.config import PROJECT_ROOT, Settings
from claimtrack.web.display import readable_date

REASON_CLAIM = "The report misattributed this statement; see the correction of 17 December."
REASON_LINK = "These two statements are about different convoys."


# --- helpers --------------------------------------------------------------------------------


def claim_id_by_text(db_path: Path, fragment: str) -> int:
    found = query(db_path, "SELECT id FROM claims WHERE instr(text, ?) > 0", fragment)
    assert len(found) == 1, fragment
    return found[0][0]


def body(client: FlaskClient, url: str) -> str:
    response = client.get(url)
    assert response.status_code == 200, (url, response.status_code)
    return response.get_data(as_text=True)


def list_items(page: str) -> dict[int, str]:
    """Claim id -> the visible text of its item, for every claim listed on a page."""
    found = {}
    for item in re.findall(r'<li class="claim[^"]*">(.*?)</li>', page, re.DOTALL):
        claim_id = int(re.search(r'href="/claims/(\d+)"', item).group(1))  # type: ignore[union-attr]
        found[claim_id] = text_of(item)
    return found


def section(page: str, heading_id: str) -> str:
    match = re.search(
        r'<section[^>]*aria-labelledby="' + re.escape(heading_id) + r'"[^>]*>(.*?)</section>', page, re.DOTALL
    )
    assert match, f"no section {heading_id}"
    return match.group(1)


def heading_count(page: str, heading_id: str) -> int:
    match = re.search(r'<h2 id="' + re.escape(heading_id) + r'">[^<]*<span class="n">\((\d+)\)</span>', page)
    assert match, f"no heading {heading_id}"
    return int(match.group(1))


def competing_pairs(page: str) -> set[tuple[int, int]]:
    """(claim, contradicted by) pairs in the event page's "Competing claims" section: one block per answered
    claim, its link first, then the list of the statements contradicting it."""
    if 'id="h-competing"' not in page:
        return set()
    pairs = set()
    for block in section(page, "h-competing").split('<li class="answered">')[1:]:
        head = int(re.search(r'href="/claims/(\d+)"', block).group(1))  # type: ignore[union-attr]
        against = re.search(r'<ul class="side against">(.*?)</ul>', block, re.DOTALL)
        assert against, "an answered claim without the statements contradicting it"
        pairs.update((head, int(i)) for i in re.findall(r'href="/claims/(\d+)"', against.group(1)))
    return pairs


def speaker_group(page: str, speaker_id: int) -> str:
    match = re.search(r'<h3 id="g-' + str(speaker_id) + r'">(.*?)</h3>', page, re.DOTALL)
    assert match, f"speaker {speaker_id} has no group on the event page"
    return text_of(match.group(1))


def asgi_get(asgi: ASGIApp, url: str) -> httpx.Response:
    async def main() -> httpx.Response:
        transport = httpx.ASGITransport(app=asgi)  # type: ignore[arg-type]
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            return await client.get(url)

    return asyncio.run(main())


def asgi_rows(asgi: ASGIApp, url: str) -> list[dict[str, Any]]:
    response = asgi_get(asgi, url)
    assert response.status_code == 200, (url, response.status_code, response.text[:500])
    return response.json()


# --- fixtures -------------------------------------------------------------------------------


@pytest.fixture
def db(seeded_app: Flask) -> Path:
    return Path(seeded_app.config["DATABASE"])


@pytest.fixture
def ids(db: Path) -> dict[str, int]:
    russia = claim_id_by_text(db, "was finished on Friday.")
    khudr = claim_id_by_text(db, "There were still thousands of people, families")
    icrc = query(
        db,
        "SELECT c.id FROM claims c JOIN speakers s ON s.id = c.speaker_id "
        "WHERE s.name = 'ICRC official working on the evacuation'",
    )[0][0]
    return {
        "russia": russia,
        "khudr": khudr,
        "khudr_speaker": query(db, "SELECT id FROM speakers WHERE name = 'Abdu Khudr'")[0][0],
        "activists": query(db, "SELECT id FROM speakers WHERE name = 'Activists in Aleppo'")[0][0],
        "icrc": icrc,
        "icrc_speaker": query(db, "SELECT speaker_id FROM claims WHERE id = ?", icrc)[0][0],
        "icrc_link": query(db, "SELECT id FROM claim_links WHERE from_claim_id = ? AND to_claim_id = ?", icrc, russia)[
            0
        ][0],
        "khudr_link": query(
            db, "SELECT id FROM claim_links WHERE from_claim_id = ? AND to_claim_id = ?", khudr, russia
        )[0][0],
        "event": query(db, "SELECT event_id FROM claims WHERE id = ?", russia)[0][0],
    }


@pytest.fixture
def asgi(seeded_app: Flask, db: Path) -> ASGIApp:
    settings = dataclasses.replace(
        Settings.from_env(), db_path=db, metadata_path=PROJECT_ROOT / "datasette-metadata.json"
    )
    return create_asgi_app(seeded_app, settings)


# --- the seeded figures this module starts from ------------------------------------------------


def test_figures_before_any_retraction(seeded_client: FlaskClient, ids: dict[str, int]) -> None:
    """The baseline the other tests compare with (so a change of the seed cannot make them pass vacuously)."""
    listed = list_items(body(seeded_client, "/claims"))
    assert "contradicted by 5" in listed[ids["russia"]]
    assert "contradicts 1" in listed[ids["khudr"]] and "contradicts 1" in listed[ids["icrc"]]
    assert heading_count(body(seeded_client, f"/claims/{ids['russia']}"), "h-incoming-contradicts") == 5
    event = body(seeded_client, f"/events/{ids['event']}")
    assert {(ids["russia"], ids["khudr"]), (ids["russia"], ids["icrc"])} <= competing_pairs(event)
    assert "1 contested" in speaker_group(event, ids["khudr_speaker"])
    assert "1 contested" in speaker_group(event, ids["icrc_speaker"])
    assert "contradicted by 5" in list_items(event)[ids["russia"]]
    assert ids["khudr"] in list_items(body(seeded_client, f"/speakers/{ids['khudr_speaker']}"))
    assert ids["khudr"] in list_items(body(seeded_client, f"/speakers/{ids['activists']}"))  # a member's claim


# --- retracting a claim ------------------------------------------------------------------------


def test_retract_claim(seeded_client: FlaskClient, db: Path, ids: dict[str, int]) -> None:
    form = body(seeded_client, f"/claims/{ids['khudr']}/retract")
    assert 'name="reason"' in form
    response = seeded_client.post(f"/claims/{ids['khudr']}/retract", data={"reason": REASON_CLAIM})
    assert response.status_code == 303 and response.headers["Location"] == f"/claims/{ids['khudr']}"
    row = query(db, "SELECT retracted, retracted_reason, retracted_at FROM claims WHERE id = ?", ids["khudr"])[0]
    assert row["retracted"] == 1 and row["retracted_reason"] == REASON_CLAIM and row["retracted_at"]
    # Nothing is deleted: the claim, its link and its source are all still stored.
    assert query(db, "SELECT count(*) FROM claim_links WHERE id = ?", ids["khudr_link"])[0][0] == 1
    assert query(db, "SELECT count(*) FROM claim_sources WHERE claim_id = ?", ids["khudr"])[0][0] >= 1

    # Its own page still shows it, marked, with the reason; and no second "Retract" offer.
    page = body(seeded_client, f"/claims/{ids['khudr']}")
    assert "There were still thousands of people" in text_of(page)
    assert "Retracted" in text_of(page) and REASON_CLAIM in text_of(page)
    assert f"/claims/{ids['khudr']}/retract" not in page
    # When, in words, with the stored value in the <time> markup.
    assert f'<time datetime="{row["retracted_at"]}">{readable_date(row["retracted_at"])}</time>' in page
    assert f"retracted on {readable_date(row['retracted_at'])}" in text_of(page)
    # So do visitors.
    anon_page = seeded_client.application.test_client().get(f"/claims/{ids['khudr']}").get_data(as_text=True)
    assert REASON_CLAIM in text_of(anon_page)

    # Out of the default list, in it (marked) on request.
    assert ids["khudr"] not in list_items(body(seeded_client, "/claims"))
    included = list_items(body(seeded_client, "/claims?retracted=include"))
    assert "Retracted" in included[ids["khudr"]] and REASON_CLAIM in included[ids["khudr"]]
    # Out of the speaker's page (and the page of whom the speaker speaks for) and the event page.
    assert ids["khudr"] not in list_items(body(seeded_client, f"/speakers/{ids['khudr_speaker']}"))
    assert ids["khudr"] not in list_items(body(seeded_client, f"/speakers/{ids['activists']}"))
    event = body(seeded_client, f"/events/{ids['event']}")
    assert ids["khudr"] not in list_items(event)
    assert "There were still thousands of people" not in text_of(event)
    # Nor in search or the contested filter.
    assert ids["khudr"] not in list_items(body(seeded_client, "/claims?q=families+women"))
    assert ids["khudr"] not in list_items(body(seeded_client, "/claims?relation=contradicts"))


def test_retracted_claim_is_not_counted_in_contested_figures(seeded_client: FlaskClient, ids: dict[str, int]) -> None:
    assert seeded_client.post(f"/claims/{ids['khudr']}/retract", data={"reason": REASON_CLAIM}).status_code == 303
    listed = list_items(body(seeded_client, "/claims"))
    assert "contradicted by 4" in listed[ids["russia"]]
    # The claim page still lists the retracted statement (marked) but no longer counts it.
    page = body(seeded_client, f"/claims/{ids['russia']}")
    contradicted = section(page, "h-incoming-contradicts")
    assert "There were still thousands of people" in text_of(contradicted) and "Retracted" in text_of(contradicted)
    assert heading_count(page, "h-incoming-contradicts") == 4
    event = body(seeded_client, f"/events/{ids['event']}")
    assert (ids["russia"], ids["khudr"]) not in competing_pairs(event)
    assert (ids["russia"], ids["icrc"]) in competing_pairs(event)
    assert "contested" not in speaker_group(event, ids["khudr_speaker"])
    assert "contradicted by 4" in list_items(event)[ids["russia"]]


# --- retracting a link -------------------------------------------------------------------------


def test_retract_link(seeded_client: FlaskClient, db: Path, ids: dict[str, int]) -> None:
    link = ids["icrc_link"]
    assert 'name="reason"' in body(seeded_client, f"/links/{link}/retract")
    response = seeded_client.post(f"/links/{link}/retract?next=/claims/{ids['russia']}", data={"reason": REASON_LINK})
    assert response.status_code == 303 and response.headers["Location"] == f"/claims/{ids['russia']}"
    row = query(db, "SELECT retracted, retracted_reason FROM claim_links WHERE id = ?", link)[0]
    assert tuple(row) == (1, REASON_LINK)
    at = query(db, "SELECT retracted_at FROM claim_links WHERE id = ?", link)[0][0]
    assert f"retracted on {readable_date(at)}" in text_of(body(seeded_client, f"/links/{link}"))

    # The link's own page shows it marked with the reason, and offers no second retraction.
    own = body(seeded_client, f"/links/{link}/edit")
    assert "Retracted" in text_of(own) and REASON_LINK in text_of(own)
    assert f"/links/{link}/retract" not in own
    # The claim page still shows it, marked, with the reason; the statement itself is not retracted.
    page = body(seeded_client, f"/claims/{ids['russia']}")
    contradicted = text_of(section(page, "h-incoming-contradicts"))
    assert "ICRC official working on the evacuation" in contradicted and REASON_LINK in contradicted
    assert query(db, "SELECT retracted FROM claims WHERE id = ?", ids["icrc"])[0][0] == 0
    assert ids["icrc"] in list_items(body(seeded_client, "/claims"))

    # Not counted anywhere.
    assert heading_count(page, "h-incoming-contradicts") == 4
    listed = list_items(body(seeded_client, "/claims"))
    assert "contradicted by 4" in listed[ids["russia"]]
    assert "contradicts" not in listed[ids["icrc"]]
    event = body(seeded_client, f"/events/{ids['event']}")
    assert (ids["russia"], ids["icrc"]) not in competing_pairs(event)
    assert (ids["russia"], ids["khudr"]) in competing_pairs(event)
    assert "contested" not in speaker_group(event, ids["icrc_speaker"])
    assert "contradicts" not in list_items(event)[ids["icrc"]]
    assert ids["icrc"] not in list_items(body(seeded_client, "/claims?relation=contradicts"))


# --- refused retractions write nothing --------------------------------------------------------


@pytest.mark.parametrize("reason", ["", "   ", "\r\n\t"])
def test_empty_reason_is_400_and_writes_nothing(
    seeded_client: FlaskClient, db: Path, ids: dict[str, int], reason: str
) -> None:
    before = snapshot(db)
    for url in (f"/claims/{ids['khudr']}/retract", f"/links/{ids['icrc_link']}/retract"):
        response = seeded_client.post(url, data={"reason": reason})
        assert response.status_code == 400, url
        assert "Nothing was saved" in response.get_data(as_text=True)
        response = seeded_client.post(url, data={})
        assert response.status_code == 400, url
    assert snapshot(db) == before


def test_retracting_twice_is_409(seeded_client: FlaskClient, db: Path, ids: dict[str, int]) -> None:
    for url in (f"/claims/{ids['khudr']}/retract", f"/links/{ids['icrc_link']}/retract"):
        assert seeded_client.post(url, data={"reason": "First time."}).status_code == 303
        before = snapshot(db)
        response = seeded_client.post(url, data={"reason": "Second time."})
        assert response.status_code == 409, url
        assert "already retracted" in response.get_data(as_text=True)
        assert snapshot(db) == before
    assert query(db, "SELECT retracted_reason FROM claims WHERE id = ?", ids["khudr"])[0][0] == "First time."
    assert query(db, "SELECT retracted_reason FROM claim_links WHERE id = ?", ids["icrc_link"])[0][0] == "First time."


def test_anonymous_cannot_retract(seeded_app: Flask, anon_client: FlaskClient, db: Path, ids: dict[str, int]) -> None:
    before = snapshot(db)
    for url in (f"/claims/{ids['khudr']}/retract", f"/links/{ids['icrc_link']}/retract"):
        response = anon_client.get(url)
        assert response.status_code in (302, 303) and response.headers["Location"].startswith("/login"), url
        assert anon_client.post(url, data={"reason": "I am nobody."}).status_code == 403, url
    assert snapshot(db) == before
    # Nor do visitors see the retract links.
    page = anon_client.get(f"/claims/{ids['russia']}").get_data(as_text=True)
    assert "/retract" not in page


# --- Datasette shows the retracted column -----------------------------------------------------


def test_datasette_shows_retracted_in_tables(seeded_client: FlaskClient, asgi: ASGIApp, ids: dict[str, int]) -> None:
    assert seeded_client.post(f"/claims/{ids['khudr']}/retract", data={"reason": REASON_CLAIM}).status_code == 303
    assert seeded_client.post(f"/links/{ids['icrc_link']}/retract", data={"reason": REASON_LINK}).status_code == 303

    claims = {r["id"]: r for r in asgi_rows(asgi, "/data/claimtrack/claims.json?_shape=array&_size=max")}
    assert claims[ids["khudr"]]["retracted"] == 1
    assert claims[ids["khudr"]]["retracted_reason"] == REASON_CLAIM
    assert claims[ids["russia"]]["retracted"] == 0
    links = {r["id"]: r for r in asgi_rows(asgi, "/data/claimtrack/claim_links.json?_shape=array&_size=max")}
    assert links[ids["icrc_link"]]["retracted"] == 1
    assert links[ids["icrc_link"]]["retracted_reason"] == REASON_LINK
    assert links[ids["khudr_link"]]["retracted"] == 0
    # Facet on it, as a researcher would.
    facets = asgi_get(asgi, "/data/claimtrack/claims.json?_facet=retracted&_size=0").json()["facet_results"]
    counts = {f["value"]: f["count"] for f in facets["retracted"]["results"]}
    assert counts[1] == 1
    # And the history of it is published too.
    history = asgi_rows(
        asgi,
        f"/data/claimtrack/change_history.json?_shape=array&entity=claim&entity_id={ids['khudr']}"
        "&field=retracted_reason",
    )
    assert [(h["username"], h["action"], h["new_value"]) for h in history] == [("editor", "retract", REASON_CLAIM)]


def test_datasette_readable_view_has_a_retracted_column(
    seeded_client: FlaskClient, asgi: ASGIApp, ids: dict[str, int]
) -> None:
    """claim_links_readable must carry ``retracted`` (issue 4): the link's own retraction.

    This needs the migration that recreates the view with the column; it fails until that migration is in.
    """
    assert seeded_client.post(f"/links/{ids['icrc_link']}/retract", data={"reason": REASON_LINK}).status_code == 303
    rows = {
        r["link_id"]: r for r in asgi_rows(asgi, "/data/claimtrack/claim_links_readable.json?_shape=array&_size=max")
    }
    assert "retracted" in rows[ids["khudr_link"]], "claim_links_readable has no retracted column"
    assert rows[ids["icrc_link"]]["retracted"] == 1
    assert rows[ids["khudr_link"]]["retracted"] == 0
    # Every link is still in the view: retraction hides nothing from researchers.
    assert len(rows) == len(asgi_rows(asgi, "/data/claimtrack/claim_links.json?_shape=array&_size=max"))


def test_datasette_contested_figures_leave_retracted_items_out(
    seeded_client: FlaskClient, asgi: ASGIApp, ids: dict[str, int]
) -> None:
    """The research view contested_claims counts what the app counts: no retracted statement or link.

    Like the view column above, this needs the migration that recreates the views; it fails until then.
    """
    before = {
        r["claim_id"]: r for r in asgi_rows(asgi, "/data/claimtrack/contested_claims.json?_shape=array&_size=max")
    }
    assert before[ids["russia"]]["contradicting_statements"] == 5
    assert seeded_client.post(f"/claims/{ids['khudr']}/retract", data={"reason": REASON_CLAIM}).status_code == 303
    assert seeded_client.post(f"/links/{ids['icrc_link']}/retract", data={"reason": REASON_LINK}).status_code == 303
    after = {r["claim_id"]: r for r in asgi_rows(asgi, "/data/claimtrack/contested_claims.json?_shape=array&_size=max")}
    assert after[ids["russia"]]["contradicting_statements"] == 3
    assert after[ids["russia"]]["contradicting_speakers"] == before[ids["russia"]]["contradicting_speakers"] - 2


def test_canned_queries_and_dashboard_charts_leave_retracted_items_out(
    seeded_client: FlaskClient, asgi: ASGIApp, db: Path, ids: dict[str, int]
) -> None:
    """What researchers count (canned queries, dashboard charts) agrees with the app after a retraction."""
    canned = f"/data/claimtrack/contradicting_statements.json?claim_id={ids['russia']}&_shape=array"
    assert ids["khudr"] in {r["other_id"] for r in asgi_rows(asgi, canned)}
    response = seeded_client.post(f"/claims/{ids['khudr']}/retract", data={"reason": "Could not be confirmed."})
    assert response.status_code == 303
    assert ids["khudr"] not in {r["other_id"] for r in asgi_rows(asgi, canned)}

    metadata = Settings.from_env().metadata_path.read_text()
    charts = json.loads(metadata)["plugins"]["datasette-dashboards"]["claims"]["charts"]
    sql = re.sub(r"\[\[.*?\]\]", "", charts["top-contradictors"]["query"], flags=re.S)
    rows = query(db, sql)
    assert "Abdu Khudr" not in {r["speaker"] for r in rows}
    per_speaker = re.sub(r"\[\[.*?\]\]", "", charts["claims-per-speaker"]["query"], flags=re.S)
    counts = {r["speaker"]: r["claims"] for r in query(db, per_speaker)}
    assert counts.get("Abdu Khudr") == 1  # his other statement still counts; the retracted one does not

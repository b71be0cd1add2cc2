"""Quick actions on a claim page: the verdict on its own, undoing a retraction of a claim or a link, and who
anonymous readers see in histories (CLAIMTRACK_HISTORY_NAMES).

On the seeded Aleppo scenario: claim 1 is the Russian defence ministry's "evacuation was finished" claim,
contradicted by Abdu Khudr's statement among others.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from helpers import EDITOR, query, snapshot, text_of

from claimtrack.config import Settings

RATIONALE = "Thousands were still waiting at the crossings on 16 December."
UNDO_REASON = "The correction of 17 December was itself withdrawn."


@pytest.fixture
def db(seeded_app: Flask) -> Path:
    return Path(seeded_app.config["DATABASE"])


def russia(db: Path) -> int:
    return query(db, "SELECT id FROM claims WHERE instr(text, 'was finished') > 0")[0][0]


def khudr_link(db: Path) -> tuple[int, int]:
    """(link id, Khudr's claim id): his statement contradicting the Russian claim."""
    row = query(
        db,
        """SELECT l.id, c.id FROM claim_links l JOIN claims c ON c.id = l.from_claim_id
        JOIN speakers s ON s.id = c.speaker_id WHERE s.name LIKE '%Khudr%' AND l.to_claim_id = ?""",
        russia(db),
    )[0]
    return row[0], row[1]


def version(db: Path, table: str, row_id: int) -> int:
    return int(query(db, f"SELECT version FROM {table} WHERE id = ?", row_id)[0][0])


def history(db: Path, entity: str, entity_id: int) -> list[tuple[str, str, str | None, str | None, str]]:
    return [
        tuple(r)
        for r in query(
            db,
            """SELECT action, field, old_value, new_value, username FROM change_history
            WHERE entity = ? AND entity_id = ? ORDER BY id""",
            entity,
            entity_id,
        )
    ]


def who_column(page: str) -> set[str]:
    """Every name in the Who column of the page's history table."""
    return {text_of(cell) for cell in re.findall(r'<td data-label="Who">(.*?)</td>', page, re.DOTALL)}


def history_section(page: str) -> str:
    match = re.search(r'<table class="list history.*?</table>', page, re.DOTALL)
    assert match, "no history table"
    return text_of(match.group(0))


# --- the verdict -----------------------------------------------------------------------------------


def test_claim_page_offers_the_verdict_form_to_editors_only(seeded_client: FlaskClient, db: Path) -> None:
    claim = russia(db)
    page = seeded_client.get(f"/claims/{claim}").get_data(as_text=True)
    assert f'action="/claims/{claim}/verdict"' in page
    assert 'name="verdict_rationale"' in page and f'name="version" value="{version(db, "claims", claim)}"' in page
    anon = seeded_client.application.test_client().get(f"/claims/{claim}").get_data(as_text=True)
    assert "/verdict" not in anon


def test_set_verdict(seeded_client: FlaskClient, db: Path) -> None:
    claim = russia(db)
    before = version(db, "claims", claim)
    old_verdict, old_rationale = query(db, "SELECT verdict, verdict_rationale FROM claims WHERE id = ?", claim)[0]
    assert old_verdict != "false"
    response = seeded_client.post(
        f"/claims/{claim}/verdict",
        data={"verdict": "false", "verdict_rationale": RATIONALE, "version": before},
        follow_redirects=True,
    )
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "Verdict saved." in page and RATIONALE in page
    row = query(db, "SELECT verdict, verdict_rationale, version FROM claims WHERE id = ?", claim)[0]
    assert tuple(row) == ("false", RATIONALE, before + 1)
    changes = [h for h in history(db, "claim", claim) if h[4] == EDITOR[0]]
    assert ("verdict", "verdict", old_verdict, "false", EDITOR[0]) in changes
    assert ("verdict", "verdict_rationale", old_rationale, RATIONALE, EDITOR[0]) in changes

    # Changing it again: the history keeps both.
    response = seeded_client.post(
        f"/claims/{claim}/verdict", data={"verdict": "misleading", "verdict_rationale": "", "version": before + 1}
    )
    assert response.status_code == 303
    assert tuple(query(db, "SELECT verdict, verdict_rationale FROM claims WHERE id = ?", claim)[0]) == (
        "misleading",
        None,
    )
    assert ("verdict", "verdict", "false", "misleading", EDITOR[0]) in history(db, "claim", claim)


def test_verdict_anonymous_is_refused(seeded_app: Flask, db: Path) -> None:
    claim = russia(db)
    before = snapshot(db)
    anon = seeded_app.test_client()
    response = anon.post(
        f"/claims/{claim}/verdict", data={"verdict": "accurate", "version": version(db, "claims", claim)}
    )
    assert response.status_code == 403
    assert snapshot(db) == before


def test_verdict_stale_version_is_a_conflict(seeded_client: FlaskClient, db: Path) -> None:
    claim = russia(db)
    current = version(db, "claims", claim)
    before = snapshot(db)
    response = seeded_client.post(
        f"/claims/{claim}/verdict", data={"verdict": "accurate", "verdict_rationale": "", "version": current + 7}
    )
    assert response.status_code == 409
    page = response.get_data(as_text=True)
    assert "Someone else saved this record" in page and 'name="verdict"' in page
    assert snapshot(db) == before


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"verdict": "", "verdict_rationale": RATIONALE}, "Choose the verdict this rationale explains."),
        ({"verdict": "maybe", "verdict_rationale": ""}, "Not a valid choice"),
        ({"verdict": "false", "verdict_rationale": "x" * 5000}, "Too long"),
        ({"verdict": "false", "version": "12a"}, "version field is damaged"),
    ],
)
def test_verdict_bad_input_reshows_the_form(
    seeded_client: FlaskClient, db: Path, data: dict[str, str], message: str
) -> None:
    claim = russia(db)
    before = snapshot(db)
    response = seeded_client.post(f"/claims/{claim}/verdict", data={"version": version(db, "claims", claim), **data})
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert message in page and "Nothing was saved." in page
    assert '<form method="post"' in page and 'name="verdict_rationale"' in page
    if data.get("verdict_rationale") == RATIONALE:
        assert RATIONALE in page  # what was typed is kept
    assert snapshot(db) == before


def test_verdict_on_a_missing_claim_is_404(seeded_client: FlaskClient) -> None:
    for url in ("/claims/999999/verdict", "/claims/999999/unretract", "/links/999999/unretract"):
        response = seeded_client.post(url, data={"verdict": "accurate", "reason": UNDO_REASON, "version": "1"})
        assert response.status_code == 404
        assert "with id 999999" in response.get_data(as_text=True)  # says what is missing


# --- undoing a retraction ----------------------------------------------------------------------------


def test_unretract_claim(seeded_client: FlaskClient, db: Path) -> None:
    _, claim = khudr_link(db)
    assert seeded_client.post(f"/claims/{claim}/retract", data={"reason": "Misattributed."}).status_code == 303
    page = seeded_client.get(f"/claims/{claim}").get_data(as_text=True)
    assert f'action="/claims/{claim}/unretract"' in page
    ids = re.findall(r'\bid="([^"]+)"', page)
    assert len(ids) == len(set(ids)), "both quick forms on one page, each field with its own id"
    current = version(db, "claims", claim)

    response = seeded_client.post(
        f"/claims/{claim}/unretract", data={"reason": UNDO_REASON, "version": current}, follow_redirects=True
    )
    assert response.status_code == 200
    assert "Retraction undone." in response.get_data(as_text=True)
    row = query(db, "SELECT retracted, retracted_at, retracted_reason, version FROM claims WHERE id = ?", claim)[0]
    assert tuple(row) == (0, None, None, current + 1)
    changes = history(db, "claim", claim)
    assert ("edit", "retracted", "1", "0", EDITOR[0]) in changes
    assert ("edit", "retracted_reason", "Misattributed.", None, EDITOR[0]) in changes
    assert ("edit", "unretract_reason", None, UNDO_REASON, EDITOR[0]) in changes
    # The claim is live again: listed, and the form to undo is gone.
    page = seeded_client.get(f"/claims/{claim}").get_data(as_text=True)
    assert "/unretract" not in page and UNDO_REASON in history_section(page)
    assert f'href="/claims/{claim}"' in seeded_client.get("/claims").get_data(as_text=True)


def test_unretract_claim_refusals(seeded_client: FlaskClient, seeded_app: Flask, db: Path) -> None:
    _, claim = khudr_link(db)
    # Not retracted: nothing to undo.
    before = snapshot(db)
    response = seeded_client.post(
        f"/claims/{claim}/unretract", data={"reason": UNDO_REASON, "version": version(db, "claims", claim)}
    )
    assert response.status_code == 409 and "is not retracted" in response.get_data(as_text=True)
    assert snapshot(db) == before

    assert seeded_client.post(f"/claims/{claim}/retract", data={"reason": "Misattributed."}).status_code == 303
    current = version(db, "claims", claim)
    before = snapshot(db)
    # No reason: 400, the form again.
    response = seeded_client.post(f"/claims/{claim}/unretract", data={"reason": "  ", "version": current})
    assert response.status_code == 400
    assert "This field is required." in response.get_data(as_text=True)
    # A stale version: 409.
    response = seeded_client.post(f"/claims/{claim}/unretract", data={"reason": UNDO_REASON, "version": current - 1})
    assert response.status_code == 409
    # Anonymous: 403.
    anon = seeded_app.test_client()
    assert anon.post(f"/claims/{claim}/unretract", data={"reason": UNDO_REASON, "version": current}).status_code == 403
    assert "/unretract" not in anon.get(f"/claims/{claim}").get_data(as_text=True)
    assert snapshot(db) == before


def test_unretract_link(seeded_client: FlaskClient, seeded_app: Flask, db: Path) -> None:
    link, _ = khudr_link(db)
    assert seeded_client.post(f"/links/{link}/retract", data={"reason": "Different convoys."}).status_code == 303
    page = seeded_client.get(f"/links/{link}").get_data(as_text=True)
    assert f'action="/links/{link}/unretract"' in page
    current = version(db, "claim_links", link)

    before = snapshot(db)
    anon = seeded_app.test_client()
    assert anon.post(f"/links/{link}/unretract", data={"reason": UNDO_REASON, "version": current}).status_code == 403
    assert "/unretract" not in anon.get(f"/links/{link}").get_data(as_text=True)
    assert seeded_client.post(f"/links/{link}/unretract", data={"reason": "", "version": current}).status_code == 400
    stale = seeded_client.post(f"/links/{link}/unretract", data={"reason": UNDO_REASON, "version": current + 5})
    assert stale.status_code == 409
    assert snapshot(db) == before

    response = seeded_client.post(f"/links/{link}/unretract", data={"reason": UNDO_REASON, "version": current})
    assert response.status_code == 303 and response.headers["Location"].endswith(f"/links/{link}")
    row = query(db, "SELECT retracted, retracted_at, retracted_reason FROM claim_links WHERE id = ?", link)[0]
    assert tuple(row) == (0, None, None)
    changes = history(db, "link", link)
    assert ("edit", "retracted", "1", "0", EDITOR[0]) in changes
    assert ("edit", "unretract_reason", None, UNDO_REASON, EDITOR[0]) in changes
    page = seeded_client.get(f"/links/{link}").get_data(as_text=True)
    assert "Retraction undone." in page and UNDO_REASON in history_section(page)
    # The claim page's history shows its link's change too.
    assert UNDO_REASON in history_section(seeded_client.get(f"/claims/{russia(db)}").get_data(as_text=True))


def test_unretract_link_to_a_retracted_statement_is_refused(seeded_client: FlaskClient, db: Path) -> None:
    link, claim = khudr_link(db)
    assert seeded_client.post(f"/links/{link}/retract", data={"reason": "Different convoys."}).status_code == 303
    assert seeded_client.post(f"/claims/{claim}/retract", data={"reason": "Misattributed."}).status_code == 303
    before = snapshot(db)
    response = seeded_client.post(
        f"/links/{link}/unretract", data={"reason": UNDO_REASON, "version": version(db, "claim_links", link)}
    )
    assert response.status_code == 409 and "undo that retraction first" in response.get_data(as_text=True)
    assert snapshot(db) == before


# --- who readers see in histories ----------------------------------------------------------------------


def test_history_names_hidden_from_anonymous_readers_by_default(seeded_client: FlaskClient, seeded_app: Flask) -> None:
    db = Path(seeded_app.config["DATABASE"])
    claim = russia(db)
    link, _ = khudr_link(db)
    data = {"verdict": "false", "version": version(db, "claims", claim)}
    assert seeded_client.post(f"/claims/{claim}/verdict", data=data).status_code == 303
    assert seeded_client.post(f"/links/{link}/retract", data={"reason": "Different convoys."}).status_code == 303
    anon = seeded_app.test_client()
    for url in (f"/claims/{claim}", f"/links/{link}"):
        assert who_column(anon.get(url).get_data(as_text=True)) == {"an editor"}
        # Signed-in editors see who it was (the seed was loaded as "test").
        assert who_column(seeded_client.get(url).get_data(as_text=True)) >= {EDITOR[0], "test"}


def test_history_names_public_setting(seeded_client: FlaskClient, seeded_app: Flask) -> None:
    db = Path(seeded_app.config["DATABASE"])
    claim = russia(db)
    data = {"verdict": "false", "version": version(db, "claims", claim)}
    assert seeded_client.post(f"/claims/{claim}/verdict", data=data).status_code == 303
    seeded_app.config["HISTORY_NAMES"] = "public"
    assert who_column(seeded_app.test_client().get(f"/claims/{claim}").get_data(as_text=True)) >= {EDITOR[0], "test"}


def test_history_names_setting_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CLAIMTRACK_HISTORY_NAMES", raising=False)
    assert Settings.from_env().history_names == "role"
    monkeypatch.setenv("CLAIMTRACK_HISTORY_NAMES", " Public ")
    assert Settings.from_env().history_names == "public"
    monkeypatch.setenv("CLAIMTRACK_HISTORY_NAMES", "everyone")
    with pytest.raises(ValueError, match="must be 'role' or 'public'"):
        Settings.from_env()

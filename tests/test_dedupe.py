"""Entry without duplicates: mutual contradictions, link pages, a statement's whole history, confirmations,
and the duplicate guard. Everything through HTTP on a real, seeded SQLite file."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from flask.testing import FlaskClient
from helpers import query, text_of
from sqlalchemy import Engine

RUSSIAN_CLAIM = "The evacuation of thousands of people trapped for months in the last rebel foothold of Aleppo was finished on Friday."
REBEL_FALSE = "from the Russians about the evacuation being over are false."


def page(client: FlaskClient, url: str, status: int = 200) -> str:
    response = client.get(url)
    assert response.status_code == status, (url, response.status_code)
    return response.get_data(as_text=True)


def section(body: str, section_id: str) -> str:
    match = re.search(r'<section[^>]*aria-labelledby="' + re.escape(section_id) + r'"[^>]*>(.*?)</section>', body, re.S)
    assert match, f"no section {section_id}"
    return match.group(1)


def claim_id(db_path: Path, words: str) -> int:
    found = query(db_path, "SELECT id FROM claims WHERE text LIKE ?", f"%{words}%")
    assert len(found) == 1, words
    return int(found[0][0])


@pytest.fixture
def ids(seeded_engine: Engine, db_path: Path) -> dict[str, int]:
    russia = claim_id(db_path, "was finished on Friday")
    rebel = claim_id(db_path, REBEL_FALSE)
    link = query(db_path, "SELECT id FROM claim_links WHERE from_claim_id = ? AND to_claim_id = ?", rebel, russia)
    return {"russia": russia, "rebel": rebel, "link": int(link[0][0])}


# --- contradictions are mutual ------------------------------------------------------------------


def test_contradiction_shows_on_both_statements_under_one_heading(
    seeded_client: FlaskClient, ids: dict[str, int]
) -> None:
    russia = section(page(seeded_client, f"/claims/{ids['russia']}"), "h-incoming-contradicts")
    rebel_page = page(seeded_client, f"/claims/{ids['rebel']}")
    rebel = section(rebel_page, "h-incoming-contradicts")
    # The answering statement's page shows the contradiction under the same heading, counted, with the
    # recorded direction in words.
    assert "Contradicted by / contradicts" in text_of(rebel) and "(1)" in text_of(rebel)
    assert f'href="/claims/{ids["russia"]}"' in rebel
    assert "This statement contradicts it" in text_of(rebel)
    assert "recorded: Senior rebel official contradicts Russian defence ministry" in text_of(rebel)
    assert "No statement contradicts" not in text_of(rebel)
    # The answered claim says the other way round.
    assert f'href="/claims/{ids["rebel"]}"' in russia
    assert "It contradicts this statement (recorded: Senior rebel official contradicts this)" in text_of(russia)
    assert "(5)" in text_of(russia)
    # There is one contradiction heading per page, no second list further down.
    assert rebel_page.count("Contradicted by") == 1
    assert "This statement contradicts</h2>" not in rebel_page


def test_statement_without_contradictions_says_so(seeded_client: FlaskClient) -> None:
    response = seeded_client.post("/claims/new", data={"text": "Buses left at dawn.", "speaker": "Driver A"})
    assert response.status_code == 303
    body = page(seeded_client, response.headers["Location"])
    assert "No statement contradicts this one yet, and it contradicts none." in text_of(
        section(body, "h-incoming-contradicts")
    )


# --- a link is a page, with its history -----------------------------------------------------------


def test_link_page_shows_both_statements_and_history(
    seeded_client: FlaskClient, anon_client: FlaskClient, ids: dict[str, int]
) -> None:
    link = ids["link"]
    response = seeded_client.post(f"/links/{link}/edit", data={"relation": "qualifies", "note": "Partly."})
    assert response.status_code == 303
    for client in (seeded_client, anon_client):
        body = page(client, f"/links/{link}")
        visible = text_of(body)
        assert f"Link {link}: one statement qualifies another" in visible
        assert REBEL_FALSE in visible and RUSSIAN_CLAIM in visible
        assert "Partly." in visible
        history = body.split("History of this link", 1)[1]
        assert "contradicts" in text_of(history) and "qualifies" in text_of(history)
    assert "Edit this link" in page(seeded_client, f"/links/{link}")
    assert "Edit this link" not in page(anon_client, f"/links/{link}")
    page(anon_client, "/links/999999", 404)


# --- a statement's history covers its links and its speaker ----------------------------------------


def test_claim_history_shows_link_changes_and_speaker_renames(
    seeded_client: FlaskClient, ids: dict[str, int], db_path: Path
) -> None:
    link = ids["link"]
    assert seeded_client.post(f"/links/{link}/edit", data={"relation": "qualifies", "note": ""}).status_code == 303
    assert seeded_client.post(f"/links/{link}/retract", data={"reason": "Linked in error."}).status_code == 303
    speaker = query(db_path, "SELECT speaker_id FROM claims WHERE id = ?", ids["russia"])[0][0]
    edit = page(seeded_client, f"/speakers/{speaker}/edit")
    assert "Russian defence ministry" in edit
    response = seeded_client.post(
        f"/speakers/{speaker}/edit",
        data={"name": "Russian Ministry of Defence", "kind": "government_body", "affiliation": "Russian government"},
    )
    assert response.status_code == 303, response.get_data(as_text=True)
    for claim in (ids["russia"], ids["rebel"]):
        history = page(seeded_client, f"/claims/{claim}").split('id="h-history"', 1)[1]
        rows = [text_of(r) for r in re.findall(r"<tr>(.*?)</tr>", history, re.S)]
        assert any(f"link {link}" in r and "qualifies" in r and "edit" in r for r in rows), rows
        assert any(f"link {link}" in r and "retract" in r and "Linked in error." in r for r in rows), rows
    russia_rows = page(seeded_client, f"/claims/{ids['russia']}").split('id="h-history"', 1)[1]
    assert f'href="/speakers/{speaker}"' in russia_rows
    assert "Russian Ministry of Defence" in text_of(russia_rows) and "Russian defence ministry" in text_of(russia_rows)


# --- confirmations after every save ---------------------------------------------------------------


def test_confirmation_after_each_save(seeded_client: FlaskClient, ids: dict[str, int]) -> None:
    response = seeded_client.post(
        "/claims/new", data={"text": "Twenty buses left Aleppo.", "speaker": "Convoy driver"}, follow_redirects=True
    )
    new_id = int(re.search(r"/claims/(\d+)", response.request.path).group(1))  # type: ignore[union-attr]
    assert f"Claim recorded (claim {new_id})." in text_of(response.get_data(as_text=True))
    response = seeded_client.post(
        f"/claims/{ids['russia']}/links/new",
        data={"relation": "contradicts", "target_id": str(new_id)},
        follow_redirects=True,
    )
    body = text_of(response.get_data(as_text=True))
    assert re.search(r"Link added \(link \d+\)\.", body)
    # Shown once: the next page has no stale message.
    assert "Link added" not in text_of(page(seeded_client, f"/claims/{ids['russia']}"))

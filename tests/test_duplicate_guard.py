"""The duplicate guard: a statement already recorded by the same speaker is saved only when the editor says
so, and the same form sent twice records one claim. Through HTTP on a real, seeded SQLite file."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from flask.testing import FlaskClient
from helpers import TABLES, query, snapshot, text_of
from sqlalchemy import Engine

from claimtrack.services.claims import statement_key

ALL_TABLES = (*TABLES, "form_submissions")


@pytest.fixture
def first(seeded_engine: Engine, db_path: Path) -> dict[str, str | int]:
    """Claim 1 as the form would retype it: its text, speaker, date and event."""
    row = query(
        db_path,
        """SELECT c.id, c.text, s.name AS speaker, coalesce(c.stated_on, '') AS stated_on,
                  coalesce(e.name, '') AS event
           FROM claims c JOIN speakers s ON s.id = c.speaker_id LEFT JOIN events e ON e.id = c.event_id
           WHERE c.id = 1""",
    )[0]
    return dict(row)


def rendered_token(client: FlaskClient, url: str) -> str:
    body = client.get(url).get_data(as_text=True)
    found = re.search(r'<input[^>]*name="form_token"[^>]*value="([^"]+)"', body) or re.search(
        r'<input[^>]*value="([^"]+)"[^>]*name="form_token"', body
    )
    assert found, "the form carries no form_token"
    return found.group(1)


def copies(db_path: Path, speaker: str, text: str) -> list[int]:
    rows = query(
        db_path,
        "SELECT c.id FROM claims c JOIN speakers s ON s.id = c.speaker_id WHERE s.name = ? AND c.text = ? ORDER BY c.id",
        speaker,
        text,
    )
    return [r[0] for r in rows]


def test_statement_key_ignores_case_spacing_quotes_and_final_punctuation() -> None:
    assert statement_key("“It  is\nOVER.”") == statement_key("it is over") == "it is over"
    assert statement_key('"Over".') == statement_key("over!") == "over"
    assert statement_key("Cafe\u0301 closed") == statement_key("Café closed")  # NFC
    assert statement_key("It is over.") != statement_key("It is not over.")


def test_exact_copy_by_the_same_speaker_asks_first(seeded_client: FlaskClient, db_path: Path, first: dict) -> None:
    before = snapshot(db_path, ALL_TABLES)
    response = seeded_client.post(
        "/claims/new",
        data={
            "text": first["text"],
            "speaker": first["speaker"],
            "stated_on": first["stated_on"],
            # A new event and source: refused with the claim, neither may be left behind.
            "event": "An event typed only for this duplicate",
            "source_url": "https://example.org/only-for-this-duplicate",
            "form_token": rendered_token(seeded_client, "/claims/new"),
        },
    )
    assert response.status_code == 409
    body = response.get_data(as_text=True)
    assert f'href="/claims/{first["id"]}"' in body
    assert "already recorded as claim 1" in text_of(body)
    assert 'name="confirm_duplicate"' in body
    # The recorded claim's date reads in words, as on its own page.
    assert re.search(r'id="duplicate-of".*?<time datetime="2016-12-16">16 December 2016</time>', body, re.S), body
    assert snapshot(db_path, ALL_TABLES) == before  # nothing half-written


def test_normalised_copy_is_caught_and_another_speaker_is_not(
    seeded_client: FlaskClient, db_path: Path, first: dict
) -> None:
    text = str(first["text"])
    retyped = f"  «{' '.join(text.upper().rstrip('.').split())}» "
    response = seeded_client.post("/claims/new", data={"text": retyped, "speaker": first["speaker"]})
    assert response.status_code == 409
    response = seeded_client.post("/claims/new", data={"text": text, "speaker": "Someone repeating it"})
    assert response.status_code == 303
    assert len(copies(db_path, "Someone repeating it", text)) == 1


def test_save_anyway_records_a_second_row(seeded_client: FlaskClient, db_path: Path, first: dict) -> None:
    response = seeded_client.post(
        "/claims/new",
        data={"text": first["text"], "speaker": first["speaker"], "confirm_duplicate": "y"},
    )
    assert response.status_code == 303
    ids = copies(db_path, str(first["speaker"]), str(first["text"]))
    assert len(ids) == 2 and ids[0] == first["id"]
    assert response.headers["Location"].endswith(f"/claims/{ids[1]}")


def test_a_retracted_claim_is_no_duplicate(seeded_client: FlaskClient, db_path: Path, first: dict) -> None:
    seeded_client.post("/claims/new", data={"text": "Convoys left at noon.", "speaker": "Driver D"})
    [old] = copies(db_path, "Driver D", "Convoys left at noon.")
    assert seeded_client.post(f"/claims/{old}/retract", data={"reason": "Recorded by mistake."}).status_code == 303
    response = seeded_client.post("/claims/new", data={"text": "Convoys left at noon.", "speaker": "Driver D"})
    assert response.status_code == 303


def test_double_submit_records_one_claim(seeded_client: FlaskClient, db_path: Path) -> None:
    data = {
        "text": "The last buses left eastern Aleppo.",
        "speaker": "Convoy driver B",
        "form_token": rendered_token(seeded_client, "/claims/new"),
    }
    first = seeded_client.post("/claims/new", data=data)
    assert first.status_code == 303
    [claim] = copies(db_path, "Convoy driver B", data["text"])
    second = seeded_client.post("/claims/new", data=data)
    assert second.status_code == 303
    assert second.headers["Location"] == first.headers["Location"]
    assert copies(db_path, "Convoy driver B", data["text"]) == [claim]
    assert query(db_path, "SELECT claim_id FROM form_submissions WHERE token = ?", data["form_token"])[0][0] == claim
    notice = text_of(seeded_client.get(second.headers["Location"]).get_data(as_text=True))
    assert f"This form was already sent: claim {claim} was recorded then." in notice


def test_each_rendered_form_has_its_own_token(seeded_client: FlaskClient) -> None:
    assert rendered_token(seeded_client, "/claims/new") != rendered_token(seeded_client, "/claims/new")


def test_damaged_token_is_refused(seeded_client: FlaskClient, db_path: Path) -> None:
    before = snapshot(db_path, ALL_TABLES)
    response = seeded_client.post(
        "/claims/new", data={"text": "Anything new.", "speaker": "Driver C", "form_token": "<not a token>"}
    )
    assert response.status_code == 400
    assert "token is damaged" in response.get_data(as_text=True)
    assert snapshot(db_path, ALL_TABLES) == before


def test_link_form_new_statement_is_guarded(seeded_client: FlaskClient, db_path: Path, first: dict) -> None:
    answered = query(db_path, "SELECT id FROM claims WHERE id != 1 AND retracted = 0 ORDER BY id LIMIT 1")[0][0]
    url = f"/claims/{answered}/links/new"
    before = snapshot(db_path, ALL_TABLES)
    duplicate = {"relation": "supports", "text": first["text"], "speaker": first["speaker"]}
    response = seeded_client.post(url, data={**duplicate, "form_token": rendered_token(seeded_client, url)})
    assert response.status_code == 409
    assert f'href="/claims/{first["id"]}"' in response.get_data(as_text=True)
    assert snapshot(db_path, ALL_TABLES) == before

    data = {"relation": "contradicts", "text": "No bus has left.", "speaker": "Resident E"}
    data["form_token"] = rendered_token(seeded_client, url)
    assert seeded_client.post(url, data=data).status_code == 303
    second = seeded_client.post(url, data=data)
    assert second.status_code == 303 and second.headers["Location"].endswith(f"/claims/{answered}")
    [new] = copies(db_path, "Resident E", "No bus has left.")
    assert query(db_path, "SELECT count(*) FROM claim_links WHERE from_claim_id = ?", new)[0][0] == 1


def test_the_notice_does_not_quote_a_statement_with_its_own_quote_marks_twice(
    seeded_client: FlaskClient, db_path: Path
) -> None:
    first = seeded_client.post("/claims/new", data={"text": "“Fuel ran out at the depot.”", "speaker": "A driver"})
    assert first.status_code == 303
    again = seeded_client.post("/claims/new", data={"text": "fuel ran out at the depot", "speaker": "A driver"})
    assert again.status_code == 409
    notice = text_of(again.get_data(as_text=True))
    assert "“Fuel ran out at the depot.”" in notice and "““" not in notice and "””" not in notice
    # A statement without its own marks is still shown in a pair.
    assert (
        seeded_client.post("/claims/new", data={"text": "The road is open", "speaker": "A driver"}).status_code == 303
    )
    plain = seeded_client.post("/claims/new", data={"text": "the road is open.", "speaker": "A driver"})
    assert plain.status_code == 409 and "“The road is open”" in text_of(plain.get_data(as_text=True))

"""The link form as one form: searching keeps what was typed, finds speakers and sources, suggests similar
statements, and its reading hint follows the relation chosen (through HTTP, on the seeded database)."""

from __future__ import annotations

import html
import re
from pathlib import Path

import pytest
from flask.testing import FlaskClient
from helpers import RECORD_TABLES, query, snapshot
from sqlalchemy import Engine

RUSSIAN = "was finished on Friday"
ICRC_SPEAKER = "ICRC official working on the evacuation"
TYPED = "The evacuation of Aleppo has finished"


def claim_id(db_path: Path, words: str) -> int:
    found = query(db_path, "SELECT id FROM claims WHERE instr(text, ?) > 0", words)
    assert len(found) == 1, words
    return int(found[0][0])


@pytest.fixture
def ids(seeded_engine: Engine, db_path: Path) -> dict[str, int]:
    icrc = query(
        db_path, "SELECT c.id FROM claims c JOIN speakers s ON s.id = c.speaker_id WHERE s.name = ?", ICRC_SPEAKER
    )
    assert len(icrc) == 1
    return {
        "russia": claim_id(db_path, RUSSIAN),
        "edel": claim_id(db_path, "piece of my heart"),
        "putin": claim_id(db_path, "full ceasefire"),
        "icrc": int(icrc[0][0]),
    }


def radios(fragment: str, prefix: str = r"[\w-]+") -> list[int]:
    """The statements offered to pick (value of each target_id radio), in page order."""
    return [int(v) for v in re.findall(rf'name="target_id" id="{prefix}-\d+" value="(\d+)"', fragment)]


def checked(body: str) -> list[str]:
    return re.findall(r'<input type="radio" name="target_id" id="[\w-]+" value="(\d*)" checked>', body)


def block(body: str, heading_id: str) -> str:
    """From the heading with this id to the next heading (or the end of its section)."""
    match = re.search(rf'id="{heading_id}".*?(?=<h2|</section>|<p class="check pick-none")', body, re.S)
    assert match, heading_id
    return match.group(0)


def hint(body: str) -> str:
    match = re.search(r'<p class="help relation-hint" id="relation-hint"[^>]*>(.*?)</p>', body, re.S)
    assert match, "no reading hint"
    return " ".join(re.sub(r"<[^>]+>", "", match.group(1)).split())


def selected_relation(body: str) -> list[str]:
    select = re.search(r'<select[^>]*id="relation".*?</select>', body, re.S)
    assert select
    options = re.findall(r"<option([^>]*)>", select.group(0))
    return [re.search(r'value="(\w+)"', o).group(1) for o in options if re.search(r"\bselected\b", o)]  # type: ignore[union-attr]


def search(client: FlaskClient, claim: int, data: dict[str, str]) -> str:
    response = client.post(f"/claims/{claim}/links/new", data={"action": "search", **data})
    assert response.status_code == 200, response.get_data(as_text=True)[:500]
    return response.get_data(as_text=True)


def test_search_round_trip_keeps_relation_note_pick_and_new_statement(
    seeded_client: FlaskClient, db_path: Path, ids: dict[str, int]
) -> None:
    before = snapshot(db_path, RECORD_TABLES)
    typed = {
        "relation": "qualifies",
        "note": "Timings <differ> by a day",
        "target_id": str(ids["edel"]),
        "text": "Buses left at dawn.",
        "speaker": "Driver Z",
        "stated_on": "2016-12-17",
        "form_token": "k" * 32,
        "q": "ICRC",
    }
    body = search(seeded_client, ids["russia"], typed)
    assert snapshot(db_path, RECORD_TABLES) == before  # a search saves nothing
    assert "Nothing was saved" not in body  # and is not validated
    assert selected_relation(body) == ["qualifies"]
    assert html.escape("Timings <differ> by a day") in body
    assert "Buses left at dawn.</textarea>" in body
    assert 'value="Driver Z"' in body and 'value="2016-12-17"' in body
    assert f'value="{"k" * 32}"' in body  # the one-time token: a save after searching is still guarded
    assert 'value="ICRC"' in body
    # The statement picked before searching is still picked, though "ICRC" does not find it.
    assert checked(body) == [str(ids["edel"])]
    assert ids["edel"] not in radios(block(body, "h-found"))

    # Saving the kept form records exactly what was kept.
    saved = seeded_client.post(
        f"/claims/{ids['russia']}/links/new", data={**typed, "text": "", "speaker": "", "action": "save"}
    )
    assert saved.status_code == 303
    link = query(
        db_path,
        "SELECT relation, note FROM claim_links WHERE from_claim_id = ? AND to_claim_id = ?",
        ids["edel"],
        ids["russia"],
    )
    assert [tuple(r) for r in link] == [("qualifies", "Timings <differ> by a day")]


def test_search_finds_the_icrc_officials_statement_by_speaker(seeded_client: FlaskClient, ids: dict[str, int]) -> None:
    # Claim putin is not linked to the ICRC official's statement: it must be offered to pick.
    body = search(seeded_client, ids["putin"], {"q": "ICRC"})
    found = block(body, "h-found")
    assert "Found for “ICRC”" in found
    assert ids["icrc"] in radios(found, "target")
    assert ICRC_SPEAKER in found
    # A source's outlet and word forms count too; the claim itself is never offered.
    assert ids["russia"] in radios(
        block(search(seeded_client, ids["putin"], {"q": "Financial Times finish"}), "h-found")
    )
    assert ids["russia"] not in radios(block(search(seeded_client, ids["russia"], {"q": "finished"}), "h-found"))


@pytest.mark.parametrize("q", ['"', "NEAR(", "a OR", "*", "-x", "speaker:x", "zzzunknownword", "ICRC" * 60])
def test_search_words_are_taken_literally(seeded_client: FlaskClient, ids: dict[str, int], q: str) -> None:
    body = search(seeded_client, ids["russia"], {"q": q})
    assert "Found for “" in block(body, "h-found")  # an answer, never a 500
    if q in ('"', "*", "zzzunknownword"):  # no word at all, or no statement with it: nothing found
        assert radios(block(body, "h-found")) == []
        assert "No statement has every word" in body


@pytest.mark.parametrize("relation", ["contradicts", "supports", "qualifies"])
def test_reading_hint_follows_the_relation(seeded_client: FlaskClient, ids: dict[str, int], relation: str) -> None:
    body = search(seeded_client, ids["russia"], {"relation": relation})
    assert hint(body) == f"Read it as: the other statement {relation} claim {ids['russia']}."
    assert selected_relation(body) == [relation]


def test_reading_hint_on_a_fresh_form_and_after_an_unknown_relation(
    seeded_client: FlaskClient, ids: dict[str, int]
) -> None:
    fresh = seeded_client.get(f"/claims/{ids['russia']}/links/new").get_data(as_text=True)
    assert hint(fresh) == f"Read it as: the other statement contradicts claim {ids['russia']}."
    # An unknown value leaves the select on its first option: the hint says what the select shows.
    odd = search(seeded_client, ids["russia"], {"relation": "<b>refutes</b>"})
    assert hint(odd) == f"Read it as: the other statement contradicts claim {ids['russia']}."
    assert "<b>refutes" not in odd
    # A failed save keeps the relation chosen in the hint too.
    refused = seeded_client.post(f"/claims/{ids['russia']}/links/new", data={"relation": "supports"})
    assert refused.status_code == 400
    assert hint(refused.get_data(as_text=True)).endswith(f"supports claim {ids['russia']}.")


def test_suggestions_like_the_claim_and_like_the_typed_statement(
    seeded_client: FlaskClient, db_path: Path, ids: dict[str, int]
) -> None:
    # Seen from the ICRC official's statement, the Russian claim is among the most alike.
    body = seeded_client.get(f"/claims/{ids['icrc']}/links/new").get_data(as_text=True)
    like_claim = block(body, "h-like-claim")
    offered = radios(like_claim, "like-claim")
    assert offered and ids["icrc"] not in offered and len(offered) <= 5
    assert ids["russia"] in offered
    # Each with its speaker, date and verdict.
    item = re.search(
        rf'<li>\s*<input type="radio" name="target_id" id="like-claim-{ids["russia"]}".*?</li>', body, re.S
    )
    assert item
    assert "Russian defence ministry" in item.group(0)
    assert 'datetime="2016-12-16"' in item.group(0)
    assert "verdict" in item.group(0)
    # Already linked: it says so, with the link.
    link_id = query(
        db_path,
        "SELECT id FROM claim_links WHERE (from_claim_id = ? AND to_claim_id = ?) OR (from_claim_id = ? AND to_claim_id = ?)",
        ids["icrc"],
        ids["russia"],
        ids["russia"],
        ids["icrc"],
    )[0][0]
    assert f'href="/links/{link_id}"' in item.group(0)
    assert "like-typed-" not in body  # nothing typed yet: no suggestions for it

    # Typing a new statement (and pressing "Check for similar statements") suggests what is like it.
    typed = search(seeded_client, ids["putin"], {"text": TYPED, "relation": "supports"})
    like_typed = radios(block(typed, "h-like-typed"), "like-typed")
    assert like_typed[0] == ids["russia"]
    assert selected_relation(typed) == ["supports"]


def test_picking_a_suggestion_saves_the_link(seeded_client: FlaskClient, db_path: Path, ids: dict[str, int]) -> None:
    body = seeded_client.get(f"/claims/{ids['putin']}/links/new").get_data(as_text=True)
    pick = radios(block(body, "h-like-claim"), "like-claim")[0]
    response = seeded_client.post(
        f"/claims/{ids['putin']}/links/new", data={"action": "save", "relation": "supports", "target_id": str(pick)}
    )
    assert response.status_code == 303
    assert (
        query(
            db_path, "SELECT relation FROM claim_links WHERE from_claim_id = ? AND to_claim_id = ?", pick, ids["putin"]
        )[0][0]
        == "supports"
    )


@pytest.mark.parametrize("speaker", ["", "Russian defence ministry"])
def test_picking_a_statement_like_the_typed_one_links_it_instead(
    seeded_client: FlaskClient, db_path: Path, ids: dict[str, int], speaker: str
) -> None:
    # The editor types the statement, checks for similar ones, and picks the recorded one "instead of recording
    # it again": the typed words are still in the form, and the pick decides.
    typed = {"relation": "supports", "text": TYPED, "speaker": speaker}
    pick = radios(block(search(seeded_client, ids["putin"], typed), "h-like-typed"), "like-typed")[0]
    assert pick == ids["russia"]
    claims_before = query(db_path, "SELECT count(*) FROM claims")[0][0]
    response = seeded_client.post(
        f"/claims/{ids['putin']}/links/new", data={**typed, "action": "save", "target_id": str(pick)}
    )
    assert response.status_code == 303, response.get_data(as_text=True)[:3000]
    linked = query(
        db_path, "SELECT relation FROM claim_links WHERE from_claim_id = ? AND to_claim_id = ?", pick, ids["putin"]
    )
    assert [tuple(r) for r in linked] == [("supports",)]
    assert query(db_path, "SELECT count(*) FROM claims")[0][0] == claims_before  # the typed one is not recorded
    page = seeded_client.get(response.headers["Location"]).get_data(as_text=True)
    assert f"with statement #{pick}; the new statement you typed was not recorded" in html.unescape(page)

"""Near-duplicate names: a form that would create a speaker, source or event beside a similar existing one
offers the existing one first (409, nothing written); picking it or confirming the new name saves. Also the
name-similarity service, its index kept by triggers, and the as-you-type suggestion addresses."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from flask.testing import FlaskClient
from helpers import TABLES, connect, query, snapshot, text_of
from sqlalchemy import Engine
from sqlmodel import Session

from claimtrack.models import SourceCreate
from claimtrack.services.errors import NearNames
from claimtrack.services.names import (
    NameGuard,
    SpeakerMatch,
    exact_id,
    name_key,
    similar_names,
    similarity,
    suggest_names,
)
from claimtrack.services.sources import create_source

MINISTRY = "Russian defence ministry"
EVENT = "Aleppo evacuation, December 2016"
SPELLINGS = ["Russian Ministry of Defence", "Russian MoD", "russian  defence ministry. "]
ALL_TABLES = (*TABLES, "form_submissions", "entity_names")


def speaker_id(db_path: Path, name: str) -> int:
    return int(query(db_path, "SELECT id FROM speakers WHERE name = ?", name)[0][0])


def claims_by(db_path: Path, text: str) -> list[tuple[int, str]]:
    return [
        (r[0], r[1])
        for r in query(
            db_path,
            "SELECT c.id, s.name FROM claims c JOIN speakers s ON s.id = c.speaker_id WHERE c.text = ? ORDER BY c.id",
            text,
        )
    ]


# --- the service ------------------------------------------------------------------------------


def test_name_key_folds_case_spaces_and_punctuation() -> None:
    assert name_key("  Russian\u00a0Defence   MINISTRY. ") == "russian defence ministry"
    assert name_key("U.N.") == "un"
    assert name_key("Al-Nusra Front") == name_key("al nusra front")
    assert name_key("Cafe\u0301") == name_key("Café") == "café"
    assert name_key("STRASSE") == name_key("straße")  # case-folded, not only lower-cased


def test_similarity_rule() -> None:
    base = name_key(MINISTRY)
    for typed in SPELLINGS + ["Russian Defense Ministry"]:
        assert similarity(name_key(typed), base) == 1.0, typed
    assert 0.6 <= similarity(name_key("Rusian defence ministry"), base) < 1.0  # a typo
    assert similarity(name_key("Russian government"), base) < 0.6
    # A different number or letter names a different entity, however alike the rest.
    assert similarity(name_key("Speaker A"), name_key("Speaker B")) < 0.6
    assert similarity(name_key("Aleppo evacuation 2017"), name_key("Aleppo evacuation, 2016")) < 0.6
    assert similarity(name_key("Speaker"), name_key("Speaker B")) >= 0.6


@pytest.mark.parametrize("typed", SPELLINGS)
def test_similar_names_offers_the_seeded_ministry_first(seeded_engine: Engine, db_path: Path, typed: str) -> None:
    with Session(seeded_engine) as session:
        found = similar_names(session, "speaker", typed)
    assert found, typed
    first = found[0]
    assert isinstance(first, SpeakerMatch)
    assert (first.id, first.name) == (speaker_id(db_path, MINISTRY), MINISTRY)
    assert first.speaker_kind == "government_body" and first.affiliation == "Russian government"
    assert "Government body" in first.details and "Russian government" in first.details


def test_exact_key_and_aliases_resolve_to_their_entity(seeded_engine: Engine, db_path: Path) -> None:
    ministry = speaker_id(db_path, MINISTRY)
    with Session(seeded_engine) as session:
        assert exact_id(session, "speaker", "  RUSSIAN defence ministry.") == ministry
        assert exact_id(session, "speaker", "Russian MoD") is None  # near, not the same
    # An alias row (as merging entities will write) names the entity by another name.
    with connect(db_path) as conn:
        conn.execute(
            "INSERT INTO entity_names (kind, entity_id, name, name_key, is_alias) VALUES ('speaker', ?, ?, ?, 1)",
            (ministry, "Minoborony", "minoborony"),
        )
        conn.commit()
    with Session(seeded_engine) as session:
        [match] = similar_names(session, "speaker", "Minoborony Rossii", limit=1, threshold=0.3)
        assert (match.id, match.name, match.also_known_as) == (ministry, MINISTRY, "Minoborony")
        assert exact_id(session, "speaker", "minoborony") == ministry


@pytest.mark.parametrize(("name", "other"), [("25:99", "25:98"), ("🚀🚀", "🎉"), ("???", "!!!"), ("— …", "-")])
def test_names_without_letters_are_found_again(seeded_engine: Engine, db_path: Path, name: str, other: str) -> None:
    """A name of digits and punctuation, of emoji, or of punctuation alone has no word to search for (or, for
    "25:99", not the words the full-text index holds): it is still found by its stored key, and is not taken
    for another name of the same kind of characters."""
    with connect(db_path) as conn:
        conn.execute(
            "INSERT INTO events (name, created_at, updated_at) VALUES (?, 'x', 'x')",
            (name,),
        )
        (event,) = conn.execute("SELECT id FROM events WHERE name = ?", (name,)).fetchone()
        conn.execute("INSERT INTO sources (title, created_at, updated_at) VALUES (?, 'x', 'x')", (name,))
        (source,) = conn.execute("SELECT id FROM sources WHERE title = ?", (name,)).fetchone()
        conn.commit()
    with Session(seeded_engine) as session:
        assert exact_id(session, "event", f" {name} ") == event
        assert exact_id(session, "event", other) is None
        assert [m.id for m in similar_names(session, "event", name)] == [event]
        assert [m.id for m in similar_names(session, "source", name)] == [source]
        assert source not in [m.id for m in similar_names(session, "source", other)]
        # The sources form's guard: the same title again is offered the recorded source first.
        with pytest.raises(NearNames):
            create_source(session, SourceCreate(title=name), NameGuard())


def test_triggers_keep_the_names_in_step(seeded_engine: Engine, db_path: Path) -> None:
    ministry = speaker_id(db_path, MINISTRY)
    with connect(db_path) as conn:
        conn.execute("UPDATE speakers SET name = 'Russian Defence Ministry (MoD)' WHERE id = ?", (ministry,))
        conn.commit()
    rows = query(db_path, "SELECT name, name_key FROM entity_names WHERE kind = 'speaker' AND entity_id = ?", ministry)
    assert [tuple(r) for r in rows] == [("Russian Defence Ministry (MoD)", "russian defence ministry mod")]
    with Session(seeded_engine) as session:
        assert similar_names(session, "speaker", "Russian MoD")[0].id == ministry
        assert not [m for m in similar_names(session, "speaker", MINISTRY) if m.name == MINISTRY]
    count = query(db_path, "SELECT count(*) FROM sources")[0][0]
    assert query(db_path, "SELECT count(*) FROM entity_names WHERE kind = 'source'")[0][0] == count


def test_candidates_come_from_the_index_not_a_scan(seeded_engine: Engine, db_path: Path) -> None:
    # Many unrelated speakers: the similar ones are still found, through the FTS index (no table scan).
    with connect(db_path) as conn:
        conn.executemany(
            "INSERT INTO speakers (name, kind, anonymous, created_at, updated_at) VALUES (?, 'person', 0, 'x', 'x')",
            [(f"Person number {i}",) for i in range(3000)],
        )
        plan = " ".join(
            str(r[3])
            for r in conn.execute(
                "EXPLAIN QUERY PLAN SELECT e.entity_id FROM entity_names_fts f JOIN entity_names e ON e.id = f.rowid"
                " WHERE entity_names_fts MATCH 'russian' AND e.kind = 'speaker' ORDER BY f.rank LIMIT 50"
            )
        )
        conn.commit()
    assert "VIRTUAL TABLE INDEX" in plan and "SCAN e" not in plan
    with Session(seeded_engine) as session:
        assert similar_names(session, "speaker", "Russian MoD")[0].name == MINISTRY
        found = [m.name for m in suggest_names(session, "speaker", "person number 12", limit=3)]
        assert found[0] == "Person number 12" and len(found) == 3
        assert all(name.startswith("Person number 12") for name in found)


# --- the claim form --------------------------------------------------------------------------


# The third spelling has the ministry's own key: the form reuses it silently (see the test after the next).
@pytest.mark.parametrize("typed", SPELLINGS[:2])
def test_new_claim_with_a_near_speaker_offers_the_existing_one(
    seeded_client: FlaskClient, db_path: Path, typed: str
) -> None:
    before = snapshot(db_path, ALL_TABLES)
    response = seeded_client.post("/claims/new", data={"text": "Nobody is left in the east.", "speaker": typed})
    assert response.status_code == 409
    body = response.get_data(as_text=True)
    assert f'name="pick_speaker" value="{MINISTRY}"' in body
    page = text_of(body)
    assert "Government body, speaks for Russian government" in page
    assert 'name="confirm_new_speaker"' in body and "It is a different speaker" in page
    assert snapshot(db_path, ALL_TABLES) == before  # nothing written


def test_picking_the_existing_speaker_saves_on_it(seeded_client: FlaskClient, db_path: Path) -> None:
    text = "Nobody is left in the east."
    response = seeded_client.post(
        "/claims/new", data={"text": text, "speaker": "Russian MoD", "speaker_kind": "person", "pick_speaker": MINISTRY}
    )
    assert response.status_code == 303
    assert claims_by(db_path, text) == [(claims_by(db_path, text)[0][0], MINISTRY)]
    assert query(db_path, "SELECT count(*) FROM speakers WHERE name = 'Russian MoD'")[0][0] == 0


def test_confirm_new_speaker_creates_it(seeded_client: FlaskClient, db_path: Path) -> None:
    text = "Nobody is left in the east."
    response = seeded_client.post(
        "/claims/new", data={"text": text, "speaker": "Russian MoD", "confirm_new_speaker": "y"}
    )
    assert response.status_code == 303
    assert [name for _id, name in claims_by(db_path, text)] == ["Russian MoD"]


def test_the_exact_name_in_another_form_reuses_the_speaker_silently(seeded_client: FlaskClient, db_path: Path) -> None:
    text = "Nobody is left in the east."
    response = seeded_client.post("/claims/new", data={"text": text, "speaker": SPELLINGS[2]})
    assert response.status_code == 303
    assert [name for _id, name in claims_by(db_path, text)] == [MINISTRY]


def test_near_event_and_source_ask_too_and_nothing_is_written(seeded_client: FlaskClient, db_path: Path) -> None:
    text = "Buses are waiting at the crossing."
    [(source_id, title, outlet)] = [
        tuple(r) for r in query(db_path, "SELECT id, title, outlet FROM sources ORDER BY id LIMIT 1")
    ]
    before = snapshot(db_path, ALL_TABLES)
    data = {
        "text": text,
        "speaker": "Crossing official Q",
        "event": "Aleppo evacuation Dec. 2016",
        "source_title": title.upper() + "!",
        "outlet": outlet,
        "source_url": "https://example.org/another-copy",
    }
    response = seeded_client.post("/claims/new", data=data)
    assert response.status_code == 409
    body = response.get_data(as_text=True)
    assert f'name="pick_event" value="{EVENT}"' in body
    assert f'name="pick_source" value="{source_id}"' in body
    assert 'name="confirm_new_event"' in body and 'name="confirm_new_source"' in body
    assert 'name="confirm_new_speaker"' not in body  # nobody like the new speaker
    assert snapshot(db_path, ALL_TABLES) == before

    picked = seeded_client.post("/claims/new", data={**data, "pick_event": EVENT, "pick_source": str(source_id)})
    assert picked.status_code == 303
    [(claim, _speaker)] = claims_by(db_path, text)
    row = query(db_path, "SELECT e.name FROM claims c JOIN events e ON e.id = c.event_id WHERE c.id = ?", claim)
    assert row[0][0] == EVENT
    assert [r[0] for r in query(db_path, "SELECT source_id FROM claim_sources WHERE claim_id = ?", claim)] == [
        source_id
    ]


def test_confirm_new_event_and_source(seeded_client: FlaskClient, db_path: Path) -> None:
    text = "Buses are waiting at the crossing."
    data = {
        "text": text,
        "speaker": "Crossing official Q",
        "event": "Aleppo evacuation Dec. 2016",
        "source_title": "Aleppo evacuation complete, claims Russia",
        "source_url": "https://example.org/another-copy",
        "confirm_new_event": "y",
        "confirm_new_source": "y",
    }
    assert seeded_client.post("/claims/new", data=data).status_code == 303
    assert query(db_path, "SELECT count(*) FROM events WHERE name = 'Aleppo evacuation Dec. 2016'")[0][0] == 1
    assert query(db_path, "SELECT count(*) FROM sources WHERE url = 'https://example.org/another-copy'")[0][0] == 1


def test_edit_claim_and_link_form_are_guarded(seeded_client: FlaskClient, db_path: Path) -> None:
    before = snapshot(db_path, ALL_TABLES)
    response = seeded_client.post(
        "/claims/1/links/new",
        data={"relation": "contradicts", "text": "They are still there.", "speaker": "Russian MoD"},
    )
    assert response.status_code == 409
    assert f'name="pick_speaker" value="{MINISTRY}"' in response.get_data(as_text=True)
    edit = seeded_client.get("/claims/2/edit").get_data(as_text=True)
    assert "confirm_new_speaker" not in edit  # only offered after a refused save
    row = query(db_path, "SELECT c.text, c.version FROM claims c WHERE c.id = 2")[0]
    response = seeded_client.post(
        "/claims/2/edit", data={"text": row[0], "speaker": "Russian MoD", "version": str(row[1])}
    )
    assert response.status_code == 409
    assert snapshot(db_path, ALL_TABLES) == before
    response = seeded_client.post(
        "/claims/2/edit",
        data={"text": row[0], "speaker": "Russian MoD", "version": str(row[1]), "pick_speaker": MINISTRY},
    )
    assert response.status_code == 303
    assert (
        query(db_path, "SELECT s.name FROM claims c JOIN speakers s ON s.id = c.speaker_id WHERE c.id = 2")[0][0]
        == MINISTRY
    )


# --- the forms that add one ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "data", "confirm", "table"),
    [
        ("/speakers/new", {"name": "Russian MoD", "kind": "government_body"}, "confirm_new_speaker", "speakers"),
        ("/events/new", {"name": "Aleppo evacuation Dec 2016"}, "confirm_new_event", "events"),
        ("/sources/new", {"title": "Aleppo evacuation complete, claims Russia"}, "confirm_new_source", "sources"),
    ],
)
def test_new_speaker_source_event_forms_ask_then_confirm(
    seeded_client: FlaskClient, db_path: Path, url: str, data: dict[str, str], confirm: str, table: str
) -> None:
    before = snapshot(db_path, ALL_TABLES)
    response = seeded_client.post(url, data=data)
    assert response.status_code == 409
    body = response.get_data(as_text=True)
    assert f'name="{confirm}"' in body
    assert "Similar" in text_of(body)
    assert snapshot(db_path, ALL_TABLES) == before
    response = seeded_client.post(url, data={**data, confirm: "y"})
    assert response.status_code == 303
    assert query(db_path, f"SELECT count(*) FROM {table}")[0][0] == len(before[table]) + 1


# --- suggestions as you type --------------------------------------------------------------------


def test_suggest_endpoints_answer_json_with_kind_and_affiliation(seeded_client: FlaskClient) -> None:
    response = seeded_client.get("/speakers/suggest?q=russian+def")
    assert response.status_code == 200 and response.mimetype == "application/json"
    results = response.get_json()["results"]
    assert results[0]["name"] == MINISTRY
    assert results[0]["speaker_kind"] == "government_body" and results[0]["affiliation"] == "Russian government"
    assert seeded_client.get("/events/suggest?q=alep").get_json()["results"][0]["name"] == EVENT
    assert seeded_client.get("/sources/suggest?q=aleppo+evac").get_json()["results"]
    assert seeded_client.get("/speakers/suggest?q=").get_json()["results"] == []
    assert seeded_client.get('/speakers/suggest?q="*)(NEAR').status_code == 200  # FTS syntax is literal


def test_suggest_is_bounded_and_escapes_markup(seeded_client: FlaskClient, db_path: Path) -> None:
    with connect(db_path) as conn:
        conn.executemany(
            "INSERT INTO speakers (name, kind, anonymous, created_at, updated_at) VALUES (?, 'person', 0, 'x', 'x')",
            [(f"Witness <script>alert({i})</script> & co",) for i in range(40)],
        )
        conn.commit()
    response = seeded_client.get("/speakers/suggest?q=witness+script&" + "x" * 10)
    raw = response.get_data(as_text=True)
    assert "<script>" not in raw and "&" not in raw.replace("\\u0026", "")
    results = json.loads(raw)["results"]
    assert len(results) == 10
    assert results[0]["name"].startswith("Witness <script>alert(")
    long_query = seeded_client.get("/speakers/suggest?q=" + "a" * 100_000)
    assert long_query.status_code == 200 and len(long_query.get_json()["q"]) == 200


def test_forms_work_without_javascript_and_load_the_script(seeded_client: FlaskClient) -> None:
    body = seeded_client.get("/claims/new").get_data(as_text=True)
    assert 'data-suggest="speaker"' in body and 'data-suggest="event"' in body and 'data-suggest="source"' in body
    assert 'id="suggest-urls"' in body and 'data-speaker="/speakers/suggest"' in body
    assert body.count("suggest.js") == 1 and "<title>Record a claim · claimtrack</title>" in body

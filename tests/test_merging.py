"""Merging duplicate speakers, sources and events (POST /speakers/<id>/merge and the like).

On the seeded Aleppo scenario: the "Russian defence ministry" (speaking for the Russian government) made the
first claim; a fact-checker records "Russian Ministry of Defence" as a new speaker by mistake, then merges it.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from helpers import query, snapshot, text_of
from sqlalchemy import Engine, text

from claimtrack.db import write_session
from claimtrack.models import ClaimCreate, EventCreate
from claimtrack.schema import current_revision, head_revision, migrate
from claimtrack.services import merging
from claimtrack.services.claims import create_claim
from claimtrack.services.errors import InvalidInput, NotFound, StaleEdit
from claimtrack.services.events import create_event, find_event

DUPLICATE = "Russian Ministry of Defence"
KEPT = "Russian defence ministry"
SEED_TITLE = "Aleppo evacuation is complete, claims Russia"  # the seed's Financial Times report (no URL)
URL = "https://www.ft.com/content/aleppo-evacuation-complete"
MIRROR_URL = "https://example.org/mirror/aleppo-evacuation-complete"
EVENT = "Aleppo evacuation, December 2016"


@pytest.fixture
def db(seeded_app: Flask) -> Path:
    return Path(seeded_app.config["DATABASE"])


def one(db: Path, sql: str, *params: Any) -> Any:
    found = query(db, sql, *params)
    return found[0][0] if found else None


def speaker_id(db: Path, name: str) -> int | None:
    return one(db, "SELECT id FROM speakers WHERE name = ?", name)


# The duplicates are made on purpose: past the near-name guard, as an editor who ticks "It is a different one".
CONFIRM_NEW = {"confirm_new_speaker": "y", "confirm_new_source": "y", "confirm_new_event": "y"}


def record(client: FlaskClient, text: str, speaker: str, **fields: str) -> int:
    response = client.post("/claims/new", data={"text": text, "speaker": speaker, **CONFIRM_NEW, **fields})
    assert response.status_code == 303, response.get_data(as_text=True)[:2000]
    return int(response.headers["Location"].rsplit("/", 1)[1])


def merge(client: FlaskClient, kind: str, ident: int, into: object, **extra: str) -> Any:
    return client.post(f"/{kind}s/{ident}/merge", data={"into": str(into), "confirm": "y", **extra})


def history(db: Path, entity: str, entity_id: int) -> list[tuple[Any, ...]]:
    return [
        tuple(r)
        for r in query(
            db,
            "SELECT action, field, old_value, new_value FROM change_history WHERE entity = ? AND entity_id = ? ORDER BY id",
            entity,
            entity_id,
        )
    ]


# --- speakers ---------------------------------------------------------------------------------


def test_merging_the_duplicate_speaker_moves_its_claims_and_members(seeded_client: FlaskClient, db: Path) -> None:
    claim = record(seeded_client, "The evacuation of militants from Aleppo is over.", DUPLICATE)
    spokesman = record(seeded_client, "All civilians have left.", "Ministry spokesman", affiliation=DUPLICATE)
    dup, kept = speaker_id(db, DUPLICATE), speaker_id(db, KEPT)
    assert dup is not None and kept is not None
    spokesman_id = speaker_id(db, "Ministry spokesman")
    kept_claims = one(db, "SELECT count(*) FROM claims WHERE speaker_id = ?", kept)

    page = seeded_client.get(f"/speakers/{dup}").get_data(as_text=True)
    assert "Merge this speaker into" in page and f'action="/speakers/{dup}/merge"' in page
    version = re.search(r'name="version" type="hidden" value="(\d+)"', page)
    assert version is not None

    response = merge(seeded_client, "speaker", dup, KEPT, version=version.group(1))
    assert response.status_code == 303
    assert response.headers["Location"] == f"/speakers/{kept}"

    # Claims and members moved; the duplicate's row is gone, its name is an alias of the kept speaker.
    assert one(db, "SELECT speaker_id FROM claims WHERE id = ?", claim) == kept
    assert one(db, "SELECT count(*) FROM claims WHERE speaker_id = ?", kept) == kept_claims + 1
    assert one(db, "SELECT affiliation_id FROM speakers WHERE id = ?", spokesman_id) == kept
    assert speaker_id(db, DUPLICATE) is None
    assert [tuple(r) for r in query(db, "SELECT kind, entity_id, alias, alias_key FROM aliases")] == [
        ("speaker", kept, DUPLICATE, "russian ministry of defence")
    ]
    assert [tuple(r) for r in query(db, "SELECT kind, old_id, kept_id, name FROM merged_entities")] == [
        ("speaker", dup, kept, DUPLICATE)
    ]
    assert other_claims_of(db, spokesman) == spokesman_id

    # History: on the claim, the old speaker, the kept one, and the member.
    assert ("edit", "speaker_id", str(dup), str(kept)) in history(db, "claim", claim)
    assert ("edit", "merged_into", DUPLICATE, str(kept)) in history(db, "speaker", dup)
    assert ("edit", "merged_from", str(dup), DUPLICATE) in history(db, "speaker", kept)
    assert ("edit", "affiliation_id", str(dup), str(kept)) in history(db, "speaker", spokesman_id)

    # The kept page says what was done, and shows the alias and the merge.
    kept_page = text_of(seeded_client.get(response.headers["Location"]).get_data(as_text=True))
    assert f"Speaker merged: “{DUPLICATE}” (speaker {dup}) is now part of “{KEPT}”; 1 claim moved." in kept_page
    assert f"Also recorded as: “{DUPLICATE}”" in kept_page
    assert "Merged into this speaker" in kept_page and "speaker merged into this one" in kept_page

    # The moved statement's page tells the story, with both names.
    claim_page = text_of(seeded_client.get(f"/claims/{claim}").get_data(as_text=True))
    assert f"speaker merged {DUPLICATE} {KEPT}" in claim_page
    assert f"{dup} ({DUPLICATE}, merged)" in claim_page  # the claim's own speaker_id change names the old speaker

    # The old page answers with the kept one, permanently.
    old = seeded_client.get(f"/speakers/{dup}?before=999")
    assert old.status_code == 301
    assert old.headers["Location"] == f"/speakers/{kept}?before=999"


def other_claims_of(db: Path, claim_id: int) -> int:
    return int(one(db, "SELECT speaker_id FROM claims WHERE id = ?", claim_id))


def test_typing_the_merged_name_lands_on_the_kept_speaker(seeded_client: FlaskClient, db: Path) -> None:
    record(seeded_client, "The evacuation of militants from Aleppo is over.", DUPLICATE)
    dup, kept = speaker_id(db, DUPLICATE), speaker_id(db, KEPT)
    assert merge(seeded_client, "speaker", dup, kept).status_code == 303
    speakers = one(db, "SELECT count(*) FROM speakers")
    # Another case, a doubled space, a zero-width space: the same key.
    claim = record(seeded_client, "Aleppo is under government control.", "russian  MINISTRY of\u200b Defence")
    assert one(db, "SELECT speaker_id FROM claims WHERE id = ?", claim) == kept
    assert one(db, "SELECT count(*) FROM speakers") == speakers
    # As whom someone speaks for, too.
    record(seeded_client, "Buses are waiting.", "Ministry driver", affiliation=DUPLICATE)
    assert one(db, "SELECT affiliation_id FROM speakers WHERE name = 'Ministry driver'") == kept
    # And a speaker cannot be created (or renamed) under the alias.
    response = seeded_client.post("/speakers/new", data={"name": DUPLICATE, "kind": "government_body"})
    assert response.status_code == 409


def test_a_merged_name_is_found_by_its_key_and_offered_when_near(seeded_client: FlaskClient, db: Path) -> None:
    """The alias joins entity_names: exact lookups by key and the near-name guard both know it."""
    record(seeded_client, "The last buses have left.", "Minoborony")  # not near the kept name's spelling
    dup, kept = speaker_id(db, "Minoborony"), speaker_id(db, KEPT)
    assert merge(seeded_client, "speaker", dup, kept).status_code == 303
    assert [
        tuple(r)
        for r in query(
            db, "SELECT entity_id, is_alias FROM entity_names WHERE kind = 'speaker' AND name = 'Minoborony'"
        )
    ] == [(kept, 1)]
    # Punctuation and case are not part of a name's key.
    claim = record(seeded_client, "Aleppo is calm.", "MINOBORONY.")
    assert one(db, "SELECT speaker_id FROM claims WHERE id = ?", claim) == kept
    # A near spelling is offered the kept speaker, named by the alias it came close to; nothing is written.
    before = snapshot(db)
    response = seeded_client.post("/claims/new", data={"text": "All quiet.", "speaker": "The Minoborony"})
    assert response.status_code == 409
    page = text_of(response.get_data(as_text=True))
    assert KEPT in page and "Minoborony" in page
    assert snapshot(db) == before


def test_merge_chains_redirect_to_the_last_kept_speaker(seeded_client: FlaskClient, db: Path) -> None:
    record(seeded_client, "Statement one.", "Speaker A")
    record(seeded_client, "Statement two.", "Speaker B")
    a, b, c = speaker_id(db, "Speaker A"), speaker_id(db, "Speaker B"), speaker_id(db, KEPT)
    assert merge(seeded_client, "speaker", a, "Speaker B").status_code == 303
    assert merge(seeded_client, "speaker", b, KEPT).status_code == 303
    assert seeded_client.get(f"/speakers/{a}").headers["Location"] == f"/speakers/{c}"
    assert one(db, "SELECT count(*) FROM claims WHERE speaker_id IN (?, ?)", a, b) == 0
    # Both old names now mean the last kept speaker.
    assert {r[0]: r[1] for r in query(db, "SELECT alias, entity_id FROM aliases")} == {"Speaker A": c, "Speaker B": c}
    # The merged speaker's edit page leads to the last kept speaker's.
    edit = seeded_client.get(f"/speakers/{a}/edit")
    assert edit.status_code == 301 and edit.headers["Location"] == f"/speakers/{c}/edit"


@pytest.mark.parametrize(
    ("case", "status", "message"),
    [
        ("itself", 400, "A speaker cannot be merged into itself."),
        ("missing id", 404, "No speaker with id 999999."),
        ("unknown name", 404, "No speaker has the name 'Nobody at all'."),
        ("empty", 400, "Give the id or the exact name of the speaker to keep."),
        ("merged", 400, "was itself merged into speaker"),
        (
            "loop",
            400,
            "speaks for Russian government: merging Russian government into it would make it speak for itself",
        ),
        ("no confirmation", 400, "Tick the box to confirm the merge"),
        ("stale", 409, "Someone else saved this record after you opened it"),
        ("gone", 404, "was merged into speaker"),
    ],
)
def test_refused_merges_write_nothing(
    seeded_client: FlaskClient, db: Path, case: str, status: int, message: str
) -> None:
    record(seeded_client, "The evacuation of militants from Aleppo is over.", DUPLICATE)
    record(seeded_client, "Statement two.", "Speaker B")
    dup, kept, b = speaker_id(db, DUPLICATE), speaker_id(db, KEPT), speaker_id(db, "Speaker B")
    assert merge(seeded_client, "speaker", b, kept).status_code == 303
    government = speaker_id(db, "Russian government")
    target, into, extra = dup, str(kept), {}
    if case == "itself":
        into = str(dup)
    elif case == "missing id":
        into = "999999"
    elif case == "unknown name":
        into = "Nobody at all"
    elif case == "empty":
        into = "  "
    elif case == "merged":
        into = str(b)
    elif case == "loop":
        target, into = government, KEPT  # the ministry speaks for the government
    elif case == "no confirmation":
        extra = {"confirm": ""}
    elif case == "stale":
        extra = {"version": "1"}
        seeded_client.post(f"/speakers/{dup}/edit", data={"name": DUPLICATE, "kind": "government_body"})
    elif case == "gone":
        target = b
    before = snapshot(db)
    response = merge(seeded_client, "speaker", target, into, **extra)
    body = response.get_data(as_text=True)
    assert response.status_code == status, body[:3000]
    assert message in text_of(body).replace("\u2019", "'")
    assert "Traceback" not in body
    assert snapshot(db) == before


def test_anonymous_visitors_cannot_merge_or_see_the_form(seeded_app: Flask, anon_client: FlaskClient, db: Path) -> None:
    kept = speaker_id(db, KEPT)
    government = speaker_id(db, "Russian government")
    before = snapshot(db)
    response = anon_client.post(f"/speakers/{government}/merge", data={"into": str(kept), "confirm": "y"})
    assert response.status_code == 403
    assert snapshot(db) == before
    assert "Merge this speaker" not in anon_client.get(f"/speakers/{kept}").get_data(as_text=True)
    assert anon_client.get(f"/speakers/{kept}/merge").status_code == 405


# --- sources ----------------------------------------------------------------------------------


def test_merging_a_duplicate_source(seeded_client: FlaskClient, db: Path) -> None:
    kept = one(db, "SELECT id FROM sources WHERE title = ?", SEED_TITLE)
    assert kept is not None and one(db, "SELECT url FROM sources WHERE id = ?", kept) is None
    only_dup = record(seeded_client, "A statement in the copy.", KEPT, source_url=URL, outlet="FT")
    dup = one(db, "SELECT id FROM sources WHERE url = ?", URL)
    both = record(seeded_client, "A statement in both.", KEPT, source_title=SEED_TITLE, outlet="Financial Times")
    edit = {"text": "A statement in both.", "speaker": KEPT, "source_url": URL}
    assert seeded_client.post(f"/claims/{both}/edit", data=edit).status_code == 303
    assert one(db, "SELECT count(*) FROM claim_sources WHERE claim_id = ?", both) == 2

    response = merge(seeded_client, "source", dup, SEED_TITLE)  # the one to keep, by its title
    assert response.status_code == 303 and response.headers["Location"] == f"/sources/{kept}"
    assert [r[0] for r in query(db, "SELECT source_id FROM claim_sources WHERE claim_id = ?", only_dup)] == [kept]
    assert [r[0] for r in query(db, "SELECT source_id FROM claim_sources WHERE claim_id = ?", both)] == [kept]
    assert one(db, "SELECT count(*) FROM sources WHERE id = ?", dup) == 0
    assert one(db, "SELECT url FROM sources WHERE id = ?", kept) == URL  # a gap of the kept source, filled
    assert ("edit", "source_id", str(dup), str(kept)) in history(db, "claim", only_dup)
    assert seeded_client.get(f"/sources/{dup}").headers["Location"] == f"/sources/{kept}"
    # The search index followed the move: the claim is found by the kept source's outlet.
    found = query(db, "SELECT rowid FROM claims_fts_search WHERE claims_fts_search MATCH 'financial'")
    assert only_dup in [r[0] for r in found]

    # A second copy, by another URL, merged by id: typing its URL later cites the kept source.
    mirror = record(seeded_client, "A statement in the mirror.", KEPT, source_url=MIRROR_URL)
    mirror_source = one(db, "SELECT id FROM sources WHERE url = ?", MIRROR_URL)
    assert merge(seeded_client, "source", mirror_source, kept).status_code == 303
    later = record(seeded_client, "Another statement.", KEPT, source_url=MIRROR_URL)
    assert [r[0] for r in query(db, "SELECT source_id FROM claim_sources WHERE claim_id = ?", later)] == [kept]
    assert [r[0] for r in query(db, "SELECT source_id FROM claim_sources WHERE claim_id = ?", mirror)] == [kept]
    page = text_of(seeded_client.get(f"/sources/{kept}").get_data(as_text=True))
    assert f"Also recorded as: “{URL}”, “{MIRROR_URL}”" in page


# --- events -----------------------------------------------------------------------------------


def test_merging_a_duplicate_event(seeded_client: FlaskClient, db: Path) -> None:
    kept = one(db, "SELECT id FROM events WHERE name = ?", EVENT)
    claim = record(seeded_client, "Buses left at dawn.", KEPT, event="Aleppo evacuation 2016")
    dup = one(db, "SELECT id FROM events WHERE name = 'Aleppo evacuation 2016'")
    assert merge(seeded_client, "event", dup, kept).status_code == 303
    assert one(db, "SELECT event_id FROM claims WHERE id = ?", claim) == kept
    assert ("edit", "event_id", str(dup), str(kept)) in history(db, "claim", claim)
    assert ("edit", "merged_into", "Aleppo evacuation 2016", str(kept)) in history(db, "event", dup)
    assert seeded_client.get(f"/events/{dup}").headers["Location"] == f"/events/{kept}"
    later = record(seeded_client, "Buses came back.", KEPT, event="ALEPPO  evacuation 2016")
    assert one(db, "SELECT event_id FROM claims WHERE id = ?", later) == kept
    assert one(db, "SELECT count(*) FROM events") == 1
    page = text_of(seeded_client.get(f"/events/{kept}").get_data(as_text=True))
    assert "Merged into this event" in page and "Also recorded as: “Aleppo evacuation 2016”" in page


def test_event_refusals_in_the_service(seeded_engine: Engine) -> None:
    with write_session(seeded_engine, actor="test") as session:
        a = create_event(session, EventCreate(name="Event A")).id
        b = create_event(session, EventCreate(name="Event B")).id
    assert a is not None and b is not None
    with write_session(seeded_engine, actor="test") as session:
        merging.merge(session, "event", a, "Event B")
    with write_session(seeded_engine, actor="test") as session:
        with pytest.raises(InvalidInput):
            merging.merge(session, "event", b, str(a))  # into a merged one
        with pytest.raises(NotFound):
            merging.merge(session, "event", a, "Event B")  # already merged
        with pytest.raises(StaleEdit):
            merging.merge(session, "event", b, EVENT, expected_version=99)
        found = find_event(session, "event a")
        assert found is not None and found.id == b
        assert merging.merged_into(session, "event", a) == b


# --- the migration ----------------------------------------------------------------------------


def test_the_migration_adds_and_removes_the_merge_tables(engine: Engine, db_path: Path) -> None:
    from test_migrations import downgrade, names

    assert current_revision(engine) == head_revision()
    assert {"aliases", "merged_entities"} <= names(db_path, "table")
    downgrade(engine, "0009")
    assert current_revision(engine) == "0009"
    assert not {"aliases", "merged_entities"} & names(db_path, "table")
    assert not {"aliases_names_ai", "aliases_names_au", "aliases_names_ad"} & names(db_path, "trigger")
    assert not {"ix_aliases_kind_entity", "ix_merged_entities_kind_kept"} & names(db_path, "index")
    migrate(engine)
    assert {"aliases", "merged_entities"} <= names(db_path, "table")


def test_a_merged_id_is_never_given_to_a_new_record(seeded_client: FlaskClient, db: Path) -> None:
    """SQLite would give the next row max(id) + 1: the merged speaker's id, its page and its history."""
    record(seeded_client, "The evacuation of militants from Aleppo is over.", DUPLICATE)
    dup, kept = speaker_id(db, DUPLICATE), speaker_id(db, KEPT)
    assert dup == one(db, "SELECT max(id) FROM speakers")
    assert merge(seeded_client, "speaker", dup, kept).status_code == 303
    record(seeded_client, "A new voice.", "Someone new")
    assert (speaker_id(db, "Someone new") or 0) > (dup or 0)
    assert seeded_client.get(f"/speakers/{dup}").headers["Location"] == f"/speakers/{kept}"


# --- the merged names in search ---------------------------------------------------------------

OLD_NAME = "Minoborony"  # how the ministry is often named in Russian reports


def listed(client: FlaskClient, url: str) -> set[int]:
    """The claims a /claims page lists."""
    response = client.get(url)
    assert response.status_code == 200, url
    return {int(i) for i in re.findall(r'href="/claims/(\d+)"', response.get_data(as_text=True))}


def test_searching_a_merged_speakers_old_name_finds_the_kept_speakers_claims(
    seeded_client: FlaskClient, db: Path
) -> None:
    moved = record(seeded_client, "The evacuation of militants from Aleppo is over.", OLD_NAME)
    dup, kept = speaker_id(db, OLD_NAME), speaker_id(db, KEPT)
    kept_claims = {r[0] for r in query(db, "SELECT id FROM claims WHERE speaker_id = ?", kept)}
    assert kept_claims and listed(seeded_client, f"/claims?q={OLD_NAME}") == {moved}
    assert merge(seeded_client, "speaker", dup, kept).status_code == 303

    assert listed(seeded_client, f"/claims?q={OLD_NAME}") == kept_claims | {moved}
    assert listed(seeded_client, "/claims?q=minobor+evacuation") >= {moved}  # a prefix, with a word of the text
    # Claims recorded after the merge, by the kept speaker and by someone speaking for it, are found too.
    later = record(seeded_client, "Aleppo is under government control.", KEPT)
    member = record(seeded_client, "Buses are waiting.", "Ministry driver", affiliation=KEPT)
    assert {later, member} <= listed(seeded_client, f"/claims?q={OLD_NAME}")
    # Renaming the kept speaker keeps its old names searchable.
    edit = seeded_client.get(f"/speakers/{kept}/edit").get_data(as_text=True)
    version = re.search(r'name="version" type="hidden" value="(\d+)"', edit)
    assert version is not None
    renamed = seeded_client.post(
        f"/speakers/{kept}/edit",
        data={"name": "Ministry of Defence of Russia", "kind": "government_body", "version": version.group(1)},
    )
    assert renamed.status_code == 303, renamed.get_data(as_text=True)[:2000]
    assert {later, member, moved} <= listed(seeded_client, f"/claims?q={OLD_NAME}")


def fts_speaker_matches(engine: Engine, word: str) -> set[int]:
    with engine.connect() as conn:
        found = conn.execute(
            text("SELECT rowid FROM claims_fts_search WHERE claims_fts_search MATCH :q"), {"q": f"speaker : {word}"}
        )
        return {int(r[0]) for r in found}


def test_the_alias_search_migration_indexes_old_names_and_takes_them_out_again(seeded_engine: Engine) -> None:
    from test_migrations import downgrade

    with write_session(seeded_engine, actor="test") as session:
        moved = create_claim(
            session, ClaimCreate.model_validate({"text": "It is over.", "speaker": {"name": OLD_NAME}})
        )
        dup = moved.speaker_id
    with write_session(seeded_engine, actor="test") as session:
        kept = merging.merge(session, "speaker", dup, KEPT).kept_id
    with seeded_engine.connect() as conn:
        kept_claims = {
            int(r[0]) for r in conn.execute(text("SELECT id FROM claims WHERE speaker_id = :k"), {"k": kept})
        }
    assert moved.id in kept_claims and fts_speaker_matches(seeded_engine, OLD_NAME) == kept_claims

    downgrade(seeded_engine, "0010")  # the index as it was: the merged name is not in it
    assert fts_speaker_matches(seeded_engine, OLD_NAME) == set()
    assert fts_speaker_matches(seeded_engine, "ministry") >= kept_claims
    migrate(seeded_engine)  # a merge made before the upgrade becomes searchable
    assert fts_speaker_matches(seeded_engine, OLD_NAME) == kept_claims

    # An alias removed (or given to another speaker) leaves the index with it.
    with seeded_engine.begin() as conn:
        conn.execute(text("DELETE FROM aliases WHERE alias = :a"), {"a": OLD_NAME})
    assert fts_speaker_matches(seeded_engine, OLD_NAME) == set()
    assert fts_speaker_matches(seeded_engine, "ministry") >= kept_claims


# --- old addresses follow the merge -------------------------------------------------------------


def test_old_edit_pages_and_list_filters_lead_to_the_kept_records(seeded_client: FlaskClient, db: Path) -> None:
    claim = record(seeded_client, "Buses left at dawn.", DUPLICATE, event="Aleppo evacuation 2016", source_url=URL)
    old = {
        "speaker": speaker_id(db, DUPLICATE),
        "event": one(db, "SELECT id FROM events WHERE name = 'Aleppo evacuation 2016'"),
        "source": one(db, "SELECT id FROM sources WHERE url = ?", URL),
    }
    into = {"speaker": KEPT, "event": EVENT, "source": SEED_TITLE}
    kept = {}
    for kind in ("speaker", "event", "source"):
        response = merge(seeded_client, kind, old[kind], into[kind])
        assert response.status_code == 303, response.get_data(as_text=True)[:2000]
        kept[kind] = int(response.headers["Location"].rsplit("/", 1)[1])

        # The edit page of the merged record: the kept record's edit page, permanently.
        edit = seeded_client.get(f"/{kind}s/{old[kind]}/edit")
        assert edit.status_code == 301 and edit.headers["Location"] == f"/{kind}s/{kept[kind]}/edit"
        assert seeded_client.get(edit.headers["Location"]).status_code == 200
        # A form sent to it saves nothing on either record and says where it went.
        before = snapshot(db)
        sent = seeded_client.post(f"/{kind}s/{old[kind]}/edit", data={"name": "Renamed", "title": "Renamed"})
        assert sent.status_code == 404
        assert f"{kind.capitalize()} {old[kind]} was merged into {kind} {kept[kind]}." in text_of(
            sent.get_data(as_text=True)
        )
        assert snapshot(db) == before

        # A claim list filtered by the merged record: the same query with the kept id.
        listed_old = seeded_client.get(f"/claims?{kind}={old[kind]}&verdict=false&retracted=include")
        assert listed_old.status_code == 301
        assert listed_old.headers["Location"] == f"/claims?{kind}={kept[kind]}&verdict=false&retracted=include"
        moved = seeded_client.get(f"/claims?{kind}={old[kind]}", follow_redirects=True)
        assert moved.status_code == 200 and f'href="/claims/{claim}"' in moved.get_data(as_text=True)
        if kind != "source":  # the JSON list filters by speaker and event
            api_old = seeded_client.get(f"/api/claims?{kind}={old[kind]}&limit=5")
            assert api_old.status_code == 301
            assert api_old.headers["Location"] == f"/api/claims?{kind}={kept[kind]}&limit=5"
            api_moved = seeded_client.get(f"/api/claims?{kind}={old[kind]}", follow_redirects=True)
            assert claim in [c["id"] for c in api_moved.get_json()["claims"]]

    # Records that were never merged, and ids that never existed, are answered as before.
    assert seeded_client.get(f"/claims?speaker={kept['speaker']}").status_code == 200
    assert seeded_client.get("/claims?speaker=999999").status_code == 200
    assert seeded_client.get("/api/claims?speaker=999999").get_json()["claims"] == []
    assert seeded_client.get("/speakers/999999/edit").status_code == 404


def test_the_claim_lists_speaker_and_event_filters_find_a_merged_name(seeded_client: FlaskClient, db: Path) -> None:
    # "Russian MoD" shares no word start with "Russian defence ministry" beyond "Russian": only its alias links them.
    moved = record(seeded_client, "Buses left at dawn.", "Russian MoD", event="Aleppo evacuation 2016")
    dup_speaker = speaker_id(db, "Russian MoD")
    dup_event = one(db, "SELECT id FROM events WHERE name = 'Aleppo evacuation 2016'")
    kept_event = one(db, "SELECT id FROM events WHERE name = ?", EVENT)
    assert merge(seeded_client, "speaker", dup_speaker, KEPT).status_code == 303
    assert merge(seeded_client, "event", dup_event, kept_event).status_code == 303
    kept_claims = {r[0] for r in query(db, "SELECT id FROM claims WHERE speaker_id = ?", speaker_id(db, KEPT))}
    event_claims = {r[0] for r in query(db, "SELECT id FROM claims WHERE event_id = ?", kept_event)}
    assert moved in kept_claims and moved in event_claims

    for typed in ("Russian MoD", "russian  mod"):
        page = seeded_client.get("/claims", query_string={"speaker": typed}).get_data(as_text=True)
        assert "No speaker matches" not in page
        shown = " ".join(typed.split())  # the page names the filter as cleaned: spaces collapsed
        assert f"Speaker matching “{shown}”: {KEPT}" in text_of(page)
        assert listed(seeded_client, f"/claims?speaker={typed}") >= kept_claims
    page = seeded_client.get("/claims", query_string={"event": "ALEPPO evacuation 2016"}).get_data(as_text=True)
    assert "No event matches" not in page
    assert listed(seeded_client, "/claims?event=ALEPPO+evacuation+2016") == event_claims
    # A name that is only the beginning of a merged name is not taken as it: the prefix rule reads stored names.
    assert "No speaker matches" in seeded_client.get("/claims?speaker=Russian+Mo").get_data(as_text=True)

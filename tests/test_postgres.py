"""The core writes on PostgreSQL: a throwaway cluster (claimtrack.pgcluster), the schema from
``create_postgres_schema``, and the seven domain writes through the services with their history, compared
with the same writes on a migrated SQLite file; refused names; new ids under concurrent writers. Skips, saying why, without PostgreSQL's server programs
(Debian's ``postgresql``) or the ``psycopg`` driver (the ``postgres`` extra)."""

from __future__ import annotations

import importlib.util
import itertools
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import Engine, create_engine, text
from sqlmodel import select

from claimtrack.db import create_postgres_schema, write_session
from claimtrack.models import (
    ClaimCreate,
    EventCreate,
    LinkCreate,
    MergedEntity,
    Retraction,
    SourceCreate,
    Speaker,
    SpeakerCreate,
    VerdictChange,
)
from claimtrack.pgcluster import throwaway_cluster, unavailable
from claimtrack.services import claims, events, links, sources, speakers
from claimtrack.services.errors import Conflict

_why_not = unavailable() or (
    None
    if importlib.util.find_spec("psycopg")
    else "the psycopg driver is not installed (pip install -e '.[postgres]')"
)
# A server process of its own: with the other tests that start one (about 10 s here, the cluster's
# start included).
pytestmark = [pytest.mark.slow, pytest.mark.skipif(_why_not is not None, reason=f"no PostgreSQL: {_why_not}")]

ACTOR = "editor"
RECORDS = {
    "speakers": "id, name, kind, affiliation_id, version",
    "events": "id, name, version",
    "sources": "id, title, outlet, url, version",
    "claims": "id, text, speaker_id, event_id, language, verdict, verdict_rationale, retracted, retracted_reason, version",
    "claim_sources": "claim_id, source_id",
    "claim_links": "id, from_claim_id, to_claim_id, relation, retracted",
}


@pytest.fixture(scope="module")
def cluster() -> Iterator[str]:
    with throwaway_cluster() as url:
        yield url


_databases = itertools.count(1)


@pytest.fixture
def pg(cluster: str) -> Iterator[Engine]:
    """A new database of the cluster with the app's schema: each test's ids start at 1."""
    name = f"test_{next(_databases)}"
    admin = create_engine(cluster, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f"CREATE DATABASE {name}"))
    admin.dispose()
    engine = create_engine(cluster.replace("/claimtrack?", f"/{name}?"))
    create_postgres_schema(engine)
    yield engine
    engine.dispose()


def seven_core_writes(engine: Engine) -> dict[str, int]:
    """create_speaker, create_event, create_source, create_claim, add_link, set_verdict, retract_claim,
    each in its own write session, as the web forms make them; the ids made."""
    made: dict[str, int] = {}
    with write_session(engine, ACTOR) as session:
        speaker = speakers.create_speaker(session, SpeakerCreate(name="Trial spokesman", affiliation="Trial ministry"))
        assert speaker.id is not None
        made["speaker"] = speaker.id
    with write_session(engine, ACTOR) as session:
        made["event"] = events.create_event(session, EventCreate(name="Trial evacuation")).id or 0
    with write_session(engine, ACTOR) as session:
        data = SourceCreate(title="Trial report", outlet="Trial outlet", url="https://example.org/trial")
        made["source"] = sources.create_source(session, data).id or 0
    with write_session(engine, ACTOR) as session:
        claim = ClaimCreate(
            text="The evacuation is complete.",
            # Another case than recorded: the exact lookup finds the speaker and the event, nothing new is made.
            speaker=SpeakerCreate(name="TRIAL SPOKESMAN"),
            source=SourceCreate(url="https://example.org/trial"),
            event="trial evacuation",
        )
        made["claim"] = claims.create_claim(session, claim).id or 0
    with write_session(engine, ACTOR) as session:
        answer = ClaimCreate(text="People are still waiting to leave.", speaker=SpeakerCreate(name="Trial official"))
        made["link"] = (
            links.add_link(session, made["claim"], LinkCreate(relation="contradicts", new_claim=answer)).id or 0
        )
    with write_session(engine, ACTOR) as session:
        claims.set_verdict(session, made["claim"], VerdictChange(verdict="disputed", verdict_rationale="Witnesses."))
    with write_session(engine, ACTOR) as session:
        claims.retract_claim(session, made["claim"], Retraction(reason="Recorded twice."))
    return made


def contents(engine: Engine) -> dict[str, list[tuple[Any, ...]]]:
    """The records and their history (without its ids and times), in a form both databases give alike."""
    found: dict[str, list[tuple[Any, ...]]] = {}
    with engine.connect() as conn:
        for table, columns in RECORDS.items():
            rows = conn.execute(text(f"SELECT {columns} FROM {table} ORDER BY {columns.split(',')[0]}, 2"))
            # SQLite gives booleans as 0/1, PostgreSQL as False/True: compare them as 0/1.
            found[table] = [tuple(int(v) if isinstance(v, bool) else v for v in row) for row in rows]
        found["change_history"] = [
            tuple(row)
            for row in conn.execute(
                text(
                    "SELECT username, entity, entity_id, action, field, old_value, new_value FROM change_history "
                    "ORDER BY id"
                )
            )
        ]
    return found


def test_the_seven_core_writes_make_the_same_records_and_history_as_on_sqlite(pg: Engine, engine: Engine) -> None:
    made = seven_core_writes(pg)
    assert seven_core_writes(engine) == made
    on_pg = contents(pg)
    assert on_pg == contents(engine)
    # What the comparison rests on, spelled out: one speaker matched in another case, the claim cited,
    # answered, judged and retracted, and every change in the history under the editor's name.
    assert [(name, affiliation) for _id, name, _k, affiliation, _v in on_pg["speakers"]] == [
        ("Trial ministry", None),
        ("Trial spokesman", 1),
        ("Trial official", None),
    ]
    (claim, answer) = on_pg["claims"]
    assert claim[1:] == (
        "The evacuation is complete.",
        made["speaker"],
        made["event"],
        "en",
        "disputed",
        "Witnesses.",
        1,
        "Recorded twice.",
        3,
    )
    assert (answer[2], answer[7]) == (3, 0)  # the answer: by the new speaker, not retracted
    assert on_pg["claim_sources"] == [(made["claim"], made["source"])]
    assert on_pg["claim_links"] == [(made["link"], answer[0], made["claim"], "contradicts", 0)]
    history = on_pg["change_history"]
    assert {row[0] for row in history} == {ACTOR}
    assert {(entity, action) for _u, entity, _id, action, *_rest in history} == {
        ("speaker", "create"),
        ("event", "create"),
        ("source", "create"),
        ("claim", "create"),
        ("claim", "edit"),  # the citation
        ("link", "link"),
        ("claim", "verdict"),
        ("claim", "retract"),
    }
    assert (ACTOR, "claim", made["claim"], "retract", "retracted_reason", None, "Recorded twice.") in history


def test_a_recorded_name_in_another_case_is_refused_and_nothing_is_written(pg: Engine) -> None:
    with write_session(pg, ACTOR) as session:
        speakers.create_speaker(session, SpeakerCreate(name="Russian defence ministry"))
        events.create_event(session, EventCreate(name="Aleppo evacuation"))
    before = contents(pg)
    taken = "There is already a speaker named 'RUSSIAN DEFENCE MINISTRY'"
    with pytest.raises(Conflict, match=taken), write_session(pg, ACTOR) as session:
        speakers.create_speaker(session, SpeakerCreate(name="RUSSIAN DEFENCE MINISTRY"))
    with pytest.raises(Conflict, match="already an event"), write_session(pg, ACTOR) as session:
        events.create_event(session, EventCreate(name="aleppo evacuation"))
    assert contents(pg) == before


def test_a_new_speaker_never_takes_the_id_of_a_merged_one(pg: Engine) -> None:
    # The id expression of services.aliases on PostgreSQL: above the table's ids and every merged id.
    with write_session(pg, ACTOR) as session:
        session.add(MergedEntity(kind="speaker", old_id=41, kept_id=1, name="Merged away"))
    with write_session(pg, ACTOR) as session:
        first = speakers.create_speaker(session, SpeakerCreate(name="First after the merge"))
        second = speakers.create_speaker(session, SpeakerCreate(name="Second after the merge"))
    assert (first.id, second.id) == (42, 43)
    with pg.connect() as conn:
        assert conn.execute(select(Speaker.id).order_by(Speaker.id)).scalars().all() == [42, 43]  # type: ignore[arg-type]


def test_concurrent_writers_each_get_their_own_new_ids_and_a_name_taken_meanwhile_is_a_conflict(pg: Engine) -> None:
    # PostgreSQL's transactions do not see each other's new rows: without one creator at a time per kind,
    # two computed the same id (a primary key clash, so an error page) in a measurement here.
    outcomes: list[str] = []
    start = threading.Barrier(8)

    def create(name: str) -> None:
        start.wait()
        try:
            with write_session(pg, ACTOR) as session:
                speakers.create_speaker(session, SpeakerCreate(name=name))
                events.create_event(session, EventCreate(name=name))
            outcomes.append("created")
        except Conflict:
            outcomes.append("conflict")
        except Exception as exc:  # anything else would be a 500 in the app
            outcomes.append(f"{type(exc).__name__}: {exc}")

    names = [f"Writer {n}" for n in range(4)] + ["The same name"] * 4
    threads = [threading.Thread(target=create, args=(name,)) for name in names]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["conflict"] * 3 + ["created"] * 5
    with pg.connect() as conn:
        for table in ("speakers", "events"):
            found = conn.execute(text(f"SELECT name FROM {table} ORDER BY name")).scalars().all()
            assert found == ["The same name", *(f"Writer {n}" for n in range(4))]

"""The write path and the claim page's read path: statements per write and per page, writers queued in
order, and an edit history that stays complete when it is written once per transaction."""

from __future__ import annotations

import multiprocessing
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient
from helpers import query
from sqlalchemy import Engine, event
from test_write_statements import full_claim

import claimtrack.db as db_module
from claimtrack.db import make_engine, write_session, writer_queue
from claimtrack.models import ClaimCreate, ClaimUpdate, LinkCreate, LinkUpdate, Retraction, VerdictChange
from claimtrack.services import claims as claim_service
from claimtrack.services import links as link_service
from claimtrack.services.errors import DuplicateClaim, InvalidInput, NotFound


@contextmanager
def all_statements() -> Iterator[list[tuple[str, str]]]:
    """Every statement any engine sends while the block runs, as (database file name, SQL)."""
    seen: list[tuple[str, str]] = []

    def count(conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        seen.append((Path(conn.engine.url.database or "").name, statement))

    event.listen(Engine, "before_cursor_execute", count)
    try:
        yield seen
    finally:
        event.remove(Engine, "before_cursor_execute", count)


# The forms save through record_claim and record_link, which return the new id; create_claim and add_link
# (the CLI, seeds and tests) read the new row back as an object: one SELECT more each.


def test_new_claim_with_new_speaker_source_and_event_takes_at_most_12_statements(engine: Engine) -> None:
    with all_statements() as statements, write_session(engine, actor="test") as session:
        claim_service.record_claim(session, full_claim("A new statement.", "New speaker"))
    sql = [s for _, s in statements]
    # BEGIN IMMEDIATE; 4 lookups (speaker, affiliation, event, source); 6 inserts (affiliation, speaker,
    # event, claim, source, citation); the history of all six in one statement at the commit.
    assert len(sql) <= 12, "\n".join(sql)
    assert sum(s.startswith("INSERT INTO change_history") for s in sql) == 1


def test_new_link_with_new_statement_takes_at_most_14_statements(engine: Engine) -> None:
    with write_session(engine, actor="test") as session:
        claim_id = claim_service.create_claim(session, full_claim("The first statement.", "First speaker")).id
    assert claim_id is not None
    data = LinkCreate(relation="contradicts", note="no", new_claim=full_claim("The answer.", "Second speaker"))
    with all_statements() as statements, write_session(engine, actor="test") as session:
        link_service.record_link(session, claim_id, data)
    sql = [s for _, s in statements]
    assert len(sql) <= 14, "\n".join(sql)
    assert sum(s.startswith("INSERT INTO change_history") for s in sql) == 1


def test_a_signed_in_request_reads_the_account_in_one_statement(seeded_client: FlaskClient) -> None:
    with all_statements() as statements:
        assert seeded_client.get("/claims/new").status_code == 200
    accounts = [s for db, s in statements if db == "auth.db"]
    assert len(accounts) == 1, accounts
    assert accounts[0].lstrip().upper().startswith("SELECT")


def _claim_page_statements(client: FlaskClient, claim_id: int) -> list[str]:
    with all_statements() as statements:
        response = client.get(f"/claims/{claim_id}")
    assert response.status_code == 200
    return [s for db, s in statements if db != "auth.db"]


def test_claim_page_takes_a_fixed_small_number_of_queries(seeded_client: FlaskClient, engine: Engine) -> None:
    with write_session(engine, actor="test") as session:
        bare = claim_service.create_claim(
            session, ClaimCreate.model_validate({"text": "Bare.", "speaker": {"name": "Lone"}})
        )
        rich = claim_service.create_claim(session, full_claim("Much discussed.", "Busy speaker"))
    assert bare.id is not None and rich.id is not None
    # The rich claim: answered by statements of several speakers with their own sources, and a history
    # that mentions speakers, events, sources and claims (each a table whose names the page shows).
    for i in range(6):
        with write_session(engine, actor="test") as session:
            new = full_claim(f"Answer {i}.", f"Speaker {i}")
            link_service.add_link(session, rich.id, LinkCreate(relation="contradicts", new_claim=new))
    with write_session(engine, actor="test") as session:
        claim_service.update_claim(
            session, rich.id, ClaimUpdate.model_validate(full_claim("Changed.", "Speaker 2").model_dump())
        )
    bare_sql = _claim_page_statements(seeded_client, bare.id)
    rich_sql = _claim_page_statements(seeded_client, rich.id)
    # BEGIN, the claim with its names, its links, the sources of it and the linked statements, its history
    # (its own, its links' and its speakers'), the names that history mentions. The graph and its summary
    # line are drawn from the same rows as the links: no query of their own.
    assert len(rich_sql) <= 6, "\n".join(rich_sql)
    assert len(bare_sql) <= len(rich_sql), "\n".join(bare_sql)
    page = seeded_client.get(f"/claims/{rich.id}").get_data(as_text=True)
    assert page.count("Answer ") >= 6


def test_writers_of_one_process_write_in_the_order_they_came(engine: Engine) -> None:
    queue = writer_queue(engine)
    holder = queue.acquire(1)
    assert holder is not None
    threads = []
    try:
        for i in range(8):
            thread = threading.Thread(target=_write_claim, args=(engine, f"Statement number {i}."))
            thread.start()
            threads.append(thread)
            for _ in range(2000):  # wait until this writer is queued before the next one comes
                if queue.waiting == i + 2:
                    break
                threading.Event().wait(0.005)
            assert queue.waiting == i + 2
    finally:
        queue.release(holder)
    for thread in threads:
        thread.join(30)
    texts = [
        r["text"] for r in query(Path(engine.url.database or ""), "SELECT text FROM claims ORDER BY id DESC LIMIT 8")
    ]
    assert texts[::-1] == [f"Statement number {i}." for i in range(8)]


def _write_claim(engine: Engine, text: str) -> None:
    with write_session(engine, actor="test") as session:
        claim_service.create_claim(session, ClaimCreate.model_validate({"text": text, "speaker": {"name": "Queue"}}))


def test_many_threads_writing_through_the_services_never_see_database_is_locked(
    db_path: Path, engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A busy timeout far shorter than the queue of writers: SQLite's busy handler alone let writers give up
    # with "database is locked" while others got through; queued in the process, none waits on SQLite.
    monkeypatch.setattr(db_module, "BUSY_TIMEOUT_MS", 20)
    engines = [make_engine(db_path) for _ in range(2)]  # two engines on one file share one queue
    errors: list[BaseException] = []
    start = threading.Barrier(16)

    def writer(n: int) -> None:
        start.wait()
        try:
            for i in range(6):
                with write_session(engines[n % 2], actor="test") as session:
                    data = full_claim(f"Writer {n} statement {i}.", f"Writer {n}")
                    claim_service.create_claim(session, data)
                    if i % 2:
                        link_service.add_link(
                            session, 1, LinkCreate(relation="supports", new_claim=full_claim(f"W{n}/{i}", "Linker"))
                        )
        except BaseException as exc:  # collected and reported below
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    for e in engines:
        e.dispose()
    assert not errors, errors[:3]
    assert query(db_path, "SELECT count(*) AS n FROM claims WHERE text LIKE 'Writer %'")[0]["n"] == 16 * 6


def test_a_write_that_waits_too_long_is_refused_with_503_and_stores_nothing(
    seeded_client: FlaskClient, db_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(db_module, "WRITE_QUEUE_TIMEOUT_S", 0.05)
    before = query(db_path, "SELECT count(*) AS n FROM claims")[0]["n"]
    queue = db_module.writer_queue(make_engine(db_path))
    holder = queue.acquire(1)  # another writer of this process that does not finish in time
    try:
        response = seeded_client.post("/claims/new", data={"text": "Held up.", "speaker": "Someone"})
    finally:
        assert holder is not None
        queue.release(holder)
    assert response.status_code == 503
    assert "send it again" in response.get_data(as_text=True)
    assert query(db_path, "SELECT count(*) AS n FROM claims")[0]["n"] == before
    assert seeded_client.post("/claims/new", data={"text": "Held up.", "speaker": "Someone"}).status_code == 303


def _history(db_path: Path, entity: str, entity_id: int) -> list[tuple[str, str, str | None, str | None]]:
    return [
        (r["action"], r["field"], r["old_value"], r["new_value"])
        for r in query(
            db_path, "SELECT * FROM change_history WHERE entity = ? AND entity_id = ? ORDER BY id", entity, entity_id
        )
    ]


def test_history_records_every_field_of_every_change_in_one_transaction(db_path: Path, engine: Engine) -> None:
    with write_session(engine, actor="editor") as session:
        claim = claim_service.create_claim(session, full_claim("Forty lorries.", "Aid agency"))
        # Changed after the last flush: recorded at the commit all the same.
        claim.context = "At the crossing."
        session.add(claim)
    assert claim.id is not None
    created = _history(db_path, "claim", claim.id)
    fields = {f: new for action, f, _, new in created}
    assert {a for a, *_ in created} >= {"create", "edit"}
    assert fields["text"] == "Forty lorries." and fields["stated_on"] == "2016-12-16"
    assert fields["speaker_id"] and fields["event_id"] and fields["source_id"]
    assert ("edit", "context", None, "At the crossing.") in created
    speaker_id = int(fields["speaker_id"] or 0)
    assert ("create", "name", None, "Aid agency") in _history(db_path, "speaker", speaker_id)

    update = ClaimUpdate.model_validate(
        {
            "text": "Forty-two lorries.",
            "speaker": {"name": "Aid agency"},
            "verdict": "disputed",
            "verdict_rationale": "Counts differ.",
            "stated_on": "2016-12-17",
        }
    )
    with write_session(engine, actor="editor") as session:
        claim_service.update_claim(session, claim.id, update)
    changed = _history(db_path, "claim", claim.id)[len(created) :]
    assert ("edit", "text", "Forty lorries.", "Forty-two lorries.") in changed
    assert ("edit", "stated_on", "2016-12-16", "2016-12-17") in changed
    assert ("verdict", "verdict", None, "disputed") in changed
    assert ("verdict", "verdict_rationale", None, "Counts differ.") in changed
    assert ("edit", "context", "At the crossing.", None) in changed
    assert any(f == "event_id" and new is None for _, f, _, new in changed)

    with write_session(engine, actor="editor") as session:
        link = link_service.add_link(
            session, claim.id, LinkCreate(relation="contradicts", note="No", new_claim=full_claim("Ten.", "Army"))
        )
    assert link.id is not None
    with write_session(engine, actor="editor") as session:
        link_service.update_link(session, link.id, LinkUpdate(relation="qualifies", note="Partly"))
        link_service.retract_link(session, link.id, Retraction(reason="Wrong pair."))
    link_history = _history(db_path, "link", link.id)
    assert ("link", "relation", None, "contradicts") in link_history
    assert ("edit", "relation", "contradicts", "qualifies") in link_history
    assert ("edit", "note", "No", "Partly") in link_history
    assert ("retract", "retracted", "0", "1") in link_history
    assert ("retract", "retracted_reason", None, "Wrong pair.") in link_history
    assert {
        r["username"] for r in query(db_path, "SELECT DISTINCT username FROM change_history WHERE username = 'editor'")
    } == {"editor"}


def test_a_rolled_back_write_leaves_no_history_behind(db_path: Path, engine: Engine) -> None:
    before = query(db_path, "SELECT count(*) AS n FROM change_history")[0]["n"]
    with pytest.raises(RuntimeError), write_session(engine, actor="editor") as session:
        claim_service.create_claim(session, full_claim("Never stored.", "Ghost"))
        raise RuntimeError("the request failed after the flush")
    assert query(db_path, "SELECT count(*) AS n FROM change_history")[0]["n"] == before
    with write_session(engine, actor="editor") as session:
        kept = claim_service.create_claim(
            session, ClaimCreate.model_validate({"text": "Stored.", "speaker": {"name": "Host"}})
        )
    assert kept.id is not None
    after = [r["entity"] for r in query(db_path, "SELECT entity FROM change_history WHERE id > ?", before)]
    assert "Never stored." not in str(query(db_path, "SELECT new_value FROM change_history WHERE id > ?", before))
    assert after.count("claim") == len(_history(db_path, "claim", kept.id))


def test_claim_page_history_names_what_it_mentions(seeded_client: FlaskClient, engine: Engine) -> None:
    with write_session(engine, actor="test") as session:
        claim = claim_service.create_claim(session, full_claim("Named refs.", "Ref speaker"))
    assert claim.id is not None
    body = seeded_client.get(f"/claims/{claim.id}").get_data(as_text=True)
    history = re.search(r'<section aria-labelledby="h-history">(.*?)</section>', body, re.DOTALL)
    assert history is not None
    for name in ("Ref speaker", "Event of Ref speaker", "A report"):
        assert name in history.group(1)


def _process_writes(db_path: str, n: int) -> int:
    """Run in another process: 4 threads, 5 claims each, with a busy timeout far shorter than the queue."""
    db_module.BUSY_TIMEOUT_MS = 20
    engine = make_engine(db_path)
    failures: list[BaseException] = []

    def writer(t: int) -> None:
        for i in range(5):
            try:
                with write_session(engine, actor="test") as session:
                    claim_service.create_claim(session, full_claim(f"Process {n} thread {t} claim {i}.", f"P{n}"))
            except BaseException as exc:  # counted, and the test shows how many
                failures.append(exc)

    threads = [threading.Thread(target=writer, args=(t,)) for t in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    engine.dispose()
    return len(failures)


def test_writers_of_several_processes_take_turns_without_database_is_locked(db_path: Path, engine: Engine) -> None:
    # serve --workers N: the head of each process's queue takes a file lock beside the database, so a
    # writer of one worker waits for the other's write to end, not for SQLite's busy handler to retry.
    context = multiprocessing.get_context("spawn")
    with context.Pool(3) as pool:
        failures = pool.starmap(_process_writes, [(str(db_path), n) for n in range(3)])
    assert failures == [0, 0, 0]
    assert query(db_path, "SELECT count(*) AS n FROM claims WHERE text LIKE 'Process %'")[0]["n"] == 3 * 4 * 5


def test_a_claim_page_with_a_verdict_adds_only_its_claimreview_queries(
    seeded_client: FlaskClient, engine: Engine
) -> None:
    with write_session(engine, actor="test") as session:
        claim = claim_service.create_claim(
            session, ClaimCreate.model_validate({"text": "Rated.", "speaker": {"name": "Rated speaker"}})
        )
    assert claim.id is not None
    plain = _claim_page_statements(seeded_client, claim.id)
    with write_session(engine, actor="test") as session:
        claim_service.set_verdict(session, claim.id, VerdictChange.model_validate({"verdict": "false"}))
    rated = _claim_page_statements(seeded_client, claim.id)
    # The ClaimReview reads the claim's review columns and its sources; the claim itself is not looked up again.
    assert len(rated) <= len(plain) + 2, "\n".join(rated)
    assert '"@type": "ClaimReview"' in seeded_client.get(f"/claims/{claim.id}").get_data(as_text=True)


def test_saves_whose_pages_are_never_loaded_do_not_grow_the_session_cookie(client: FlaskClient) -> None:
    """A client that posts form after form without loading the page each save redirects to (a script, a
    load test) keeps only the newest confirmations in its session, which every request reads and signs."""
    ids = []
    for n in range(60):
        response = client.post("/claims/new", data={"text": f"Statement number {n} for the record", "speaker": "A"})
        assert response.status_code == 303, response.status_code
        ids.append(int(response.headers["Location"].rstrip("/").rsplit("/", 1)[-1]))
    cookie = client.get_cookie("session")
    assert cookie is not None and len(cookie.value) < 4096, len(cookie.value if cookie else "")
    page = client.get("/claims").get_data(as_text=True)
    assert f"Claim recorded (claim {ids[-1]})." in page, "the newest confirmation is still shown"
    assert f"Claim recorded (claim {ids[0]})." not in page


# --- the plain INSERTs of a new claim and link write what ORM objects wrote ------------------------------


def _every_field_claim(text: str, speaker: str) -> ClaimCreate:
    return ClaimCreate.model_validate(
        {
            "text": text,
            "verbatim": True,
            "language": "ar",
            "translation": "In English.",
            "translated_by": "Our desk",
            "stated_on": "2016-12-16",
            "stated_time": "14:30",
            "context": "On the radio.",
            "verdict": "disputed",
            "verdict_rationale": "Counts differ.",
            "speaker": {"name": speaker},
            "event": "Evacuation",
        }
    )


def _row_and_history(db_path: Path, table: str, entity: str, row_id: int) -> tuple[dict[str, Any], list[Any]]:
    (row,) = query(db_path, f"SELECT * FROM {table} WHERE id = ?", row_id)
    values = {k: v for k, v in dict(row).items() if k not in ("id", "created_at", "updated_at")}
    history = [
        (r["username"], r["action"], r["field"], r["old_value"], r["new_value"])
        for r in query(
            db_path, "SELECT * FROM change_history WHERE entity = ? AND entity_id = ? ORDER BY id", entity, row_id
        )
    ]
    return values, history


def test_a_new_claim_and_link_store_the_rows_and_history_orm_objects_stored(db_path: Path, engine: Engine) -> None:
    from claimtrack.models import Claim, ClaimLink, default_language

    with write_session(engine, actor="editor") as session:
        target = claim_service.record_claim(
            session, ClaimCreate.model_validate({"text": "T.", "speaker": {"name": "T"}})
        )
        data = _every_field_claim("Every field.", "Known")
        new_id = claim_service.record_claim(session, data)
        link_id = link_service.record_link(
            session, target, LinkCreate(relation="qualifies", note="Partly", target_id=new_id)
        )
    with write_session(engine, actor="editor") as session:
        # The same values through SQLModel objects and the flush hook, as the claim and the link were written before.
        fields = claim_service._claim_fields(data)
        fields.setdefault("language", default_language())
        speaker_id, event_id = query(db_path, "SELECT speaker_id, event_id FROM claims WHERE id = ?", new_id)[0]
        orm_claim = Claim(**{**fields, "text": "Every field, by ORM."}, speaker_id=speaker_id, event_id=event_id)
        session.add(orm_claim)
        session.flush()
        assert orm_claim.id is not None
        orm_link = ClaimLink(from_claim_id=orm_claim.id, to_claim_id=target, relation="qualifies", note="Partly")
        session.add(orm_link)
    assert orm_link.id is not None
    new_row, new_history = _row_and_history(db_path, "claims", "claim", new_id)
    orm_row, orm_history = _row_and_history(db_path, "claims", "claim", orm_claim.id)
    assert new_row == {**orm_row, "text": "Every field."}
    assert new_history == [(*r[:4], "Every field." if r[2] == "text" else r[4]) for r in orm_history]
    assert len(new_history) == 12  # text, verbatim, speaker, event and the eight values: all hold something
    link_row, link_history = _row_and_history(db_path, "claim_links", "link", link_id)
    orm_link_row, orm_link_history = _row_and_history(db_path, "claim_links", "link", orm_link.id)
    assert link_row == {**orm_link_row, "from_claim_id": new_id}
    assert link_history == [(*r[:4], str(new_id) if r[2] == "from_claim_id" else r[4]) for r in orm_link_history]


def test_a_new_claim_s_history_keeps_the_order_of_its_records(db_path: Path, engine: Engine) -> None:
    with write_session(engine, actor="editor") as session:
        claim_id = claim_service.record_claim(session, full_claim("In order.", "Ordered speaker"))
    found = query(db_path, "SELECT entity, field FROM change_history ORDER BY id DESC LIMIT 40")[::-1]
    entities = [r["entity"] for r in found if r["entity"] != "claim" or r["field"] != "source_id"]
    # affiliation and speaker, event, claim, source; then the citation, as the flushes wrote them.
    assert entities[-1] == "source" and entities.index("claim") > entities.index("event") > entities.index("speaker")
    assert found[-1]["entity"] == "claim" and found[-1]["field"] == "source_id"
    assert query(db_path, "SELECT count(*) AS n FROM claim_sources WHERE claim_id = ?", claim_id)[0]["n"] == 1


def test_a_link_between_linked_statements_is_refused_and_stores_nothing(db_path: Path, engine: Engine) -> None:
    with write_session(engine, actor="editor") as session:
        a = claim_service.record_claim(session, ClaimCreate.model_validate({"text": "A.", "speaker": {"name": "S"}}))
        b = claim_service.record_claim(session, ClaimCreate.model_validate({"text": "B.", "speaker": {"name": "S"}}))
        link_service.record_link(session, a, LinkCreate(relation="supports", target_id=b))
    before = query(db_path, "SELECT count(*) AS n FROM change_history")[0]["n"]
    with pytest.raises(InvalidInput, match="already linked"), write_session(engine, actor="editor") as session:
        link_service.record_link(session, b, LinkCreate(relation="contradicts", target_id=a))
    with pytest.raises(NotFound), write_session(engine, actor="editor") as session:
        link_service.record_link(session, 10**9, LinkCreate(relation="contradicts", target_id=a))
    assert query(db_path, "SELECT count(*) AS n FROM change_history")[0]["n"] == before


@pytest.mark.parametrize(
    ("stored", "typed"),
    [
        ("It is over.", "it   is OVER"),
        ("\u201cIt is over.\u201d", "It is over"),
        ("Die Stra\u00dfe ist zu.", "DIE STRASSE IST ZU"),  # casefold, beyond SQLite's ASCII lower()
        ("Line one\nline two", "line one line two"),  # a line break is whitespace to the key
        ("Tab\there", "tab here"),
        ("Windows\r\nline \t break", "windows line break"),
        ("Caf\u00e9 open", "CAF\u00c9 open"),  # non-ASCII: compared in Python
        ("Caf\u0065\u0301 open", "caf\u00e9 open"),  # NFC
        (
            "\u0627\u0644\u062d\u0631\u0628 \u0627\u0646\u062a\u0647\u062a",
            "\u0627\u0644\u062d\u0631\u0628  \u0627\u0646\u062a\u0647\u062a.",
        ),
        ("\u212a is a kelvin sign", "k is a kelvin sign"),  # non-ASCII that folds to ASCII
        ('"Over".', "over"),
    ],
)
def test_the_duplicate_guard_finds_what_the_key_says_is_the_same(engine: Engine, stored: str, typed: str) -> None:
    assert claim_service.statement_key(stored) == claim_service.statement_key(typed)
    with write_session(engine, actor="editor") as session:
        speaker = f"Guarded {abs(hash(stored))}"
        for i in range(30):  # other statements of the speaker, which the narrowing in SQL leaves out
            claim_service.record_claim(
                session, ClaimCreate.model_validate({"text": f"Other {i}.", "speaker": {"name": speaker}})
            )
        first = claim_service.record_claim(
            session, ClaimCreate.model_validate({"text": stored, "speaker": {"name": speaker}})
        )
    with pytest.raises(DuplicateClaim) as refused, write_session(engine, actor="editor") as session:
        claim_service.record_claim(
            session,
            ClaimCreate.model_validate({"text": typed, "speaker": {"name": speaker}}),
            claim_service.EntryGuard(),
        )
    assert refused.value.existing_id == first


def test_a_claim_by_a_recorded_speaker_reads_no_speaker_row(db_path: Path, engine: Engine) -> None:
    """The load's write: a statement by a recorded speaker, nothing else named. The speaker's id comes from
    its name lookup; its row is read only when the claim would fill in its affiliation or description."""
    with write_session(engine, actor="test") as session:
        first = claim_service.record_claim(
            session, ClaimCreate.model_validate({"text": "First", "speaker": {"name": "Known"}})
        )
    guard = claim_service.EntryGuard(form_token="t" * 20)
    with all_statements() as statements, write_session(engine, actor="test") as session:
        claim_service.record_claim(
            session, ClaimCreate.model_validate({"text": "Second", "speaker": {"name": "known"}}), guard
        )
    sql = [s for _, s in statements]
    # BEGIN IMMEDIATE, the form's token, the name, the duplicate guard, the claim, the token, the history
    assert len(sql) <= 7, "\n".join(sql)
    assert not any(s.startswith("SELECT speakers.") for s in sql)
    link = LinkCreate.model_validate({"relation": "contradicts"}).model_copy(
        update={"new_claim": ClaimCreate.model_validate({"text": "Third", "speaker": {"name": "Known"}})}
    )
    with all_statements() as statements, write_session(engine, actor="test") as session:
        link_service.record_link(session, first, link, claim_service.EntryGuard(form_token="u" * 20))
    sql = [s for _, s in statements]
    assert len(sql) <= 9, "\n".join(sql)  # and the claim it answers, and the link
    with write_session(engine, actor="test") as session:
        # Typing whom the speaker speaks for fills it in: the speaker is then read and updated, with its history.
        data = {"text": "Fourth", "speaker": {"name": "Known", "affiliation": "Some body"}}
        claim_service.record_claim(session, ClaimCreate.model_validate(data))
    known = query(
        db_path, "SELECT a.name FROM speakers s JOIN speakers a ON a.id = s.affiliation_id WHERE s.name = 'Known'"
    )
    assert [r["name"] for r in known] == ["Some body"]
    fields = query(db_path, "SELECT field FROM change_history WHERE entity = 'speaker' AND action = 'edit'")
    assert [r["field"] for r in fields] == ["affiliation_id"]

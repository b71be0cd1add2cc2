"""Full CSV exports and the views behind them.

- Migration 0005's views (joins) give exactly 0004's rows, columns, order and types, on the seeded scenario
  and on a generated archive, and claim_links_readable no longer looks its statements up per column.
- The streamed CSV export (claimtrack/datasette/exports.py) writes byte for byte what stock Datasette writes,
  for every table and view, with filters, labels, search and the byte order mark.
"""

from __future__ import annotations

import asyncio
import csv
import dataclasses
import io
import json
import os
import sqlite3
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path
from typing import Any

import pytest
from conftest import Templates, seeded_copy
from sqlalchemy import Engine
from test_datasette import METADATA_PATH
from test_migrations import downgrade
from test_research import make_flask

from claimtrack.asgi import create_asgi_app
from claimtrack.config import Settings
from claimtrack.datasette import csv_safety, exports
from claimtrack.db import make_engine
from claimtrack.schema import migrate
from claimtrack.services.synthetic import generate

VIEWS = ("claim_links_readable", "contested_claims", "event_timeline", "speaker_claims")


def _retract_some(db_path: Path) -> None:
    """Retract a few claims and links (with and without a reason) so every branch of `retracted` shows."""
    with closing(sqlite3.connect(db_path)) as conn, conn:
        conn.execute("UPDATE claims SET retracted = 1, retracted_reason = 'misattributed' WHERE id % 7 = 0")
        conn.execute("UPDATE claims SET retracted = 1, retracted_reason = NULL WHERE id % 11 = 0")
        conn.execute("UPDATE claim_links SET retracted = 1, retracted_reason = 'wrong pair' WHERE id % 5 = 0")
        conn.execute("UPDATE claim_links SET retracted = 1 WHERE id % 13 = 0")


def _snapshot(db_path: Path) -> dict[str, Any]:
    """Every view's columns and rows (with each value's storage type), in the view's own order, plus what a
    text filter on its retracted column matches (Datasette sends ?retracted=0 as the text '0')."""
    found: dict[str, Any] = {}
    with closing(sqlite3.connect(db_path)) as conn:
        for view in VIEWS:
            cursor = conn.execute(f"SELECT * FROM {view}")
            cols = [d[0] for d in cursor.description]
            rows = cursor.fetchall()
            types = conn.execute(f"SELECT {', '.join(f'typeof([{c}])' for c in cols)} FROM {view}").fetchall()
            live = conn.execute(f"SELECT count(*) FROM {view} WHERE retracted = '0'").fetchone()[0]
            found[view] = (cols, rows, types, live)
    return found


def _compare_views_across_0004(engine: Engine, db_path: Path) -> None:
    _retract_some(db_path)
    migrate(engine)
    head = _snapshot(db_path)
    downgrade(engine, "0004")
    old = _snapshot(db_path)
    for view in VIEWS:
        assert head[view][1], f"{view} has rows to compare"
        assert head[view] == old[view], view
    migrate(engine)


def test_views_with_joins_equal_0004s_on_the_seeded_scenario(seeded_engine: Engine, db_path: Path) -> None:
    _compare_views_across_0004(seeded_engine, db_path)


def test_views_with_joins_equal_0004s_on_a_generated_archive(engine: Engine, db_path: Path) -> None:
    generate(engine, claims=3000, seed=3)
    _compare_views_across_0004(engine, db_path)


def test_readable_links_look_each_statement_up_once(engine: Engine, db_path: Path) -> None:
    """The plan of a full SELECT of claim_links_readable: one pass over the links, each statement, speaker and
    event found by primary key, and only the two source lists as subqueries (0004 ran 17 per row)."""
    with closing(sqlite3.connect(db_path)) as conn:
        plan = [row[3] for row in conn.execute("EXPLAIN QUERY PLAN SELECT * FROM claim_links_readable")]
    assert sum("CORRELATED SCALAR SUBQUERY" in step for step in plan) == 2, plan
    assert any(step.startswith("SCAN l") for step in plan), plan


# --- the one-pass CSV export against stock Datasette --------------------------------------------------

TABLES = ("speakers", "events", "sources", "claims", "claim_sources", "claim_links", "change_history")
STREAM = "_stream=on&_size=max"


@dataclasses.dataclass
class Pair:
    fast: Any  # the ASGI app users get
    stock: Any  # the same app with "fast_csv": false: every export by stock Datasette


def _pair(db: Path, folder: Path) -> Pair:
    metadata = json.loads(METADATA_PATH.read_text(encoding="utf-8"))
    metadata.setdefault("plugins", {}).setdefault("claimtrack", {})["fast_csv"] = False
    stock_metadata = folder / "stock-metadata.json"
    stock_metadata.write_text(json.dumps(metadata), encoding="utf-8")
    apps = []
    for path in (METADATA_PATH, stock_metadata):
        settings = dataclasses.replace(Settings.from_env(), db_path=db, metadata_path=path)
        apps.append(create_asgi_app(make_flask(db), settings))
    return Pair(*apps)


def call(app: Any, url: str) -> tuple[int, dict[str, str], bytes, int]:
    """GET ``url`` straight through the ASGI app: status, headers, the whole body, and how many body
    messages carried it (stock Datasette sends one per row)."""
    path, _, query = url.partition("?")
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": query.encode(),
        "root_path": "",
        "headers": [(b"host", b"testserver")],
        "client": ("127.0.0.1", 1),
        "server": ("testserver", 80),
    }
    messages: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        messages.append(message)

    asyncio.run(app(scope, receive, send))
    start = messages[0]
    headers = {k.decode().lower(): v.decode() for k, v in start.get("headers", [])}
    bodies = [m.get("body", b"") for m in messages[1:] if m["type"] == "http.response.body"]
    return start["status"], headers, b"".join(bodies), sum(1 for b in bodies if b)


@pytest.fixture(scope="module")
def archive(tmp_path_factory: pytest.TempPathFactory, db_templates: Templates) -> Iterator[tuple[Path, Pair]]:
    """The seeded scenario plus 2,500 generated claims (several 1,000-row pages), some retracted."""
    folder = tmp_path_factory.mktemp("exports")
    db = seeded_copy(db_templates, folder)
    engine = make_engine(db)
    generate(engine, claims=2_500, seed=5)
    engine.dispose()
    _retract_some(db)
    with closing(sqlite3.connect(db)) as conn, conn:
        # Cells a spreadsheet would run, and an empty foreign key for _labels.
        conn.execute("UPDATE claims SET text = '=HYPERLINK(\"http://x\")' || text WHERE id % 97 = 1")
        conn.execute("UPDATE claim_links SET note = '-' || coalesce(note, 'x') WHERE id % 3 = 0")
        conn.execute("UPDATE claims SET event_id = NULL WHERE id % 89 = 0")
        # Bytes that are not UTF-8 (the app never writes them; Datasette shows them as U+FFFD).
        conn.execute("UPDATE claims SET context = CAST(X'41FF42' AS TEXT) WHERE id = 1500")
        # Cells the csv module quotes, guards or writes in its own way: every one must come out as stock's.
        for claim_id, text in enumerate(HOSTILE_TEXTS, start=1600):
            conn.execute(
                "UPDATE claims SET text = ?, context = ?, verdict_rationale = ? WHERE id = ?",
                (text, text, "", claim_id),
            )
        conn.execute("UPDATE claim_links SET note = ? WHERE id = 40", (HOSTILE_TEXTS[0],))
        # Big integers, negative ones and REAL values (an INTEGER column keeps a float that is not whole).
        numbers = (2**63 - 1, -(2**63), -5, 0.30000000000000004, -2.5, 1e20, 1234567890123456.7, 1e-7)
        for claim_id, number in enumerate(numbers, start=1700):
            conn.execute("UPDATE claims SET version = ? WHERE id = ?", (number, claim_id))
    yield db, _pair(db, folder)


HOSTILE_TEXTS = (
    'He said "no", then left',
    "=1+1",
    "+44 20 7946 0000",
    "-not a number",
    "@someone",
    "\tindented",
    "\rstarts with a carriage return",
    "line one\nline two",
    "ends with a carriage return\r",
    "a, b and c",
    '"',
    '""',
    ",",
    " leading and trailing spaces ",
    "'already quoted",
    "حلب: اكتمل الإخلاء",
    "naïve café ✓ 🚀",
    '="quoted formula", too',
    "x\r\n=y",
    "semi;colon|pipe\\backslash",
    "2015-10-29",
    ">quoted reply",
    ":-)",
    "?",
    # A quote without a comma, with and without a formula trigger; a trigger and a comma without a quote; the
    # edges of the digit test (a value from "0" to ":" starts with no trigger).
    'say "when"',
    '=HYPERLINK("x")',
    "-1,5",
    ":",
    "0",
    "9:30",
)

EXPORTS = (
    [f"/data/claimtrack/{name}.csv?{STREAM}" for name in TABLES + VIEWS]
    + [f"/data/claimtrack/{name}.csv?{STREAM}&_labels=on" for name in TABLES]
    + [
        "/data/claimtrack/claims.csv?_stream=on&_bom=1&_dl=1",
        f"/data/claimtrack/claims.csv?{STREAM}&event_id=1&_labels=on",
        f"/data/claimtrack/claims.csv?{STREAM}&_search=evacuation",
        f"/data/claimtrack/claims.csv?{STREAM}&_sort_desc=id",
        f"/data/claimtrack/claims.csv?{STREAM}&retracted=0&verdict__not=false",
        f"/data/claimtrack/claim_links.csv?{STREAM}&relation=contradicts&to_claim_id__gte=100",
        f"/data/claimtrack/claim_links_readable.csv?{STREAM}&claim_id=1",
        f"/data/claimtrack/claim_links_readable.csv?{STREAM}&other_id__lt=100&_dl=1",
        f"/data/claimtrack/claim_links_readable.csv?{STREAM}&retracted=0&relation=contradicts",
        f"/data/claimtrack/contested_claims.csv?{STREAM}&contradicting_statements__gte=2",
        f"/data/claimtrack/event_timeline.csv?{STREAM}&event_id=1",
        f"/data/claimtrack/speaker_claims.csv?{STREAM}&_search=evacuation&_bom=1",
        "/data/claimtrack/speaker_claims.csv?_stream=on&speaker_kind=government_body&_sort=claim_id",
        f"/data/claimtrack/speakers.csv?{STREAM}&_search=ministry",
    ]
)


@pytest.mark.parametrize("url", EXPORTS)
def test_one_pass_export_is_byte_for_byte_stock_datasettes(archive: tuple[Path, Pair], url: str) -> None:
    _, pair = archive
    status, headers, body, messages = call(pair.fast, url)
    stock_status, stock_headers, stock_body, stock_messages = call(pair.stock, url)
    assert status == stock_status == 200, (status, stock_status, body[:300])
    assert headers.get("content-type") == stock_headers.get("content-type")
    assert headers.get("content-disposition") == stock_headers.get("content-disposition")
    assert body == stock_body
    assert body.count(b"\n") > 1, "the export has rows"
    # One pass, in chunks of about 64 KB: far fewer messages than Datasette's one per row.
    assert messages <= len(body) // (32 * 1024) + 2 < stock_messages or stock_messages <= 3


@pytest.fixture(params=[1, 2], ids=["one reader", "two readers"])
def readers(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> int:
    """How many readers write a whole table's pages (exports.READERS: 2 where two cores are free)."""
    monkeypatch.setattr(exports, "READERS", request.param)
    return int(request.param)


@pytest.mark.parametrize("order", ["", "&_sort_desc=id", "&_sort=id&_labels=off"])
@pytest.mark.parametrize("table", TABLES)
def test_whole_tables_are_stocks_byte_for_byte_with_one_or_two_readers(
    archive: tuple[Path, Pair], readers: int, table: str, order: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Read in pages of 30 rows by one reader, or by two readers taking every other page."""
    _, pair = archive
    url = f"/data/claimtrack/{table}.csv?{STREAM}{order}"
    _, _, stock, _ = call(pair.stock, url)
    monkeypatch.setattr(exports, "FETCH_ROWS", 30)
    status, _, body, _ = call(pair.fast, url)
    assert status == 200
    assert body == stock
    assert body.count(b"\r\n") > 2


def _pages_counted(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """A list that gets an item each time a page of lines is read (Pages.joined)."""
    pages: list[int] = []
    joined = exports.Pages.joined

    def counted(self: exports.Pages, rows: str) -> str:
        pages.append(1)
        return joined(self, rows)

    monkeypatch.setattr(exports.Pages, "joined", counted)
    return pages


@pytest.mark.parametrize("descending", [False, True], ids=["ascending", "descending"])
@pytest.mark.parametrize("view", sorted(exports.VIEW_KEYS))
def test_views_with_a_key_are_stocks_byte_for_byte_with_one_or_two_readers(
    archive: tuple[Path, Pair], readers: int, view: str, descending: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A view whose rows are one per row of a table, in the order of that table's key, is read in pages of
    ranges of the key (their bounds from the table), by one reader or two."""
    _, pair = archive
    key = exports.VIEW_KEYS[view].column
    url = f"/data/claimtrack/{view}.csv?{STREAM}" + (f"&_sort_desc={key}" if descending else "")
    _, _, stock, _ = call(pair.stock, url)
    monkeypatch.setattr(exports, "FETCH_ROWS", 30)
    pages = _pages_counted(monkeypatch)
    status, _, body, _ = call(pair.fast, url)
    assert status == 200
    assert body == stock
    assert len(pages) >= body.count(b"\r\n") // 30, "read a page at a time"


def test_view_keys_are_their_tables_keys_once_per_row_and_searched_by_rowid(archive: tuple[Path, Pair]) -> None:
    db, _ = archive
    with closing(sqlite3.connect(db)) as conn:
        for view, key in exports.VIEW_KEYS.items():
            in_view = [r[0] for r in conn.execute(f"SELECT {key.column} FROM {view} ORDER BY {key.column}")]
            in_table = [r[0] for r in conn.execute(f"SELECT {key.table_column} FROM {key.table} ORDER BY 1")]
            assert in_view == in_table, view
            plan = " | ".join(
                row[3]
                for row in conn.execute(
                    f"EXPLAIN QUERY PLAN SELECT * FROM {view} WHERE {key.column} > 1 AND {key.column} <= 100 "
                    f"ORDER BY {key.column}"
                )
            )
            # The outer loop: a range of the table's rowid.
            assert plan.split(" | ")[0].endswith(" USING INTEGER PRIMARY KEY (rowid>? AND rowid<?)"), plan
            assert "TEMP B-TREE" not in plan, plan


def test_a_view_that_leaves_whole_pages_of_keys_out_is_read_whole(
    archive: tuple[Path, Pair], readers: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Pages of keys with no row in the view (ids 100-400 here) are skipped, not taken for the end."""
    db, pair = archive
    with closing(sqlite3.connect(db)) as conn:
        conn.execute("CREATE VIEW some_claims AS SELECT * FROM claims WHERE id NOT BETWEEN 100 AND 400")
    try:
        monkeypatch.setitem(exports.VIEW_KEYS, "some_claims", exports.ViewKey("id", "claims", "id"))
        url = f"/data/claimtrack/some_claims.csv?{STREAM}&_sort=id"
        _, _, stock, _ = call(pair.stock, url)
        monkeypatch.setattr(exports, "FETCH_ROWS", 30)
        pages = _pages_counted(monkeypatch)
        status, _, body, _ = call(pair.fast, url)
        assert status == 200
        assert body == stock
        assert pages, "read a page at a time"
        with closing(sqlite3.connect(db)) as conn:
            (expected,) = conn.execute("SELECT count(*) FROM some_claims").fetchone()
        rows = list(csv.reader(io.StringIO(body.decode("utf-8", "replace"), newline="")))
        assert len(rows) == expected + 1
    finally:
        with closing(sqlite3.connect(db)) as conn:
            conn.execute("DROP VIEW some_claims")


@pytest.mark.parametrize("rows", [0, 1, 30, 31, 61])
def test_small_tables_with_one_or_two_readers(
    archive: tuple[Path, Pair], readers: int, rows: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No row (the heading alone), fewer rows than a page, and the edges of pages of 30 rows."""
    db, pair = archive
    with closing(sqlite3.connect(db)) as conn, conn:
        conn.execute("CREATE TABLE few (id INTEGER PRIMARY KEY, name TEXT)")
        conn.executemany("INSERT INTO few (name) VALUES (?)", [(f"row {i}",) for i in range(rows)])
    try:
        url = f"/data/claimtrack/few.csv?{STREAM}"
        _, _, stock, _ = call(pair.stock, url)
        monkeypatch.setattr(exports, "FETCH_ROWS", 30)
        status, _, body, _ = call(pair.fast, url)
        assert (status, body) == (200, stock)
        assert body.count(b"\r\n") == rows + 1
    finally:
        with closing(sqlite3.connect(db)) as conn:
            conn.execute("DROP TABLE few")


def _claim_stream_starts(monkeypatch: pytest.MonkeyPatch, between: Any) -> list[tuple[int, int]]:
    """Record each reader that starts (its number, and how many readers its export has), calling
    ``between(started)`` after each one has read its first page."""
    started: list[tuple[int, int]] = []
    original = exports._Stream.__init__

    def start(self: exports._Stream, *args: Any, **kwargs: Any) -> None:
        original(self, *args, **kwargs)
        started.append((self.reader, self.readers))
        between(started)

    monkeypatch.setattr(exports._Stream, "__init__", start)
    return started


def _edit_two_pages(db: Path, value: str) -> None:
    """One commit changing a claim of the first page of 30 rows and one of the second."""
    with closing(sqlite3.connect(db)) as conn, conn:
        conn.execute("UPDATE claims SET translated_by = ? WHERE id IN (3, 40)", (value,))


def _two_pages_as_exported(body: bytes) -> set[bytes]:
    rows = list(csv.reader(body.decode("utf-8").splitlines()))
    column = rows[0].index("translated_by")
    return {row[column].encode() for row in rows[1:] if row[0] in ("3", "40")}


def test_two_readers_read_one_snapshot_when_a_write_comes_between_their_starts(
    archive: tuple[Path, Pair], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A commit after the first reader's snapshot and before the second's: both start again, on the new one.
    Without that, the first page would show the old value and the second the new."""
    db, pair = archive
    monkeypatch.setattr(exports, "READERS", 2)
    monkeypatch.setattr(exports, "FETCH_ROWS", 30)
    try:
        _edit_two_pages(db, "before")

        def write_once(started: list[tuple[int, int]]) -> None:
            if len(started) == 1:
                _edit_two_pages(db, "after")

        started = _claim_stream_starts(monkeypatch, write_once)
        status, _, body, _ = call(pair.fast, f"/data/claimtrack/claims.csv?{STREAM}")
        assert status == 200
        assert started == [(0, 2), (1, 2), (0, 2), (1, 2)], "opened twice: the second time on one snapshot"
        assert _two_pages_as_exported(body) == {b"after"}
    finally:
        _edit_two_pages(db, "")


def test_an_export_read_while_writes_keep_coming_falls_back_to_one_reader(
    archive: tuple[Path, Pair], monkeypatch: pytest.MonkeyPatch
) -> None:
    db, pair = archive
    monkeypatch.setattr(exports, "READERS", 2)
    monkeypatch.setattr(exports, "FETCH_ROWS", 30)
    try:
        writes = iter(range(100))

        def write_each_time(started: list[tuple[int, int]]) -> None:
            if started[-1] == (0, 2):
                _edit_two_pages(db, f"write {next(writes)}")

        started = _claim_stream_starts(monkeypatch, write_each_time)
        status, _, body, _ = call(pair.fast, f"/data/claimtrack/claims.csv?{STREAM}")
        assert status == 200
        assert started == [(0, 2), (1, 2)] * exports.SNAPSHOT_ATTEMPTS + [(0, 1)]
        last = f"write {exports.SNAPSHOT_ATTEMPTS - 1}".encode()
        assert _two_pages_as_exported(body) == {last}, "one reader: one snapshot"
    finally:
        _edit_two_pages(db, "")


@pytest.mark.skipif(sys.platform != "linux", reason="a thread's own niceness is Linux's")
def test_readers_yield_the_cores_to_requests(archive: tuple[Path, Pair], monkeypatch: pytest.MonkeyPatch) -> None:
    _, pair = archive
    monkeypatch.setattr(exports, "READERS", 2)
    niceness: list[int] = []
    original = exports.yield_to_requests

    def recorded() -> None:
        original()
        niceness.append(os.getpriority(os.PRIO_PROCESS, threading.get_native_id()))

    monkeypatch.setattr(exports, "yield_to_requests", recorded)
    status, _, _, _ = call(pair.fast, f"/data/claimtrack/claims.csv?{STREAM}")
    assert status == 200
    assert niceness == [exports.READER_NICENESS] * 2
    assert os.getpriority(os.PRIO_PROCESS, threading.get_native_id()) == 0, "the request's own thread is untouched"


def test_every_row_of_a_big_export_comes_once_in_order(archive: tuple[Path, Pair], readers: int) -> None:
    db, pair = archive
    _, _, body, messages = call(pair.fast, f"/data/claimtrack/claims.csv?{STREAM}")
    ids = [int(line.split(b",", 1)[0]) for line in body.splitlines()[1:] if line[:1].isdigit()]
    with closing(sqlite3.connect(db)) as conn:
        expected = [r[0] for r in conn.execute("SELECT id FROM claims ORDER BY id")]
    assert ids[0] == expected[0] and ids[-1] == expected[-1]
    assert sorted(set(ids)) == expected
    assert messages > 1, "streamed in several chunks"


@pytest.mark.parametrize(
    "url",
    [
        "/data/claimtrack/claims.csv?_stream=on&_where=id%3C5",  # not handled here: stock Datasette
        "/data/claimtrack/claims.csv?_stream=on&_size=nope",  # stock's 400
        "/data/claimtrack/claims.csv?_stream=on&_sort=nosuchcolumn",
        "/data/claimtrack/claims_fts_data.csv?_stream=on",  # not visible to anyone
        "/data/claimtrack/nosuchtable.csv?_stream=on",
        "/data/claimtrack/claims.csv?_stream=on&_search=%22",  # an FTS syntax error
        "/data/claimtrack/claims.csv?_size=10",  # not streamed: one page
    ],
)
def test_what_the_one_pass_export_does_not_handle_is_answered_as_before(archive: tuple[Path, Pair], url: str) -> None:
    _, pair = archive
    status, headers, body, _ = call(pair.fast, url)
    stock_status, stock_headers, stock_body, _ = call(pair.stock, url)
    assert (status, headers.get("content-type"), body) == (stock_status, stock_headers.get("content-type"), stock_body)


def test_a_sort_with_ties_orders_them_by_primary_key(archive: tuple[Path, Pair]) -> None:
    """Stock Datasette orders ties of a non-unique sort one way on its first page (the index's) and by
    primary key on the next ones, and its keyset pages over a column with empty values skip rows; the
    one-pass export orders ties by primary key throughout and has every row (stock's among them)."""
    db, pair = archive
    url = f"/data/claimtrack/claims.csv?{STREAM}&_sort_desc=stated_on"
    _, _, body, _ = call(pair.fast, url)
    _, _, stock_body, _ = call(pair.stock, url)
    lines, stock_lines = body.split(b"\r\n"), stock_body.split(b"\r\n")
    assert lines[0] == stock_lines[0] and set(stock_lines) <= set(lines)
    with closing(sqlite3.connect(db)) as conn:
        expected = [r[0] for r in conn.execute("SELECT id FROM claims ORDER BY stated_on DESC, id")]
    ids = [int(line.split(b",", 1)[0]) for line in lines[1:] if line[:1].isdigit()]
    assert ids == expected


def _export_with(app: Any, url: str, on_body: Any) -> list[bytes]:
    """The body chunks of ``url``; ``on_body(chunks, client_gone)`` runs after each one is sent, and may set
    ``client_gone`` (an asyncio.Event) to make the request's receive() report a disconnect, as servers do."""
    path, _, query = url.partition("?")
    scope = {
        "type": "http",
        "method": "GET",
        "path": path,
        "raw_path": path.encode(),
        "query_string": query.encode(),
        "headers": [(b"host", b"testserver")],
    }
    chunks: list[bytes] = []

    async def run() -> None:
        client_gone = asyncio.Event()
        requested = False

        async def receive() -> dict[str, Any]:
            nonlocal requested
            if not requested:
                requested = True
                return {"type": "http.request", "body": b"", "more_body": False}
            await client_gone.wait()
            return {"type": "http.disconnect"}

        async def send(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.body" and message.get("body"):
                chunks.append(message["body"])
                await on_body(chunks, client_gone)

        await app(scope, receive, send)

    asyncio.run(run())
    return chunks


def _export_threads() -> list[str]:
    return [t.name for t in threading.enumerate() if t.name.startswith("claimtrack-csv")]


def test_an_export_stops_reading_when_its_client_goes_away(archive: tuple[Path, Pair], readers: int) -> None:
    _, pair = archive
    url = f"/data/claimtrack/claims.csv?{STREAM}"
    _, _, whole, _ = call(pair.fast, url)

    async def leave_after_first(chunks: list[bytes], client_gone: asyncio.Event) -> None:
        client_gone.set()
        await asyncio.sleep(0.2)  # time for the server to notice, as it would between two sends

    chunks = _export_with(pair.fast, url, leave_after_first)
    assert whole.startswith(b"".join(chunks))
    assert len(chunks) == 1 < whole.count(b"\n") // 1000, "nothing more was read and sent after the client left"
    assert _export_threads() == [], "the export's threads ended with it"


def test_a_slow_client_gets_every_row(
    archive: tuple[Path, Pair], readers: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Reading runs ahead of a slow client only by a few chunks, then waits for it: nothing is skipped."""
    _, pair = archive
    # Many chunks from the small archive.
    monkeypatch.setattr(exports, "CHUNK_BYTES", 8 * 1024)
    monkeypatch.setattr(exports, "FETCH_ROWS", 20)
    url = f"/data/claimtrack/claims.csv?{STREAM}&_labels=on"
    _, _, whole, _ = call(pair.fast, url)

    async def slowly(chunks: list[bytes], client_gone: asyncio.Event) -> None:
        await asyncio.sleep(0.02)

    chunks = _export_with(pair.fast, url, slowly)
    assert len(chunks) > 4 * exports.READ_AHEAD_CHUNKS, "many more chunks than are read ahead"
    assert b"".join(chunks) == whole
    assert _export_threads() == []


@pytest.mark.parametrize("order", ["", "&_sort_desc=id"])
def test_a_whole_table_is_read_in_pages_whatever_their_lines_hold(
    archive: tuple[Path, Pair], monkeypatch: pytest.MonkeyPatch, order: str, readers: int
) -> None:
    """A whole table in its key's order is read a page of rows at a time: pages too long for one SQLite value
    are read in fewer rows, and pages with a line break in a cell line by line; the bytes are the same."""
    _, pair = archive
    url = f"/data/claimtrack/claims.csv?{STREAM}{order}"
    _, _, stock, _ = call(pair.stock, url)
    pages = _pages_counted(monkeypatch)
    # One value may hold 25 KB here: a page of 1,000 claims' lines is several times that.
    monkeypatch.setattr(exports, "_value_limit", lambda cells: 25_000)
    _, _, body, _ = call(pair.fast, url)
    assert body == stock
    rows = body.count(b"\r\n") - 1
    assert len(pages) > rows // exports.FETCH_ROWS + 1, "pages of fewer rows than FETCH_ROWS"


def _written_by_csv_module(rows: list[tuple[Any, ...]]) -> bytes:
    """What Datasette's writer (csv.writer after the spreadsheet-safe rule) writes for ``rows``."""
    pieces: list[str] = []
    writer = csv.writer(exports._Appender(pieces))
    for row in rows:
        writer.writerow([csv_safety.neutralise(cell) for cell in row])
    return "".join(pieces).encode("utf-8")


@pytest.mark.parametrize("declared", ["", "TEXT"])
@pytest.mark.parametrize("width", [1, 2, 130])
def test_lines_written_by_sqlite_are_the_csv_modules(width: int, declared: str) -> None:
    """Every kind of value SQLite can hold, alone in its row, beside others (an INTEGER PRIMARY KEY first), and
    in a row wider than printf's argument limit, in columns of no type and in TEXT columns (which keep text,
    blobs and NULL): the lines SQLite writes, joined by join_lines, are the ones the csv module writes."""
    values: list[Any] = [None, "", 0, -5, 2**63 - 1, -(2**63), 0.30000000000000004, -2.5, 1e20, 1e-7, b"A\xffB"]
    values += list(HOSTILE_TEXTS)
    with closing(sqlite3.connect(":memory:")) as conn:
        conn.create_function(exports._PYTHON_CELL, 1, exports._python_cell, deterministic=True)
        columns = [f"c{i}" for i in range(width)]
        conn.execute(f"CREATE TABLE t (id INTEGER PRIMARY KEY, {', '.join(f'{c} {declared}' for c in columns)})")
        rows = [tuple(values[(n + i) % len(values)] for i in range(width)) for n in range(len(values))]
        conn.executemany(f"INSERT INTO t ({', '.join(columns)}) VALUES ({', '.join('?' * width)})", rows)
        kinds = exports.column_kinds(conn, "t")
        assert kinds == {"id": "rowid"} | ({c: "text" for c in columns} if declared else {})
        # A lone cell is written on its own (an empty one as '""'); wider rows start with the key.
        written = columns if width == 1 else ["id", *columns]
        stored = conn.execute(f"SELECT {', '.join(written)} FROM t ORDER BY id").fetchall()
        conn.text_factory = bytes
        line = exports._line([exports._cell(f"t.{c}", kinds.get(c, "any")) for c in written])
        lines = [r[0] for r in conn.execute(f"SELECT {line} FROM t ORDER BY id")]
    assert exports.join_lines(lines) == _written_by_csv_module(stored)


def test_column_kinds_promise_only_what_sqlite_stores() -> None:
    """A column is "text" or "rowid" only when SQLite itself keeps every other type out of it: checked by
    storing every type in every column of tables declared in the ways that matter."""
    tables = {
        "typed": "(id INTEGER PRIMARY KEY, t TEXT, v VARCHAR(10), c CLOB, n NATIVE CHARACTER(70), ci CHARINT, "
        "i INT, r REAL, b BLOB, x, num NUMERIC)",
        "key_desc": "(id INTEGER PRIMARY KEY DESC, t text)",
        "key_desc_constraint": "(id INTEGER, t, PRIMARY KEY (id DESC))",
        "no_rowid": "(id INTEGER PRIMARY KEY, t TEXT) WITHOUT ROWID",
        "int_key": "(id INT PRIMARY KEY, t TEXT)",
        "two_keys": "(id INTEGER, k INTEGER, PRIMARY KEY (id, k))",
    }
    expected = {
        "typed": {"id": "rowid", "t": "text", "v": "text", "c": "text", "n": "text"},
        "key_desc": {"t": "text"},
        "key_desc_constraint": {"id": "rowid"},
        "no_rowid": {"t": "text"},
        "int_key": {"t": "text"},
        "two_keys": {},
    }
    allowed = {"text": {"text", "blob", "null"}, "rowid": {"integer"}}
    with closing(sqlite3.connect(":memory:")) as conn:
        conn.execute("CREATE VIRTUAL TABLE search USING fts5(t)")
        assert exports.column_kinds(conn, "search") == {}
        for table, definition in tables.items():
            conn.execute(f"CREATE TABLE {table} {definition}")
            kinds = exports.column_kinds(conn, table)
            assert kinds == expected[table], table
            columns = [r[1] for r in conn.execute(f"PRAGMA table_info({table})")]
            for value in [7, 2.5, 1e20, "12", "x", b"\x00", None]:
                for column in columns:
                    conn.execute(f"DELETE FROM {table}")
                    try:
                        conn.execute(f"INSERT INTO {table} ({column}) VALUES (?)", (value,))
                    except sqlite3.IntegrityError:  # a key that keeps this value out, or a NULL key
                        continue
                    (stored,) = conn.execute(f"SELECT typeof({column}) FROM {table}").fetchone()
                    assert stored in allowed.get(kinds.get(column, ""), {stored}), (table, column, value)


def test_an_exports_time_limit_counts_its_cpu_not_its_wait() -> None:
    # A chunk that waits (here in a sleeping SQL function, as on busy cores it waits for its turn) is not
    # cut short; a chunk that computes past the limit is.
    with closing(sqlite3.connect(":memory:", check_same_thread=False)) as conn:
        conn.create_function("wait", 1, lambda seconds: time.sleep(seconds) or 1)
        watchdog = exports._Watchdog(conn, 0.2)
        try:
            with watchdog.limit():
                assert conn.execute("SELECT wait(0.6)").fetchone() == (1,)
            with watchdog.limit(), pytest.raises(sqlite3.OperationalError, match="interrupted"):
                conn.execute(
                    "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n) SELECT count(*) FROM n"
                ).fetchone()
        finally:
            watchdog.close()

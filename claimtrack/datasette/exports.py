"""Full CSV exports of a table or view in one pass: ``/data/claimtrack/<table or view>.csv?_stream=on``.

Stock Datasette streams a CSV by running its whole table view once per page of at most 1,000 rows (views page
by OFFSET, so a view's export costs the square of its rows) and sends one ASGI message per row. This route
builds the same SELECT Datasette's table view builds (its own ``Filters`` for ``?column=`` and
``?column__op=``, its ``filters_from_request`` hooks for ``_search``, the table's sort then its primary key
as Datasette's keyset pages order rows, ``_labels=on`` as one label column after each foreign key), runs it
once on a read-only connection, and sends it in chunks of about 128 KB.

SQLite writes each row's CSV line itself: the rows' SELECT turns every row into one text value (:func:`_cell`
per column, :func:`_line` joining them), exactly as ``csv.writer`` writes it after the spreadsheet-safe rule
of :mod:`claimtrack.datasette.csv_safety` (a text value starting with a formula trigger gets a ``'``), but for
a cell with a line break and neither a comma nor a quote, which Python quotes (:func:`join_lines`: one count
per chunk finds the rare lines with a line break in a cell). Python only joins the lines' bytes, with no
object per cell; REAL and BLOB cells, which SQLite would print differently, are written by Python
(``_python_cell``). With little Python work per row, the reading thread mostly runs without the GIL, beside
the event loop that sends. The output is byte for byte what stock Datasette writes (tests/test_exports.py).

What a column can hold decides what its cell's SQL tests (:func:`column_kinds`): a column with TEXT affinity
of an ordinary table holds only text, blobs and NULL (SQLite stores numbers as text there), an INTEGER
PRIMARY KEY (the rowid) only integers. A table's line names its columns directly; a view, or a table with
``_labels=on``, is read through a subquery so that each value is computed once (naming a subquery's column
copies its value, which costs more than reading a table's column again).

Reading and writing run in a thread of their own (``_ReadAhead``), at most ``READ_AHEAD_CHUNKS`` chunks ahead
of the response: a slow client holds the reading up instead of letting chunks pile up in memory, and a client
that disconnects ends it. A whole table read in pages has ``READERS`` of them where the machine has two cores
(:func:`open_streams`): each on its own connection, all on one snapshot, each writing every other page, sent
in the table's order (``_InOrder``). They run at a lower CPU priority than requests (:func:`yield_to_requests`),
so a download takes the cores the app leaves. (Two threads in SQLite at once need its memory statistics off:
see claimtrack/allocator.py.)

Anything this route does not handle (other arguments such as ``_where``, ``_col``, ``_next``, ``_trace``;
canned queries; tables the visitor may not see; a query that fails before the first row) is passed to
Datasette unchanged, which answers it as before (its error pages included).

The connection is set up as Datasette's are, with its own bounds (``limits.EXPORT_CONNECTION``: its one
statement is built here, not typed by a visitor), and each chunk must be produced within
``sql_time_limit_ms`` of CPU time (``_Watchdog``), as each of Datasette's pages must be within that time.
"""

from __future__ import annotations

import asyncio
import csv
import os
import re
import sqlite3
import sys
import threading
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass
from typing import Any, Literal
from urllib.parse import parse_qsl

from datasette.filters import Filters
from datasette.plugins import pm
from datasette.utils import await_me_maybe, escape_sqlite, tilde_decode, value_as_boolean
from datasette.utils.asgi import Request
from datasette.views.base import ureg

from claimtrack.datasette import csv_safety, limits

Scope = dict[str, Any]
ASGIApp = Callable[[Scope, Callable[[], Awaitable[Any]], Callable[[Any], Awaitable[None]]], Awaitable[None]]

CHUNK_BYTES = 128 * 1024
FETCH_ROWS = 1000
READ_AHEAD_CHUNKS = 4
# Readers of a whole table, each on a connection and a thread of its own, writing every READERS-th page of it:
# SQLite writes the lines without the GIL, so two readers use two cores (docs/performance.md). More would take
# every core of a larger machine for one download, while the one event loop still sends all of it.
READERS = min(2, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1)
# The niceness of a reader's thread (see yield_to_requests): a request's thread (0) gets about ten times its
# share of a core when both want one.
READER_NICENESS = 10
# How often the readers may find that a write came between the starts of their snapshots before one reader is
# used instead (see open_streams).
SNAPSHOT_ATTEMPTS = 3
# Arguments this route understands; any other argument starting with "_" (and without "__") goes to Datasette.
HANDLED_ARGUMENTS = frozenset(
    {
        "_stream",
        "_size",
        "_labels",
        "_search",
        "_searchmode",
        "_sort",
        "_sort_desc",
        "_dl",
        "_bom",
        "_nofacet",
        "_nocount",
        "_nosuggest",
        "_facet",
        "_facet_size",
    }
)
STREAM_VALUES = frozenset({"on", "1", "true"})
_CSV_PATH = re.compile(r"^/(?P<database>[^/]+)/(?P<table>[^/]+)\.csv$")
# csv_safety.FORMULA_TRIGGERS as code points: the same test, run by SQLite.
_TRIGGER_CODES = ", ".join(str(ord(t)) for t in csv_safety.FORMULA_TRIGGERS)
# Every trigger sorts before "A" and none is a digit: comparisons spare words, dates and times the unicode()
# call (which copies the value to end it with a NUL).
assert all(t < "A" and not "0" <= t <= ":" for t in csv_safety.FORMULA_TRIGGERS)
# What makes csv.writer (Datasette's dialect: excel, QUOTE_MINIMAL, "\r\n") quote a cell: the delimiter, the
# quote character, either character of the line terminator. The SQL tests the first two, one GLOB each (with a
# plain character after "*" SQLite looks for it with strcspn(), where one "[...]" class is matched character
# by character); line breaks are rare, and looked for once per chunk instead (join_lines).
_QUOTED_CHARACTERS = (",", '"')
# SQLite's printf takes at most 127 arguments: wider rows are written in groups of this many cells.
_CELLS_PER_PRINTF = 100
# REAL and BLOB cells are written by Python: SQLite prints floats with 15 digits where Python writes the
# shortest text that reads back as the same float, and blobs as raw bytes.
_PYTHON_CELL = "claimtrack_csv_cell"

# What a column's values can be, which decides what its cell's SQL must test:
# "any": every type (a view's columns, a virtual table's, a column without TEXT affinity);
# "text": text, a blob or NULL (a column with TEXT affinity of an ordinary table);
# "rowid": an integer (the rowid, or the INTEGER PRIMARY KEY that names it).
CellKind = Literal["any", "text", "rowid"]


class _Appender:
    """A file for ``csv.writer`` that keeps each row's text in a list."""

    def __init__(self, pieces: list[str]) -> None:
        self.write = pieces.append


def _python_cell(value: Any) -> str:
    """One cell as csv.writer writes it (a REAL or BLOB value: numbers and bytes are never neutralised)."""
    pieces: list[str] = []
    # A second, empty cell: csv.writer writes a row of one empty cell as '""'; this cell is never alone.
    csv.writer(_Appender(pieces), lineterminator="").writerow([csv_safety.neutralise(value), ""])
    return pieces[0][:-1]


def _text_cell(value: str) -> str:
    """SQL writing ``value``, a text value, as csv.writer writes it after :func:`csv_safety.neutralise`: with a
    ``'`` in front of a formula trigger, and in double quotes (its own doubled) when it holds a comma or a quote
    (a line break without either is quoted by :func:`join_lines`)."""
    # BETWEEN reads the value once for both of its comparisons (dates and times start with a digit).
    trigger = f"{value} < 'A' AND {value} NOT BETWEEN '0' AND ':' AND unicode({value}) IN ({_TRIGGER_CODES})"

    def quoted(text: str) -> str:
        return f"CASE WHEN {trigger} THEN printf('\"''{text}\"', {value}) ELSE printf('\"{text}\"', {value}) END"

    # The quote first: a value with a comma and no quote is then copied whole (%s) instead of character by
    # character looking for quotes to double (%w).
    comma, quote = _QUOTED_CHARACTERS
    return (
        f"CASE WHEN {value} GLOB '*{quote}*' THEN {quoted('%w')} WHEN {value} GLOB '*{comma}*' THEN {quoted('%s')} "
        f"WHEN {trigger} THEN '''' || {value} ELSE {value} END"
    )


def _cell(value: str, kind: CellKind = "any") -> str:
    """SQL that writes ``value`` (a column of the rows' SELECT that holds what ``kind`` says) as csv.writer
    writes it after :func:`csv_safety.neutralise`: NULL as nothing, integers as they are, text as
    :func:`_text_cell` writes it, REAL and BLOB values by Python."""
    if kind == "rowid":
        return value
    if kind == "text":
        # Every text sorts before every blob in SQLite: one comparison, no typeof() call, tells them apart.
        # NULL first: about half the cells of a claim are empty, and the test of a NULL is one jump.
        return (
            f"CASE WHEN {value} IS NULL THEN NULL WHEN {value} < X'' THEN {_text_cell(value)} "
            f"ELSE {_PYTHON_CELL}({value}) END"
        )
    # One typeof() for every type: in a subquery's column each mention of the value copies it.
    return (
        f"CASE typeof({value}) WHEN 'integer' THEN {value} WHEN 'text' THEN {_text_cell(value)} "
        f"WHEN 'null' THEN NULL ELSE {_PYTHON_CELL}({value}) END"
    )


def _line(cells: list[str]) -> str:
    """SQL joining ``cells`` with commas into one CSV line (printf's %s writes NULL as nothing)."""
    if len(cells) > _CELLS_PER_PRINTF:
        groups = [cells[i : i + _CELLS_PER_PRINTF] for i in range(0, len(cells), _CELLS_PER_PRINTF)]
        return _line([_line(group) for group in groups])
    line = "printf('{}', {})".format(",".join(["%s"] * len(cells)), ", ".join(cells))
    # csv.writer quotes the one cell of a row when it is empty, so that the line is not blank.
    return line if len(cells) > 1 else f"CASE WHEN {line} = '' THEN '\"\"' ELSE {line} END"


# A quoted cell of a line written by _line: its own quotes are doubled. Any other cell holds no comma and no
# quote, so it ends at the next comma.
_QUOTED_CELL = re.compile(rb'"(?:[^"]++|"")*+(?:"|$)')


def _quote_line_breaks(line: bytes) -> bytes:
    """``line`` (written by :func:`_line`) with each unquoted cell that holds a CR or LF put in double quotes,
    as csv.writer quotes it."""
    cells: list[bytes] = []
    start = 0
    while True:
        quoted = _QUOTED_CELL.match(line, start) if line.startswith(b'"', start) else None
        if quoted is not None:
            end = quoted.end()
            cells.append(line[start:end])
        else:
            end = line.find(b",", start)
            end = len(line) if end < 0 else end
            cell = line[start:end]
            cells.append(b'"' + cell + b'"' if b"\r" in cell or b"\n" in cell else cell)
        if end >= len(line):
            return b",".join(cells)
        start = end + 1


def join_lines(lines: list[bytes]) -> bytes:
    """Lines written by :func:`_line`, each ended by CRLF as csv.writer ends it, with line breaks in cells quoted."""
    # Nearly every chunk has no line break in a cell: its lines joined without their ends have no CR or LF.
    # `in` looks with memchr(), five times faster here than bytes.count() on the joined lines.
    cells = b"".join(lines)
    if b"\n" in cells or b"\r" in cells:
        lines = [_quote_line_breaks(line) for line in lines]
    return b"\r\n".join(lines) + b"\r\n"


def column_kinds(conn: sqlite3.Connection, table: str) -> dict[str, CellKind]:
    """What the columns of ``table`` can hold, from how it is declared (a column not named here: "any").

    Only an ordinary table applies its columns' affinity to what it stores (a virtual table returns what it
    likes): a column with TEXT affinity (a declared type with CHAR, CLOB or TEXT and without INT: SQLite's own
    rule) stores numbers as text. A lone INTEGER primary key without an index of its own is the rowid, always
    an integer (``INTEGER PRIMARY KEY DESC`` in a column's definition, and WITHOUT ROWID tables, have one).
    """
    quoted = escape_sqlite(table)
    row = conn.execute("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = ?", [table]).fetchone()
    if row is None or not row[0] or row[0].lstrip().upper().startswith("CREATE VIRTUAL"):
        return {}
    columns = conn.execute(f"PRAGMA table_xinfo({quoted})").fetchall()
    kinds: dict[str, CellKind] = {}
    for _, name, declared, *_ in columns:
        declared = (declared or "").upper()
        if "INT" not in declared and any(word in declared for word in ("CHAR", "CLOB", "TEXT")):
            kinds[name] = "text"
    keys = [(name, (declared or "").upper()) for _, name, declared, _, _, pk, *_ in columns if pk]
    key_index = any(index[3] == "pk" for index in conn.execute(f"PRAGMA index_list({quoted})"))
    if len(keys) == 1 and keys[0][1] == "INTEGER" and not key_index:
        kinds[keys[0][0]] = "rowid"
    return kinds


# Where a page's bounds go in the SQL of Pages: no SQL text can hold a NUL (sqlite3 refuses it), so no table or
# column name in it can be mistaken for the mark.
BOUNDS = "\0"


@dataclass(frozen=True)
class ViewKey:
    """A view column that is a table's INTEGER PRIMARY KEY, once per row: the view is read in its order a page at
    a time, each page a range of the key (SQLite searches the table's rowid for it), like a table."""

    column: str
    table: str
    table_column: str


# The views whose rows are one per row of a table, with that table's key (checked in tests/test_exports.py:
# every key once, in the table's order, and a range of it searched by rowid).
VIEW_KEYS = {
    "claim_links_readable": ViewKey("link_id", "claim_links", "id"),
    "speaker_claims": ViewKey("claim_id", "claims", "id"),
}


@dataclass(frozen=True)
class Pages:
    """A whole table (or a view with a ``ViewKey``) in its key's order, read a page of rows at a time, each
    page's lines in one value.

    ``rows`` selects, as ``k`` (the key) and ``l`` (the line), at most ``:claimtrack_rows`` rows in the key's
    order, with ``BOUNDS`` where :meth:`bounded` puts the page's bounds on ``column``: past
    ``:claimtrack_after`` (unless it is the first page), and up to ``:claimtrack_last`` when the page's last key
    is known. ``keys`` selects the keys alone, the same way on ``key_column`` (of a view: its table's), for
    :meth:`boundary`.
    """

    rows: str
    keys: str
    column: str
    key_column: str
    descending: bool

    def bounded(self, sql: str, after: bool, last: bool, column: str | None = None) -> str:
        column = column or self.column
        past, up_to = ("<", ">=") if self.descending else (">", "<=")
        bounds = [f"{column} {past} :claimtrack_after"] * after + [f"{column} {up_to} :claimtrack_last"] * last
        return sql.replace(BOUNDS, f" WHERE {' AND '.join(bounds)}" if bounds else "")

    def joined(self, rows: str) -> str:
        """SQL for one page: its last key, its number of rows, and its lines joined by NUL."""
        last = "min" if self.descending else "max"
        return f"SELECT {last}(k), count(*), group_concat(l, char(0)) FROM ({rows})"

    def lines(self, rows: str) -> str:
        """SQL for the same page's lines, one row each."""
        return f"SELECT l FROM ({rows})"

    def boundary(self, after: bool) -> str:
        """SQL for the last key of the next page of ``:claimtrack_rows`` keys, and how many keys it has: the keys
        alone, without the lines, to find where a page another reader writes ends."""
        last = "min" if self.descending else "max"
        keys = self.bounded(self.keys, after, last=False, column=self.key_column)
        return f"SELECT {last}(k), count(*) FROM ({keys})"


@dataclass(frozen=True)
class Export:
    headings: list[str]
    sql: str  # one text value per row: its CSV line
    params: dict[str, Any]
    filename: str
    download: bool
    pages: Pages | None = None  # the same rows a page at a time, in the order of a table's (or view's) key


def _special_arguments(args: list[tuple[str, str]]) -> set[str]:
    return {key for key, _ in args if key.startswith("_") and "__" not in key}


async def build_where(
    datasette: Any, database: str, table: str, args: list[tuple[str, str]], scope: Scope, receive: Any
) -> tuple[list[str], dict[str, Any]]:
    """The WHERE clauses and parameters exactly as Datasette's table view builds them for these arguments:
    its ``Filters`` for ``?column=`` / ``?column__op=``, then every ``filters_from_request`` hook (``_search``)."""
    request = Request(dict(scope, url_route={"kwargs": {"database": database, "table": table}}), receive)
    metadata = datasette.table_metadata(database, table)
    filter_args = sorted((k, v) for k, v in args if not (k.startswith("_") and "__" not in k))
    where, params = Filters(filter_args, metadata.get("units", {}), ureg).build_where_clauses(table)
    for hook in pm.hook.filters_from_request(request=request, table=table, database=database, datasette=datasette):
        found = await await_me_maybe(hook)
        if found:
            where.extend(found.where_clauses)
            params.update(found.params)
    return where, params


async def plan_export(datasette: Any, database: str, scope: Scope, receive: Any) -> Export | None:
    """The SELECT for this request, or None when Datasette should answer it itself."""
    match = _CSV_PATH.match(scope.get("path", ""))
    if scope.get("type") != "http" or scope.get("method") != "GET" or match is None:
        return None
    if tilde_decode(match["database"]) != database:
        return None
    args = parse_qsl(scope.get("query_string", b"").decode("latin-1"), keep_blank_values=True)
    query = dict(args)
    if _special_arguments(args) - HANDLED_ARGUMENTS or query.get("_stream", "").lower() not in STREAM_VALUES:
        return None
    size = query.get("_size", "max")
    if size != "max" and not (size.isdigit() and 0 < int(size) <= datasette.max_returned_rows):
        return None  # Datasette's own 400 for a bad _size
    table = tilde_decode(match["table"])
    db = datasette.get_database(database)
    if await datasette.get_canned_query(database, table, None):
        return None
    is_view = bool(await db.get_view_definition(table))
    if not is_view and not await db.table_exists(table):
        return None
    visible, _ = await datasette.check_visibility(
        None, permissions=[("view-table", (database, table)), ("view-database", database), "view-instance"]
    )
    if not visible:
        return None

    pks = [] if is_view else await db.primary_keys(table)
    columns = await db.table_columns(table)
    use_rowid = not pks and not is_view
    metadata = datasette.table_metadata(database, table)
    where, params = await build_where(datasette, database, table, args, scope, receive)

    sort, sort_desc = query.get("_sort"), query.get("_sort_desc")
    if not sort and not sort_desc:
        sort, sort_desc = metadata.get("sort"), metadata.get("sort_desc")
    if sort and sort_desc:
        return None
    sortable = set(metadata.get("sortable_columns") or columns) | ({"rowid"} if use_rowid else set())
    if (sort and sort not in sortable) or (sort_desc and sort_desc not in sortable):
        return None
    # Datasette's keyset pages order a table by its sort, then its primary key; views by the sort alone.
    tie_break = ["rowid"] if use_rowid else [escape_sqlite(pk) for pk in pks]
    order = [escape_sqlite(sort)] if sort else [f"{escape_sqlite(sort_desc)} desc"] if sort_desc else []
    order += [] if is_view else [key for key in tie_break if key not in order]

    labels: dict[str, tuple[str, str, str]] = {}
    label_arg = query.get("_labels")
    try:
        all_labels = value_as_boolean(label_arg) if label_arg is not None else False
    except ValueError:
        all_labels = False
    if all_labels and not is_view:
        for fk in await db.foreign_keys_for_table(table):
            label_column = await db.label_column_for_table(fk["other_table"])
            labels[fk["column"]] = (fk["other_table"], fk["other_column"], label_column or "")

    kinds: dict[str, CellKind] = {} if is_view else await db.execute_fn(lambda conn: column_kinds(conn, table))
    headings: list[str] = ["rowid"] if use_rowid else []
    selected: list[tuple[str, CellKind]] = [("rowid", "rowid")] if use_rowid else []
    for column in columns:
        name = escape_sqlite(column)
        headings.append(column)
        selected.append((f"t.{name}", kinds.get(column, "any")))
        if column in labels:
            other_table, other_column, label_column = labels[column]
            # Datasette writes the other row's label, the id as text when that table has no label column,
            # and an empty cell when the id is empty or no row has it.
            label = (
                f"(SELECT {escape_sqlite(label_column)} FROM {escape_sqlite(other_table)} "
                f"WHERE {escape_sqlite(other_column)} = t.{name})"
                if label_column
                else f"CAST(t.{name} AS TEXT)"
            )
            headings.append(f"{column}_label")
            selected.append((f"CASE WHEN t.{name} IS NULL THEN NULL ELSE {label} END", "any"))
    where_sql = f" WHERE {' AND '.join(where)}" if where else ""
    order_sql = f" ORDER BY {', '.join(order)}" if order else ""
    # Datasette's where clauses name the table's columns unqualified: fine, "t" is the only table in FROM.
    pages: Pages | None = None
    if not is_view and not labels:
        # Only the table's columns, each named in its cell's SQL as often as the cell tests it: reading a
        # column of the current row again costs less than a copy of a subquery's value.
        line = _line([_cell(expression, kind) for expression, kind in selected])
        sql = f"SELECT {line} FROM {escape_sqlite(table)} AS t{where_sql}{order_sql}"
        # A whole table in the order of its rowid (or the INTEGER PRIMARY KEY naming it) is read a page at a
        # time, each page's lines joined by SQLite, with no Python object per row. Not with filters: a page
        # would run them again (a search's full-text query, or an index on another column and a sort).
        key = "rowid" if use_rowid else pks[0] if len(pks) == 1 and kinds.get(pks[0]) == "rowid" else None
        if key is not None and not where and (sort or sort_desc or key) == key:
            column = "t.rowid" if use_rowid else f"t.{escape_sqlite(key)}"
            direction = " DESC" if sort_desc else ""
            rest = f" FROM {escape_sqlite(table)} AS t{BOUNDS} ORDER BY {column}{direction} LIMIT :claimtrack_rows"
            pages = Pages(
                f"SELECT {column} AS k, {line} AS l{rest}",
                f"SELECT {column} AS k{rest}",
                column,
                column,
                bool(sort_desc),
            )
    else:
        # The OFFSET keeps SQLite from folding the rows' SELECT into the lines' one, so each value (a view's
        # subquery, a label's lookup) is computed once, not once for every time its cell's CASE names it; the
        # rows still come one at a time, in their order (a co-routine), never gathered in memory.
        rows = "SELECT {} FROM {} AS t{}{}".format(
            ", ".join(f"{expression} AS c{i}" for i, (expression, _) in enumerate(selected)),
            escape_sqlite(table),
            where_sql,
            order_sql,
        )
        line = _line([_cell(f"r.c{i}", kind) for i, (_, kind) in enumerate(selected)])
        sql = f"SELECT {line} FROM ({rows} LIMIT -1 OFFSET 0) AS r"
        view_key = VIEW_KEYS.get(table) if is_view else None
        if view_key is not None and not where and (sort or sort_desc) == view_key.column:
            # A page of the view: a range of its key, in the key's order; the keys come from the key's table.
            column, key_column = f"t.{escape_sqlite(view_key.column)}", f"t.{escape_sqlite(view_key.table_column)}"
            direction = " DESC" if sort_desc else ""
            values = ", ".join(f"{expression} AS c{i}" for i, (expression, _) in enumerate(selected))
            page = (
                f"SELECT {column} AS k, {values} FROM {escape_sqlite(table)} AS t{BOUNDS} "
                f"ORDER BY {column}{direction} LIMIT :claimtrack_rows OFFSET 0"
            )
            keys = (
                f"SELECT {key_column} AS k FROM {escape_sqlite(view_key.table)} AS t{BOUNDS} "
                f"ORDER BY {key_column}{direction} LIMIT :claimtrack_rows"
            )
            pages = Pages(f"SELECT r.k AS k, {line} AS l FROM ({page}) AS r", keys, column, key_column, bool(sort_desc))
    return Export(headings, sql, params, match["table"], bool(query.get("_dl")), pages)


def _value_limit(cells: int) -> int:
    """The longest value the export's statement may make: a line holds every cell of its row, each at most twice
    a value's size once quoted (a page of lines longer than this is read in fewer rows)."""
    return min(1_000_000_000, cells * (2 * limits.MAX_VALUE_BYTES + 4))


def _thread_cpu_clock() -> Callable[[], float]:
    """The calling thread's CPU clock, readable from another thread; wall time where there is none."""
    try:
        clock_id = time.pthread_getcpuclockid(threading.get_ident())
    except (AttributeError, OSError):
        return time.monotonic
    return lambda: time.clock_gettime(clock_id)


class _Watchdog:
    """Interrupts the export's connection when one chunk has used more than ``seconds`` of its thread's CPU.

    CPU time, not wall time: the limit is there to stop a costly filter, whose cost is CPU, while on busy
    cores a chunk of an ordinary full export could wait past a wall-clock limit for its turn, and the
    export would end early. Where a thread's CPU clock cannot be read, wall time is used.

    One thread for the whole export: a ``threading.Timer`` per chunk (``limits.interrupt_at``) started and
    waited for a new thread every chunk, which on busy cores cost more than the chunk's own SQL (1.1 s of
    7.5 s for 200,000 claims).
    """

    def __init__(self, conn: sqlite3.Connection, seconds: float) -> None:
        self.conn = conn
        self.seconds = seconds
        self.cond = threading.Condition()
        self.deadline: float | None = None  # wall time: the earliest moment the chunk can have spent its CPU
        self.clock: Callable[[], float] = time.monotonic  # the chunk's thread's CPU clock
        self.started = 0.0
        self.idle = True  # waiting without a deadline: a new deadline must wake it
        self.closed = False
        self.thread = threading.Thread(target=self._run, name="claimtrack-csv-time-limit", daemon=True)
        self.thread.start()

    @contextmanager
    def limit(self) -> Iterator[None]:
        clock = _thread_cpu_clock()
        with self.cond:
            self.clock, self.started = clock, clock()
            self.deadline = time.monotonic() + self.seconds
            if self.idle:
                self.cond.notify()
        try:
            yield
        finally:
            with self.cond:
                self.deadline = None  # under the lock: a late check never interrupts the next chunk

    def _run(self) -> None:
        with self.cond:
            while not self.closed:
                self.idle = self.deadline is None
                if self.deadline is None:
                    self.cond.wait()
                    continue
                remaining = self.deadline - time.monotonic()
                if remaining > 0:
                    self.cond.wait(remaining)
                    continue
                # A thread spends CPU no faster than the clock on the wall: check again when it could have.
                left = self.seconds - (self.clock() - self.started)
                if left <= 0:
                    self.conn.interrupt()
                    self.deadline = None
                else:
                    self.deadline = time.monotonic() + left

    def close(self) -> None:
        with self.cond:
            self.closed = True
            self.cond.notify()
        self.thread.join()


class _Stream:
    """One cursor over a read-only connection, read in CSV chunks of about ``CHUNK_BYTES``, one chunk at a time."""

    def __init__(
        self, datasette: Any, database: str, export: Export, time_limit_s: float, reader: int = 0, readers: int = 1
    ) -> None:
        path = datasette.get_database(database).path
        self.export = export
        self.conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, check_same_thread=False)
        # Set up as Datasette sets up its own connections (every plugin's prepare_connection), with the
        # bounds for the export's own statement (limits.EXPORT_CONNECTION) instead of those for typed SQL.
        token = limits.EXPORT_CONNECTION.set(True)
        try:
            datasette._prepare_connection(self.conn, database)
        finally:
            limits.EXPORT_CONNECTION.reset(token)
        self.conn.setlimit(sqlite3.SQLITE_LIMIT_LENGTH, _value_limit(len(export.headings)))
        self.conn.create_function(_PYTHON_CELL, 1, _python_cell, deterministic=True)
        # Each row is one line: its UTF-8 bytes go out as they are, checked once per chunk (see next_chunk).
        self.conn.row_factory = None
        self.conn.text_factory = bytes
        header: list[str] = []
        csv.writer(_Appender(header)).writerow([csv_safety.neutralise(h) for h in export.headings])
        self.header: bytes | None = "".join(header).encode("utf-8") if reader == 0 else None
        self.cursor = self.conn.cursor()
        self.watchdog = _Watchdog(self.conn, time_limit_s)
        self.done = False
        self.pages = export.pages
        self.page_rows = FETCH_ROWS
        self.after: int | None = None
        self.first_page: bytes | None = None
        # Of several readers (see open_streams), this one writes pages reader, reader + readers, ... of the
        # table, one a chunk; one reader writes every page and fills each chunk to CHUNK_BYTES.
        self.reader, self.readers = reader, readers
        self.page_number = 0  # the number of the next page among every reader's pages
        try:
            with self.watchdog.limit():
                if self.pages is None:
                    self.cursor.execute(export.sql, export.params)
                else:
                    # One read transaction: every page is read from the same snapshot, as one statement is.
                    self.conn.execute("BEGIN")
                    self.first_page = self._next_page()
        except BaseException:
            self.close()
            raise

    def _next_page(self) -> bytes:
        """The lines of this reader's next page of rows (``Export.pages``), each ended by CRLF; empty after the last
        (and, of several readers', for a page of keys that holds no row of a view that leaves rows out)."""
        last: int | None = None  # the page's last key, when other readers write pages too
        if self.readers > 1:
            last = self._own_page()
            if last is None:
                self.done = True
                return b""
        return self._read_page(last)

    def _own_page(self) -> int | None:
        """The last key of this reader's next page (``self.after`` set to the key before it), or None after the
        last page. Every reader walks every page's keys (without their lines) to find where its own start."""
        assert self.pages is not None
        while True:
            params = {"claimtrack_rows": FETCH_ROWS, "claimtrack_after": self.after}
            last, count = self.cursor.execute(self.pages.boundary(self.after is not None), params).fetchone()
            if not count:
                return None
            mine = self.page_number % self.readers == self.reader
            self.page_number += 1
            if mine:
                return int(last)
            self.after = last

    def _read_page(self, last: int | None) -> bytes:
        """The lines of the rows after ``self.after``: up to the key ``last``, or one page of them when it is None
        (and then, after the last row, nothing, and the stream is done)."""
        assert self.pages is not None
        blocks: list[bytes] = []
        while True:
            rows = self.pages.bounded(self.pages.rows, after=self.after is not None, last=last is not None)
            params = {"claimtrack_rows": self.page_rows, "claimtrack_after": self.after, "claimtrack_last": last}
            try:
                key, count, text = self.cursor.execute(self.pages.joined(rows), params).fetchone()
            except sqlite3.DataError:  # the page's lines are longer than one value may be: fewer rows
                if self.page_rows == 1:
                    raise
                self.page_rows //= 2
                continue
            if not count:
                # The end of the table (one reader), or no row of a view left in this reader's page.
                self.done = last is None
                if last is not None:
                    self.after = last
                break
            self.page_rows = min(FETCH_ROWS, self.page_rows * 2)
            block = text.replace(b"\0", b"\r\n")
            # A line break in a cell (to be quoted), or a NUL (which is not a line's end): the same rows line by line.
            if b"\n" in text or b"\r" in text or len(block) != len(text) + count - 1:
                blocks.append(join_lines([line for (line,) in self.cursor.execute(self.pages.lines(rows), params)]))
            else:
                blocks.append(block + b"\r\n")
            self.after = key
            if last is None or key == last:  # a page of its own, or the last rows of another reader's page
                break
        return b"".join(blocks)

    def next_chunk(self) -> bytes | None:
        """The next chunk (the header row with the first); None once every row is written. Of several readers',
        each chunk is one page (empty for a page with no row: it still takes its turn, see ``_InOrder``)."""
        lines: list[bytes] = []
        size = 0
        read = self.first_page is not None
        with self.watchdog.limit():
            if self.first_page is not None:
                lines.append(self.first_page)
                size += len(self.first_page)
                self.first_page = None
            while not self.done and (size < CHUNK_BYTES if self.readers == 1 else not read):
                if self.pages is not None:
                    block = self._next_page()
                else:
                    rows = self.cursor.fetchmany(FETCH_ROWS)
                    if not rows:
                        self.done = True
                        break
                    block = join_lines([row[0] for row in rows])
                read = True
                lines.append(block)
                size += len(block)
        if self.done and not size and self.header is None:
            return None
        if self.header is not None:
            lines.insert(0, self.header)
            self.header = None
        chunk = b"".join(lines)
        try:
            chunk.decode("utf-8")
        except UnicodeDecodeError:
            # Bytes that are not UTF-8 (the app never stores them): as Datasette's text_factory decodes each
            # cell. The same, line by line: cells are parted by ASCII, which ends any broken sequence.
            chunk = chunk.decode("utf-8", "replace").encode("utf-8")
        return chunk

    def close(self) -> None:
        self.watchdog.close()
        self.conn.close()


class _ReadAhead:
    """The export's SQLite reading and CSV writing in a thread of its own, at most ``READ_AHEAD_CHUNKS`` chunks
    ahead of what the response has sent.

    While the event loop sends one chunk, the thread already reads and writes the next ones (SQLite releases
    the GIL while it steps), and a slow client holds up the thread instead of letting chunks pile up: an export
    holds at most ``READ_AHEAD_CHUNKS`` + 1 chunks in memory whatever its size. The thread closes the connection.
    """

    def __init__(self, stream: _Stream, loop: asyncio.AbstractEventLoop) -> None:
        self.stream = stream
        self.loop = loop
        self.slots = threading.Semaphore(READ_AHEAD_CHUNKS)
        self.ready: asyncio.Queue[bytes | BaseException | None] = asyncio.Queue()
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self._run, name="claimtrack-csv-export", daemon=True)
        self.thread.start()

    def _hand_over(self, item: bytes | BaseException | None) -> bool:
        try:
            self.loop.call_soon_threadsafe(self.ready.put_nowait, item)
        except RuntimeError:  # the event loop is gone: nobody is left to send to
            return False
        return True

    def _run(self) -> None:
        try:
            yield_to_requests()
            while True:
                self.slots.acquire()
                if self.stopped.is_set():
                    return
                try:
                    chunk = self.stream.next_chunk()
                except Exception as error:  # handed to the response, which reports it (see fast_csv)
                    self._hand_over(error)
                    return
                if not self._hand_over(chunk) or chunk is None:
                    return
        finally:
            self.stream.close()

    async def next_chunk(self) -> bytes | None:
        """The next chunk; None once every row is written. Raises what reading or writing raised."""
        item = await self.ready.get()
        self.slots.release()
        if isinstance(item, BaseException):
            raise item
        return item

    async def close(self) -> None:
        """Stop reading (the response ended or the client went away) and wait for the thread to close."""
        self.stopped.set()
        self.slots.release()
        await asyncio.to_thread(self.thread.join)


def yield_to_requests() -> None:
    """Lower the calling thread's CPU priority to ``READER_NICENESS`` where the system allows it per thread.

    With two readers an export can use both cores: at a lower priority it uses what the app's requests leave,
    so an editor's save is not slowed by a researcher's download (Linux gives each thread its own niceness;
    raising it needs no privilege)."""
    if sys.platform != "linux":
        return
    try:
        thread = threading.get_native_id()
        os.setpriority(os.PRIO_PROCESS, thread, max(os.getpriority(os.PRIO_PROCESS, thread), READER_NICENESS))
    except OSError:
        return


def open_streams(datasette: Any, database: str, export: Export, time_limit_s: float) -> list[_Stream]:
    """The export's readers: ``READERS`` of them for a whole table read in pages, all on one snapshot; else one.

    Each reader's read transaction starts at its first page. ``PRAGMA data_version``, read on a connection of
    its own before the first starts and after the last has, changes if any other connection committed in
    between: then the readers might see different snapshots, and are opened again (``SNAPSHOT_ATTEMPTS``
    times at most, then a single reader, which reads one snapshot by itself).
    """
    if export.pages is not None and READERS > 1:
        path = datasette.get_database(database).path
        for _ in range(SNAPSHOT_ATTEMPTS):
            streams: list[_Stream] = []
            try:
                with closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as probe:
                    before = probe.execute("PRAGMA data_version").fetchone()
                    for reader in range(READERS):
                        streams.append(_Stream(datasette, database, export, time_limit_s, reader, READERS))
                    if probe.execute("PRAGMA data_version").fetchone() == before:
                        return streams
            except BaseException:
                for stream in streams:
                    stream.close()
                raise
            for stream in streams:
                stream.close()
    return [_Stream(datasette, database, export, time_limit_s)]


class _InOrder:
    """The readers' chunks in the table's order (one reader's page after the other's), joined into chunks of
    about ``CHUNK_BYTES``: a table of narrow rows is not sent in many small pieces."""

    def __init__(self, readers: list[_ReadAhead]) -> None:
        self.readers = readers
        self.turn = 0
        self.done = False

    async def next_chunk(self) -> bytes:
        """The next chunk; empty once every row is written. Raises what a reader raised."""
        parts: list[bytes] = []
        size = 0
        while not self.done and size < CHUNK_BYTES:
            part = await self.readers[self.turn].next_chunk()
            if part is None:  # the reader whose page would come next has none: every row is written
                self.done = True
                break
            parts.append(part)
            size += len(part)
            self.turn = (self.turn + 1) % len(self.readers)
        return b"".join(parts)

    async def close(self) -> None:
        for reader in self.readers:
            await reader.close()


async def _client_gone(receive: Any) -> None:
    """Returns once the client has disconnected (the request of a GET has no body left to read)."""
    try:
        while (await receive())["type"] != "http.disconnect":
            # Servers block here until the client goes; a pause keeps a server that does not from spinning.
            await asyncio.sleep(0.05)
    except Exception:  # a broken connection is a client gone too
        return


def fast_csv(datasette: Any, database: str, app: ASGIApp) -> ASGIApp:
    """ASGI wrapper: streamed CSV exports answered in one pass; everything else by Datasette (``app``)."""

    async def wrapped(scope: Scope, receive: Any, send: Any) -> None:
        export = await plan_export(datasette, database, scope, receive) if scope.get("type") == "http" else None
        if export is None:
            await app(scope, receive, send)
            return
        time_limit_s = datasette.setting("sql_time_limit_ms") / 1000
        try:
            streams = await asyncio.to_thread(open_streams, datasette, database, export, time_limit_s)
        except (sqlite3.Error, limits.ResultTooLarge):
            # Datasette reports the query's error as it always has.
            await app(scope, receive, send)
            return
        loop = asyncio.get_running_loop()
        reader = _InOrder([_ReadAhead(stream, loop) for stream in streams])
        gone: asyncio.Task[None] | None = None
        try:
            try:
                chunk = await reader.next_chunk()
            except (sqlite3.Error, limits.ResultTooLarge):
                await app(scope, receive, send)
                return
            headers = [
                (b"content-type", b"text/csv; charset=utf-8" if export.download else b"text/plain; charset=utf-8")
            ]
            if export.download:
                headers.append((b"content-disposition", f'attachment; filename="{export.filename}.csv"'.encode()))
            await send({"type": "http.response.start", "status": 200, "headers": headers})
            gone = asyncio.create_task(_client_gone(receive))
            while chunk:
                if gone.done():
                    # The client went away: stop reading (the server drops what would be sent anyway).
                    return
                await send({"type": "http.response.body", "body": chunk, "more_body": True})
                try:
                    chunk = await reader.next_chunk()
                except (sqlite3.Error, limits.ResultTooLarge) as error:
                    # As Datasette does when a later page fails: the error's text ends the body.
                    chunk = b""
                    await send({"type": "http.response.body", "body": str(error).encode(), "more_body": True})
            await send({"type": "http.response.body", "body": b""})
        finally:
            if gone is not None:
                gone.cancel()
            await reader.close()

    return wrapped

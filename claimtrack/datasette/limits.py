"""Bounds on what one public Datasette query may cost: size of a value, size of a result, time.

Anyone may run arbitrary SQL under /data/, in the same process as the editors' app. SQLite's progress
handler (Datasette's ``sql_time_limit_ms``) and ``sqlite3_interrupt`` are only looked at between virtual
machine instructions, so a single function call (``instr`` of one huge string in another, ``zeroblob``)
runs to its end whatever the time limit says. These bounds make every single call cheap and every result
small, so the time limit holds:

- every value (string, blob, row record) on Datasette's connections is at most ``MAX_VALUE_BYTES``;
  LIKE/GLOB patterns at most ``MAX_LIKE_PATTERN``;
- a statement may call the functions whose cost grows with the product of their arguments' sizes at most
  ``MAX_COSTLY_CALLS`` times (one row's expression is never interrupted mid-way);
- ``printf('%.*c', n, ...)`` runs for seconds on a huge n before returning NULL, and SQLite's
  two-argument ``trim`` compares every character with every character of its set: both are replaced on
  these connections by versions with the same results whose cost stays small;
- a query stops with an error once its rows pass ``MAX_RESULT_BYTES``;
- a watchdog interrupts a query at its time limit between any two instructions, not only every 1,000.

Only PRAGMAs that describe tables are allowed (``database_list`` would reveal the file's path).
"""

from __future__ import annotations

import re
import sqlite3
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from datasette.database import Database, QueryInterrupted, Results
from datasette.tracer import trace
from datasette.utils import sqlite_timelimit

from claimtrack.db import bound_page_cache

# Measured on this machine (2 cores, SQLite 3.40): the costliest single calls at 200,000 bytes,
# instr/replace of one value against half of another, took 0.18-0.37 s each; at 100,000 bytes 0.05-0.09 s.
# A claim is at most 5,000 characters (20,000 bytes of UTF-8 at worst); the widest view row (two
# statements, their sources and a note) stays well under 100,000 bytes.
MAX_VALUE_BYTES = 100_000
# LIKE '%aaa…b%' costs value length x pattern length: 1,000 characters against 100,000 bytes took 0.1 s.
MAX_LIKE_PATTERN = 1_000
# A query's text; Datasette's longest own statements (a filtered, faceted table page) are a few KB.
MAX_SQL_BYTES = 100_000
# Calls of instr/replace/like/glob/trim... per statement: each at most ~0.1 s, and a row's expression
# runs to its end before an interrupt is seen.
MAX_COSTLY_CALLS = 8
COSTLY_FUNCTIONS = frozenset({"instr", "replace", "like", "glob", "trim", "ltrim", "rtrim"})
# The rows one query may fetch into memory (a page of 1,000 claims of 5,000 characters is ~10 MB).
MAX_RESULT_BYTES = 32 * 1024 * 1024
VALUE_OVERHEAD = 16  # bytes counted for every value, so a million tiny values count too

# PRAGMAs Datasette and SQLite's full-text search need; everything else (database_list reveals the
# database's absolute path) is refused, in arbitrary SQL as in pragma_* table-valued functions.
ALLOWED_PRAGMAS = frozenset(
    {
        "table_info",
        "table_xinfo",
        "index_list",
        "index_info",
        "index_xinfo",
        "foreign_key_list",
        "schema_version",
        "data_version",
        "function_list",
        "module_list",
        "pragma_list",
        "collation_list",
    }
)

COSTLY_CALLS_MESSAGE = (
    f"This query calls instr, replace, like, glob or trim more than {MAX_COSTLY_CALLS} times: "
    "split it into smaller queries."
)
RESULT_TOO_BIG_MESSAGE = (
    f"The result is larger than {MAX_RESULT_BYTES // (1024 * 1024)} MB: ask for fewer rows or columns "
    "(_size=, _col=, a LIMIT), or export the table or view as CSV with _stream=on."
)
PRAGMA_MESSAGE = (
    "Only PRAGMAs that describe tables (table_info, table_xinfo, index_list, index_info, index_xinfo, "
    "foreign_key_list...) may be used here."
)
ATTACH_MESSAGE = "No other database can be attached here."


class ResultTooLarge(Exception):
    """A query's rows passed MAX_RESULT_BYTES; Datasette shows it as an SQL error (HTTP 400)."""


class _Guard:
    """Per-connection state the authorizer and the guarded functions share (one thread uses a connection)."""

    def __init__(self) -> None:
        self.costly_calls = 0
        self.error: str | None = None  # why a guarded function refused, for a clear message
        self.helper = sqlite3.connect(":memory:", check_same_thread=False)
        self.helper.setlimit(sqlite3.SQLITE_LIMIT_LENGTH, MAX_VALUE_BYTES)

    def reset(self) -> None:
        self.costly_calls = 0
        self.error = None


# Each connection's guard (connections take neither attributes nor weak references). The connection is
# kept with it so its id cannot be reused; Datasette keeps its connections open for its whole life anyway.
_GUARDS: dict[int, tuple[sqlite3.Connection, _Guard]] = {}
_GUARDS_LOCK = threading.Lock()


def guard_for(conn: sqlite3.Connection) -> _Guard | None:
    with _GUARDS_LOCK:
        found = _GUARDS.get(id(conn))
    return found[1] if found is not None else None


def _authorizer(guard: _Guard) -> Callable[[int, str | None, str | None, str | None, str | None], int]:
    def authorize(action: int, arg1: str | None, arg2: str | None, db: str | None, source: str | None) -> int:
        if action == sqlite3.SQLITE_PRAGMA and (arg1 or "").lower() not in ALLOWED_PRAGMAS:
            guard.error = PRAGMA_MESSAGE
            return sqlite3.SQLITE_DENY
        if action in (sqlite3.SQLITE_ATTACH, sqlite3.SQLITE_DETACH):
            guard.error = ATTACH_MESSAGE
            return sqlite3.SQLITE_DENY
        if action == sqlite3.SQLITE_FUNCTION and (arg2 or "").lower() in COSTLY_FUNCTIONS:
            guard.costly_calls += 1
            if guard.costly_calls > MAX_COSTLY_CALLS:
                guard.costly_calls = 0  # this statement fails; the next one starts afresh
                guard.error = COSTLY_CALLS_MESSAGE
                return sqlite3.SQLITE_DENY
        return sqlite3.SQLITE_OK

    return authorize


# %[flags][width][.precision][l|ll]type, as SQLite's printf reads it.
_PRINTF_SPEC = re.compile(r"%([-+ 0#!,]*)(\*|\d+)?(?:\.(\*|\d*))?(?:ll|l)?(.)", re.S)


def _printf_repeat_too_long(fmt: str, args: tuple[Any, ...]) -> bool:
    """True if a %c conversion asks for more repeats than a value may hold (SQLite would spend
    seconds producing it, then return NULL)."""
    index = 0
    for match in _PRINTF_SPEC.finditer(fmt):
        width, precision, kind = match.group(2), match.group(3), match.group(4)
        if kind == "%":
            continue
        if width == "*":
            index += 1
        repeat: int | None = None
        if precision == "*":
            value = args[index] if index < len(args) else 0
            index += 1
            repeat = abs(value) if isinstance(value, int) else None
            if isinstance(value, (float, str)):
                try:
                    repeat = abs(int(float(value)))
                except (ValueError, OverflowError):
                    repeat = None
        elif precision:
            repeat = int(precision)
        index += 1
        if kind == "c" and repeat is not None and repeat > MAX_VALUE_BYTES:
            return True
    return False


def _guarded_printf(guard: _Guard, name: str) -> Callable[..., Any]:
    def printf(fmt: Any = None, *args: Any) -> Any:
        if isinstance(fmt, str) and _printf_repeat_too_long(fmt, args):
            return None  # what SQLite returns for an over-long result, without the seconds of work
        placeholders = ", ".join("?" * (1 + len(args)))
        return guard.helper.execute(f"SELECT {name}({placeholders})", (fmt, *args)).fetchone()[0]

    return printf


def _guarded_trim(guard: _Guard, name: str) -> Callable[[Any, Any], Any]:
    left, right = name in ("trim", "ltrim"), name in ("trim", "rtrim")

    def trim(value: Any, characters: Any) -> Any:
        if value is None or characters is None:
            return None
        if isinstance(characters, (int, float)):  # a short set: SQLite's own conversion of numbers
            return guard.helper.execute(f"SELECT {name}(?, ?)", (value, characters)).fetchone()[0]
        # SQLite reads blobs here as UTF-8 text and returns text; so does this.
        chars = set(characters.decode("utf-8", "replace") if isinstance(characters, bytes) else characters)
        if isinstance(value, (int, float)):  # a short value: SQLite formats the number, as it would
            unique = "".join(sorted(chars))
            return guard.helper.execute(f"SELECT {name}(?, ?)", (value, unique)).fetchone()[0]
        text = value.decode("utf-8", "replace") if isinstance(value, bytes) else value
        # A set lookup per character: SQLite's own loop compares each character with every one of the set.
        start, end = 0, len(text)
        while left and start < end and text[start] in chars:
            start += 1
        while right and end > start and text[end - 1] in chars:
            end -= 1
        return text[start:end]

    return trim


# Set while the CSV export opens its own connection (claimtrack.datasette.exports). Its one statement is
# built by the export from the schema, with the visitor's filter values as parameters, never typed SQL: the
# bounds on typed SQL (the authorizer's count of costly calls, the guarded printf) would refuse it or turn
# SQLite's printf, which writes every CSV line, into a Python call per row.
EXPORT_CONNECTION: ContextVar[bool] = ContextVar("claimtrack_export_connection", default=False)


def prepare_connection(conn: sqlite3.Connection) -> None:
    """Apply every bound to one of Datasette's connections to the claims database."""
    if EXPORT_CONNECTION.get():
        # Values stay bounded as on every connection; the export's statement is its own.
        conn.setlimit(sqlite3.SQLITE_LIMIT_LENGTH, MAX_VALUE_BYTES)
        conn.setlimit(sqlite3.SQLITE_LIMIT_ATTACHED, 0)
        return
    # Datasette keeps one connection per thread for the process's life: bounded as the app's pooled ones are.
    # (An export's own connection is closed when it ends, and reads the whole table: it keeps the default.)
    bound_page_cache(conn)
    conn.setlimit(sqlite3.SQLITE_LIMIT_LENGTH, MAX_VALUE_BYTES)
    conn.setlimit(sqlite3.SQLITE_LIMIT_LIKE_PATTERN_LENGTH, MAX_LIKE_PATTERN)
    conn.setlimit(sqlite3.SQLITE_LIMIT_SQL_LENGTH, MAX_SQL_BYTES)
    conn.setlimit(sqlite3.SQLITE_LIMIT_ATTACHED, 0)
    guard = _Guard()
    with _GUARDS_LOCK:
        _GUARDS[id(conn)] = (conn, guard)
    conn.set_authorizer(_authorizer(guard))
    # The count of costly calls is per statement: SQLite reports each statement as it starts to run.
    conn.set_trace_callback(lambda _sql: guard.reset())
    for name in ("printf", "format"):
        conn.create_function(name, -1, _guarded_printf(guard, name))
    for name in ("trim", "ltrim", "rtrim"):
        conn.create_function(name, 2, _guarded_trim(guard, name), deterministic=True)


# --- the watchdog: interrupt a query at its deadline, between any two instructions ----------------


@contextmanager
def interrupt_at(conn: sqlite3.Connection, seconds: float) -> Iterator[None]:
    """sqlite3_interrupt() from a timer: SQLite checks it at every jump, where the progress handler
    (Datasette's time limit) runs only every 1,000 instructions, which can be a thousand costly calls."""
    lock = threading.Lock()
    active = True

    def fire() -> None:
        with lock:
            if active:
                conn.interrupt()

    timer = threading.Timer(seconds, fire)
    timer.daemon = True
    timer.start()
    try:
        yield
    finally:
        with lock:
            active = False  # a late timer must never interrupt this connection's next query
        timer.cancel()


def _value_bytes(value: Any) -> int:
    if isinstance(value, str):
        return VALUE_OVERHEAD + (len(value) if value.isascii() else len(value.encode("utf-8", "replace")))
    if isinstance(value, bytes):
        return VALUE_OVERHEAD + len(value)
    return VALUE_OVERHEAD


def fetch_within_budget(cursor: sqlite3.Cursor, limit: int | None, budget: int = MAX_RESULT_BYTES) -> list[Any]:
    """At most ``limit`` rows (all if None), failing as soon as they add up to more than ``budget`` bytes.
    Row by row: one row may already hold megabytes (100 columns of 90 KB)."""
    rows: list[Any] = []
    total = 0
    while limit is None or len(rows) < limit:
        row = cursor.fetchone()
        if row is None:
            break
        total += sum(_value_bytes(value) for value in row)
        if total > budget:
            raise ResultTooLarge(RESULT_TOO_BIG_MESSAGE)
        rows.append(row)
    return rows


# Set (to the cap) while a search page with more matches than the cap is answered (claimtrack/datasette/search.py).
BIG_SEARCH: ContextVar[int | None] = ContextVar("claimtrack_big_search", default=None)


def skipped_on_big_search(sql: str, params: Any, custom_time_limit: int | None) -> Results | None:
    """On a search page past the cap, the queries it leaves out: the count of matches, every facet and facet
    suggestion (Datasette runs those, and only those, with their own time limit) fail at once as if out of
    time, which Datasette shows by leaving them out. The row count the suggestions start from
    (``select count(*) from (<the page's query>)``, not caught by Datasette) is answered with the cap + 1,
    all the page knows. None: run the query."""
    cap = BIG_SEARCH.get()
    if cap is None:
        return None
    text = sql.lstrip().lower()
    if text.startswith("select count(*) from ("):
        return Results([(cap + 1,)], False, [("count(*)",)])
    if custom_time_limit is not None or text.startswith("select count(*) from"):
        raise QueryInterrupted(sqlite3.OperationalError("interrupted"), sql, params)
    return None


class LimitedDatabase(Database):
    """Datasette's Database with a bound on the bytes a query fetches and a watchdog on its time.

    ``execute`` follows Datasette 0.65's own (time limit, truncation to max_returned_rows, errors),
    fetching rows in batches within the budget instead of all at once.
    """

    async def execute(
        self,
        sql: str,
        params: Any = None,
        truncate: bool = False,
        custom_time_limit: int | None = None,
        page_size: int | None = None,
        log_sql_errors: bool = True,
    ) -> Results:
        skipped = skipped_on_big_search(sql, params, custom_time_limit)
        if skipped is not None:
            return skipped
        page_size = page_size or self.ds.page_size

        def sql_operation_in_thread(conn: sqlite3.Connection) -> Results:
            time_limit_ms = self.ds.sql_time_limit_ms
            if custom_time_limit and custom_time_limit < time_limit_ms:
                time_limit_ms = custom_time_limit
            guard = guard_for(conn)
            if guard is not None:
                guard.reset()
            with sqlite_timelimit(conn, time_limit_ms), interrupt_at(conn, time_limit_ms / 1000):
                try:
                    cursor = conn.cursor()
                    cursor.execute(sql, params if params is not None else {})
                    max_returned_rows = self.ds.max_returned_rows
                    if max_returned_rows == page_size:
                        max_returned_rows += 1
                    if max_returned_rows and truncate:
                        rows = fetch_within_budget(cursor, max_returned_rows + 1)
                        truncated = len(rows) > max_returned_rows
                        rows = rows[:max_returned_rows]
                    else:
                        rows = fetch_within_budget(cursor, None)
                        truncated = False
                except (sqlite3.OperationalError, sqlite3.DatabaseError) as e:
                    if e.args == ("interrupted",):
                        raise QueryInterrupted(e, sql, params) from e
                    explained = _explain(e, guard)
                    if log_sql_errors:
                        sys.stderr.write(f"ERROR: sql = {sql!r}, params = {params!r}: {explained}\n")
                        sys.stderr.flush()
                    if explained is not e:
                        raise explained from e
                    raise
                except ResultTooLarge as e:
                    cursor.close()
                    # An OperationalError, so every Datasette view shows it like any other SQL error (400).
                    raise sqlite3.OperationalError(str(e)) from e
            return Results(rows, truncated, cursor.description)

        with trace("sql", database=self.name, sql=sql.strip(), params=params):
            results: Results = await self.execute_fn(sql_operation_in_thread)
        return results

    async def attached_databases(self) -> list[Any]:
        # Datasette lists attached databases with PRAGMA database_list, which the authorizer refuses (it
        # reveals the file's path); these connections attach nothing (SQLITE_LIMIT_ATTACHED is 0).
        return []


def _explain(error: sqlite3.Error, guard: _Guard | None) -> sqlite3.Error:
    """SQLite's "not authorized" says nothing
    about why: name the limit instead."""
    message = str(error)
    if guard is not None and guard.error and message.startswith("not authorized"):
        return sqlite3.OperationalError(guard.error)
    if message == "string or blob too big":
        return sqlite3.OperationalError(
            f"string or blob too big: a value here may be at most {MAX_VALUE_BYTES:,} bytes"
        )
    if message == "LIKE or GLOB pattern too complex":
        return sqlite3.OperationalError(f"LIKE or GLOB pattern too long: at most {MAX_LIKE_PATTERN:,} characters")
    return error

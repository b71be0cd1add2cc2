"""Helpers shared by the services: loading by id, cursor pages and full-text queries."""

from __future__ import annotations

import functools
import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Generic, Protocol, TypeVar

from sqlalchemy import Connection, Engine, TextClause, text
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.orm import Session as OrmSession
from sqlmodel import Session, SQLModel

from claimtrack.models import alias_key, utc_now
from claimtrack.services.errors import Conflict, NotFound, StaleEdit

T = TypeVar("T", bound=SQLModel)
PAGE_SIZE = 50
MAX_PAGE_SIZE = 200


def require(session: Session, model: type[T], ident: int, what: str, field: str | None = None) -> T:
    """The row with id ``ident``, or NotFound naming ``what`` (and the form ``field`` that gave the id)."""
    row = session.get(model, ident)
    if row is None:
        raise NotFound(what, ident, field)
    return row


def fts_query(q: str | None) -> str | None:
    """Turn what a person typed into a safe FTS5 query: every word must appear, operators are literal."""
    if not q:
        return None
    words = [w for w in q.replace("\x00", " ").split() if w.strip('"')]
    if not words:
        return None
    return " ".join('"' + w.replace('"', '""') + '"' for w in words[:20])


MAX_NAME_MATCHES = 100  # a list filtered by a name uses at most this many matching speakers or events
# Above every character a name can hold: "name < prefix + TOP" bounds a prefix range on the name index.
_TOP = "\U0010ffff"


@dataclass(frozen=True)
class NameFilter:
    """Speakers or events whose name matches what someone typed: the exact name if there is one, else the
    names starting with it, else (speakers) those with every typed word starting a word of the name."""

    typed: str
    ids: list[int]
    names: list[str]
    more: bool = False  # more than MAX_NAME_MATCHES matched; ids and names hold the first, by name


def match_names(
    session: Session,
    table: str,
    key: str,
    by_words: tuple[str, dict[str, Any]] | None = None,
    alias_kind: str | None = None,
) -> NameFilter:
    """Match ``key`` (a name as stored names are cleaned) in ``table``'s name column, COLLATE NOCASE with a
    UNIQUE index: the exact name, then (with ``alias_kind``) the record a merged name ``key`` now means, then a
    prefix range on that index, then ``by_words`` if given (a SELECT of id, name with its parameters, limited
    to ``:n``). At most four small indexed queries; the first that finds anything wins."""
    if not key:
        return NameFilter(key, [], [])
    limit = {"n": MAX_NAME_MATCHES + 1}
    tiers: list[tuple[str, dict[str, Any]]] = [
        (f"SELECT id, name FROM {table} WHERE name = :key", {"key": key}),
    ]
    if alias_kind:
        # A merged record's old name leads to the record it was merged into, as it does in every form.
        tiers.append(
            (
                f"""SELECT e.id, e.name FROM aliases a JOIN {table} e ON e.id = a.entity_id
                WHERE a.kind = :kind AND a.alias_key = :alias""",
                {"kind": alias_kind, "alias": alias_key(key)},
            )
        )
    tiers += [
        (
            f"SELECT id, name FROM {table} WHERE name >= :key AND name < :upper ORDER BY name LIMIT :n",
            {"key": key, "upper": key + _TOP, **limit},
        ),
    ]
    if by_words:
        tiers.append((by_words[0], {**by_words[1], **limit}))
    for sql, params in tiers:
        found = rows(session, sql, params)
        if found:
            found = found[: MAX_NAME_MATCHES + 1]
            kept = found[:MAX_NAME_MATCHES]
            return NameFilter(key, [r["id"] for r in kept], [r["name"] for r in kept], len(found) > len(kept))
    return NameFilter(key, [], [])


def insert_row(session: Session, row: T, taken: tuple[str, str]) -> T:
    """Insert a row the caller has just looked for; a concurrent insert of its unique value is ``taken``'s Conflict."""
    session.add(row)
    flush_or_conflict(session, *taken)
    return row


def refuse_taken(other: Any, row: Any, message: str, field: str | None = None) -> None:
    """An edit may keep its own unique value but not take one that ``other`` (a different row) holds."""
    if other is not None and other.id != row.id:
        raise Conflict(message, field)


def write_edit(session: Session, row: Any, values: dict[str, Any], conflict: tuple[str, str] | None = None) -> None:
    """Apply an edit's ``values`` to a row checked with ``check_version``, stamp it and flush. With ``conflict``
    (message, field), a unique value written at the same moment by someone else becomes that Conflict."""
    row.sqlmodel_update(values)
    row.updated_at = utc_now()
    session.add(row)
    if conflict is None:
        session.flush()
    else:
        flush_or_conflict(session, *conflict)


def flush_or_conflict(session: Session, message: str, field: str | None = None) -> None:
    """Flush pending writes; a UNIQUE clash raised by a concurrent writer becomes a Conflict."""
    try:
        session.flush()
    except IntegrityError as exc:
        if is_unique_violation(exc):
            raise Conflict(message, field) from None
        raise


def is_unique_violation(exc: IntegrityError) -> bool:
    """SQLite says UNIQUE in its message; PostgreSQL gives the SQLSTATE of a unique violation."""
    return "UNIQUE" in str(exc.orig) or getattr(exc.orig, "sqlstate", None) == "23505"


@dataclass
class Page(Generic[T]):
    """One page of a newest-first list, with keyset cursors (fast however deep the page)."""

    items: Sequence[Any]
    newer: int | None = None  # pass as ?after= to get the previous (newer) page
    older: int | None = None  # pass as ?before= to get the next (older) page
    extra: dict[str, Any] = field(default_factory=dict)


def keyset_page(
    session: Session,
    sql: str,
    params: dict[str, Any],
    *,
    id_column: str,
    before: int | None,
    after: int | None,
    limit: int = PAGE_SIZE,
) -> Page[Any]:
    """Run ``sql`` (a SELECT whose WHERE clause ends with ``{cursor}``) newest first, one page at a time.

    ``before`` walks to older rows, ``after`` back to newer ones; one row beyond the page tells
    whether there is more, so no COUNT(*) over a million rows is needed.
    """
    limit = max(1, min(limit, MAX_PAGE_SIZE))
    params = dict(params, _limit=limit + 1)
    if after is not None:
        cursor, order = f"AND {id_column} > :_cursor", "ASC"
        params["_cursor"] = after
    elif before is not None:
        cursor, order = f"AND {id_column} < :_cursor", "DESC"
        params["_cursor"] = before
    else:
        cursor, order = "", "DESC"
    query = sql.format(cursor=cursor) + f" ORDER BY {id_column} {order} LIMIT :_limit"
    rows = list(session.connection().execute(text(query), params).mappings())
    has_more = len(rows) > limit
    rows = rows[:limit]
    if after is not None:
        rows.reverse()
        newer = rows[0]["id"] if has_more and rows else None
        older = rows[-1]["id"] if rows else None
    else:
        newer = rows[0]["id"] if before is not None and rows else None
        older = rows[-1]["id"] if has_more and rows else None
    return Page(items=rows, newer=newer, older=older)


def fts_filter(where: list[str], params: dict[str, Any], q: str | None, fts_table: str, id_column: str) -> None:
    """Narrow a list to the rows whose full-text index matches every word of ``q`` (nothing typed: no filter)."""
    match = fts_query(q)
    if match:
        where.append(f"{id_column} IN (SELECT rowid FROM {fts_table} WHERE {fts_table} MATCH :q)")
        params["q"] = match


def counted_page(
    session: Session,
    sql: str,
    params: dict[str, Any],
    counts_sql: str,
    *,
    id_column: str,
    before: int | None,
    after: int | None,
    limit: int = PAGE_SIZE,
) -> Page[Any]:
    """``keyset_page``, with ``extra["claim_counts"]``: ``counts_sql`` (a SELECT of ``id, n`` for the ids
    ``{ids}``, one query for the whole page) counted for each row of the page."""
    page = keyset_page(session, sql, params, id_column=id_column, before=before, after=after, limit=limit)
    ids = ids_param([r["id"] for r in page.items])
    page.extra["claim_counts"] = {r["id"]: r["n"] for r in rows(session, counts_sql.format(ids=ids))}
    return page


@functools.lru_cache(maxsize=512)
def sql_text(sql: str) -> TextClause:
    """``text(sql)``, made once per distinct statement: parsing its bind parameters with a regular
    expression on every request was a measurable part of a claim page."""
    return text(sql)


class Reads(Protocol):
    """What the read functions need of a session: its connection, in a transaction (a ``Session``, or a
    ``ReadOnly`` when no ORM object is read)."""

    def connection(self) -> Connection: ...


class ReadOnly:
    """Reads that agree with each other, on one pooled connection, without an ORM session (``read_only``)."""

    __slots__ = ("_conn",)

    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    def connection(self) -> Connection:
        return self._conn


@contextmanager
def read_only(engine: Engine) -> Iterator[ReadOnly]:
    """One read transaction for functions that read with ``rows()``: on SQLite a deferred ``BEGIN`` on the
    pooled connection (the engine's statement hooks see it) and a rollback after, as a session's read
    transaction; no ORM session, whose set-up and teardown cost about 0.6 ms of a claim page's 2.4-2.9 ms."""
    with engine.connect() as conn:
        if conn.dialect.name != "sqlite":
            yield ReadOnly(conn)  # SQLAlchemy begins on the first statement and rolls back on close
            return
        with _driver_cursor(conn, "BEGIN", ()):
            pass
        try:
            yield ReadOnly(conn)
        finally:
            # Ends the snapshot (a no-op if an error already did); the pool's own reset would do it too.
            conn.connection.driver_connection.rollback()  # type: ignore[union-attr]


def rows(session: Reads, sql: str, params: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    """The rows of a SELECT (``:name`` parameters) in the session's transaction, each a dict by column.

    Sent on the session's own DB-API connection: SQLAlchemy's work around each statement (result metadata,
    row objects) cost about 80 µs of the 100 µs of a one-row read, a tenth of a claim page's six. The
    engine's ``before_cursor_execute`` hooks still see the statement, and an error is raised as the
    SQLAlchemy error it would have been (OperationalError, IntegrityError, ...), so callers see no difference.
    """
    conn = session.connection()  # begins the session's transaction, as execute() would
    if conn.dialect.name != "sqlite":  # the short path below speaks sqlite3's placeholders and errors
        return [dict(row) for row in conn.execute(sql_text(sql), params or {}).mappings()]
    with _driver_cursor(conn, sql, params or {}) as cursor:
        names = [d[0] for d in cursor.description]
        return [dict(zip(names, row)) for row in cursor.fetchall()]


@contextmanager
def _driver_cursor(conn: Connection, sql: str, params: Any, many: bool = False) -> Iterator[sqlite3.Cursor]:
    """``sql`` run on a SQLite connection's own DB-API cursor (``executemany`` with ``many``), the engine's
    ``before_cursor_execute`` hooks told first; a sqlite3 error is raised as SQLAlchemy's error for it."""
    cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
    conn.dispatch.before_cursor_execute(conn, cursor, sql, params, None, many)
    try:
        if many:
            cursor.executemany(sql, params)
        else:
            cursor.execute(sql, params)
        yield cursor
    except sqlite3.Error as exc:
        raise DBAPIError.instance(sql, params, exc, sqlite3.Error) from exc
    finally:
        cursor.close()


def insert(session: Session, table: str, values: dict[str, Any], returning: str | None = None) -> Any:
    """One INSERT of ``values`` (column -> value) into ``table`` on the session's transaction, no ORM object
    and no statement compiled by SQLAlchemy; the ``returning`` column of the new row, if asked for.
    Nothing pending in the session is flushed first: the caller does that when it matters. On SQLite it is
    sent on the DB-API cursor, as ``rows`` sends its SELECTs (SQLAlchemy's execution took 30-45 µs a statement)."""
    connection = session.connection()
    # The driver's own named placeholders: sqlite3 reads ``:name``, psycopg ``%(name)s``.
    mark = "%({})s" if connection.dialect.paramstyle == "pyformat" else ":{}"
    sql = f"INSERT INTO {table} ({', '.join(values)}) VALUES ({', '.join(mark.format(c) for c in values)})"
    if returning is not None:
        sql = f"{sql} RETURNING {returning}"
    if connection.dialect.name == "sqlite":
        with _driver_cursor(connection, sql, values) as cursor:
            return cursor.fetchone()[0] if returning is not None else None
    if returning is None:
        connection.exec_driver_sql(sql, values)
        return None
    return connection.exec_driver_sql(sql, values).scalar_one()


def execute_many(session: OrmSession, sql: str, params: list[dict[str, Any]]) -> None:
    """``sql`` (``:name`` parameters) once for each of ``params``, in one call on the session's transaction:
    on SQLite on the DB-API cursor (as ``insert``), elsewhere through SQLAlchemy."""
    connection = session.connection()
    if connection.dialect.name == "sqlite":
        with _driver_cursor(connection, sql, params, many=True):
            return
    connection.execute(sql_text(sql), params)


def insert_record(
    session: Session, model: type[SQLModel], values: dict[str, Any], conflict: tuple[str, str] | None = None
) -> int:
    """A new claim or link by one plain INSERT, as the ORM would write it (an ORM object cost more CPU than the
    rest of a save): what the ORM still holds is flushed first; version, retracted and the timestamps are
    stated rather than left to the SQLite columns' defaults (the migrations'), which a schema made from the
    models alone (PostgreSQL) does not have; its history is queued as the flush hook would queue it. With
    ``conflict`` (message, field), a unique value written at the same moment is that Conflict."""
    from claimtrack.services import history

    session.flush()
    now = utc_now()
    stated = {**values, "version": 1, "retracted": False, "created_at": now, "updated_at": now}
    try:
        new_id = int(insert(session, str(model.__tablename__), stated, returning="id"))
    except IntegrityError as exc:
        if conflict is None or not is_unique_violation(exc):
            raise
        raise Conflict(*conflict) from None
    history.record_insert(session, model, new_id, values)
    return new_id


def ids_param(ids: Sequence[int]) -> str:
    """Inline a list of integer ids into SQL (they are ints from the database, never user text)."""
    return ",".join(str(int(i)) for i in ids) or "NULL"


def check_version(row: Any, expected: int | None, what: str) -> None:
    """Refuse an edit made on a stale copy; then move the version on. ``None`` skips the check (CLI, seeds)."""
    if expected is not None and row.version != expected:
        raise StaleEdit(what, row.id, row.version)
    row.version += 1


def retract(row: Any, reason: str, what: str, expected_version: int | None) -> None:
    """Mark a claim or link retracted (never deleted), refusing a stale request like any edit."""
    from claimtrack.models import utc_now

    if row.retracted:
        raise Conflict(f"This {what} is already retracted.", "reason")
    check_version(row, expected_version, what)
    row.retracted = True
    row.retracted_at = utc_now()
    row.retracted_reason = reason
    row.updated_at = row.retracted_at


def unretract(session: Session, row: Any, reason: str, what: str, entity: str, expected_version: int | None) -> None:
    """Undo a retraction, refusing a stale request; the reason goes into the history beside the change."""
    from claimtrack.models import ChangeHistory, utc_now

    if not row.retracted:
        raise Conflict(f"This {what} is not retracted.", "reason")
    check_version(row, expected_version, what)
    row.retracted = False
    row.retracted_at = None
    row.retracted_reason = None
    row.updated_at = utc_now()
    session.add(row)
    session.flush()  # records the cleared fields (and refuses a write that names no actor)
    # The history keeps one row per changed field; the reason is a row of its own, like a note.
    session.add(
        ChangeHistory(
            changed_at=row.updated_at,
            username=session.info["actor"],
            entity=entity,
            entity_id=row.id,
            action="edit",
            field="unretract_reason",
            new_value=reason,
        )
    )
    session.flush()

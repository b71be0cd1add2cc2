"""Names that merged speakers, sources and events were known by, and the records they now mean."""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, TextClause, event, literal_column, text
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Mapper
from sqlmodel import Session, select

from claimtrack.models import Alias, Event, Source, Speaker, alias_key

TABLES = {"speaker": "speakers", "source": "sources", "event": "events"}


def next_id_sql(kind: str, dialect: str = "sqlite") -> str:
    """SQL for the id a new ``kind`` record gets: above every id it has, and every id merged away.

    SQLite gives a new row max(id) + 1, so a merged record that had the highest id would hand its id, its old
    page address and its history to the next record created. Every insert of a speaker, source or event
    takes its id from here (the ORM hook below, the importer, the generator). ``dialect`` is SQLAlchemy's
    name of the database the SQL is for (``sqlite``, ``postgresql``).
    """
    table = TABLES[kind]
    # The larger of two values is SQLite's two-argument max(); other databases call it greatest().
    larger = "max" if dialect == "sqlite" else "greatest"
    return f"""(SELECT {larger}(coalesce((SELECT max(id) FROM {table}), 0),
        coalesce((SELECT max(old_id) FROM merged_entities WHERE kind = '{kind}'), 0)) + 1)"""


def next_id_lock(kind: str) -> TextClause:
    """PostgreSQL: wait for the other transactions creating a ``kind`` record to end (an advisory lock held
    until this transaction ends), so that the id computed next sees their rows."""
    return text("SELECT pg_advisory_xact_lock(hashtext(:name))").bindparams(name=f"claimtrack.next_id.{kind}")


def _give_id(kind: str) -> Any:
    # An SQL expression, not a value: it is written into the INSERT itself and the id read back with
    # RETURNING, so a new record costs no statement of its own for this. Built once per database dialect.
    expressions: dict[str, ColumnElement[int]] = {}

    def before_insert(_mapper: Mapper[Any], connection: Connection, target: Any) -> None:
        if target.id is None:
            dialect = connection.dialect.name
            if dialect not in expressions:
                expressions[dialect] = literal_column(next_id_sql(kind, dialect))
            if dialect == "postgresql":
                # SQLite's BEGIN IMMEDIATE already queues writers. Under PostgreSQL's READ COMMITTED two
                # transactions would compute the same id; one at a time per kind, until commit, they cannot.
                connection.execute(next_id_lock(kind))
            target.id = expressions[dialect]

    return before_insert


for _model, _kind in ((Speaker, "speaker"), (Source, "source"), (Event, "event")):
    event.listen(_model, "before_insert", _give_id(_kind))


def aliased_id(session: Session, kind: str, name: str | None) -> int | None:
    """The id of the ``kind`` record that ``name`` is an alias of (matched by key), or None."""
    key = alias_key(name or "")
    if not key:
        return None
    return session.exec(select(Alias.entity_id).where(Alias.kind == kind, Alias.alias_key == key)).first()


def aliases_of(session: Session, kind: str, entity_id: int) -> list[str]:
    """Every alias of a record, in the order they were added."""
    stmt = select(Alias.alias).where(Alias.kind == kind, Alias.entity_id == entity_id).order_by(Alias.id)  # type: ignore[arg-type]
    return list(session.exec(stmt).all())

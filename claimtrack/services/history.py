"""The edit history: every create, edit, link, verdict change and retraction, with who, when and what.

Recorded by a SQLAlchemy ``after_flush`` hook and written in one statement just before the commit, so no
write path can forget it: the web app, the CLI and the seed loader all go through the ORM, except the
new claim, citation and link rows of ``services.claims``/``services.links``, written by plain INSERTs (an ORM
object cost more than the rest of the insert) that queue their rows with ``record_insert`` in the same way.
Who made the change comes from ``session.info["actor"]``,
set by ``claimtrack.db.write_session(engine, actor=...)``; writes without one are refused.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from sqlalchemy import event, inspect, text
from sqlalchemy.orm import Session as OrmSession
from sqlalchemy.orm import UOWTransaction

from claimtrack.models import (
    CLAIM_VALUE_FIELDS,
    ChangeHistory,
    Claim,
    ClaimLink,
    ClaimSource,
    Event,
    Source,
    Speaker,
    utc_now,
)
from claimtrack.services.common import Reads, execute_many
from claimtrack.services.common import rows as select_rows  # ``rows`` names the history rows here

# Table model -> (entity name in the history, fields worth recording)
TRACKED: dict[type, tuple[str, tuple[str, ...]]] = {
    Claim: (
        "claim",
        (
            "text",
            "verbatim",
            "speaker_id",
            "event_id",
            *CLAIM_VALUE_FIELDS,
            "retracted",
            "retracted_reason",
        ),
    ),
    Speaker: ("speaker", ("name", "kind", "description", "anonymous", "affiliation_id")),
    Source: ("source", ("title", "outlet", "url", "published_on")),
    Event: ("event", ("name", "description", "starts_on", "ends_on")),
    ClaimLink: ("link", ("from_claim_id", "to_claim_id", "relation", "note", "retracted", "retracted_reason")),
}
VERDICT_FIELDS = {"verdict", "verdict_rationale"}
RETRACTION_FIELDS = {"retracted", "retracted_reason"}


class MissingActor(RuntimeError):
    """A write was attempted without saying who makes it."""


def _text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "1" if value else "0"
    return str(value)


def _edit_action(entity: str, field: str, retracted: bool = True) -> str:
    if field in RETRACTION_FIELDS:
        # Undoing a retraction is an edit: "retract" rows would read as if it were retracted again.
        return "retract" if retracted else "edit"
    if entity == "claim" and field in VERDICT_FIELDS:
        return "verdict"
    return "edit"


def _created_rows(model: type, entity_id: int | None, value_of: Callable[[str], Any]) -> list[dict[str, Any]]:
    """The rows of a new record: one per tracked field that holds something."""
    entity, fields = TRACKED[model]
    action = "link" if entity == "link" else "create"
    rows = []
    for field in fields:
        value = value_of(field)
        if value is not None and value is not False and field not in RETRACTION_FIELDS:
            rows.append(
                {
                    "entity": entity,
                    "entity_id": entity_id,
                    "action": action,
                    "field": field,
                    "old_value": None,
                    "new_value": _text(value),
                }
            )
    return rows


def _citation_rows(claim_id: int | None, source_id: int | None, is_new: bool) -> list[dict[str, Any]]:
    # Citing a source (or no longer citing it) is part of the claim's record.
    value = _text(source_id)
    return [
        {
            "entity": "claim",
            "entity_id": claim_id,
            "action": "edit",
            "field": "source_id",
            "old_value": None if is_new else value,
            "new_value": value if is_new else None,
        }
    ]


def _rows_for(obj: Any, is_new: bool) -> list[dict[str, Any]]:
    if isinstance(obj, ClaimSource):
        return _citation_rows(obj.claim_id, obj.source_id, is_new)
    if is_new:
        return _created_rows(type(obj), obj.id, lambda field: getattr(obj, field, None))
    entity, fields = TRACKED[type(obj)]
    rows = []
    state = inspect(obj)
    for field in fields:
        hist = state.attrs[field].history
        if not hist.has_changes():
            continue
        old = hist.deleted[0] if hist.deleted else None
        new = hist.added[0] if hist.added else None
        if _text(old) == _text(new):
            continue
        rows.append(
            {
                "entity": entity,
                "entity_id": obj.id,
                "action": _edit_action(entity, field, bool(getattr(obj, "retracted", True))),
                "field": field,
                "old_value": _text(old),
                "new_value": _text(new),
            }
        )
    return rows


_PENDING = "claimtrack.pending_history"
# The history table's columns, from its model (the one description of the table): every one but the id.
_HISTORY_COLUMNS = [c.name for c in ChangeHistory.__table__.columns if c.name != "id"]  # type: ignore[attr-defined]
_INSERT_HISTORY = f"INSERT INTO change_history ({', '.join(_HISTORY_COLUMNS)}) VALUES ({', '.join(':' + c for c in _HISTORY_COLUMNS)})"


@event.listens_for(OrmSession, "after_flush")
def _record(session: OrmSession, _flush: UOWTransaction) -> None:
    changes: list[dict[str, Any]] = []
    for obj in session.new:
        if type(obj) in TRACKED or isinstance(obj, ClaimSource):
            changes += _rows_for(obj, is_new=True)
    for obj in session.dirty:
        if type(obj) in TRACKED and session.is_modified(obj, include_collections=False):
            changes += _rows_for(obj, is_new=False)
    for obj in session.deleted:
        if isinstance(obj, ClaimSource):
            changes += _rows_for(obj, is_new=False)
    _queue(session, changes)


def _queue(session: OrmSession, changes: list[dict[str, Any]]) -> None:
    if not changes:
        return
    actor = session.info.get("actor")
    if not actor:
        raise MissingActor("every write must name who makes it (write_session(engine, actor=...))")
    now = utc_now()
    # Kept until the commit: a new claim flushes up to six times (speaker, affiliation, event, claim,
    # source, citation), and one INSERT per flush was a third of the statements of a write.
    session.info.setdefault(_PENDING, []).extend(dict(row, changed_at=now, username=actor) for row in changes)


def record_insert(session: OrmSession, model: type, entity_id: int, values: Mapping[str, Any]) -> None:
    """The history of a row of ``model`` inserted by a plain INSERT (the new-claim path, without ORM objects):
    the same rows the flush hook records for a new object, queued in the same order with them."""
    _queue(session, _created_rows(model, entity_id, values.get))


def record_citation(session: OrmSession, claim_id: int, source_id: int) -> None:
    """The history of a claim_sources row inserted by a plain INSERT (see record_insert)."""
    _queue(session, _citation_rows(claim_id, source_id, is_new=True))


@event.listens_for(OrmSession, "before_commit")
def _write_pending(session: OrmSession) -> None:
    session.flush()  # what is still unflushed records its rows now, not after this hook has run
    pending = session.info.pop(_PENDING, None)
    if pending:
        # One executemany in the same transaction: the history commits with the change, or neither does.
        # Sent on the DB-API cursor where it can be (common.execute_many): SQLAlchemy's executemany cost more
        # CPU than SQLite's inserts. Every queued row holds the same keys, its values are text and numbers.
        execute_many(session, _INSERT_HISTORY, pending)


@event.listens_for(OrmSession, "after_rollback")
def _drop_pending(session: OrmSession) -> None:
    session.info.pop(_PENDING, None)  # rolled back changes leave no history


# Fields that hold the id of another record: the history shows that record's name beside the id.
_REFERENCES = {
    "speaker_id": ("speakers", "name"),
    "affiliation_id": ("speakers", "name"),
    "event_id": ("events", "name"),
    "source_id": ("sources", "coalesce(title, url, outlet)"),
    "from_claim_id": ("claims", "text"),
    "to_claim_id": ("claims", "text"),
}

_MERGED_KINDS = {"speakers": "speaker", "sources": "source", "events": "event"}


def history_for(session: OrmSession, entity: str, entity_id: int, limit: int = 500) -> list[dict[str, Any]]:
    """A record's changes, newest first; ids of other records are shown with their names ("16 (ICRC)")."""
    rows = [
        dict(row)
        for row in session.connection()
        .execute(
            text("""SELECT id, changed_at, username, action, field, old_value, new_value FROM change_history
                WHERE entity = :entity AND entity_id = :id ORDER BY id DESC LIMIT :limit"""),
            {"entity": entity, "id": entity_id, "limit": limit},
        )
        .mappings()
    ]
    name_references(session, rows)
    return rows


def name_references(session: Reads, rows: list[dict[str, Any]]) -> None:
    """Show ids of other records in history rows with their names ("16 (ICRC)"), in place.

    One query for every referenced table (a UNION ALL), so a page's query count does not depend on what its
    history happens to mention."""
    wanted: dict[str, set[int]] = {}
    for row in rows:
        if row["field"] in _REFERENCES:
            table = _REFERENCES[row["field"]][0]
            for value in (row["old_value"], row["new_value"]):
                if value and value.isascii() and value.isdigit():
                    wanted.setdefault(table, set()).add(int(value))
    if not wanted:
        return
    parts = []
    for table, ids in sorted(wanted.items()):
        column = next(col for tbl, col in _REFERENCES.values() if tbl == table)
        id_list = ",".join(str(i) for i in sorted(ids))
        parts.append(f"SELECT '{table}' AS tbl, id, {column} AS name FROM {table} WHERE id IN ({id_list})")
    names = {(r["tbl"], str(r["id"])): r["name"] for r in select_rows(session, " UNION ALL ".join(parts))}
    # A merged speaker, source or event has no row any more: it is named as it was when it was merged.
    gone = [
        f"(kind = '{_MERGED_KINDS[table]}' AND old_id = {ref_id})"
        for table, ids in sorted(wanted.items())
        if table in _MERGED_KINDS
        for ref_id in sorted(ids)
        if (table, str(ref_id)) not in names
    ]
    if gone:
        tables = {kind: table for table, kind in _MERGED_KINDS.items()}
        found = select_rows(session, f"SELECT kind, old_id, name FROM merged_entities WHERE {' OR '.join(gone)}")
        for r in found:
            names[(tables[r["kind"]], str(r["old_id"]))] = f"{r['name']}, merged"
    for row in rows:
        if row["field"] in _REFERENCES:
            table = _REFERENCES[row["field"]][0]
            for key in ("old_value", "new_value"):
                name = names.get((table, row[key] or ""))
                if name:
                    short = name if len(name) <= 80 else name[:77] + "…"
                    row[key] = f"{row[key]} ({short})"

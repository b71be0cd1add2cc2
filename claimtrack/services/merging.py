"""Merging a duplicate speaker, source or event into the one to keep.

One write moves everything that points at the duplicate (claims, members, citations) to the kept record,
keeps the duplicate's name as an alias of it, records where it went, and deletes the duplicate's row.

Deleted, not hidden: a hidden row would keep its name (UNIQUE) and turn up in every list, count, search,
autocomplete and Datasette view unless each of them learnt to leave it out. Its history stays in
``change_history`` under its old id, its name in ``aliases`` and ``merged_entities``, and its old page
address answers with the kept record's page.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import text
from sqlmodel import Session, func, select

from claimtrack.models import Alias, ChangeHistory, Event, MergedEntity, Source, Speaker, alias_key, utc_now
from claimtrack.services.aliases import aliased_id
from claimtrack.services.common import check_version, rows
from claimtrack.services.errors import InvalidInput, NotFound
from claimtrack.services.events import find_event
from claimtrack.services.sources import source_alias
from claimtrack.services.speakers import _is_member, find_speaker

KINDS = ("speaker", "source", "event")
_MODELS: dict[str, type[Speaker] | type[Source] | type[Event]] = {"speaker": Speaker, "source": Source, "event": Event}


@dataclass(frozen=True)
class MergeResult:
    kind: str
    old_id: int
    old_name: str
    kept_id: int
    kept_name: str
    claims_moved: int


def label(row: Any) -> str:
    """How a speaker, event or source is named in messages and aliases."""
    if isinstance(row, Source):
        return row.title or row.url or row.outlet or f"source {row.id}"
    return str(row.name)


def merged_into(session: Session, kind: str, old_id: int) -> int | None:
    """Where a merged record went, following chains (A into B, then B into C: C); None if it was not merged."""
    found = rows(
        session,
        """WITH RECURSIVE chain(id, depth) AS (
               SELECT kept_id, 1 FROM merged_entities WHERE kind = :kind AND old_id = :id
               UNION ALL
               SELECT m.kept_id, c.depth + 1 FROM merged_entities m JOIN chain c ON m.kind = :kind AND m.old_id = c.id
               WHERE c.depth < 1000)
           SELECT id FROM chain ORDER BY depth DESC LIMIT 1""",
        {"kind": kind, "id": old_id},
    )
    return int(found[0]["id"]) if found else None


def _get(session: Session, kind: str, ident: int) -> Any:
    return session.get(_MODELS[kind], ident)


def _missing(session: Session, kind: str, ident: int, field: str | None) -> NotFound:
    kept = merged_into(session, kind, ident)
    if kept is None:
        return NotFound(kind, ident, field)
    return NotFound(kind, ident, field, f"{kind.capitalize()} {ident} was merged into {kind} {kept}.")


def _find_by_name(session: Session, kind: str, name: str) -> Any:
    if kind == "speaker":
        return find_speaker(session, name)
    if kind == "event":
        return find_event(session, name)
    # A source by its exact URL, else by its title (which must then name one source only), else an alias.
    source = session.exec(select(Source).where(Source.url == name)).first()
    if source is not None:
        return source
    titled = session.exec(select(Source).where(func.lower(Source.title) == name.lower()).limit(2)).all()
    if len(titled) > 1:
        raise InvalidInput({"into": f"Several sources are titled {name!r}: give the id of the one to keep."})
    if titled:
        return titled[0]
    kept = aliased_id(session, "source", name)
    return session.get(Source, kept) if kept is not None else None


def find_target(session: Session, kind: str, into: str) -> Any:
    """The record to keep, as typed: its id, or its exact name (a source: its URL or title)."""
    into = (into or "").strip()
    if not into:
        raise InvalidInput({"into": f"Give the id or the exact name of the {kind} to keep."})
    if into.isascii() and into.isdigit() and len(into) <= 18:
        ident = int(into)
        row = _get(session, kind, ident)
        if row is not None:
            return row
        kept = merged_into(session, kind, ident)
        if kept is not None:
            raise InvalidInput(
                {"into": f"{kind.capitalize()} {ident} was itself merged into {kind} {kept}: merge into that one."}
            )
        raise NotFound(kind, ident, "into")
    row = _find_by_name(session, kind, into)
    if row is None:
        what = "URL or title" if kind == "source" else "name"
        raise NotFound(kind, into, "into", f"No {kind} has the {what} {into!r}. Give its id or its exact {what}.")
    return row


def merge(session: Session, kind: str, old_id: int, into: str, expected_version: int | None = None) -> MergeResult:
    """Merge the ``kind`` record ``old_id`` into the one ``into`` names; call inside one write session.

    Everything is checked before anything is written, and the caller's transaction (BEGIN IMMEDIATE) makes
    the merge all or nothing.
    """
    if kind not in KINDS:
        raise ValueError(kind)
    old = _get(session, kind, old_id)
    if old is None:
        raise _missing(session, kind, old_id, None)
    kept = find_target(session, kind, into)
    if kept.id == old.id:
        raise InvalidInput({"into": f"A {kind} cannot be merged into itself."})
    if kind == "speaker" and _is_member(session, kept.id, old.id):
        # Its members would move to the kept speaker, which (directly or not) is one of them: a loop.
        raise InvalidInput(
            {"into": f"{kept.name} speaks for {old.name}: merging {old.name} into it would make it speak for itself."}
        )
    check_version(old, expected_version, kind)
    old_name, now, actor = label(old), utc_now(), session.info["actor"]
    params = {"old": old.id, "kept": kept.id, "now": now, "actor": actor}
    if kind == "speaker":
        moved = _move_claims(session, "speaker_id", params)
        _move_members(session, params)
    elif kind == "event":
        moved = _move_claims(session, "event_id", params)
    else:
        moved = _move_citations(session, params)
    _keep_names(session, kind, old, kept, old_name, now)
    session.delete(old)
    session.flush()
    _fill_gaps(session, kind, old, kept, now)
    session.add_all(
        [
            ChangeHistory(
                changed_at=now, username=actor, entity=kind, entity_id=old.id, action="edit",
                field="merged_into", old_value=old_name, new_value=str(kept.id),
            ),
            ChangeHistory(
                changed_at=now, username=actor, entity=kind, entity_id=kept.id, action="edit",
                field="merged_from", old_value=str(old.id), new_value=old_name,
            ),
        ]
    )  # fmt: skip
    session.flush()
    return MergeResult(kind, old.id, old_name, kept.id, label(kept), moved)


def _history_of_claims(session: Session, field: str, where: str, params: dict[str, Any]) -> None:
    """One history row per claim whose ``field`` moves from the old record to the kept one."""
    session.connection().execute(
        text(f"""INSERT INTO change_history (changed_at, username, entity, entity_id, action, field, old_value, new_value)
            SELECT :now, :actor, 'claim', id, 'edit', '{field}', CAST(:old AS TEXT), CAST(:kept AS TEXT)
            FROM claims WHERE {where} ORDER BY id"""),
        params,
    )


def _move_claims(session: Session, column: str, params: dict[str, Any]) -> int:
    _history_of_claims(session, column, f"{column} = :old", params)
    # The version moves on: an edit form opened before the merge is refused, not saved over it unseen.
    result = session.connection().execute(
        text(f"UPDATE claims SET {column} = :kept, version = version + 1, updated_at = :now WHERE {column} = :old"),
        params,
    )
    return int(result.rowcount)


def _move_members(session: Session, params: dict[str, Any]) -> None:
    """Who spoke for the old speaker now speaks for the kept one."""
    session.connection().execute(
        text("""INSERT INTO change_history (changed_at, username, entity, entity_id, action, field, old_value, new_value)
            SELECT :now, :actor, 'speaker', id, 'edit', 'affiliation_id', CAST(:old AS TEXT), CAST(:kept AS TEXT)
            FROM speakers WHERE affiliation_id = :old ORDER BY id"""),
        params,
    )
    session.connection().execute(
        text("""UPDATE speakers SET affiliation_id = :kept, version = version + 1, updated_at = :now
            WHERE affiliation_id = :old"""),
        params,
    )


def _move_citations(session: Session, params: dict[str, Any]) -> int:
    """Claims citing the old source cite the kept one, once (a claim citing both keeps one citation)."""
    cited = "claim_id IN (SELECT claim_id FROM claim_sources WHERE source_id = :old)"
    _history_of_claims(session, "source_id", cited.replace("claim_id IN", "id IN"), params)
    conn = session.connection()
    # Inserted and deleted rather than updated: the search index's triggers follow inserts and deletes.
    conn.execute(
        text("""INSERT INTO claim_sources (claim_id, source_id, created_at)
            SELECT claim_id, :kept, created_at FROM claim_sources
            WHERE source_id = :old AND claim_id NOT IN (SELECT claim_id FROM claim_sources WHERE source_id = :kept)
            ORDER BY id"""),
        params,
    )
    result = conn.execute(text("DELETE FROM claim_sources WHERE source_id = :old"), params)
    return int(result.rowcount)


def _keep_names(session: Session, kind: str, old: Any, kept: Any, old_name: str, now: str) -> None:
    """The old record's aliases and its own name (a source: its URL, else title) now mean the kept record."""
    conn = session.connection()
    conn.execute(
        text("UPDATE aliases SET entity_id = :kept WHERE kind = :kind AND entity_id = :old"),
        {"kind": kind, "old": old.id, "kept": kept.id},
    )
    name: str = (source_alias(old.url, old.title, old.outlet) if kind == "source" else old.name) or old_name
    key = alias_key(name)
    exists = session.exec(select(Alias.id).where(Alias.kind == kind, Alias.alias_key == key)).first()
    if key and exists is None:
        session.add(Alias(kind=kind, entity_id=kept.id, alias=name, alias_key=key, created_at=now))
    session.add(MergedEntity(kind=kind, old_id=old.id, kept_id=kept.id, name=old_name, merged_at=now))


def _fill_gaps(session: Session, kind: str, old: Any, kept: Any, now: str) -> None:
    """What the kept record lacks and the old one had is taken over; nothing the kept record has is replaced."""
    changed = False
    names: tuple[str, ...]
    if kind == "speaker":
        parent = old.affiliation_id
        # The old speaker's organisation, unless that is the kept speaker or one who speaks for it (a loop).
        if kept.affiliation_id is None and parent is not None and not _is_member(session, parent, kept.id):
            kept.affiliation_id = parent
            changed = True
        names = ("description",)
    elif kind == "event":
        names = ("description", "starts_on", "ends_on") if not (kept.starts_on or kept.ends_on) else ("description",)
    else:
        names = ("title", "outlet", "published_on", "url")  # the old URL is free: its row is gone
    for name in names:
        if getattr(kept, name) is None and getattr(old, name) is not None:
            setattr(kept, name, getattr(old, name))
            changed = True
    if changed:
        kept.version += 1
        kept.updated_at = now
        session.add(kept)
        session.flush()


def merge_history(session: Session, kind: str, entity_id: int, kept_name: str) -> list[dict[str, Any]]:
    """The records merged into this one, newest first, as history rows: who merged what, and when."""
    found = rows(
        session,
        """SELECT id, changed_at, username, action, field, old_value, new_value FROM change_history
        WHERE entity = :kind AND entity_id = :id AND field = 'merged_from' ORDER BY id DESC LIMIT 500""",
        {"kind": kind, "id": entity_id},
    )
    return [
        {
            **row,
            "field": f"{kind} merged into this one",
            "old_value": f"{row['new_value']} ({kind} {row['old_value']})",
            "new_value": kept_name,
        }
        for row in found
    ]

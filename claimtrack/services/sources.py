"""Sources: the reports (outlet, title, URL, date) in which claims appeared."""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, and_, case, or_
from sqlmodel import Session, col, select

from claimtrack.models import Alias, Source, SourceCreate, SourceUpdate, alias_key, utc_now
from claimtrack.services.common import (
    Page,
    check_version,
    counted_page,
    fts_filter,
    insert_row,
    refuse_taken,
    require,
    write_edit,
)
from claimtrack.services.errors import InvalidInput
from claimtrack.services.names import NameGuard, near_candidates, refuse_new


def find_source(session: Session, data: SourceCreate) -> Source | None:
    """A source is the same source if it has the same URL; without a URL, the same title and outlet.

    Failing that, a source merged into another left its URL (or, without one, its title) as an alias of the
    kept source: typing it again lands there.
    """
    same: ColumnElement[bool]
    if data.url:
        same = col(Source.url) == data.url
    else:
        # Case aside (NOCASE: ASCII letters folded), as the importer matches it; a missing title
        # or outlet (stored as NULL, never as '') matches a missing one. IS on SQLite, IS NOT DISTINCT FROM elsewhere.
        same = and_(
            col(Source.title).collate("NOCASE").is_not_distinct_from(data.title),
            col(Source.outlet).collate("NOCASE").is_not_distinct_from(data.outlet),
            Source.url.is_(None),  # type: ignore[union-attr]
        )
    # One statement: the source itself first, else the one its alias names (a write reads as little as it can).
    key = alias_key(source_alias(data.url, data.title, data.outlet) or "")
    by_alias = select(Alias.entity_id).where(Alias.kind == "source", Alias.alias_key == key).scalar_subquery()
    stmt = select(Source).where(or_(same, col(Source.id) == by_alias)).order_by(case((same, 0), else_=1)).limit(1)
    return session.exec(stmt).first()


def source_alias(url: str | None, title: str | None, outlet: str | None) -> str | None:
    """What identifies a source when it is typed again: its URL, else its title, else its outlet."""
    return url or title or outlet


def resolve_source(session: Session, data: SourceCreate) -> Source | None:
    """Match or create the source a claim cites; ``None`` when no source was given."""
    if data.is_empty():
        return None
    return use_source(session, data, find_source(session, data))


def use_source(session: Session, data: SourceCreate, source: Source | None) -> Source | None:
    """resolve_source with the caller's own find_source(session, data): the source, or None to create it."""
    if data.is_empty():
        return None
    if source is None:
        return _insert_source(session, data)
    changed = False
    for name in ("title", "outlet", "published_on"):  # fill gaps, never overwrite
        if getattr(source, name) is None and getattr(data, name) is not None:
            setattr(source, name, getattr(data, name))
            changed = True
    if changed:
        source.updated_at = utc_now()
        session.add(source)
    return source


def near_sources(session: Session, data: SourceCreate, names: NameGuard | None) -> list[Any]:
    """Sources with a title (or outlet) near the one of a source ``data`` would add (see names.near_candidates)."""
    return near_candidates(session, "source", data.title or data.outlet, names)


def create_source(session: Session, data: SourceCreate, names: NameGuard | None = None) -> Source:
    """Add a source; with ``names`` (the web form), NearNames when a similar title exists and is not confirmed."""
    if data.is_empty():
        raise InvalidInput({"title": "Give the source a title, an outlet or a URL."})
    # Only a URL makes a source the same source; a title alone may be near others (NearNames).
    existing = find_source(session, data) if data.url else None
    refuse_new(session, "source", existing, data.title or data.outlet, names, _taken(data))
    return _insert_source(session, data)


def _taken(data: SourceCreate) -> tuple[str, str]:
    return f"A source with the URL {data.url} already exists.", "url"


def _insert_source(session: Session, data: SourceCreate) -> Source:
    return insert_row(session, Source(**data.model_dump()), _taken(data))


def get_source(session: Session, source_id: int) -> Source:
    return require(session, Source, source_id, "source")


def update_source(session: Session, source_id: int, data: SourceUpdate, expected_version: int | None = None) -> Source:
    source = get_source(session, source_id)
    check_version(source, expected_version, "source")
    if data.is_empty():
        raise InvalidInput({"title": "Give the source a title, an outlet or a URL."})
    taken = f"Another source already has the URL {data.url}."
    if data.url:
        refuse_taken(find_source(session, data), source, taken, "url")
    write_edit(session, source, data.model_dump(exclude_unset=True), (taken, "url"))
    return source


def list_sources(
    session: Session, q: str | None = None, before: int | None = None, after: int | None = None
) -> Page[Any]:
    where: list[str] = ["1=1"]
    params: dict[str, Any] = {}
    fts_filter(where, params, q, "sources_fts", "s.id")
    sql = f"SELECT s.id, s.title, s.outlet, s.url, s.published_on FROM sources s WHERE {' AND '.join(where)} {{cursor}}"
    # Live claims only: the source's page lists no retracted claim, so the count leaves them out too.
    counts = """SELECT cs.source_id AS id, count(*) AS n FROM claim_sources cs JOIN claims c ON c.id = cs.claim_id
        WHERE cs.source_id IN ({ids}) AND c.retracted = 0 GROUP BY cs.source_id"""
    return counted_page(session, sql, params, counts, id_column="s.id", before=before, after=after)

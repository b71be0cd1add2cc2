"""Claims for programs: the JSON API's list (keyset pages, the list page's filters plus language) and detail."""

from __future__ import annotations

from typing import Any

from sqlmodel import Session

from claimtrack.models import Claim
from claimtrack.services.claims import ListFilters
from claimtrack.services.common import Page, ids_param, keyset_page, require, rows
from claimtrack.services.search import FTS as SEARCH_FTS
from claimtrack.services.search import match_all

_FIELDS = """c.id, c.text, c.language, c.translation, c.translated_by, c.verbatim, c.stated_on, c.stated_time,
    c.context, c.verdict, c.verdict_rationale, c.rating_text, c.review_url, c.review_author, c.review_date,
    c.external_source, c.external_id, c.retracted, c.retracted_reason, c.created_at, c.updated_at, c.version,
    c.speaker_id, s.name AS speaker, s.kind AS speaker_kind, c.event_id, e.name AS event"""
_FROM = "FROM claims c JOIN speakers s ON s.id = c.speaker_id LEFT JOIN events e ON e.id = c.event_id"


def list_claims(session: Session, filters: ListFilters, before: int | None, after: int | None, limit: int) -> Page[Any]:
    where = ["1=1" if filters.include_retracted else "c.retracted = 0"]
    params: dict[str, Any] = {}
    source, id_column = "claims c", "c.id"
    # The list page's search (services.search): stems and word prefixes, in the statement, the speaker's
    # name and the sources. Paged on the index's rowid: an IN (subquery) would list every match first.
    match = match_all(filters.q)
    if match:
        source, id_column = f"{SEARCH_FTS} f JOIN claims c ON c.id = f.rowid", "f.rowid"
        where.append(f"f.{SEARCH_FTS} MATCH :q")
        params["q"] = match
    for column, value in (
        ("speaker_id", filters.speaker_id),
        ("event_id", filters.event_id),
        ("verdict", filters.verdict),
        ("language", filters.language),
    ):
        if value is not None:
            where.append(f"c.{column} = :{column}")
            params[column] = value
    page = keyset_page(
        session,
        f"SELECT c.id AS id FROM {source} WHERE {' AND '.join(where)} {{cursor}}",
        params,
        id_column=id_column,
        before=before,
        after=after,
        limit=limit,
    )
    ids = [r["id"] for r in page.items]
    details = {r["id"]: r for r in rows(session, f"SELECT {_FIELDS} {_FROM} WHERE c.id IN ({ids_param(ids)})")}
    page.items = [details[i] for i in ids]
    return page


def claim_detail(session: Session, claim_id: int) -> dict[str, Any]:
    """One claim with its sources, tags and the statements linked to it (either direction)."""
    found = rows(session, f"SELECT {_FIELDS} {_FROM} WHERE c.id = :id", {"id": claim_id})
    if not found:
        require(session, Claim, claim_id, "claim")
    return {
        "claim": found[0],
        "sources": rows(
            session,
            """SELECT s.id, s.title, s.outlet, s.url, s.published_on FROM claim_sources cs
            JOIN sources s ON s.id = cs.source_id WHERE cs.claim_id = :id ORDER BY cs.id""",
            {"id": claim_id},
        ),
        "tags": [
            r["name"]
            for r in rows(
                session,
                """SELECT t.name FROM claim_tags ct JOIN tags t ON t.id = ct.tag_id
            WHERE ct.claim_id = :id ORDER BY t.name""",
                {"id": claim_id},
            )
        ],
        "links": rows(
            session,
            """SELECT 'incoming' AS direction, l.id, l.relation, l.note, l.retracted, l.from_claim_id AS other_id
                FROM claim_links l WHERE l.to_claim_id = :id
            UNION ALL SELECT 'outgoing', l.id, l.relation, l.note, l.retracted, l.to_claim_id
                FROM claim_links l WHERE l.from_claim_id = :id ORDER BY 2""",
            {"id": claim_id},
        ),
    }

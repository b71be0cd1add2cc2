"""Typed links between statements: the other statement contradicts, supports or qualifies a claim."""

from __future__ import annotations

from dataclasses import dataclass

from sqlmodel import Session, or_, select

from claimtrack.models import (
    Claim,
    ClaimLink,
    LinkCreate,
    LinkUpdate,
    Retraction,
)
from claimtrack.services.claims import EntryGuard, record_claim
from claimtrack.services.common import (
    check_version,
    ids_param,
    insert_record,
    require,
    retract,
    rows,
    unretract,
    write_edit,
)
from claimtrack.services.errors import Conflict, InvalidInput, NotFound


def find_link_between(session: Session, a: int, b: int) -> ClaimLink | None:
    stmt = select(ClaimLink).where(
        or_(
            (ClaimLink.from_claim_id == a) & (ClaimLink.to_claim_id == b),
            (ClaimLink.from_claim_id == b) & (ClaimLink.to_claim_id == a),
        )
    )
    return session.exec(stmt).first()


def links_with(session: Session, claim_id: int, other_ids: list[int]) -> dict[int, int]:
    """Which of ``other_ids`` are already linked to ``claim_id``, either way, retracted links included
    (add_link refuses a second link between the same two statements): other id -> link id."""
    if not other_ids:
        return {}
    found = rows(
        session,
        f"""SELECT from_claim_id AS other, id FROM claim_links
            WHERE to_claim_id = :id AND from_claim_id IN ({ids_param(other_ids)})
        UNION ALL
        SELECT to_claim_id, id FROM claim_links WHERE from_claim_id = :id AND to_claim_id IN ({ids_param(other_ids)})""",
        {"id": claim_id},
    )
    return {r["other"]: r["id"] for r in found}


def add_link(session: Session, claim_id: int, data: LinkCreate, guard: EntryGuard | None = None) -> ClaimLink:
    """Record that a statement (picked by ``target_id`` or entered as ``new_claim``) *relation* claim ``claim_id``.

    ``guard`` applies to a new statement (see create_claim)."""
    return get_link(session, record_link(session, claim_id, data, guard))


def _retracted(session: Session, claim_id: int, what: str, field: str | None = None) -> bool:
    """Whether the claim is retracted; NotFound (as ``require`` says it) when there is no such claim."""
    found = rows(session, "SELECT retracted FROM claims WHERE id = :id", {"id": claim_id})
    if not found:
        raise NotFound(what, claim_id, field)
    return bool(found[0]["retracted"])


def record_link(session: Session, claim_id: int, data: LinkCreate, guard: EntryGuard | None = None) -> int:
    """add_link, returning the new link's id without loading any claim or link as an object (the forms).

    The link row is a plain INSERT, its history queued as the flush hook would (see claims.record_claim)."""
    retracted = _retracted(session, claim_id, "claim")
    if data.target_id is not None and data.new_claim is not None:
        raise InvalidInput({"target_id": "Either pick an existing statement or enter a new one, not both."})
    if data.target_id is not None:
        other_id = data.target_id
        other_retracted = _retracted(session, other_id, "statement", field="target_id")
    elif data.new_claim is not None:
        other_id, other_retracted = record_claim(session, data.new_claim, guard), False
    else:
        raise InvalidInput({"target_id": "Pick an existing statement, or enter the new statement and its speaker."})
    if retracted or other_retracted:
        raise InvalidInput({"target_id": "A retracted statement cannot be linked: it stays only as a record."})
    if other_id == claim_id:
        raise InvalidInput({"target_id": "A statement cannot be linked to itself."})
    # A statement created just now has no links yet: only a picked one needs the check.
    existing = find_link_between(session, claim_id, other_id) if data.new_claim is None else None
    if existing is not None:
        raise InvalidInput(
            {
                "target_id": f"These two statements are already linked (link {existing.id}: {existing.relation}); edit that link instead."
            }
        )
    values = {"from_claim_id": other_id, "to_claim_id": claim_id, "relation": data.relation.value, "note": data.note}
    return insert_record(
        session,
        ClaimLink,
        values,
        ("These two statements were linked at the same moment by someone else.", "target_id"),
    )


def get_link(session: Session, link_id: int) -> ClaimLink:
    return require(session, ClaimLink, link_id, "link")


def update_link(session: Session, link_id: int, data: LinkUpdate, expected_version: int | None = None) -> ClaimLink:
    link = get_link(session, link_id)
    check_version(link, expected_version, "link")
    write_edit(session, link, {"relation": data.relation.value, "note": data.note})
    return link


def retract_link(session: Session, link_id: int, data: Retraction, expected_version: int | None = None) -> ClaimLink:
    link = get_link(session, link_id)
    retract(link, data.reason, "link", expected_version)
    session.add(link)
    session.flush()
    return link


def unretract_link(session: Session, link_id: int, data: Retraction, expected_version: int | None = None) -> ClaimLink:
    """Undo a link's retraction; a link to a retracted statement stays retracted (it could not be made now)."""
    link = get_link(session, link_id)
    ends = session.exec(select(Claim).where(Claim.id.in_([link.from_claim_id, link.to_claim_id]))).all()  # type: ignore[union-attr]
    if any(c.retracted for c in ends):
        raise Conflict("One of the two statements is retracted: undo that retraction first.", "reason")
    unretract(session, link, data.reason, "link", "link", expected_version)
    return link


@dataclass(frozen=True)
class LinkEnd:
    """One statement of a link, as its edit and retract pages name it."""

    id: int
    text: str
    speaker: str


@dataclass(frozen=True)
class LinkDetail:
    link: ClaimLink
    from_claim: LinkEnd  # the statement that contradicts, supports or qualifies
    to_claim: LinkEnd  # the claim it answers


def link_detail(session: Session, link_id: int) -> LinkDetail:
    link = get_link(session, link_id)
    ends = {
        r["id"]: LinkEnd(**r)
        for r in rows(
            session,
            """SELECT c.id, c.text, s.name AS speaker FROM claims c JOIN speakers s ON s.id = c.speaker_id
            WHERE c.id IN (:a, :b)""",
            {"a": link.from_claim_id, "b": link.to_claim_id},
        )
    }
    return LinkDetail(link=link, from_claim=ends[link.from_claim_id], to_claim=ends[link.to_claim_id])

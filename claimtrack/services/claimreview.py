"""ClaimReview JSON-LD for claims with a verdict: one document per claim, or all of them as a DataFeed.

The fields are those fact-check consumers (Google's ClaimReview markup guidelines) require and recommend.
Verdicts sit on a 1-5 scale (false 1, misleading 2, disputed and unverified 3, accurate 5); ``alternateName``
carries the wording: the published rating text when the claim was imported with one that still maps to its
verdict, else the verdict itself, so importing the feed gives the same verdicts back.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from sqlmodel import Session

from claimtrack.models import SpeakerKind
from claimtrack.services.common import Reads, ids_param, rows
from claimtrack.services.errors import NotFound
from claimtrack.services.importing.ratings import RatingTable, load_ratings

RATING_VALUES = {"false": 1, "misleading": 2, "disputed": 3, "unverified": 3, "accurate": 5}
BEST, WORST = 5, 1
# What a consumer needs in every document (and what the tests check each one against).
REQUIRED_FIELDS = (
    "@context",
    "@type",
    "claimReviewed",
    "reviewRating",
    "url",
    "author",
    "datePublished",
    "itemReviewed",
)
REQUIRED_RATING = ("@type", "ratingValue", "bestRating", "worstRating", "alternateName")
REQUIRED_ITEM = ("@type", "author", "appearance")  # and datePublished when the date is known


@dataclass(frozen=True)
class Organisation:
    name: str
    url: str

    @classmethod
    def from_env(cls) -> Organisation:
        return cls(
            name=os.environ.get("CLAIMTRACK_ORG_NAME") or "claimtrack",
            url=os.environ.get("CLAIMTRACK_ORG_URL") or "http://127.0.0.1:8000/",
        )


_SELECT = """SELECT c.id, c.text, c.stated_on, c.verdict, c.verdict_rationale, c.language, c.rating_text,
    c.review_date, c.created_at, s.name AS speaker, s.kind AS speaker_kind, s.job_title,
    (SELECT max(h.changed_at) FROM change_history h
        WHERE h.entity = 'claim' AND h.entity_id = c.id AND h.field = 'verdict') AS verdict_changed_at
FROM claims c JOIN speakers s ON s.id = c.speaker_id"""


def _speaker(row: Any) -> dict[str, Any]:
    person = row["speaker_kind"] == SpeakerKind.person.value
    author: dict[str, Any] = {"@type": "Person" if person else "Organization", "name": row["speaker"]}
    if row["speaker_kind"] not in (SpeakerKind.person.value, SpeakerKind.organisation.value):
        author["additionalType"] = row["speaker_kind"]  # government_body, armed_group...: kept for re-import
    if person and row["job_title"]:
        author["jobTitle"] = row["job_title"]
    return author


def _appearance(source: Any) -> dict[str, Any]:
    work: dict[str, Any] = {"@type": "CreativeWork"}
    if source["url"]:
        work["url"] = source["url"]
    if source["title"]:
        work["headline"] = source["title"]
    if source["outlet"]:
        work["publisher"] = {"@type": "Organization", "name": source["outlet"]}
    if source["published_on"]:
        work["datePublished"] = source["published_on"]
    return work


def document(row: Any, sources: list[Any], claim_url: str, org: Organisation, table: RatingTable) -> dict[str, Any]:
    verdict = row["verdict"]
    wording = row["rating_text"] if row["rating_text"] and table.verdict(row["rating_text"]) == verdict else verdict
    published = (row["verdict_changed_at"] or row["review_date"] or row["created_at"])[:10]
    item: dict[str, Any] = {"@type": "Claim", "author": _speaker(row), "appearance": [_appearance(s) for s in sources]}
    if row["stated_on"]:  # left out when unknown rather than guessed
        item["datePublished"] = row["stated_on"]
    doc: dict[str, Any] = {
        "@context": "https://schema.org",
        "@type": "ClaimReview",
        "url": claim_url,
        "claimReviewed": row["text"],
        "inLanguage": row["language"],
        "author": {"@type": "Organization", "name": org.name, "url": org.url},
        "datePublished": published,
        "reviewRating": {
            "@type": "Rating",
            "ratingValue": RATING_VALUES[verdict],
            "bestRating": BEST,
            "worstRating": WORST,
            "alternateName": wording,
        },
        "itemReviewed": item,
    }
    if row["verdict_rationale"]:
        doc["reviewBody"] = row["verdict_rationale"]
    return doc


def _sources(session: Reads, ids: list[int]) -> dict[int, list[Any]]:
    found: dict[int, list[Any]] = {}
    for row in rows(
        session,
        f"""SELECT cs.claim_id, s.url, s.title, s.outlet, s.published_on
            FROM claim_sources cs JOIN sources s ON s.id = cs.source_id
            WHERE cs.claim_id IN ({ids_param(ids)}) ORDER BY cs.claim_id, cs.id""",
    ):
        found.setdefault(row["claim_id"], []).append(row)
    return found


def claim_document(
    session: Reads, claim_id: int, base_url: str, org: Organisation | None = None
) -> dict[str, Any] | None:
    """The claim's ClaimReview, or None when it has no verdict (or is retracted); NotFound for no claim."""
    found = rows(session, _SELECT + " WHERE c.id = :id AND c.verdict IS NOT NULL AND c.retracted = 0", {"id": claim_id})
    if not found:
        if not rows(session, "SELECT 1 FROM claims WHERE id = :id", {"id": claim_id}):
            raise NotFound("claim", claim_id)
        return None
    return document(
        found[0],
        _sources(session, [claim_id]).get(claim_id, []),
        claim_url(base_url, claim_id),
        org or Organisation.from_env(),
        load_ratings(),
    )


def claim_url(base_url: str, claim_id: int) -> str:
    return f"{base_url.rstrip('/')}/claims/{claim_id}"


def feed_documents(
    session: Session, base_url: str, event_id: int | None = None, org: Organisation | None = None, chunk: int = 500
) -> Iterator[dict[str, Any]]:
    """Every claim with a verdict (oldest first), a chunk at a time so memory stays flat."""
    org = org or Organisation.from_env()
    table = load_ratings()
    last = 0
    while True:
        params: dict[str, Any] = {"last": last, "n": chunk}
        where = "c.id > :last AND c.verdict IS NOT NULL AND c.retracted = 0"
        if event_id is not None:
            where += " AND c.event_id = :event"
            params["event"] = event_id
        found = rows(session, _SELECT + f" WHERE {where} ORDER BY c.id LIMIT :n", params)
        if not found:
            return
        sources = _sources(session, [r["id"] for r in found])
        for row in found:
            yield document(row, sources.get(row["id"], []), claim_url(base_url, row["id"]), org, table)
        last = found[-1]["id"]


def feed(
    session: Session, base_url: str, event_id: int | None = None, org: Organisation | None = None
) -> dict[str, Any]:
    """A schema.org DataFeed of ClaimReviews (the shape Google's Fact Check Markup Tool and Data Commons use)."""
    from claimtrack.models import utc_now

    org = org or Organisation.from_env()
    return {
        "@context": "https://schema.org",
        "@type": "DataFeed",
        "name": f"{org.name}: ClaimReview feed",
        "dateModified": utc_now(),
        "dataFeedElement": [
            {"@type": "DataFeedItem", "item": [doc]} for doc in feed_documents(session, base_url, event_id, org)
        ],
    }

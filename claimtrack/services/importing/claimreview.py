"""schema.org ClaimReview as JSON or JSON-LD: one object, a list, a DataFeed, or an ``@graph``.

What publishers embed in their pages and what ``claimtrack export claimreview`` writes.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from claimtrack.models import SpeakerKind
from claimtrack.services.importing.records import FormatError, Record, Rejected, SourceRecord, blank, day

UNKNOWN_SPEAKER = "Unknown claimant"


def load_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8-sig"))
    except UnicodeDecodeError:
        raise FormatError(f"{path.name} is not UTF-8 text") from None
    except json.JSONDecodeError as exc:
        raise FormatError(f"{path.name} is not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg})") from None


def _types(obj: Any) -> set[str]:
    kind = obj.get("@type") if isinstance(obj, dict) else None
    kinds = kind if isinstance(kind, list) else [kind]
    return {str(k).rsplit("/", 1)[-1] for k in kinds if k}


def reviews_in(data: Any) -> list[Any] | None:
    """The ClaimReview objects of a document, or None when it holds none at all."""
    found: list[Any] = []

    def walk(obj: Any) -> None:
        if isinstance(obj, list):
            for item in obj:
                walk(item)
        elif isinstance(obj, dict):
            types = _types(obj)
            if "ClaimReview" in types or ("claimReviewed" in obj and not types):
                found.append(obj)
            elif "DataFeed" in types or "dataFeedElement" in obj:
                walk(obj.get("dataFeedElement", []))
            elif "DataFeedItem" in types or ("item" in obj and not types):
                walk(obj.get("item", []))
            elif "@graph" in obj:
                walk(obj["@graph"])

    walk(data)
    return found or None


def looks_like(path: Path, head: str) -> bool:
    return head.lstrip("\ufeff \n\r\t")[:1] in "[{" and ("ClaimReview" in head or "claimReviewed" in head)


def _first(value: Any) -> Any:
    return value[0] if isinstance(value, list) and value else (None if isinstance(value, list) else value)


def _name(value: Any) -> str | None:
    value = _first(value)
    if isinstance(value, dict):
        return blank(value.get("name") or value.get("alternateName"))
    return blank(value) if isinstance(value, str) else None


def _speaker_kind(author: Any) -> str:
    author = _first(author)
    if isinstance(author, dict):
        extra = author.get("additionalType")
        if extra in {k.value for k in SpeakerKind}:
            return str(extra)
        if _types(author) & {"Organization", "GovernmentOrganization", "NewsMediaOrganization", "NGO"}:
            return SpeakerKind.organisation.value
    return SpeakerKind.person.value


def _appearances(item: dict[str, Any]) -> list[SourceRecord]:
    sources = []
    for key in ("firstAppearance", "appearance"):
        value = item.get(key)
        for work in value if isinstance(value, list) else [value]:
            if isinstance(work, str) and work.strip():
                sources.append(SourceRecord(url=work.strip()))
            elif isinstance(work, dict):
                sources.append(
                    SourceRecord(
                        url=blank(work.get("url")),
                        title=blank(work.get("headline") or work.get("name")),
                        outlet=_name(work.get("publisher")) or _name(work.get("author")),
                        published_on=day(work.get("datePublished")),
                    )
                )
    return sources


def _language(value: Any) -> str | None:
    value = _first(value)
    if isinstance(value, dict):
        return blank(value.get("alternateName") or value.get("name"))
    return blank(value) if isinstance(value, str) else None


def record_from_review(number: int, review: dict[str, Any]) -> Record | Rejected:
    text = review.get("claimReviewed")
    if not isinstance(text, str) or not text.strip():
        return Rejected(number, "no claimReviewed (the statement)")
    item = _first(review.get("itemReviewed"))
    item = item if isinstance(item, dict) else {}
    rating = _first(review.get("reviewRating"))
    rating = rating if isinstance(rating, dict) else {}
    rating_text = blank(rating.get("alternateName")) or blank(rating.get("name"))
    if rating_text is None and rating.get("ratingValue") not in (None, ""):
        rating_text = f"{rating.get('ratingValue')}/{rating.get('bestRating', '?')}"
    return Record(
        number=number,
        text=text,
        speaker=_name(item.get("author")) or UNKNOWN_SPEAKER,
        speaker_kind=_speaker_kind(item.get("author")),
        job_title=blank(_first(item.get("author")).get("jobTitle"))
        if isinstance(_first(item.get("author")), dict)
        else None,
        stated_on=day(item.get("datePublished")),
        rating_text=rating_text,
        verdict_rationale=blank(review.get("headline") or review.get("name")),
        review_url=blank(review.get("url")),
        review_author=_name(review.get("author")) or _name(review.get("publisher")),
        review_date=day(review.get("datePublished")),
        language=_language(review.get("inLanguage")) or _language(item.get("inLanguage")),
        sources=_appearances(item),
    )


def read(path: Path) -> Iterator[Record | Rejected]:
    reviews = reviews_in(load_json(path))
    if reviews is None:
        raise FormatError(f"{path.name} holds no schema.org ClaimReview (no object with claimReviewed)")
    for number, review in enumerate(reviews, start=1):
        yield record_from_review(number, review)

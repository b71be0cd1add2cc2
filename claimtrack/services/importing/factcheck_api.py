"""Google Fact Check Tools ``claims:search`` results: ``[{text, claimant, claimDate, claimReview: [...]}]``.

A whole API response (``{"claims": [...], "nextPageToken": ...}``) is read too. The first review fills the
claim's review fields; further reviews of the same claim are kept as sources that report on it.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from claimtrack.services.importing.claimreview import UNKNOWN_SPEAKER, load_json
from claimtrack.services.importing.records import FormatError, Record, Rejected, SourceRecord, blank, day

# A claimant that is a web address ("x.com", "www.facebook.com") names a platform: one speaker per site.
_DOMAIN = re.compile(r"(?:https?://)?(?:www\.)?([a-z0-9-]+(?:\.[a-z0-9-]+)+)/?", re.IGNORECASE)


def looks_like(path: Path, head: str) -> bool:
    return head.lstrip("\ufeff \n\r\t")[:1] in "[{" and "claimReview" in head and "textualRating" in head


def claimant_name(value: Any) -> str:
    name = blank(value)
    if name is None:
        return UNKNOWN_SPEAKER
    match = _DOMAIN.fullmatch(name)
    return match.group(1).lower() if match else name


def _claims(data: Any) -> list[Any] | None:
    if isinstance(data, dict) and isinstance(data.get("claims"), list):
        data = data["claims"]
    if isinstance(data, list) and data and all(isinstance(c, dict) and "claimReview" in c for c in data[:20]):
        return data
    return None


def read(path: Path) -> Iterator[Record | Rejected]:
    claims = _claims(load_json(path))
    if claims is None:
        raise FormatError(
            f"{path.name} is not Fact Check Tools claims:search output (a list of claims with claimReview)"
        )
    for number, claim in enumerate(claims, start=1):
        if not isinstance(claim, dict) or not isinstance(claim.get("text"), str) or not claim["text"].strip():
            yield Rejected(number, "no text (the statement)")
            continue
        reviews = [r for r in claim.get("claimReview") or [] if isinstance(r, dict)]
        first = reviews[0] if reviews else {}
        publisher = first.get("publisher") or {}
        sources = []
        for review in reviews[1:]:
            pub = review.get("publisher") or {}
            sources.append(
                SourceRecord(
                    url=blank(review.get("url")),
                    title=blank(review.get("title")),
                    outlet=blank(pub.get("name")) or blank(pub.get("site")),
                    published_on=day(review.get("reviewDate")),
                )
            )
        kind = "group" if claimant_name(claim.get("claimant")) != blank(claim.get("claimant")) else "person"
        yield Record(
            number=number,
            text=claim["text"],
            speaker=claimant_name(claim.get("claimant")),
            # A platform ("x.com") or a missing claimant stands for many anonymous posters.
            speaker_kind=kind,
            stated_on=day(claim.get("claimDate")),
            rating_text=blank(first.get("textualRating")),
            verdict_rationale=blank(first.get("title")),
            review_url=blank(first.get("url")),
            review_author=blank(publisher.get("name")) or blank(publisher.get("site")),
            review_date=day(first.get("reviewDate")),
            language=blank(first.get("languageCode")),
            sources=sources,
        )

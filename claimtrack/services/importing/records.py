"""What every format reader produces: one ``Record`` per claim, or a ``Rejected`` row with its reason."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from claimtrack.services.errors import ClaimtrackError


class FormatError(ClaimtrackError):
    """The file is not what its format says (wrong columns, not JSON, not ClaimReview...)."""


@dataclass
class SourceRecord:
    url: str | None = None
    title: str | None = None
    outlet: str | None = None
    published_on: str | None = None


@dataclass
class Record:
    """One claim as read from a file, before validation. ``number`` is the line or record number."""

    number: int
    text: str | None
    speaker: str | None
    speaker_kind: str | None = None
    job_title: str | None = None
    party: str | None = None
    region: str | None = None
    stated_on: str | None = None
    stated_time: str | None = None
    verbatim: bool = False
    context: str | None = None
    verdict: str | None = None  # our verdict, when the file states it directly (our own CSV)
    verdict_rationale: str | None = None
    rating_text: str | None = None
    review_url: str | None = None
    review_author: str | None = None
    review_date: str | None = None
    language: str | None = None
    translation: str | None = None
    translated_by: str | None = None
    external_source: str | None = None
    external_id: str | None = None
    event: str | None = None
    retracted: bool = False
    retracted_at: str | None = None
    retracted_reason: str | None = None
    sources: list[SourceRecord] = field(default_factory=list)
    tags: list[str] = field(default_factory=list)


@dataclass
class Rejected:
    number: int
    reason: str


def blank(value: object) -> str | None:
    if value is None:
        return None
    value = str(value).strip()
    return value or None


def day(value: object) -> str | None:
    """The YYYY-MM-DD part of an ISO date or timestamp ("2025-04-28T19:23:46Z" -> "2025-04-28")."""
    value = blank(value)
    if value is None:
        return None
    match = re.match(r"([0-9]{4}-[0-9]{2}-[0-9]{2})(?:$|[T ])", value)
    return match.group(1) if match else value  # left as is: validation names what is wrong with it


def humanize_slug(slug: str) -> str:
    """A PolitiFact/LIAR speaker slug as a name: "rick-perry" -> "Rick Perry"."""
    return " ".join(part[:1].upper() + part[1:] for part in slug.replace("_", "-").split("-") if part)

"""What every format reader produces: one ``Record`` per claim, or a ``Rejected`` row with its reason."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from urllib.parse import urlsplit, urlunsplit

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


def normalize_url(url: str) -> str:
    """One key per article: lower-case host without "www.", https, no trailing slash or fragment."""
    parts = urlsplit(url.strip())
    host = parts.netloc.lower().removeprefix("www.")
    path = parts.path.rstrip("/") or "/"
    return urlunsplit(("https", host, path, parts.query, ""))


_SCRIPTS = {"ar": (0x0600, 0x06FF), "ru": (0x0400, 0x04FF)}
# Languages written in the Arabic or Cyrillic script: a declared tag among them is believed.
_ARABIC_SCRIPT = {"ar", "fa", "ur", "ps", "ku", "sd", "ug"}
_CYRILLIC_SCRIPT = {"ru", "uk", "be", "bg", "sr", "mk", "kk", "ky", "tg", "mn"}


def guess_language(text: str, declared: str | None, default: str) -> str:
    """The declared language, unless the text's letters are plainly in another script.

    Publishers' tags are not reliable (Google's API marks Arabic reviews "en"): a statement whose letters
    are mostly Arabic is Arabic unless declared as another Arabic-script language; likewise Cyrillic.
    """
    letters = [ch for ch in text if unicodedata.category(ch).startswith("L")]
    declared_base = (declared or "").split("-")[0].lower()
    if letters:
        for lang, (lo, hi) in _SCRIPTS.items():
            share = sum(1 for ch in letters if lo <= ord(ch) <= hi) / len(letters)
            family = _ARABIC_SCRIPT if lang == "ar" else _CYRILLIC_SCRIPT
            if share > 0.5:
                return declared if declared_base in family and declared else lang
            if declared_base in family and share < 0.1:
                return "en" if all(ch.isascii() for ch in letters) else default
    return declared or default

"""Table models (``table=True``) and the input models that validate data at the edge.

Table models do not validate; every write goes through a ``*Create``/``*Update`` model first.
The schema itself is owned by the Alembic migrations in ``claimtrack/migrations``; a test checks
that these models and the migrated schema agree.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import unicodedata
from collections.abc import Callable
from enum import Enum
from typing import Annotated
from urllib.parse import urlsplit

from pydantic import AfterValidator, BeforeValidator, model_validator
from pydantic_core import PydanticCustomError
from sqlalchemy import Column, Index, String, UniqueConstraint
from sqlmodel import Field, SQLModel

MAX_TEXT = 5000  # a claim's statement
MAX_NAME = 200  # names and titles
MAX_NOTE = 2000  # descriptions, notes, rationales
MAX_URL = 2000


class SpeakerKind(str, Enum):
    person = "person"
    government_body = "government_body"
    armed_group = "armed_group"
    organisation = "organisation"
    media_outlet = "media_outlet"
    group = "group"

    @property
    def label(self) -> str:
        return SPEAKER_KIND_LABELS[self]


SPEAKER_KIND_LABELS = {
    SpeakerKind.person: "Person",
    SpeakerKind.government_body: "Government body",
    SpeakerKind.armed_group: "Armed group",
    SpeakerKind.organisation: "Organisation",
    SpeakerKind.media_outlet: "Media outlet",
    SpeakerKind.group: "Group of people",
}


class Verdict(str, Enum):
    unverified = "unverified"
    disputed = "disputed"
    false = "false"
    misleading = "misleading"
    accurate = "accurate"


class Relation(str, Enum):
    contradicts = "contradicts"
    supports = "supports"
    qualifies = "qualifies"


def utc_now() -> str:
    """Timestamps are ISO 8601 UTC text: readable in Datasette and CSV, sortable as text."""
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


# BCP 47 language tag, as far as a form or an import needs to check it: a 2-3 letter language (or 4-8
# registered), then subtags of 1-8 letters or digits ("en", "ar", "ru", "pt-BR", "zh-Hant-TW", "sr-Latn").
_BCP47 = re.compile(r"[A-Za-z]{2,3}(-[A-Za-z0-9]{1,8})*|[A-Za-z]{4,8}(-[A-Za-z0-9]{1,8})*")
DEFAULT_LANGUAGE = "en"


def check_language(value: str) -> str:
    """A BCP 47 tag in its usual case ("pt-br" -> "pt-BR", "AR" -> "ar"); ValueError when it is not one."""
    value = value.strip().replace("_", "-")
    if len(value) > 35 or not _BCP47.fullmatch(value):
        raise ValueError(f"{value!r} is not a language tag such as en, ar, ru or pt-BR")
    parts = value.split("-")
    out = [parts[0].lower()]
    for part in parts[1:]:
        out.append(
            part.upper() if len(part) == 2 and part.isalpha() else part.title() if len(part) == 4 else part.lower()
        )
    return "-".join(out)


def default_language() -> str:
    """CLAIMTRACK_DEFAULT_LANGUAGE (default "en"): the language of a claim when nobody said otherwise."""
    return check_language(os.environ.get("CLAIMTRACK_DEFAULT_LANGUAGE") or DEFAULT_LANGUAGE)


# --- validators shared by the input models -------------------------------------------------


# What people paste is cleaned once, here, so every write path (forms, CLI, seeds) stores the same thing.
# Policy for invisible "format" characters (Unicode category Cf):
# - All text is normalised to NFC, so "é" typed as one character or as e + accent is the same text.
# - Statements and other free text keep the marks right-to-left and joining scripts need: LRM/RLM
#   (U+200E/F), the Arabic letter mark (U+061C), ZWNJ/ZWJ (U+200C/D, Persian words, Indic conjuncts,
#   emoji sequences) and the visible Arabic/Syriac number and verse signs. Every other Cf character is
#   removed: zero-width spaces, word joiners, byte-order marks, soft hyphens, tag characters, and the
#   bidi embedding/override/isolate controls (U+202A-U+202E, U+2066-U+2069) that can make text display
#   in an order other than the one it is stored and searched in.
# - Names (speakers, affiliations, events, source titles and outlets) must match by what they look like,
#   so they lose every Cf character except ZWNJ/ZWJ between two letters of a script that shapes with
#   them (Arabic, Syriac, Thaana, N'Ko, Indic); spaces of any width become one plain space.
# A value left empty once the invisible characters are gone counts as empty (a required field refuses it).

_TEXT_KEEP = frozenset(
    "\u200e\u200f\u061c\u200c\u200d"  # LRM, RLM, ALM, ZWNJ, ZWJ
    "\u0600\u0601\u0602\u0603\u0604\u0605\u06dd\u070f\u0890\u0891\u08e2\U000110bd\U000110cd"  # visible signs
)
_JOINERS = frozenset("\u200c\u200d")
# Scripts whose letters change shape around ZWNJ/ZWJ: Arabic, Syriac, Thaana, N'Ko, ... and the Indic blocks.
_JOINING_RANGES = ((0x0600, 0x08FF), (0x0900, 0x0DFF), (0xFB50, 0xFDFF), (0xFE70, 0xFEFC))


def _is_format(ch: str) -> bool:
    return unicodedata.category(ch) == "Cf"


def _joining_letter(ch: str) -> bool:
    code = ord(ch)
    return unicodedata.category(ch)[0] in "LM" and any(lo <= code <= hi for lo, hi in _JOINING_RANGES)


def clean_text(value: str) -> str:
    """NFC, without the invisible format characters free text has no use for (see the policy above)."""
    value = unicodedata.normalize("NFC", value)
    return "".join(ch for ch in value if ch in _TEXT_KEEP or not _is_format(ch)).strip()


def clean_name(value: str) -> str:
    """NFC, no invisible characters (except joiners inside Arabic/Indic words), single plain spaces."""
    chars = [ch for ch in unicodedata.normalize("NFC", value) if ch in _JOINERS or not _is_format(ch)]
    kept = []
    for i, ch in enumerate(chars):
        if ch in _JOINERS:
            before = chars[i - 1] if i > 0 else ""
            after = chars[i + 1] if i + 1 < len(chars) else ""
            if not (before and after and _joining_letter(before) and _joining_letter(after)):
                continue
        kept.append(ch)
    # NO-BREAK SPACE, EN SPACE or a double space look like one space: store one, so names match.
    spaced = "".join(" " if unicodedata.category(ch) == "Zs" else ch for ch in kept)
    return re.sub(" {2,}", " ", spaced).strip()


def _cleaner(clean: Callable[[str], str], blank_to_none: bool) -> Callable[[object], object]:
    def before(value: object) -> object:
        if not isinstance(value, str):
            return value
        value = clean(value)
        return (value or None) if blank_to_none else value

    return before


def _blank_to_none(value: object) -> object:
    if isinstance(value, str):
        value = value.strip()
        return value or None
    return value


def _check_url(value: str | None) -> str | None:
    if value is None:
        return None
    parts = urlsplit(value)
    # No whitespace or control characters: a NUL or a tab would be stored and break links and CSV.
    if parts.scheme not in ("http", "https") or not parts.netloc or re.search(r"[\s\x00-\x1f\x7f]", value):
        raise ValueError("must be a web address starting with http:// or https://")
    return value


def _check_date(value: str | None) -> str | None:
    if value is None:
        return None
    if not re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", value):
        raise ValueError("must be a date written YYYY-MM-DD")
    try:
        dt.date.fromisoformat(value)
    except ValueError:
        raise ValueError("is not a real date (YYYY-MM-DD)") from None
    return value


def _check_time(value: str | None) -> str | None:
    if value is None:
        return None
    match = re.fullmatch(r"([01][0-9]|2[0-3]):([0-5][0-9])", value)
    if not match:
        raise ValueError("must be a time of day written HH:MM (24-hour)")
    return value


def _check_printable(value: str | None) -> str | None:
    # NUL and other control characters break CSV consumers and are never meant: refuse them.
    if value is not None and re.search(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]", value):
        raise ValueError("contains control characters")
    return value


RequiredText = Annotated[str, BeforeValidator(_cleaner(clean_text, False)), AfterValidator(_check_printable)]
OptionalText = Annotated[str | None, BeforeValidator(_cleaner(clean_text, True)), AfterValidator(_check_printable)]
RequiredName = Annotated[str, BeforeValidator(_cleaner(clean_name, False)), AfterValidator(_check_printable)]
OptionalName = Annotated[str | None, BeforeValidator(_cleaner(clean_name, True)), AfterValidator(_check_printable)]
OptionalUrl = Annotated[str | None, BeforeValidator(_blank_to_none), AfterValidator(_check_url)]


def _check_past_date(value: str | None) -> str | None:
    """A statement or report cannot be dated in the future, nor before modern record-keeping."""
    if value is None:
        return None
    tomorrow = (dt.datetime.now(dt.UTC) + dt.timedelta(days=1)).date().isoformat()
    if value < "1800-01-01" or value > tomorrow:
        raise ValueError("must be a date from 1800 to today, not in the future")
    return value


OptionalDate = Annotated[str | None, BeforeValidator(_blank_to_none), AfterValidator(_check_date)]


def _check_optional_language(value: str | None) -> str | None:
    return check_language(value) if value is not None else None


# A claim's language as a form or client gives it: blank means "not said" (a stored language is kept).
OptionalLanguage = Annotated[str | None, BeforeValidator(_blank_to_none), AfterValidator(_check_optional_language)]
PastDate = Annotated[
    str | None, BeforeValidator(_blank_to_none), AfterValidator(_check_date), AfterValidator(_check_past_date)
]
OptionalTime = Annotated[str | None, BeforeValidator(_blank_to_none), AfterValidator(_check_time)]


def _blank_to_none_enum(value: object) -> object:
    value = _blank_to_none(value)
    return value.lower().replace(" ", "_") if isinstance(value, str) else value


# --- speakers -----------------------------------------------------------------------------


class SpeakerBase(SQLModel):
    # ``kind`` is not here: the table stores it as text, the input model as a SpeakerKind.
    name: RequiredName = Field(min_length=1, max_length=MAX_NAME)
    description: OptionalText = Field(default=None, max_length=MAX_NOTE)
    anonymous: bool = False


class Versioned(SQLModel):
    """Every edit moves ``version`` on; an edit based on an older version is refused (no silent overwrite)."""

    version: int = Field(default=1)


class Retractable(SQLModel):
    """Nothing is deleted: a claim or link is retracted, with a reason, and stays visible as such."""

    retracted: bool = Field(default=False)
    retracted_at: str | None = None
    retracted_reason: str | None = None


class Speaker(SpeakerBase, Versioned, table=True):
    __tablename__ = "speakers"
    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(sa_column=Column(String(collation="NOCASE"), nullable=False, unique=True))
    kind: str = Field(default=SpeakerKind.person.value)
    affiliation_id: int | None = Field(default=None, foreign_key="speakers.id", index=True)
    # Kept from imports (LIAR gives them): "State representative", "republican", "Texas".
    job_title: str | None = None
    party: str | None = None
    region: str | None = None
    created_at: str = Field(default_factory=utc_now)
    updated_at: str = Field(default_factory=utc_now)


class SpeakerCreate(SpeakerBase):
    kind: Annotated[SpeakerKind, BeforeValidator(_blank_to_none_enum)] = SpeakerKind.person
    affiliation: OptionalName = Field(default=None, max_length=MAX_NAME)
    """Name of the speaker this one speaks for; matched case-insensitively, else created."""


class SpeakerUpdate(SpeakerCreate):
    """An edit replaces every field the form shows; a matched speaker is never rewritten by a claim form."""


# --- events -------------------------------------------------------------------------------


class EventBase(SQLModel):
    name: RequiredName = Field(min_length=1, max_length=MAX_NAME)
    description: OptionalText = Field(default=None, max_length=MAX_NOTE)
    starts_on: OptionalDate = None
    ends_on: OptionalDate = None


class Event(EventBase, Versioned, table=True):
    __tablename__ = "events"
    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(sa_column=Column(String(collation="NOCASE"), nullable=False, unique=True))
    created_at: str = Field(default_factory=utc_now)
    updated_at: str = Field(default_factory=utc_now)


class EventCreate(EventBase):
    pass


class EventUpdate(EventCreate):
    """An edit sets the fields it was given (``exclude_unset``)."""


# --- sources ------------------------------------------------------------------------------


class SourceBase(SQLModel):
    title: OptionalName = Field(default=None, max_length=MAX_NAME * 2)
    outlet: OptionalName = Field(default=None, max_length=MAX_NAME)
    url: OptionalUrl = Field(default=None, max_length=MAX_URL)
    published_on: PastDate = None


class Source(SourceBase, Versioned, table=True):
    __tablename__ = "sources"
    id: int | None = Field(default=None, primary_key=True)
    url: str | None = Field(default=None, unique=True)
    created_at: str = Field(default_factory=utc_now)
    updated_at: str = Field(default_factory=utc_now)


class SourceCreate(SourceBase):
    def is_empty(self) -> bool:
        return not (self.title or self.outlet or self.url)


class SourceUpdate(SourceCreate):
    """An edit sets the fields it was given (``exclude_unset``)."""


# --- claims -------------------------------------------------------------------------------


class ClaimBase(SQLModel):
    # ``verdict`` is not here: the table stores it as text, the input model as a Verdict.
    text: RequiredText = Field(min_length=1, max_length=MAX_TEXT)
    verbatim: bool = False
    stated_on: PastDate = None
    stated_time: OptionalTime = None
    context: OptionalText = Field(default=None, max_length=MAX_NOTE)
    verdict_rationale: OptionalText = Field(default=None, max_length=MAX_NOTE)


# The claim's own typed values, stored as they are (no lookup of a speaker, event or source): what the history
# records and what an export carries, each under its column name.
CLAIM_VALUE_FIELDS = (
    "stated_on",
    "stated_time",
    "context",
    "verdict",
    "verdict_rationale",
    "language",
    "translation",
    "translated_by",
)


class Claim(ClaimBase, Versioned, Retractable, table=True):
    __tablename__ = "claims"
    id: int | None = Field(default=None, primary_key=True)
    verdict: str | None = Field(default=None, index=True)
    speaker_id: int = Field(foreign_key="speakers.id", index=True)
    event_id: int | None = Field(default=None, foreign_key="events.id", index=True)
    stated_on: str | None = Field(default=None, index=True)
    # The statement stays in the language it was made in; a translation sits beside it.
    language: str = Field(default_factory=lambda: default_language(), index=True)
    translation: str | None = None
    translated_by: str | None = None
    # Where an imported claim came from (unique per source system, so a second import adds nothing).
    external_source: str | None = None
    external_id: str | None = None
    # The review it came with, verbatim: the verdict is mapped from rating_text, which is kept as published.
    rating_text: str | None = None
    review_url: str | None = None
    review_author: str | None = None
    review_date: str | None = None
    created_at: str = Field(default_factory=utc_now)
    updated_at: str = Field(default_factory=utc_now)


class Alias(SQLModel, table=True):
    """A name a merged speaker, source or event was known by: it now means the record ``entity_id`` of ``kind``."""

    __tablename__ = "aliases"
    __table_args__ = (UniqueConstraint("kind", "alias_key"), Index("ix_aliases_kind_entity", "kind", "entity_id"))
    id: int | None = Field(default=None, primary_key=True)
    kind: str
    entity_id: int
    alias: str
    alias_key: str  # alias_key(alias): how a typed name is matched
    created_at: str = Field(default_factory=utc_now)


class MergedEntity(SQLModel, table=True):
    """A speaker, source or event merged into another of its kind: its old page answers with the kept one."""

    __tablename__ = "merged_entities"
    __table_args__ = (
        UniqueConstraint("kind", "old_id"),
        Index("ix_merged_entities_kind_kept", "kind", "kept_id"),
    )
    id: int | None = Field(default=None, primary_key=True)
    kind: str
    old_id: int
    kept_id: int
    name: str | None = None  # the merged record's name (a source's title or URL) when it was merged
    merged_at: str = Field(default_factory=utc_now)


def alias_key(value: str) -> str:
    """How names are compared for aliases: NFC, case-folded, every run of spaces one plain space."""
    return " ".join(unicodedata.normalize("NFC", clean_name(value).casefold()).split())


class FormSubmission(SQLModel, table=True):
    """The token of a submitted new-claim form and the claim it created: the same form sent twice saves once."""

    __tablename__ = "form_submissions"
    token: str = Field(primary_key=True)
    claim_id: int = Field(foreign_key="claims.id", index=True)
    created_at: str = Field(default_factory=utc_now)


class EntityName(SQLModel, table=True):
    """A name a speaker, source or event is known by: its own (kept by triggers) or an alias (``is_alias``).

    Filled by database triggers on speakers, sources and events, so every writer keeps it current; the
    name-similarity search (``claimtrack.services.names``) reads it through its FTS5 index.
    """

    __tablename__ = "entity_names"
    id: int | None = Field(default=None, primary_key=True)
    kind: str  # speaker, source or event
    entity_id: int
    name: str
    name_key: str  # lower-cased, punctuation dropped, spaces collapsed (see migration 0009)
    is_alias: int = Field(default=0)


class Tag(SQLModel, table=True):
    """A topic a claim is about (LIAR's subjects, a publisher's tags)."""

    __tablename__ = "tags"
    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(sa_column=Column(String(collation="NOCASE"), nullable=False, unique=True))
    created_at: str = Field(default_factory=utc_now)


class OfClaim(SQLModel):
    """A row that ties a claim to one other record (a tag, a source); each table allows the pair once."""

    id: int | None = Field(default=None, primary_key=True)
    claim_id: int = Field(foreign_key="claims.id", index=True)
    created_at: str = Field(default_factory=utc_now)


class ClaimTag(OfClaim, table=True):
    """Which topics a claim is about."""

    __tablename__ = "claim_tags"
    __table_args__ = (UniqueConstraint("claim_id", "tag_id"),)
    tag_id: int = Field(foreign_key="tags.id", index=True)


class ClaimSource(OfClaim, table=True):
    """Which sources report a claim: where it first appeared and later reports of it."""

    __tablename__ = "claim_sources"
    __table_args__ = (UniqueConstraint("claim_id", "source_id"),)
    source_id: int = Field(foreign_key="sources.id", index=True)


class ClaimCreate(ClaimBase):
    """A claim as a fact-checker enters it: the speaker, source and event by name or URL."""

    @model_validator(mode="after")
    def _time_needs_a_date(self) -> ClaimCreate:
        if self.stated_time and not self.stated_on:
            raise PydanticCustomError(
                "time_without_date", "A time of day needs the date it was said.", {"field": "stated_time"}
            )
        if self.verdict_rationale and not self.verdict:
            raise PydanticCustomError(
                "rationale_without_verdict", "Choose the verdict this rationale explains.", {"field": "verdict"}
            )
        if self.translated_by and not self.translation:
            raise PydanticCustomError(
                "translator_without_translation", "Give the translation this person made.", {"field": "translation"}
            )
        return self

    verdict: Annotated[Verdict | None, BeforeValidator(_blank_to_none_enum)] = None
    # The statement stays in its own language; a translation (and who made it) sits beside it.
    language: OptionalLanguage = None
    translation: OptionalText = Field(default=None, max_length=MAX_TEXT)
    translated_by: OptionalName = Field(default=None, max_length=MAX_NAME)
    speaker: SpeakerCreate
    source: SourceCreate = Field(default_factory=SourceCreate)
    event: OptionalName = Field(default=None, max_length=MAX_NAME)


class ClaimUpdate(ClaimCreate):
    """An edit of a claim: the same fields; the speaker, source and event are matched again by name."""


class Retraction(SQLModel):
    reason: RequiredText = Field(min_length=1, max_length=MAX_NOTE)


class VerdictChange(SQLModel):
    """A verdict and its rationale, set on their own (the claim page's quick form): the claim form's rules."""

    verdict: Annotated[Verdict | None, BeforeValidator(_blank_to_none_enum)] = None
    verdict_rationale: OptionalText = Field(default=None, max_length=MAX_NOTE)

    @model_validator(mode="after")
    def _rationale_needs_a_verdict(self) -> VerdictChange:
        if self.verdict_rationale and not self.verdict:
            raise PydanticCustomError(
                "rationale_without_verdict", "Choose the verdict this rationale explains.", {"field": "verdict"}
            )
        return self


class ChangeHistory(SQLModel, table=True):
    """One changed field of one record: who, when, what it was and what it became."""

    __tablename__ = "change_history"
    __table_args__ = (Index("ix_change_history_entity", "entity", "entity_id"),)
    id: int | None = Field(default=None, primary_key=True)
    changed_at: str = Field(index=True)
    username: str = Field(index=True)
    entity: str
    entity_id: int
    action: str
    field: str | None = None
    old_value: str | None = None
    new_value: str | None = None


# --- links --------------------------------------------------------------------------------


class ClaimLink(Versioned, Retractable, table=True):
    """``from_claim`` *relation* ``to_claim``: e.g. the rebel official's statement contradicts Russia's."""

    __tablename__ = "claim_links"
    __table_args__ = (
        Index("ix_claim_links_to_relation", "to_claim_id", "relation"),
        Index("ix_claim_links_from_relation", "from_claim_id", "relation"),
    )
    id: int | None = Field(default=None, primary_key=True)
    from_claim_id: int = Field(foreign_key="claims.id")
    to_claim_id: int = Field(foreign_key="claims.id")
    relation: str
    note: str | None = None
    created_at: str = Field(default_factory=utc_now)
    updated_at: str = Field(default_factory=utc_now)


class LinkBase(SQLModel):
    relation: Annotated[Relation, BeforeValidator(_blank_to_none_enum)]
    note: OptionalText = Field(default=None, max_length=MAX_NOTE)


class LinkCreate(LinkBase):
    """Either ``target_id`` (an existing statement) or ``new_claim`` (recorded in the same step)."""

    target_id: int | None = None
    new_claim: ClaimCreate | None = None


class LinkUpdate(LinkBase):
    """An edit changes the relation and the note only: the two statements of a link stay."""

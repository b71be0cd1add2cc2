"""Named exceptions raised by the services; the web layer and the CLI turn them into clean messages."""

from __future__ import annotations

import sqlite3
from typing import Any

from pydantic import ValidationError


class ClaimtrackError(Exception):
    """Base class: the message is meant for the person who made the request."""


class NotFound(ClaimtrackError):
    def __init__(self, what: str, ident: object, field: str | None = None, message: str | None = None) -> None:
        super().__init__(message or f"No {what} with id {ident}.")
        self.what = what
        self.ident = ident
        self.field = field


class InvalidInput(ClaimtrackError):
    """One or more fields are wrong; ``errors`` maps a field name to what is wrong with it."""

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__("; ".join(f"{k}: {v}" for k, v in errors.items()))
        self.errors = errors

    @classmethod
    def from_validation_error(cls, exc: ValidationError, prefix_map: dict[str, str] | None = None) -> InvalidInput:
        """Flatten pydantic's nested locations (``speaker.name``) into form field names."""
        prefix_map = prefix_map or {}
        errors: dict[str, str] = {}
        for err in exc.errors():
            # A check across fields (model_validator) names its field in ctx.
            loc = ".".join(str(part) for part in err["loc"]) or (err.get("ctx") or {}).get("field", "")
            field = prefix_map.get(loc, loc)
            errors.setdefault(field, _friendly(err))
        return cls(errors)


def _friendly(err: Any) -> str:
    """pydantic's wording, rephrased for someone filling in a form."""
    ctx = err.get("ctx") or {}
    if err["type"] in ("string_too_short", "missing") and ctx.get("min_length", 1) == 1:
        return "This field is required."
    if err["type"] == "string_too_long":
        return f"Too long: at most {ctx.get('max_length')} characters."
    if err["type"] == "enum":
        return f"Not one of the allowed values ({ctx.get('expected')})."
    if err["type"] in ("int_parsing", "int_type"):
        return "Must be a whole number."
    message = err["msg"].removeprefix("Value error, ")
    return message[0].upper() + message[1:] if message else "Invalid value."


class Conflict(ClaimtrackError):
    """The request clashes with what is stored (a name already taken, for example)."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


class DuplicateClaim(Conflict):
    """The same speaker's statement, with the same normalised text, is already recorded (and not retracted)."""

    def __init__(self, existing_id: int, speaker: str) -> None:
        super().__init__(
            f"This statement by {speaker} is already recorded as claim {existing_id}. Nothing was saved: "
            'open that claim, or tick "Save anyway" to record it again.',
            field="text",
        )
        self.existing_id = existing_id


class NearNames(Conflict):
    """A new speaker, source or event would be created while near names already exist: nothing was saved.

    ``candidates`` maps the kind ("speaker", "source", "event") to the existing entities to pick from
    (``claimtrack.services.names.NameMatch``), best first; the form may confirm the name is new instead."""

    FIELDS = {"speaker": "speaker", "source": "source_title", "event": "event"}

    def __init__(self, candidates: dict[str, list[Any]]) -> None:
        said = "; ".join(
            f"{kind} {matches[0].name!r}" + (f" (and {len(matches) - 1} more)" if len(matches) > 1 else "")
            for kind, matches in candidates.items()
        )
        first = next(iter(candidates))
        super().__init__(
            f"Similar names are already recorded: {said}. Nothing was saved: pick the existing one, "
            "or confirm that the name is new.",
            field=self.FIELDS.get(first, first),
        )
        self.candidates = candidates

    def message_for(self, kind: str) -> str:
        names = ", ".join(repr(m.name) for m in self.candidates[kind][:3])
        return (
            f"A {kind} with a similar name is already recorded ({names}). Pick it below, or tick "
            f'"It is a different {kind}".'
        )


class AlreadySubmitted(ClaimtrackError):
    """This form was sent before and its claim is recorded: a repeat (a double click, a resend) adds nothing."""

    def __init__(self, claim_id: int) -> None:
        super().__init__(f"This form was already sent: claim {claim_id} was recorded then. Nothing new was saved.")
        self.claim_id = claim_id


class StaleEdit(Conflict):
    """The record changed since the editor loaded it: their save would overwrite someone else's change."""

    def __init__(self, what: str, ident: object, current_version: int) -> None:
        super().__init__(
            f"This {what} was changed by someone else after you opened it (it is now at version "
            f"{current_version}). Your changes were not saved: compare with the saved values shown, "
            "then save again to apply yours."
        )
        self.what = what
        self.ident = ident
        self.current_version = current_version


class StorageFull(ClaimtrackError):
    """SQLite could not grow the database file: the disk (or the file's size limit) is full.

    The write's transaction was rolled back, so nothing of it is stored; it can succeed once space is freed.
    """

    def __init__(self) -> None:
        super().__init__(
            "The server's storage is full, so this change could not be saved; nothing of it was stored. "
            "Keep what you typed and try again later, or tell the administrator."
        )


class WriterBusy(ClaimtrackError):
    """The database stayed locked by other writers for longer than a write may wait; nothing was stored."""

    def __init__(self) -> None:
        super().__init__(
            "The server is busy with other changes and could not save this one in time; nothing of it was "
            "stored. Keep what you typed and send it again in a moment."
        )


def is_storage_full(exc: BaseException) -> bool:
    """True for SQLite's SQLITE_FULL ("database or disk is full"), raw or wrapped by SQLAlchemy."""
    orig = getattr(exc, "orig", None) or exc
    code = getattr(orig, "sqlite_errorcode", None)
    if code is not None:
        return code & 0xFF == sqlite3.SQLITE_FULL  # extended codes keep the primary code in the low byte
    return "database or disk is full" in str(orig)


def is_locked(exc: BaseException) -> bool:
    """True for SQLite's SQLITE_BUSY ("database is locked"), raw or wrapped by SQLAlchemy."""
    orig = getattr(exc, "orig", None) or exc
    code = getattr(orig, "sqlite_errorcode", None)
    if code is not None:
        return code & 0xFF == sqlite3.SQLITE_BUSY
    return "database is locked" in str(orig)

"""Load scenario files (``seeds/*.toml``) idempotently: loading one twice adds nothing."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import ValidationError
from sqlmodel import Session

from claimtrack.models import (
    ClaimCreate,
    EventCreate,
    LinkCreate,
    SourceCreate,
    SpeakerCreate,
)
from claimtrack.services.claims import attach_source, create_claim, find_claim
from claimtrack.services.errors import ClaimtrackError, InvalidInput
from claimtrack.services.events import create_event, find_event
from claimtrack.services.links import add_link, find_link_between
from claimtrack.services.speakers import find_speaker, resolve_speaker


class SeedError(ClaimtrackError):
    """A scenario file is unreadable or holds data that does not validate."""


@dataclass
class SeedReport:
    speakers: int = 0
    claims: int = 0
    links: int = 0

    def __str__(self) -> str:
        return f"{self.speakers} speakers, {self.claims} claims and {self.links} links added"


def read_seed(path: Path) -> dict[str, Any]:
    try:
        with open(path, "rb") as fh:
            return tomllib.load(fh)
    except OSError as exc:
        raise SeedError(f"cannot read {path}: {exc.strerror}") from None
    except tomllib.TOMLDecodeError as exc:
        raise SeedError(f"{path} is not valid TOML: {exc}") from None


def seed_files(seeds_dir: Path) -> list[Path]:
    if not seeds_dir.is_dir():
        raise SeedError(f"seed folder {seeds_dir} does not exist")
    return sorted(seeds_dir.glob("*.toml"))


def load_seed(session: Session, data: dict[str, Any], label: str = "seed") -> SeedReport:
    report = SeedReport()
    try:
        return _load(session, data, report)
    except ValidationError as exc:
        # One line per problem field (pydantic's own text spans several lines with a URL).
        raise SeedError(f"{label}: {InvalidInput.from_validation_error(exc)}") from None
    except ClaimtrackError as exc:
        raise SeedError(f"{label}: {exc}") from None
    except KeyError as exc:
        raise SeedError(f"{label}: an entry lacks the required field {exc}") from None
    except (TypeError, AttributeError, ValueError):
        raise SeedError(
            f"{label}: the file does not have the layout of a scenario (see seeds/ for the format)"
        ) from None


def _load(session: Session, data: dict[str, Any], report: SeedReport) -> SeedReport:
    default_source = data.get("source", {})
    event_data = data.get("event")
    if event_data and find_event(session, event_data["name"]) is None:
        create_event(session, EventCreate(**event_data))
    for entry in data.get("speakers", []):
        if find_speaker(session, entry["name"]) is None:
            report.speakers += 1
        resolve_speaker(session, SpeakerCreate(**entry))
    claims_by_key: dict[str, int] = {}
    for entry in data.get("claims", []):
        entry = dict(entry)
        key = entry.pop("key")
        speaker = entry.pop("speaker")
        source = SourceCreate(**entry.pop("source", default_source))
        event = entry.pop("event", event_data["name"] if event_data else None)
        claim_in = ClaimCreate(**entry, speaker=SpeakerCreate(name=speaker), source=source, event=event)
        speaker_row = resolve_speaker(session, claim_in.speaker)
        claim = find_claim(session, speaker_row.id, claim_in.text)  # type: ignore[arg-type]
        if claim is None:
            claim = create_claim(session, claim_in)
            report.claims += 1
        else:
            attach_source(session, claim, claim_in.source)
        claims_by_key[key] = claim.id  # type: ignore[assignment]
    for entry in data.get("links", []):
        try:
            from_id, to_id = claims_by_key[entry["from"]], claims_by_key[entry["to"]]
        except KeyError as exc:
            raise SeedError(f"link names an unknown claim key {exc}") from None
        if find_link_between(session, from_id, to_id) is None:
            add_link(session, to_id, LinkCreate(relation=entry["relation"], note=entry.get("note"), target_id=from_id))
            report.links += 1
    session.flush()
    return report

"""Events (or topics) that statements are about, e.g. "Aleppo evacuation, December 2016"."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlmodel import Session, col, select

from claimtrack.models import Event, EventCreate, EventUpdate, clean_name
from claimtrack.services import common
from claimtrack.services.common import NameFilter, Page
from claimtrack.services.errors import InvalidInput
from claimtrack.services.names import NameGuard, exact_id, refuse_new


def find_event(session: Session, name: str) -> Event | None:
    """The event named ``name`` (case-insensitively), or whose name (or alias) has the same key."""
    same = exact_id(session, "event", name)
    return session.get(Event, same) if same is not None else None


def match_events(session: Session, typed: str) -> NameFilter:
    """Events by name or its beginning ("Aleppo" finds "Aleppo evacuation, December 2016"), case-insensitively:
    the exact name if there is one, else every name starting with it (a range on the name's index)."""
    return common.match_names(session, "events", clean_name(typed), alias_kind="event")


def resolve_event(session: Session, name: str | None) -> Event | None:
    if not name:
        return None
    return use_event(session, name, find_event(session, name))


def use_event(session: Session, name: str | None, event: Event | None) -> Event | None:
    """resolve_event with the caller's own find_event(session, name): the event, or None to create it."""
    if not name:
        return None
    return event or _insert_event(session, EventCreate(name=name))


def _check_dates(data: EventCreate) -> None:
    if data.starts_on and data.ends_on and data.ends_on < data.starts_on:
        raise InvalidInput({"ends_on": "The end date is before the start date."})


def create_event(session: Session, data: EventCreate, names: NameGuard | None = None) -> Event:
    """Add an event; with ``names`` (the web form), NearNames when a similar name exists and is not confirmed."""
    _check_dates(data)
    refuse_new(session, "event", find_event(session, data.name), data.name, names, _taken(data))
    return _insert_event(session, data)


def _taken(data: EventCreate) -> tuple[str, str]:
    return f"There is already an event named {data.name!r}.", "name"


def _insert_event(session: Session, data: EventCreate) -> Event:
    return common.insert_row(session, Event(**data.model_dump()), _taken(data))


def update_event(session: Session, event_id: int, data: EventUpdate, expected_version: int | None = None) -> Event:
    event = get_event(session, event_id)
    common.check_version(event, expected_version, "event")
    _check_dates(data)
    common.refuse_taken(find_event(session, data.name), event, *_taken(data))
    common.write_edit(session, event, data.model_dump(exclude_unset=True), _taken(data))
    return event


def list_events(session: Session, before: int | None = None, after: int | None = None, limit: int = 50) -> Page[Any]:
    sql = "SELECT e.id, e.name, e.description, e.starts_on, e.ends_on FROM events e WHERE 1=1 {cursor}"
    # Live claims only: the event's page leaves retracted statements out, so the count does too.
    counts = """SELECT event_id AS id, count(*) AS n FROM claims WHERE event_id IN ({ids}) AND retracted = 0
        GROUP BY event_id"""
    return common.counted_page(session, sql, {}, counts, id_column="e.id", before=before, after=after, limit=limit)


def event_names(session: Session, limit: int = 200) -> list[str]:
    return list(session.exec(select(Event.name).order_by(col(Event.id).desc()).limit(limit)).all())


def get_event(session: Session, event_id: int) -> Event:
    return common.require(session, Event, event_id, "event")


EVENT_STATEMENTS_SHOWN = 2000  # the full list of a bigger event is in Datasette


@dataclass
class SpeakerGroup:
    """One speaker's statements about an event."""

    speaker_id: int
    speaker: str
    speaker_kind: str
    affiliation_id: int | None
    affiliation: str | None
    statements: list[Any] = field(default_factory=list)  # read rows, with contradiction counts
    contested: int = 0


@dataclass(frozen=True)
class EventOverview:
    event: Event
    groups: list[SpeakerGroup]
    contradictions: list[Any]  # read rows: both statements of each live contradiction
    statement_count: int
    truncated: bool


def event_overview(session: Session, event_id: int) -> EventOverview:
    """All statements about an event, grouped by speaker, contested statements and speakers first.

    A statement is contested when another statement contradicts it or it contradicts another:
    in a contradiction both sides are in dispute. Retracted statements and links are left out.
    """
    event = get_event(session, event_id)
    statements = common.rows(
        session,
        f"""SELECT c.id, c.text, c.verbatim, c.stated_on, c.stated_time, c.verdict,
            s.id AS speaker_id, s.name AS speaker, s.kind AS speaker_kind, a.id AS affiliation_id, a.name AS affiliation,
            (SELECT count(*) FROM claim_links l JOIN claims o ON o.id = l.from_claim_id WHERE l.to_claim_id = c.id
                AND l.relation = 'contradicts' AND l.retracted = 0 AND o.retracted = 0) AS contradicted_by,
            (SELECT count(*) FROM claim_links l JOIN claims o ON o.id = l.to_claim_id WHERE l.from_claim_id = c.id
                AND l.relation = 'contradicts' AND l.retracted = 0 AND o.retracted = 0) AS contradicts
        FROM claims c JOIN speakers s ON s.id = c.speaker_id LEFT JOIN speakers a ON a.id = s.affiliation_id
        WHERE c.event_id = :event_id AND c.retracted = 0 ORDER BY c.id LIMIT {EVENT_STATEMENTS_SHOWN}""",
        {"event_id": event_id},
    )
    groups: dict[int, SpeakerGroup] = {}
    for st in statements:
        group = groups.get(st["speaker_id"])
        if group is None:
            group = groups[st["speaker_id"]] = SpeakerGroup(
                st["speaker_id"], st["speaker"], st["speaker_kind"], st["affiliation_id"], st["affiliation"]
            )
        group.statements.append(st)
        if st["contradicted_by"] or st["contradicts"]:
            group.contested += 1
    for group in groups.values():
        group.statements.sort(key=lambda s: (-(s["contradicted_by"] + s["contradicts"]), s["stated_on"] or "", s["id"]))
    ordered = sorted(groups.values(), key=lambda g: (-g.contested, -len(g.statements), g.speaker.casefold()))
    contradictions = common.rows(
        session,
        f"""SELECT l.id AS link_id, l.note,
            f.id AS from_id, f.text AS from_text, fs.name AS from_speaker,
            t.id AS to_id, t.text AS to_text, ts.name AS to_speaker
        FROM claim_links l
        JOIN claims f ON f.id = l.from_claim_id JOIN speakers fs ON fs.id = f.speaker_id
        JOIN claims t ON t.id = l.to_claim_id JOIN speakers ts ON ts.id = t.speaker_id
        WHERE l.relation = 'contradicts' AND l.retracted = 0 AND f.retracted = 0 AND t.retracted = 0
            AND l.to_claim_id IN (SELECT id FROM claims WHERE event_id = :event_id)
        ORDER BY l.to_claim_id, l.id LIMIT {EVENT_STATEMENTS_SHOWN}""",
        {"event_id": event_id},
    )
    return EventOverview(
        event=event,
        groups=ordered,
        contradictions=contradictions,
        statement_count=len(statements),
        truncated=len(statements) >= EVENT_STATEMENTS_SHOWN,
    )

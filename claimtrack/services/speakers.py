"""Speakers: people, bodies and groups who make claims, and whom they speak for."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlmodel import Session, col, select

from claimtrack.models import (
    Speaker,
    SpeakerCreate,
    SpeakerKind,
    SpeakerUpdate,
    clean_name,
    utc_now,
)
from claimtrack.services.common import (
    NameFilter,
    Page,
    check_version,
    counted_page,
    flush_or_conflict,
    fts_filter,
    insert_row,
    match_names,
    refuse_taken,
    require,
    rows,
    write_edit,
)
from claimtrack.services.errors import InvalidInput
from claimtrack.services.names import NameGuard, exact_id, refuse_new
from claimtrack.services.search import match_all


def find_speaker(session: Session, name: str) -> Speaker | None:
    """The speaker named ``name`` (case-insensitively: the column is COLLATE NOCASE), or whose name (or
    alias) has the same key ("Russian Defence Ministry." is "Russian defence ministry"; see services.names)."""
    same = exact_id(session, "speaker", name)
    return session.get(Speaker, same) if same is not None else None


def _affiliation_id(session: Session, name: str | None, for_name: str, speaker: Speaker | None = None) -> int | None:
    """The id of whom ``for_name`` speaks for (matched by name, else created as an organisation).

    Every write path that sets an affiliation comes through here (speaker form, claim and link forms,
    seeds), so the rule against loops holds for all of them: ``speaker`` (the existing speaker being
    given an affiliation) must not end up speaking, at any depth, for itself.
    """
    if not name:
        return None
    if name.strip().casefold() == for_name.strip().casefold():
        raise InvalidInput({"affiliation": "A speaker cannot be affiliated with itself."})
    parent = find_speaker(session, name)
    if parent is None:
        # Whoever a speaker speaks for is nearly always an organisation ("ICRC").
        parent = Speaker(name=name.strip(), kind=SpeakerKind.organisation.value)
        session.add(parent)
        flush_or_conflict(session, f"A speaker named {name!r} was created at the same moment; try again.")
    elif (
        speaker is not None
        and speaker.id is not None
        and parent.id is not None
        and _is_member(session, parent.id, speaker.id)
    ):
        raise InvalidInput({"affiliation": f"{parent.name} already speaks for {speaker.name}: that would be a loop."})
    return parent.id


def resolve_speaker(session: Session, data: SpeakerCreate) -> Speaker:
    """Match an existing speaker by name (case-insensitively) or create it.

    A matched speaker keeps its details; only fields it lacks (affiliation, description) are filled in,
    so a claim form can never silently rewrite a speaker.
    """
    return use_speaker(session, data, find_speaker(session, data.name))


def use_speaker(session: Session, data: SpeakerCreate, speaker: Speaker | None) -> Speaker:
    """resolve_speaker with the caller's own find_speaker(session, data.name): the speaker, or None to create it."""
    if speaker is None:
        return _insert_speaker(session, data)
    changed = False
    if speaker.affiliation_id is None and data.affiliation:
        speaker.affiliation_id = _affiliation_id(session, data.affiliation, speaker.name, speaker)
        changed = True
    if not speaker.description and data.description:
        speaker.description = data.description
        changed = True
    if changed:
        speaker.updated_at = utc_now()
        session.add(speaker)
    return speaker


def create_speaker(session: Session, data: SpeakerCreate, names: NameGuard | None = None) -> Speaker:
    """Add a speaker; with ``names`` (the web form), NearNames when a similar name exists and is not confirmed."""
    refuse_new(session, "speaker", find_speaker(session, data.name), data.name, names, _taken(data.name))
    return _insert_speaker(session, data)


def _taken(name: str) -> tuple[str, str]:
    return f"There is already a speaker named {name!r}.", "name"


def _insert_speaker(session: Session, data: SpeakerCreate) -> Speaker:
    """Insert a speaker the caller has just looked for; a concurrent insert of the name is a Conflict."""
    speaker = Speaker(
        name=data.name,
        kind=data.kind.value,
        description=data.description,
        anonymous=data.anonymous,
        affiliation_id=_affiliation_id(session, data.affiliation, data.name),
    )
    return insert_row(session, speaker, _taken(data.name))


def update_speaker(
    session: Session, speaker_id: int, data: SpeakerUpdate, expected_version: int | None = None
) -> Speaker:
    speaker = get_speaker(session, speaker_id)
    check_version(speaker, expected_version, "speaker")
    refuse_taken(find_speaker(session, data.name), speaker, *_taken(data.name))
    speaker.affiliation_id = _affiliation_id(session, data.affiliation, data.name, speaker)
    values = {**data.model_dump(include={"name", "description", "anonymous"}), "kind": data.kind.value}
    write_edit(session, speaker, values, _taken(data.name))
    return speaker


def get_speaker(session: Session, speaker_id: int) -> Speaker:
    return require(session, Speaker, speaker_id, "speaker")


def _is_member(session: Session, candidate_id: int, of_id: int) -> bool:
    """True if ``candidate_id`` is ``of_id`` or speaks (directly or not) for it."""
    found = rows(
        session,
        """WITH RECURSIVE up(id) AS (SELECT :c UNION SELECT s.affiliation_id FROM speakers s JOIN up ON s.id = up.id
           WHERE s.affiliation_id IS NOT NULL) SELECT 1 FROM up WHERE id = :of LIMIT 1""",
        {"c": candidate_id, "of": of_id},
    )
    return bool(found)


@dataclass(frozen=True)
class SpeakerDetail:
    speaker: Speaker
    affiliation: Speaker | None  # whom the speaker speaks for
    members: list[Speaker]  # who speaks for the speaker (the first 500 by name)


def speaker_detail(session: Session, speaker_id: int) -> SpeakerDetail:
    speaker = get_speaker(session, speaker_id)
    affiliation = session.get(Speaker, speaker.affiliation_id) if speaker.affiliation_id else None
    members = session.exec(
        select(Speaker).where(Speaker.affiliation_id == speaker_id).order_by(col(Speaker.name)).limit(500)
    ).all()
    return SpeakerDetail(speaker=speaker, affiliation=affiliation, members=list(members))


def member_ids_sql(seed: str = "SELECT :speaker_id") -> str:
    """SQL for the ids of a speaker (``:speaker_id``), or of the speakers ``seed`` selects, and everyone who
    speaks for them, at any depth."""
    return f"""WITH RECURSIVE members(id) AS (
        {seed} UNION SELECT s.id FROM speakers s JOIN members m ON s.affiliation_id = m.id)"""


def match_speakers(session: Session, typed: str) -> NameFilter:
    """Speakers by name or part of one: the exact name (case-insensitively), else names starting with it,
    else names with every typed word starting one of their words ("defence" finds "Russian defence ministry",
    in any case and accents folded: the speakers' word index)."""
    key = clean_name(typed)
    words = match_all(key)
    # The name column only (the index also holds descriptions); the query is made of quoted words, so FTS5
    # syntax typed in a name is taken literally.
    by_words = (
        (
            """SELECT s.id, s.name FROM speakers_fts f JOIN speakers s ON s.id = f.rowid
            WHERE speakers_fts MATCH :words ORDER BY s.name LIMIT :n""",
            {"words": f"name : ({words})"},
        )
        if words
        else None
    )
    return match_names(session, "speakers", key, by_words, alias_kind="speaker")


def list_speakers(
    session: Session, q: str | None = None, before: int | None = None, after: int | None = None, kind: str | None = None
) -> Page[Any]:
    where: list[str] = ["1=1"]
    params: dict[str, Any] = {}
    fts_filter(where, params, q, "speakers_fts", "s.id")
    if kind:
        where.append("s.kind = :kind")
        params["kind"] = kind
    sql = f"""SELECT s.id, s.name, s.kind, s.description, s.anonymous, a.id AS affiliation_id, a.name AS affiliation
        FROM speakers s LEFT JOIN speakers a ON a.id = s.affiliation_id
        WHERE {" AND ".join(where)} {{cursor}}"""
    # Live claims only: a retracted claim is not in the speaker's list, so it must not be in the count.
    counts = """SELECT speaker_id AS id, count(*) AS n FROM claims WHERE speaker_id IN ({ids}) AND retracted = 0
        GROUP BY speaker_id"""
    return counted_page(session, sql, params, counts, id_column="s.id", before=before, after=after)


def speaker_names(session: Session, limit: int = 500) -> list[str]:
    """Names for the form's autocomplete list, newest first."""
    stmt = select(Speaker.name).order_by(col(Speaker.id).desc()).limit(limit)
    return list(session.exec(stmt).all())

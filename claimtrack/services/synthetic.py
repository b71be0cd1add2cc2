"""Synthetic claims for tests and benchmarks: speakers with affiliations, events, sources, claims and links.

``generate(engine, claims=5000, seed=1)`` adds a deterministic (for a given seed and starting database),
plausible-looking data set in one ``BEGIN IMMEDIATE`` transaction with ``executemany``: a hundred thousand
claims take seconds. Names, titles and URLs carry the ids they are stored under, so the generator can run
again on the same database and never clashes with what is there. The FTS triggers index every row as it
is inserted, so search is in sync as soon as the transaction commits.

Some generated statements are by speakers already in the database and some answer statements already
there (e.g. the seeded scenario's), so existing records gain counterclaims as real ones would.
"""

from __future__ import annotations

import datetime as dt
import random
import sqlite3
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Engine
from sqlmodel import Session

from claimtrack.db import WRITE_OPTION
from claimtrack.models import utc_now
from claimtrack.services.aliases import TABLES, next_id_sql

FIRST_NAMES = [
    "Amira",
    "Bashar",
    "Carla",
    "Dmitri",
    "Elif",
    "Farid",
    "Greta",
    "Hassan",
    "Ines",
    "Jonas",
    "Karim",
    "Lena",
    "Maya",
    "Nikolai",
    "Olga",
    "Pavel",
    "Rania",
    "Samir",
    "Tamara",
    "Umar",
    "Vera",
    "Walid",
    "Yara",
    "Zeynep",
]
LAST_NAMES = [
    "Haddad",
    "Petrov",
    "Yilmaz",
    "Khalil",
    "Novak",
    "Rahman",
    "Sokolov",
    "Demir",
    "Nasser",
    "Ivanova",
    "Aydin",
    "Mansour",
    "Kuznetsov",
    "Saleh",
    "Volkova",
    "Kaya",
    "Darwish",
    "Orlov",
    "Hamdan",
    "Smirnova",
]
PLACES = [
    "Aleppo",
    "Idlib",
    "Homs",
    "Raqqa",
    "Deir ez-Zor",
    "Hama",
    "Daraa",
    "Latakia",
    "Mosul",
    "Kobani",
    "Afrin",
    "Palmyra",
    "Manbij",
    "Douma",
    "Tartus",
    "Qamishli",
]
ORGANISATIONS = [  # taken in turn, so that even a small data set has every kind
    ("government_body", "ministry of defence"),
    ("armed_group", "brigade"),
    ("organisation", "relief agency"),
    ("media_outlet", "news agency"),
    ("government_body", "foreign ministry"),
    ("armed_group", "front"),
    ("organisation", "human rights observatory"),
    ("media_outlet", "television"),
    ("government_body", "government"),
    ("armed_group", "coalition"),
    ("organisation", "medical charity"),
    ("government_body", "interior ministry"),
]
PERSON_ROLES = ["spokesperson", "official", "commander", "doctor", "witness", "negotiator", "minister", "envoy"]
GROUPS = ["Residents of", "Activists in", "Doctors in", "Evacuees from", "Aid workers in", "Fighters in"]
OUTLETS = [
    "Daily Ledger",
    "Evening Courier",
    "Levant Wire",
    "Northern Post",
    "Global Monitor",
    "Crescent Radio",
    "Frontline Review",
    "World Desk",
    "Harbour Times",
    "Plain Report",
    "Citizen Bulletin",
    "Eastern Herald",
]
SUBJECTS = [
    "the convoy",
    "the evacuation",
    "the ceasefire",
    "the shelling",
    "the aid delivery",
    "the checkpoint",
    "the hospital",
    "the buses",
    "the corridor",
    "the negotiations",
    "the airstrike",
    "the withdrawal",
]
VERBS = [
    "was completed",
    "was suspended",
    "was blocked",
    "was delayed",
    "resumed",
    "was violated",
    "was agreed",
    "was attacked",
    "was postponed",
    "went ahead",
    "was cancelled",
    "was extended",
]
DETAILS = [
    "according to people on the ground",
    "after talks overnight",
    "despite reports of gunfire",
    "while thousands waited in the cold",
    "as fighters refused to leave",
    "with observers present",
    "before the deadline expired",
    "without any warning",
    "under international supervision",
    "after a dispute over the lists of evacuees",
    "as civilians remained trapped",
    "amid heavy snow",
]
NOTES = {
    "contradicts": [
        "The two accounts cannot both be true.",
        "Gives a different time and place.",
        "Denies what the other statement asserts.",
    ],
    "supports": ["Confirms the account independently.", "Reports the same figures.", "An eyewitness account of it."],
    "qualifies": [
        "Adds a condition the other leaves out.",
        "Narrows the claim to part of the area.",
        "Gives a later, partial figure.",
    ],
}
VERDICTS = [None, None, None, "unverified", "disputed", "false", "misleading", "accurate"]
RELATIONS = ["contradicts"] * 5 + ["supports"] * 3 + ["qualifies"] * 2
FIRST_DAY = dt.date(2015, 1, 1)
DAYS = 3 * 365


@dataclass
class SyntheticReport:
    speakers: int = 0
    events: int = 0
    sources: int = 0
    claims: int = 0
    links: int = 0

    def __str__(self) -> str:
        return (
            f"{self.speakers} speakers, {self.events} events, {self.sources} sources, "
            f"{self.claims} claims and {self.links} links added"
        )


def generate(target: Engine | Session | Connection, claims: int = 5000, seed: int = 1) -> SyntheticReport:
    """Add ``claims`` synthetic claims (and speakers, events, sources and about 0.6 links per claim).

    ``target`` is an Engine (the generator commits its own ``BEGIN IMMEDIATE`` transaction), or a Session
    or Connection already in a write transaction (the caller commits, e.g. ``write_session``).
    """
    if claims < 0:
        raise ValueError("claims must be 0 or more")
    if isinstance(target, Engine):
        with target.connect() as conn:
            conn = conn.execution_options(**{WRITE_OPTION: True})
            with conn.begin():
                return _generate(_dbapi(conn), claims, seed)
    conn = target.connection() if isinstance(target, Session) else target
    return _generate(_dbapi(conn), claims, seed)


def _dbapi(conn: Connection) -> sqlite3.Connection:
    return conn.connection.dbapi_connection  # type: ignore[return-value]


def _next_id(db: sqlite3.Connection, table: str) -> int:
    kinds = {table_: kind for kind, table_ in TABLES.items()}
    if table in kinds:  # never an id a merged speaker, source or event had
        return int(db.execute(f"SELECT {next_id_sql(kinds[table])}").fetchone()[0])
    return int(db.execute(f"SELECT coalesce(max(id), 0) + 1 FROM {table}").fetchone()[0])


def _insert(db: sqlite3.Connection, table: str, columns: str, rows: list[tuple[Any, ...]]) -> None:
    """Insert rows of values for ``columns`` ("a, b, c") in one executemany, inside the caller's transaction."""
    placeholders = ", ".join("?" * len(columns.split(",")))
    db.executemany(f"INSERT INTO {table} ({columns}) VALUES ({placeholders})", rows)


def _generate(db: sqlite3.Connection, n_claims: int, seed: int) -> SyntheticReport:
    rng = random.Random(seed)
    now = utc_now()
    report = SyntheticReport()
    if n_claims == 0:
        return report

    # --- speakers: organisations first, then people and groups, most of whom speak for one of them.
    existing_speakers = [r[0] for r in db.execute("SELECT id FROM speakers ORDER BY id")]
    first_speaker = _next_id(db, "speakers")
    n_orgs = max(4, n_claims // 250)
    n_people = max(12, n_claims // 25)
    speakers: list[tuple[Any, ...]] = []
    org_ids: list[int] = []
    for i in range(n_orgs):
        sid = first_speaker + i
        kind, what = ORGANISATIONS[i % len(ORGANISATIONS)]
        place = rng.choice(PLACES)
        speakers.append(
            (
                sid,
                f"{place} {what} {sid}",
                kind,
                f"Synthetic {kind.replace('_', ' ')} based in {place}",
                0,
                None,
                now,
                now,
            )
        )
        org_ids.append(sid)
    for i in range(n_people):
        sid = first_speaker + n_orgs + i
        affiliation = rng.choice(org_ids) if rng.random() < 0.75 else None
        if rng.random() < 0.8:
            anonymous = rng.random() < 0.15
            role = rng.choice(PERSON_ROLES)
            name = f"Unnamed {role} {sid}" if anonymous else f"{rng.choice(FIRST_NAMES)} {rng.choice(LAST_NAMES)} {sid}"
            speakers.append((sid, name, "person", f"Synthetic {role}", int(anonymous), affiliation, now, now))
        else:
            name = f"{rng.choice(GROUPS)} {rng.choice(PLACES)} {sid}"
            speakers.append((sid, name, "group", "Synthetic group of people", 0, affiliation, now, now))
    _insert(db, "speakers", "id, name, kind, description, anonymous, affiliation_id, created_at, updated_at", speakers)
    report.speakers = len(speakers)
    new_speakers = [s[0] for s in speakers]

    # --- events, each a few weeks long somewhere in three years.
    first_event = _next_id(db, "events")
    events: list[tuple[Any, ...]] = []
    spans: dict[int, tuple[int, int]] = {}
    for i in range(max(3, n_claims // 500)):
        eid = first_event + i
        start = rng.randrange(DAYS)
        length = rng.randrange(1, 60)
        spans[eid] = (start, length)
        place = rng.choice(PLACES)
        events.append(
            (
                eid,
                f"{place}: {rng.choice(SUBJECTS)[4:]} {eid}",
                f"Synthetic event: {rng.choice(SUBJECTS)} in {place}",
                _day(start),
                _day(start + length) if rng.random() < 0.8 else None,
                now,
                now,
            )
        )
    _insert(db, "events", "id, name, description, starts_on, ends_on, created_at, updated_at", events)
    report.events = len(events)
    event_ids = list(spans)

    # --- sources
    first_source = _next_id(db, "sources")
    sources = []
    for i in range(max(5, n_claims // 4)):
        src = first_source + i
        outlet = rng.choice(OUTLETS)
        title = f"{rng.choice(PLACES)}: {rng.choice(SUBJECTS)} {rng.choice(VERBS)}"
        sources.append(
            (src, title, outlet, f"https://example.org/synthetic/{src}", _day(rng.randrange(DAYS)), now, now)
        )
    _insert(db, "sources", "id, title, outlet, url, published_on, created_at, updated_at", sources)
    report.sources = len(sources)
    source_ids = [s[0] for s in sources]

    # --- claims: a few speakers say a lot, most say little; one in ten is by a speaker already there.
    first_claim = _next_id(db, "claims")
    weights = [1.0 / (rank + 1) for rank in range(len(new_speakers))]
    chosen = rng.choices(new_speakers, weights=weights, k=n_claims)
    claim_rows = []
    claim_sources = []
    for i in range(n_claims):
        cid = first_claim + i
        speaker = rng.choice(existing_speakers) if existing_speakers and rng.random() < 0.1 else chosen[i]
        event_id = rng.choice(event_ids) if rng.random() < 0.85 else None
        if event_id is not None:
            start, length = spans[event_id]
            stated_on: str | None = _day(start + rng.randrange(length + 1))
        else:
            stated_on = _day(rng.randrange(DAYS)) if rng.random() < 0.9 else None
        place = rng.choice(PLACES)
        text = (
            f"{rng.choice(SUBJECTS).capitalize()} in {place} {rng.choice(VERBS)} {rng.choice(DETAILS)}, "
            f"and {rng.choice(SUBJECTS)} {rng.choice(VERBS)} (statement {cid})."
        )
        stated_time = f"{rng.randrange(24):02d}:{rng.randrange(60):02d}" if rng.random() < 0.4 else None
        verdict = rng.choice(VERDICTS)
        rationale = f"Synthetic rationale for a {verdict} verdict." if verdict else None
        claim_rows.append(
            (
                cid,
                text,
                int(rng.random() < 0.4),
                speaker,
                event_id,
                stated_on,
                stated_time,
                f"Synthetic context: said in {place}" if rng.random() < 0.3 else None,
                verdict,
                rationale,
                now,
                now,
            )
        )
        roll = rng.random()
        n_sources = 0 if roll < 0.05 else (2 if roll > 0.85 else 1)
        for src in rng.sample(source_ids, min(n_sources, len(source_ids))):
            claim_sources.append((cid, src, now))
    _insert(
        db,
        "claims",
        "id, text, verbatim, speaker_id, event_id, stated_on, stated_time, context, verdict, verdict_rationale, created_at, updated_at",
        claim_rows,
    )
    _insert(db, "claim_sources", "claim_id, source_id, created_at", claim_sources)
    report.claims = len(claim_rows)

    # --- links: a new statement answers an earlier one (sometimes one that was already in the database).
    existing_pairs = {
        (min(a, b), max(a, b)) for a, b in db.execute("SELECT from_claim_id, to_claim_id FROM claim_links")
    }
    old_claims = [r[0] for r in db.execute("SELECT id FROM claims WHERE id < ?", (first_claim,))]
    links = []
    for _ in range(int(n_claims * 0.6)):
        answering = first_claim + rng.randrange(n_claims)
        if old_claims and rng.random() < 0.05:
            answered = rng.choice(old_claims)
        elif answering > first_claim:
            # Mostly recent statements answer each other, as in a news cycle.
            answered = max(first_claim, answering - 1 - int(rng.expovariate(1 / 50)))
        else:
            continue
        pair = (min(answering, answered), max(answering, answered))
        if answering == answered or pair in existing_pairs:
            continue
        existing_pairs.add(pair)
        relation = rng.choice(RELATIONS)
        links.append((answering, answered, relation, rng.choice(NOTES[relation]), now, now))
    _insert(db, "claim_links", "from_claim_id, to_claim_id, relation, note, created_at, updated_at", links)
    report.links = len(links)
    return report


def _day(offset: int) -> str:
    return (FIRST_DAY + dt.timedelta(days=offset)).isoformat()

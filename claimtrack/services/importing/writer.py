"""Validate records and write them in batches: BEGIN IMMEDIATE per batch, one savepoint per record.

A record that fails validation or a constraint is rolled back to its savepoint and reported with its
line/record number; the rest of the batch goes in. Speakers, events, sources and tags are matched by name
(or URL) through caches, so 12,800 LIAR rows take a few seconds; a name that a merged speaker, event or source
was known by (an alias) means the record it was merged into, as in the forms. Every created record gets one
``change_history`` row naming the importer (``import:<file name>`` or ``--as NAME``). The FTS triggers index
each claim as it is inserted, so search sees imported rows as soon as their batch commits.
"""

from __future__ import annotations

import sqlite3
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError
from sqlalchemy import Engine

from claimtrack.db import WRITE_OPTION
from claimtrack.models import (
    MAX_NAME,
    ClaimCreate,
    SourceCreate,
    _check_date,
    _check_url,
    alias_key,
    check_language,
    clean_name,
    clean_text,
    utc_now,
)
from claimtrack.services.aliases import next_id_sql
from claimtrack.services.errors import ClaimtrackError, InvalidInput, StorageFull, is_storage_full
from claimtrack.services.importing.ratings import RatingTable
from claimtrack.services.importing.records import Record, Rejected
from claimtrack.services.sources import source_alias

BATCH = 1000
_ASCII_FOLD = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")


def fold(name: str) -> str:
    """The key SQLite's NOCASE compares by: ASCII letters folded, nothing else."""
    return name.translate(_ASCII_FOLD)


@dataclass
class ImportReport:
    added: int = 0
    duplicates: int = 0
    rejected: list[Rejected] = field(default_factory=list)
    unmapped_ratings: Counter[str] = field(default_factory=Counter)
    dry_run: bool = False

    def __str__(self) -> str:
        prefix = "dry run, nothing written: would have " if self.dry_run else ""
        return f"{prefix}added {self.added}, skipped {self.duplicates} duplicates, rejected {len(self.rejected)}"


@dataclass
class Prepared:
    """A record that passed validation, in the shape the tables take."""

    number: int
    claim: dict[str, Any]
    speaker: dict[str, Any]
    event: str | None
    sources: list[SourceCreate]
    tags: list[str]


def _reason(exc: ValidationError) -> str:
    return str(InvalidInput.from_validation_error(exc))


def prepare(
    record: Record, ratings: RatingTable, default_language: str, event: str | None, report: ImportReport
) -> Prepared | Rejected:
    """Check one record with the same input models the forms use; say what is wrong, field by field."""
    verdict = record.verdict or ratings.verdict(record.rating_text)
    rationale, context = record.verdict_rationale, record.context
    if verdict is None and rationale:
        # A review headline without a verdict to explain is kept as context rather than refused.
        rationale, context = None, context or rationale
    try:
        data = ClaimCreate.model_validate(
            {
                "text": record.text or "",
                "verbatim": record.verbatim,
                "stated_on": record.stated_on,
                "stated_time": record.stated_time,
                "context": context,
                "verdict": verdict,
                "verdict_rationale": rationale,
                "event": event or record.event,
                "speaker": {"name": record.speaker or "", "kind": record.speaker_kind or "person"},
            }
        )
        sources = [SourceCreate.model_validate(vars(s)) for s in record.sources]
    except ValidationError as exc:
        return Rejected(record.number, _reason(exc))
    try:
        language = check_language(record.language) if record.language else default_language
        review_url = _check_url(record.review_url)
        review_date = _check_date(record.review_date)
    except ValueError as exc:
        return Rejected(record.number, str(exc))
    now = utc_now()
    claim = {
        "text": data.text,
        "verbatim": data.verbatim,
        "stated_on": data.stated_on,
        "stated_time": data.stated_time,
        "context": data.context,
        "verdict": data.verdict.value if data.verdict else None,
        "verdict_rationale": data.verdict_rationale,
        "language": language,
        "translation": clean_text(record.translation) if record.translation else None,
        "translated_by": clean_name(record.translated_by) if record.translated_by else None,
        "external_source": record.external_source,
        "external_id": record.external_id,
        "rating_text": record.rating_text,
        "review_url": review_url,
        "review_author": clean_name(record.review_author)[:MAX_NAME] if record.review_author else None,
        "review_date": review_date,
        "retracted": record.retracted,
        "retracted_at": record.retracted_at if record.retracted else None,
        "retracted_reason": record.retracted_reason if record.retracted else None,
        "created_at": now,
        "updated_at": now,
    }
    speaker = {
        "name": data.speaker.name,
        "kind": data.speaker.kind.value,
        "job_title": record.job_title,
        "party": record.party,
        "region": record.region,
    }
    tags = [t for t in (clean_name(tag)[:MAX_NAME] for tag in record.tags) if t]
    if record.rating_text and verdict is None:  # counted for valid rows only: the table may need a line
        report.unmapped_ratings[record.rating_text] += 1
    return Prepared(record.number, claim, speaker, data.event, [s for s in sources if not s.is_empty()], tags)


class Writer:
    """Holds the name -> id caches for one import; each batch runs in its own write transaction."""

    def __init__(self, engine: Engine, actor: str, report: ImportReport) -> None:
        self.engine = engine
        self.actor = actor
        self.report = report
        self.speakers: dict[str, int] = {}
        self.events: dict[str, int] = {}
        self.sources: dict[tuple[str | None, str | None, str | None], int] = {}
        self.tags: dict[str, int] = {}
        self.external: set[tuple[str, str]] | None = None

    def run(self, prepared: list[Prepared], dry_run: bool, progress: Callable[[int], None] | None) -> None:
        try:
            self._run(prepared, dry_run, progress)
        except sqlite3.Error as exc:
            # The batch in progress is rolled back whole; batches before it stay (re-importing completes it).
            if is_storage_full(exc):
                raise StorageFull() from exc
            raise ClaimtrackError(
                f"database error after {self.report.added} added rows were saved: {exc}; "
                "import the file again to add the rest (rows already in are skipped)"
            ) from exc

    def _run(self, prepared: list[Prepared], dry_run: bool, progress: Callable[[int], None] | None) -> None:
        if dry_run:
            # The same writes in one transaction, rolled back: constraints are checked for real, nothing stays.
            with self.engine.connect() as conn:
                conn = conn.execution_options(**{WRITE_OPTION: True})
                trans = conn.begin()
                try:
                    self._batch(_dbapi(conn), prepared, progress)
                finally:
                    trans.rollback()
            return
        for start in range(0, len(prepared), BATCH):
            with self.engine.connect() as conn:
                conn = conn.execution_options(**{WRITE_OPTION: True})
                with conn.begin():
                    self._batch(_dbapi(conn), prepared[start : start + BATCH], progress)

    def _batch(self, db: sqlite3.Connection, batch: Iterable[Prepared], progress: Callable[[int], None] | None) -> None:
        if self.external is None:
            self.external = {
                (s, i)
                for s, i in db.execute("SELECT external_source, external_id FROM claims WHERE external_id IS NOT NULL")
            }
        history: list[tuple[Any, ...]] = []
        done = 0
        for item in batch:
            done += 1
            db.execute("SAVEPOINT record")
            created: list[tuple[str, int, str, str]] = []
            caches: list[tuple[dict[Any, int], Any, int]] = []
            try:
                outcome = self._write(db, item, created, caches)
            except sqlite3.IntegrityError as exc:
                db.execute("ROLLBACK TO record")
                db.execute("RELEASE record")
                self.report.rejected.append(Rejected(item.number, f"refused by the database: {exc}"))
                continue
            db.execute("RELEASE record")
            for cache, key, ident in caches:
                cache[key] = ident
            if outcome == "duplicate":
                self.report.duplicates += 1
                continue
            self.report.added += 1
            now = utc_now()
            history += [
                (now, self.actor, entity, ident, "create", field, None, value)
                for entity, ident, field, value in created
            ]
            if progress and done % 100 == 0:
                progress(100)
        db.executemany(
            "INSERT INTO change_history (changed_at, username, entity, entity_id, action, field, old_value, new_value) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            history,
        )
        if progress and done % 100:
            progress(done % 100)

    def _id(
        self,
        db: sqlite3.Connection,
        cache: dict[Any, int],
        key: Any,
        caches: list[Any],
        find: tuple[str, tuple[Any, ...]],
        create: tuple[str, tuple[Any, ...]],
        created: list[Any],
        entity: str | None,
        field: str,
        value: str,
    ) -> int:
        if key in cache:
            return cache[key]
        row = db.execute(*find).fetchone()
        if row is None or row[0] is None:
            ident = int(db.execute(*create).lastrowid)  # type: ignore[arg-type]
            if entity:
                created.append((entity, ident, field, value))
        else:
            ident = int(row[0])
        caches.append((cache, key, ident))
        return ident

    def _write(self, db: sqlite3.Connection, item: Prepared, created: list[Any], caches: list[Any]) -> str:
        claim, sp = item.claim, item.speaker
        ext = (claim["external_source"], claim["external_id"]) if claim["external_id"] else None
        if ext is not None and ext in self.external:  # type: ignore[operator]
            return "duplicate"
        now = claim["created_at"]
        speaker_id = self._id(
            db,
            self.speakers,
            fold(sp["name"]),
            caches,
            _or_alias("speaker", "SELECT id FROM speakers WHERE name = ?", (sp["name"],), sp["name"]),
            (
                "INSERT INTO speakers (id, name, kind, job_title, party, region, anonymous, created_at, updated_at) "
                f"VALUES ({next_id_sql('speaker')}, ?, ?, ?, ?, ?, 0, ?, ?)",
                (sp["name"], sp["kind"], sp["job_title"], sp["party"], sp["region"], now, now),
            ),
            created,
            "speaker",
            "name",
            sp["name"],
        )
        # The same statement by the same speaker is the same claim, whatever file or query it came from.
        if db.execute("SELECT 1 FROM claims WHERE speaker_id = ? AND text = ?", (speaker_id, claim["text"])).fetchone():
            return "duplicate"
        event_id = None
        if item.event:
            event_id = self._id(
                db,
                self.events,
                fold(item.event),
                caches,
                _or_alias("event", "SELECT id FROM events WHERE name = ?", (item.event,), item.event),
                (
                    f"INSERT INTO events (id, name, created_at, updated_at) VALUES ({next_id_sql('event')}, ?, ?, ?)",
                    (item.event, now, now),
                ),
                created,
                "event",
                "name",
                item.event,
            )
        columns = ["speaker_id", "event_id", *claim]
        values = [speaker_id, event_id, *claim.values()]
        inserted = db.execute(
            f"INSERT INTO claims ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})", values
        ).lastrowid
        assert inserted is not None  # an INSERT always sets lastrowid
        claim_id = int(inserted)
        created.append(("claim", claim_id, "text", claim["text"]))
        if ext is not None:
            self.external.add(ext)  # type: ignore[union-attr]
        for source in item.sources:
            # Without a URL, a source is the one with the same title and outlet, case aside, as the forms
            # match it (NOCASE: ASCII letters folded, as the index on those two columns compares them).
            key = (
                (source.url, None, None)
                if source.url
                else (None, fold(source.title or "") or None, fold(source.outlet or "") or None)
            )
            sql, params = (
                ("SELECT id FROM sources WHERE url = ?", (source.url,))
                if source.url
                else (
                    "SELECT id FROM sources WHERE url IS NULL AND title IS ? COLLATE NOCASE "
                    "AND outlet IS ? COLLATE NOCASE",
                    (source.title, source.outlet),
                )
            )
            find = _or_alias("source", sql, params, source_alias(source.url, source.title, source.outlet))
            source_id = self._id(
                db,
                self.sources,
                key,
                caches,
                find,
                (
                    "INSERT INTO sources (id, title, outlet, url, published_on, created_at, updated_at) "
                    f"VALUES ({next_id_sql('source')}, ?, ?, ?, ?, ?, ?)",
                    (source.title, source.outlet, source.url, source.published_on, now, now),
                ),
                created,
                "source",
                "url" if source.url else "title",
                source.url or source.title or source.outlet or "",
            )
            db.execute(
                "INSERT OR IGNORE INTO claim_sources (claim_id, source_id, created_at) VALUES (?, ?, ?)",
                (claim_id, source_id, now),
            )
        for tag in item.tags:
            tag_id = self._id(
                db,
                self.tags,
                fold(tag),
                caches,
                ("SELECT id FROM tags WHERE name = ?", (tag,)),
                ("INSERT INTO tags (name, created_at) VALUES (?, ?)", (tag, now)),
                created,
                None,
                "name",
                tag,
            )
            db.execute(
                "INSERT OR IGNORE INTO claim_tags (claim_id, tag_id, created_at) VALUES (?, ?, ?)",
                (claim_id, tag_id, now),
            )
        return "added"


def _or_alias(kind: str, sql: str, params: tuple[Any, ...], name: str | None) -> tuple[str, tuple[Any, ...]]:
    """The lookup ``sql`` (one id or none), else the record ``name`` is an alias of, as the forms match them.

    One statement, as before aliases existed: the alias is looked up by its key in the same query, only when
    the record itself is not found, and its answer goes into the import's name caches like any other.
    """
    return (
        f"SELECT coalesce(({sql}), (SELECT entity_id FROM aliases WHERE kind = '{kind}' AND alias_key = ?))",
        (*params, alias_key(name or "")),
    )


def _dbapi(conn: Any) -> sqlite3.Connection:
    return conn.connection.dbapi_connection

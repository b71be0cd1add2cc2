"""Keeping a large archive fast: merge the full-text indexes and refresh the query planner's statistics.

Every write adds a small segment to an FTS5 index; SQLite merges them a few at a time as it goes, but after
a bulk import or a busy news day an index can hold hundreds, and every search reads all of them.
``optimize`` merges each index into one segment (the ``optimize`` command of FTS5) and then runs
``PRAGMA optimize`` so the planner's statistics follow the data.

The external-content indexes (``claims_fts`` and the like, ``content=[table]``) are found and optimized
with sqlite-utils' FTS helpers, which understand exactly the shape migration 0001 creates; the search
index ``claims_fts_search`` (its own copy of the words, no content table) is named here. Everything runs
in the project's write session (``BEGIN IMMEDIATE`` behind the writer queue), so editors' saves wait
their turn instead of failing, and history is untouched (no tracked row changes).
"""

from __future__ import annotations

from dataclasses import dataclass

import sqlite_utils
from sqlalchemy import Engine

from claimtrack.db import write_session

# Indexes with their own copy of the words: sqlite-utils' detect_fts() only finds content=[table] ones.
STANDALONE_FTS = ("claims_fts_search",)


@dataclass(frozen=True)
class IndexReport:
    name: str
    segments_before: int
    segments_after: int


def segment_count(db: sqlite_utils.Database, fts_table: str) -> int:
    """How many b-tree segments an FTS5 index holds (each search reads every one)."""
    return int(db.execute(f"SELECT count(DISTINCT segid) FROM [{fts_table}_idx]").fetchone()[0])


def optimize_database(engine: Engine, actor: str = "cli:optimize") -> list[IndexReport]:
    reports: list[IndexReport] = []
    with write_session(engine, actor=actor) as session:
        raw = session.connection().connection.driver_connection
        # recursive_triggers would change how the FTS triggers fire on this shared connection.
        db = sqlite_utils.Database(raw, recursive_triggers=False, execute_plugins=False)
        # index name -> the table it indexes (None: an index with its own copy of the words)
        indexes: dict[str, str | None] = {}
        for table in db.tables:
            fts = table.detect_fts()
            if fts is not None and table.name != fts:  # the index's own tables also "find" it
                indexes.setdefault(fts, table.name)
        for name in STANDALONE_FTS:
            if db[name].exists():
                indexes.setdefault(name, None)
        for fts, content_table in sorted(indexes.items()):
            before = segment_count(db, fts)
            if content_table is not None:
                db.table(content_table).optimize()
            else:
                db.execute(f"INSERT INTO [{fts}] ([{fts}]) VALUES ('optimize')")
            reports.append(IndexReport(fts, before, segment_count(db, fts)))
        db.execute("PRAGMA optimize")
    return reports

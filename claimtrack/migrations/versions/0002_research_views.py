"""Research views for Datasette: contested_claims, event_timeline, speaker_claims; claim_links_readable made fast.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-26

The views' SQL is in views/0002.sql (claim_links_readable as 0001 made it, restored by downgrade(), in
views/0001.sql): migrations are frozen snapshots, so a later migration that changes a view drops it and creates
it again from its own file, and its downgrade restores this one.

How the views are written, and why (measured on 1,000,000 claims and 600,000 links):

- Datasette pages through a view with LIMIT/OFFSET (it has no primary key to page by), and a full CSV
  export (``?_stream=on``) asks for page after page. SQLite runs a view's joins for every row it skips,
  so a view built from joins (claim_links_readable as 0001 made it) costs ~2 s per page near row
  500,000: the export slows down with the square of the rows and its late pages run into the SQL time
  limit. So each view here scans ONE table in primary-key (or index) order and looks everything else up
  in correlated subqueries, which SQLite evaluates only for the rows it returns: a page of 1,000 rows
  takes 0.1-0.3 s at any offset, a count of all rows well under a second. Whole exports with
  ``?_stream=on&_size=max`` measured on that data: claim_links_readable 45 s, contested_claims 77 s,
  event_timeline 57 s, speaker_claims 63 s (the claims table itself: 28 s).
- Every view carries the ids it is built on (claim_id, speaker_id, event_id): a filter on an id uses an
  index; a filter on a name (speaker, event) scans the driving table (a few hundred ms per million).
- Indexes below serve the default orders, the per-claim link counts, and the by-date figures.
"""

from __future__ import annotations

from alembic import op

from claimtrack.migrations.viewsql import read_views, replace_views

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

VIEWS = read_views("0002")
# Each view on its own, as stored in sqlite_master at this revision (tests compare them).
CLAIM_LINKS_READABLE = VIEWS["claim_links_readable"]
CONTESTED_CLAIMS = VIEWS["contested_claims"]
EVENT_TIMELINE = VIEWS["event_timeline"]
SPEAKER_CLAIMS = VIEWS["speaker_claims"]

INDEXES = {
    # Per answered statement: link counts and the answering statements (for distinct speakers), from the
    # index alone.
    "ix_claim_links_to_relation_from": "CREATE INDEX ix_claim_links_to_relation_from "
    "ON claim_links (to_claim_id, relation, from_claim_id)",
    # One event's statements in date order (event_timeline?event_id=..., the dashboard's event filter).
    "ix_claims_event_stated": "CREATE INDEX ix_claims_event_stated ON claims (event_id, stated_on, stated_time)",
    # All events' statements in date order: event_timeline's default order skips rows on the index alone;
    # claims by verdict over time are counted from it without reading the table.
    "ix_claims_stated_on_event_verdict": "CREATE INDEX ix_claims_stated_on_event_verdict "
    "ON claims (stated_on, event_id, verdict)",
}


def upgrade() -> None:
    for statement in INDEXES.values():
        op.execute(statement)
    replace_views("0001", "0002")


def downgrade() -> None:
    replace_views("0002", "0001")
    for name in reversed(list(INDEXES)):
        op.execute(f"DROP INDEX IF EXISTS {name}")

"""Research views that look a row's statements, speakers and event up once, by joins.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01

0004's views computed every looked-up column with its own correlated subquery: claim_links_readable looked
its two statements up eleven times per link, and a full export of it took longer in ``sqlite3 -csv`` than
the whole claims table. The views are recreated from views/0005.sql with LEFT JOINs (same columns, rows,
order, values and types); each claim's source list stays one subquery on the claim_sources index.
Downgrade restores 0004's views.
"""

from __future__ import annotations

from claimtrack.migrations.viewsql import view_replacement

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


upgrade, downgrade = view_replacement(revision, down_revision)

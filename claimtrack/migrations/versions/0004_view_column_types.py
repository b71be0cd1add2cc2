"""Research views whose computed integer columns can be filtered and faceted in Datasette.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01

An expression in a view (``l.retracted OR ...``, ``count(*)``) has no type affinity, and Datasette sends a
filter value as text: ``claim_links_readable?retracted=0``, ``contested_claims?contradicting_statements=5`` and
the "0" link of the retracted facet matched nothing. The views are recreated from views/0004.sql with those
columns CAST to INTEGER (same rows, same values, same query plans); contested_claims gains ``retracted``
(always 0) so the same filter works on every view. Downgrade restores 0003's views.
"""

from __future__ import annotations

from claimtrack.migrations.viewsql import view_replacement

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


upgrade, downgrade = view_replacement(revision, down_revision)

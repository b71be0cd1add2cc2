"""Merging duplicate speakers, sources and events: the names they were known by, and where they went.

Revision ID: 0010
Revises: 0008
Create Date: 2026-12-02

``aliases``: a name (or a source's URL or title) that now means another record of the same kind, matched by
its key (NFC, case-folded, spaces collapsed), so typing a merged name lands on the record that was kept.
``merged_entities``: each merged record's old id, the id it was merged into and its name then, so an old
page address can answer with the kept record's page.
"""

from __future__ import annotations

from alembic import op

revision = "0010"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        """CREATE TABLE aliases (
        id INTEGER NOT NULL,
        kind VARCHAR NOT NULL CHECK (kind IN ('speaker', 'source', 'event')),
        entity_id INTEGER NOT NULL,
        alias VARCHAR NOT NULL CHECK (length(trim(alias)) > 0),
        alias_key VARCHAR NOT NULL CHECK (length(alias_key) > 0),
        created_at VARCHAR NOT NULL,
        PRIMARY KEY (id),
        UNIQUE (kind, alias_key)
    )"""
    )
    op.execute("CREATE INDEX ix_aliases_kind_entity ON aliases (kind, entity_id)")
    op.execute(
        """CREATE TABLE merged_entities (
        id INTEGER NOT NULL,
        kind VARCHAR NOT NULL CHECK (kind IN ('speaker', 'source', 'event')),
        old_id INTEGER NOT NULL,
        kept_id INTEGER NOT NULL,
        name VARCHAR,
        merged_at VARCHAR NOT NULL,
        PRIMARY KEY (id),
        UNIQUE (kind, old_id),
        CHECK (old_id <> kept_id)
    )"""
    )
    op.execute("CREATE INDEX ix_merged_entities_kind_kept ON merged_entities (kind, kept_id)")


def downgrade() -> None:
    op.execute("DROP INDEX ix_merged_entities_kind_kept")
    op.execute("DROP TABLE merged_entities")
    op.execute("DROP INDEX ix_aliases_kind_entity")
    op.execute("DROP TABLE aliases")

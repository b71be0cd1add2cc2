"""Merging duplicate speakers, sources and events: the names they were known by, and where they went.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-02

``aliases``: a name (or a source's URL or title) that now means another record of the same kind, matched by
its key (NFC, case-folded, spaces collapsed), so typing a merged name lands on the record that was kept.
``merged_entities``: each merged record's old id, the id it was merged into and its name then, so an old
page address can answer with the kept record's page.
Triggers on ``aliases`` keep its names in ``entity_names`` (``is_alias = 1``, migration 0009), so similar-name
suggestions and exact lookups find a merged name too. A source's URL alias is not a name and stays out.
"""

from __future__ import annotations

from alembic import op

from claimtrack.migrations.keys import sql_key
from claimtrack.migrations.shared import drop_triggers

# A source's URL alias is not a name: it stays out of entity_names.
ALIAS_ROW = f"""INSERT INTO entity_names (kind, entity_id, name, name_key, is_alias)
    SELECT new.kind, new.entity_id, new.alias, {sql_key("new.alias")}, 1
    WHERE NOT (new.kind = 'source' AND new.alias LIKE '%://%')"""
ALIAS_GONE = """DELETE FROM entity_names
    WHERE kind = old.kind AND entity_id = old.entity_id AND is_alias = 1 AND name = old.alias"""
TRIGGERS = {
    "aliases_names_ai": f"AFTER INSERT ON aliases BEGIN {ALIAS_ROW}; END",
    "aliases_names_au": f"AFTER UPDATE ON aliases BEGIN {ALIAS_GONE}; {ALIAS_ROW}; END",
    "aliases_names_ad": f"AFTER DELETE ON aliases BEGIN {ALIAS_GONE}; END",
}

revision = "0010"
down_revision = "0009"
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
    for name, body in TRIGGERS.items():
        op.execute(f"CREATE TRIGGER {name} {body}")


def downgrade() -> None:
    drop_triggers(TRIGGERS)
    op.execute("DROP INDEX ix_merged_entities_kind_kept")
    op.execute("DROP TABLE merged_entities")
    op.execute("DROP INDEX ix_aliases_kind_entity")
    op.execute("DROP TABLE aliases")

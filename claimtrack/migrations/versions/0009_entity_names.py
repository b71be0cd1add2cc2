"""Names of speakers, sources and events, indexed for finding near duplicates as they are typed.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-03

``entity_names`` holds one row per name an entity is known by: its own name (``is_alias = 0``; a source's
title, or its outlet when it has no title), kept by triggers on ``speakers``, ``sources`` and ``events`` so
every writer (app, command line, importers, plain SQL) keeps it current, and later aliases
(``is_alias = 1``) that point at the entity they name. ``name_key`` is the name lower-cased, without
punctuation (dashes and slashes separate words) and with single spaces; SQLite's ``lower()`` folds ASCII
only, so the app compares Unicode case-folded keys itself (``claimtrack.services.names.name_key``).

``entity_names_fts`` is an external-content FTS5 index over ``name_key`` (unicode61 tokens, accents
folded), kept by triggers on ``entity_names``: the app asks it for a bounded set of candidates and ranks
them in Python, so no lookup reads a whole table.
"""

from __future__ import annotations

from alembic import op

from claimtrack.migrations.keys import sql_key
from claimtrack.migrations.shared import drop_triggers, execute_all

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

FTS = "entity_names_fts"
TOKENIZE = "unicode61 remove_diacritics 2"


def own_row(kind: str, entity_id: str, name: str) -> str:
    return f"""INSERT INTO entity_names (kind, entity_id, name, name_key, is_alias)
    SELECT '{kind}', {entity_id}, {name}, {sql_key(name)}, 0 WHERE {name} IS NOT NULL"""


# (kind, table, the SQL of its name given a row alias, the columns whose change renames it)
ENTITIES = [
    ("speaker", "speakers", "{r}.name", "name"),
    ("source", "sources", "coalesce({r}.title, {r}.outlet)", "title, outlet"),
    ("event", "events", "{r}.name", "name"),
]


def entity_triggers(kind: str, table: str, name: str, columns: str) -> list[str]:
    new_name = name.format(r="new")
    return [
        f"""CREATE TRIGGER {table}_names_ai AFTER INSERT ON {table} BEGIN
  {own_row(kind, "new.id", new_name)};
END""",
        f"""CREATE TRIGGER {table}_names_au AFTER UPDATE OF {columns} ON {table} BEGIN
  DELETE FROM entity_names WHERE kind = '{kind}' AND entity_id = old.id AND is_alias = 0;
  {own_row(kind, "new.id", new_name)};
END""",
        # Aliases go with the entity they name.
        f"""CREATE TRIGGER {table}_names_ad AFTER DELETE ON {table} BEGIN
  DELETE FROM entity_names WHERE kind = '{kind}' AND entity_id = old.id;
END""",
    ]


STATEMENTS = [
    """CREATE TABLE entity_names (
        id INTEGER NOT NULL,
        kind VARCHAR NOT NULL CHECK (kind IN ('speaker', 'source', 'event')),
        entity_id INTEGER NOT NULL,
        name VARCHAR NOT NULL,
        name_key VARCHAR NOT NULL,
        is_alias INTEGER NOT NULL DEFAULT 0 CHECK (is_alias IN (0, 1)),
        PRIMARY KEY (id)
    )""",
    "CREATE INDEX ix_entity_names_entity ON entity_names (kind, entity_id)",
    "CREATE INDEX ix_entity_names_key ON entity_names (kind, name_key)",
    f'CREATE VIRTUAL TABLE {FTS} USING fts5 (name_key, content=[entity_names], tokenize="{TOKENIZE}")',
    f"""CREATE TRIGGER entity_names_ai AFTER INSERT ON entity_names BEGIN
  INSERT INTO {FTS} (rowid, name_key) VALUES (new.id, new.name_key);
END""",
    f"""CREATE TRIGGER entity_names_ad AFTER DELETE ON entity_names BEGIN
  INSERT INTO {FTS} ({FTS}, rowid, name_key) VALUES ('delete', old.id, old.name_key);
END""",
    f"""CREATE TRIGGER entity_names_au AFTER UPDATE ON entity_names BEGIN
  INSERT INTO {FTS} ({FTS}, rowid, name_key) VALUES ('delete', old.id, old.name_key);
  INSERT INTO {FTS} (rowid, name_key) VALUES (new.id, new.name_key);
END""",
]
for _kind, _table, _name, _columns in ENTITIES:
    STATEMENTS.append(own_row(_kind, "r.id", _name.format(r="r")).replace(" WHERE ", f" FROM {_table} r WHERE ", 1))
    STATEMENTS.extend(entity_triggers(_kind, _table, _name, _columns))

TRIGGERS = ["entity_names_ai", "entity_names_ad", "entity_names_au"] + [
    f"{table}_names_{op_}" for _k, table, _n, _c in ENTITIES for op_ in ("ai", "au", "ad")
]


def upgrade() -> None:
    execute_all(STATEMENTS)


def downgrade() -> None:
    drop_triggers(TRIGGERS)
    op.execute(f"DROP TABLE IF EXISTS {FTS}")
    op.execute("DROP INDEX IF EXISTS ix_entity_names_key")
    op.execute("DROP INDEX IF EXISTS ix_entity_names_entity")
    op.execute("DROP TABLE IF EXISTS entity_names")

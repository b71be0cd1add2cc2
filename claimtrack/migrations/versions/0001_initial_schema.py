"""Initial schema: speakers, events, sources, claims, claim_sources, claim_links, FTS and views.

Revision ID: 0001
Revises:
Create Date: 2026-11-25
"""

from __future__ import annotations

from alembic import op

from claimtrack.migrations.fts import create_fts_sql, drop_fts_sql
from claimtrack.migrations.viewsql import create_views, drop_views

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

SPEAKER_KINDS = "'person', 'government_body', 'armed_group', 'organisation', 'media_outlet', 'group'"
VERDICTS = "'unverified', 'disputed', 'false', 'misleading', 'accurate'"
RELATIONS = "'contradicts', 'supports', 'qualifies'"

TABLES = [
    f"""CREATE TABLE speakers (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL COLLATE NOCASE UNIQUE CHECK (length(trim(name)) > 0),
    kind TEXT NOT NULL DEFAULT 'person' CHECK (kind IN ({SPEAKER_KINDS})),
    description TEXT,
    anonymous BOOLEAN NOT NULL DEFAULT 0 CHECK (anonymous IN (0, 1)),
    affiliation_id INTEGER REFERENCES speakers (id),
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    CHECK (affiliation_id IS NULL OR affiliation_id <> id)
)""",
    "CREATE INDEX ix_speakers_affiliation_id ON speakers (affiliation_id)",
    "CREATE INDEX ix_speakers_kind ON speakers (kind)",
    """CREATE TABLE events (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL COLLATE NOCASE UNIQUE CHECK (length(trim(name)) > 0),
    description TEXT,
    starts_on TEXT,
    ends_on TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
)""",
    """CREATE TABLE sources (
    id INTEGER PRIMARY KEY,
    title TEXT,
    outlet TEXT,
    url TEXT UNIQUE,
    published_on TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    CHECK (title IS NOT NULL OR outlet IS NOT NULL OR url IS NOT NULL)
)""",
    "CREATE INDEX ix_sources_outlet ON sources (outlet)",
    "CREATE INDEX ix_sources_title_outlet ON sources (title COLLATE NOCASE, outlet COLLATE NOCASE)",
    f"""CREATE TABLE claims (
    id INTEGER PRIMARY KEY,
    text TEXT NOT NULL CHECK (length(trim(text)) > 0),
    verbatim BOOLEAN NOT NULL DEFAULT 0 CHECK (verbatim IN (0, 1)),
    speaker_id INTEGER NOT NULL REFERENCES speakers (id),
    event_id INTEGER REFERENCES events (id),
    stated_on TEXT,
    stated_time TEXT,
    context TEXT,
    verdict TEXT CHECK (verdict IS NULL OR verdict IN ({VERDICTS})),
    verdict_rationale TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
)""",
    "CREATE INDEX ix_claims_speaker_id ON claims (speaker_id)",
    "CREATE INDEX ix_claims_event_id ON claims (event_id)",
    "CREATE INDEX ix_claims_verdict ON claims (verdict)",
    "CREATE INDEX ix_claims_stated_on ON claims (stated_on)",
    """CREATE TABLE claim_sources (
    id INTEGER PRIMARY KEY,
    claim_id INTEGER NOT NULL REFERENCES claims (id),
    source_id INTEGER NOT NULL REFERENCES sources (id),
    created_at TEXT NOT NULL,
    UNIQUE (claim_id, source_id)
)""",
    "CREATE INDEX ix_claim_sources_claim_id ON claim_sources (claim_id)",
    "CREATE INDEX ix_claim_sources_source_id ON claim_sources (source_id)",
    f"""CREATE TABLE claim_links (
    id INTEGER PRIMARY KEY,
    from_claim_id INTEGER NOT NULL REFERENCES claims (id),
    to_claim_id INTEGER NOT NULL REFERENCES claims (id),
    relation TEXT NOT NULL CHECK (relation IN ({RELATIONS})),
    note TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    CHECK (from_claim_id <> to_claim_id)
)""",
    "CREATE INDEX ix_claim_links_to_relation ON claim_links (to_claim_id, relation)",
    "CREATE INDEX ix_claim_links_from_relation ON claim_links (from_claim_id, relation)",
    # One link per pair of statements, whichever way round: B contradicts A is the same link as A contradicts B.
    "CREATE UNIQUE INDEX ux_claim_links_pair ON claim_links "
    "(min(from_claim_id, to_claim_id), max(from_claim_id, to_claim_id))",
]


def upgrade() -> None:
    for statement in TABLES:
        op.execute(statement)
    for table, columns in (
        ("claims", ["text"]),
        ("speakers", ["name", "description"]),
        ("sources", ["title", "outlet"]),
    ):
        for statement in create_fts_sql(table, columns):
            op.execute(statement)
    create_views("0001")  # claim_links_readable: views/0001.sql


def downgrade() -> None:
    drop_views("0001")
    for table in ("claims", "speakers", "sources"):
        for statement in drop_fts_sql(table):
            op.execute(statement)
    for table in ("claim_links", "claim_sources", "claims", "sources", "events", "speakers"):
        op.execute(f"DROP TABLE {table}")

"""Languages, translations, external ids, kept review fields, speaker details and tags (import and export).

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01

- ``claims``: ``language`` (BCP 47; existing rows are English), ``translation`` and ``translated_by``; where an
  imported claim came from (``external_source`` + ``external_id``, unique together when set, so re-importing a
  file adds nothing); the review it came with, verbatim (``rating_text``, ``review_url``, ``review_author``,
  ``review_date``).
- ``speakers``: ``job_title``, ``party`` and ``region`` (LIAR and other data sets give them).
- ``tags`` and ``claim_tags``: topics (LIAR's subjects), each foreign key indexed.

Only columns are added (``ALTER TABLE ... ADD COLUMN``): no table is rebuilt, so the FTS triggers and views
stay as they are; the triggers index imported rows like any other.
"""

from __future__ import annotations

from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

CLAIM_COLUMNS = [
    # A BCP 47 tag such as "en", "ar", "ru" or "pt-BR"; the app fills in CLAIMTRACK_DEFAULT_LANGUAGE.
    "language TEXT NOT NULL DEFAULT 'en' CHECK (length(language) BETWEEN 2 AND 35 AND language NOT GLOB '*[^A-Za-z0-9-]*')",
    "translation TEXT",
    "translated_by TEXT",
    "external_source TEXT",
    "external_id TEXT",
    "rating_text TEXT",
    "review_url TEXT",
    "review_author TEXT",
    "review_date TEXT",
]
SPEAKER_COLUMNS = ["job_title TEXT", "party TEXT", "region TEXT"]

TAGS = """CREATE TABLE tags (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL COLLATE NOCASE UNIQUE CHECK (length(trim(name)) > 0),
    created_at TEXT NOT NULL
)"""
CLAIM_TAGS = """CREATE TABLE claim_tags (
    id INTEGER PRIMARY KEY,
    claim_id INTEGER NOT NULL REFERENCES claims (id),
    tag_id INTEGER NOT NULL REFERENCES tags (id),
    created_at TEXT NOT NULL,
    UNIQUE (claim_id, tag_id)
)"""


def upgrade() -> None:
    for column in CLAIM_COLUMNS:
        op.execute(f"ALTER TABLE claims ADD COLUMN {column}")
    for column in SPEAKER_COLUMNS:
        op.execute(f"ALTER TABLE speakers ADD COLUMN {column}")
    # One claim per record of a source system; rows typed in the app have no external id.
    op.execute(
        "CREATE UNIQUE INDEX ux_claims_external ON claims (external_source, external_id) WHERE external_id IS NOT NULL"
    )
    op.execute("CREATE INDEX ix_claims_language ON claims (language)")
    op.execute(TAGS)
    op.execute(CLAIM_TAGS)
    op.execute("CREATE INDEX ix_claim_tags_claim_id ON claim_tags (claim_id)")
    op.execute("CREATE INDEX ix_claim_tags_tag_id ON claim_tags (tag_id)")


def downgrade() -> None:
    op.execute("DROP TABLE claim_tags")
    op.execute("DROP TABLE tags")
    op.execute("DROP INDEX ix_claims_language")
    op.execute("DROP INDEX ux_claims_external")
    for column in reversed(SPEAKER_COLUMNS):
        op.execute(f"ALTER TABLE speakers DROP COLUMN {column.split()[0]}")
    for column in reversed(CLAIM_COLUMNS):
        op.execute(f"ALTER TABLE claims DROP COLUMN {column.split()[0]}")

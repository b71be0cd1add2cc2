"""The names merged speakers were known by are searchable: ``/claims?q=<old name>`` finds the moved claims.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-03

The speaker column of ``claims_fts_search`` (migration 0007) held the speaker's name and whom they speak for.
It now also holds the aliases of both (``aliases`` rows of kind 'speaker', added when a speaker is merged into
another), so an old name finds the kept speaker's claims and those of everyone who speaks for it.

- The three triggers that fill the column (a new claim, a claim's text or speaker changed, a speaker renamed
  or re-affiliated) are recreated with the aliases in the same statement: a new claim costs one more indexed
  lookup inside its trigger, no extra statement.
- New triggers on ``aliases`` refresh the column of the claims concerned when a speaker's alias is added,
  moved or removed (a merge is rare; it rewrites the kept speaker's rows once per alias change).

Self-contained: the downgrade writes back 0007's triggers with their exact text.
"""

from __future__ import annotations

from alembic import op

from claimtrack.migrations.shared import strip_marks

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

FTS = "claims_fts_search"


def speaker_words(claim: str, aliases: bool) -> str:
    """The speaker column of ``claim``: name, whom they speak for, and (from 0011 on) both one's aliases."""
    if not aliases:  # 0007's text, character for character
        return f"""(SELECT s.name || coalesce(' ' || a.name, '') FROM claims c0 JOIN speakers s ON s.id = c0.speaker_id
        LEFT JOIN speakers a ON a.id = s.affiliation_id WHERE c0.id = {claim})"""
    return f"""(SELECT s.name || coalesce(' ' || a.name, '') || coalesce(' ' || (SELECT group_concat(al.alias, ' ')
          FROM aliases al WHERE al.kind = 'speaker' AND al.entity_id IN (s.id, s.affiliation_id)), '')
        FROM claims c0 JOIN speakers s ON s.id = c0.speaker_id
        LEFT JOIN speakers a ON a.id = s.affiliation_id WHERE c0.id = {claim})"""


def source_words(claim: str) -> str:
    return f"""(SELECT group_concat(coalesce(so.title, '') || ' ' || coalesce(so.outlet, ''), ' ')
        FROM claim_sources cs JOIN sources so ON so.id = cs.source_id WHERE cs.claim_id = {claim})"""


def insert_row(claim: str, text: str, aliases: bool) -> str:
    return f"""INSERT INTO {FTS} (rowid, text, speaker, sources)
    VALUES ({claim}, {strip_marks(text)}, {speaker_words(claim, aliases)}, {source_words(claim)})"""


def claims_of(speaker: str) -> str:
    """The claims whose speaker column names ``speaker``: its own and those of everyone who speaks for it."""
    return f"""SELECT id FROM claims WHERE speaker_id = {speaker}
    UNION ALL SELECT c.id FROM claims c JOIN speakers m ON m.id = c.speaker_id WHERE m.affiliation_id = {speaker}"""


def speaker_triggers(aliases: bool) -> list[str]:
    """The triggers 0007 created, filling the speaker column with or without the aliases."""
    return [
        f"""CREATE TRIGGER claims_search_ai AFTER INSERT ON claims BEGIN
  {insert_row("new.id", "new.text", aliases)};
END""",
        f"""CREATE TRIGGER claims_search_au AFTER UPDATE OF text, speaker_id ON claims BEGIN
  DELETE FROM {FTS} WHERE rowid = old.id;
  {insert_row("new.id", "new.text", aliases)};
END""",
        # A rename reaches the speaker's claims and those of everyone who speaks for it.
        f"""CREATE TRIGGER speakers_search_au AFTER UPDATE OF name, affiliation_id ON speakers BEGIN
  UPDATE {FTS} SET speaker = {speaker_words(f"{FTS}.rowid", aliases)}
  WHERE rowid IN (SELECT id FROM claims WHERE speaker_id = new.id
    UNION ALL SELECT c.id FROM claims c JOIN speakers m ON m.id = c.speaker_id WHERE m.affiliation_id = new.id);
END""",
    ]


def refresh(speaker: str, aliases: bool) -> str:
    return f"UPDATE {FTS} SET speaker = {speaker_words(f'{FTS}.rowid', aliases)} WHERE rowid IN ({claims_of(speaker)})"


ALIAS_TRIGGERS = [
    f"""CREATE TRIGGER aliases_search_ai AFTER INSERT ON aliases WHEN new.kind = 'speaker' BEGIN
  {refresh("new.entity_id", True)};
END""",
    # A merge hands the merged speaker's aliases to the kept one: both lose or gain words.
    f"""CREATE TRIGGER aliases_search_au AFTER UPDATE OF kind, entity_id, alias ON aliases
  WHEN old.kind = 'speaker' OR new.kind = 'speaker' BEGIN
  {refresh("old.entity_id", True)};
  {refresh("new.entity_id", True)};
END""",
    f"""CREATE TRIGGER aliases_search_ad AFTER DELETE ON aliases WHEN old.kind = 'speaker' BEGIN
  {refresh("old.entity_id", True)};
END""",
]
REPLACED = ["claims_search_ai", "claims_search_au", "speakers_search_au"]
ADDED = ["aliases_search_ai", "aliases_search_au", "aliases_search_ad"]
# The claims whose speaker column an alias changes: those of a speaker with aliases, or of one it speaks for.
WITH_ALIASES = """SELECT c.id FROM claims c JOIN speakers s ON s.id = c.speaker_id
    WHERE EXISTS (SELECT 1 FROM aliases al WHERE al.kind = 'speaker' AND al.entity_id IN (s.id, s.affiliation_id))"""


def upgrade() -> None:
    for trigger in REPLACED:
        op.execute(f"DROP TRIGGER {trigger}")
    for statement in speaker_triggers(aliases=True) + ALIAS_TRIGGERS:
        op.execute(statement)
    # Speakers merged before this revision: their names go into the index now.
    op.execute(f"UPDATE {FTS} SET speaker = {speaker_words(f'{FTS}.rowid', True)} WHERE rowid IN ({WITH_ALIASES})")


def downgrade() -> None:
    # Computed before the triggers change: afterwards the same claims are written without their aliases.
    op.execute(f"UPDATE {FTS} SET speaker = {speaker_words(f'{FTS}.rowid', False)} WHERE rowid IN ({WITH_ALIASES})")
    for trigger in ADDED + REPLACED:
        op.execute(f"DROP TRIGGER {trigger}")
    for statement in speaker_triggers(aliases=False):
        op.execute(statement)

"""A search index for finding what is already there: stems, prefixes, speakers' and sources' names.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02

``claims_fts_search`` is an FTS5 table (its own copy of the words; rowid = the claim's id) over three
columns: the statement, its speaker's name with whom they speak for, and its sources' titles and outlets.

- Tokenizer ``porter unicode61 remove_diacritics 2 categories 'L* N* Co M*'``: the Porter stemmer makes
  "finished"/"finish" and "completed"/"complete" meet; ``remove_diacritics 2`` folds Latin accents
  ("Métro" = "metro"); ``M*`` keeps combining marks inside a word (by default they split it: an Arabic word
  written with short vowels became single letters; Devanagari vowel signs likewise). Porter leaves
  non-Latin words as they are.
- Arabic short vowels, shadda, sukun, dagger alif and tatweel (U+064B-U+0652, U+0670, U+0640) are not
  diacritics to unicode61, so the triggers remove them before indexing (and the app removes them from
  queries): "كَتَبَ" and "كتب" are one word to the search.
- Triggers keep it in sync with ``claims``, ``speakers``, ``sources`` and ``claim_sources`` for every
  writer (app, command line, importers). ``claims_fts``, which Datasette's metadata uses, stays as it is.
- Column weights for BM25 (statement 10, speaker 3, sources 1) are stored as the table's ``rank``.
"""

from __future__ import annotations

from alembic import op

from claimtrack.migrations.shared import drop_triggers, execute_all, strip_marks

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

FTS = "claims_fts_search"
TOKENIZE = "porter unicode61 remove_diacritics 2 categories 'L* N* Co M*'"


def speaker_words(claim: str) -> str:
    return f"""(SELECT s.name || coalesce(' ' || a.name, '') FROM claims c0 JOIN speakers s ON s.id = c0.speaker_id
        LEFT JOIN speakers a ON a.id = s.affiliation_id WHERE c0.id = {claim})"""


def source_words(claim: str) -> str:
    return f"""(SELECT group_concat(coalesce(so.title, '') || ' ' || coalesce(so.outlet, ''), ' ')
        FROM claim_sources cs JOIN sources so ON so.id = cs.source_id WHERE cs.claim_id = {claim})"""


def insert_row(claim: str, text: str) -> str:
    return f"""INSERT INTO {FTS} (rowid, text, speaker, sources)
    VALUES ({claim}, {strip_marks(text)}, {speaker_words(claim)}, {source_words(claim)})"""


STATEMENTS = [
    f'CREATE VIRTUAL TABLE {FTS} USING fts5 (text, speaker, sources, tokenize="{TOKENIZE}")',
    f"INSERT INTO {FTS} ({FTS}, rank) VALUES ('rank', 'bm25(10.0, 3.0, 1.0)')",
    f"""INSERT INTO {FTS} (rowid, text, speaker, sources)
    SELECT c.id, {strip_marks("c.text")}, {speaker_words("c.id")}, {source_words("c.id")} FROM claims c""",
    f"""CREATE TRIGGER claims_search_ai AFTER INSERT ON claims BEGIN
  {insert_row("new.id", "new.text")};
END""",
    f"""CREATE TRIGGER claims_search_au AFTER UPDATE OF text, speaker_id ON claims BEGIN
  DELETE FROM {FTS} WHERE rowid = old.id;
  {insert_row("new.id", "new.text")};
END""",
    f"""CREATE TRIGGER claims_search_ad AFTER DELETE ON claims BEGIN
  DELETE FROM {FTS} WHERE rowid = old.id;
END""",
    # A rename reaches the speaker's claims and those of everyone who speaks for it.
    f"""CREATE TRIGGER speakers_search_au AFTER UPDATE OF name, affiliation_id ON speakers BEGIN
  UPDATE {FTS} SET speaker = {speaker_words(f"{FTS}.rowid")}
  WHERE rowid IN (SELECT id FROM claims WHERE speaker_id = new.id
    UNION ALL SELECT c.id FROM claims c JOIN speakers m ON m.id = c.speaker_id WHERE m.affiliation_id = new.id);
END""",
    f"""CREATE TRIGGER claim_sources_search_ai AFTER INSERT ON claim_sources BEGIN
  UPDATE {FTS} SET sources = {source_words("new.claim_id")} WHERE rowid = new.claim_id;
END""",
    f"""CREATE TRIGGER claim_sources_search_ad AFTER DELETE ON claim_sources BEGIN
  UPDATE {FTS} SET sources = {source_words("old.claim_id")} WHERE rowid = old.claim_id;
END""",
    f"""CREATE TRIGGER sources_search_au AFTER UPDATE OF title, outlet ON sources BEGIN
  UPDATE {FTS} SET sources = {source_words(f"{FTS}.rowid")}
  WHERE rowid IN (SELECT claim_id FROM claim_sources WHERE source_id = new.id);
END""",
]
TRIGGERS = [
    "claims_search_ai",
    "claims_search_au",
    "claims_search_ad",
    "speakers_search_au",
    "claim_sources_search_ai",
    "claim_sources_search_ad",
    "sources_search_au",
]


def upgrade() -> None:
    execute_all(STATEMENTS)


def downgrade() -> None:
    drop_triggers(TRIGGERS)
    op.execute(f"DROP TABLE IF EXISTS {FTS}")

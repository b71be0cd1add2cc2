"""The schema is made by the Alembic migrations only: on an empty file, again (no-op), down and up, and it
matches the SQLModel models the code uses."""

from __future__ import annotations

import hashlib
import sqlite3
import warnings
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from conftest import SEED_FILE
from sqlalchemy import Engine, text
from sqlalchemy.exc import IntegrityError, SAWarning
from sqlmodel import SQLModel

import claimtrack.models  # noqa: F401  (registers the tables on SQLModel.metadata)
from claimtrack.db import WRITE_OPTION, make_engine, write_session
from claimtrack.migrations.viewsql import VIEWS_DIR, ViewFileError, read_views, read_views_file, versions_with_views
from claimtrack.models import ClaimCreate
from claimtrack.schema import alembic_config, current_revision, head_revision, is_up_to_date, migrate
from claimtrack.services.claims import create_claim
from claimtrack.services.seeding import load_seed, read_seed

TABLES = {"claims", "speakers", "sources", "events", "claim_links", "claim_sources"}
# Full-text shadow tables and Alembic's own table are made by hand / by Alembic, not by the models.
INTERNAL_PREFIXES = ("claims_fts", "speakers_fts", "sources_fts", "entity_names_fts", "sqlite_")


def include_name(name: str | None, type_: str, parent_names: object) -> bool:
    if type_ == "table" and name is not None:
        return not name.startswith(INTERNAL_PREFIXES) and name != "alembic_version"
    return True


@pytest.fixture
def fresh(db_path: Path) -> Iterator[Engine]:
    """An engine on a file that does not exist yet (no migration run)."""
    engine = make_engine(db_path)
    yield engine
    engine.dispose()


def schema(db_path: Path) -> list[tuple[str, str, str | None]]:
    """Everything in sqlite_master, in a stable order."""
    with closing(sqlite3.connect(db_path)) as conn:
        return sorted(
            conn.execute("SELECT type, name, sql FROM sqlite_master WHERE name NOT LIKE 'sqlite_%'").fetchall()
        )


def names(db_path: Path, kind: str) -> set[str]:
    with closing(sqlite3.connect(db_path)) as conn:
        return {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = ?", (kind,))}


def columns(db_path: Path, table: str) -> set[str]:
    with closing(sqlite3.connect(db_path)) as conn:
        return {r[1] for r in conn.execute(f"PRAGMA table_info([{table}])")}


def downgrade(engine: Engine, revision: str) -> None:
    config = alembic_config()
    with engine.connect() as conn:
        conn = conn.execution_options(**{WRITE_OPTION: True})
        config.attributes["connection"] = conn
        command.downgrade(config, revision)
        conn.commit()


def revisions() -> list[str]:
    """Every revision, oldest first."""
    script = ScriptDirectory.from_config(alembic_config())
    return [r.revision for r in reversed(list(script.walk_revisions()))]


# --- upgrading ------------------------------------------------------------------------------


def test_migrate_an_empty_file_to_head(fresh: Engine, db_path: Path) -> None:
    assert current_revision(fresh) is None
    assert not is_up_to_date(fresh)
    migrate(fresh)
    assert current_revision(fresh) == head_revision() is not None
    assert is_up_to_date(fresh)
    tables = names(db_path, "table")
    assert tables >= TABLES
    assert {"claims_fts", "speakers_fts", "sources_fts", "alembic_version"} <= tables
    assert "claim_links_readable" in names(db_path, "view")
    assert {"claims_ai", "claims_ad", "claims_au"} <= names(db_path, "trigger")
    assert {
        "relation",
        "claim_id",
        "claim_text",
        "claim_speaker",
        "other_id",
        "other_text",
        "other_speaker",
        "note",
    } <= columns(db_path, "claim_links_readable")


def test_migrating_again_is_a_no_op(engine: Engine, db_path: Path) -> None:
    with write_session(engine, actor="test") as session:
        load_seed(session, read_seed(SEED_FILE))
    before = schema(db_path)
    with closing(sqlite3.connect(db_path)) as conn:
        rows_before = conn.execute("SELECT * FROM claims ORDER BY id").fetchall()
    migrate(engine)
    migrate(engine)
    assert schema(db_path) == before
    assert current_revision(engine) == head_revision()
    with closing(sqlite3.connect(db_path)) as conn:
        assert conn.execute("SELECT * FROM claims ORDER BY id").fetchall() == rows_before
        assert conn.execute("SELECT count(*) FROM alembic_version").fetchone()[0] == 1


def test_migrate_on_an_empty_existing_file(db_path: Path) -> None:
    db_path.touch()
    engine = make_engine(db_path)
    try:
        migrate(engine)
        assert is_up_to_date(engine)
    finally:
        engine.dispose()


# --- models and schema agree ------------------------------------------------------------------


def test_models_match_the_migrated_tables_and_columns(engine: Engine, db_path: Path) -> None:
    model_tables = set(SQLModel.metadata.tables)
    assert model_tables >= TABLES
    db_tables = {t for t in names(db_path, "table") if include_name(t, "table", None)}
    assert db_tables == model_tables
    for table in model_tables:
        assert columns(db_path, table) == {c.name for c in SQLModel.metadata.tables[table].columns}, table


def test_autogenerate_finds_no_table_or_column_differences(engine: Engine) -> None:
    with engine.connect() as conn, warnings.catch_warnings():
        # SQLAlchemy cannot reflect the expression index on claim_links (min/max of the pair) and says so.
        warnings.simplefilter("ignore", SAWarning)
        # Column types are not compared: the models say VARCHAR/AutoString where the migrations write TEXT,
        # which SQLite treats the same (TEXT affinity); the noise would hide real differences.
        context = MigrationContext.configure(conn, opts={"include_name": include_name, "compare_type": False})
        diffs = compare_metadata(context, SQLModel.metadata)

    def flatten(items: list[Any]) -> Iterator[tuple[Any, ...]]:
        for item in items:
            if isinstance(item, list):
                yield from flatten(item)
            else:
                yield item

    problems = []
    for diff in flatten(diffs):
        kind = diff[0]
        # Ignored as noise: indexes (the migrations add covering and expression indexes the models do not
        # declare) and the nullability of INTEGER PRIMARY KEY columns, which SQLite reports as nullable.
        if kind in ("add_index", "remove_index"):
            continue
        if kind == "modify_nullable" and diff[3] == "id":
            continue
        problems.append(diff)
    assert problems == []


def test_unique_and_check_constraints_exist(engine: Engine) -> None:
    with write_session(engine, actor="test") as session:
        a = create_claim(session, ClaimCreate.model_validate({"text": "A", "speaker": {"name": "S"}})).id
        b = create_claim(session, ClaimCreate.model_validate({"text": "B", "speaker": {"name": "T"}})).id
    now = "2016-12-16T00:00:00Z"
    bad_statements = [
        (
            "INSERT INTO speakers (name, kind, anonymous, created_at, updated_at) VALUES ('s', 'person', 0, :now, :now)",
            {},
        ),
        (
            "INSERT INTO speakers (name, kind, anonymous, created_at, updated_at) VALUES ('X', 'alien', 0, :now, :now)",
            {},
        ),
        ("INSERT INTO claims (text, verbatim, speaker_id, created_at, updated_at) VALUES ('  ', 0, 1, :now, :now)", {}),
        (
            "INSERT INTO claims (text, verbatim, speaker_id, verdict, created_at, updated_at) "
            "VALUES ('x', 0, 1, 'maybe', :now, :now)",
            {},
        ),
        (
            "INSERT INTO claim_links (from_claim_id, to_claim_id, relation, created_at, updated_at) "
            "VALUES (:a, :b, 'refutes', :now, :now)",
            {"a": a, "b": b},
        ),
        (
            "INSERT INTO claim_links (from_claim_id, to_claim_id, relation, created_at, updated_at) "
            "VALUES (:a, :a, 'contradicts', :now, :now)",
            {"a": a},
        ),
        ("INSERT INTO sources (created_at, updated_at) VALUES (:now, :now)", {}),
        ("INSERT INTO events (name, created_at, updated_at) VALUES ('', :now, :now)", {}),
        ("UPDATE speakers SET affiliation_id = id", {}),
    ]
    for sql, params in bad_statements:
        with pytest.raises(IntegrityError), engine.begin() as conn:
            conn.execute(text(sql), {"now": now, **params})
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM speakers")).scalar_one() == 2
        assert conn.execute(text("SELECT count(*) FROM claim_links")).scalar_one() == 0


# --- connections ------------------------------------------------------------------------------


def test_connections_have_foreign_keys_and_wal(engine: Engine) -> None:
    for _ in range(3):  # every pooled connection, not just the first
        with engine.connect() as conn:
            assert conn.execute(text("PRAGMA foreign_keys")).scalar_one() == 1
            assert conn.execute(text("PRAGMA journal_mode")).scalar_one() == "wal"
            assert conn.execute(text("PRAGMA busy_timeout")).scalar_one() == 5000
            assert conn.execute(text("PRAGMA synchronous")).scalar_one() == 1  # NORMAL
    conns = [engine.connect() for _ in range(3)]
    try:
        for conn in conns:
            assert conn.execute(text("PRAGMA foreign_keys")).scalar_one() == 1
    finally:
        for conn in conns:
            conn.close()


def test_foreign_keys_are_enforced(engine: Engine) -> None:
    now = "2016-12-16T00:00:00Z"
    with pytest.raises(IntegrityError), engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO claims (text, verbatim, speaker_id, created_at, updated_at) "
                "VALUES ('orphan', 0, 999, :now, :now)"
            ),
            {"now": now},
        )
    with write_session(engine, actor="test") as session:
        create_claim(session, ClaimCreate.model_validate({"text": "A", "speaker": {"name": "S"}}))
    with pytest.raises(IntegrityError), engine.begin() as conn:
        conn.execute(text("DELETE FROM speakers"))
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM claims")).scalar_one() == 1


def test_full_text_index_is_kept_in_sync_by_triggers(engine: Engine) -> None:
    with write_session(engine, actor="test") as session:
        claim_id = create_claim(
            session, ClaimCreate.model_validate({"text": "thousands still inside", "speaker": {"name": "S"}})
        ).id

    def search(word: str) -> list[int]:
        with engine.connect() as conn:
            return list(
                conn.execute(text("SELECT rowid FROM claims_fts WHERE claims_fts MATCH :q"), {"q": word}).scalars()
            )

    assert search("thousands") == [claim_id]
    with engine.begin() as conn:
        conn.execute(text("UPDATE claims SET text = 'evacuation complete' WHERE id = :id"), {"id": claim_id})
    assert search("thousands") == [] and search("evacuation") == [claim_id]
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM claim_sources"))
        conn.execute(text("DELETE FROM claims"))
    assert search("evacuation") == []


# --- downgrading ------------------------------------------------------------------------------


def test_downgrade_to_base_then_upgrade(engine: Engine, db_path: Path) -> None:
    migrated = schema(db_path)
    downgrade(engine, "base")
    assert current_revision(engine) is None
    left = names(db_path, "table") | names(db_path, "view") | names(db_path, "trigger") | names(db_path, "index")
    assert {n for n in left if not n.startswith("sqlite_")} <= {"alembic_version"}, left
    migrate(engine)
    assert current_revision(engine) == head_revision()
    assert schema(db_path) == migrated
    with write_session(engine, actor="test") as session:
        report = load_seed(session, read_seed(SEED_FILE))
    assert report.claims > 0


def test_every_revision_upgrades_and_downgrades_one_step_at_a_time(fresh: Engine, db_path: Path) -> None:
    steps = revisions()
    assert steps and steps[-1] == head_revision()
    shapes = []
    for revision in steps:
        migrate(fresh, revision)
        assert current_revision(fresh) == revision
        shapes.append(schema(db_path))
    for previous, _revision in zip([None, *steps[:-1]][::-1], steps[::-1]):
        downgrade(fresh, previous or "base")
        assert current_revision(fresh) == previous
        if previous is not None:
            assert schema(db_path) == shapes[steps.index(previous)]
    migrate(fresh)
    assert schema(db_path) == shapes[-1]


def test_downgrade_with_data_and_upgrade_again(seeded_engine: Engine, db_path: Path) -> None:
    """Stepping back one revision keeps the claims (later revisions only add views and indexes)."""
    steps = revisions()
    if len(steps) < 2:
        pytest.skip("only one revision")
    with seeded_engine.connect() as conn:
        before = conn.execute(text("SELECT * FROM claims ORDER BY id")).fetchall()
    downgrade(seeded_engine, steps[0])
    migrate(seeded_engine)
    with seeded_engine.connect() as conn:
        assert conn.execute(text("SELECT * FROM claims ORDER BY id")).fetchall() == before


# --- released revisions are frozen ----------------------------------------------------------------

# SHA-256 of schema_text() at each released revision, captured from the migrations as they were when each view
# version was still written out in the migration modules. Moving SQL around must never change what an old
# revision creates: a database at 0003 made today must be the database made then.
RELEASED_SCHEMAS = {
    "0001": "6f57d2e54e3879caa086e5258acf276df00f5372f629eef777358625a68d3a44",
    "0002": "b7159d45b059cc44837dfd356370f8a5bcc01275e89f92db8db3d0f9cbcc0c26",
    "0003": "faa6bf0a263d90f248ed198df32a92e083ea73426e27624587630e5f5df53244",
}


def schema_text(db_path: Path) -> str:
    """Every object's type, name, table and exact SQL text, one per line, sorted by type and name."""
    with closing(sqlite3.connect(db_path)) as conn:
        rows = conn.execute(
            "SELECT type, name, tbl_name, sql FROM sqlite_master WHERE name NOT LIKE 'sqlite_%'"
        ).fetchall()
    return "\n".join("\t".join(map(str, row)) for row in sorted(rows, key=lambda r: (r[0], r[1])))


@pytest.mark.parametrize("revision", sorted(RELEASED_SCHEMAS))
def test_released_revisions_create_the_same_schema_byte_for_byte(fresh: Engine, db_path: Path, revision: str) -> None:
    migrate(fresh, revision)
    text_ = schema_text(db_path)
    assert "CREATE VIEW claim_links_readable" in text_
    assert hashlib.sha256(text_.encode()).hexdigest() == RELEASED_SCHEMAS[revision], text_


def test_each_views_file_is_what_its_revision_stores(fresh: Engine, db_path: Path) -> None:
    """A revision creates its views from views/<revision>.sql and the next downgrade restores that same text;
    a revision without such a file keeps the views it found."""

    def stored() -> dict[str, str]:
        with closing(sqlite3.connect(db_path)) as conn:
            return dict(conn.execute("SELECT name, sql FROM sqlite_master WHERE type = 'view'").fetchall())

    expected: dict[str, dict[str, str]] = {}
    current: dict[str, str] = {}
    steps = revisions()
    for revision in steps:
        migrate(fresh, revision)
        if (VIEWS_DIR / f"{revision}.sql").exists():
            current = read_views(revision)
        expected[revision] = current
        assert stored() == current, revision
    assert expected[steps[-1]], "the latest schema has views"
    for previous in reversed(steps[:-1]):
        downgrade(fresh, previous)
        assert stored() == expected[previous], previous


def test_views_file_format(tmp_path: Path) -> None:
    path = tmp_path / "views.sql"
    path.write_text(
        "-- A header; with a semicolon in a comment.\n"
        "-- define live: l.retracted = 0\n"
        "-- define cell: group_concat(x, '; ')\n"
        "\n"
        "-- Why this view exists.\n"
        "CREATE VIEW a AS\n"
        "SELECT $cell AS c -- a comment inside stays\n"
        "FROM t l WHERE $live;\n"
        "\n"
        "CREATE VIEW b AS SELECT ';' AS semicolon FROM t;\n",
        encoding="utf-8",
    )
    views = read_views_file(path)
    assert views == {
        "a": "CREATE VIEW a AS\nSELECT group_concat(x, '; ') AS c -- a comment inside stays\nFROM t l WHERE l.retracted = 0",
        "b": "CREATE VIEW b AS SELECT ';' AS semicolon FROM t",
    }
    for bad in (
        "-- define live: 1\nCREATE VIEW a AS SELECT $unknown;\n",  # a fragment nobody defined
        "CREATE VIEW a AS SELECT 1;\nCREATE TABLE t (x);\n",  # only views belong in a views file
        "CREATE VIEW a AS SELECT 1\n",  # no final semicolon
    ):
        path.write_text(bad, encoding="utf-8")
        with pytest.raises(ViewFileError):
            read_views_file(path)


# SHA-256 of each view's CREATE VIEW text as of each version, captured while every version's views were still
# written out in full in their own file. Composing them from fragments must reproduce them byte for byte, or an
# existing database would upgrade and downgrade to different views.
RELEASED_VIEWS = {
    ("0001", "claim_links_readable"): "bf1bb2bda2f3252841fa3712a2a84c9cee2696db74e736d19060aa91643c1f9c",
    ("0002", "claim_links_readable"): "404d810b4324d5ef3c19c49ecf98704d2d00045bb2203cbf48a740a5d8ea974b",
    ("0002", "contested_claims"): "e6f30bca90d9179f3b1a68fe534fa174fbbab6c1424acad833c4e389bfba9b2e",
    ("0002", "event_timeline"): "6607b42cc0b1de896a804849f4ac2f7c01512bbf5f7ed6c87d50a1c54d1e5d87",
    ("0002", "speaker_claims"): "dbfeeee4f82cd02e5c793ff8bd4a0c4c5035760855bf2e6cbca7ed343a3078d1",
    ("0003", "claim_links_readable"): "8101684aca5bf69d20bbff158e4a6ee35cdfd619137f87305446ef199d2a4736",
    ("0003", "contested_claims"): "835de357c5c710394d0bf0d79950417786bb773fc33a62b28ed58ba3d76b04b3",
    ("0003", "event_timeline"): "2c9e8d174a7e82b5e9972098b224786e0795853667f3dd4ab3830dedba128e28",
    ("0003", "speaker_claims"): "7b793ac031e60752bae945a45a4e5fb2edcc5a2a22b2c42bfa47ffd99b4b8103",
    ("0004", "claim_links_readable"): "9c19510fa6dbb7a3f517a019882966b6024ca3c98bf5fe188e3b28892d5796e0",
    ("0004", "contested_claims"): "aa64268eb28513f22dfbade6ba3f6fe3f972ce5390542501959a78542dbcad83",
    ("0004", "event_timeline"): "f65cfcf0c6364ae34e9ad91474dabe69c96f4bdf155dee084559084279d4ccba",
    ("0004", "speaker_claims"): "1cd0c173c74a36cdc1467971f09efa0292b94117ce1b7d57e3a2ce88ee454ead",
    ("0005", "claim_links_readable"): "7071a3a430b96a97367a805479103d93178bfef0aade303c906752f2c7941c72",
    ("0005", "contested_claims"): "5399a2c957b80ca50081cc3d01cdc225e186b47c316296305fbe9df3f3032f4f",
    ("0005", "event_timeline"): "e39d6262bc9b79cc42f548cb8dffef0920a0f40293e9bf838f66e9d05373271c",
    ("0005", "speaker_claims"): "3316ff588616fcb58f0d20dcafb23cef0ae026ec36f884722cf6fe15ce094cf2",
}


def test_views_as_of_each_version_are_the_released_text() -> None:
    found = {
        (version, name): hashlib.sha256(sql.encode()).hexdigest()
        for version in versions_with_views()
        for name, sql in read_views(version).items()
    }
    assert {key: found.get(key) for key in RELEASED_VIEWS} == RELEASED_VIEWS
    assert {version for version, _ in RELEASED_VIEWS} <= set(versions_with_views())


def test_views_compose_from_the_latest_file_and_shared_fragments(tmp_path: Path) -> None:
    """A version file restates only the views it changes; fragments.sql serves every file, with parameters,
    and a line whose references give nothing is left out."""
    (tmp_path / "fragments.sql").write_text(
        "-- fragment pick(column, extra):\n"
        "SELECT\n"
        "    $column AS value,\n"
        "$extra\n"
        "    'a, (b)' AS fixed\n"
        "FROM t\n"
        "\n"
        "-- define cond: x > 0\n",
        encoding="utf-8",
    )
    (tmp_path / "0001.sql").write_text(
        "CREATE VIEW a AS\n$pick(coalesce(x, 1), );\n\nCREATE VIEW b AS SELECT 1 WHERE $cond;\n", encoding="utf-8"
    )
    (tmp_path / "0003.sql").write_text(
        "-- fragment more:\n    y AS extra,\n    z,\n\nCREATE VIEW b AS\n$pick(${cond}, $more);\n", encoding="utf-8"
    )
    first = {
        "a": "CREATE VIEW a AS\nSELECT\n    coalesce(x, 1) AS value,\n    'a, (b)' AS fixed\nFROM t",
        "b": "CREATE VIEW b AS SELECT 1 WHERE x > 0",
    }
    assert read_views("0001", tmp_path) == first
    assert read_views("0002", tmp_path) == first
    assert read_views("0003", tmp_path) == {
        "a": first["a"],
        "b": "CREATE VIEW b AS\nSELECT\n    x > 0 AS value,\n    y AS extra,\n    z,\n    'a, (b)' AS fixed\nFROM t",
    }
    for bad in (
        "CREATE VIEW c AS $pick(x);\n",  # too few arguments
        "CREATE VIEW c AS $pick;\n",  # a fragment with parameters, not called
        "-- define cond: 1\nCREATE VIEW c AS SELECT 1;\n",  # redefines a shared fragment
        "CREATE VIEW c AS $pick(x, y;\n",  # an unclosed call
    ):
        (tmp_path / "0004.sql").write_text(bad, encoding="utf-8")
        with pytest.raises(ViewFileError):
            read_views("0004", tmp_path)

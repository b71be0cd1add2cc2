"""The ``claimtrack`` command, run in-process with click's CliRunner against files in a temporary folder."""

from __future__ import annotations

import os
import shutil
import sqlite3
from contextlib import closing
from pathlib import Path

import pytest
import uvicorn
from click.testing import CliRunner, Result
from conftest import SEED_FILE

import claimtrack.asgi
import claimtrack.cli
from claimtrack.cli import main
from claimtrack.schema import head_revision
from claimtrack.services.seeding import read_seed

TABLES = ("claims", "speakers", "sources", "events", "claim_links", "claim_sources")


def run(args: list[str], db: Path | str, **env: str) -> Result:
    return CliRunner().invoke(main, args, env={"CLAIMTRACK_DB": str(db), **env}, catch_exceptions=True)


def counts(db: Path) -> dict[str, int]:
    with closing(sqlite3.connect(db)) as conn:
        return {t: conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in TABLES}


def assert_clean_error(result: Result, *fragments: str) -> str:
    """Exit status 1, one line "Error: ..." on stderr, and no traceback anywhere."""
    assert result.exit_code == 1, result.output
    assert isinstance(result.exception, SystemExit)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("Error: ")
    assert "Traceback" not in result.output and "Traceback" not in result.stderr
    for fragment in fragments:
        assert fragment in lines[0], lines[0]
    return lines[0]


@pytest.fixture
def seeds_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "seeds"
    folder.mkdir()
    shutil.copy(SEED_FILE, folder / SEED_FILE.name)
    return folder


# --- init-db ----------------------------------------------------------------------------------


def test_init_db_creates_and_migrates(tmp_path: Path) -> None:
    db = tmp_path / "nested" / "folder" / "claims.db"
    result = run(["init-db"], db)
    assert result.exit_code == 0, result.output
    assert f"Database {db} is at the latest schema." in result.output
    assert db.is_file()
    with closing(sqlite3.connect(db)) as conn:
        names = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type IN ('table', 'view')")}
        version = conn.execute("SELECT version_num FROM alembic_version").fetchall()
        mode = conn.execute("PRAGMA journal_mode").fetchone()[0]
    assert set(TABLES) | {"claims_fts", "claim_links_readable", "alembic_version"} <= names
    assert version == [(head_revision(),)]
    assert mode == "wal"
    assert counts(db) == dict.fromkeys(TABLES, 0)


def test_init_db_twice_keeps_the_data(tmp_path: Path, seeds_dir: Path) -> None:
    db = tmp_path / "claims.db"
    assert run(["init-db"], db).exit_code == 0
    assert run(["seed"], db, CLAIMTRACK_SEEDS=str(seeds_dir)).exit_code == 0
    before = counts(db)
    result = run(["init-db"], db)
    assert result.exit_code == 0, result.output
    assert counts(db) == before and before["claims"] > 0


def test_init_db_on_an_empty_file(tmp_path: Path) -> None:
    db = tmp_path / "empty.db"
    db.touch()
    assert run(["init-db"], db).exit_code == 0
    assert counts(db)["claims"] == 0


# --- seed -------------------------------------------------------------------------------------


def test_seed_twice_adds_nothing_the_second_time(tmp_path: Path, seeds_dir: Path) -> None:
    db = tmp_path / "claims.db"
    data = read_seed(SEED_FILE)
    first = run(["seed"], db, CLAIMTRACK_SEEDS=str(seeds_dir))
    assert first.exit_code == 0, first.output
    expected = (
        f"{SEED_FILE.name}: {len(data['speakers'])} speakers, {len(data['claims'])} claims "
        f"and {len(data['links'])} links added"
    )
    assert expected in first.output
    after_first = counts(db)
    assert after_first["claims"] == len(data["claims"])
    assert after_first["claim_links"] == len(data["links"])
    assert after_first["speakers"] == len(data["speakers"])

    second = run(["seed"], db, CLAIMTRACK_SEEDS=str(seeds_dir))
    assert second.exit_code == 0, second.output
    assert f"{SEED_FILE.name}: 0 speakers, 0 claims and 0 links added" in second.output
    assert counts(db) == after_first


def test_seed_uses_the_project_seeds_by_default(tmp_path: Path) -> None:
    db = tmp_path / "claims.db"
    env = {k: v for k, v in os.environ.items() if k != "CLAIMTRACK_SEEDS"}
    result = CliRunner().invoke(main, ["seed"], env={**env, "CLAIMTRACK_DB": str(db), "CLAIMTRACK_SEEDS": ""})
    assert result.exit_code == 0, result.output
    assert f"{SEED_FILE.name}: " in result.output
    with closing(sqlite3.connect(db)) as conn:
        found = conn.execute("SELECT count(*) FROM claims WHERE text LIKE '%was finished on Friday.'").fetchone()[0]
    assert found == 1


def test_seed_named_file_twice(tmp_path: Path) -> None:
    db = tmp_path / "claims.db"
    assert run(["seed", str(SEED_FILE)], db).exit_code == 0
    before = counts(db)
    result = run(["seed", str(SEED_FILE)], db)
    assert result.exit_code == 0
    assert "0 speakers, 0 claims and 0 links added" in result.output
    assert counts(db) == before


def test_seed_a_missing_file(tmp_path: Path) -> None:
    assert_clean_error(
        run(["seed", str(tmp_path / "missing.toml")], tmp_path / "claims.db"), "cannot read", "missing.toml"
    )


def test_seed_a_missing_seeds_folder(tmp_path: Path) -> None:
    result = run(["seed"], tmp_path / "claims.db", CLAIMTRACK_SEEDS=str(tmp_path / "nowhere"))
    assert_clean_error(result, "does not exist")


def test_seed_invalid_toml(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text("[[claims]\ntext = 'unterminated", encoding="utf-8")
    assert_clean_error(run(["seed", str(bad)], tmp_path / "claims.db"), "not valid TOML")


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        ('[[claims]]\nkey = "a"\nspeaker = "S"\ntext = "T"\nstated_on = "2016-02-30"\n', "not a real date"),
        (
            '[[claims]]\nkey = "a"\nspeaker = "S"\ntext = "T"\n[[links]]\nfrom = "a"\nrelation = "contradicts"\nto = "zzz"\n',
            "unknown claim key",
        ),
        (
            '[[claims]]\nkey = "a"\nspeaker = "S"\ntext = "T"\n[[claims]]\nkey = "b"\nspeaker = "S2"\ntext = "U"\n'
            '[[links]]\nfrom = "a"\nrelation = "refutes"\nto = "b"\n',
            "relation",
        ),
        ('[[claims]]\nkey = "a"\ntext = "No speaker"\n', "speaker"),
        ('[[speakers]]\nkind = "person"\n', "name"),
        ('claims = "not a list of tables"\n', "layout"),
        ('[[speakers]]\nname = "S"\nkind = "alien"\n', "kind"),
    ],
    ids=[
        "bad-date",
        "unknown-key",
        "bad-relation",
        "claim-without-speaker",
        "speaker-without-name",
        "bad-layout",
        "bad-kind",
    ],
)
def test_seed_with_bad_data_writes_nothing(tmp_path: Path, body: str, fragment: str) -> None:
    db = tmp_path / "claims.db"
    bad = tmp_path / "bad.toml"
    bad.write_text(body, encoding="utf-8")
    assert run(["init-db"], db).exit_code == 0
    assert_clean_error(run(["seed", str(bad)], db), "bad.toml", fragment)
    assert counts(db) == dict.fromkeys(TABLES, 0)


# --- bad database paths -----------------------------------------------------------------------


@pytest.mark.parametrize("command", [["init-db"], ["seed"], ["serve", "--no-seed"]])
def test_database_path_is_a_directory(tmp_path: Path, seeds_dir: Path, command: list[str]) -> None:
    folder = tmp_path / "a-folder"
    folder.mkdir()
    result = run(command, folder, CLAIMTRACK_SEEDS=str(seeds_dir))
    assert_clean_error(result, "is a directory")
    assert list(folder.iterdir()) == []


@pytest.mark.parametrize("command", [["init-db"], ["seed"]])
def test_database_path_is_not_sqlite(tmp_path: Path, seeds_dir: Path, command: list[str]) -> None:
    notes = tmp_path / "notes.txt"
    notes.write_text("These are my notes, not a database.\n", encoding="utf-8")
    result = run(command, notes, CLAIMTRACK_SEEDS=str(seeds_dir))
    assert_clean_error(result, "not a SQLite database")
    assert notes.read_text(encoding="utf-8") == "These are my notes, not a database.\n"


def test_the_accounts_and_claims_databases_given_in_each_others_place(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Both files carry an Alembic version: CLAIMTRACK_DB naming the accounts database (or the other way
    round) ended in Alembic's traceback "Can't locate revision"; now one line naming the setting, and
    neither file changes."""
    claims, accounts = tmp_path / "claimtrack.db", tmp_path / "auth.db"
    assert run(["init-db"], claims, CLAIMTRACK_AUTH_DB=str(accounts)).exit_code == 0
    assert run(["user", "list"], claims, CLAIMTRACK_AUTH_DB=str(accounts)).exit_code == 0  # creates it
    assert accounts.exists()
    before = {path: path.read_bytes() for path in (claims, accounts)}
    assert_clean_error(run(["init-db"], accounts, CLAIMTRACK_AUTH_DB=str(claims)), "CLAIMTRACK_DB", str(accounts))
    assert_clean_error(run(["user", "list"], claims, CLAIMTRACK_AUTH_DB=str(claims)), "CLAIMTRACK_AUTH_DB", str(claims))
    # serve stops before it listens, not at the first sign-in (a 500).
    monkeypatch.setattr(uvicorn, "run", lambda *args, **kwargs: pytest.fail("serve started"))
    served = run(["serve", "--no-seed"], claims, CLAIMTRACK_AUTH_DB=str(claims))
    assert_clean_error(served, "CLAIMTRACK_AUTH_DB")
    assert {path: path.read_bytes() for path in (claims, accounts)} == before


def test_database_file_with_sqlite_header_but_garbage(tmp_path: Path) -> None:
    broken = tmp_path / "broken.db"
    broken.write_bytes(b"SQLite format 3\x00" + b"\xff" * 200)
    assert_clean_error(run(["init-db"], broken))


def test_database_folder_below_a_file(tmp_path: Path) -> None:
    blocker = tmp_path / "blocker"
    blocker.write_text("x", encoding="utf-8")
    assert_clean_error(run(["init-db"], blocker / "sub" / "claims.db"), "cannot create folder")
    assert_clean_error(run(["init-db"], blocker / "claims.db"))


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="needs a user that file permissions apply to")
def test_database_folder_not_writable(tmp_path: Path) -> None:
    folder = tmp_path / "read-only"
    folder.mkdir()
    folder.chmod(0o500)
    try:
        assert_clean_error(run(["init-db"], folder / "claims.db"), "not writable")
    finally:
        folder.chmod(0o700)


# --- serve and the rest -----------------------------------------------------------------------


def test_serve_refuses_a_bad_port(tmp_path: Path) -> None:
    result = run(["serve", "--port", "0"], tmp_path / "claims.db")
    assert result.exit_code == 2
    assert "--port" in result.stderr
    assert not (tmp_path / "claims.db").exists()


def test_serve_with_missing_metadata_is_a_clean_error(tmp_path: Path) -> None:
    result = run(["serve"], tmp_path / "claims.db", CLAIMTRACK_DATASETTE_METADATA=str(tmp_path / "missing.json"))
    assert_clean_error(result, "missing.json")


def test_serve_runs_each_worker_with_the_memory_managers_tuned(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """uvicorn builds the app in each worker process through serve_app, which tunes glibc's malloc
    (claimtrack/allocator.py) before any request thread starts and freezes start-up's objects after."""
    started: list[tuple[str, dict[str, object]]] = []
    monkeypatch.setattr(uvicorn, "run", lambda target, **options: started.append((target, options)))
    # The serve command turns SQLite's memory statistics off before it opens the database.
    opened: list[str] = []
    monkeypatch.setattr(claimtrack.cli, "stop_sqlite_memory_statistics", lambda: opened.append("statistics off"))
    open_database = claimtrack.cli.open_database
    monkeypatch.setattr(
        claimtrack.cli, "open_database", lambda settings: opened.append("opened") or open_database(settings)
    )
    result = run(["serve", "--no-seed", "--workers", "2"], tmp_path / "claims.db")
    assert result.exit_code == 0, result.output
    assert opened == ["statistics off", "opened"]
    assert [(target, options["factory"], options["workers"]) for target, options in started] == [
        ("claimtrack.asgi:serve_app", True, 2)
    ]
    assert started[0][1]["access_log"] is True  # one line per request unless asked otherwise
    steps: list[str] = []
    monkeypatch.setattr(claimtrack.asgi, "tune_malloc", lambda: steps.append("tuned") or True)
    monkeypatch.setattr(
        claimtrack.asgi, "stop_sqlite_memory_statistics", lambda: steps.append("statistics off") or True
    )
    monkeypatch.setattr(claimtrack.asgi, "create_asgi_app", lambda: steps.append("built") or "the app")
    monkeypatch.setattr(claimtrack.asgi, "tune_gc", lambda: steps.append("frozen"))
    assert claimtrack.asgi.serve_app() == "the app"
    assert steps == ["tuned", "statistics off", "built", "frozen"]


def test_serve_without_access_log(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """--no-access-log turns off uvicorn's line per request and nothing else."""
    started: list[dict[str, object]] = []
    monkeypatch.setattr(uvicorn, "run", lambda target, **options: started.append(options))
    for args in (["--no-access-log"], []):
        result = run(["serve", "--no-seed", *args], tmp_path / "claims.db")
        assert result.exit_code == 0, result.output
    quiet, default = started
    assert quiet["access_log"] is False and default["access_log"] is True
    assert {k: v for k, v in quiet.items() if k != "access_log"} == {
        k: v for k, v in default.items() if k != "access_log"
    }


def test_help_and_version() -> None:
    result = CliRunner().invoke(main, ["--help"])
    assert result.exit_code == 0
    for command in ("init-db", "seed", "serve"):
        assert command in result.output
    result = CliRunner().invoke(main, ["--version"])
    assert result.exit_code == 0 and "version" in result.output
    result = CliRunner().invoke(main, ["serve", "--help"])
    assert "--host" in result.output and "--port" in result.output


# --- optimize ---------------------------------------------------------------------------------


def test_optimize_merges_every_search_index_into_one_segment(tmp_path: Path) -> None:
    db = tmp_path / "claims.db"
    assert run(["init-db"], db).exit_code == 0
    for seed in range(1, 6):  # five transactions: each leaves its own segment in every index
        assert run(["generate", "--claims", "20", "--seed", str(seed)], db).exit_code == 0
    before = counts(db)
    with closing(sqlite3.connect(db)) as conn:
        hits = conn.execute(
            "SELECT count(*) FROM claims_fts_search WHERE claims_fts_search MATCH 'synthetic'"
        ).fetchone()

    result = run(["optimize"], db)

    assert result.exit_code == 0, result.output
    lines = dict(line.split(": ", 1) for line in result.output.splitlines() if " segments -> " in line)
    assert set(lines) >= {"claims_fts", "claims_fts_search", "speakers_fts"}, result.output
    for name, change in lines.items():
        segments_before, segments_after = (int(n) for n in change.split(" segments -> "))
        assert segments_after <= 1 <= segments_before, (name, change)
    assert int(lines["claims_fts_search"].split()[0]) > 1  # there was something to merge
    assert "Planner statistics refreshed." in result.output
    assert counts(db) == before  # nothing added or lost
    with closing(sqlite3.connect(db)) as conn:
        assert (
            conn.execute("SELECT count(*) FROM claims_fts_search WHERE claims_fts_search MATCH 'synthetic'").fetchone()
            == hits
        )
        assert conn.execute("SELECT count(*) FROM claims_fts_search_idx").fetchone()[0] >= 1
        assert conn.execute("SELECT count(*) FROM change_history WHERE username = 'cli:optimize'").fetchone()[0] == 0


def test_optimize_refuses_a_bad_path_cleanly(tmp_path: Path) -> None:
    (tmp_path / "folder.db").mkdir()
    assert_clean_error(run(["optimize"], tmp_path / "folder.db"))


@pytest.mark.parametrize(
    ("variable", "value", "command"),
    [
        ("CLAIMTRACK_HISTORY_NAMES", "everyone", ["serve", "--port", "1"]),
        ("CLAIMTRACK_HISTORY_NAMES", "everyone", ["init-db"]),
        ("CLAIMTRACK_DEFAULT_LANGUAGE", "english!", ["serve", "--port", "1"]),
        ("CLAIMTRACK_DEFAULT_LANGUAGE", "english!", ["init-db"]),
    ],
)
def test_a_bad_setting_stops_the_command_with_one_line(
    tmp_path: Path, variable: str, value: str, command: list[str]
) -> None:
    """A misspelt setting stops serve before it listens, as one line naming the variable: not a traceback,
    and not a server whose claim form answers 500 until someone notices."""
    result = run(command, tmp_path / "c.db", **{variable: value})
    assert result.exit_code == 1 and isinstance(result.exception, SystemExit), result.exception
    assert result.output.startswith(f"Error: {variable} must be") and result.output.count("\n") == 1, result.output
    assert value in result.output

"""`claimtrack backup` and `claimtrack restore` against a running service under a write load.

The backup is a consistent copy (VACUUM INTO) taken while editors keep saving; taken in a pause of the
writes it equals the live database row for row; `restore` brings it back into a fresh place, and refuses
anything that is not a claimtrack database, with one clear line.
"""

from __future__ import annotations

import os
import re
import subprocess
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import helpers
import httpx
import pytest
from click.testing import CliRunner
from helpers import connect, query
from server_fixture import LiveServer, claimtrack_command, live_server, sign_in_http  # noqa: F401  (the fixture)

from claimtrack.cli import main as cli_main

pytestmark = pytest.mark.slow

TABLES = (*helpers.TABLES, "alembic_version")
CLI_TIMEOUT = 60


# --- helpers --------------------------------------------------------------------------------


def contents(db_path: Path) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every data table (one read transaction: a consistent snapshot)."""
    with connect(db_path) as conn:
        conn.execute("BEGIN")
        found = {t: [tuple(r) for r in conn.execute(f"SELECT * FROM {t} ORDER BY 1")] for t in TABLES}
        conn.execute("COMMIT")
        return found


def counts(db_path: Path) -> dict[str, int]:
    return {t: len(rows) for t, rows in contents(db_path).items()}


def assert_consistent(db_path: Path) -> None:
    """A healthy claimtrack database whose records and history agree (no half of a write)."""
    with connect(db_path) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert conn.execute("PRAGMA foreign_key_check").fetchall() == []
        assert conn.execute("SELECT count(*) FROM alembic_version").fetchone()[0] == 1
        claims = {r[0] for r in conn.execute("SELECT id FROM claims")}
        created = {
            r[0]
            for r in conn.execute(
                "SELECT DISTINCT entity_id FROM change_history WHERE entity = 'claim' AND action = 'create'"
            )
        }
        assert claims == created, "claims and their recorded creation disagree"
        links = {r[0] for r in conn.execute("SELECT id FROM claim_links")}
        linked = {r[0] for r in conn.execute("SELECT DISTINCT entity_id FROM change_history WHERE action = 'link'")}
        assert links == linked, "links and their recorded creation disagree"


def cli_env(server: LiveServer, **overrides: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CLAIMTRACK_")}
    env["CLAIMTRACK_DB"] = str(server.db_path)
    env["CLAIMTRACK_AUTH_DB"] = str(server.db_path.parent / "auth.db")
    env.update({k: str(v) for k, v in overrides.items()})
    return env


@dataclass
class Result:
    returncode: int
    stdout: str
    stderr: str


def cli(env: dict[str, str], *args: str, input: str | None = None, real: bool = False) -> Result:
    """Run the claimtrack command: in this process (fast), or as the real console script (``real=True``)."""
    if real:
        done = subprocess.run(
            [*claimtrack_command(), *args],
            env=env,
            input=input,
            capture_output=True,
            text=True,
            check=False,
            timeout=CLI_TIMEOUT,
            stdin=None if input is not None else subprocess.DEVNULL,
        )
        return Result(done.returncode, done.stdout, done.stderr)
    result = CliRunner().invoke(cli_main, list(args), env=env, input=input)
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return Result(result.exit_code, result.stdout, result.stderr)


def one_line_error(result: Result) -> str:
    assert result.returncode == 1, (result.returncode, result.stdout, result.stderr)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: "), result.stderr
    assert "Traceback" not in result.stderr
    return lines[0]


class Writers:
    """Editors saving new claims and links as fast as the service takes them; can pause with nothing in flight."""

    def __init__(self, server: LiveServer, threads: int = 2) -> None:
        self.server = server
        self.cond = threading.Condition()
        self.paused = False
        self.stopped = False
        self.in_flight = 0
        self.saved = 0
        self.errors: list[str] = []
        self.pool = [threading.Thread(target=self._run, args=(n,), daemon=True) for n in range(threads)]
        self.ready = threading.Barrier(threads + 1)

    def __enter__(self) -> Writers:
        for thread in self.pool:
            thread.start()
        self.ready.wait(timeout=30)
        return self

    def __exit__(self, *_exc: object) -> None:
        with self.cond:
            self.stopped = True
            self.cond.notify_all()
        for thread in self.pool:
            thread.join(timeout=30)
            assert not thread.is_alive()

    def _run(self, n: int) -> None:
        with httpx.Client(base_url=self.server.url, timeout=15.0, follow_redirects=False) as client:
            try:
                sign_in_http(client, self.server.editor)
                page = client.get("/claims/new").text
                token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)  # type: ignore[union-attr]
            finally:
                self.ready.wait(timeout=30)
            i = 0
            previous: str | None = None
            while True:
                with self.cond:
                    while self.paused and not self.stopped:
                        self.cond.wait()
                    if self.stopped:
                        return
                    self.in_flight += 1
                try:
                    i += 1
                    if previous and i % 2 == 0:
                        response = client.post(
                            f"{previous}/links/new",
                            data={
                                "csrf_token": token,
                                "relation": "supports",
                                "text": f"Backup load {n}.{i}",
                                "speaker": f"Backup writer {n}",
                            },
                        )
                    else:
                        response = client.post(
                            "/claims/new",
                            data={"csrf_token": token, "text": f"Backup load {n}.{i}", "speaker": f"Backup writer {n}"},
                        )
                        previous = response.headers.get("location")
                    if response.status_code != 303:
                        self.errors.append(f"{response.status_code}: {response.text[:300]}")
                finally:
                    with self.cond:
                        self.in_flight -= 1
                        self.saved += 1
                        self.cond.notify_all()

    def wait_for(self, saves: int) -> None:
        with self.cond:
            target = self.saved + saves
            assert self.cond.wait_for(lambda: self.saved >= target, timeout=30), "the writers stalled"

    @contextmanager
    def paused_writes(self) -> Iterator[None]:
        with self.cond:
            self.paused = True
            assert self.cond.wait_for(lambda: self.in_flight == 0, timeout=30)
        try:
            yield
        finally:
            with self.cond:
                self.paused = False
                self.cond.notify_all()


# --- backup ---------------------------------------------------------------------------------


def test_backup_while_the_service_writes_is_consistent(live_server: LiveServer, tmp_path: Path) -> None:
    env = cli_env(live_server)
    live = live_server.db_path
    with Writers(live_server) as writers:
        writers.wait_for(10)
        before = counts(live)
        result = cli(env, "backup", str(tmp_path / "during.db"), real=True)
        assert result.returncode == 0, result.stderr
        assert "Backed up" in result.stdout
        writers.wait_for(10)
        after = counts(live)

        # Taken in a pause of the writes, the copy is the live database, row for row.
        with writers.paused_writes():
            snapshot = contents(live)
            result = cli(env, "backup", str(tmp_path / "paused.db"))
            assert result.returncode == 0, result.stderr
        # One self-contained file: nothing of it left in a -wal file beside it.
        assert not Path(f"{tmp_path / 'paused.db'}-wal").exists()
        writers.wait_for(5)  # the service takes writes again
    assert writers.errors == []

    during = tmp_path / "during.db"
    assert_consistent(during)
    taken = counts(during)
    for table in ("claims", "claim_links", "change_history"):
        assert before[table] <= taken[table] <= after[table], table
    assert before["claims"] < after["claims"], "no write happened around the backup"

    paused = tmp_path / "paused.db"
    assert_consistent(paused)
    assert contents(paused) == snapshot


def test_backup_with_accounts(live_server: LiveServer, tmp_path: Path) -> None:
    claims, accounts = tmp_path / "claims.db", tmp_path / "accounts.db"
    result = cli(cli_env(live_server), "backup", str(claims), "--accounts", str(accounts), real=True)
    assert result.returncode == 0, result.stderr
    assert_consistent(claims)
    assert query(accounts, "PRAGMA integrity_check")[0][0] == "ok"
    users = dict(query(accounts, "SELECT username, role FROM users"))
    assert users == {"editor": "editor", "admin": "admin"}
    assert all(h.startswith("$argon2") for (h,) in query(accounts, "SELECT password_hash FROM users"))
    # The claims backup holds no account data.
    tables = {r[0] for r in query(claims, "SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert not tables & {"users", "login_failures"}


def test_backup_refuses_to_overwrite_without_force(live_server: LiveServer, tmp_path: Path) -> None:
    env = cli_env(live_server)
    existing = tmp_path / "existing.db"
    existing.write_bytes(b"keep me")
    error = one_line_error(cli(env, "backup", str(existing)))
    assert "--force" in error
    assert existing.read_bytes() == b"keep me"
    # An existing accounts target is refused before anything is written.
    fresh = tmp_path / "fresh.db"
    one_line_error(cli(env, "backup", str(fresh), "--accounts", str(existing)))
    assert existing.read_bytes() == b"keep me"
    assert not fresh.exists(), "the claims copy was written although the command failed"
    # With --force it is replaced by a good copy.
    result = cli(env, "backup", str(existing), "--force")
    assert result.returncode == 0, result.stderr
    assert_consistent(existing)


# --- restore --------------------------------------------------------------------------------


def test_restore_into_a_fresh_place_matches_the_backup(live_server: LiveServer, tmp_path: Path) -> None:
    backup, accounts = tmp_path / "backup.db", tmp_path / "backup-auth.db"
    result = cli(cli_env(live_server), "backup", str(backup), "--accounts", str(accounts))
    assert result.returncode == 0, result.stderr
    expected = contents(backup)
    assert expected["claims"] and expected["claim_links"] and expected["change_history"]

    target = tmp_path / "restored" / "db" / "claimtrack.db"
    target_auth = target.parent / "auth.db"
    env = cli_env(live_server, CLAIMTRACK_DB=target, CLAIMTRACK_AUTH_DB=target_auth)
    result = cli(env, "restore", str(backup), "--accounts", str(accounts), "--yes", real=True)
    assert result.returncode == 0, result.stderr
    assert "Restored" in result.stdout
    assert_consistent(target)
    assert contents(target) == expected
    assert query(target_auth, "SELECT username, role, password_hash FROM users ORDER BY id") == query(
        accounts, "SELECT username, role, password_hash FROM users ORDER BY id"
    )
    # The restored database is in the service's mode (WAL) and takes writes as usual.
    assert query(target, "PRAGMA journal_mode")[0][0] == "wal"
    seeded = cli(env, "seed")
    assert seeded.returncode == 0, seeded.stderr
    assert contents(target)["claims"] == expected["claims"]  # the scenario is in already: nothing added


def test_restore_over_an_existing_database_replaces_it(live_server: LiveServer, tmp_path: Path) -> None:
    backup = tmp_path / "backup.db"
    assert cli(cli_env(live_server), "backup", str(backup)).returncode == 0
    target = tmp_path / "other" / "claimtrack.db"
    env = cli_env(live_server, CLAIMTRACK_DB=target, CLAIMTRACK_AUTH_DB=target.parent / "auth.db")
    assert cli(env, "init-db").returncode == 0
    with connect(target) as conn:  # a different history in the target
        conn.execute(
            "INSERT INTO speakers (name, kind, anonymous, created_at, updated_at) VALUES ('Gone', 'person', 0, 'x', 'x')"
        )
        conn.commit()
    # Without --yes it asks, and a "no" changes nothing.
    refused = cli(env, "restore", str(backup), input="n\n")
    assert refused.returncode == 1
    assert [tuple(r) for r in query(target, "SELECT name FROM speakers")] == [("Gone",)]
    result = cli(env, "restore", str(backup), "--yes")
    assert result.returncode == 0, result.stderr
    assert contents(target) == contents(backup)


def make_bad(kind: str, bad: Path, good: Path) -> None:
    if kind == "text":
        bad.write_text("id,text\n1,not a database\n")
    elif kind == "empty":
        bad.write_bytes(b"")
    elif kind == "other-sqlite":
        with connect(bad) as conn:
            conn.execute("CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT)")
            conn.commit()
    elif kind == "truncated":
        data = good.read_bytes()
        bad.write_bytes(data[: len(data) // 2])


@pytest.fixture(scope="module")
def good_backup(live_server: LiveServer, tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("good") / "good.db"
    result = cli(cli_env(live_server), "backup", str(path))
    assert result.returncode == 0, result.stderr
    return path


@pytest.mark.parametrize("kind", ["text", "empty", "other-sqlite", "missing", "truncated"])
def test_restore_refuses_what_is_not_a_claimtrack_database(
    live_server: LiveServer,
    good_backup: Path,
    tmp_path: Path,
    kind: str,
) -> None:
    bad = tmp_path / "bad.db"
    make_bad(kind, bad, good_backup)
    target = tmp_path / "restored" / "claimtrack.db"
    env = cli_env(live_server, CLAIMTRACK_DB=target, CLAIMTRACK_AUTH_DB=target.parent / "auth.db")
    assert str(bad) in one_line_error(cli(env, "restore", str(bad), "--yes"))
    assert not target.exists(), "a refused restore created the database"


def test_refused_restore_leaves_the_live_database_alone(
    live_server: LiveServer,
    good_backup: Path,
    tmp_path: Path,
) -> None:
    """The real command, against the running service's database: one line on stderr, exit 1, nothing changed."""
    bad = tmp_path / "notes.csv"
    make_bad("text", bad, good_backup)
    before = contents(live_server.db_path)
    error = one_line_error(cli(cli_env(live_server), "restore", str(bad), "--yes", real=True))
    assert str(bad) in error
    # A good claims backup with a bad accounts file is refused before either database is replaced.
    one_line_error(cli(cli_env(live_server), "restore", str(good_backup), "--accounts", str(bad), "--yes"))
    assert contents(live_server.db_path) == before


def test_restore_refuses_the_accounts_copy_as_the_claims_database_and_the_other_way_round(
    live_server: LiveServer, tmp_path: Path
) -> None:
    """`backup` writes two files with the same kind of schema table: given in each other's place, restore
    replaced the live claims with the accounts (every claim gone, the app answering 500) and then failed
    with a traceback. Each is checked against its own database's schema versions before anything is replaced."""
    claims, accounts = tmp_path / "claims.db", tmp_path / "accounts.db"
    assert cli(cli_env(live_server), "backup", str(claims), "--accounts", str(accounts)).returncode == 0
    target = tmp_path / "restored" / "claimtrack.db"
    env = cli_env(live_server, CLAIMTRACK_DB=target, CLAIMTRACK_AUTH_DB=target.parent / "auth.db")
    assert cli(env, "init-db").returncode == 0
    before = contents(target)
    error = one_line_error(cli(env, "restore", str(accounts), "--yes"))
    assert str(accounts) in error and "claims database" in error, error
    error = one_line_error(cli(env, "restore", str(claims), "--accounts", str(claims), "--yes"))
    assert "accounts database" in error, error
    assert contents(target) == before
    # Given in their places, both restore.
    result = cli(env, "restore", str(claims), "--accounts", str(accounts), "--yes")
    assert result.returncode == 0, result.stderr
    assert contents(target) == contents(claims)


def test_backup_refuses_to_write_over_a_live_database_or_one_file_twice(
    live_server: LiveServer, tmp_path: Path
) -> None:
    """With --force a backup's target is deleted first: given the live claims or accounts database, that
    deleted it; given one file as both PATH and --accounts, the accounts copy replaced the claims copy while
    both were reported written. Each is refused before anything is written."""
    target = tmp_path / "own" / "claimtrack.db"
    auth = target.parent / "auth.db"
    env = cli_env(live_server, CLAIMTRACK_DB=target, CLAIMTRACK_AUTH_DB=auth)
    assert cli(env, "init-db").returncode == 0
    assert (
        cli(env, "user", "add", "keeper", "--role", "admin", "--password-stdin", input="a-long-password-1\n").returncode
        == 0
    )
    before, users = contents(target), query(auth, "SELECT username FROM users")
    for args in (
        [str(target), "--force"],
        [str(target.parent / "." / "claimtrack.db"), "--force"],
        [str(tmp_path / "copy.db"), "--accounts", str(auth), "--force"],
        [str(auth), "--force"],
        [str(target) + "-wal", "--force"],
    ):
        error = one_line_error(cli(env, "backup", *args))
        assert "live" in error, (args, error)
    same = tmp_path / "both.db"
    error = one_line_error(cli(env, "backup", str(same), "--accounts", str(same), "--force"))
    assert "two different files" in error, error
    assert not same.exists() and not (tmp_path / "copy.db").exists()
    assert contents(target) == before and query(auth, "SELECT username FROM users") == users

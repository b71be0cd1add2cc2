"""Sign-in under attack: no 5xx under a burst of bad logins, a per-account backoff on top of the per-address
limits, addresses keyed sensibly (IPv6 by /64, junk forwarded values in one bucket), fail closed when failures
cannot be recorded, and a fresh CSRF token after signing in.
"""

from __future__ import annotations

import sqlite3
import threading
import types
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import closing
from pathlib import Path
from typing import Any

import httpx
import pytest
from argon2 import PasswordHasher
from conftest import EDITOR, add_account, csrf_token
from flask import Flask
from flask.testing import FlaskClient
from helpers import app_beside
from security_support import PRODUCTION_HASHER, dispose, fast_hashing, rows  # noqa: F401  (fast_hashing is an autouse fixture)
from server_fixture import (
    LiveServer,
    live_server,  # noqa: F401  (the fixture)
)
from sqlalchemy import event

from claimtrack.services import accounts
from claimtrack.web.database import get_accounts_engine

WRONG = "wrong-password-000"


def login(client: FlaskClient, username: str, password: str, address: str = "127.0.0.1") -> Any:
    return client.post(
        "/login", data={"username": username, "password": password}, environ_overrides={"REMOTE_ADDR": address}
    )


def status(client: FlaskClient, username: str, password: str, address: str = "127.0.0.1") -> int:
    return login(client, username, password, address).status_code


class Clock:
    """accounts.time, under the test's control: backoff delays without waiting for them."""

    def __init__(self, start: float = 2_000_000_000.0) -> None:
        self.now = start

    def time(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    clock = Clock()
    monkeypatch.setattr(accounts, "time", types.SimpleNamespace(time=clock.time))
    return clock


@pytest.fixture
def editor_app(app: Flask) -> Flask:
    add_account(app, *EDITOR, "editor")
    return app


# --- 1. the password hash is checked outside any write transaction --------------------------------


def test_the_password_is_verified_while_no_write_transaction_holds_the_accounts_database(
    editor_app: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    auth_db = Path(editor_app.config["ACCOUNTS_DATABASE"])
    locked_during_verify: list[bool] = []
    cheap = accounts._hasher

    class Probe(PasswordHasher):
        def verify(self, hash: str | bytes, password: str | bytes) -> bool:
            # Another writer (another request, another worker) must be able to start at this moment.
            with closing(sqlite3.connect(auth_db, timeout=0, isolation_level=None)) as other:
                try:
                    other.execute("BEGIN IMMEDIATE")
                    other.execute("ROLLBACK")
                    locked_during_verify.append(False)
                except sqlite3.OperationalError as exc:
                    assert "locked" in str(exc), exc
                    locked_during_verify.append(True)
            return cheap.verify(hash, password)

    probe = Probe(time_cost=1, memory_cost=8, parallelism=1)
    monkeypatch.setattr(accounts, "_hasher", probe)
    client = editor_app.test_client()
    assert status(client, EDITOR[0], WRONG) == 401
    assert status(client, "nobody-by-that-name", WRONG) == 401
    assert status(client, *EDITOR) == 303
    assert locked_during_verify == [False, False, False]
    # The failures were still recorded, the success was not.
    assert rows(auth_db, "SELECT username FROM login_failures ORDER BY id") == [("editor",), ("nobody-by-that-name",)]


def test_concurrent_right_passwords_all_sign_in_while_the_hash_is_upgraded(
    editor_app: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The stored hash has weaker parameters than the app's: the first sign-in rehashes it. Sign-ins made at
    the same moment with the same right password must not be refused because the hash changed under them."""
    stronger = PasswordHasher(time_cost=2, memory_cost=16, parallelism=1)
    monkeypatch.setattr(accounts, "_hasher", stronger)
    # As many sign-ins as one address may have in flight for one account: each counts as a failure until its
    # password is proved right (so guesses made at once cannot overshoot the limit), and one more than the
    # limit is refused whenever all the others are still waiting for their check, which depended on timing.
    at_once = accounts.FAILURES_PER_ACCOUNT
    barrier = threading.Barrier(at_once)

    def sign_in_once(_: int) -> int:
        barrier.wait()
        return status(editor_app.test_client(), *EDITOR, "192.0.2.77")

    with ThreadPoolExecutor(at_once) as pool:
        results = list(pool.map(sign_in_once, range(at_once)))
    assert results == [303] * at_once
    auth_db = Path(editor_app.config["ACCOUNTS_DATABASE"])
    stored = rows(auth_db, "SELECT password_hash FROM users WHERE username = 'editor'")[0][0]
    assert not stronger.check_needs_rehash(stored)


def test_a_hash_made_with_the_earlier_default_parameters_still_signs_in_and_is_upgraded(
    editor_app: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Hashes stored before the parameters became OWASP's 19 MiB / 2 passes / 1 lane were argon2-cffi's
    defaults (64 MiB, 3 passes, 4 lanes): they still verify, and the first sign-in stores the new ones."""
    monkeypatch.setattr(accounts, "_hasher", PRODUCTION_HASHER)
    auth_db = Path(editor_app.config["ACCOUNTS_DATABASE"])
    earlier = PasswordHasher(time_cost=3, memory_cost=64 * 1024, parallelism=4).hash(EDITOR[1])
    with closing(sqlite3.connect(auth_db)) as conn, conn:
        conn.execute("UPDATE users SET password_hash = ? WHERE username = ?", (earlier, EDITOR[0]))
    client = editor_app.test_client()
    assert status(client, EDITOR[0], WRONG) == 401
    assert rows(auth_db, "SELECT password_hash FROM users WHERE username = 'editor'")[0][0] == earlier
    assert status(client, *EDITOR) == 303
    stored = rows(auth_db, "SELECT password_hash FROM users WHERE username = 'editor'")[0][0]
    assert stored != earlier and "$m=19456,t=2,p=1$" in stored, stored
    assert PRODUCTION_HASHER.verify(stored, EDITOR[1])
    assert status(editor_app.test_client(), *EDITOR) == 303


def test_password_hashes_and_checks_run_one_at_a_time(editor_app: Flask, monkeypatch: pytest.MonkeyPatch) -> None:
    """Each argon2 hash or check holds its memory while it runs: at most one at a time bounds what sign-ins
    add to the process's peak, however many arrive together (right, wrong, unknown names, rehashes)."""
    running = 0
    most = 0
    lock = threading.Lock()

    def counted(call: Callable[..., Any]) -> Callable[..., Any]:
        def wrapper(*args: Any) -> Any:
            nonlocal running, most
            with lock:
                running += 1
                most = max(most, running)
            try:
                threading.Event().wait(0.01)  # long enough for the others to arrive
                return call(*args)
            finally:
                with lock:
                    running -= 1

        return wrapper

    stronger = PasswordHasher(time_cost=2, memory_cost=16, parallelism=1)  # the editor's hash gets rehashed
    probe = types.SimpleNamespace(
        hash=counted(stronger.hash), verify=counted(stronger.verify), check_needs_rehash=stronger.check_needs_rehash
    )
    monkeypatch.setattr(accounts, "_hasher", probe)
    barrier = threading.Barrier(8)

    def sign_in(i: int) -> int:
        barrier.wait()
        user, password = [EDITOR, (EDITOR[0], WRONG), (f"nobody-{i}", WRONG)][i % 3]
        return status(editor_app.test_client(), user, password, f"192.0.2.{i + 1}")

    with ThreadPoolExecutor(8) as pool:
        codes = list(pool.map(sign_in, range(8)))
    assert sorted(codes) == [303] * 3 + [401] * 5
    assert most == 1


def test_concurrent_failures_cannot_overshoot_the_limit(editor_app: Flask) -> None:
    """Many guesses at once on one account from one address: the limit still counts each one."""
    barrier = threading.Barrier(12)

    def guess(_: int) -> int:
        barrier.wait()
        return status(editor_app.test_client(), EDITOR[0], WRONG, "192.0.2.44")

    with ThreadPoolExecutor(max_workers=12) as pool:
        codes = list(pool.map(guess, range(12)))
    assert sorted(codes) == [401] * accounts.FAILURES_PER_ACCOUNT + [429] * (12 - accounts.FAILURES_PER_ACCOUNT)
    verified = rows(Path(editor_app.config["ACCOUNTS_DATABASE"]), "SELECT count(*) FROM login_failures")[0][0]
    assert verified == accounts.FAILURES_PER_ACCOUNT


def _login_page_token(client: httpx.Client) -> str:
    page = client.get("/login")
    assert page.status_code == 200
    return csrf_token(page.text)


def test_a_burst_of_bad_logins_on_the_served_app_gets_401_or_429_and_pages_still_answer(
    live_server: LiveServer,
) -> None:
    burst = 40
    clients = [httpx.Client(base_url=live_server.url, timeout=120.0) for _ in range(burst)]
    try:
        tokens = [_login_page_token(c) for c in clients]
        barrier = threading.Barrier(burst + 1)

        def bad_login(i: int) -> int:
            barrier.wait()
            # Every guess from its own (forwarded) address and for its own name: none is refused early,
            # so every one of them checks a password (the server runs argon2 with its real parameters).
            response = clients[i].post(
                "/login",
                data={"username": f"burst-{i}", "password": WRONG, "csrf_token": tokens[i]},
                headers={"X-Forwarded-For": f"198.51.100.{i + 1}"},
            )
            return response.status_code

        def a_page() -> int:
            barrier.wait()
            with httpx.Client(base_url=live_server.url, timeout=120.0) as reader:
                return reader.get("/claims").status_code

        with ThreadPoolExecutor(max_workers=burst + 1) as pool:
            logins = [pool.submit(bad_login, i) for i in range(burst)]
            page = pool.submit(a_page)
            codes = [f.result() for f in logins]
            assert page.result() == 200
    finally:
        for c in clients:
            c.close()
    assert all(code in (401, 429) for code in codes), codes
    assert "database is locked" not in live_server.log()
    # Every failure was recorded (none lost to a lock).
    recorded = rows(
        live_server.db_path.parent / "auth.db", "SELECT count(*) FROM login_failures WHERE username LIKE 'burst-%'"
    )[0][0]
    assert recorded == codes.count(401)


# --- 2. a per-account backoff, and what counts as an address --------------------------------------


def test_failures_on_one_account_from_many_addresses_start_a_backoff(editor_app: Flask, clock: Clock) -> None:
    client = editor_app.test_client()
    free = accounts.ACCOUNT_FAILURES_BEFORE_BACKOFF
    codes = [status(client, EDITOR[0], WRONG, f"10.1.0.{i}") for i in range(1, 21)]
    # The first failures are answered; after that the account refuses every address for a while.
    assert codes == [401] * free + [429] * (20 - free)
    response = login(client, *EDITOR, address="10.1.0.99")
    assert response.status_code == 429
    assert "Too many failed sign-ins for this account" in response.get_data(as_text=True)
    assert int(response.headers["Retry-After"]) == accounts.BACKOFF_FIRST_DELAY_S
    # Refused attempts are not counted: the delay runs from the last real failure.
    clock.advance(accounts.BACKOFF_FIRST_DELAY_S + 1)
    assert status(client, EDITOR[0], WRONG, "10.1.0.50") == 401
    # Each further failure doubles the delay.
    clock.advance(accounts.BACKOFF_FIRST_DELAY_S + 1)
    assert status(client, *EDITOR, address="10.1.0.51") == 429
    clock.advance(accounts.BACKOFF_FIRST_DELAY_S)
    assert status(client, *EDITOR, address="10.1.0.52") == 303  # not locked out for good: the owner gets in


def test_the_backoff_is_capped_so_the_owner_is_never_locked_out_for_good(editor_app: Flask, clock: Clock) -> None:
    client = editor_app.test_client()
    failures = 0
    # Keep guessing whenever the account lets anyone try: the delay grows, up to the cap.
    while failures < 40:
        code = status(client, EDITOR[0], WRONG, f"10.2.{failures // 200}.{failures % 200 + 1}")
        if code == 401:
            failures += 1
        else:
            assert code == 429
            clock.advance(60)
    assert status(client, *EDITOR, address="10.2.9.9") == 429
    clock.advance(accounts.BACKOFF_MAX_DELAY_S + 1)
    assert status(client, *EDITOR, address="10.2.9.9") == 303


def test_ipv6_addresses_share_a_limit_per_64_prefix(editor_app: Flask) -> None:
    client = editor_app.test_client()
    for i in range(1, accounts.FAILURES_PER_ACCOUNT + 1):
        assert status(client, EDITOR[0], WRONG, f"2001:db8:1:2::{i:x}") == 401
    # A new address in the same /64 is the same network: refused.
    assert status(client, *EDITOR, address="2001:db8:1:2:ffff:ffff:ffff:ffff") == 429
    # The next /64 is somebody else.
    assert status(client, *EDITOR, address="2001:db8:1:3::1") == 303


def test_a_forwarded_address_that_is_not_an_ip_address_shares_one_bucket(editor_app: Flask) -> None:
    client = editor_app.test_client()
    for i in range(accounts.FAILURES_PER_ACCOUNT):
        assert status(client, EDITOR[0], WRONG, f"not-an-address-{i}") == 401
    assert status(client, *EDITOR, address="something-else-entirely") == 429
    assert status(client, *EDITOR, address="") == 429
    assert status(client, *EDITOR, address="192.0.2.9") == 303  # a real address has its own bucket
    stored = {r[0] for r in rows(Path(editor_app.config["ACCOUNTS_DATABASE"]), "SELECT address FROM login_failures")}
    assert not any("not-an-address" in a for a in stored), stored


@pytest.mark.parametrize(
    ("remote", "key"),
    [
        ("192.0.2.7", "192.0.2.7"),
        ("2001:db8:aa:bb:1:2:3:4", "2001:db8:aa:bb::/64"),
        ("2001:DB8:AA:BB::9", "2001:db8:aa:bb::/64"),
        ("::ffff:192.0.2.7", "192.0.2.7"),  # an IPv4 client seen through an IPv6 socket
        ("fe80::1%eth0", "fe80::/64"),
        ("", accounts.UNKNOWN_ADDRESS),
        (None, accounts.UNKNOWN_ADDRESS),
        ("192.0.2.7, 10.0.0.1", accounts.UNKNOWN_ADDRESS),
        ("x" * 5000, accounts.UNKNOWN_ADDRESS),
    ],
)
def test_address_keys(remote: str | None, key: str) -> None:
    assert accounts.address_key(remote) == key


def test_a_non_ip_forwarded_for_header_on_the_served_app_does_not_make_a_new_bucket(
    live_server: LiveServer,
) -> None:
    with httpx.Client(base_url=live_server.url, timeout=60.0) as client:
        codes = []
        for i in range(accounts.FAILURES_PER_ACCOUNT + 1):
            token = _login_page_token(client)
            response = client.post(
                "/login",
                data={"username": live_server.editor[0], "password": WRONG, "csrf_token": token},
                headers={"X-Forwarded-For": f"junk-{i}"},
            )
            codes.append(response.status_code)
    assert codes == [401] * accounts.FAILURES_PER_ACCOUNT + [429]


# --- 3. fail closed when failures cannot be recorded -----------------------------------------------


def _on_every_accounts_connection(app: Flask, setup: Callable[[sqlite3.Connection], None]) -> Callable[[], None]:
    """Run ``setup`` on each new connection of the app's accounts engine; returns the undo."""
    with app.app_context():
        engine = get_accounts_engine()

    def on_connect(dbapi_conn: sqlite3.Connection, _record: object) -> None:
        setup(dbapi_conn)

    event.listen(engine, "connect", on_connect)
    engine.dispose()  # connections made before now do not have it

    def undo() -> None:
        event.remove(engine, "connect", on_connect)
        engine.dispose()

    return undo


def _fill(auth_db: Path, pages: int, now: float) -> None:
    """Use up the free space the failure records could go into, as a full disk would."""
    with closing(sqlite3.connect(auth_db, isolation_level=None)) as conn:
        conn.execute(f"PRAGMA max_page_count = {pages}")
        i = 0
        while True:
            try:
                # Outside every window (so they limit nobody) but recent enough to be kept.
                conn.execute(
                    "INSERT INTO login_failures (username, address, failed_at) VALUES (?, ?, ?)",
                    ("editor", "127.0.0.1", now - 6 * 3600 + i * 0.001),
                )
            except sqlite3.OperationalError as exc:
                assert "full" in str(exc), exc
                break
            i += 1
        # Precondition: a failure record really cannot be written now.
        with pytest.raises(sqlite3.OperationalError, match="full"):
            conn.execute(
                "INSERT INTO login_failures (username, address, failed_at) VALUES (?, ?, ?)",
                ("editor", "127.0.0.1", now),
            )


@pytest.fixture(params=["disk-full", "read-only"])
def unwritable_accounts(request: pytest.FixtureRequest, editor_app: Flask) -> Iterator[Flask]:
    auth_db = Path(editor_app.config["ACCOUNTS_DATABASE"])
    if request.param == "disk-full":
        editor_app.test_client().get("/login")  # the accounts file exists and is migrated
        with closing(sqlite3.connect(auth_db)) as conn:
            pages = conn.execute("PRAGMA page_count").fetchone()[0]
        undo = _on_every_accounts_connection(editor_app, lambda c: c.execute(f"PRAGMA max_page_count = {pages}"))
        import time as real_time

        _fill(auth_db, pages, real_time.time())
    else:
        undo = _on_every_accounts_connection(editor_app, lambda c: c.execute("PRAGMA query_only = ON"))
    try:
        yield editor_app
    finally:
        undo()


def test_sign_in_is_refused_with_503_while_failures_cannot_be_recorded(unwritable_accounts: Flask) -> None:
    app = unwritable_accounts
    auth_db = Path(app.config["ACCOUNTS_DATABASE"])
    users_before = rows(auth_db, "SELECT * FROM users")
    client = app.test_client()
    for _ in range(accounts.FAILURES_PER_ACCOUNT + 3):  # guessing is not unlimited: nothing is even checked
        response = login(client, EDITOR[0], WRONG)
        assert response.status_code == 503
        assert "Sign-in is unavailable" in response.get_data(as_text=True)
        assert "Retry-After" in response.headers
    # The right password is refused too: a 303 here would tell a guesser which guess was right.
    assert status(client, *EDITOR) == 503
    assert client.get("/claims").status_code == 200  # reading does not need the accounts database to be writable
    assert rows(auth_db, "SELECT * FROM users") == users_before


def test_sign_in_works_again_once_the_accounts_database_can_be_written(editor_app: Flask) -> None:
    undo = _on_every_accounts_connection(editor_app, lambda c: c.execute("PRAGMA query_only = ON"))
    client = editor_app.test_client()
    assert status(client, *EDITOR) == 503
    undo()
    assert status(client, *EDITOR) == 303


def test_a_wrong_current_password_is_refused_with_503_while_failures_cannot_be_recorded(
    editor_app: Flask,
) -> None:
    client = editor_app.test_client()
    assert status(client, *EDITOR) == 303
    undo = _on_every_accounts_connection(editor_app, lambda c: c.execute("PRAGMA query_only = ON"))
    try:
        response = client.post(
            "/account/password", data={"current_password": WRONG, "password": "a-brand-new-password-99"}
        )
        assert response.status_code == 503
    finally:
        undo()


# --- 4. the CSRF token changes at sign-in -------------------------------------------------------------


@pytest.fixture
def csrf_app(editor_app: Flask) -> Iterator[Flask]:
    app = app_beside(editor_app, SECRET_KEY="csrf-test", WTF_CSRF_ENABLED=True)
    yield app
    dispose(app)


def test_the_pre_login_csrf_token_is_refused_after_signing_in(csrf_app: Flask) -> None:
    client = csrf_app.test_client()
    before = csrf_token(client.get("/login").get_data(as_text=True))
    response = client.post("/login", data={"username": EDITOR[0], "password": EDITOR[1], "csrf_token": before})
    assert response.status_code == 303
    # A form posted with the token from before signing in (say, planted by someone who saw the login page).
    stale = client.post("/logout", data={"csrf_token": before})
    assert stale.status_code == 400
    assert client.get("/claims/new").status_code == 200  # still signed in: nothing happened
    after = csrf_token(client.get("/claims/new").get_data(as_text=True))
    assert after != before
    assert client.post("/logout", data={"csrf_token": after}).status_code == 303
    assert client.get("/claims/new").status_code == 302  # signed out, with the new token


def test_the_login_form_still_needs_its_token(csrf_app: Flask) -> None:
    client = csrf_app.test_client()
    client.get("/login")
    assert client.post("/login", data={"username": EDITOR[0], "password": EDITOR[1]}).status_code == 400
    assert client.get("/claims/new").status_code == 302

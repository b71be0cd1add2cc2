"""Accounts, sessions, CSRF, the secret key, security headers, and what Datasette can (not) reach.

Sessions and passwords go through the Flask app and the ``claimtrack user`` commands; headers and
Datasette through the real ASGI app (``claimtrack.asgi``) in-process, as ``claimtrack serve`` runs it.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import os
import re
import stat
import subprocess
import sys
import time
import types
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote

import httpx
import pytest
from click.testing import CliRunner
from conftest import ADMIN, EDITOR, add_account, sign_in
from flask import Flask
from flask.testing import FlaskClient
from helpers import app_beside
from security_support import (
    METADATA_PATH,
    PRODUCTION_HASHER,
    ROUTES,
    Identity,
    World,
    asgi_get_all,
    client_as,
    csp_directives,
    dispose,
    iter_inline_scripts,
    make_asgi,
    path_of,
    rows,
    run_async,
    snapshot,
)
from sqlalchemy import Engine

from claimtrack import create_app
from claimtrack.cli import main as cli
from claimtrack.config import PROJECT_ROOT
from claimtrack.datasette import SETTINGS, load_metadata, make_datasette
from claimtrack.services import accounts
from claimtrack.services.accounts import (
    FAILURE_WINDOW_S,
    FAILURES_PER_ACCOUNT,
    MIN_PASSWORD,
)

NEW_PASSWORD = "a-completely-new-password"


# --- shared fixtures ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def asgi(shared_app: Flask, world: World) -> Any:
    return make_asgi(shared_app, world)


def cookie_of(client: FlaskClient) -> str:
    cookie = client.get_cookie("session")
    assert cookie is not None, "no session cookie"
    return cookie.value


def replay(app: Flask, cookie: str) -> FlaskClient:
    """A fresh client that presents a copied session cookie, as an attacker who stole it would."""
    fresh = app.test_client()
    fresh.set_cookie("session", cookie)
    return fresh


def is_signed_in(client: FlaskClient) -> bool:
    status = client.get("/claims/new").status_code
    assert status in (200, 302), status
    return status == 200


def cli_env(app: Flask) -> dict[str, str]:
    return {"CLAIMTRACK_DB": app.config["DATABASE"], "CLAIMTRACK_AUTH_DB": app.config["ACCOUNTS_DATABASE"]}


def run_cli(app: Flask, args: list[str], input: str | None = None) -> Any:
    return CliRunner().invoke(cli, args, input=input, env=cli_env(app))


def password_hash(app: Flask, username: str) -> str:
    return rows(Path(app.config["ACCOUNTS_DATABASE"]), "SELECT password_hash FROM users WHERE username = ?", username)[
        0
    ][0]


def login_status(client: FlaskClient, username: str, password: str, address: str = "127.0.0.1") -> int:
    response = client.post(
        "/login", data={"username": username, "password": password}, environ_overrides={"REMOTE_ADDR": address}
    )
    return response.status_code


# --- sessions end -----------------------------------------------------------------------------


def test_logout_ends_the_session_and_a_replayed_cookie(app: Flask, client: FlaskClient, db_path: Path) -> None:
    cookie = cookie_of(client)
    assert is_signed_in(replay(app, cookie))  # the copy works while the session lives
    assert client.post("/logout").status_code == 303
    assert not is_signed_in(client)
    thief = replay(app, cookie)
    assert not is_signed_in(thief)
    before = counts_of(db_path)
    response = thief.post("/claims/new", data={"text": "Written with an old cookie", "speaker": "Thief"})
    assert response.status_code == 403
    assert counts_of(db_path) == before


def counts_of(db_path: Path) -> list[int]:
    return [rows(db_path, f"SELECT count(*) FROM {t}")[0][0] for t in ("claims", "speakers", "change_history")]


def test_logging_in_again_after_logout_works(app: Flask, client: FlaskClient) -> None:
    client.post("/logout")
    sign_in(client, *EDITOR)
    assert is_signed_in(client)


def test_password_change_by_the_cli_ends_sessions(app: Flask, client: FlaskClient) -> None:
    cookie = cookie_of(client)
    result = run_cli(app, ["user", "passwd", "editor", "--password-stdin"], input=NEW_PASSWORD + "\n")
    assert result.exit_code == 0, result.output
    assert "sessions have ended" in result.output
    assert not is_signed_in(client)
    assert not is_signed_in(replay(app, cookie))
    fresh = app.test_client()
    assert login_status(fresh, EDITOR[0], EDITOR[1]) == 401
    assert login_status(fresh, EDITOR[0], NEW_PASSWORD) == 303


def test_password_change_on_the_admin_page_ends_sessions(
    app: Flask, client: FlaskClient, admin_client: FlaskClient
) -> None:
    cookie = cookie_of(client)
    editor_id = rows(Path(app.config["ACCOUNTS_DATABASE"]), "SELECT id FROM users WHERE username = 'editor'")[0][0]
    response = admin_client.post(f"/admin/users/{editor_id}", data={"action": "password", "password": NEW_PASSWORD})
    assert response.status_code == 303
    assert not is_signed_in(replay(app, cookie))
    assert is_signed_in(admin_client)  # the admin's own session goes on


def test_own_password_change_ends_every_other_session(app: Flask, client: FlaskClient) -> None:
    other_device = app.test_client()
    sign_in(other_device, *EDITOR)
    old_cookie = cookie_of(client)
    response = client.post("/account/password", data={"current_password": EDITOR[1], "password": NEW_PASSWORD})
    assert response.status_code == 303
    assert is_signed_in(client)  # this session continues
    assert not is_signed_in(other_device)
    assert not is_signed_in(replay(app, old_cookie))


@pytest.mark.parametrize("command", [["disable"], ["enable"], ["passwd", "--password-stdin"]])
def test_an_unknown_user_name_is_named_as_a_name(app: Flask, command: list[str]) -> None:
    result = run_cli(app, ["user", command[0], "nobody", *command[1:]], input=NEW_PASSWORD + "\n")
    assert result.exit_code == 1
    assert "No user named 'nobody'" in result.output and "id" not in result.output, result.output


def test_disabling_a_user_by_the_cli_ends_sessions_and_sign_in(app: Flask, client: FlaskClient) -> None:
    cookie = cookie_of(client)
    result = run_cli(app, ["user", "disable", "editor"])
    assert result.exit_code == 0, result.output
    assert not is_signed_in(replay(app, cookie))
    assert not is_signed_in(client)
    assert login_status(app.test_client(), *EDITOR) == 401
    assert "editor\teditor\tdisabled" in run_cli(app, ["user", "list"]).output
    assert run_cli(app, ["user", "enable", "editor"]).exit_code == 0
    assert not is_signed_in(replay(app, cookie))  # enabling again does not bring old sessions back
    assert login_status(app.test_client(), *EDITOR) == 303


def test_disabling_a_user_on_the_admin_page_ends_sessions(
    app: Flask, client: FlaskClient, admin_client: FlaskClient
) -> None:
    cookie = cookie_of(client)
    editor_id = rows(Path(app.config["ACCOUNTS_DATABASE"]), "SELECT id FROM users WHERE username = 'editor'")[0][0]
    assert admin_client.post(f"/admin/users/{editor_id}", data={"action": "disable"}).status_code == 303
    assert not is_signed_in(replay(app, cookie))
    admin_id = rows(Path(app.config["ACCOUNTS_DATABASE"]), "SELECT id FROM users WHERE username = 'admin'")[0][0]
    assert admin_client.post(f"/admin/users/{admin_id}", data={"action": "disable"}).status_code == 409
    assert is_signed_in(admin_client)


def test_a_forged_or_tampered_cookie_signs_nobody_in(app: Flask, client: FlaskClient) -> None:
    cookie = cookie_of(client)
    payload, _, signature = cookie.rpartition(".")
    tampered = payload + "." + ("A" if signature[0] != "A" else "B") + signature[1:]
    assert not is_signed_in(replay(app, tampered))
    other_key = app_beside(app, SECRET_KEY="another-key")
    try:
        forger = other_key.test_client()
        sign_in(forger, *EDITOR)
        assert not is_signed_in(replay(app, cookie_of(forger)))
    finally:
        dispose(other_key)


# --- cookie flags -----------------------------------------------------------------------------


def session_set_cookie(response: Any) -> str:
    found = [h for h in response.headers.getlist("Set-Cookie") if h.startswith("session=")]
    assert len(found) == 1, response.headers.getlist("Set-Cookie")
    return found[0]


@pytest.mark.parametrize("https", [False, True], ids=["http", "https"])
def test_session_cookie_flags(app: Flask, https: bool) -> None:
    add_account(app, *EDITOR, "editor")
    base_url = "https://localhost" if https else "http://localhost"
    client = app.test_client()
    response = client.post("/login", data={"username": EDITOR[0], "password": EDITOR[1]}, base_url=base_url)
    assert response.status_code == 303
    header = session_set_cookie(response)
    flags = [part.strip().lower() for part in header.split(";")[1:]]
    assert "httponly" in flags, header
    assert "samesite=lax" in flags, header
    assert ("secure" in flags) is https, header
    # Behind a TLS-terminating proxy the scheme arrives in the WSGI environ: the same rule holds.
    other = app.test_client()
    response = other.post(
        "/login",
        data={"username": EDITOR[0], "password": EDITOR[1]},
        environ_overrides={"wsgi.url_scheme": "https" if https else "http"},
    )
    assert ("secure" in session_set_cookie(response).lower().split("; ")) is https


def test_session_cookie_carries_no_password_or_hash(app: Flask, client: FlaskClient) -> None:
    """The cookie is signed, not encrypted: whoever holds it can read it, so it must hold nothing secret."""
    serializer = app.session_interface.get_signing_serializer(app)  # type: ignore[attr-defined]
    content = serializer.loads(cookie_of(client))
    text = json.dumps(content)
    assert EDITOR[1] not in text and "argon2" not in text and password_hash(app, "editor") not in text
    editor_id = rows(
        Path(app.config["ACCOUNTS_DATABASE"]), "SELECT id, session_version FROM users WHERE username = 'editor'"
    )[0]
    assert content["_user_id"] == f"{editor_id[0]}:{editor_id[1]}"  # the id and the session version only


# --- the secret key ---------------------------------------------------------------------------


def test_secret_key_is_generated_once_into_a_private_file_and_reused(
    engine: Engine, db_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("CLAIMTRACK_SECRET_KEY", raising=False)
    monkeypatch.delenv("FLASK_DEBUG", raising=False)
    config = {
        "TESTING": True,
        "DATABASE": str(db_path),
        "ACCOUNTS_DATABASE": str(db_path.parent / "auth.db"),
        "WTF_CSRF_ENABLED": False,
    }
    key_file = db_path.parent / "secret_key"
    assert not key_file.exists()
    old_umask = os.umask(0)  # even with a careless umask the file is the owner's alone
    try:
        first = create_app(dict(config))
    finally:
        os.umask(old_umask)
    try:
        assert key_file.exists()
        assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
        key = key_file.read_text().strip()
        assert first.config["SECRET_KEY"] == key and len(key) >= 32
        assert first.debug is False
        second = create_app(dict(config))
        assert second.config["SECRET_KEY"] == key
        # A session from one process is valid in another (workers share the key).
        add_account(first, *EDITOR, "editor")
        client = first.test_client()
        sign_in(client, *EDITOR)
        assert is_signed_in(replay(second, cookie_of(client)))
        dispose(second)
    finally:
        dispose(first)


def test_secret_key_from_the_environment_writes_no_file(
    engine: Engine, db_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CLAIMTRACK_SECRET_KEY", "from-the-environment-0123456789")
    app = create_app({"TESTING": True, "DATABASE": str(db_path), "ACCOUNTS_DATABASE": str(db_path.parent / "auth.db")})
    assert app.config["SECRET_KEY"] == "from-the-environment-0123456789"
    assert not (db_path.parent / "secret_key").exists()


def test_the_key_file_and_databases_are_never_committed() -> None:
    if not (PROJECT_ROOT / ".git").exists():
        pytest.skip("not a git checkout")
    for path in ("db/secret_key", "db/auth.db", "db/claimtrack.db"):
        result = subprocess.run(["git", "check-ignore", "-q", path], cwd=PROJECT_ROOT, check=False)
        assert result.returncode == 0, f"{path} is not ignored by git"


# --- passwords --------------------------------------------------------------------------------


def test_short_passwords_are_refused_on_the_admin_page(app: Flask, admin_client: FlaskClient) -> None:
    auth = Path(app.config["ACCOUNTS_DATABASE"])
    short = "x" * (MIN_PASSWORD - 1)
    response = admin_client.post("/admin/users", data={"username": "shorty", "password": short, "role": "editor"})
    assert response.status_code == 400
    assert f"at least {MIN_PASSWORD} characters" in response.get_data(as_text=True)
    assert rows(auth, "SELECT count(*) FROM users WHERE username = 'shorty'")[0][0] == 0
    exactly = "y" * MIN_PASSWORD
    assert (
        admin_client.post(
            "/admin/users", data={"username": "shorty", "password": exactly, "role": "editor"}
        ).status_code
        == 303
    )
    before = password_hash(app, "shorty")
    shorty_id = rows(auth, "SELECT id FROM users WHERE username = 'shorty'")[0][0]
    response = admin_client.post(f"/admin/users/{shorty_id}", data={"action": "password", "password": short})
    assert response.status_code == 400
    assert password_hash(app, "shorty") == before


def test_user_names_with_invisible_characters_are_refused_and_stored_in_nfc(
    app: Flask, admin_client: FlaskClient
) -> None:
    """A bidi override or zero-width character shows a history's "who" as another name than the one stored;
    a name typed with a combining accent is the same name as with the precomposed letter."""
    auth = Path(app.config["ACCOUNTS_DATABASE"])
    for name in ("x\u202ey", "ali\u200bce", "\u2066bob\u2069", "z\ufeff", "pr\ue000"):
        response = admin_client.post(
            "/admin/users", data={"username": name, "password": NEW_PASSWORD, "role": "editor"}
        )
        assert response.status_code == 400, name
        assert "visible characters" in response.get_data(as_text=True), name
    assert rows(auth, "SELECT count(*) FROM users WHERE username NOT GLOB '[a-z]*'")[0][0] == 0
    decomposed = "jose\u0301"
    response = admin_client.post(
        "/admin/users", data={"username": decomposed, "password": NEW_PASSWORD, "role": "editor"}
    )
    assert response.status_code == 303
    assert rows(auth, "SELECT username FROM users WHERE username LIKE 'jos%'") == [("jos\u00e9",)]
    # The same name typed precomposed is the same account, for a second account and for signing in.
    response = admin_client.post(
        "/admin/users", data={"username": "jos\u00e9", "password": NEW_PASSWORD, "role": "editor"}
    )
    assert response.status_code == 409
    other = app.test_client()
    sign_in(other, decomposed, NEW_PASSWORD)
    assert is_signed_in(other)


def test_short_new_password_is_refused_on_the_account_page(app: Flask, client: FlaskClient) -> None:
    before = password_hash(app, "editor")
    response = client.post("/account/password", data={"current_password": EDITOR[1], "password": "too-short"})
    assert response.status_code == 400
    assert f"at least {MIN_PASSWORD}" in response.get_data(as_text=True)
    assert password_hash(app, "editor") == before
    response = client.post("/account/password", data={"current_password": "not-my-password", "password": NEW_PASSWORD})
    assert response.status_code == 400
    assert password_hash(app, "editor") == before
    assert is_signed_in(client)


def test_short_passwords_are_refused_by_the_cli(app: Flask) -> None:
    result = run_cli(app, ["user", "add", "shorty", "--password-stdin"], input="eleven-char\n")
    assert result.exit_code == 1
    assert f"at least {MIN_PASSWORD} characters" in result.output
    assert "Traceback" not in result.output
    assert "shorty" not in run_cli(app, ["user", "list"]).output
    assert run_cli(app, ["user", "add", "shorty", "--password-stdin"], input="twelve-chars\n").exit_code == 0
    before = password_hash(app, "shorty")
    result = run_cli(app, ["user", "passwd", "shorty", "--password-stdin"], input="short\n")
    assert result.exit_code == 1 and f"at least {MIN_PASSWORD}" in result.output
    assert password_hash(app, "shorty") == before


def test_passwords_are_stored_as_argon2id_hashes_only(app: Flask, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(accounts, "_hasher", PRODUCTION_HASHER)  # the parameters the app really uses
    run_cli(app, ["user", "add", "hashed", "--password-stdin"], input="plain-text-password-xyz\n")
    stored = password_hash(app, "hashed")
    assert stored.startswith("$argon2id$"), stored
    params = dict(p.split("=") for p in stored.split("$")[3].split(","))
    # At least OWASP's minimum for argon2id: 19 MiB of memory and 2 passes.
    assert int(params["m"]) >= 19 * 1024 and int(params["t"]) >= 2, stored
    auth = Path(app.config["ACCOUNTS_DATABASE"])
    raw = b"".join(p.read_bytes() for p in auth.parent.glob(auth.name + "*"))
    assert b"plain-text-password-xyz" not in raw
    # Changing it keeps it a hash, and a different one (salted).
    run_cli(app, ["user", "passwd", "hashed", "--password-stdin"], input="plain-text-password-xyz\n")
    again = password_hash(app, "hashed")
    assert again.startswith("$argon2id$") and again != stored


def test_user_commands_with_password_from_stdin(app: Flask) -> None:
    result = run_cli(app, ["user", "add", "dana", "--role", "admin", "--password-stdin"], input="dana-password-1234\n")
    assert result.exit_code == 0, result.output
    assert "Added admin dana" in result.output
    result = run_cli(app, ["user", "add", "dana", "--password-stdin"], input="dana-password-1234\n")
    assert result.exit_code == 1 and "already a user named" in result.output
    result = run_cli(app, ["user", "add", "eve", "--password-stdin"], input="eve-password-12345\n")
    assert result.exit_code == 0 and "Added editor eve" in result.output
    result = run_cli(app, ["user", "add", "mallory", "--role", "root", "--password-stdin"], input="x" * 20 + "\n")
    assert result.exit_code == 2 and "root" in result.output
    listing = run_cli(app, ["user", "list"])
    assert listing.exit_code == 0
    assert listing.output.splitlines() == ["dana\tadmin\tactive", "eve\teditor\tactive"]
    assert run_cli(app, ["user", "passwd", "eve", "--password-stdin"], input="eve-new-password-99\n").exit_code == 0
    assert login_status(app.test_client(), "eve", "eve-new-password-99") == 303
    assert run_cli(app, ["user", "disable", "eve"]).exit_code == 0
    assert run_cli(app, ["user", "list"]).output.splitlines()[1] == "eve\teditor\tdisabled"
    result = run_cli(app, ["user", "passwd", "nobody", "--password-stdin"], input="whatever-password-1\n")
    assert result.exit_code == 1 and "nobody" in result.output and "Traceback" not in result.output
    result = run_cli(app, ["user", "disable", "nobody"])
    assert result.exit_code == 1 and "Traceback" not in result.output


def test_user_commands_with_password_from_the_prompt(app: Flask) -> None:
    result = run_cli(app, ["user", "add", "frank"], input="frank-password-123\nfrank-password-123\n")
    assert result.exit_code == 0, result.output
    assert "frank-password-123" not in result.output  # hidden input is not echoed
    assert login_status(app.test_client(), "frank", "frank-password-123") == 303
    # A mistyped confirmation writes nothing.
    result = run_cli(app, ["user", "add", "gina"], input="gina-password-1234\ngina-password-9999\n")
    assert result.exit_code != 0
    assert "do not match" in result.output
    assert "gina" not in run_cli(app, ["user", "list"]).output
    result = run_cli(app, ["user", "passwd", "frank"], input="frank-password-456\nfrank-password-456\n")
    assert result.exit_code == 0, result.output
    assert login_status(app.test_client(), "frank", "frank-password-456") == 303


def test_a_newcomer_creates_the_first_admin_and_signs_in(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The README's first steps, with every default: db/claimtrack.db, db/auth.db, a generated key."""
    monkeypatch.chdir(tmp_path)
    for name in [n for n in os.environ if n.startswith("CLAIMTRACK_")]:
        monkeypatch.delenv(name)
    readme = (PROJECT_ROOT / "README.md").read_text(encoding="utf-8")
    assert "claimtrack user add" in readme and "--role admin" in readme
    runner = CliRunner()
    assert "No users yet" in runner.invoke(cli, ["user", "list"]).output
    result = runner.invoke(
        cli, ["user", "add", "alice", "--role", "admin"], input="alice-password-123\nalice-password-123\n"
    )
    assert result.exit_code == 0, result.output
    assert (tmp_path / "db" / "auth.db").exists()
    assert runner.invoke(cli, ["init-db"]).exit_code == 0
    app = create_app({"TESTING": True})
    try:
        assert Path(app.config["ACCOUNTS_DATABASE"]) == Path("db/auth.db")
        page = app.test_client()
        login = page.get("/login").get_data(as_text=True)
        token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', login)
        assert token, "the login form has no CSRF token"
        response = page.post(
            "/login", data={"username": "alice", "password": "alice-password-123", "csrf_token": token.group(1)}
        )
        assert response.status_code == 303
        assert page.get("/admin/users").status_code == 200
        assert (tmp_path / "db" / "secret_key").exists()
    finally:
        dispose(app)


# --- rate limiting of failed logins -------------------------------------------------------------

CHILD = """
import sys
from claimtrack import create_app
app = create_app({"TESTING": True, "DATABASE": sys.argv[1], "ACCOUNTS_DATABASE": sys.argv[2],
                  "SECRET_KEY": "child", "WTF_CSRF_ENABLED": False})
client = app.test_client()
codes = [client.post("/login", data={"username": "editor", "password": "wrong-password-000"}).status_code
         for _ in range(int(sys.argv[3]))]
print(" ".join(map(str, codes)))
"""


def test_failed_logins_in_one_process_lock_out_another(app: Flask, tmp_path: Path) -> None:
    add_account(app, *EDITOR, "editor")
    env = {k: v for k, v in os.environ.items() if not k.startswith("CLAIMTRACK_")}
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            CHILD,
            app.config["DATABASE"],
            app.config["ACCOUNTS_DATABASE"],
            str(FAILURES_PER_ACCOUNT),
        ],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["401"] * FAILURES_PER_ACCOUNT
    # This process never saw those failures, yet refuses even the right password.
    response = app.test_client().post("/login", data={"username": EDITOR[0], "password": EDITOR[1]})
    assert response.status_code == 429
    assert "Too many failed sign-ins" in response.get_data(as_text=True)
    # So does a separately created app instance over the same accounts file.
    other = app_beside(app, SECRET_KEY="other")
    try:
        assert login_status(other.test_client(), *EDITOR) == 429
    finally:
        dispose(other)


def test_only_failures_count_and_the_limit_holds_until_the_window_passes(
    app: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    add_account(app, *EDITOR, "editor")
    client = app.test_client()
    for _ in range(FAILURES_PER_ACCOUNT - 1):
        assert login_status(client, EDITOR[0], "wrong-password-000") == 401
    for _ in range(FAILURES_PER_ACCOUNT + 1):  # successes are not counted
        assert login_status(client, *EDITOR) == 303
    assert login_status(client, EDITOR[0], "wrong-password-000") == 401  # the last allowed failure
    assert login_status(client, *EDITOR) == 429  # the right password no longer helps
    assert login_status(client, EDITOR[0], "wrong-password-000") == 429
    # Per account and address: the same account elsewhere, or another account here, is not locked.
    assert login_status(client, *EDITOR, address="10.0.0.7") == 303
    add_account(app, *ADMIN, "admin")
    assert login_status(client, *ADMIN) == 303
    # Once the window has passed, the right password works again.
    real_time = time.time
    monkeypatch.setattr(accounts, "time", types.SimpleNamespace(time=lambda: real_time() + FAILURE_WINDOW_S + 5))
    assert login_status(client, *EDITOR) == 303


def test_unknown_usernames_fail_alike_and_count_per_address(app: Flask, monkeypatch: pytest.MonkeyPatch) -> None:
    add_account(app, *EDITOR, "editor")
    monkeypatch.setattr(accounts, "FAILURES_PER_ADDRESS", 3)
    client = app.test_client()
    unknown = client.post("/login", data={"username": "nobody-here", "password": "whatever-password"})
    wrong = client.post("/login", data={"username": EDITOR[0], "password": "whatever-password"})
    assert unknown.status_code == wrong.status_code == 401
    message = "Wrong username or password"
    assert message in unknown.get_data(as_text=True) and message in wrong.get_data(as_text=True)
    # A sign-in saves nothing: its refusal says what did not happen instead.
    assert "You are not signed in." in wrong.get_data(as_text=True)
    assert "Nothing was saved" not in wrong.get_data(as_text=True)
    assert login_status(client, "someone-else", "whatever-password") == 401
    # Three failures from this address, for three names: the address is now refused for everyone.
    assert login_status(client, *EDITOR) == 429
    assert login_status(client, *EDITOR, address="192.0.2.1") == 303


def test_wrong_current_password_on_the_account_page_is_rate_limited(app: Flask, client: FlaskClient) -> None:
    for _ in range(FAILURES_PER_ACCOUNT):
        response = client.post(
            "/account/password", data={"current_password": "guess-guess-guess", "password": NEW_PASSWORD}
        )
        assert response.status_code == 400
    response = client.post("/account/password", data={"current_password": EDITOR[1], "password": NEW_PASSWORD})
    assert response.status_code == 429
    assert login_status(app.test_client(), *EDITOR) == 429  # the old password still stands, but is locked


# --- CSRF on every POST route ---------------------------------------------------------------------

POST_RULES = [rule for rule, route in ROUTES.items() if "POST" in route.methods]


@pytest.mark.parametrize("token", ["missing", "forged", "other-session", "empty"])
@pytest.mark.parametrize("rule", POST_RULES)
def test_post_without_a_valid_csrf_token_is_refused(
    shared_app: Flask, world: World, who: dict[str, Identity], rule: str, token: str
) -> None:
    assert set(POST_RULES) == {r.rule for r in shared_app.url_map.iter_rules() if "POST" in (r.methods or ())}
    path = path_of(rule, world.ids)
    data = ROUTES[rule].form(world.ids, "admin")  # type: ignore[misc]
    if token != "missing":
        data["csrf_token"] = {
            "forged": who["admin"].token[:-4] + "AAAA",
            "other-session": who["editor"].token,
            "empty": "",
        }[token]
    before = snapshot(world)
    response = client_as(shared_app, who["admin"]).post(path, data=data)
    body = response.get_data(as_text=True)
    assert response.status_code == 400, (path, response.status_code)
    assert "security token" in body and "nothing was saved" in body
    assert snapshot(world) == before
    assert is_signed_in(client_as(shared_app, who["admin"]))  # the refused logout did not sign anyone out


def test_csrf_token_in_a_header_is_checked_too(shared_app: Flask, world: World, who: dict[str, Identity]) -> None:
    before = snapshot(world)
    client = client_as(shared_app, who["editor"])
    response = client.post("/events/new", data={"name": "Header token"}, headers={"X-CSRFToken": "forged"})
    assert response.status_code == 400
    assert snapshot(world) == before


# --- security headers ---------------------------------------------------------------------------

APP_URLS = [
    "/",
    "/claims?q=aleppo",
    "/claims/{claim}",
    "/claims/new",
    "/login",
    "/speakers",
    "/events",
    "/sources/{source}",
    "/static/style.css",
    "/no/such/page",
    "/claims/999999",
]
DATASETTE_URLS = [
    "/data/",
    "/data/claimtrack",
    "/data/claimtrack/claims",
    "/data/claimtrack/claims/{claim}",
    "/data/claimtrack/claims.json",
    "/data/claimtrack/claims.csv",
    "/data/claimtrack/claim_links_readable",
    "/data/claimtrack?sql=select+1",
    "/data/-/search?q=aleppo",
    "/data/-/static/app.css",
    "/data/no-such-database",
    "/data/claimtrack/change_history",
]
REFERRER_POLICIES = {"no-referrer", "same-origin", "strict-origin", "strict-origin-when-cross-origin"}


def check_common_headers(url: str, response: httpx.Response) -> dict[str, list[str]]:
    headers = response.headers
    assert headers.get("x-content-type-options") == "nosniff", url
    assert headers.get("referrer-policy") in REFERRER_POLICIES, url
    csp = headers.get("content-security-policy")
    assert csp, f"{url}: no Content-Security-Policy"
    directives = csp_directives(csp)
    assert headers.get("x-frame-options") == "DENY" or directives.get("frame-ancestors") == ["'none'"], url
    assert directives.get("frame-ancestors") == ["'none'"], url
    assert directives.get("object-src") == ["'none'"], url
    assert directives.get("base-uri") == ["'self'"], url
    assert directives.get("form-action") == ["'self'"], url
    assert "'self'" in directives.get("default-src", []), url
    for name, sources in directives.items():
        assert "*" not in sources and "data:" not in (sources if name != "img-src" else []), (url, name, sources)
    return directives


def test_security_headers_on_the_app(asgi: Any, world: World, who: dict[str, Identity]) -> None:
    urls = [u.format(**world.ids) for u in APP_URLS]
    responses = asgi_get_all(asgi, urls)
    for url, response in responses.items():
        assert response.status_code < 500, url
        directives = check_common_headers(url, response)
        script_src = directives.get("script-src", directives["default-src"])
        assert script_src == ["'self'"], (url, script_src)  # no inline script, no eval, no hashes
        assert "'unsafe-inline'" not in directives.get("style-src", []), url


def test_security_headers_on_redirects_errors_and_posts(asgi: Any) -> None:
    async def work(client: httpx.AsyncClient) -> list[tuple[str, int, httpx.Response]]:
        return [
            ("anonymous GET of a form", 302, await client.get("/claims/new")),
            ("POST without token", 400, await client.post("/claims/new", data={"text": "x", "speaker": "y"})),
            ("POST to a GET-only page", 405, await client.post("/claims", data={})),
            ("/data redirect", 302, await client.get("/data")),
        ]

    for name, status, response in run_async(asgi, work):
        assert response.status_code == status, (name, response.status_code)
        check_common_headers(name, response)


def test_security_headers_on_datasette(asgi: Any, world: World) -> None:
    responses = asgi_get_all(asgi, [u.format(**world.ids) for u in DATASETTE_URLS])
    for url, response in responses.items():
        assert response.status_code < 500, url
        directives = check_common_headers(url, response)
        script_src = directives["script-src"]
        assert "'self'" in script_src, url
        assert "'unsafe-inline'" not in script_src and "'unsafe-eval'" not in script_src, (url, script_src)
        hashes = [s for s in script_src if s.startswith("'sha256-")]
        assert hashes, f"{url}: no script hashes"
        assert all(s == "'self'" or s.startswith("'sha256-") for s in script_src), script_src


def sha256_source(body: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(body.encode("utf-8")).digest()).decode() + "'"


def datasette_html_pages(world: World) -> list[str]:
    canned = load_metadata(METADATA_PATH)["databases"]["claimtrack"].get("queries", {})
    return [
        "/data/",
        "/data/claimtrack",
        "/data/claimtrack?sql=select+id,+text+from+claims+limit+3",
        "/data/claimtrack/claims",
        "/data/claimtrack/claims?_facet=verdict&_sort_desc=stated_on",
        f"/data/claimtrack/claims/{world.ids['claim']}",
        "/data/claimtrack/speakers",
        "/data/claimtrack/claim_links",
        "/data/claimtrack/claim_links_readable",
        "/data/claimtrack/change_history",
        "/data/-/search?q=evacuation",
        "/data/claimtrack/claims?_search=evacuation",
        "/data/no-such-database",
        "/data/-/metadata",
        *[f"/data/claimtrack/{name}" for name in canned],
    ]


def test_every_inline_script_datasette_serves_is_allowed_by_its_hash(asgi: Any, world: World) -> None:
    """Outside the dashboards, an inline script whose hash is missing would be blocked: a broken feature."""
    problems = []
    seen = 0
    for url, response in asgi_get_all(asgi, datasette_html_pages(world)).items():
        assert response.status_code in (200, 404), (url, response.status_code)
        allowed = set(csp_directives(response.headers["content-security-policy"])["script-src"])
        for body in iter_inline_scripts(response.text):
            seen += 1
            if sha256_source(body) not in allowed:
                problems.append(f"{url}: inline script {body.strip()[:80]!r} is not allowed ({sha256_source(body)})")
        for handler in re.findall(r"<[a-z][^>]*\s(on[a-z]+)\s*=", response.text, re.IGNORECASE):
            problems.append(f"{url}: inline event handler {handler} (a hash does not allow it)")
    assert seen, "expected Datasette's pages to carry inline scripts"
    assert not problems, "\n".join(problems)


def test_dashboards_have_their_own_looser_policy_only_there(asgi: Any) -> None:
    responses = asgi_get_all(asgi, ["/data/-/dashboards", "/data/-/dashboards/claims", "/data/claimtrack"])
    for url in ("/data/-/dashboards", "/data/-/dashboards/claims"):
        response = responses[url]
        assert response.status_code == 200, url
        directives = check_common_headers(url, response)
        assert "'unsafe-eval'" in directives["script-src"]  # Vega compiles expressions at run time
    strict = csp_directives(responses["/data/claimtrack"].headers["content-security-policy"])
    assert "'unsafe-eval'" not in strict["script-src"]


class _PageProblems(HTMLParser):
    """Inline scripts, inline event handlers, inline styles and javascript: URLs in a page."""

    def __init__(self) -> None:
        super().__init__()
        self.problems: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        # A script file served by the app itself (script-src 'self') is allowed; inline code is not. A JSON-LD
        # data block (the claim's ClaimReview) is data the browser never runs, outside the CSP's reach.
        is_data_block = dict(attrs).get("type") == "application/ld+json" and not dict(attrs).get("src")
        if tag == "script" and not is_data_block and not (dict(attrs).get("src") or "").startswith("/static/"):
            self.problems.append(f"<script {attrs}>")
        if tag == "style":
            self.problems.append("<style> element (style-src 'self' blocks it)")
        for name, value in attrs:
            if value == "None":
                self.problems.append(f'<{tag} {name}="None"> (a Python None rendered into the page)')
            if name.startswith("on"):
                self.problems.append(f"<{tag} {name}=...>")
            if name == "style":
                self.problems.append(f"<{tag} style=...> (style-src 'self' blocks it)")
            if (
                name in ("href", "src", "action", "formaction")
                and value
                and re.sub(r"[\s\x00-\x1f]", "", value).lower().startswith(("javascript:", "data:", "vbscript:"))
            ):
                self.problems.append(f"<{tag} {name}={value!r}>")


def test_app_pages_carry_no_inline_script_handler_or_style(
    shared_app: Flask, world: World, who: dict[str, Identity]
) -> None:
    problems = []
    pages = [
        path_of(rule, world.ids) for rule, route in ROUTES.items() if "GET" in route.methods and "static" not in rule
    ]
    pages += ["/no/such/page", "/claims/999999", "/claims?speaker=abc", "/links/999999/edit"]
    checked = 0
    for role in ("anonymous", "editor", "admin"):
        client = client_as(shared_app, who[role])
        for path in pages:
            response = client.get(path)
            if response.status_code in (302, 403):
                continue
            checked += 1
            parser = _PageProblems()
            parser.feed(response.get_data(as_text=True))
            problems += [f"{role} {path}: {p}" for p in parser.problems]
    # Re-rendered forms with errors and the CSRF error page too.
    client = client_as(shared_app, who["admin"])
    for path, data in (
        ("/claims/new", {"text": "", "csrf_token": who["admin"].token}),
        ("/claims/new", {"text": "no token"}),
        ("/admin/users", {"username": "", "csrf_token": who["admin"].token}),
        ("/login", {"username": "x", "password": "y", "csrf_token": who["admin"].token}),
    ):
        response = client.post(path, data=data, environ_overrides={"REMOTE_ADDR": "198.51.100.9"})
        assert response.status_code in (400, 401), (path, response.status_code)
        parser = _PageProblems()
        parser.feed(response.get_data(as_text=True))
        problems += [f"POST {path}: {p}" for p in parser.problems]
    assert checked > 40
    assert not problems, "\n".join(sorted(set(problems)))


# --- Datasette never reaches the accounts ---------------------------------------------------------


def forbidden_strings(world: World) -> list[str]:
    hashes = [r[0] for r in rows(world.auth, "SELECT password_hash FROM users")]
    return ["$argon2", "password_hash", "login_failures", "session_version", "auth.db", str(world.auth), *hashes]


def sql_url(sql: str, fmt: str = ".json") -> str:
    return f"/data/claimtrack{fmt}?sql={quote(sql)}"


def test_datasette_has_only_the_claims_database(world: World) -> None:
    ds = make_datasette(world.db, METADATA_PATH)
    paths = {name: db.path for name, db in ds.databases.items()}
    assert set(paths) - {"_internal"} == {"claimtrack"}
    assert all(path is None or Path(path).resolve() != world.auth.resolve() for path in paths.values()), paths


def test_no_url_or_sql_reaches_the_accounts(asgi: Any, world: World) -> None:
    auth = str(world.auth)
    probes = [
        "/data/auth",
        "/data/auth.json",
        "/data/auth/users",
        "/data/auth/users.json",
        "/data/auth.db",
        "/data/auth/login_failures.json",
        "/data/claimtrack/users",
        "/data/claimtrack/users.json",
        "/data/claimtrack/login_failures.json",
        "/data/-/databases.json",
        "/data/.json",
        "/data/-/metadata.json",
        "/data/-/settings.json",
        "/data/-/plugins.json",
        "/data/-/versions.json",
        "/data/-/threads.json",
        "/data/-/actor.json",
        "/data/-/permissions",
        "/data/-/allow-debug",
        "/data/-/config.json",
        "/data/_internal",
        "/data/_internal.json",
        "/data/_internal/databases.json",
        "/data/_internal.json?sql=" + quote("select * from databases"),
        "/data/claimtrack/claims.json?_where=" + quote("id in (select id from users)"),
        "/data/claimtrack/claims.json?_search=argon2",
        "/data/-/search?q=argon2",
        "/data/-/search?q=password_hash",
        "/data/" + quote(auth),
        "/data/claimtrack/" + quote("../auth"),
    ]
    sqls = [
        "select * from users",
        "select * from auth.users",
        "select * from main.users",
        f"attach database '{auth}' as a",
        f"attach '{auth}' as a; select * from a.users",
        "select * from pragma_database_list",
        "select name, sql from sqlite_master",
        "select * from sqlite_temp_master",
        "select * from sqlite_schema",
        "select * from pragma_table_info('users')",
        "select load_extension('x')",
        f"select readfile('{auth}')",
        "with t as (select 1) select * from users",
        "select * from claims_fts where claims_fts match 'argon2'",
        "select * from claims; attach database 'x' as y",
        "pragma database_list",
        "select * from pragma_table_list",
        "select * from pragma_database_list where file like '%auth%'",
        "vacuum into '/tmp/leak.db'",
    ]
    probes += [sql_url(s) for s in sqls] + [sql_url(s, "") for s in sqls[:5]] + [sql_url(s, ".csv") for s in sqls[:5]]
    forbidden = forbidden_strings(world)
    responses = asgi_get_all(asgi, probes)
    problems = []
    for url, response in responses.items():
        if response.status_code >= 500:
            problems.append(f"{url}: {response.status_code}")
        probe = unquote(url)
        for secret in forbidden:
            if secret not in probe and secret in response.text:
                problems.append(f"{url}: reveals {secret[:30]!r}")
    assert not problems, "\n".join(problems)
    for url in probes[:5]:
        assert responses[url].status_code == 404, url
    # Datasette's list of databases (it shows the file's path) is hidden from everyone.
    assert responses["/data/-/databases.json"].status_code == 404
    assert responses[sql_url("select * from users")].status_code == 400
    assert "no such table" in responses[sql_url("select * from users")].json()["error"]
    assert responses[sql_url(f"attach database '{auth}' as a")].status_code == 400
    # PRAGMA database_list (the file's path, and any attached database) is refused in public SQL.
    assert responses[sql_url("select * from pragma_database_list")].status_code == 400
    names = {row[0] for row in responses[sql_url("select name, sql from sqlite_master")].json()["rows"]}
    assert names and not names & {"users", "login_failures"}
    assert not Path("/tmp/leak.db").exists()


def test_no_published_table_or_view_holds_account_secrets(asgi: Any, world: World) -> None:
    database = asgi_get_all(asgi, ["/data/claimtrack.json"])["/data/claimtrack.json"].json()
    names = [t["name"] for t in database["tables"]] + [v["name"] for v in database["views"]]
    assert "users" not in names and "change_history" in names
    forbidden = forbidden_strings(world)
    urls = [f"/data/claimtrack/{name}.json?_size=max&_shape=array" for name in names]
    for url, response in asgi_get_all(asgi, urls).items():
        assert response.status_code == 200, url
        for secret in forbidden:
            assert secret not in response.text, f"{url} reveals {secret[:30]!r}"
    history_columns = {c[1] for c in rows(world.db, "PRAGMA table_info(change_history)")}
    assert not {c for c in history_columns if re.search("password|hash|session|secret|token|email", c)}


# --- Datasette stays read-only and cannot stall the app -----------------------------------------


def test_no_canned_query_writes() -> None:
    metadata = json.loads(METADATA_PATH.read_text(encoding="utf-8"))
    for db in metadata.get("databases", {}).values():
        for name, canned in db.get("queries", {}).items():
            assert not canned.get("write"), f"canned query {name} writes"
            assert not re.match(
                r"\s*(insert|update|delete|replace|create|drop|alter|attach|pragma)", canned["sql"], re.IGNORECASE
            )
    # No allow_sql block: read-only SQL is open to everyone (test_sql_that_writes_is_refused shows it cannot write).
    assert "allow_sql" not in metadata


WRITES = [
    "insert into events (name, created_at, updated_at) values ('Injected', 'x', 'x')",
    "update claims set text = 'defaced'",
    "delete from claims",
    "delete from change_history",
    "replace into events (id, name, created_at, updated_at) values (1, 'x', 'x', 'x')",
    "drop table claims",
    "create table evil (x)",
    "alter table claims add column evil",
    "pragma journal_mode = delete",
    "vacuum",
    "with t as (select 1) delete from claims",
    "select 1; delete from claims",
    "/* select */ delete from claims",
    "select * from claims where id in (delete from claims returning id)",
    "begin; delete from claims; commit",
]


def test_sql_that_writes_is_refused(asgi: Any, world: World) -> None:
    before = snapshot(world)
    urls = [sql_url(s) for s in WRITES] + [sql_url(s, ".csv") for s in WRITES[:3]]
    for url, response in asgi_get_all(asgi, urls).items():
        assert response.status_code in (400, 403), (url, response.status_code)

    async def posts(client: httpx.AsyncClient) -> list[httpx.Response]:
        canned = load_metadata(METADATA_PATH)["databases"]["claimtrack"].get("queries", {})
        found = [await client.post(f"/data/claimtrack/{name}", data={"sql": WRITES[1]}) for name in canned]
        found.append(await client.post("/data/claimtrack", data={"sql": WRITES[2]}))
        found.append(await client.post("/data/claimtrack/claims", data={"text": "posted"}))
        found.append(await client.request("PUT", "/data/claimtrack/claims/1", json={"text": "put"}))
        found.append(await client.request("DELETE", "/data/claimtrack/claims/1"))
        found.append(await client.post("/data/claimtrack/claims/-/insert", json={"row": {"text": "x"}}))
        found.append(await client.post("/data/claimtrack/-/create", json={"table": "evil", "row": {"x": 1}}))
        found.append(await client.post("/data/claimtrack/claims/1/-/delete", json={}))
        found.append(await client.post("/data/claimtrack/claims/-/drop", json={}))
        return found

    for response in run_async(asgi, posts):
        # Datasette is published read-only: anything but GET and HEAD is refused before it gets there.
        assert response.status_code == 405, (response.request.url, response.status_code)
        check_common_headers(str(response.request.url), response)
    assert snapshot(world) == before


def test_datasette_limits_are_set(asgi: Any) -> None:
    assert 0 < SETTINGS["sql_time_limit_ms"] <= 5000
    assert 0 < SETTINGS["max_returned_rows"] <= 10_000
    served = asgi_get_all(asgi, ["/data/-/settings.json"])["/data/-/settings.json"].json()
    assert served["sql_time_limit_ms"] == SETTINGS["sql_time_limit_ms"]
    assert served["max_returned_rows"] == SETTINGS["max_returned_rows"]
    assert served["allow_download"] is False  # the database file itself is not downloadable
    huge = "with recursive n(x) as (select 1 union all select x + 1 from n where x < 200000) select x from n"
    response = asgi_get_all(asgi, [sql_url(huge)])[sql_url(huge)]
    assert response.status_code == 200
    assert len(response.json()["rows"]) == SETTINGS["max_returned_rows"] and response.json()["truncated"] is True
    assert asgi_get_all(asgi, ["/data/claimtrack.db"])["/data/claimtrack.db"].status_code in (403, 404)


SQL_THREADS = 3  # Datasette's default num_sql_threads
SLOW = "with recursive c(x) as (select 1 union all select x + 1 from c where x < 1000000000) select count(*) from c"


def test_a_slow_query_is_cut_off_while_the_app_keeps_answering(asgi: Any) -> None:
    limit = SETTINGS["sql_time_limit_ms"] / 1000

    async def timed(client: httpx.AsyncClient, url: str, delay: float = 0.0) -> tuple[httpx.Response, float, float]:
        await asyncio.sleep(delay)
        start = time.monotonic()
        response = await client.get(url)
        return response, start, time.monotonic()

    async def work(client: httpx.AsyncClient) -> list[tuple[httpx.Response, float, float]]:
        # As many slow queries as Datasette has query threads: all of them busy.
        slow = [timed(client, sql_url(SLOW) + f"&n={i}") for i in range(SQL_THREADS)]
        app_pages = [timed(client, url, 0.3 + i * 0.2) for i, url in enumerate(["/", "/claims?q=aleppo", "/speakers"])]
        return list(await asyncio.gather(*slow, *app_pages))

    results = run_async(asgi, work)
    slow, app_pages = results[:SQL_THREADS], results[SQL_THREADS:]
    for response, start, end in slow:
        assert response.status_code == 400, response.text[:300]
        assert "took too long" in response.json()["error"]
        assert end - start < limit + 2, end - start  # cut off at the limit, not left to run
    first_cut_off = min(end for _, _, end in slow)
    for response, start, end in app_pages:
        assert response.status_code == 200
        # Answered while every Datasette thread was still busy with a slow query.
        assert end < first_cut_off, f"the app took {end - start:.1f}s to answer while Datasette ran slow queries"

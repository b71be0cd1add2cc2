"""`claimtrack serve` as a real process on a free port, over a fresh database in a temporary folder.

Test modules import ``live_server`` (a module-scoped fixture): each module gets its own server and
database, so one module's writes never leak into another's expectations.
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from helpers import ADMIN, EDITOR, add_account

from claimtrack import create_app

STARTUP_TIMEOUT = 30.0  # seconds: migrations + seeding + uvicorn start
STOP_TIMEOUT = 10.0
PORT_ATTEMPTS = 3


@dataclass(frozen=True)
class LiveServer:
    url: str  # http://127.0.0.1:<port>, no trailing slash
    db_path: Path
    log_path: Path
    editor: tuple[str, str] = EDITOR
    admin: tuple[str, str] = ADMIN
    pid: int | None = None  # the serving process, for tests that watch its memory

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")


def claimtrack_command() -> list[str]:
    """The installed console script when it sits next to this interpreter, else the module."""
    script = Path(sys.executable).with_name("claimtrack")
    if script.exists():
        return [str(script)]
    return [sys.executable, "-m", "claimtrack.cli"]


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def stop(proc: subprocess.Popen[bytes]) -> None:
    """Terminate (SIGTERM: uvicorn shuts down cleanly), kill if it hangs, and always reap it."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            proc.kill()
    proc.wait()


def wait_until_up(proc: subprocess.Popen[bytes], url: str, deadline: float, log_path: Path | None = None) -> bool:
    """True once the server answers; False if the process died first or on timeout.

    With ``log_path``, only once uvicorn has logged that it listens on ``url``: with tests in parallel
    workers, another worker's server may already hold the port this one lost the race for, and its answer
    must not be taken for this server's."""
    listening = f"running on {url}".encode()
    with httpx.Client(timeout=2.0) as client:
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                return False
            if log_path is not None and listening not in log_path.read_bytes():
                time.sleep(0.1)
                continue
            try:
                if client.get(url + "/").status_code == 200:
                    return True
            except httpx.TransportError:
                pass
            time.sleep(0.2)
    return False


def add_accounts(db_path: Path, auth_path: Path) -> None:
    """The editor and the admin, written in-process: two ``claimtrack user add`` processes cost seconds of
    interpreter start-up and production-strength hashing per server (test_durability still runs that
    command). The hashes are argon2id with whatever parameters this process uses (cheap in the tests); the
    server checks a password with the parameters stored in its hash."""
    app = create_app(
        {"TESTING": True, "DATABASE": str(db_path), "ACCOUNTS_DATABASE": str(auth_path), "SECRET_KEY": "accounts-only"}
    )
    try:
        for (username, password), role in ((EDITOR, "editor"), (ADMIN, "admin")):
            add_account(app, username, password, role)
    finally:
        engine = app.extensions.get("claimtrack.accounts_engine")
        if engine is not None:
            engine.dispose()


def start_server(workdir: Path) -> tuple[subprocess.Popen[bytes], LiveServer]:
    db_path = workdir / "db" / "claimtrack.db"
    db_path.parent.mkdir(parents=True, exist_ok=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith("CLAIMTRACK_")}
    env["CLAIMTRACK_DB"] = str(db_path)
    env["CLAIMTRACK_AUTH_DB"] = str(db_path.parent / "auth.db")
    env["PYTHONUNBUFFERED"] = "1"
    add_accounts(db_path, db_path.parent / "auth.db")
    last_log = ""
    for attempt in range(PORT_ATTEMPTS):
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        log_path = workdir / f"server-{attempt}.log"
        with log_path.open("wb") as log:
            # Output goes to a file, not a pipe: nothing to drain, nothing left open.
            proc = subprocess.Popen(
                [*claimtrack_command(), "serve", "--host", "127.0.0.1", "--port", str(port)],
                cwd=workdir,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        up = wait_until_up(proc, url, time.monotonic() + STARTUP_TIMEOUT, log_path)
        if up:
            return proc, LiveServer(url=url, db_path=db_path, log_path=log_path, pid=proc.pid)
        still_running = proc.poll() is None
        stop(proc)
        last_log = log_path.read_text(errors="replace")
        if still_running:
            pytest.fail(f"claimtrack serve did not answer within {STARTUP_TIMEOUT:.0f}s:\n{last_log}")
        if "address already in use" not in last_log.lower():
            break  # a real failure, not a lost race for the port
    pytest.fail(f"claimtrack serve exited before answering:\n{last_log}")


@pytest.fixture(scope="module")
def live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    workdir = tmp_path_factory.mktemp("live-server")
    proc, server = start_server(workdir)
    try:
        yield server
    finally:
        stop(proc)
        if proc.returncode not in (0, -15):  # clean exit, or SIGTERM before uvicorn's handler
            print(f"claimtrack serve exited with {proc.returncode}:\n{server.log()}", file=sys.stderr)


def sign_in_http(client: httpx.Client, credentials: tuple[str, str]) -> None:
    """Sign an httpx client in through the real login form (CSRF token included)."""
    page = client.get("/login")
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page.text)
    assert token, "no CSRF token on the login form"
    response = client.post(
        "/login", data={"username": credentials[0], "password": credentials[1], "csrf_token": token.group(1)}
    )
    assert response.status_code == 303, (
        response.status_code,
        re.findall(r'class="error[^"]*"[^>]*>([^<]+)<', response.text),
    )

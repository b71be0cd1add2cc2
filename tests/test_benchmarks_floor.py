"""The floor app of the write-load figure (benchmarks/floor.py): its stack floor does the signed-in form POST's
required work and refuses what the app refuses, so its figure is a floor of the same work."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path

import pytest
from flask.testing import FlaskClient

from benchmarks import floor


@pytest.fixture
def client(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[FlaskClient]:
    writes, accounts = tmp_path / "writes.db", tmp_path / "accounts.db"
    floor.prepare_write_db(str(writes))
    floor.prepare_accounts_db(str(accounts))
    monkeypatch.setenv("FLOOR_WRITE_DB", str(writes))
    monkeypatch.setenv("FLOOR_ACCOUNTS_DB", str(accounts))
    monkeypatch.setattr(floor, "_local", floor.threading.local())  # connections to this test's files
    yield floor.flask_app.test_client()


def _rows(client: FlaskClient) -> int:
    path = floor._conn("FLOOR_WRITE_DB", read_only=False).execute("PRAGMA database_list").fetchone()[2]
    with closing(sqlite3.connect(path)) as conn:
        return int(conn.execute("SELECT count(*) FROM rows").fetchone()[0])


def test_the_stack_floor_writes_a_signed_in_form_post_and_redirects(client: FlaskClient) -> None:
    token = client.get("/stack/sign-in").get_data(as_text=True)
    for i in range(7):
        response = client.post("/stack/new", data={"text": f"Statement {i}", "speaker": "Someone", "csrf_token": token})
        assert response.status_code == 303
    assert _rows(client) == 7
    with client.session_transaction() as session:
        assert len(session["_flashes"]) == floor.MAX_PENDING_MESSAGES


def test_the_stack_floor_refuses_what_the_app_refuses(client: FlaskClient) -> None:
    data = {"text": "A statement", "speaker": "Someone"}
    assert client.post("/stack/new", data=data).status_code == 400  # no CSRF token: refused before anything else
    token = client.get("/stack/sign-in").get_data(as_text=True)
    assert client.post("/stack/new", data=data).status_code == 400
    assert client.post("/stack/new", data={"speaker": "Someone", "csrf_token": token}).status_code == 400
    assert client.post("/stack/new", data={**data, "relation": "x", "csrf_token": token}).status_code == 400
    assert _rows(client) == 0
    # The account is loaded on every request: once disabled, the same session is refused.
    accounts = floor._conn("FLOOR_ACCOUNTS_DB", read_only=True).execute("PRAGMA database_list").fetchone()[2]
    with closing(sqlite3.connect(accounts)) as conn, conn:
        conn.execute("UPDATE accounts SET disabled = 1")
    assert client.post("/stack/new", data={**data, "csrf_token": token}).status_code == 401
    # The bare floor's insert needs none of it.
    assert client.post("/insert").status_code == 201
    assert _rows(client) == 1

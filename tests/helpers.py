"""Helpers shared by the test modules: reading the database files directly, page text, accounts and sign-in.

Importable from any test module (``from helpers import query, snapshot``); conftest.py re-exports the
account helpers for modules that import them from there.
"""

from __future__ import annotations

import html
import re
import sqlite3
from collections.abc import Iterator
from contextlib import closing, contextmanager
from pathlib import Path
from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import Engine, event

from claimtrack import create_app
from claimtrack.config import PROJECT_ROOT
from claimtrack.services import accounts
from claimtrack.web.database import accounts_session

SEED_FILE = PROJECT_ROOT / "seeds" / "aleppo-evacuation-2016-12.toml"
# The folder beside the project that holds material it was built from (the seed report, sample data
# sets). A clone outside that layout has none of it: tests that need it skip.
SHARED = PROJECT_ROOT.parent / "shared"

# The records themselves; and every table of the claims database that a write through the app, the CLI or the services can touch,
# the history included: "nothing was written" must mean nothing, not even a history row.
RECORD_TABLES = ("claims", "speakers", "sources", "events", "claim_links", "claim_sources")
# aliases and merged_entities: written by a merge of speakers, sources or events.
TABLES = (*RECORD_TABLES, "change_history", "aliases", "merged_entities")

EDITOR = ("editor", "editor-password-123")
ADMIN = ("admin", "admin-password-1234")


# --- reading a database file directly -------------------------------------------------------------


@contextmanager
def connect(db_path: Path) -> Iterator[sqlite3.Connection]:
    """A plain sqlite3 connection (rows by index or by name), closed on exit."""
    with closing(sqlite3.connect(db_path)) as conn:
        conn.row_factory = sqlite3.Row
        yield conn


def query(db_path: Path, sql: str, *params: Any) -> list[sqlite3.Row]:
    with connect(db_path) as conn:
        return conn.execute(sql, params).fetchall()


def snapshot(db_path: Path, tables: tuple[str, ...] = TABLES) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table, read in one transaction: two equal snapshots mean nothing was written."""
    with connect(db_path) as conn:
        conn.execute("BEGIN")
        found = {t: [tuple(r) for r in conn.execute(f"SELECT * FROM {t} ORDER BY rowid")] for t in tables}
        conn.execute("COMMIT")
        return found


def row_counts(db_path: Path, tables: tuple[str, ...] = TABLES) -> dict[str, int]:
    with connect(db_path) as conn:
        return {t: conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in tables}


# --- pages ----------------------------------------------------------------------------------------


def text_of(fragment: str, tags_as: str = " ") -> str:
    """Visible text: tags become ``tags_as`` (a space: block elements stay apart), entities are decoded,
    whitespace is collapsed."""
    return " ".join(html.unescape(re.sub(r"<[^>]+>", tags_as, fragment)).split())


def csrf_token(html_text: str) -> str:
    match = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', html_text) or re.search(
        r'name="csrf_token" value="([^"]+)"', html_text
    )
    assert match, "no CSRF token in the form"
    return match.group(1)


# --- accounts -------------------------------------------------------------------------------------


def add_account(app: Flask, username: str, password: str, role: str) -> None:
    with app.app_context(), accounts_session(write=True) as session:
        accounts.create_account(session, username, password, role)


def app_beside(app: Flask, **config: Any) -> Flask:
    """Another app instance over the same two database files, as another process would be (CSRF off unless
    ``config`` turns it on)."""
    return create_app(
        {
            "TESTING": True,
            "DATABASE": app.config["DATABASE"],
            "ACCOUNTS_DATABASE": app.config["ACCOUNTS_DATABASE"],
            "WTF_CSRF_ENABLED": False,
            **config,
        }
    )


def sign_in(client: FlaskClient, username: str, password: str) -> None:
    page = client.get("/login")
    data = {"username": username, "password": password}
    if client.application.config.get("WTF_CSRF_ENABLED", True):
        data["csrf_token"] = csrf_token(page.get_data(as_text=True))
    response = client.post("/login", data=data)
    assert response.status_code == 303, f"sign-in as {username} failed: {response.status_code}"


# --- statements an engine sends -------------------------------------------------------------------


@contextmanager
def statements_sent(engine: Engine) -> Iterator[list[str]]:
    """Every SQL statement the engine sends to SQLite while the block runs (BEGIN and COMMIT included)."""
    seen: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        seen.append(statement)

    event.listen(engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", record)


# --- search input a visitor may type ---------------------------------------------------------------

# Full-text query syntax and other input a search box must answer without an error page: quotes, operators,
# column filters, a NUL, markup, a very long word. Modules add what is particular to their search.
FTS_SYNTAX = [
    '"',
    '""',
    "'",
    "*",
    "NEAR(",
    'NEAR("a" "b", 2)',
    "a OR b",
    "AND",
    "-",
    "(",
    ")",
    "x" * 5000,
    "\x00",
    "<b>x</b>",
]

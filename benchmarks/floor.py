"""The floors of the write-load and claim-page figures: a bare Flask app on the same server stack as
``claimtrack serve`` (uvicorn, a2wsgi), doing the least a route can do on SQLite.

- ``POST /insert``: one row inserted per request (WAL, ``BEGIN IMMEDIATE``, busy timeout, as the app writes),
  into its own file ``FLOOR_WRITE_DB``;
- ``GET /claim/<id>``: one primary-key lookup of a claim in the archive ``FLOOR_READ_DB``, as plain text;
- the stack floor, what any signed-in form POST must do with the project's chosen libraries and nothing else:
  ``GET /stack/sign-in`` signs the one account in and answers its CSRF token; ``POST /stack/new`` reads and
  re-signs the Flask session cookie, loads the user through Flask-Login from a small accounts file
  (``FLOOR_ACCOUNTS_DB``), checks Flask-WTF's CSRF token, validates a WTForms form of the fields the write
  load posts (text, speaker, relation), inserts one row, flashes a message (at most five kept waiting, as the
  app keeps them) and answers 303.

Served by ``python -m uvicorn benchmarks.floor:app`` (benchmarks/run.py starts it).
"""

from __future__ import annotations

import os
import sqlite3
import threading
from typing import Any

from a2wsgi import WSGIMiddleware
from flask import Flask, abort, flash, redirect, session
from flask_login import LoginManager, UserMixin, login_required, login_user
from flask_wtf import FlaskForm
from flask_wtf.csrf import CSRFProtect, generate_csrf
from werkzeug.wrappers import Response as WerkzeugResponse
from wtforms import SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

try:
    from wtforms import SelectChoice  # WTForms 3.3 deprecates choices given as tuples

    RELATIONS: list[Any] = [SelectChoice(value, value) for value in ("", "contradicts", "supports")]
except ImportError:  # pragma: no cover - older WTForms
    RELATIONS = [(value, value) for value in ("", "contradicts", "supports")]

flask_app = Flask(__name__)
flask_app.secret_key = os.environ.get("FLOOR_SECRET_KEY", "floor-secret-key")
_local = threading.local()
csrf = CSRFProtect(flask_app)
login_manager = LoginManager(flask_app)
MAX_PENDING_MESSAGES = 5  # as claimtrack.web keeps them


def _connect(path: str, read_only: bool) -> sqlite3.Connection:
    uri = f"file:{path}?mode=ro" if read_only else f"file:{path}"
    conn = sqlite3.connect(uri, uri=True, isolation_level=None, check_same_thread=False)
    conn.execute("PRAGMA busy_timeout = 5000")
    if not read_only:
        conn.execute("PRAGMA journal_mode = WAL")
    return conn


def _conn(name: str, read_only: bool) -> sqlite3.Connection:
    # One connection per server thread, as a pooled engine would give.
    conn = getattr(_local, name, None)
    if conn is None:
        conn = _connect(os.environ[name], read_only)
        setattr(_local, name, conn)
    return conn


@flask_app.post("/insert")
@csrf.exempt
def insert() -> tuple[str, int]:
    conn = _conn("FLOOR_WRITE_DB", read_only=False)
    conn.execute("BEGIN IMMEDIATE")
    try:
        conn.execute("INSERT INTO rows (text) VALUES (?)", ("a statement of the usual length, " * 4,))
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    return "ok", 201


@flask_app.get("/claim/<int:claim_id>")
def claim(claim_id: int) -> str:
    row = _conn("FLOOR_READ_DB", read_only=True).execute("SELECT text FROM claims WHERE id = ?", (claim_id,)).fetchone()
    if row is None:
        abort(404)
    return str(row[0])


class Account(UserMixin):
    def __init__(self, account_id: int, username: str) -> None:
        self.id = account_id
        self.username = username


@login_manager.user_loader
def load_account(user_id: str) -> Account | None:
    if not user_id.isdigit():
        return None
    row = (
        _conn("FLOOR_ACCOUNTS_DB", read_only=True)
        .execute("SELECT id, username FROM accounts WHERE id = ? AND NOT disabled", (int(user_id),))
        .fetchone()
    )
    return Account(row[0], row[1]) if row else None


class StatementForm(FlaskForm):
    """The fields the write load posts to a new claim or a new link."""

    text = TextAreaField("Statement", validators=[DataRequired(), Length(max=5000)])
    speaker = StringField("Speaker", validators=[DataRequired(), Length(max=200)])
    relation = SelectField("Relation", choices=RELATIONS, validators=[Optional()])


@flask_app.get("/stack/sign-in")
def stack_sign_in() -> str:
    account = load_account("1")
    if account is None:
        abort(404)
    login_user(account)
    return generate_csrf()


@flask_app.post("/stack/new")
@login_required
def stack_new() -> WerkzeugResponse | tuple[str, int]:
    form = StatementForm()
    if not form.validate_on_submit():
        return "invalid", 400
    conn = _conn("FLOOR_WRITE_DB", read_only=False)
    conn.execute("BEGIN IMMEDIATE")
    try:
        conn.execute("INSERT INTO rows (text) VALUES (?)", (f"{form.speaker.data}: {form.text.data}",))
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    flash("Saved.")
    pending = session["_flashes"]
    if len(pending) > MAX_PENDING_MESSAGES:
        session["_flashes"] = pending[-MAX_PENDING_MESSAGES:]
    return redirect("/stack/new", 303)


def prepare_write_db(path: str) -> None:
    with sqlite3.connect(path) as conn:
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("CREATE TABLE IF NOT EXISTS rows (id INTEGER PRIMARY KEY, text TEXT NOT NULL)")


def prepare_accounts_db(path: str) -> None:
    """The stack floor's accounts: one, as the write load signs in one editor."""
    with sqlite3.connect(path) as conn:
        conn.execute(
            "CREATE TABLE IF NOT EXISTS accounts "
            "(id INTEGER PRIMARY KEY, username TEXT NOT NULL UNIQUE, disabled INTEGER NOT NULL DEFAULT 0)"
        )
        conn.execute("INSERT OR IGNORE INTO accounts (id, username) VALUES (1, 'floor-editor')")


app = WSGIMiddleware(flask_app)  # type: ignore[arg-type]

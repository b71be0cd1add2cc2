"""The floors of the write-load and claim-page figures: a bare Flask app on the same server stack as
``claimtrack serve`` (uvicorn, a2wsgi), doing the least a route can do on SQLite.

- ``POST /insert``: one row inserted per request (WAL, ``BEGIN IMMEDIATE``, busy timeout, as the app writes),
  into its own file ``FLOOR_WRITE_DB``;
- ``GET /claim/<id>``: one primary-key lookup of a claim in the archive ``FLOOR_READ_DB``, as plain text.

Served by ``python -m uvicorn benchmarks.floor:app`` (benchmarks/run.py starts it).
"""

from __future__ import annotations

import os
import sqlite3
import threading

from a2wsgi import WSGIMiddleware
from flask import Flask, abort

flask_app = Flask(__name__)
_local = threading.local()


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


def prepare_write_db(path: str) -> None:
    with sqlite3.connect(path) as conn:
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("CREATE TABLE IF NOT EXISTS rows (id INTEGER PRIMARY KEY, text TEXT NOT NULL)")


app = WSGIMiddleware(flask_app)  # type: ignore[arg-type]

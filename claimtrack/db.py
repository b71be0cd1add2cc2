"""Database engine and sessions.

Every connection gets WAL mode, foreign keys, a busy timeout and NORMAL sync. pysqlite's own
transaction handling is switched off: reads begin a plain (deferred) transaction, and writes
begin with ``BEGIN IMMEDIATE`` so that concurrent writers queue on the busy timeout instead of
failing or losing updates when a read lock cannot be upgraded.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import Engine, event
from sqlalchemy.pool import QueuePool
from sqlmodel import Session, create_engine

BUSY_TIMEOUT_MS = 5000
_WRITE_OPTION = "claimtrack_write"


class DatabasePathError(Exception):
    """The database file cannot be created or opened for writing."""


def check_db_path(path: Path) -> None:
    """Fail early with a clear message instead of a SQLite traceback later on."""
    path = Path(path)
    if path.exists() and path.is_dir():
        raise DatabasePathError(f"{path} is a directory, not a database file")
    parent = path.parent if str(path.parent) else Path(".")
    if not parent.exists():
        try:
            parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise DatabasePathError(f"cannot create folder {parent}: {exc.strerror}") from exc
    probe = path if path.exists() else parent
    import os

    if not os.access(probe, os.W_OK):
        raise DatabasePathError(f"{probe} is not writable")
    if path.exists() and path.stat().st_size:
        with open(path, "rb") as fh:
            if not fh.read(16).startswith(b"SQLite format 3"):
                raise DatabasePathError(f"{path} exists but is not a SQLite database")


def configure_connection(conn: sqlite3.Connection) -> None:
    conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA synchronous = NORMAL")
    conn.execute("PRAGMA foreign_keys = ON")


def make_engine(path: Path | str) -> Engine:
    engine = create_engine(
        f"sqlite:///{path}",
        connect_args={"check_same_thread": False, "timeout": BUSY_TIMEOUT_MS / 1000},
        poolclass=QueuePool,
        pool_size=5,
        max_overflow=10,
    )

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: sqlite3.Connection, _record: object) -> None:
        dbapi_conn.isolation_level = None  # we issue BEGIN ourselves (see module docstring)
        configure_connection(dbapi_conn)

    @event.listens_for(engine, "begin")
    def _on_begin(conn) -> None:  # type: ignore[no-untyped-def]
        if conn.get_execution_options().get(_WRITE_OPTION):
            conn.exec_driver_sql("BEGIN IMMEDIATE")
        else:
            conn.exec_driver_sql("BEGIN")

    return engine


@contextmanager
def write_session(engine: Engine, actor: str | None = None) -> Iterator[Session]:
    """A session whose transaction starts with BEGIN IMMEDIATE; commits on success, rolls back on error.

    ``actor`` names who makes the changes (a username, or ``cli:seed`` and the like): the edit history
    records it, and a write to a tracked table without one is refused.
    """
    import claimtrack.services.history  # noqa: F401  (registers the history hook)

    with Session(engine, expire_on_commit=False) as session:
        session.info["actor"] = actor
        session.connection(execution_options={_WRITE_OPTION: True})
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise


def read_session(engine: Engine) -> Session:
    return Session(engine)

"""Database engine and sessions.

Every connection gets WAL mode, foreign keys, a busy timeout and NORMAL sync. pysqlite's own
transaction handling is switched off: reads begin a plain (deferred) transaction, and writes
begin with ``BEGIN IMMEDIATE`` so that concurrent writers queue on the busy timeout instead of
failing or losing updates when a read lock cannot be upgraded.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import Connection, Engine, event
from sqlalchemy.pool import QueuePool
from sqlmodel import Session, create_engine

from claimtrack.services.errors import StorageFull, is_storage_full

BUSY_TIMEOUT_MS = 5000
WRITE_OPTION = "claimtrack_write"


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


PRIVATE_MODE = 0o600


def make_private(path: Path | str) -> None:
    """Create ``path`` readable and writable by its owner only, and tighten it (and its -wal/-shm) if it exists.

    SQLite creates a database's -wal and -shm files with the database file's own permissions, so a
    private database file keeps its journal private too.
    """
    path = Path(path)
    try:
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE_MODE))
    except FileExistsError:
        pass
    except OSError:
        return  # a missing folder or no write access: SQLite reports it, in its words, on first connect
    for file in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
        try:
            if file.stat().st_mode & 0o777 != PRIVATE_MODE:
                os.chmod(file, PRIVATE_MODE)
        except FileNotFoundError:
            pass


def make_engine(path: Path | str, private: bool = False) -> Engine:
    """An engine on the SQLite file ``path``; ``private`` files (accounts) are kept mode 0600."""
    if private:
        make_private(path)
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
    def _on_begin(conn: Connection) -> None:
        if conn.get_execution_options().get(WRITE_OPTION):
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
        session.connection(execution_options={WRITE_OPTION: True})
        try:
            yield session
            session.commit()
        except BaseException as exc:
            session.rollback()
            if is_storage_full(exc):
                # SQLITE_FULL: the transaction is rolled back whole; say so in words, not as a crash.
                raise StorageFull() from exc
            raise


def read_session(engine: Engine) -> Session:
    return Session(engine)

"""Database engine and sessions.

Every connection gets WAL mode, foreign keys, a busy timeout and NORMAL sync. pysqlite's own
transaction handling is switched off: reads begin a plain (deferred) transaction, and writes
begin with ``BEGIN IMMEDIATE`` so that concurrent writers queue instead of failing or losing
updates when a read lock cannot be upgraded.

Writers of one process first queue in arrival order on a per-file ``WriterQueue``; only the head of
the queue runs ``BEGIN IMMEDIATE``. SQLite's busy handler sleeps and retries, which is not fair:
with many threads waiting on it, some waited past the busy timeout while later ones got through.
"""

from __future__ import annotations

import fcntl
import os
import sqlite3
import threading
import time
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import Connection, Engine, event
from sqlalchemy.pool import QueuePool
from sqlmodel import Session, create_engine

from claimtrack.services.errors import StorageFull, WriterBusy, is_locked, is_storage_full

BUSY_TIMEOUT_MS = 5000
WRITE_OPTION = "claimtrack_write"
SINGLE_READ_OPTION = "claimtrack_single_read"
QUEUE_OPTION = "claimtrack_queue_writers"
# How long a write waits for the writers queued before it in this process. A write holds the queue
# for a few milliseconds, so this is only reached when the disk or another process stalls writing.
WRITE_QUEUE_TIMEOUT_S = 10.0
# SQLite's page cache per pooled connection (its default: 2,000 KiB). A serving process keeps about a dozen
# connections (the pools, Datasette's threads), each filling its cache over time; under writes each
# transaction finds most of its cache stale anyway (another connection wrote since). 512 KiB (128 pages)
# holds a claim page's index pages: its CPU time measured the same as with the default.
PAGE_CACHE_KIB = 512


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


def bound_page_cache(conn: sqlite3.Connection) -> None:
    """Cap the page cache of a connection kept open for requests (see ``PAGE_CACHE_KIB``)."""
    conn.execute(f"PRAGMA cache_size = -{PAGE_CACHE_KIB}")


def configure_connection(conn: sqlite3.Connection) -> None:
    conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA synchronous = NORMAL")
    conn.execute("PRAGMA foreign_keys = ON")


class WriterQueue:
    """A lock that writers get in the order they asked for it (first come, first served).

    Across processes (``serve --workers N``), the head of each process's queue then takes an advisory
    lock on ``<database>-writer``, polled every half millisecond: SQLite's own busy handler sleeps 1, 2,
    5 ... up to 100 ms between tries, so a writer of one worker often slept long after the other
    worker's write had ended.
    """

    def __init__(self, lock_path: str | None = None) -> None:
        self._cond = threading.Condition()
        self._queue: deque[object] = deque()  # the head holds the lock
        self._lock_path = lock_path
        self._fd: int | None = None

    def acquire(self, timeout: float) -> object | None:
        """Wait for our turn; a token to pass to ``release``, or None if ``timeout`` seconds went by first."""
        token = object()
        deadline = time.monotonic() + timeout
        with self._cond:
            self._queue.append(token)
            while self._queue[0] is not token:
                remaining = deadline - time.monotonic()
                if remaining <= 0 or not self._cond.wait(remaining):
                    if self._queue[0] is token:  # our turn came just as the wait ran out
                        break
                    self._queue.remove(token)
                    self._cond.notify_all()
                    return None
        if self._lock_path is not None and not self._lock_file(deadline):
            self._pop(token)
            return None
        return token

    def _lock_file(self, deadline: float) -> bool:
        if self._fd is None:  # only the head of the queue gets here: no race on opening it
            try:
                self._fd = os.open(self._lock_path or "", os.O_RDWR | os.O_CREAT, PRIVATE_MODE)
            except OSError:
                # A folder we cannot create files in: SQLite's busy handler alone orders the processes.
                self._lock_path = None
                return True
        while True:
            try:
                fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                return True
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    return False
                time.sleep(0.0005)

    def release(self, token: object) -> None:
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
        self._pop(token)

    def _pop(self, token: object) -> None:
        with self._cond:
            assert self._queue[0] is token, "released by a writer that does not hold it"
            self._queue.popleft()
            self._cond.notify_all()

    @property
    def waiting(self) -> int:
        """Writers queued, the one holding the lock included."""
        with self._cond:
            return len(self._queue)


_queues: dict[str, WriterQueue] = {}
_queues_lock = threading.Lock()


def writer_queue(engine: Engine) -> WriterQueue:
    """The queue of this process's writers to the database file of ``engine`` (one per file, not per engine)."""
    key = os.path.realpath(engine.url.database or "")
    with _queues_lock:
        if key not in _queues:
            _queues[key] = WriterQueue(key + "-writer")
        return _queues[key]


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


def make_engine(path: Path | str, private: bool = False, queue_writers: bool = True) -> Engine:
    """An engine on the SQLite file ``path``; ``private`` files (accounts) are kept mode 0600.

    ``queue_writers``: writers of this process take turns in arrival order (see ``WriterQueue``).
    """
    if private:
        make_private(path)
    engine = create_engine(
        f"sqlite:///{path}",
        connect_args={"check_same_thread": False, "timeout": BUSY_TIMEOUT_MS / 1000},
        poolclass=QueuePool,
        pool_size=5,
        max_overflow=10,
        execution_options={QUEUE_OPTION: queue_writers},
    )

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: sqlite3.Connection, _record: object) -> None:
        dbapi_conn.isolation_level = None  # we issue BEGIN ourselves (see module docstring)
        configure_connection(dbapi_conn)
        bound_page_cache(dbapi_conn)

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        options = conn.get_execution_options()
        if options.get(WRITE_OPTION):
            conn.exec_driver_sql("BEGIN IMMEDIATE")
        elif options.get(SINGLE_READ_OPTION):
            pass  # one SELECT in autocommit mode reads one consistent snapshot by itself
        else:
            conn.exec_driver_sql("BEGIN")

    return engine


# SQLite's NOCASE under its own name, for the models' ``COLLATE NOCASE`` name columns: ICU's level-2
# strength compares without case (as NOCASE does for ASCII, and beyond it). Nondeterministic collations
# refuse LIKE on PostgreSQL 15; the write paths use none.
NOCASE_COLLATION = (
    """CREATE COLLATION IF NOT EXISTS "NOCASE" (provider = icu, locale = 'und-u-ks-level2', deterministic = false)"""
)


def create_postgres_schema(engine: Engine) -> None:
    """Every table, index and constraint of the models on the PostgreSQL database of ``engine``.

    For the core writes (speakers, sources, events, claims, links, verdicts, retractions, with their
    history) through ``write_session``: a plain ``create_engine`` on a ``postgresql+psycopg://`` URL
    (``pip install 'claimtrack[postgres]'``). The full-text tables, their triggers and the research views
    are SQLite SQL in the migrations and are not made here (docs/scaling.md).
    """
    from sqlmodel import SQLModel

    import claimtrack.models  # noqa: F401  (the tables to create)

    if engine.dialect.name != "postgresql":
        raise ValueError(f"create_postgres_schema needs a PostgreSQL engine, not {engine.dialect.name}")
    with engine.begin() as conn:
        conn.exec_driver_sql(NOCASE_COLLATION)
        SQLModel.metadata.create_all(conn)


@contextmanager
def write_session(engine: Engine, actor: str | None = None) -> Iterator[Session]:
    """A session whose transaction starts with BEGIN IMMEDIATE; commits on success, rolls back on error.

    ``actor`` names who makes the changes (a username, or ``cli:seed`` and the like): the edit history
    records it, and a write to a tracked table without one is refused.
    """
    # Imported for the hooks they register: the history, and the ids of new speakers, sources and events.
    import claimtrack.services.aliases
    import claimtrack.services.history  # noqa: F401

    queue = writer_queue(engine) if engine.get_execution_options().get(QUEUE_OPTION) else None
    token = queue.acquire(WRITE_QUEUE_TIMEOUT_S) if queue is not None else None
    if queue is not None and token is None:
        raise WriterBusy()  # nothing was begun, so nothing to roll back
    try:
        with Session(engine, expire_on_commit=False) as session:
            session.info["actor"] = actor
            try:
                session.connection(execution_options={WRITE_OPTION: True})
                yield session
                session.commit()
            except BaseException as exc:
                session.rollback()
                if is_storage_full(exc):
                    # SQLITE_FULL: the transaction is rolled back whole; say so in words, not as a crash.
                    raise StorageFull() from exc
                if is_locked(exc):
                    # Another process held the write lock past the busy timeout: a clear 503, not a 500.
                    raise WriterBusy() from exc
                raise
    finally:
        if queue is not None and token is not None:
            queue.release(token)


def read_session(engine: Engine) -> Session:
    return Session(engine)


@contextmanager
def single_read(engine: Engine) -> Iterator[Connection]:
    """A connection for exactly one SELECT, sent without BEGIN and ROLLBACK around it.

    For the lookups every request makes (the signed-in account): a lone statement is its own
    transaction in SQLite, so the two extra round trips bought nothing. No ORM session either: building
    one and compiling the statement cost 0.2 ms of a request's CPU. Do not use it for two reads that must
    agree with each other.
    """
    with engine.connect() as conn:
        conn.execution_options(**{SINGLE_READ_OPTION: True})
        yield conn

"""The app's database handles: one engine per app, one read session per request (closed on teardown)."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from flask import Flask, current_app, g
from flask_login import current_user
from sqlalchemy import Connection, Engine
from sqlmodel import Session

from claimtrack.db import make_engine, read_session, single_read, write_session
from claimtrack.schema import ACCOUNTS_MIGRATIONS, migrate
from claimtrack.services.common import ReadOnly, read_only
from claimtrack.services.search import prepare_engine

_ENGINE_KEY = "claimtrack.engine"
_ACCOUNTS_ENGINE_KEY = "claimtrack.accounts_engine"
_lock = threading.Lock()


def _engine(
    key: str,
    config_key: str,
    prepare: Callable[[Engine], None] | None = None,
    private: bool = False,
    queue_writers: bool = True,
) -> Engine:
    # Created on first use, not at import or app creation: no connection is opened until a request needs one.
    engine = current_app.extensions.get(key)
    if engine is None:
        with _lock:
            engine = current_app.extensions.get(key)
            if engine is None:
                engine = make_engine(current_app.config[config_key], private=private, queue_writers=queue_writers)
                if prepare is not None:
                    prepare(engine)
                current_app.extensions[key] = engine
    return engine


def get_engine() -> Engine:
    return _engine(_ENGINE_KEY, "DATABASE", prepare_engine)


def get_accounts_engine() -> Engine:
    # The accounts file is private to the app: bring its (small) schema up to date on first use.
    return _engine(
        _ACCOUNTS_ENGINE_KEY,
        "ACCOUNTS_DATABASE",
        lambda e: migrate(e, script_location=ACCOUNTS_MIGRATIONS),
        private=True,  # password hashes: readable by the service's own user only
        # Sign-ins are few, and each records its attempt before checking the password: in one queue, a burst
        # of sign-ins from one address would all be recorded before the first is cleared, and hit the limit.
        queue_writers=False,
    )


@contextmanager
def accounts_session(write: bool = False) -> Iterator[Session]:
    if write:
        with write_session(get_accounts_engine()) as session:
            yield session
    else:
        with read_session(get_accounts_engine()) as session:
            yield session


@contextmanager
def accounts_lookup() -> Iterator[Connection]:
    """The accounts database for one SELECT (see ``single_read``): the per-request user lookup."""
    with single_read(get_accounts_engine()) as conn:
        yield conn


def get_session() -> Session:
    if "db_session" not in g:
        g.db_session = read_session(get_engine())
    return g.db_session


@contextmanager
def reading() -> Iterator[ReadOnly]:
    """One consistent read for a page that only reads plain rows (``read_only``): no ORM session."""
    with read_only(get_engine()) as db:
        yield db


@contextmanager
def writing() -> Iterator[Session]:
    """A BEGIN IMMEDIATE transaction for this request's writes. End the read session first so the
    request holds no read snapshot older than the write it is about to make."""
    close_session()
    with write_session(get_engine(), actor=current_user.username) as session:
        yield session


def close_session(_exc: BaseException | None = None) -> None:
    session = g.pop("db_session", None)
    if session is not None:
        # Detach what the request read before ending the read transaction: a rollback would expire
        # those objects, and a view that still shows them (a form re-rendered after a refused
        # write, a redirect to a link's claim) would fail trying to reload them from a closed session.
        session.expunge_all()
        session.rollback()
        session.close()


def init_database(app: Flask) -> None:
    app.teardown_appcontext(close_session)

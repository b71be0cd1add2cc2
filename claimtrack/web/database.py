"""The app's database handles: one engine per app, one read session per request (closed on teardown)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

from flask import Flask, current_app, g
from sqlalchemy import Engine
from sqlmodel import Session

from claimtrack.db import make_engine, read_session, write_session

_ENGINE_KEY = "claimtrack.engine"
_lock = threading.Lock()


def get_engine() -> Engine:
    # Created on first use, not at import or app creation: no connection is opened until a request needs one.
    engine = current_app.extensions.get(_ENGINE_KEY)
    if engine is None:
        with _lock:
            engine = current_app.extensions.get(_ENGINE_KEY)
            if engine is None:
                engine = make_engine(current_app.config["DATABASE"])
                current_app.extensions[_ENGINE_KEY] = engine
    return engine


def get_session() -> Session:
    if "db_session" not in g:
        g.db_session = read_session(get_engine())
    return g.db_session


@contextmanager
def writing() -> Iterator[Session]:
    """A BEGIN IMMEDIATE transaction for this request's writes. End the read session first so the
    request holds no read snapshot older than the write it is about to make."""
    close_session()
    with write_session(get_engine()) as session:
        yield session


def close_session(_exc: BaseException | None = None) -> None:
    session = g.pop("db_session", None)
    if session is not None:
        session.rollback()
        session.close()


def init_database(app: Flask) -> None:
    app.teardown_appcontext(close_session)

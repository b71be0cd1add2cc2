"""Shared fixtures: a real SQLite file in a temporary folder, migrated (and seeded where asked).

Migrating and seeding take most of a route test's time, so both are done once per session into template
files; each test gets a byte copy of a template (closed and checkpointed, never a live WAL database).
Password hashing is cheap argon2id for every test (``fast_hashing``, session-wide): a test that checks the
production parameters sets ``accounts._hasher`` back to ``PRODUCTION_HASHER`` itself.
"""

from __future__ import annotations

import shutil
import sqlite3
from collections.abc import Iterator
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from helpers import ADMIN, EDITOR, SEED_FILE, add_account, csrf_token, sign_in
from security_support import (  # noqa: F401  (fast_hashing: cheap argon2id for every test, see there)
    PRODUCTION_HASHER,
    Identity,
    World,
    build_world,
    clone_world,
    dispose,
    fast_hashing,
    identities,
    make_app,
)
from sqlalchemy import Engine

from claimtrack import create_app
from claimtrack.db import make_engine, write_session
from claimtrack.schema import migrate
from claimtrack.services.seeding import load_seed, read_seed

# Re-exported: test modules import these from conftest.
__all__ = ["ADMIN", "EDITOR", "PRODUCTION_HASHER", "SEED_FILE", "add_account", "csrf_token", "sign_in"]


# --- database templates, built once per session ------------------------------------------------


@dataclass(frozen=True)
class Templates:
    migrated: Path  # the latest schema, no rows
    seeded: Path  # the same, with the Aleppo scenario loaded (by "test")


def _freeze(engine: Engine, live: Path, template: Path) -> None:
    """Close every connection of the live file, then write a self-contained copy (no -wal/-shm beside it)."""
    engine.dispose()
    with closing(sqlite3.connect(live)) as conn:
        conn.execute("VACUUM INTO ?", (str(template),))


@pytest.fixture(scope="session")
def db_templates(tmp_path_factory: pytest.TempPathFactory) -> Templates:
    folder = tmp_path_factory.mktemp("db-templates")
    templates = Templates(folder / "migrated.db", folder / "seeded.db")
    engine = make_engine(folder / "live.db")
    migrate(engine)
    _freeze(engine, folder / "live.db", templates.migrated)
    engine = make_engine(folder / "live.db")
    with write_session(engine, actor="test") as session:
        load_seed(session, read_seed(SEED_FILE))
    _freeze(engine, folder / "live.db", templates.seeded)
    return templates


def seeded_copy(templates: Templates, folder: Path) -> Path:
    """``folder/claimtrack.db``: a copy of the session's seeded template, for a module's own world."""
    db = folder / "claimtrack.db"
    shutil.copyfile(templates.seeded, db)
    return db


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "claimtrack.db"


@pytest.fixture
def engine(db_path: Path, db_templates: Templates, request: pytest.FixtureRequest) -> Iterator[Engine]:
    """A migrated database; already seeded when the test (or a fixture it uses) asks for ``seeded_engine``,
    so that the seed is copied rather than loaded again."""
    seeded = "seeded_engine" in request.fixturenames
    shutil.copyfile(db_templates.seeded if seeded else db_templates.migrated, db_path)
    engine = make_engine(db_path)
    yield engine
    engine.dispose()


@pytest.fixture
def seeded_engine(engine: Engine) -> Engine:
    """The Aleppo scenario, loaded by the actor "test" (copied from the session's template by ``engine``)."""
    return engine


@pytest.fixture
def app(engine: Engine, db_path: Path) -> Iterator[Flask]:
    app = create_app(
        {
            "TESTING": True,
            "DATABASE": str(db_path),
            "ACCOUNTS_DATABASE": str(db_path.parent / "auth.db"),
            "SECRET_KEY": "test",
            "WTF_CSRF_ENABLED": False,
        }
    )
    yield app
    engine_ = app.extensions.get("claimtrack.engine")
    if engine_ is not None:
        engine_.dispose()


@pytest.fixture
def seeded_app(seeded_engine: Engine, app: Flask) -> Flask:
    return app


@pytest.fixture
def anon_client(app: Flask) -> FlaskClient:
    """A visitor who is not signed in: may read everything, change nothing."""
    return app.test_client()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    """A signed-in editor (most route tests are about what editors do)."""
    add_account(app, *EDITOR, "editor")
    client = app.test_client()
    sign_in(client, *EDITOR)
    return client


@pytest.fixture
def admin_client(app: Flask) -> FlaskClient:
    add_account(app, *ADMIN, "admin")
    client = app.test_client()
    sign_in(client, *ADMIN)
    return client


@pytest.fixture
def seeded_client(seeded_app: Flask, client: FlaskClient) -> FlaskClient:
    return client


# --- a "world": seeded claims database + accounts (editor, admin, spare), one per module ----------


@pytest.fixture(scope="session")
def world_template(tmp_path_factory: pytest.TempPathFactory) -> World:
    return build_world(tmp_path_factory.mktemp("world-template"))


@pytest.fixture(scope="module")
def world(world_template: World, tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest) -> World:
    """The module's own copy of the world: its writes never reach another module."""
    return clone_world(world_template, tmp_path_factory.mktemp(f"{request.module.__name__}-world"))


@pytest.fixture(scope="module")
def shared_app(world: World) -> Iterator[Flask]:
    """One app (CSRF on) for requests that must not write (a write here fails the snapshot checks anyway)."""
    app = make_app(world)
    yield app
    dispose(app)


@pytest.fixture(scope="module")
def who(shared_app: Flask) -> dict[str, Identity]:
    """Each role's session cookie and CSRF token for ``shared_app``."""
    return identities(shared_app)

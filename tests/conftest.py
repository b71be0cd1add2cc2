"""Shared fixtures: a real SQLite file in a temporary folder, migrated (and seeded where asked)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient, FlaskCliRunner
from sqlalchemy import Engine

from claimtrack import create_app
from claimtrack.config import PROJECT_ROOT
from claimtrack.db import make_engine, write_session
from claimtrack.schema import migrate
from claimtrack.services import accounts
from claimtrack.services.seeding import load_seed, read_seed
from claimtrack.web.database import accounts_session

SEED_FILE = PROJECT_ROOT / "seeds" / "aleppo-evacuation-2016-12.toml"
SHARED_DATA = PROJECT_ROOT.parent / "shared" / "data"


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "claimtrack.db"


@pytest.fixture
def engine(db_path: Path) -> Iterator[Engine]:
    engine = make_engine(db_path)
    migrate(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def seeded_engine(engine: Engine) -> Engine:
    with write_session(engine, actor="test") as session:
        load_seed(session, read_seed(SEED_FILE))
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


EDITOR = ("editor", "editor-password-123")
ADMIN = ("admin", "admin-password-1234")


def add_account(app: Flask, username: str, password: str, role: str) -> None:
    with app.app_context():
        with accounts_session(write=True) as session:
            accounts.create_account(session, username, password, role)


def sign_in(client: FlaskClient, username: str, password: str) -> None:
    page = client.get("/login")
    data = {"username": username, "password": password}
    if client.application.config.get("WTF_CSRF_ENABLED", True):
        data["csrf_token"] = csrf_token(page.get_data(as_text=True))
    response = client.post("/login", data=data)
    assert response.status_code == 303, f"sign-in as {username} failed: {response.status_code}"


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


@pytest.fixture
def runner(app: Flask) -> FlaskCliRunner:
    return app.test_cli_runner()


def csrf_token(html: str) -> str:
    match = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', html) or re.search(
        r'name="csrf_token" value="([^"]+)"', html
    )
    assert match, "no CSRF token in the form"
    return match.group(1)

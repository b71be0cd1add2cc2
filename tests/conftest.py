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
from claimtrack.services.seeding import load_seed, read_seed

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
    with write_session(engine) as session:
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


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def seeded_client(seeded_app: Flask) -> FlaskClient:
    return seeded_app.test_client()


@pytest.fixture
def runner(app: Flask) -> FlaskCliRunner:
    return app.test_cli_runner()


def csrf_token(html: str) -> str:
    match = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', html) or re.search(
        r'name="csrf_token" value="([^"]+)"', html
    )
    assert match, "no CSRF token in the form"
    return match.group(1)

"""Create and upgrade the database schema with Alembic (the only way the schema changes)."""

from __future__ import annotations

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine

from claimtrack.db import WRITE_OPTION

CLAIMS_MIGRATIONS = "claimtrack:migrations"
# Accounts live in their own database file, which Datasette never opens; it has its own migrations.
ACCOUNTS_MIGRATIONS = "claimtrack:migrations_accounts"


def alembic_config(script_location: str = CLAIMS_MIGRATIONS) -> Config:
    config = Config()
    config.set_main_option("script_location", script_location)
    return config


def head_revision(script_location: str = CLAIMS_MIGRATIONS) -> str | None:
    return ScriptDirectory.from_config(alembic_config(script_location)).get_current_head()


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def migrate(engine: Engine, revision: str = "head", script_location: str = CLAIMS_MIGRATIONS) -> None:
    """Upgrade the database to ``revision`` inside one BEGIN IMMEDIATE transaction."""
    config = alembic_config(script_location)
    with engine.connect() as conn:
        conn = conn.execution_options(**{WRITE_OPTION: True})
        config.attributes["connection"] = conn
        command.upgrade(config, revision)
        conn.commit()


def is_up_to_date(engine: Engine, script_location: str = CLAIMS_MIGRATIONS) -> bool:
    return current_revision(engine) == head_revision(script_location)

"""Create and upgrade the database schema with Alembic (the only way the schema changes)."""

from __future__ import annotations

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine

from claimtrack.db import WRITE_OPTION, DatabasePathError

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


def known_revisions(script_location: str = CLAIMS_MIGRATIONS) -> set[str]:
    """Every schema version of the database whose migrations are at ``script_location``."""
    script = ScriptDirectory.from_config(alembic_config(script_location))
    return {rev.revision for rev in script.walk_revisions()}


def database_kind(script_location: str) -> str:
    """Which of the two databases has its migrations at ``script_location``, in words."""
    return "accounts" if script_location == ACCOUNTS_MIGRATIONS else "claims"


def check_known_revision(engine: Engine, script_location: str = CLAIMS_MIGRATIONS) -> None:
    """Refuse a database whose schema version is none of ``script_location``'s: the claims and accounts
    databases both carry one, so a setting naming the other file would otherwise end in Alembic's traceback."""
    current = current_revision(engine)
    if current is None or current in known_revisions(script_location):
        return
    what = database_kind(script_location)
    setting = "CLAIMTRACK_AUTH_DB" if script_location == ACCOUNTS_MIGRATIONS else "CLAIMTRACK_DB"
    raise DatabasePathError(
        f"{engine.url.database} holds schema version {current!r}, which is not one of the {what} database's: "
        f"check that {setting} names the {what} database (CLAIMTRACK_DB and CLAIMTRACK_AUTH_DB are two files)"
    )


def migrate(engine: Engine, revision: str = "head", script_location: str = CLAIMS_MIGRATIONS) -> None:
    """Upgrade the database to ``revision`` inside one BEGIN IMMEDIATE transaction."""
    check_known_revision(engine, script_location)
    config = alembic_config(script_location)
    with engine.connect() as conn:
        conn = conn.execution_options(**{WRITE_OPTION: True})
        config.attributes["connection"] = conn
        command.upgrade(config, revision)
        conn.commit()


def is_up_to_date(engine: Engine, script_location: str = CLAIMS_MIGRATIONS) -> bool:
    return current_revision(engine) == head_revision(script_location)

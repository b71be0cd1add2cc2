"""Alembic environment: runs on the connection handed over by ``claimtrack.schema.migrate``."""

from __future__ import annotations

from alembic import context
from sqlmodel import SQLModel

import claimtrack.models  # noqa: F401  (registers the tables on SQLModel.metadata)

# FTS shadow tables and SQL views are created by hand in the migrations; autogenerate must not touch them.
INTERNAL_PREFIXES = ("claims_fts", "speakers_fts", "sources_fts", "entity_names_fts", "sqlite_")


def include_name(name: str | None, type_: str, parent_names: object) -> bool:
    if type_ == "table" and name is not None:
        return not name.startswith(INTERNAL_PREFIXES) and name != "alembic_version"
    return True


connection = context.config.attributes["connection"]
context.configure(
    connection=connection,
    target_metadata=SQLModel.metadata,
    render_as_batch=True,  # SQLite alters tables by copying them
    include_name=include_name,
)
with context.begin_transaction():
    context.run_migrations()

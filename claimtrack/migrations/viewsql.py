"""The research views' SQL, one file per schema version: ``views/NNNN.sql``.

A migration that changes the views creates them from its own file, and the next one's ``downgrade`` restores
them from the same file: each version of a view is written once, and stays frozen once released.

File format: plain SQL, one ``CREATE VIEW`` statement after another, each ending with ``;``. Comment lines
before a statement explain it and are not stored in the database (SQLite keeps a view's text from ``CREATE``
to its last token). A line ``-- define NAME: SQL`` defines a fragment that the statements of the same file use
as ``$NAME`` (``string.Template``), so that a rule repeated across columns and views is written once per file.
"""

from __future__ import annotations

import re
import sqlite3
from pathlib import Path
from string import Template

from alembic import op

VIEWS_DIR = Path(__file__).parent / "views"

_DEFINE = re.compile(r"^-- define (?P<name>[a-z_]+): (?P<sql>.+)$")
_VIEW_NAME = re.compile(r"^CREATE VIEW (?P<name>\w+) AS\b")


class ViewFileError(ValueError):
    """A views file that cannot be read as the format above (a mistake in the migration's own files)."""


def _split(text: str) -> list[str]:
    """The statements of a SQL text, without their leading comments and final ``;``.

    ``sqlite3.complete_statement`` decides where a statement ends, so a ``;`` inside a string literal or a
    comment does not cut it.
    """
    statements: list[str] = []
    pending: list[str] = []
    for line in text.splitlines(keepends=True):
        if not pending and (not line.strip() or line.lstrip().startswith("--")):
            continue  # comments and blank lines between statements
        pending.append(line)
        chunk = "".join(pending)
        if sqlite3.complete_statement(chunk):
            statements.append(chunk.rstrip().removesuffix(";").rstrip())
            pending = []
    if pending:
        raise ViewFileError(f"unterminated statement: {''.join(pending)[:80]!r}")
    return statements


def read_views(version: str) -> dict[str, str]:
    """The views of ``views/<version>.sql``: name -> its ``CREATE VIEW`` statement, in file order."""
    return read_views_file(VIEWS_DIR / f"{version}.sql")


def read_views_file(path: Path) -> dict[str, str]:
    text = path.read_text(encoding="utf-8")
    fragments = {m["name"]: m["sql"].strip() for m in map(_DEFINE.match, text.splitlines()) if m}
    views: dict[str, str] = {}
    for statement in _split(text):
        if fragments:
            try:
                statement = Template(statement).substitute(fragments)
            except (KeyError, ValueError) as error:
                raise ViewFileError(f"{path.name}: undefined or malformed fragment {error}") from error
        match = _VIEW_NAME.match(statement)
        if match is None:
            raise ViewFileError(f"{path.name}: only CREATE VIEW statements belong here: {statement[:80]!r}")
        views[match["name"]] = statement
    return views


def create_views(version: str) -> None:
    for statement in read_views(version).values():
        op.execute(statement)


def drop_views(version: str) -> None:
    """Drop the views ``views/<version>.sql`` creates (those that exist)."""
    for name in reversed(list(read_views(version))):
        op.execute(f"DROP VIEW IF EXISTS {name}")

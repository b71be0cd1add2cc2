"""The research views' SQL, one file per schema version that changes them: ``views/NNNN.sql``.

The views as of version N are the latest definition of each view in the files numbered up to N: a file holds
only the views its migration creates or changes, and the others carry over from the files before it. A
migration that changes the views replaces them with its version's (``replace_views``); its ``downgrade``
puts back the previous version's, composed from the same files. Released files stay frozen, and so do the
fragments they use: what a released version creates must stay byte for byte what it created then.

File format: plain SQL, one ``CREATE VIEW`` statement after another, each ending with ``;``. Comment lines
before a statement explain it and are not stored in the database (SQLite keeps a view's text from ``CREATE``
to its last token). Fragments write a part shared by several views or versions once:

- ``-- define NAME: SQL`` on one line;
- ``-- fragment NAME:`` or ``-- fragment NAME(PARAM, ...):`` followed by its lines, up to the next blank line.

A statement (or another fragment) uses one as ``$NAME``, or ``$NAME(ARG, ...)`` when it takes parameters,
which its lines use as ``$PARAM`` or ``${PARAM}``. Fragments in ``views/fragments.sql`` serve every file;
those in a version file serve that file only.
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from alembic import op

VIEWS_DIR = Path(__file__).parent / "views"
SHARED_FRAGMENTS = "fragments.sql"

_DEFINE = re.compile(r"^-- define (?P<name>[a-z_0-9]+): (?P<sql>.+)$")
_FRAGMENT = re.compile(r"^-- fragment (?P<name>[a-z_0-9]+)(?:\((?P<params>[a-z_0-9, ]*)\))?:$")
_VIEW_NAME = re.compile(r"^CREATE VIEW (?P<name>\w+) AS\b")
_VERSION_FILE = re.compile(r"^\d{4}$")
_REFERENCE = re.compile(r"\$(?:(?P<escaped>\$)|(?P<name>[a-z_0-9]+)|\{(?P<braced>[a-z_0-9]+)\})")
# Fragments use fragments; a cycle would never end, and no real nesting is this deep.
_MAX_DEPTH = 8


class ViewFileError(ValueError):
    """A views file that cannot be read as the format above (a mistake in the migration's own files)."""


@dataclass(frozen=True)
class Fragment:
    params: tuple[str, ...]
    sql: str


def _parse(text: str, where: str) -> tuple[dict[str, Fragment], list[str]]:
    """The fragments a SQL text defines, and its statements without their leading comments and final ``;``.

    ``sqlite3.complete_statement`` decides where a statement ends, so a ``;`` inside a string literal or a
    comment does not cut it.
    """
    fragments: dict[str, Fragment] = {}
    statements: list[str] = []
    pending: list[str] = []
    lines = iter(text.splitlines(keepends=True))
    for line in lines:
        if not pending and (header := _FRAGMENT.match(line.rstrip("\n"))):
            body: list[str] = []
            for body_line in lines:
                if not body_line.strip():
                    break
                body.append(body_line.rstrip("\n"))
            if not body:
                raise ViewFileError(f"{where}: fragment {header['name']} has no lines")
            params = tuple(p.strip() for p in (header["params"] or "").split(",") if p.strip())
            _add(fragments, header["name"], Fragment(params, "\n".join(body)), where)
            continue
        if not pending and (define := _DEFINE.match(line.rstrip("\n"))):
            _add(fragments, define["name"], Fragment((), define["sql"].strip()), where)
            continue
        if not pending and (not line.strip() or line.lstrip().startswith("--")):
            continue  # comments and blank lines between statements
        pending.append(line)
        chunk = "".join(pending)
        if sqlite3.complete_statement(chunk):
            statements.append(chunk.rstrip().removesuffix(";").rstrip())
            pending = []
    if pending:
        raise ViewFileError(f"{where}: unterminated statement: {''.join(pending)[:80]!r}")
    return fragments, statements


def _add(fragments: dict[str, Fragment], name: str, fragment: Fragment, where: str) -> None:
    if name in fragments:
        raise ViewFileError(f"{where}: fragment {name} is defined twice")
    fragments[name] = fragment


def expand(
    sql: str,
    fragments: Mapping[str, Fragment],
    where: str = "views",
    params: Mapping[str, str] | None = None,
    depth: int = 0,
) -> str:
    """``sql`` with every fragment reference replaced by the fragment's text, itself expanded.

    A line that holds only references which all give nothing is left out, so a fragment can stand for
    "these columns, or none".
    """
    if depth > _MAX_DEPTH:
        raise ViewFileError(f"{where}: fragments nested too deep (a fragment that uses itself?)")
    lines: list[str] = []
    for line in sql.split("\n"):
        expanded = _expand_line(line, fragments, where, params or {}, depth)
        if line.strip() and not expanded.strip():
            continue
        lines.append(expanded)
    return "\n".join(lines)


def _expand_line(
    line: str, fragments: Mapping[str, Fragment], where: str, params: Mapping[str, str], depth: int
) -> str:
    out: list[str] = []
    position = 0
    while match := _REFERENCE.search(line, position):
        out.append(line[position : match.start()])
        position = match.end()
        if match["escaped"]:
            out.append("$")
            continue
        name = match["name"] or match["braced"]
        if name in params:  # a parameter of the fragment being expanded: its argument, already expanded
            out.append(params[name])
            continue
        fragment = fragments.get(name)
        if fragment is None:
            raise ViewFileError(f"{where}: undefined fragment ${name}")
        args: list[str] = []
        if fragment.params:
            if match["braced"] or not line.startswith("(", position):
                raise ViewFileError(f"{where}: ${name} takes ({', '.join(fragment.params)})")
            raw, position = _call_arguments(line, position, where)
            if len(raw) != len(fragment.params):
                raise ViewFileError(f"{where}: ${name} takes ({', '.join(fragment.params)}), got {raw}")
            args = [expand(arg, fragments, where, params, depth + 1) for arg in raw]
        out.append(expand(fragment.sql, fragments, where, dict(zip(fragment.params, args)), depth + 1))
    out.append(line[position:])
    return "".join(out)


def _call_arguments(line: str, start: int, where: str) -> tuple[list[str], int]:
    """The comma-separated arguments of the call whose ``(`` is at ``start`` (commas inside parentheses or
    quotes do not separate), and the position after its ``)``."""
    args: list[str] = []
    level = 0
    quoted = False
    begin = start + 1
    for index in range(start, len(line)):
        char = line[index]
        if quoted:
            quoted = char != "'"
        elif char == "'":
            quoted = True
        elif char == "(":
            level += 1
        elif char == ")":
            level -= 1
            if level == 0:
                args.append(line[begin:index].strip())
                return args, index + 1
        elif char == "," and level == 1:
            args.append(line[begin:index].strip())
            begin = index + 1
    raise ViewFileError(f"{where}: unclosed call: {line.strip()[:80]!r}")


def _shared_fragments(views_dir: Path) -> dict[str, Fragment]:
    path = views_dir / SHARED_FRAGMENTS
    if not path.exists():
        return {}
    fragments, statements = _parse(path.read_text(encoding="utf-8"), path.name)
    if statements:
        raise ViewFileError(f"{path.name}: holds fragments only: {statements[0][:80]!r}")
    return fragments


def read_views_file(path: Path, shared: Mapping[str, Fragment] | None = None) -> dict[str, str]:
    """The views one file defines: name -> its ``CREATE VIEW`` statement, in file order."""
    own, statements = _parse(path.read_text(encoding="utf-8"), path.name)
    clash = set(own) & set(shared or {})
    if clash:
        raise ViewFileError(f"{path.name}: redefines shared fragments {sorted(clash)}")
    fragments = {**(shared or {}), **own}
    views: dict[str, str] = {}
    for statement in statements:
        statement = expand(statement, fragments, path.name)
        match = _VIEW_NAME.match(statement)
        if match is None:
            raise ViewFileError(f"{path.name}: only CREATE VIEW statements belong here: {statement[:80]!r}")
        views[match["name"]] = statement
    return views


def versions_with_views(views_dir: Path = VIEWS_DIR) -> list[str]:
    """The versions that have a views file, oldest first."""
    return sorted(p.stem for p in views_dir.glob("*.sql") if _VERSION_FILE.match(p.stem))


def read_views(version: str, views_dir: Path = VIEWS_DIR) -> dict[str, str]:
    """The views as of ``version``: each view's latest definition in ``views/NNNN.sql`` with NNNN <= version,
    name -> its ``CREATE VIEW`` statement, in the order the views first appeared."""
    shared = _shared_fragments(views_dir)
    views: dict[str, str] = {}
    for found in versions_with_views(views_dir):
        if found > version:
            break
        views.update(read_views_file(views_dir / f"{found}.sql", shared))
    return views


def create_views(version: str) -> None:
    for statement in read_views(version).values():
        op.execute(statement)


def drop_views(version: str) -> None:
    """Drop the views as of ``version`` (those that exist)."""
    for name in reversed(list(read_views(version))):
        op.execute(f"DROP VIEW IF EXISTS {name}")


def replace_views(current: str, target: str) -> None:
    """Replace the views as of ``current`` with those as of ``target`` (a migration's upgrade, or its
    downgrade the other way round)."""
    drop_views(current)
    create_views(target)


def view_replacement(revision: str, down_revision: str) -> tuple[Callable[[], None], Callable[[], None]]:
    """``upgrade`` and ``downgrade`` for a migration that only changes views: ``revision``'s views replace
    ``down_revision``'s, and back."""

    def upgrade() -> None:
        replace_views(down_revision, revision)

    def downgrade() -> None:
        replace_views(revision, down_revision)

    return upgrade, downgrade

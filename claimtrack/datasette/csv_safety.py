"""Spreadsheet-safe CSV from Datasette, and a byte order mark on request.

A statement, name, note or rationale beginning with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return
would run as a formula when a CSV export is opened in a spreadsheet. Every text cell Datasette writes to
CSV (tables, views, canned queries, arbitrary SQL, streamed or not, the header row too) goes through
:func:`neutralise`, which puts a ``'`` in front of such text (OWASP's advice). Numbers are written as
numbers (-5 stays -5): the rule looks at the value's Python type, before the csv module turns it into text.
JSON keeps the exact text.

Datasette 0.65 writes every CSV with ``csv.writer`` in ``datasette.views.base`` (``DataView.as_csv``);
:func:`install` swaps that module's ``csv`` for :data:`SAFE_CSV`, whose writer neutralises each cell and
hands the row to the real writer.

``&_bom=1`` on any ``.csv`` URL starts the file with a UTF-8 byte order mark, which some spreadsheets need
to show Arabic and other non-Latin text (:func:`add_bom_when_asked`, in the ASGI layer).
"""

from __future__ import annotations

import csv
import types
from collections.abc import Awaitable, Callable, Iterable
from typing import Any
from urllib.parse import parse_qs

FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
BOM = "\ufeff".encode("utf-8")


def neutralise(value: Any) -> Any:
    """Text that a spreadsheet would read as a formula, prefixed with ``'``; every other value as it is."""
    if isinstance(value, str) and value.startswith(FORMULA_TRIGGERS):
        return "'" + value
    return value


class _SafeWriter:
    def __init__(self, writer: Any) -> None:
        self._writer = writer

    def writerow(self, row: Iterable[Any]) -> Any:
        # Datasette's writer writes to an async stream: return what the real writer returns (a coroutine).
        return self._writer.writerow([neutralise(cell) for cell in row])

    def writerows(self, rows: Iterable[Iterable[Any]]) -> None:
        for row in rows:
            self.writerow(row)

    @property
    def dialect(self) -> Any:
        return self._writer.dialect


def _safe_writer(csvfile: Any, *args: Any, **kwargs: Any) -> _SafeWriter:
    return _SafeWriter(csv.writer(csvfile, *args, **kwargs))


# The csv module as Datasette sees it: everything as in the standard one, except writer.
SAFE_CSV = types.ModuleType("claimtrack_safe_csv")
SAFE_CSV.__dict__.update({name: getattr(csv, name) for name in dir(csv) if not name.startswith("__")})
SAFE_CSV.writer = _safe_writer  # type: ignore[attr-defined]


def install() -> None:
    """Make Datasette's CSV views write through :func:`neutralise` (idempotent)."""
    from datasette.views import base

    current = getattr(base, "csv", None)
    if current is not csv and current is not SAFE_CSV:
        # A Datasette that no longer writes CSV through this module would silently export formulas.
        raise RuntimeError("datasette.views.base no longer uses the csv module: review claimtrack's CSV safety")
    base.csv = SAFE_CSV


# --- &_bom=1 -----------------------------------------------------------------------------------

Scope = dict[str, Any]
ASGIApp = Callable[[Scope, Callable[[], Awaitable[Any]], Callable[[Any], Awaitable[None]]], Awaitable[None]]


def wants_bom(scope: Scope) -> bool:
    if scope.get("type") != "http" or not scope.get("path", "").endswith(".csv"):
        return False
    query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
    return query.get("_bom", [""])[-1] in ("1", "on", "true")


def add_bom_when_asked(app: ASGIApp) -> ASGIApp:
    """ASGI middleware: a successful .csv response asked for with _bom=1 starts with a UTF-8 BOM."""

    async def wrapped(scope: Scope, receive: Any, send: Any) -> None:
        if not wants_bom(scope):
            await app(scope, receive, send)
            return
        pending = {"bom": False}

        async def send_with_bom(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start" and message.get("status") == 200:
                pending["bom"] = scope.get("method") != "HEAD"
                headers = []
                for name, value in message.get("headers", []):
                    if name.lower() == b"content-length" and pending["bom"]:
                        value = str(int(value) + len(BOM)).encode()
                    headers.append((name, value))
                message = dict(message, headers=headers)
            elif message["type"] == "http.response.body" and pending["bom"]:
                pending["bom"] = False
                message = dict(message, body=BOM + message.get("body", b""))
            await send(message)

        await app(scope, receive, send_with_bom)

    return wrapped

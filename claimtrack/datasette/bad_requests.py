"""Datasette 0.65 answers some malformed query-string arguments with a 500 and Python's own wording
(``_sort=nonexist``, ``id__gt=99999999999999999999999``, ``_next=garbage`` or ``_next=99999999999999999999``
on a view, ``id__in=[1``, ``_timelimit=abc``, ``__in=[{}]``, ``_through`` that is not a JSON object with table, column and value, a NUL character in ``_where`` or ``_facet``, a database's ``.csv``
without ``sql=``). These are the visitor's mistakes, not the server's: :func:`as_bad_request` turns them
into a 400 with a message that names the argument, which Datasette's own error page then renders (HTML or
JSON as the URL asks).
"""

from __future__ import annotations

import json
import re
import sqlite3
from typing import Any

from datasette.utils.asgi import BadRequest
from datasette.views.base import DatasetteError

SQLITE_INTEGER_RANGE = "-9223372036854775808 to 9223372036854775807"
SQLITE_MAX_INTEGER = 2**63 - 1
OUT_OF_RANGE = f"A number in the URL is out of range: SQLite integers run from {SQLITE_INTEGER_RANGE}."
# Datasette raises these as DatasetteError with its default status, 500, though the URL is at fault.
_CLIENT_MISTAKES = ("Cannot sort table by ", "Cannot use _sort and _sort_desc", "Invalid _through")
THROUGH_SHAPE = '_through must be JSON: {"table": ..., "column": ..., "value": ...}'
_INT_ARGS = {
    "_timelimit": "_timelimit must be a whole number of milliseconds",
    "_facet_size": "_facet_size must be a whole number or max",
    "_next": "_next must be the value given in a page's next link (next_url)",
}


def _is_int(value: str) -> bool:
    return re.fullmatch(r"\s*[-+]?\d+\s*", value) is not None


def _explain_value_error(request: Any, exception: ValueError) -> str:
    args = request.args
    for name, message in _INT_ARGS.items():
        for value in args.getlist(name):
            if not _is_int(value) and not (name == "_facet_size" and value == "max"):
                return f"{message} (got {value!r})"
    for key in args:
        if key.endswith(("__in", "__notin")):
            for value in args.getlist(key):
                if value.startswith("["):
                    try:
                        json.loads(value)
                    except ValueError:
                        return f"{key} takes a JSON list such as [1, 2] or comma-separated values (got {value!r})"
    if "_through" in args:
        return THROUGH_SHAPE
    return f"Invalid argument in the URL: {exception}"


def _holds_non_scalars(value: str) -> bool:
    try:
        items = json.loads(value) if value.startswith("[") else []
    except ValueError:
        return False
    return isinstance(items, list) and any(isinstance(item, (dict, list)) for item in items)


def _next_out_of_range(request: Any) -> bool:
    """A view's _next is its OFFSET: a number past SQLite's integers binds as a real, which OFFSET refuses."""
    return any(_is_int(value) and abs(int(value)) > SQLITE_MAX_INTEGER for value in request.args.getlist("_next"))


def _database_csv_without_sql(request: Any) -> bool:
    # /data/claimtrack.csv: a database has no rows of its own to export (Datasette fails looking for columns).
    return request.path.endswith(".csv") and request.path.count("/") == 1 and not request.args.get("sql")


def as_bad_request(request: Any, exception: Exception) -> BadRequest | None:
    """The 400 to answer instead of a 500, or None if the exception is not the visitor's mistake."""
    if isinstance(exception, DatasetteError):
        if exception.status == 500 and str(exception.message).startswith(_CLIENT_MISTAKES):
            return BadRequest(str(exception.message))
        return None
    if isinstance(exception, OverflowError):
        # e.g. id__gt=99999999999999999999999: pysqlite cannot bind the number.
        return BadRequest(OUT_OF_RANGE)
    if isinstance(exception, sqlite3.IntegrityError) and "datatype mismatch" in str(exception):
        return BadRequest(OUT_OF_RANGE) if _next_out_of_range(request) else None
    if isinstance(exception, sqlite3.ProgrammingError) and "binding parameter" in str(exception):
        # __in=[{}] or [[1]]: valid JSON, but SQLite binds only numbers, text and null.
        for key in request.args:
            if key.endswith(("__in", "__notin")) and _holds_non_scalars(request.args[key]):
                return BadRequest(
                    f"{key} takes a JSON list of numbers or strings such as [1, 2] (got {request.args[key]!r})"
                )
        return None
    if isinstance(exception, sqlite3.ProgrammingError) and "null character" in str(exception):
        # %00 pasted into _where, _facet or the like reaches the SQL text, which cannot hold it.
        return BadRequest("The URL holds a NUL character (%00), which SQL cannot contain: remove it.")
    if isinstance(exception, KeyError) and _database_csv_without_sql(request):
        return BadRequest(
            "A database has no CSV of its own: export a table or view (/data/claimtrack/claims.csv) "
            "or a query (?sql=...)."
        )
    if isinstance(exception, (KeyError, TypeError)) and "_through" in request.args:
        # Valid JSON of another shape ({}, [], 1): Datasette indexes it as that object and fails.
        return BadRequest(THROUGH_SHAPE)
    if isinstance(exception, ValueError):  # int() of a non-number, json.loads() of broken JSON
        return BadRequest(_explain_value_error(request, exception))
    return None

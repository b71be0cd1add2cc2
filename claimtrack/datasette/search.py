"""Fast ``?_search=`` pages on big tables and views.

Per search page Datasette runs the page's rows (fast: the FTS match drives them), then a ``count(*)`` of every
match, each default facet (a GROUP BY over every match) and a suggestion query per column. On a million
claims a common word matched 160,000 of them and the page took 3.3-4.1 s, nearly all of it in the count,
facets and suggestions (the match itself: 0.2 ms).

So before a search page is rendered, the matches are counted up to a cap (``search_detail_limit`` in the
plugin's metadata, default 10,000; the filtered SELECT with ``LIMIT cap + 1``, which stops early). Up to
the cap, the page is Datasette's as always, with its exact count and facets. Past it, this request's
count, facet and suggestion queries are refused at once (:func:`claimtrack.datasette.limits.skipped_on_big_search`, in
:class:`~claimtrack.datasette.limits.LimitedDatabase`), so Datasette shows the rows without them, and the
page says "more than 10,000 match" and how to narrow the search (templates/_description_source_license.html).
URLs and links are unchanged: a narrower search gets its count and facets back.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import parse_qsl

from datasette.utils import escape_sqlite, tilde_decode

from claimtrack.datasette import exports
from claimtrack.datasette.limits import BIG_SEARCH

Scope = dict[str, Any]
ASGIApp = Callable[[Scope, Callable[[], Awaitable[Any]], Callable[[Any], Awaitable[None]]], Awaitable[None]]

DEFAULT_DETAIL_LIMIT = 10_000
_PAGE_PATH = re.compile(r"^/(?P<database>[^/]+)/(?P<table>[^/.]+)(?:\.json)?$")
# Datasette's where clause for ?_search=: "<pk> in (select rowid from <fts> where <fts> match ...)".
_SEARCH_CLAUSE = re.compile(r"^\S+ in \((select rowid from .+ match .+)\)$", re.S | re.I)


def detail_limit(datasette: Any, plugin_name: str) -> int:
    config = datasette.plugin_config(plugin_name) or {}
    return int(config.get("search_detail_limit", DEFAULT_DETAIL_LIMIT))


async def matches_over(datasette: Any, database: str, scope: Scope, receive: Any, cap: int) -> bool:
    """Whether this request is a search page (HTML or JSON) whose filtered rows pass ``cap``."""
    match = _PAGE_PATH.match(scope.get("path", ""))
    if scope.get("type") != "http" or scope.get("method") not in ("GET", "HEAD") or match is None:
        return False
    if tilde_decode(match["database"]) != database:
        return False
    args = parse_qsl(scope.get("query_string", b"").decode("latin-1"), keep_blank_values=True)
    if not any(key == "_search" or key.startswith("_search_") for key, value in args if value.strip()):
        return False
    table = tilde_decode(match["table"])
    db = datasette.get_database(database)
    if not (await db.table_exists(table) or await db.get_view_definition(table)):
        return False
    try:
        where, params = await exports.build_where(datasette, database, table, args, scope, receive)
        if not where:
            return False
        searches = [m[1] for m in map(_SEARCH_CLAUSE.match, where) if m]
        if searches:
            # The full-text match alone, capped, costs a few ms; the filtered count below makes SQLite list
            # every match first (IN (subquery)), 100+ ms for a common word at a million claims. Filters only
            # remove rows: at most cap matches means a small page, and with no other filter, more means a big one.
            fts = await db.execute(f"SELECT count(*) FROM ({searches[0]} LIMIT {cap + 1})", params)
            if fts.first()[0] <= cap:
                return False
            if len(where) == 1:
                return True
        found = await db.execute(
            f"SELECT count(*) FROM (SELECT 1 FROM {escape_sqlite(table)} WHERE {' AND '.join(where)} LIMIT {cap + 1})",
            params,
        )
    except Exception:
        return False
    return found.first()[0] > cap


def fast_search(datasette: Any, database: str, plugin_name: str, app: ASGIApp) -> ASGIApp:
    """ASGI wrapper: a search page past the cap is answered without its count, facets and suggestions."""

    async def wrapped(scope: Scope, receive: Any, send: Any) -> None:
        cap = detail_limit(datasette, plugin_name)
        if scope.get("type") != "http" or cap <= 0 or not await matches_over(datasette, database, scope, receive, cap):
            await app(scope, receive, send)
            return
        token = BIG_SEARCH.set(cap)
        try:
            await app(scope, receive, send)
        finally:
            BIG_SEARCH.reset(token)

    return wrapped

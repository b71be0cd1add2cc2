"""claimtrack's own Datasette hooks: links from Datasette back to the app, and one search over everything.

- Every claim shown in Datasette links to its page in the app (``/claims/<id>``): on the claims table the
  statement's text carries the link, on a claim's row page its id does, and in the research views and
  query results the ``claim_id`` and ``other_id`` cells do.
- Datasette's menu and the claims table's actions lead back to the app.
- ``/data/-/search?q=...`` searches the statements, speakers and sources at once (their full-text
  indexes), rendered on the server: no script, so it works under the strict content security policy.
- datasette-leaflet (installed with datasette-dashboards) adds an inline script with its asset URLs to
  every page, for map plugins we do not use; outside the dashboards (the only pages whose policy allows
  inline scripts) the content security policy would block it and log an error, so it is left out there.

The app's address comes from the metadata (``plugins.claimtrack.app_url``, default ``/``: the app and
Datasette are served from one origin). Registered by :func:`claimtrack.datasette.make_datasette`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote_plus

import markupsafe
from datasette import Forbidden, hookimpl
from datasette.database import QueryInterrupted
from datasette.utils import escape_fts as datasette_escape_fts
from datasette.utils.asgi import Response

from claimtrack.datasette import bad_requests, limits
from claimtrack.services.common import fts_query
from claimtrack.services.search import FTS as SEARCH_FTS
from claimtrack.services.search import match_all

PLUGIN_NAME = "claimtrack"
DATABASE = "claimtrack"
# Views and query results whose claim_id / other_id columns hold claims ids (in tables they are foreign
# keys, which Datasette already links to the claims row).
CLAIM_ID_COLUMNS = ("claim_id", "other_id")
VIEWS = {"claim_links_readable", "contested_claims", "event_timeline", "speaker_claims"}


def app_url(datasette: Any) -> str:
    config = datasette.plugin_config(PLUGIN_NAME) or {}
    url = str(config.get("app_url") or "/")
    return url if url.endswith("/") else url + "/"


def claim_url(datasette: Any, claim_id: int) -> str:
    return f"{app_url(datasette)}claims/{claim_id}"


def _app_link(datasette: Any, claim_id: int, text: str) -> markupsafe.Markup:
    return markupsafe.Markup('<a class="claimtrack-app-link" href="{}" title="{}">{}</a>').format(
        claim_url(datasette, claim_id), f"Claim {claim_id} in the claimtrack app", text
    )


@hookimpl
def render_cell(row: Any, value: Any, column: str, table: str | None, database: str, datasette: Any) -> Any:
    if database != DATABASE or isinstance(value, bool) or not (isinstance(value, (int, str)) and value != ""):
        return None
    if table == "claims":
        keys = row.keys() if hasattr(row, "keys") else ()
        claim_id = row["id"] if "id" in keys else None
        if not isinstance(claim_id, int):
            return None
        if column == "id":  # a claim's row page: its id leads to the app
            return markupsafe.Markup("{} &middot; {}").format(
                claim_id, _app_link(datasette, claim_id, "open in the app")
            )
        if column == "text" and isinstance(value, str):
            # The statement carries the link, in full (at most 5,000 characters) as on the row page.
            return markupsafe.Markup("{} {}").format(value, _app_link(datasette, claim_id, "↗ app"))
        return None
    if column in CLAIM_ID_COLUMNS and isinstance(value, int) and (table is None or table in VIEWS):
        return _app_link(datasette, value, str(value))
    return None


def escape_fts(query: str) -> str:
    """Datasette's quoting of a ``?_search=`` for FTS5, without its two errors: a NUL (an unterminated
    string in FTS5) separates words, and a search with no word left (a lone quote mark) matches nothing
    instead of being an empty, invalid query, as ``_search=" "`` already does."""
    return datasette_escape_fts(query.replace("\x00", " ")) or '""'


# Last, so that this escape_fts replaces the one Datasette's own hook registers.
@hookimpl(trylast=True)
def prepare_connection(conn: Any, database: str) -> None:
    # Only the claims database takes public SQL; Datasette's own _internal database is left as it is.
    if database == DATABASE:
        limits.prepare_connection(conn)
        conn.create_function("escape_fts", 1, escape_fts, deterministic=True)


@hookimpl(tryfirst=True)
def handle_exception(datasette: Any, request: Any, exception: Exception) -> Any:
    bad_request = bad_requests.as_bad_request(request, exception)
    if bad_request is None:
        return None
    # Datasette's own handler renders it (its error page, or JSON for .json URLs) with status 400.
    from datasette.handle_exception import handle_exception as render_error

    return render_error(datasette=datasette, request=request, exception=bad_request)


LEAFLET_CONFIG_MARK = "datasette.leaflet = {"
DASHBOARD_TEMPLATES = ("dashboard_view.html", "dashboard_chart.html")


@hookimpl(wrapper=True)
def extra_body_script(template: str, datasette: Any) -> Any:
    scripts = yield
    if template in DASHBOARD_TEMPLATES:
        return scripts
    return [s for s in scripts if not (isinstance(s, str) and LEAFLET_CONFIG_MARK in s)]


@hookimpl
def extra_css_urls(datasette: Any) -> list[str]:
    from claimtrack.datasette import STATIC_MOUNT

    return [datasette.urls.path(f"/{STATIC_MOUNT}/claimtrack.css")]


@hookimpl
def menu_links(datasette: Any) -> list[dict[str, str]]:
    return [
        {"href": datasette.urls.path("/-/search"), "label": "Search statements, speakers and sources"},
        {"href": app_url(datasette), "label": "claimtrack app (fact-checkers' pages)"},
    ]


@hookimpl
def table_actions(datasette: Any, database: str, table: str) -> list[dict[str, str]] | None:
    if database == DATABASE and table == "claims":
        return [{"href": f"{app_url(datasette)}claims", "label": "Browse these claims in the claimtrack app"}]
    return None


# --- search across tables -------------------------------------------------------------------


@dataclass(frozen=True)
class Searchable:
    table: str
    title: str
    fts: str  # the full-text table searched
    sql: str  # :q is the FTS5 query made from the typed words; rows: id, label, detail (best matches first)
    # Builds the FTS5 query from the typed words (operators literal); the claims use the app's search.
    query: Callable[[str | None], str | None] = fts_query


def searchable(
    table: str, title: str, fts: str, label: str, detail: str, join: str = "", query: Callable[..., Any] = fts_query
) -> Searchable:
    """``table`` (as ``t``, with ``join``) searched through its full-text table ``fts``, best matches first,
    each shown as ``label`` with ``detail`` (SQL expressions)."""
    sql = f"""SELECT t.id, {label} AS label, {detail} AS detail
        FROM {fts} f JOIN {table} t ON t.id = f.rowid {join}
        WHERE f.{fts} MATCH :q ORDER BY f.rank LIMIT :limit"""
    return Searchable(table, title, fts, sql, query)


SEARCHABLE = (
    # The statements as the app's list finds them: stems and word prefixes ("finish" finds "finished"), in
    # the statement, its speaker's name and its sources (claims_fts_search, migration 0007).
    searchable(
        "claims", "Statements", SEARCH_FTS, "t.text", "sp.name", "JOIN speakers sp ON sp.id = t.speaker_id", match_all
    ),
    searchable("speakers", "Speakers", "speakers_fts", "t.name", "t.kind"),
    searchable("sources", "Sources", "sources_fts", "coalesce(t.title, t.url, t.outlet)", "t.outlet"),
)
SEARCH_LIMIT = 5


@dataclass
class SearchResult:
    table: str
    title: str
    url: str  # the table's own search, with every match
    count: int | None = None  # None: the search took too long
    rows: list[dict[str, Any]] = field(default_factory=list)


# The page: templates/claimtrack_search.html (Datasette's template_dir, see make_datasette).
SEARCH_TEMPLATE = "claimtrack_search.html"


async def _can_view(datasette: Any, request: Any, table: str) -> bool:
    try:
        await datasette.ensure_permissions(
            request.actor, [("view-table", (DATABASE, table)), ("view-database", DATABASE), "view-instance"]
        )
    except Forbidden:
        return False
    return True


async def search_everything(request: Any, datasette: Any) -> Response:
    q = (request.args.get("q") or "").strip()
    results: list[SearchResult] = []
    db = datasette.get_database(DATABASE)
    for searchable in SEARCHABLE:
        # The app's quoting, not Datasette's escape_fts (which NULs and some stray quotes turn into FTS5
        # syntax errors): every word must appear, operators are literal.
        fts = searchable.query(q)
        if fts:
            if not await _can_view(datasette, request, searchable.table):
                continue
            table_url = datasette.urls.table(DATABASE, searchable.table)
            result = SearchResult(searchable.table, searchable.title, f"{table_url}?_search={quote_plus(q)}")
            try:
                count = await db.execute(
                    f"SELECT count(*) FROM {searchable.fts} WHERE {searchable.fts} MATCH :q", {"q": fts}
                )
                result.count = count.first()[0]
                found = await db.execute(searchable.sql, {"q": fts, "limit": SEARCH_LIMIT})
            except QueryInterrupted:
                result.count, found = None, None
            for row in found or ():
                result.rows.append(
                    {
                        "id": row["id"],
                        "label": row["label"],
                        "detail": row["detail"],
                        "url": f"{table_url}/{row['id']}",
                        "app_url": claim_url(datasette, row["id"]) if searchable.table == "claims" else None,
                    }
                )
            results.append(result)
    return Response.html(
        await datasette.render_template(SEARCH_TEMPLATE, {"q": q, "results": results}, request=request)
    )


@hookimpl
def register_routes() -> list[tuple[str, Any]]:
    return [(r"^/-/search$", search_everything)]


@hookimpl
def asgi_wrapper(datasette: Any) -> Any:
    from claimtrack.datasette.exports import fast_csv
    from claimtrack.datasette.search import fast_search

    # Whole CSV exports in one pass (exports.py), search pages past a cap without their count and facets
    # (search.py); every other request goes to Datasette as before. "fast_csv": false in the plugin's
    # metadata leaves every export to stock Datasette.
    fast_exports = (datasette.plugin_config(PLUGIN_NAME) or {}).get("fast_csv", True) is not False

    def wrap(app: Any) -> Any:
        app = fast_search(datasette, DATABASE, PLUGIN_NAME, app)
        return fast_csv(datasette, DATABASE, app) if fast_exports else app

    return wrap


@hookimpl
def extra_template_vars(datasette: Any) -> dict[str, Any]:
    return {
        # The cap, on a search page that passed it (templates/_description_source_license.html says so).
        "claimtrack_search_cap": limits.BIG_SEARCH.get(),
        # The app's icon: without one named, browsers asked every Datasette page's /favicon.ico, a 404.
        "claimtrack_icon_url": f"{app_url(datasette)}static/favicon.svg",
    }

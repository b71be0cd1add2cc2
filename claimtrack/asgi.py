"""One ASGI application at one address: Datasette under /data/, the Flask app everywhere else."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import parse_qsl, unquote

from a2wsgi import WSGIMiddleware
from flask import Flask

from claimtrack import create_app
from claimtrack.allocator import collect_young_garbage, stop_sqlite_memory_statistics, tune_gc, tune_malloc
from claimtrack.config import DATA_PREFIX, Settings
from claimtrack.datasette import make_datasette
from claimtrack.datasette.csv_safety import add_bom_when_asked
from claimtrack.security import security_headers

Scope = dict[str, Any]  # an ASGI connection scope
ASGIApp = Callable[[Scope, Callable[[], Awaitable[Any]], Callable[[Any], Awaitable[None]]], Awaitable[None]]
READ_METHODS = ("GET", "HEAD")
# Datasette's introspection pages, hidden from everyone (nobody signs in to Datasette): databases shows
# the database file's absolute path, threads the server's threads, versions the exact Python, SQLite
# build and compile options; researchers get SQLite's version from SQL (select sqlite_version()).
HIDDEN_DATASETTE_PATHS = re.compile(r"/-/(databases|threads|versions)(\.json)?/*")


def _strip_prefix(scope: Scope) -> Scope:
    # Datasette writes links under base_url but routes on paths without it: strip it from both
    # path and raw_path (a missing raw_path breaks Datasette's 404 page).
    scope = dict(scope)
    path = scope["path"][len(DATA_PREFIX) :] or "/"
    scope["path"] = path
    raw = scope.get("raw_path") or scope["path"].encode()
    raw = raw[len(DATA_PREFIX) :] if raw.startswith(DATA_PREFIX.encode()) else raw
    scope["raw_path"] = raw or b"/"
    return scope


def compose(flask_app: Flask, datasette_app: ASGIApp) -> ASGIApp:
    wsgi = WSGIMiddleware(flask_app)  # type: ignore[arg-type]

    async def app(scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            await datasette_app(scope, receive, send)
            return
        path = scope.get("path", "")
        if scope["type"] == "http" and path == DATA_PREFIX:
            await _redirect(send, DATA_PREFIX + "/")
        elif path.startswith(DATA_PREFIX + "/"):
            inner = _strip_prefix(scope)
            if scope["type"] == "http" and scope.get("method", "GET") not in READ_METHODS:
                # Datasette is published read-only (no writable canned queries, no sign-in); its POST
                # handlers for tables and read-only canned queries fail with a 500, so refuse other methods here.
                await _plain_text(
                    send,
                    405,
                    "Method not allowed: the open data under /data/ is read-only.",
                    ((b"allow", b"GET, HEAD"),),
                )
            elif _is_hidden(inner):
                await _plain_text(send, 404, "Not found.")
            elif _nul_in_facet(inner):
                await _plain_text(send, 400, "A facet name cannot hold a NUL character (%00): remove it from _facet.")
            else:
                try:
                    await datasette_app(inner, receive, send)
                finally:
                    # Its table pages leave their rows in reference cycles: free them now, not a few
                    # pages later (claimtrack/allocator.py).
                    collect_young_garbage()
        else:
            await wsgi(scope, receive, send)  # type: ignore[arg-type]  # a2wsgi types scopes as TypedDicts

    return app


def _is_hidden(scope: Scope) -> bool:
    # Datasette routes on raw_path: check it decoded (%2E is a dot) and the decoded path, with any run
    # of slashes taken as one, as a router might.
    raw = scope.get("raw_path") or b""
    candidates = {scope.get("path", ""), unquote(raw.decode("latin-1"))}
    return any(HIDDEN_DATASETTE_PATHS.fullmatch(re.sub(r"/+", "/", path)) for path in candidates)


def _nul_in_facet(scope: Scope) -> bool:
    # Datasette computes a page's facets together and fails with a 500 on SQL text holding a NUL, dropping
    # the other facets half-run; refuse it before any of them starts (other arguments: bad_requests.py).
    query = scope.get("query_string", b"").decode("latin-1")
    return any(
        name.startswith("_facet") and "\x00" in value for name, value in parse_qsl(query, keep_blank_values=True)
    )


async def _plain_text(send: Any, status: int, text: str, headers: tuple[tuple[bytes, bytes], ...] = ()) -> None:
    """A whole response of ``text`` as plain text, answered here without waking Flask or Datasette."""
    body = text.encode()
    content = [(b"content-type", b"text/plain; charset=utf-8"), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": [*headers, *content]})
    await send({"type": "http.response.body", "body": body})


async def _redirect(send: Any, location: str) -> None:
    await send({"type": "http.response.start", "status": 302, "headers": [(b"location", location.encode())]})
    await send({"type": "http.response.body", "body": b""})


def create_asgi_app(flask_app: Flask | None = None, settings: Settings | None = None) -> ASGIApp:
    """The application uvicorn serves (``claimtrack serve``); tests build it around their own Flask app."""
    settings = settings or Settings.from_env()
    flask_app = flask_app or create_app()
    datasette = make_datasette(flask_app.config["DATABASE"], settings.metadata_path)
    return security_headers(compose(flask_app, add_bom_when_asked(datasette.app())))


def serve_app() -> ASGIApp:
    """What ``claimtrack serve`` runs in each worker process: the allocator tuned and SQLite's memory
    statistics off (claimtrack/allocator.py) before any request thread starts, then the application, then
    the garbage collector (start-up's objects frozen once they are all made)."""
    tune_malloc()
    stop_sqlite_memory_statistics()
    app = create_asgi_app()
    tune_gc()
    return app

"""The fact-checkers' web app: blueprints, CSRF, error pages and template helpers."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from flask import Flask, current_app, g, render_template, request, session
from flask_login import current_user
from flask_wtf.csrf import CSRFError, CSRFProtect
from markupsafe import Markup
from werkzeug.exceptions import HTTPException
from werkzeug.routing import IntegerConverter
from werkzeug.wrappers import Response

from claimtrack.models import SPEAKER_KIND_LABELS, SpeakerKind
from claimtrack.services.errors import StorageFull, WriterBusy, is_storage_full
from claimtrack.web import claim_page, display, graphics, pieces
from claimtrack.web.api import routes as api_routes
from claimtrack.web.auth.access import init_access
from claimtrack.web.database import close_session, init_database
from claimtrack.web.urls import record_url, site_url

csrf = CSRFProtect()
# Confirmations ("Claim recorded (claim 42).") wait in the session cookie until a page shows them. A client
# that saves form after form without loading the page it is sent to (a script, a load test) piled up one per
# save: after 500 saves, reading and re-signing the session took more than half of a write's time (cProfile:
# 2.9 s of 5.3 s for 300 writes). The newest few are all a page would show anyway.
MAX_PENDING_MESSAGES = 5


class RowIdConverter(IntegerConverter):
    """``<int:...>`` in routes, bounded to SQLite's integer range: a larger id is a 404, not an overflow.

    ASCII digits only: ``\\d`` would also route ``/claims/١`` (an Arabic-Indic one) to claim 1.
    """

    regex = r"[0-9]+"

    def __init__(self, url_map: Any, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("max", 2**63 - 1)
        super().__init__(url_map, *args, **kwargs)


def init_web(app: Flask) -> None:
    app.url_map.converters["int"] = RowIdConverter
    init_database(app)
    csrf.init_app(app)
    init_access(app)

    from claimtrack.web.api.routes import bp as api_bp
    from claimtrack.web.auth.routes import bp as auth_bp
    from claimtrack.web.claims.routes import bp as claims_bp
    from claimtrack.web.events.routes import bp as events_bp
    from claimtrack.web.sources.routes import bp as sources_bp
    from claimtrack.web.speakers.routes import bp as speakers_bp

    for bp in (api_bp, claims_bp, speakers_bp, sources_bp, events_bp, auth_bp):
        app.register_blueprint(bp)

    app.jinja_env.globals.update(
        page_url=page_url,
        record_url=record_url,
        site_url=site_url,
        graph_figure=graph_figure,
        kind_label=kind_label,
        history_who=history_who,
        datasette_url=app.config["DATASETTE_URL"],
        link_list=claim_page.link_list,
        **pieces.GLOBALS,
    )
    display.register(app)
    app.jinja_env.trim_blocks = True
    app.jinja_env.lstrip_blocks = True
    _register_error_handlers(app)
    app.after_request(_keep_newest_messages)


def _keep_newest_messages(response: Response) -> Response:
    pending = session.get("_flashes")
    if pending is not None and len(pending) > MAX_PENDING_MESSAGES:
        session["_flashes"] = pending[-MAX_PENDING_MESSAGES:]
    return response


def kind_label(kind: str | None) -> str:
    try:
        return SPEAKER_KIND_LABELS[SpeakerKind(kind)]
    except ValueError:
        return kind or ""


def history_who(username: str) -> str:
    """Who made a change, as this reader may see it (CLAIMTRACK_HISTORY_NAMES; editors always see names)."""
    if current_user.is_editor or current_app.config.get("HISTORY_NAMES") == "public":
        return username
    return "an editor"


def graph_figure(picture: graphics.Picture, graph_id: str) -> Markup:
    """_graph.html's figure, each statement linking to its claim's page (graphics.figure_html)."""
    return graphics.figure_html(picture, graph_id, lambda claim_id: record_url("claims.show", claim_id))


def page_url(**changes: Any) -> str:
    """The current list URL with some query arguments changed (``None`` drops one): filters survive paging."""
    args = {k: v for k, v in request.args.items() if k not in ("before", "after")}
    args.update(changes)
    query = urlencode({k: v for k, v in args.items() if v not in (None, "")})
    return request.path + ("?" + query if query else "")


def _register_error_handlers(app: Flask) -> None:
    @app.errorhandler(CSRFError)
    def csrf_error(exc: CSRFError) -> tuple[str, int]:
        return render_template(
            "error.html",
            title="Form expired or incomplete",
            message="The form was missing its security token or the token had expired. "
            "Go back, reload the page and submit the form again; nothing was saved.",
        ), 400

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException) -> tuple[str, int] | Response:
        if api_routes.answers_json(request.path):
            return api_routes.http_error(exc)
        return render_template("error.html", title=f"{exc.code} {exc.name}", message=exc.description), exc.code or 500

    @app.errorhandler(Exception)
    def server_error(exc: Exception) -> tuple[str, int]:
        # Anything unexpected: roll back whatever the request had open and show a calm, truthful page.
        close_session()
        if isinstance(exc, StorageFull) or is_storage_full(exc):
            app.logger.error("Storage full on %s: %s", request.path, exc)
            return render_template("error.html", title="Storage full", message=str(StorageFull())), 503
        if isinstance(exc, WriterBusy):  # a write outside the form pages waited too long: nothing was stored
            return render_template("error.html", title="Busy", message=str(exc)), 503
        app.logger.exception("Unhandled error on %s", request.path)
        if g.get("write_committed"):
            # The change is stored; only what came after it failed. Saying "nothing was saved" would
            # make the editor enter it a second time.
            return render_template(
                "error.html",
                title="Saved, but the next page failed",
                message="Your change was saved. The page that should have followed could not be shown; "
                "open the record again to see it.",
            ), 500
        return render_template(
            "error.html",
            title="Something went wrong",
            message="The request could not be completed and nothing was saved. Please try again.",
        ), 500

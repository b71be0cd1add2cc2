"""claimtrack: track claims and counterclaims, and publish them as open data.

``create_app`` is the Flask application factory (the fact-checkers' web app). The same database is
published read-only to researchers by Datasette; ``claimtrack.asgi`` serves both from one address.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from flask import Flask

from claimtrack.config import DATA_PREFIX, Settings, load_or_create_secret_key


def create_app(test_config: dict[str, Any] | None = None) -> Flask:
    app = Flask(__name__, template_folder="web/templates", static_folder="web/static")
    settings = Settings.from_env()
    app.config.from_mapping(
        DATABASE=str(settings.db_path),
        ACCOUNTS_DATABASE=str(settings.accounts_db_path),
        SECRET_KEY=settings.secret_key,
        DATASETTE_URL=DATA_PREFIX + "/",
        HISTORY_NAMES=settings.history_names,
        # Every form is small; a bigger body is refused (413) before anything is parsed.
        MAX_CONTENT_LENGTH=1024 * 1024,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        WTF_CSRF_TIME_LIMIT=None,  # tokens live as long as the session: long forms are not lost
    )
    if test_config:
        app.config.from_mapping(test_config)
    if not app.config["SECRET_KEY"]:
        app.config["SECRET_KEY"] = load_or_create_secret_key(Path(app.config["DATABASE"]))

    from claimtrack.web import init_web

    init_web(app)
    return app

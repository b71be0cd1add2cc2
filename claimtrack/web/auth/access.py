"""Who is signed in, and who may do what.

Flask-Login keeps the account id in the (signed, client-side) session cookie together with the account's
session version. Logout, a password change, a role change or disabling the account moves the version on,
so an old cookie, even replayed, no longer signs anyone in.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

from flask import Flask, abort, redirect, request, url_for
from flask.sessions import SecureCookieSessionInterface
from flask_login import AnonymousUserMixin, LoginManager, UserMixin, current_user
from itsdangerous import URLSafeTimedSerializer

from claimtrack.services.accounts import Account, account_by_id
from claimtrack.web.database import accounts_lookup

F = TypeVar("F", bound=Callable[..., Any])
login_manager = LoginManager()


class User(UserMixin):
    def __init__(self, account: Account) -> None:
        self.account = account

    def get_id(self) -> str:
        return f"{self.account.id}:{self.account.session_version}"

    @property
    def username(self) -> str:
        return self.account.username

    @property
    def is_admin(self) -> bool:
        return self.account.is_admin

    @property
    def is_editor(self) -> bool:
        return True  # every account may edit; admins may also manage users


class Anonymous(AnonymousUserMixin):
    username = None
    is_admin = False
    is_editor = False


@login_manager.user_loader
def load_user(user_id: str) -> User | None:
    try:
        account_id, version = (int(part) for part in user_id.split(":", 1))
    except ValueError:
        return None
    # Runs once per signed-in request (Flask-Login keeps the result for the rest of it): one statement.
    with accounts_lookup() as conn:
        account = account_by_id(conn, account_id)
    if account is None or account.disabled or account.session_version != version:
        return None
    return User(account)


class SessionInterface(SecureCookieSessionInterface):
    """Mark the session cookie Secure whenever the request came over HTTPS; keep the cookie's serializer."""

    def __init__(self) -> None:
        self._serializers: dict[tuple[Any, ...], URLSafeTimedSerializer | None] = {}

    def get_cookie_secure(self, app: Flask) -> bool:
        return bool(app.config["SESSION_COOKIE_SECURE"] or (request and request.is_secure))

    def get_signing_serializer(self, app: Flask) -> URLSafeTimedSerializer | None:
        # Flask builds a new serializer on every request, a cookie or none (about 25 µs); it depends only on
        # the keys, so one is kept per secret key and fallbacks (a changed key gets a new one).
        keys = (app.secret_key, tuple(app.config["SECRET_KEY_FALLBACKS"] or ()))
        if keys not in self._serializers:
            self._serializers[keys] = super().get_signing_serializer(app)
        return self._serializers[keys]


def init_access(app: Flask) -> None:
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.login_message = "Sign in to make changes."
    login_manager.anonymous_user = Anonymous
    app.session_interface = SessionInterface()


def _guard(allowed: Callable[[], bool]) -> Callable[[F], F]:
    def decorator(view: F) -> F:
        @functools.wraps(view)
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            if not current_user.is_authenticated:
                if request.method in ("GET", "HEAD"):
                    return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))
                abort(403, description="Sign in as an editor to make changes.")
            if not allowed():
                abort(403, description="Your account may not do this.")
            return view(*args, **kwargs)

        return wrapped  # type: ignore[return-value]

    return decorator


editor_required = _guard(lambda: bool(current_user.is_editor))
admin_required = _guard(lambda: bool(current_user.is_admin))

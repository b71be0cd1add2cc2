"""Sign in and out, change your password, and (admins) manage accounts."""

from __future__ import annotations

from flask import Blueprint, abort, current_app, flash, g, redirect, render_template, request, url_for
from flask import session as flask_session
from flask_login import current_user, login_user, logout_user
from sqlalchemy.exc import OperationalError
from werkzeug.wrappers import Response

from claimtrack.services import accounts
from claimtrack.services.errors import ClaimtrackError
from claimtrack.web.auth.access import User, admin_required, editor_required
from claimtrack.web.auth.forms import (
    LoginForm,
    NewUserForm,
    PasswordForm,
    UserActionForm,
)
from claimtrack.web.database import accounts_session, get_accounts_engine
from claimtrack.web.helpers import apply_error, is_safe_next

bp = Blueprint("auth", __name__)


def _refusal(exc: accounts.TooManyFailures | accounts.LoginUnavailable) -> tuple[str, int, dict[str, str]]:
    """The message, status and Retry-After header for a sign-in refused without checking the password."""
    if isinstance(exc, accounts.LoginUnavailable):
        message = (
            "Sign-in is unavailable: failed sign-ins cannot be recorded right now, so no password is "
            "checked. Try again in a minute; if this persists, the accounts database is full or read-only."
        )
        return message, 503, {"Retry-After": str(exc.retry_after)}
    if exc.per_account:
        message = f"Too many failed sign-ins for this account. Try again in {_duration(exc.retry_after)}."
    else:
        message = "Too many failed sign-ins from here. Wait 15 minutes and try again."
    return message, 429, {"Retry-After": str(exc.retry_after)}


def _duration(seconds: int) -> str:
    if seconds < 60:
        return f"{seconds} second{'s' if seconds != 1 else ''}"
    minutes = -(-seconds // 60)
    return f"{minutes} minute{'s' if minutes != 1 else ''}"


def _authenticate(username: str, password: str) -> accounts.Account | None:
    try:
        engine = get_accounts_engine()
    except OperationalError as exc:  # the accounts file cannot even be opened or migrated
        raise accounts.LoginUnavailable() from exc
    return accounts.authenticate(engine, username, password, request.remote_addr)


def _sign_in(account: accounts.Account) -> None:
    # A new CSRF token for the signed-in session: one seen (or planted) before signing in stops working.
    field = current_app.config.get("WTF_CSRF_FIELD_NAME", "csrf_token")
    flask_session.pop(field, None)
    g.pop(field, None)
    login_user(User(account))


@bp.route("/login", methods=["GET", "POST"])
def login() -> Response | tuple[str, int] | tuple[str, int, dict[str, str]]:
    form = LoginForm(next=request.args.get("next", ""))
    status = 200
    if request.method == "POST":
        status = 400
        if form.validate():
            try:
                account = _authenticate(form.username.data or "", form.password.data or "")
            except (accounts.TooManyFailures, accounts.LoginUnavailable) as exc:
                message, status, headers = _refusal(exc)
                form.password.errors = [message]
                return render_template("auth/login.html", form=form), status, headers
            if account is None:
                form.password.errors = ["Wrong username or password, or the account is disabled."]
                status = 401
            else:
                _sign_in(account)
                target = form.next.data
                return redirect(target if is_safe_next(target) else url_for("claims.index"), code=303)
    return render_template("auth/login.html", form=form), status


@bp.post("/logout")
def logout() -> Response:
    if current_user.is_authenticated:
        with accounts_session(write=True) as session:
            accounts.end_sessions(session, current_user.account.id)
        logout_user()
    return redirect(url_for("claims.index"), code=303)


@bp.route("/account/password", methods=["GET", "POST"])
@editor_required
def change_password() -> Response | tuple[str, int] | tuple[str, int, dict[str, str]]:
    form = PasswordForm()
    status = 200
    if request.method == "POST":
        status = 400
        try:
            # Checked (and limited) like a sign-in, outside the write that sets the new password.
            if _authenticate(current_user.username, form.current_password.data or "") is None:
                form.current_password.errors = ["That is not your current password."]
            else:
                with accounts_session(write=True) as db:
                    account = accounts.set_password(db, current_user.username, form.password.data or "")
                login_user(User(account))  # this session continues with the new version; all others end
                flash("Password changed. Every other session of yours has been signed out.")
                return redirect(url_for("claims.index"), code=303)
        except (accounts.TooManyFailures, accounts.LoginUnavailable) as exc:
            message, status, headers = _refusal(exc)
            form.current_password.errors = [message]
            return render_template("auth/password.html", form=form), status, headers
        except ClaimtrackError as exc:
            status = apply_error(form, exc, "password")
    return render_template("auth/password.html", form=form), status


@bp.route("/admin/users", methods=["GET", "POST"])
@admin_required
def users() -> Response | tuple[str, int]:
    form = NewUserForm()
    status = 200
    if request.method == "POST":
        status = 400
        if form.validate():
            try:
                with accounts_session(write=True) as session:
                    accounts.create_account(session, form.username.data or "", form.password.data or "", form.role.data)
                flash(f"User {form.username.data} added.")
                return redirect(url_for(".users"), code=303)
            except ClaimtrackError as exc:
                status = apply_error(form, exc, "username")
    return _users_page(form, status)


def _users_page(form: NewUserForm, status: int) -> tuple[str, int]:
    with accounts_session() as session:
        all_accounts = accounts.list_accounts(session)
    return render_template("auth/users.html", form=form, accounts=all_accounts), status


@bp.post("/admin/users/<int:account_id>")
@admin_required
def user_action(account_id: int) -> Response | tuple[str, int]:
    form = UserActionForm()
    with accounts_session(write=True) as session:
        account = accounts.get_account(session, account_id)
        if account is None:
            abort(404, description=f"No user with id {account_id}.")
        if account.id == current_user.account.id and form.action.data in ("disable", "role"):
            abort(409, description="You cannot disable yourself or change your own role; ask another admin.")
        try:
            if form.action.data == "disable":
                accounts.set_disabled(session, account.username, True)
            elif form.action.data == "enable":
                accounts.set_disabled(session, account.username, False)
            elif form.action.data == "role":
                accounts.set_role(session, account.username, form.role.data or "")
            elif form.action.data == "password":
                accounts.set_password(session, account.username, form.password.data or "")
            else:
                abort(400, description="Unknown action.")
        except ClaimtrackError as exc:
            # Shown at the top of the users page, which is where the small form was.
            flash(f"{account.username}: {exc}", "error")
            session.rollback()
            return _users_page(NewUserForm(formdata=None), 400)
    flash(f"User {account.username} updated.")
    return redirect(url_for(".users"), code=303)

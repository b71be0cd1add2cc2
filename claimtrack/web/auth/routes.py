"""Sign in and out, change your password, and (admins) manage accounts."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_user, logout_user
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
from claimtrack.web.database import accounts_session
from claimtrack.web.helpers import apply_error, is_safe_next

bp = Blueprint("auth", __name__)


@bp.route("/login", methods=["GET", "POST"])
def login() -> Response | tuple[str, int]:
    form = LoginForm(next=request.args.get("next", ""))
    status = 200
    if request.method == "POST":
        status = 400
        if form.validate():
            try:
                with accounts_session(write=True) as session:
                    account = accounts.authenticate(
                        session, form.username.data or "", form.password.data or "", request.remote_addr or "unknown"
                    )
            except accounts.TooManyFailures:
                form.password.errors = ["Too many failed sign-ins from here. Wait 15 minutes and try again."]
                return render_template("auth/login.html", form=form), 429
            if account is None:
                form.password.errors = ["Wrong username or password, or the account is disabled."]
                status = 401
            else:
                login_user(User(account))
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
def change_password() -> Response | tuple[str, int]:
    form = PasswordForm()
    status = 200
    if request.method == "POST":
        status = 400
        ok = None
        try:
            with accounts_session(write=True) as session:
                ok = accounts.authenticate(
                    session, current_user.username, form.current_password.data or "", request.remote_addr or "unknown"
                )
                if ok is None:
                    form.current_password.errors = ["That is not your current password."]
                else:
                    account = accounts.set_password(session, current_user.username, form.password.data or "")
            if ok is not None:
                login_user(User(account))  # this session continues with the new version; all others end
                flash("Password changed. Every other session of yours has been signed out.")
                return redirect(url_for("claims.index"), code=303)
        except accounts.TooManyFailures:
            form.current_password.errors = ["Too many failed attempts. Wait 15 minutes and try again."]
            status = 429
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

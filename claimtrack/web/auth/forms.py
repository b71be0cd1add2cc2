from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import HiddenField, PasswordField, SelectField, StringField

from claimtrack.services.accounts import MIN_PASSWORD, Role
from claimtrack.web.forms import choice

ROLE_CHOICES = [choice(r.value, r.value.capitalize()) for r in Role]


class LoginForm(FlaskForm):
    username = StringField("Username", render_kw={"autocomplete": "username", "maxlength": 64})
    password = PasswordField("Password", render_kw={"autocomplete": "current-password"})
    next = HiddenField()


class PasswordForm(FlaskForm):
    current_password = PasswordField("Current password", render_kw={"autocomplete": "current-password"})
    password = PasswordField(
        "New password",
        render_kw={"autocomplete": "new-password", "minlength": MIN_PASSWORD},
        description=f"At least {MIN_PASSWORD} characters. Every other session of yours is signed out.",
    )


class NewUserForm(FlaskForm):
    username = StringField("Username", render_kw={"maxlength": 64, "autocomplete": "off"})
    role = SelectField("Role", choices=ROLE_CHOICES, default=Role.editor.value)
    password = PasswordField(
        "Password",
        render_kw={"autocomplete": "new-password", "minlength": MIN_PASSWORD},
        description=f"At least {MIN_PASSWORD} characters; tell the person to change it.",
    )


class UserActionForm(FlaskForm):
    """The small forms on the users page: disable/enable, change role, set a new password."""

    action = HiddenField()
    role = SelectField("Role", choices=ROLE_CHOICES, validate_choice=False)
    password = PasswordField("New password", render_kw={"autocomplete": "new-password"})

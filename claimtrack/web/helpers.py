"""Small pieces the blueprints share: query arguments, form errors and safe redirects."""

from __future__ import annotations

import unicodedata
from collections.abc import Callable
from typing import Any, TypeVar
from urllib.parse import urlsplit

from flask import abort, g, redirect, request, url_for
from flask_wtf import FlaskForm
from werkzeug.wrappers import Response

from claimtrack.services.errors import (
    ClaimtrackError,
    Conflict,
    InvalidInput,
    NotFound,
    StaleEdit,
    StorageFull,
)


def int_arg(name: str) -> int | None:
    """An optional integer query argument; anything else is a 400, not a 500."""
    value = request.args.get(name, "").strip()
    if not value:
        return None
    if not (value.isascii() and value.isdigit()) or len(value) > 18:  # "²".isdigit() is true too
        abort(400, description=f"The query argument {name!r} must be a whole number.")
    return int(value)


def choice_arg(name: str, allowed: set[str]) -> str | None:
    value = request.args.get(name, "").strip()
    if not value:
        return None
    if value not in allowed:
        abort(400, description=f"Unknown {name} {value!r}: use one of {', '.join(sorted(allowed))}.")
    return value


def apply_error(form: FlaskForm, exc: ClaimtrackError, default_field: str) -> int:
    """Put a service error on the form's fields and return the HTTP status to answer with."""
    if isinstance(exc, InvalidInput):
        for field, message in exc.errors.items():
            _add(form, field if field in form else default_field, message)
        return 400
    if isinstance(exc, NotFound):
        _add(form, exc.field if exc.field and exc.field in form else default_field, str(exc))
        return 404
    if isinstance(exc, StorageFull):
        # The form is shown again with what was typed: nothing is lost, and it can be sent again later.
        _add(form, default_field, str(exc))
        return 503
    if isinstance(exc, Conflict):
        # A stale edit is told apart so the page can show what the other person saved (see stale_notice).
        form.stale_edit = isinstance(exc, StaleEdit)
        _add(form, exc.field if exc.field and exc.field in form else default_field, str(exc))
        return 409
    _add(form, default_field, str(exc))
    return 400


def _add(form: FlaskForm, field: str, message: str) -> None:
    form[field].errors = list(form[field].errors or []) + [message]


MAX_NEXT = 2000


def is_safe_next(target: str | None) -> bool:
    """Only plain same-site paths are followed after a form: ``/claims/1``, ``/claims?q=x``.

    No scheme, no host, no ``//host`` or ``\\host``, and no control, invisible or space characters:
    a CR/LF would make the redirect itself fail (after the write committed), and browsers drop tabs
    and newlines from URLs, so ``/\t/evil.example`` would become ``//evil.example``.
    """
    if not target or len(target) > MAX_NEXT or not target.startswith("/") or target.startswith("//"):
        return False
    if "\\" in target or any(unicodedata.category(ch)[0] in "CZ" for ch in target):
        return False
    parts = urlsplit(target)
    return not parts.scheme and not parts.netloc


def redirect_after_post(default_endpoint: str, **values: Any) -> Response:
    target = request.args.get("next") or request.form.get("next")
    location = target if is_safe_next(target) else url_for(default_endpoint, **values)
    return redirect(location, code=303)


T = TypeVar("T")


def process_form(form: FlaskForm, default_field: str, action: Callable[[], T]) -> tuple[T | None, int]:
    """Validate a posted form and run ``action`` (which validates further and writes).

    Returns the action's result and 200, or ``None`` and the status to re-render the form with:
    400 for bad input, 404 for an unknown id, 409 for a clash with stored data, 503 when storage is
    full. A failing action
    has written nothing: its transaction is rolled back.
    """
    if not form.validate():
        return None, 400
    try:
        return action(), 200
    except ClaimtrackError as exc:
        return None, apply_error(form, exc, default_field)


def or_404(func: Callable[..., T], *args: Any) -> T:
    """Call a service; its NotFound becomes the 404 page."""
    try:
        return func(*args)
    except NotFound as exc:
        abort(404, description=str(exc))


def is_stale(form: FlaskForm) -> bool:
    return bool(getattr(form, "stale_edit", False))


def stale_notice(form: FlaskForm, stored: dict[str, Any], version: int, last_change: Any | None) -> dict[str, Any]:
    """After a refused stale edit: what is saved now where it differs from what the editor typed.

    The form keeps the editor's values and now carries the current version, so saving again applies
    them knowingly over the other change.
    """
    # A stale edit is refused only after the input validated, so its message is the form's only error:
    # the notice says it better, next to what changed, than an error pinned to one field.
    for field in form:
        field.errors = []
    differences = []
    for name, saved in stored.items():
        if name in form and _plain(form[name].data) != _plain(saved):
            differences.append((form[name].label.text, _plain(saved) or "(empty)"))
    form.version.data = str(version)
    return {"differences": differences, "by": last_change["username"] if last_change else None,
            "at": last_change["changed_at"] if last_change else None}


def stale_notice_for_row(form: FlaskForm, row: Any, entity: str) -> dict[str, Any]:
    """``stale_notice`` for a form whose fields are columns of the record (sources, events, links)."""
    stored = {field.name: getattr(row, field.name) for field in form
              if field.name not in ("csrf_token", "version") and hasattr(row, field.name)}
    return stale_notice(form, stored, row.version, last_change(entity, row.id))


def _plain(value: Any) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    return "" if value is None else str(value).strip()


def last_change(entity: str, entity_id: int) -> Any | None:
    """The newest history entry of a record (who changed it last, and when)."""
    from claimtrack.services.history import history_for
    from claimtrack.web.database import get_session

    return next(iter(history_for(get_session(), entity, entity_id, limit=1)), None)


def submit(
    form: FlaskForm, default_field: str, save: Callable[[], T], done: Callable[[T], Response]
) -> tuple[Response | None, int]:
    """The POST half of a form page: save, then ``done(result)`` (a redirect), or the status to re-render with.

    A GET gives ``(None, 200)``: show the form.
    """
    if request.method != "POST":
        return None, 200
    result, status = process_form(form, default_field, save)
    if result is None:
        return None, status
    # The write has committed: from here on, a failure must not be reported as "nothing was saved".
    g.write_committed = True
    return done(result), status

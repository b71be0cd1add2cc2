"""Small pieces the blueprints share: query arguments, form errors and safe redirects."""

from __future__ import annotations

import json
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
    NearNames,
    NotFound,
    StorageFull,
    WriterBusy,
)
from claimtrack.services.names import MAX_TYPED, Kind, suggest_names


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
    if isinstance(exc, NearNames):
        # The page lists the similar names to pick from (templates read g.near_names); nothing was saved.
        g.near_names = exc.candidates
        fields = getattr(form, "NAME_FIELDS", {})
        for kind in exc.candidates:
            field = fields.get(kind, default_field)
            _add(form, field if field in form else default_field, exc.message_for(kind))
        return 409
    if isinstance(exc, (StorageFull, WriterBusy)):
        # The form is shown again with what was typed: nothing is lost, and it can be sent again later.
        _add(form, default_field, str(exc))
        return 503
    if isinstance(exc, Conflict):
        _add(form, exc.field if exc.field and exc.field in form else default_field, str(exc))
        return 409
    _add(form, default_field, str(exc))
    return 400


def _add(form: FlaskForm, field: str, message: str) -> None:
    form[field].errors = list(form[field].errors or []) + [message]


SUGGESTIONS = 10  # names one as-you-type request returns at most


def suggest_response(kind: Kind) -> Response:
    """``?q=`` -> JSON ``{"q", "results": [{id, name, details, also_known_as, ...}]}``, at most SUGGESTIONS.

    <, > and & are written as \\u escapes: a name is never markup, even to a client that sniffs the body."""
    from claimtrack.web.database import get_session

    typed = request.args.get("q", "")[:MAX_TYPED]
    found = suggest_names(get_session(), kind, typed, limit=SUGGESTIONS) if typed.strip() else []
    body = json.dumps({"q": typed, "results": [m.as_json() for m in found]}, ensure_ascii=False)
    body = body.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
    return Response(body, mimetype="application/json")


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
    """To ``next=`` when it is a safe same-site path, else to ``default_endpoint``."""
    target = request.args.get("next") or request.form.get("next")
    location = target if target is not None and is_safe_next(target) else url_for(default_endpoint, **values)
    return redirect(location, code=303)


T = TypeVar("T")


def or_404(func: Callable[..., T], *args: Any) -> T:
    """Call a service; its NotFound becomes the 404 page."""
    try:
        return func(*args)
    except NotFound as exc:
        abort(404, description=str(exc))


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
    return {
        "differences": differences,
        "by": last_change["username"] if last_change else None,
        "at": last_change["changed_at"] if last_change else None,
    }


def stale_notice_for_row(form: FlaskForm, row: Any, entity: str) -> dict[str, Any]:
    """``stale_notice`` for a form whose fields are columns of the record (sources, events, links)."""
    stored = {
        field.name: getattr(row, field.name)
        for field in form
        if field.name not in ("csrf_token", "version") and hasattr(row, field.name)
    }
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

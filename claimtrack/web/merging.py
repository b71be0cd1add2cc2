"""Merging a duplicate speaker, source or event: the form on its page, the POST route, and old addresses.

Each blueprint registers ``MergePage`` for its kind (``POST /speakers/<id>/merge`` and so on). The form is
shown on the record's own page to editors; when something is wrong, the merge page shows it again with the
message (nothing was written), and after a merge the kept record's page says what was done.
"""

from __future__ import annotations

from typing import Any, ClassVar
from urllib.parse import urlencode

from flask import abort, flash, redirect, request, url_for
from flask_login import current_user
from werkzeug.wrappers import Response
from wtforms import BooleanField, StringField

from claimtrack.models import MAX_URL
from claimtrack.services import merging
from claimtrack.services.aliases import aliases_of
from claimtrack.services.errors import InvalidInput, NotFound
from claimtrack.services.merging import MergeResult
from claimtrack.web.database import get_session, writing
from claimtrack.web.forms import VersionedForm
from claimtrack.web.views import FormPage

# kind -> (blueprint endpoint of its page, the id's name in its routes)
PAGES = {
    "speaker": ("speakers.show", "speaker_id"),
    "source": ("sources.show", "source_id"),
    "event": ("events.show", "event_id"),
}


class MergeForm(VersionedForm):
    """Merge the record of this page into another; ``version`` is the version of this page's record."""

    into = StringField("Keep", render_kw={"autocomplete": "off", "maxlength": MAX_URL})
    confirm = BooleanField("Yes, merge them")

    def model_data(self) -> dict[str, Any]:
        return {"into": (self.into.data or "").strip(), "confirm": bool(self.confirm.data)}


def page_url(kind: str, ident: int, action: str = "show") -> str:
    """The address of a speaker's, source's or event's page (or of its merge route)."""
    endpoint, id_name = PAGES[kind]
    values: dict[str, Any] = {id_name: ident}
    return url_for(endpoint.replace(".show", f".{action}"), **values)


def merge_form(kind: str, name: str, version: int) -> MergeForm:
    """The form as the record's page shows it (formdata=None: a GET's query string fills nothing in)."""
    form = MergeForm(formdata=None, data={"version": version})
    _describe(form, kind, name)
    return form


def _describe(form: MergeForm, kind: str, name: str) -> None:
    what = "URL, title" if kind == "source" else "exact name"
    form.into.label.text = f"The {kind} to keep (its id or {what})"
    form.into.description = f"The {kind} shown on this page is merged into that one."
    form.confirm.description = (
        f"Its claims move to the {kind} you name; “{name}” becomes another name for it, so typing it later finds "
        f"that {kind}; this page then leads there. It cannot be undone here."
    )
    if kind == "speaker":
        form.into.render_kw = {**(form.into.render_kw or {}), "list": "speaker-names"}


def page_extras(kind: str, entity_id: int, name: str, version: int) -> dict[str, Any]:
    """What a speaker's, source's or event's page shows about merging: its other names, what was merged into it,
    and for editors the form to merge it into another."""
    session = get_session()
    return {
        "aliases": aliases_of(session, kind, entity_id),
        "merges": merging.merge_history(session, kind, entity_id, name),
        "merge_form": merge_form(kind, name, version) if current_user.is_editor else None,
        "merge_action": page_url(kind, entity_id, "merge"),
        "merge_kind": kind,
    }


def or_merged(kind: str, func: Any, *args: Any, action: str = "show") -> Any:
    """Call a service that loads the record; a merged record's page (``action``: its show or edit page) answers
    301 with the kept record's same page."""
    try:
        return func(*args)
    except NotFound as exc:
        kept = merging.merged_into(get_session(), kind, int(exc.ident)) if isinstance(exc.ident, int) else None
        if kept is None:
            abort(404, description=str(exc))
        if request.method not in ("GET", "HEAD"):
            # A form sent to the merged record is not replayed on the kept one: its values were typed for the other.
            abort(404, description=f"{kind.capitalize()} {exc.ident} was merged into {kind} {kept}.")
        target = page_url(kind, kept, action)
        query = request.query_string.decode("ascii", "replace")
        abort(redirect(f"{target}?{query}" if query else target, code=301))


def follow_merged_filters(ids: dict[str, int | None]) -> None:
    """A list filtered by a merged speaker, event or source (``?speaker=<old id>``, the argument named after the
    kind) answers 301 with the same query naming the kept record instead of an empty list."""
    session = get_session()
    moved = {
        kind: str(kept)
        for kind, ident in ids.items()
        if ident is not None and (kept := merging.merged_into(session, kind, ident)) is not None
    }
    if moved:
        pairs = [(name, moved.get(name, value)) for name, value in request.args.items(multi=True)]
        abort(redirect(f"{request.path}?{urlencode(pairs)}", code=301))


class MergePage(FormPage[MergeForm, MergeResult]):
    """``POST /<kind>s/<id>/merge``: merge this record into the one named in ``into``."""

    template = "merge.html"
    default_field = "into"
    kind: ClassVar[str]

    def _ident(self, ids: dict[str, int]) -> int:
        return ids[PAGES[self.kind][1]]

    def _record(self, ids: dict[str, int]) -> Any:
        row = merging._get(get_session(), self.kind, self._ident(ids))
        if row is None:
            abort(404, description=str(merging._missing(get_session(), self.kind, self._ident(ids), None)))
        return row

    def form(self, **ids: int) -> MergeForm:
        row = self._record(ids)
        form = MergeForm()
        _describe(form, self.kind, merging.label(row))
        return form

    def save(self, form: MergeForm, **ids: int) -> MergeResult:
        data = form.model_data()
        if not data["confirm"]:
            raise InvalidInput({"confirm": "Tick the box to confirm the merge: it cannot be undone here."})
        expected = form.expected_version()
        with writing() as session:
            result = merging.merge(session, self.kind, self._ident(ids), data["into"], expected_version=expected)
        flash(
            f"{self.kind.capitalize()} merged: “{result.old_name}” ({self.kind} {result.old_id}) is now part of "
            f"“{result.kept_name}”; {result.claims_moved} claim{'' if result.claims_moved == 1 else 's'} moved."
        )
        return result

    def done(self, saved: MergeResult, **ids: int) -> Response:
        return redirect(page_url(self.kind, saved.kept_id), code=303)

    def page(self, form: MergeForm, **ids: int) -> dict[str, Any]:
        row = self._record(ids)
        return {"kind": self.kind, "name": merging.label(row), "back": page_url(self.kind, row.id)}

    def stale_notice(self, form: MergeForm, **ids: int) -> dict[str, Any]:
        # Nothing of the form is a field of the record: say who changed it last, and offer the new version.
        from claimtrack.web.helpers import last_change

        row = self._record(ids)
        change = last_change(self.kind, row.id)
        form.version.data = str(row.version)
        for field in form:
            field.errors = []
        return {
            "differences": [],
            "by": change["username"] if change else None,
            "at": change["changed_at"] if change else None,
        }


def merge_view(kind: str) -> Any:
    """The view function of the merge route for ``kind`` (POST only: the form lives on the record's page)."""
    page: type[MergePage] = type(f"Merge{kind.capitalize()}", (MergePage,), {"kind": kind})
    return page.as_view("merge")

"""The new and edit pages of a speaker, source or event, and the routes every such record has.

The three differ in their form and services, not in how a page uses them: a new record is checked for similar
names before it is added, an edit refuses a stale copy, a merged record's edit page leads to the kept one.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar

from flask import Blueprint, redirect, url_for
from pydantic import BaseModel
from sqlmodel import Session
from werkzeug.wrappers import Response

from claimtrack.services.names import Kind, NameGuard
from claimtrack.web.database import get_session, writing
from claimtrack.web.forms import VersionedForm
from claimtrack.web.helpers import or_404, stale_notice_for_row, suggest_response
from claimtrack.web.merging import merge_view, or_merged
from claimtrack.web.views import FormPage


@dataclass(frozen=True)
class RecordServices:
    """What the pages of one kind of record use: its form, its input models and its service functions."""

    form: type[VersionedForm]
    create_model: type[BaseModel]
    update_model: type[BaseModel]
    create: Callable[[Session, Any, NameGuard], Any]  # (session, data, names) -> the new row
    update: Callable[..., Any]  # (session, id, data, expected_version=...)
    load: Callable[[Session, int], Any]  # the row, or NotFound


class RecordPage(FormPage[VersionedForm, int]):
    """``/new`` (no id) and ``/<id>/edit`` of a record; ``add_record_routes`` sets the class variables."""

    kind: ClassVar[Kind]
    record: ClassVar[RecordServices]

    def record_id(self, ids: dict[str, int]) -> int | None:
        return ids.get(f"{self.kind}_id")

    def form(self, **ids: int) -> VersionedForm:
        record_id = self.record_id(ids)
        if record_id is None:
            return self.record.form()
        return self.record.form(obj=or_merged(self.kind, self.record.load, get_session(), record_id, action="edit"))

    def save(self, form: VersionedForm, **ids: int) -> int:
        record_id = self.record_id(ids)
        if record_id is None:
            data = form.to_model(self.record.create_model)
            with writing() as session:
                new_id: int | None = self.record.create(session, data, form.name_guard()).id
            assert new_id is not None
            return new_id
        data, expected = form.to_model(self.record.update_model), form.expected_version()
        with writing() as session:
            self.record.update(session, record_id, data, expected_version=expected)
        return record_id

    def done(self, saved: int, **ids: int) -> Response:
        values: dict[str, Any] = {f"{self.kind}_id": saved}
        return redirect(url_for(".show", **values), code=303)

    def page(self, form: VersionedForm, **ids: int) -> dict[str, Any]:
        record_id = self.record_id(ids)
        return {self.kind: None if record_id is None else or_404(self.record.load, get_session(), record_id)}

    def stale_notice(self, form: VersionedForm, **ids: int) -> dict[str, Any] | None:
        record_id = self.record_id(ids)
        if record_id is None:  # only an edit can be stale
            return None
        return stale_notice_for_row(form, self.record.load(get_session(), record_id), self.kind)


def add_record_routes(
    bp: Blueprint, kind: Kind, default_field: str, record: RecordServices, page: type[RecordPage] = RecordPage
) -> None:
    """The suggest, new, edit and merge routes of the blueprint of ``kind`` (a page subclass may add to the form
    page, as the speaker's does)."""
    attributes = {"kind": kind, "record": record, "template": f"{kind}s/form.html", "default_field": default_field}
    view: type[RecordPage] = type(f"{kind.capitalize()}Page", (page,), attributes)

    def suggest() -> Response:
        """Existing records for what is typed so far, for the form fields' suggestion lists."""
        return suggest_response(kind)

    bp.add_url_rule("/suggest", view_func=suggest, methods=["GET"])
    bp.add_url_rule("/new", view_func=view.as_view("new"))
    bp.add_url_rule(f"/<int:{kind}_id>/edit", view_func=view.as_view("edit"))
    bp.add_url_rule(f"/<int:{kind}_id>/merge", view_func=merge_view(kind), methods=["POST"])

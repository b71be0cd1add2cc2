"""Sources: the reports claims appeared in."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, redirect, render_template, request, url_for
from werkzeug.wrappers import Response

from claimtrack.models import SourceCreate, SourceUpdate
from claimtrack.services import sources as source_service
from claimtrack.services.claims import ClaimFilters, list_claims
from claimtrack.services.merging import label
from claimtrack.web.database import get_session, writing
from claimtrack.web.helpers import int_arg, or_404, stale_notice_for_row, suggest_response
from claimtrack.web.merging import merge_view, or_merged, page_extras
from claimtrack.web.sources.forms import SourceForm
from claimtrack.web.views import FormPage

bp = Blueprint("sources", __name__, url_prefix="/sources")


@bp.get("")
def index() -> str:
    q = request.args.get("q", "").strip()[:200] or None
    page = source_service.list_sources(get_session(), q=q, before=int_arg("before"), after=int_arg("after"))
    return render_template("sources/index.html", page=page, q=q)


@bp.get("/suggest")
def suggest() -> Response:
    """Existing sources for what is typed so far, for the form fields' suggestion lists."""
    return suggest_response("source")


@bp.get("/<int:source_id>")
def show(source_id: int) -> str:
    session = get_session()
    source = or_merged("source", source_service.get_source, session, source_id)
    page = list_claims(session, ClaimFilters(source_id=source_id), before=int_arg("before"), after=int_arg("after"))
    extras = page_extras("source", source_id, label(source), source.version)
    return render_template("sources/show.html", source=source, page=page, **extras)


class NewSource(FormPage[SourceForm, int]):
    template = "sources/form.html"
    default_field = "title"

    def form(self, **ids: int) -> SourceForm:
        return SourceForm()

    def save(self, form: SourceForm, **ids: int) -> int:
        data = form.to_model(SourceCreate)
        with writing() as session:
            source_id = source_service.create_source(session, data, form.name_guard()).id
        assert source_id is not None
        return source_id

    def done(self, saved: int, **ids: int) -> Response:
        return redirect(url_for(".show", source_id=saved), code=303)

    def page(self, form: SourceForm, **ids: int) -> dict[str, Any]:
        return {"source": None}


class EditSource(NewSource):
    def form(self, **ids: int) -> SourceForm:
        return SourceForm(
            obj=or_merged("source", source_service.get_source, get_session(), ids["source_id"], action="edit")
        )

    def save(self, form: SourceForm, **ids: int) -> int:
        data, expected = form.to_model(SourceUpdate), form.expected_version()
        with writing() as session:
            source_service.update_source(session, ids["source_id"], data, expected_version=expected)
        return ids["source_id"]

    def page(self, form: SourceForm, **ids: int) -> dict[str, Any]:
        return {"source": or_404(source_service.get_source, get_session(), ids["source_id"])}

    def stale_notice(self, form: SourceForm, **ids: int) -> dict[str, Any]:
        return stale_notice_for_row(form, source_service.get_source(get_session(), ids["source_id"]), "source")


bp.add_url_rule("/new", view_func=NewSource.as_view("new"))
bp.add_url_rule("/<int:source_id>/edit", view_func=EditSource.as_view("edit"))
bp.add_url_rule("/<int:source_id>/merge", view_func=merge_view("source"), methods=["POST"])

"""Sources: the reports claims appeared in."""

from __future__ import annotations

from flask import Blueprint, redirect, render_template, request, url_for
from werkzeug.wrappers import Response

from claimtrack.models import Source
from claimtrack.services import sources as source_service
from claimtrack.services.claims import ClaimFilters, list_claims
from claimtrack.services.common import get_or_404
from claimtrack.web.auth.access import editor_required
from claimtrack.web.database import get_session, writing
from claimtrack.web.helpers import (
    int_arg,
    is_stale,
    or_404,
    stale_notice_for_row,
    submit,
)
from claimtrack.web.sources.forms import SourceForm

bp = Blueprint("sources", __name__, url_prefix="/sources")


@bp.get("")
def index() -> str:
    q = request.args.get("q", "").strip()[:200] or None
    page = source_service.list_sources(get_session(), q=q, before=int_arg("before"), after=int_arg("after"))
    return render_template("sources/index.html", page=page, q=q)


@bp.get("/<int:source_id>")
def show(source_id: int) -> str:
    session = get_session()
    source = or_404(get_or_404, session, Source, source_id, "source")
    page = list_claims(session, ClaimFilters(source_id=source_id), before=int_arg("before"), after=int_arg("after"))
    return render_template("sources/show.html", source=source, page=page)


@bp.route("/new", methods=["GET", "POST"])
@editor_required
def new() -> Response | tuple[str, int]:
    form = SourceForm()

    def save() -> int:
        data = form.to_model()
        with writing() as session:
            return source_service.create_source(session, data).id  # type: ignore[return-value]

    done, status = submit(form, "title", save, lambda source_id: redirect(url_for(".show", source_id=source_id), code=303))
    if done is not None:
        return done
    return render_template("sources/form.html", form=form, source=None), status


@bp.route("/<int:source_id>/edit", methods=["GET", "POST"])
@editor_required
def edit(source_id: int) -> Response | tuple[str, int]:
    source = _load(source_id)
    form = SourceForm(obj=source)

    def save() -> int:
        data, expected = form.to_model(), form.expected_version()
        with writing() as session:
            source_service.update_source(session, source_id, data, expected_version=expected)
        return source_id

    notice = None
    done, status = submit(form, "title", save, lambda saved: redirect(url_for(".show", source_id=source_id), code=303))
    if done is not None:
        return done
    if is_stale(form):
        source = _load(source_id)
        notice = stale_notice_for_row(form, source, "source")
    return render_template("sources/form.html", form=form, source=source, notice=notice), status


def _load(source_id: int) -> Source:
    return or_404(get_or_404, get_session(), Source, source_id, "source")

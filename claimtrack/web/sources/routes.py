"""Sources: the reports claims appeared in."""

from __future__ import annotations

from flask import Blueprint, render_template, request

from claimtrack.models import SourceCreate, SourceUpdate
from claimtrack.services import sources as source_service
from claimtrack.services.claims import ClaimFilters, list_claims
from claimtrack.services.merging import label
from claimtrack.web.database import get_session
from claimtrack.web.helpers import int_arg
from claimtrack.web.merging import or_merged, page_extras
from claimtrack.web.records import RecordServices, add_record_routes
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
    source = or_merged("source", source_service.get_source, session, source_id)
    page = list_claims(session, ClaimFilters(source_id=source_id), before=int_arg("before"), after=int_arg("after"))
    extras = page_extras("source", source_id, label(source), source.version)
    return render_template("sources/show.html", source=source, page=page, **extras)


add_record_routes(
    bp,
    "source",
    "title",
    RecordServices(
        SourceForm,
        SourceCreate,
        SourceUpdate,
        source_service.create_source,
        source_service.update_source,
        source_service.get_source,
    ),
)

"""Events: the per-event picture of competing claims."""

from __future__ import annotations

from flask import Blueprint, render_template

from claimtrack.models import EventCreate, EventUpdate
from claimtrack.services import events as event_service
from claimtrack.services import graph as graph_service
from claimtrack.web import graphics
from claimtrack.web.database import get_session
from claimtrack.web.events.forms import EventForm
from claimtrack.web.helpers import int_arg
from claimtrack.web.merging import or_merged, page_extras
from claimtrack.web.records import RecordServices, add_record_routes

bp = Blueprint("events", __name__, url_prefix="/events")


@bp.get("")
def index() -> str:
    page = event_service.list_events(get_session(), before=int_arg("before"), after=int_arg("after"))
    return render_template("events/index.html", page=page)


@bp.get("/<int:event_id>")
def show(event_id: int) -> str:
    session = get_session()
    overview = or_merged("event", event_service.event_overview, session, event_id)
    eg = graph_service.event_graph(session, event_id)
    tl = graph_service.event_timeline(session, event_id)
    return render_template(
        "events/show.html",
        o=overview,
        event_graph=eg,
        picture=graphics.event_picture(eg),
        timeline=graphics.timeline_picture(tl),
        **page_extras("event", event_id, overview.event.name, overview.event.version),
    )


add_record_routes(
    bp,
    "event",
    "name",
    RecordServices(
        EventForm,
        EventCreate,
        EventUpdate,
        event_service.create_event,
        event_service.update_event,
        event_service.get_event,
    ),
)

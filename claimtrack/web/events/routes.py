"""Events: the per-event picture of competing claims."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, redirect, render_template, url_for
from werkzeug.wrappers import Response

from claimtrack.models import EventCreate, EventUpdate
from claimtrack.services import events as event_service
from claimtrack.services import graph as graph_service
from claimtrack.web import graphics
from claimtrack.web.database import get_session, writing
from claimtrack.web.events.forms import EventForm
from claimtrack.web.helpers import int_arg, or_404, stale_notice_for_row, suggest_response
from claimtrack.web.merging import merge_view, or_merged, page_extras
from claimtrack.web.views import FormPage

bp = Blueprint("events", __name__, url_prefix="/events")


@bp.get("")
def index() -> str:
    page = event_service.list_events(get_session(), before=int_arg("before"), after=int_arg("after"))
    return render_template("events/index.html", page=page)


@bp.get("/suggest")
def suggest() -> Response:
    """Existing events for what is typed so far, for the form fields' suggestion lists."""
    return suggest_response("event")


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


class NewEvent(FormPage[EventForm, int]):
    template = "events/form.html"
    default_field = "name"

    def form(self, **ids: int) -> EventForm:
        return EventForm()

    def save(self, form: EventForm, **ids: int) -> int:
        data = form.to_model(EventCreate)
        with writing() as session:
            event_id = event_service.create_event(session, data, form.name_guard()).id
        assert event_id is not None
        return event_id

    def done(self, saved: int, **ids: int) -> Response:
        return redirect(url_for(".show", event_id=saved), code=303)

    def page(self, form: EventForm, **ids: int) -> dict[str, Any]:
        return {"event": None}


class EditEvent(NewEvent):
    def form(self, **ids: int) -> EventForm:
        return EventForm(obj=or_merged("event", event_service.get_event, get_session(), ids["event_id"], action="edit"))

    def save(self, form: EventForm, **ids: int) -> int:
        data, expected = form.to_model(EventUpdate), form.expected_version()
        with writing() as session:
            event_service.update_event(session, ids["event_id"], data, expected_version=expected)
        return ids["event_id"]

    def page(self, form: EventForm, **ids: int) -> dict[str, Any]:
        return {"event": or_404(event_service.get_event, get_session(), ids["event_id"])}

    def stale_notice(self, form: EventForm, **ids: int) -> dict[str, Any]:
        return stale_notice_for_row(form, event_service.get_event(get_session(), ids["event_id"]), "event")


bp.add_url_rule("/new", view_func=NewEvent.as_view("new"))
bp.add_url_rule("/<int:event_id>/edit", view_func=EditEvent.as_view("edit"))
bp.add_url_rule("/<int:event_id>/merge", view_func=merge_view("event"), methods=["POST"])

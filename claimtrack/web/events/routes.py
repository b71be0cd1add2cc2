"""Events: the per-event picture of competing claims."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, redirect, render_template, url_for
from werkzeug.wrappers import Response

from claimtrack.services import events as event_service
from claimtrack.web.auth.access import editor_required
from claimtrack.web.database import get_session, writing
from claimtrack.web.events.forms import EventForm
from claimtrack.web.helpers import (
    int_arg,
    is_stale,
    or_404,
    stale_notice_for_row,
    submit,
)

bp = Blueprint("events", __name__, url_prefix="/events")


@bp.get("")
def index() -> str:
    page = event_service.list_events(get_session(), before=int_arg("before"), after=int_arg("after"))
    return render_template("events/index.html", page=page)


@bp.get("/<int:event_id>")
def show(event_id: int) -> str:
    overview = or_404(event_service.event_overview, get_session(), event_id)
    return render_template("events/show.html", o=overview)


@bp.route("/new", methods=["GET", "POST"])
@editor_required
def new() -> Response | tuple[str, int]:
    form = EventForm()

    def save() -> int:
        data = form.to_model()
        with writing() as session:
            return event_service.create_event(session, data).id  # type: ignore[return-value]

    done, status = submit(form, "name", save, lambda event_id: redirect(url_for(".show", event_id=event_id), code=303))
    if done is not None:
        return done
    return render_template("events/form.html", form=form, event=None), status


@bp.route("/<int:event_id>/edit", methods=["GET", "POST"])
@editor_required
def edit(event_id: int) -> Response | tuple[str, int]:
    event = _load(event_id)
    form = EventForm(obj=event)

    def save() -> int:
        data, expected = form.to_model(), form.expected_version()
        with writing() as session:
            event_service.update_event(session, event_id, data, expected_version=expected)
        return event_id

    notice = None
    done, status = submit(form, "name", save, lambda saved: redirect(url_for(".show", event_id=event_id), code=303))
    if done is not None:
        return done
    if is_stale(form):
        event = _load(event_id)
        notice = stale_notice_for_row(form, event, "event")
    return render_template("events/form.html", form=form, event=event, notice=notice), status


def _load(event_id: int) -> Any:
    return or_404(event_service.get_event, get_session(), event_id)

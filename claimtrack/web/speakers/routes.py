"""Speakers: who makes claims, whom they speak for, and what they and their members said."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, redirect, render_template, request, url_for
from werkzeug.wrappers import Response

from claimtrack.models import SpeakerCreate, SpeakerKind, SpeakerUpdate
from claimtrack.services import speakers as speaker_service
from claimtrack.services.claims import ClaimFilters, list_claims
from claimtrack.services.speakers import SpeakerDetail
from claimtrack.web.database import get_session, writing
from claimtrack.web.helpers import choice_arg, int_arg, last_change, or_404, stale_notice, suggest_response
from claimtrack.web.merging import merge_view, or_merged, page_extras
from claimtrack.web.speakers.forms import SpeakerForm
from claimtrack.web.views import FormPage

bp = Blueprint("speakers", __name__, url_prefix="/speakers")


@bp.get("")
def index() -> str:
    q = request.args.get("q", "").strip()[:200] or None
    kind = choice_arg("kind", {k.value for k in SpeakerKind})
    page = speaker_service.list_speakers(
        get_session(), q=q, kind=kind, before=int_arg("before"), after=int_arg("after")
    )
    return render_template("speakers/index.html", page=page, q=q, kind=kind, kinds=list(SpeakerKind))


@bp.get("/suggest")
def suggest() -> Response:
    """Existing speakers for what is typed so far, for the form fields' suggestion lists."""
    return suggest_response("speaker")


@bp.get("/<int:speaker_id>")
def show(speaker_id: int) -> str:
    session = get_session()
    detail = or_merged("speaker", speaker_service.speaker_detail, session, speaker_id)
    filters = ClaimFilters(speaker_id=speaker_id, include_members=True)
    page = list_claims(session, filters, before=int_arg("before"), after=int_arg("after"))
    extras = page_extras("speaker", speaker_id, detail.speaker.name, detail.speaker.version)
    return render_template("speakers/show.html", d=detail, page=page, **extras)


def _values(detail: SpeakerDetail) -> dict[str, Any]:
    sp, aff = detail.speaker, detail.affiliation
    return {
        "name": sp.name,
        "kind": sp.kind,
        "description": sp.description,
        "affiliation": aff.name if aff else "",
        "anonymous": bool(sp.anonymous),
    }


class NewSpeaker(FormPage[SpeakerForm, int]):
    template = "speakers/form.html"
    default_field = "name"

    def form(self, **ids: int) -> SpeakerForm:
        return SpeakerForm()

    def save(self, form: SpeakerForm, **ids: int) -> int:
        data = form.to_model(SpeakerCreate)
        with writing() as session:
            speaker_id = speaker_service.create_speaker(session, data, form.name_guard()).id
        assert speaker_id is not None
        return speaker_id

    def done(self, saved: int, **ids: int) -> Response:
        return redirect(url_for(".show", speaker_id=saved), code=303)

    def page(self, form: SpeakerForm, **ids: int) -> dict[str, Any]:
        return {"speaker": None, "speaker_names": speaker_service.speaker_names(get_session())}


class EditSpeaker(NewSpeaker):
    def form(self, **ids: int) -> SpeakerForm:
        detail = or_merged("speaker", speaker_service.speaker_detail, get_session(), ids["speaker_id"], action="edit")
        return SpeakerForm(data={**_values(detail), "version": detail.speaker.version})

    def save(self, form: SpeakerForm, **ids: int) -> int:
        speaker_id = ids["speaker_id"]
        data, expected = form.to_model(SpeakerUpdate), form.expected_version()
        with writing() as session:
            speaker_service.update_speaker(session, speaker_id, data, expected_version=expected)
        return speaker_id

    def page(self, form: SpeakerForm, **ids: int) -> dict[str, Any]:
        speaker = or_404(speaker_service.speaker_detail, get_session(), ids["speaker_id"]).speaker
        return {**super().page(form), "speaker": speaker}

    def stale_notice(self, form: SpeakerForm, **ids: int) -> dict[str, Any]:
        speaker_id = ids["speaker_id"]
        detail = speaker_service.speaker_detail(get_session(), speaker_id)
        return stale_notice(form, _values(detail), detail.speaker.version, last_change("speaker", speaker_id))


bp.add_url_rule("/new", view_func=NewSpeaker.as_view("new"))
bp.add_url_rule("/<int:speaker_id>/edit", view_func=EditSpeaker.as_view("edit"))
bp.add_url_rule("/<int:speaker_id>/merge", view_func=merge_view("speaker"), methods=["POST"])

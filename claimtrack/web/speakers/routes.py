"""Speakers: who makes claims, whom they speak for, and what they and their members said."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, render_template, request

from claimtrack.models import SpeakerCreate, SpeakerKind, SpeakerUpdate
from claimtrack.services import speakers as speaker_service
from claimtrack.services.claims import ClaimFilters, list_claims
from claimtrack.services.speakers import SpeakerDetail
from claimtrack.web.database import get_session
from claimtrack.web.forms import VersionedForm
from claimtrack.web.helpers import choice_arg, int_arg, last_change, stale_notice
from claimtrack.web.merging import or_merged, page_extras
from claimtrack.web.records import RecordPage, RecordServices, add_record_routes
from claimtrack.web.speakers.forms import SpeakerForm

bp = Blueprint("speakers", __name__, url_prefix="/speakers")


@bp.get("")
def index() -> str:
    q = request.args.get("q", "").strip()[:200] or None
    kind = choice_arg("kind", {k.value for k in SpeakerKind})
    page = speaker_service.list_speakers(
        get_session(), q=q, kind=kind, before=int_arg("before"), after=int_arg("after")
    )
    return render_template("speakers/index.html", page=page, q=q, kind=kind, kinds=list(SpeakerKind))


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


class SpeakerPage(RecordPage):
    """The form shows whom the speaker speaks for by name, and offers every speaker's name for it."""

    def form(self, **ids: int) -> VersionedForm:
        speaker_id = self.record_id(ids)
        if speaker_id is None:
            return SpeakerForm()
        detail = or_merged("speaker", speaker_service.speaker_detail, get_session(), speaker_id, action="edit")
        return SpeakerForm(data={**_values(detail), "version": detail.speaker.version})

    def page(self, form: VersionedForm, **ids: int) -> dict[str, Any]:
        return {**super().page(form, **ids), "speaker_names": speaker_service.speaker_names(get_session())}

    def stale_notice(self, form: VersionedForm, **ids: int) -> dict[str, Any] | None:
        speaker_id = self.record_id(ids)
        if speaker_id is None:  # only an edit can be stale
            return None
        detail = speaker_service.speaker_detail(get_session(), speaker_id)
        return stale_notice(form, _values(detail), detail.speaker.version, last_change("speaker", speaker_id))


add_record_routes(
    bp,
    "speaker",
    "name",
    RecordServices(
        SpeakerForm,
        SpeakerCreate,
        SpeakerUpdate,
        speaker_service.create_speaker,
        speaker_service.update_speaker,
        speaker_service.get_speaker,
    ),
    SpeakerPage,
)

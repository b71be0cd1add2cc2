"""Speakers: who makes claims, whom they speak for, and what they and their members said."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, redirect, render_template, request, url_for
from werkzeug.wrappers import Response

from claimtrack.models import SpeakerKind
from claimtrack.services import speakers as speaker_service
from claimtrack.services.claims import ClaimFilters, list_claims
from claimtrack.web.auth.access import editor_required
from claimtrack.web.database import get_session, writing
from claimtrack.web.helpers import (
    choice_arg,
    int_arg,
    is_stale,
    last_change,
    or_404,
    stale_notice,
    submit,
)
from claimtrack.web.speakers.forms import SpeakerForm

bp = Blueprint("speakers", __name__, url_prefix="/speakers")


@bp.get("")
def index() -> str:
    q = request.args.get("q", "").strip()[:200] or None
    kind = choice_arg("kind", {k.value for k in SpeakerKind})
    page = speaker_service.list_speakers(get_session(), q=q, kind=kind, before=int_arg("before"), after=int_arg("after"))
    return render_template("speakers/index.html", page=page, q=q, kind=kind, kinds=list(SpeakerKind))


@bp.get("/<int:speaker_id>")
def show(speaker_id: int) -> str:
    session = get_session()
    detail = or_404(speaker_service.speaker_detail, session, speaker_id)
    filters = ClaimFilters(speaker_id=speaker_id, include_members=True)
    page = list_claims(session, filters, before=int_arg("before"), after=int_arg("after"))
    return render_template("speakers/show.html", d=detail, page=page)


def _form_page(form: SpeakerForm, speaker: object | None, status: int, notice: Any = None) -> tuple[str, int]:
    return render_template("speakers/form.html", form=form, speaker=speaker, notice=notice,
                           speaker_names=speaker_service.speaker_names(get_session())), status


@bp.route("/new", methods=["GET", "POST"])
@editor_required
def new() -> Response | tuple[str, int]:
    form = SpeakerForm()

    def save() -> int:
        data = form.to_model()
        with writing() as session:
            return speaker_service.create_speaker(session, data).id  # type: ignore[return-value]

    done, status = submit(form, "name", save, lambda speaker_id: redirect(url_for(".show", speaker_id=speaker_id), code=303))
    if done is not None:
        return done
    return _form_page(form, None, status)


@bp.route("/<int:speaker_id>/edit", methods=["GET", "POST"])
@editor_required
def edit(speaker_id: int) -> Response | tuple[str, int]:
    detail = or_404(speaker_service.speaker_detail, get_session(), speaker_id)
    sp = detail["speaker"]
    form = SpeakerForm(data={**_values(detail), "version": sp.version})

    def save() -> int:
        data, expected = form.to_model(), form.expected_version()
        with writing() as session:
            speaker_service.update_speaker(session, speaker_id, data, expected_version=expected)
        return speaker_id

    notice = None
    done, status = submit(form, "name", save, lambda saved: redirect(url_for(".show", speaker_id=speaker_id), code=303))
    if done is not None:
        return done
    if is_stale(form):
        detail = speaker_service.speaker_detail(get_session(), speaker_id)
        notice = stale_notice(form, _values(detail), detail["speaker"].version, last_change("speaker", speaker_id))
    return _form_page(form, sp, status, notice)


def _values(detail: dict[str, Any]) -> dict[str, Any]:
    sp, aff = detail["speaker"], detail["affiliation"]
    return {"name": sp.name, "kind": sp.kind, "description": sp.description,
            "affiliation": aff.name if aff else "", "anonymous": bool(sp.anonymous)}

"""Claims: the list, a claim's page with everything that answers it, and the forms."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, redirect, render_template, request, url_for
from werkzeug.wrappers import Response

from claimtrack.models import Relation, Verdict
from claimtrack.services import claims as claim_service
from claimtrack.services import links as link_service
from claimtrack.services.events import event_choices, event_names
from claimtrack.services.history import history_for
from claimtrack.services.speakers import speaker_names
from claimtrack.web.auth.access import editor_required
from claimtrack.web.claims.forms import ClaimForm, LinkEditForm, LinkForm
from claimtrack.web.database import get_session, writing
from claimtrack.web.forms import RetractForm, choice
from claimtrack.web.helpers import (
    choice_arg,
    int_arg,
    is_stale,
    last_change,
    or_404,
    redirect_after_post,
    stale_notice,
    stale_notice_for_row,
    submit,
)

bp = Blueprint("claims", __name__)


def _form_lists() -> dict[str, Any]:
    session = get_session()
    return {"speaker_names": speaker_names(session), "event_names": event_names(session)}


@bp.get("/")
@bp.get("/claims")
def index() -> str:
    filters = claim_service.ClaimFilters(
        q=request.args.get("q", "").strip()[:200] or None,
        speaker_id=int_arg("speaker"),
        event_id=int_arg("event"),
        source_id=int_arg("source"),
        relation=Relation(r) if (r := choice_arg("relation", {x.value for x in Relation})) else None,
        verdict=choice_arg("verdict", {v.value for v in Verdict}),
        include_retracted=choice_arg("retracted", {"include"}) == "include",
    )
    session = get_session()
    page = claim_service.list_claims(session, filters, before=int_arg("before"), after=int_arg("after"))
    return render_template(
        "claims/index.html",
        page=page,
        filters=filters,
        events=event_choices(session),
        names=claim_service.filter_names(session, filters),
    )


@bp.route("/claims/new", methods=["GET", "POST"])
@editor_required
def new() -> Response | tuple[str, int]:
    form = ClaimForm()

    def save() -> int:
        data = form.to_model()
        with writing() as session:
            return claim_service.create_claim(session, data).id  # type: ignore[return-value]

    done, status = submit(form, "text", save, lambda claim_id: redirect(url_for(".show", claim_id=claim_id), code=303))
    if done is not None:
        return done
    return render_template("claims/form.html", form=form, claim=None, **_form_lists()), status


@bp.get("/claims/<int:claim_id>")
def show(claim_id: int) -> str:
    detail = or_404(claim_service.claim_detail, get_session(), claim_id)
    history = history_for(get_session(), "claim", claim_id)
    return render_template("claims/show.html", d=detail, headings=claim_service.LINK_HEADINGS, history=history)


def _claim_form_values(c: Any) -> dict[str, Any]:
    return {
        "text": c["text"], "verbatim": bool(c["verbatim"]), "speaker": c["speaker"],
        "speaker_kind": c["speaker_kind"], "affiliation": c["affiliation"], "stated_on": c["stated_on"],
        "stated_time": c["stated_time"], "context": c["context"], "event": c["event"],
        "verdict": c["verdict"] or "", "verdict_rationale": c["verdict_rationale"],
    }


@bp.route("/claims/<int:claim_id>/edit", methods=["GET", "POST"])
@editor_required
def edit(claim_id: int) -> Response | tuple[str, int]:
    detail = or_404(claim_service.claim_detail, get_session(), claim_id)
    c = detail.claim
    form = ClaimForm(data={**_claim_form_values(c), "version": c["version"]})
    form.remove_sources.choices = [choice(s["id"], s["title"] or s["url"] or s["outlet"]) for s in detail.sources]

    def save() -> int:
        data = form.to_model()
        expected = form.expected_version()
        with writing() as session:
            claim_service.update_claim(session, claim_id, data, remove_source_ids=form.remove_sources.data or [],
                                       expected_version=expected)
        return claim_id

    notice = None
    done, status = submit(form, "text", save, lambda saved: redirect(url_for(".show", claim_id=claim_id), code=303))
    if done is not None:
        return done
    if is_stale(form):
        detail = claim_service.claim_detail(get_session(), claim_id)
        c = detail.claim
        notice = stale_notice(form, _claim_form_values(c), c["version"],
                              last_change("claim", claim_id))
    return render_template("claims/form.html", form=form, claim=c, sources=detail.sources, notice=notice,
                           **_form_lists()), status


@bp.route("/claims/<int:claim_id>/retract", methods=["GET", "POST"])
@editor_required
def retract(claim_id: int) -> Response | tuple[str, int]:
    detail = or_404(claim_service.claim_detail, get_session(), claim_id)
    form = RetractForm(data={"version": detail.claim["version"]})

    def save() -> int:
        data, expected = form.to_model(), form.expected_version()
        with writing() as session:
            claim_service.retract_claim(session, claim_id, data, expected_version=expected)
        return claim_id

    done, status = submit(form, "reason", save, lambda saved: redirect(url_for(".show", claim_id=claim_id), code=303))
    if done is not None:
        return done
    return render_template("claims/retract.html", form=form, what="claim", claim=detail.claim, link=None), status


@bp.route("/claims/<int:claim_id>/links/new", methods=["GET", "POST"])
@editor_required
def new_link(claim_id: int) -> Response | tuple[str, int]:
    session = get_session()
    detail = or_404(claim_service.claim_detail, session, claim_id)
    form = LinkForm(data={"event": detail.claim["event"]}) if request.method == "GET" else LinkForm()
    q = request.args.get("q", "").strip()[:200]
    candidates = claim_service.claim_choices(session, q or None, exclude_id=claim_id)

    def save() -> int:
        data = form.to_model()
        with writing() as write:
            link_service.add_link(write, claim_id, data)
        return claim_id

    done, status = submit(form, "target_id", save, lambda saved: redirect(url_for(".show", claim_id=claim_id), code=303))
    if done is not None:
        return done
    return render_template(
        "claims/link_form.html", form=form, d=detail, q=q, candidates=candidates, **_form_lists()
    ), status


@bp.route("/links/<int:link_id>/edit", methods=["GET", "POST"])
@editor_required
def edit_link(link_id: int) -> Response | tuple[str, int]:
    detail = or_404(link_service.link_detail, get_session(), link_id)
    link = detail["link"]
    form = LinkEditForm(data={"relation": link.relation, "note": link.note, "version": link.version})

    def save() -> int:
        data, expected = form.to_model(), form.expected_version()
        with writing() as session:
            link_service.update_link(session, link_id, data, expected_version=expected)
        return link_id

    notice = None
    done, status = submit(form, "relation", save, lambda saved: redirect_after_post(".show", claim_id=link.to_claim_id))
    if done is not None:
        return done
    if is_stale(form):
        detail = link_service.link_detail(get_session(), link_id)
        link = detail["link"]
        notice = stale_notice_for_row(form, link, "link")
    history = history_for(get_session(), "link", link_id)
    return render_template("claims/link_edit.html", form=form, d=detail, notice=notice, history=history), status


@bp.route("/links/<int:link_id>/retract", methods=["GET", "POST"])
@editor_required
def retract_link(link_id: int) -> Response | tuple[str, int]:
    detail = or_404(link_service.link_detail, get_session(), link_id)
    link = detail["link"]
    form = RetractForm(data={"version": link.version})

    def save() -> int:
        data, expected = form.to_model(), form.expected_version()
        with writing() as session:
            link_service.retract_link(session, link_id, data, expected_version=expected)
        return link_id

    done, status = submit(form, "reason", save, lambda saved: redirect_after_post(".show", claim_id=link.to_claim_id))
    if done is not None:
        return done
    return render_template("claims/retract.html", form=form, what="link", claim=None, link=detail), status

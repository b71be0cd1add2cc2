"""Claims: the list, a claim's page with everything that answers it, and the forms."""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Callable
from typing import Any, ClassVar

from flask import Blueprint, abort, flash, g, jsonify, redirect, render_template, request, url_for
from flask_login import current_user
from werkzeug.wrappers import Response

from claimtrack.models import (
    ClaimCreate,
    ClaimLink,
    ClaimUpdate,
    LinkUpdate,
    Relation,
    Retraction,
    Verdict,
    VerdictChange,
    check_language,
    clean_name,
)
from claimtrack.services import claims as claim_service
from claimtrack.services import graph as graph_service
from claimtrack.services import links as link_service
from claimtrack.services import sources as source_service
from claimtrack.services.claimreview import claim_document
from claimtrack.services.claims import ClaimRow
from claimtrack.services.common import NameFilter
from claimtrack.services.errors import AlreadySubmitted, DuplicateClaim, InvalidInput
from claimtrack.services.events import event_names, match_events
from claimtrack.services.history import history_for
from claimtrack.services.names import Kind, similar_names
from claimtrack.services.search import similar_claims
from claimtrack.services.speakers import match_speakers, speaker_names
from claimtrack.services.statement_history import statement_history
from claimtrack.web import graphics
from claimtrack.web.claims.forms import (
    ClaimForm,
    EntryGuardFields,
    LinkEditForm,
    LinkForm,
    NewClaimForm,
    UnretractForm,
    VerdictForm,
)
from claimtrack.web.database import get_session, reading, writing
from claimtrack.web.forms import ClaimFieldsForm, RetractForm, VersionedForm
from claimtrack.web.helpers import (
    choice_arg,
    int_arg,
    last_change,
    or_404,
    redirect_after_post,
    stale_notice,
    stale_notice_for_row,
)
from claimtrack.web.merging import follow_merged_filters
from claimtrack.web.views import F, FormPage, R

bp = Blueprint("claims", __name__)


def _form_lists() -> dict[str, Any]:
    session = get_session()
    return {"speaker_names": speaker_names(session), "event_names": event_names(session)}


def _language_arg() -> str | None:
    """?language=ar: a BCP 47 tag, in its usual case; anything else is a 400 that says what is expected."""
    value = request.args.get("language", "").strip()
    if not value:
        return None
    try:
        return check_language(value)
    except ValueError as exc:
        abort(400, description=f"The query argument 'language': {exc}.")


MAX_NAME = 200  # a name filter longer than any name field is cut here


def _id_or_name(name: str) -> tuple[int | None, str | None]:
    """``?speaker=12`` is the speaker with id 12 (the links from speaker and event pages); any other text is
    a name or part of one, cleaned as stored names are. A value of numerals only must be an id in ASCII
    digits (else a 400)."""
    value = clean_name(request.args.get(name, ""))
    if not value:
        return None, None
    if value.isnumeric():
        return int_arg(name), None
    return None, value[:MAX_NAME]


@bp.get("/")
@bp.get("/claims")
def index() -> str:
    session = get_session()
    speaker_id, speaker_name = _id_or_name("speaker")
    event_id, event_name = _id_or_name("event")
    filters = claim_service.ClaimFilters(
        q=request.args.get("q", "").strip()[:200] or None,
        speaker_id=speaker_id,
        speakers=match_speakers(session, speaker_name) if speaker_name else None,
        event_id=event_id,
        events=match_events(session, event_name) if event_name else None,
        source_id=int_arg("source"),
        relation=Relation(r) if (r := choice_arg("relation", {x.value for x in Relation})) else None,
        verdict=choice_arg("verdict", {v.value for v in Verdict}),
        language=_language_arg(),
        include_retracted=choice_arg("retracted", {"include"}) == "include",
    )
    follow_merged_filters({"speaker": filters.speaker_id, "event": filters.event_id, "source": filters.source_id})
    page = claim_service.list_claims(session, filters, before=int_arg("before"), after=int_arg("after"))
    # A name that matches nothing may be a near spelling of a recorded one ("Russian MoD"): offer those.
    wanted: list[tuple[Kind, NameFilter | None]] = [("speaker", filters.speakers), ("event", filters.events)]
    near = {
        kind: similar_names(session, kind, found.typed, limit=3)
        for kind, found in wanted
        if found is not None and not found.ids
    }
    return render_template(
        "claims/index.html",
        page=page,
        filters=filters,
        near=near,
        speaker_name=speaker_name,
        event_name=event_name,
        names=claim_service.filter_names(session, filters),
        **_form_lists(),
    )


MAX_TYPED = 5000  # a statement's own limit: a longer text cannot be a recorded statement's copy


@bp.get("/claims/similar")
def similar() -> Response | str:
    """Recorded statements like ``text`` (optionally said by ``speaker``), closest first.

    ``claim`` names the claim a link would answer: each suggestion then offers one-click links to it."""
    typed = request.args.get("text", "")[:MAX_TYPED]
    speaker = request.args.get("speaker", "")[:200] or None
    claim = int_arg("claim")
    limit = min(int_arg("limit") or 10, 50)
    found = similar_claims(get_session(), typed, speaker, limit=limit, exclude_id=claim)
    if request.args.get("format") == "json":
        return jsonify({"text": typed, "speaker": speaker, "claim": claim, "results": [s.as_json() for s in found]})
    target = or_404(claim_service.claim_row, get_session(), claim) if claim is not None else None
    return render_template("claims/similar.html", typed=typed, speaker=speaker, results=found, target=target)


@bp.get("/claims/<int:claim_id>")
def show(claim_id: int) -> str:
    # Every read in one plain read transaction, ended before rendering: the page reads rows, not ORM objects.
    with reading() as db:
        detail = or_404(claim_service.claim_detail, db, claim_id)
        history = statement_history(db, claim_id)
        # The page has read the claim and its links already: the graph is drawn from those rows (from the
        # database only when the claim has more links than the page lists).
        head = graph_service.Node.from_row(vars(detail.claim))
        if detail.links_complete:
            graph = graph_service.graph_from_links(head, detail.links)
        else:
            graph = graph_service.claim_graph(db, claim_id, head=head)
        # The ClaimReview search engines read; only a live claim with a verdict has one (no query otherwise).
        c = detail.claim
        jsonld = claim_document(db, claim_id, request.host_url) if c.verdict and not c.retracted else None
    return render_template(
        "claims/show.html",
        d=detail,
        groups=claim_service.display_groups(detail),
        headings=claim_service.LINK_HEADINGS,
        history=history,
        summary=graph.summary,
        picture=graphics.claim_picture(graph),
        jsonld=jsonld,
        **_quick_forms(detail.claim),
    )


def _quick_forms(c: ClaimRow) -> dict[str, Any]:
    """The claim page's own forms, for editors: the verdict, and undoing a retraction."""
    if not current_user.is_editor:
        return {"verdict_form": None, "unretract_form": None}
    return {
        "verdict_form": _verdict_form(c),
        "unretract_form": UnretractForm(formdata=None, data={"version": c.version}) if c.retracted else None,
    }


def _verdict_form(c: ClaimRow) -> VerdictForm:
    # formdata=None: the claim page shows the stored values, whatever a GET's query string says.
    return VerdictForm(
        formdata=None, data={"verdict": c.verdict or "", "verdict_rationale": c.verdict_rationale, "version": c.version}
    )


@bp.get("/links/<int:link_id>")
def show_link(link_id: int) -> str:
    """A link as a page of its own: both statements, the relation, the note and its history."""
    detail = or_404(link_service.link_detail, get_session(), link_id)
    unretract_form = None
    if current_user.is_editor and detail.link.retracted:
        unretract_form = UnretractForm(formdata=None, data={"version": detail.link.version})
    return render_template(
        "claims/link_show.html",
        d=detail,
        history=history_for(get_session(), "link", link_id),
        unretract_form=unretract_form,
    )


def _claim_form_values(c: ClaimRow) -> dict[str, Any]:
    return {
        "text": c.text,
        "verbatim": bool(c.verbatim),
        "language": c.language,
        "translation": c.translation,
        "translated_by": c.translated_by,
        "speaker": c.speaker,
        "speaker_kind": c.speaker_kind,
        "affiliation": c.affiliation,
        "stated_on": c.stated_on,
        "stated_time": c.stated_time,
        "context": c.context,
        "event": c.event,
        "verdict": c.verdict or "",
        "verdict_rationale": c.verdict_rationale,
    }


def _suggestions(form: ClaimForm, exclude_id: int | None = None) -> list[Any] | None:
    """Similar recorded statements for the statement typed so far (None before anything is typed)."""
    typed = (form.text.data or "").strip()
    if request.method != "POST" or not typed:
        return None
    return similar_claims(get_session(), typed, form.speaker.data or None, limit=5, exclude_id=exclude_id)


def _duplicate_of() -> ClaimRow | None:
    """The recorded claim a refused save duplicates (see _guarded), for the form's message."""
    existing = g.get("duplicate_of")
    return claim_service.claim_row(get_session(), existing) if existing is not None else None


def _guarded(form: EntryGuardFields, write: Any) -> int | None:
    """Run ``write(guard)``; on a resent form, say so and give the claim its first send recorded.

    A duplicate is remembered for the page (the form then links it) and re-raised: nothing was saved."""
    guard = form.entry_guard()
    try:
        write(guard)
    except AlreadySubmitted as exc:
        flash(str(exc))
        return exc.claim_id
    except DuplicateClaim as exc:
        g.duplicate_of = exc.existing_id
        raise
    return None


def _apply_picks(form: ClaimFieldsForm) -> None:
    """A similar name picked on a refused save (NearNames) replaces what was typed: the existing speaker or
    event by its name, the existing source by its URL, or its title and outlet when it has none."""
    if form.pick_speaker.data:
        form.speaker.data = form.pick_speaker.data
    if form.pick_event.data:
        form.event.data = form.pick_event.data
    raw = (form.pick_source.data or "").strip()
    if raw:
        if not (raw.isascii() and raw.isdigit()) or len(raw) > 18:
            raise InvalidInput({"source_title": "Pick a source from the list."})
        source = source_service.get_source(get_session(), int(raw))  # NotFound if it is gone
        form.source_url.data = source.url or ""
        form.source_title.data = source.title or ""
        form.outlet.data = source.outlet or ""


def _to_claim(saved: int, **ids: int) -> Response:
    return redirect(url_for(".show", claim_id=saved), code=303)


class NewClaim(FormPage[ClaimForm, int]):
    template = "claims/form.html"
    default_field = "text"
    done = staticmethod(_to_claim)

    def form(self, **ids: int) -> ClaimForm:
        return NewClaimForm()

    def posted_form(self, **ids: int) -> ClaimForm:
        return NewClaimForm.posted()

    def save(self, form: ClaimForm, **ids: int) -> int:
        assert isinstance(form, NewClaimForm)
        _apply_picks(form)
        data = form.to_model(ClaimCreate)
        created: list[int | None] = []

        def write(guard: claim_service.EntryGuard) -> None:
            with writing() as session:
                created.append(claim_service.record_claim(session, data, guard))

        earlier = _guarded(form, write)
        if earlier is not None:
            return earlier
        claim_id = created[0]
        assert claim_id is not None
        flash(f"Claim recorded (claim {claim_id}).")
        return claim_id

    def post(self, **ids: int) -> Response | tuple[str, int]:
        if request.form.get("check_similar"):
            # The "Check for similar claims" button: show what is already recorded, keep everything typed,
            # save nothing.
            form = self.form(**ids)
            return self.render(form, None, **ids), 200
        return super().post(**ids)

    def page(self, form: ClaimForm, **ids: int) -> dict[str, Any]:
        return {"claim": None, "similar": _suggestions(form), "duplicate": _duplicate_of(), **_form_lists()}


class EditClaim(NewClaim):
    def form(self, **ids: int) -> ClaimForm:
        c = or_404(claim_service.claim_row, get_session(), ids["claim_id"])
        return ClaimForm(data={**_claim_form_values(c), "version": c.version})

    def posted_form(self, **ids: int) -> ClaimForm:
        return self.form(**ids)  # the stored values fill what a POST leaves out

    def save(self, form: ClaimForm, **ids: int) -> int:
        _apply_picks(form)
        data, expected = form.to_model(ClaimUpdate), form.expected_version()
        with writing() as session:
            claim_service.update_claim(
                session,
                ids["claim_id"],
                data,
                remove_source_ids=form.remove_sources.data or [],
                expected_version=expected,
                names=form.name_guard(),
            )
        flash("Changes saved.")
        return ids["claim_id"]

    def page(self, form: ClaimForm, **ids: int) -> dict[str, Any]:
        detail = or_404(claim_service.claim_detail, get_session(), ids["claim_id"])
        return {"claim": detail.claim, "sources": detail.sources, **_form_lists()}

    def stale_notice(self, form: ClaimForm, **ids: int) -> dict[str, Any]:
        c = claim_service.claim_row(get_session(), ids["claim_id"])
        return stale_notice(form, _claim_form_values(c), c.version, last_change("claim", c.id))


class NewLink(FormPage[LinkForm, int]):
    template = "claims/link_form.html"
    default_field = "target_id"
    done = staticmethod(_to_claim)

    def form(self, **ids: int) -> LinkForm:
        return LinkForm()

    def posted_form(self, **ids: int) -> LinkForm:
        return LinkForm.posted()

    def get(self, **ids: int) -> str:
        # The claim is read once, for both the form's default event and the page around it.
        detail = or_404(claim_service.claim_detail, get_session(), ids["claim_id"])
        # The new statement is most likely about the same event.
        form = LinkForm(data={"event": detail.claim.event, "q": request.args.get("q", "")})
        return render_template(self.template, form=form, notice=None, **self._page(form, detail, **ids))

    def post(self, **ids: int) -> Response | tuple[str, int]:
        if request.form.get("action") == "search":
            # The Search (or "Check for similar statements") button: the same form comes back with what was
            # found and everything typed or picked kept; nothing is validated or saved.
            return self.render(self.form(**ids), None, **ids), 200
        return super().post(**ids)

    def save(self, form: LinkForm, **ids: int) -> int:
        _apply_picks(form)
        data = form.to_link()
        added: list[int | None] = []

        def write(guard: claim_service.EntryGuard) -> None:
            with writing() as session:
                added.append(link_service.record_link(session, ids["claim_id"], data, guard))

        # A resent form lands on the claim it answers, where its first send's link shows.
        if _guarded(form, write) is None:
            if data.target_id is not None and form.has_new_statement():
                flash(
                    f"Link added (link {added[0]}) with statement #{data.target_id}; "
                    "the new statement you typed was not recorded."
                )
            else:
                flash(f"Link added (link {added[0]}).")
        return ids["claim_id"]

    def page(self, form: LinkForm, **ids: int) -> dict[str, Any]:
        return self._page(form, or_404(claim_service.claim_detail, get_session(), ids["claim_id"]), **ids)

    def _page(self, form: LinkForm, detail: claim_service.ClaimDetail, **ids: int) -> dict[str, Any]:
        session = get_session()
        claim_id = ids["claim_id"]
        q = form.search_words()
        # Without search words the suggestions stand in for a list: they are closer than the newest claims.
        found = claim_service.claim_choices(session, q, exclude_id=claim_id) if q else None
        like_claim = similar_claims(session, detail.claim.text, limit=5, exclude_id=claim_id)
        typed = (form.text.data or "").strip()[:MAX_TYPED]
        like_typed = (
            similar_claims(session, typed, form.speaker.data or None, limit=5, exclude_id=claim_id) if typed else None
        )
        shown = {s["id"] for s in found or []} | {s.id for s in like_claim} | {s.id for s in like_typed or []}
        # A statement picked before searching stays picked even when the new results leave it out.
        picked_id = form.picked_id()
        picked = None
        if picked_id is not None and picked_id not in shown and picked_id != claim_id:
            picked = claim_service.claim_choice(session, picked_id)
            if picked is not None:
                shown.add(picked_id)
        return {
            "d": detail,
            "q": q,
            "found": found,
            "like_claim": like_claim,
            "like_typed": like_typed,
            "picked": picked,
            "picked_id": picked_id,
            "linked": link_service.links_with(session, claim_id, sorted(shown)),
            "duplicate": _duplicate_of(),
            **_form_lists(),
        }


class EditLink(FormPage[LinkEditForm, ClaimLink]):
    template = "claims/link_edit.html"
    default_field = "relation"

    def form(self, **ids: int) -> LinkEditForm:
        link = or_404(link_service.get_link, get_session(), ids["link_id"])
        return LinkEditForm(data={"relation": link.relation, "note": link.note, "version": link.version})

    def save(self, form: LinkEditForm, **ids: int) -> ClaimLink:
        data, expected = form.to_model(LinkUpdate), form.expected_version()
        with writing() as session:
            link = link_service.update_link(session, ids["link_id"], data, expected_version=expected)
        flash("Link saved.")
        return link

    def done(self, saved: ClaimLink, **ids: int) -> Response:
        return redirect_after_post(".show", claim_id=saved.to_claim_id)

    def page(self, form: LinkEditForm, **ids: int) -> dict[str, Any]:
        detail = or_404(link_service.link_detail, get_session(), ids["link_id"])
        return {"d": detail, "history": history_for(get_session(), "link", ids["link_id"])}

    def stale_notice(self, form: LinkEditForm, **ids: int) -> dict[str, Any]:
        return stale_notice_for_row(form, link_service.get_link(get_session(), ids["link_id"]), "link")


class OneChange(FormPage[F, R]):
    """One change to one claim or link, guarded by the version its form was shown with: retract it, undo a
    retraction, set the verdict. A subclass names its form, input model, service call and words."""

    default_field = "reason"
    form_class: ClassVar[type[VersionedForm]]
    model: ClassVar[type[Any]]
    service: ClassVar[Callable[..., Any]]  # service(session, id, data, expected_version=...)
    message: ClassVar[str]  # the confirmation after the save
    words: ClassVar[dict[str, str]] = {}  # what the page says around the form

    @abstractmethod
    def current(self, ident: int) -> Any:
        """The stored record (404 when there is none)."""

    def form(self, **ids: int) -> F:
        return self.form_class(data={"version": self.current(_ident(ids)).version})

    def save(self, form: F, **ids: int) -> R:
        data, expected = form.to_model(self.model), form.expected_version()
        with writing() as session:
            saved = self.service(session, _ident(ids), data, expected_version=expected)
        flash(self.message)
        return self.result(saved, _ident(ids))

    def result(self, saved: Any, ident: int) -> R:
        return saved


def _ident(ids: dict[str, int]) -> int:
    (ident,) = ids.values()  # these routes name exactly one claim or link
    return ident


class ClaimChange(OneChange[F, int]):
    done = staticmethod(_to_claim)

    def current(self, ident: int) -> ClaimRow:
        return or_404(claim_service.claim_row, get_session(), ident)

    def result(self, saved: Any, ident: int) -> int:
        return ident

    def page(self, form: F, **ids: int) -> dict[str, Any]:
        return {**self.words, "claim": self.current(_ident(ids)), "link": None}


class LinkChange(OneChange[F, ClaimLink]):
    def current(self, ident: int) -> ClaimLink:
        return or_404(link_service.get_link, get_session(), ident)

    def done(self, saved: ClaimLink, **ids: int) -> Response:
        return redirect(url_for(".show_link", link_id=saved.id), code=303)

    def page(self, form: F, **ids: int) -> dict[str, Any]:
        return {**self.words, "claim": None, "link": or_404(link_service.link_detail, get_session(), _ident(ids))}


class RetractClaim(ClaimChange[RetractForm]):
    template = "claims/retract.html"
    form_class, model, message, words = RetractForm, Retraction, "Claim retracted.", {"what": "claim"}
    service = staticmethod(claim_service.retract_claim)


class RetractLink(LinkChange[RetractForm]):
    template = "claims/retract.html"
    form_class, model, message, words = RetractForm, Retraction, "Link retracted.", {"what": "link"}
    service = staticmethod(link_service.retract_link)
    done = EditLink.done  # back to the claim it answered


class SetVerdict(ClaimChange[VerdictForm]):
    """The claim page's quick verdict form; its own page shows it again when something is wrong."""

    template = "claims/quick_form.html"
    default_field = "verdict"
    form_class, model, message = VerdictForm, VerdictChange, "Verdict saved."
    words = {"title": "Set the verdict", "button": "Save verdict"}
    service = staticmethod(claim_service.set_verdict)

    def form(self, **ids: int) -> VerdictForm:
        c = self.current(ids["claim_id"])
        return _verdict_form(c) if request.method == "GET" else VerdictForm(data={"version": c.version})

    def stale_notice(self, form: VerdictForm, **ids: int) -> dict[str, Any]:
        c = claim_service.claim_row(get_session(), ids["claim_id"])
        values = {"verdict": c.verdict or "", "verdict_rationale": c.verdict_rationale}
        return stale_notice(form, values, c.version, last_change("claim", c.id))


UNDO_WORDS = {"title": "Undo the retraction", "button": "Undo retraction"}


class UnretractClaim(ClaimChange[UnretractForm]):
    template = "claims/quick_form.html"
    form_class, model, message, words = UnretractForm, Retraction, "Retraction undone.", UNDO_WORDS
    service = staticmethod(claim_service.unretract_claim)


class UnretractLink(LinkChange[UnretractForm]):
    template = "claims/quick_form.html"
    form_class, model, message, words = UnretractForm, Retraction, "Retraction undone.", UNDO_WORDS
    service = staticmethod(link_service.unretract_link)


bp.add_url_rule("/claims/new", view_func=NewClaim.as_view("new"))
bp.add_url_rule("/claims/<int:claim_id>/edit", view_func=EditClaim.as_view("edit"))
bp.add_url_rule("/claims/<int:claim_id>/retract", view_func=RetractClaim.as_view("retract"))
bp.add_url_rule("/claims/<int:claim_id>/links/new", view_func=NewLink.as_view("new_link"))
bp.add_url_rule("/links/<int:link_id>/edit", view_func=EditLink.as_view("edit_link"))
bp.add_url_rule("/links/<int:link_id>/retract", view_func=RetractLink.as_view("retract_link"))
bp.add_url_rule("/claims/<int:claim_id>/verdict", view_func=SetVerdict.as_view("set_verdict"))
bp.add_url_rule("/claims/<int:claim_id>/unretract", view_func=UnretractClaim.as_view("unretract"))
bp.add_url_rule("/links/<int:link_id>/unretract", view_func=UnretractLink.as_view("unretract_link"))

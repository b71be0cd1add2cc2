"""Read-only JSON for programs: /api/claims, /api/claims/<id>, and ClaimReview JSON-LD at /claims/<id>.jsonld.

Anonymous and read-only: these routes answer GET (and HEAD) only, so any other method is a 405 from the
router; CSRF does not apply to reads. Errors are JSON too: 400 for a bad argument, 404 for no such claim.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, jsonify, request, url_for
from werkzeug.exceptions import HTTPException

from claimtrack.models import Verdict, check_language
from claimtrack.services import claims_api
from claimtrack.services.claimreview import claim_document
from claimtrack.services.claims import ListFilters
from claimtrack.services.common import PAGE_SIZE
from claimtrack.services.errors import NotFound
from claimtrack.web.database import get_session
from claimtrack.web.helpers import choice_arg, int_arg
from claimtrack.web.merging import follow_merged_filters

bp = Blueprint("api", __name__)


def _links(claim_id: int, has_verdict: bool) -> dict[str, str]:
    links = {
        "self": url_for("api.claim", claim_id=claim_id),
        "html": f"/claims/{claim_id}",
        "datasette": f"/data/claimtrack/claims/{claim_id}",
    }
    if has_verdict:
        links["claimreview"] = url_for("api.claim_jsonld", claim_id=claim_id)
    return links


def _claim_json(row: Any) -> dict[str, Any]:
    data = {k: row[k] for k in row if k not in ("speaker_id", "speaker", "speaker_kind", "event_id", "event")}
    data["verbatim"] = bool(row["verbatim"])
    data["retracted"] = bool(row["retracted"])
    data["speaker"] = {"id": row["speaker_id"], "name": row["speaker"], "kind": row["speaker_kind"]}
    data["event"] = {"id": row["event_id"], "name": row["event"]} if row["event_id"] else None
    data["links"] = _links(row["id"], row["verdict"] is not None)
    return data


@bp.get("/api/claims")
def claims() -> Response:
    language = request.args.get("language", "").strip()
    try:
        language = check_language(language) if language else ""
    except ValueError as exc:
        return _error(400, str(exc))
    filters = ListFilters(
        q=request.args.get("q", "").strip()[:200] or None,
        speaker_id=int_arg("speaker"),
        event_id=int_arg("event"),
        verdict=choice_arg("verdict", {v.value for v in Verdict}),
        language=language or None,
        include_retracted=choice_arg("retracted", {"include"}) == "include",
    )
    # A program holding a merged speaker's or event's old id gets the kept record's list, as the HTML list does.
    follow_merged_filters({"speaker": filters.speaker_id, "event": filters.event_id})
    limit = int_arg("limit") or PAGE_SIZE
    page = claims_api.list_claims(get_session(), filters, before=int_arg("before"), after=int_arg("after"), limit=limit)
    args: dict[str, Any] = {k: v for k, v in request.args.items() if k not in ("before", "after")}
    return jsonify(
        {
            "claims": [_claim_json(r) for r in page.items],
            "next": url_for("api.claims", **args, before=page.older) if page.older else None,
            "previous": url_for("api.claims", **args, after=page.newer) if page.newer else None,
        }
    )


@bp.get("/api/claims/<int:claim_id>")
def claim(claim_id: int) -> Response:
    try:
        detail = claims_api.claim_detail(get_session(), claim_id)
    except NotFound as exc:
        return _error(404, str(exc))
    data = _claim_json(detail["claim"])
    data["sources"] = [dict(source) for source in detail["sources"]]
    data["tags"] = detail["tags"]
    data["claim_links"] = [
        dict(link, retracted=bool(link["retracted"]), other=url_for("api.claim", claim_id=link["other_id"]))
        for link in detail["links"]
    ]
    return jsonify(data)


@bp.get("/claims/<int:claim_id>.jsonld")
def claim_jsonld(claim_id: int) -> Response:
    try:
        doc = claim_document(get_session(), claim_id, request.host_url)
    except NotFound as exc:
        return _error(404, str(exc))
    if doc is None:
        return _error(404, f"Claim {claim_id} has no verdict, so there is no ClaimReview for it.")
    response = jsonify(doc)
    response.mimetype = "application/ld+json"
    return response


def _error(status: int, message: str) -> Response:
    response = jsonify({"error": message})
    response.status_code = status
    return response


@bp.errorhandler(HTTPException)
def _http_error(exc: HTTPException) -> Response:
    # abort(400) from the argument helpers answers JSON to programs rather than an HTML page.
    return http_error(exc)


def answers_json(path: str) -> bool:
    """Whether an address is the API's: its errors are JSON even where no route matched (a 405 or 404 from
    the router, which this blueprint's own handler never sees)."""
    return path.startswith("/api/") or (path.startswith("/claims/") and path.endswith(".jsonld"))


def http_error(exc: HTTPException) -> Response:
    response = _error(exc.code or 500, exc.description or exc.name)
    if allow := dict(exc.get_headers()).get("Allow"):  # a 405 says which methods work
        response.headers["Allow"] = allow
    return response

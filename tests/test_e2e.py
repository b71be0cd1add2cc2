"""End to end over real HTTP: `claimtrack serve` in its own process, CSRF on, Datasette at /data/.

The chain a fact-checker and a researcher follow: form → claim page → Datasette CSV.
"""

from __future__ import annotations

import csv
import io
import re
import uuid
from collections.abc import Iterator

import httpx
import pytest
from conftest import csrf_token
from markupsafe import escape
from server_fixture import LiveServer, live_server, sign_in_http  # noqa: F401  (the fixture)

pytestmark = pytest.mark.slow

# The page a POST without a valid form token gets (the CSRF error handler's message).
CSRF_REFUSAL = (
    "The form was missing its security token or the token had expired. Go back, reload the page and "
    "submit the form again; nothing was saved."
)

RUSSIAN_CLAIM = "The evacuation of thousands of people trapped for months in the last rebel foothold of Aleppo was finished on Friday."
CONTRADICTING_SPEAKERS = [
    "Senior rebel official",
    "ICRC official working on the evacuation",
    "Activists in Aleppo",
    "Abdu Khudr",
]


@pytest.fixture(scope="module")
def http(live_server: LiveServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=live_server.url, timeout=15.0, follow_redirects=False) as client:
        sign_in_http(client, live_server.editor)
        yield client


def shown(text: str) -> str:
    """How the app renders typed text: HTML-escaped, quotes included."""
    return str(escape(text))


def claim_ids_on(html: str) -> list[int]:
    return [int(n) for n in re.findall(r'href="/claims/(\d+)"', html)]


def csv_rows(response: httpx.Response) -> list[dict[str, str]]:
    assert response.status_code == 200, response.text[:500]
    assert response.headers["content-type"].startswith("text/")
    return list(csv.DictReader(io.StringIO(response.text)))


def count_claims(http: httpx.Client) -> int:
    r = http.get("/data/claimtrack.json", params={"sql": "select count(*) as n from claims", "_shape": "array"})
    assert r.status_code == 200, r.text[:500]
    return int(r.json()[0]["n"])


def count_links(http: httpx.Client) -> int:
    r = http.get("/data/claimtrack.json", params={"sql": "select count(*) as n from claim_links", "_shape": "array"})
    assert r.status_code == 200, r.text[:500]
    return int(r.json()[0]["n"])


def russian_claim_id(http: httpx.Client) -> int:
    r = http.get("/claims", params={"q": "finished on Friday"})
    assert r.status_code == 200
    ids = claim_ids_on(r.text)
    assert ids, "the seeded Russian claim is not found by search"
    return ids[0]


def test_served_app_and_datasette_answer_at_one_address(http: httpx.Client) -> None:
    home = http.get("/")
    assert home.status_code == 200
    assert "text/html" in home.headers["content-type"]
    assert http.get("/static/style.css").status_code == 200
    data = http.get("/data/")
    assert data.status_code == 200
    assert "claimtrack" in data.text
    assert http.get("/data/claimtrack/claims").status_code == 200


def test_seeded_russian_claim_shows_everyone_who_contradicts_it(http: httpx.Client) -> None:
    claim_id = russian_claim_id(http)
    page = http.get(f"/claims/{claim_id}")
    assert page.status_code == 200
    html = page.text
    assert shown(RUSSIAN_CLAIM) in html
    assert "Russian defence ministry" in html
    # The section itself (the summary line and the graph above it also say "Contradicted by").
    contradicted = html.split('id="h-incoming-contradicts"', 1)
    assert len(contradicted) == 2, "no 'Contradicted by' section"
    section = contradicted[1]
    for speaker in CONTRADICTING_SPEAKERS:
        assert speaker in section, speaker
    assert "are false" in section

    # The reverse direction: the rebel official's statement shows what it contradicts.
    rebel_id = next(i for i in claim_ids_on(section) if "are false" in http.get(f"/claims/{i}").text)
    rebel_page = http.get(f"/claims/{rebel_id}").text
    assert "This statement contradicts" in rebel_page
    assert f'href="/claims/{claim_id}"' in rebel_page.split("This statement contradicts", 1)[1]


def test_form_to_claim_pages_to_datasette_csv(http: httpx.Client) -> None:
    marker = uuid.uuid4().hex[:10]
    claim_text = f'E2E claim {marker}: the convoy left at dawn, with <b>1,200</b> people, "all safe".'
    counter_text = f"E2E counterclaim {marker}: no convoy left before noon, and many were turned back."
    speaker = f"E2E ministry {marker}"
    counter_speaker = f"E2E field reporter {marker}"

    # 1. Record a claim through the form, with the CSRF token the form carries.
    form = http.get("/claims/new")
    assert form.status_code == 200
    r = http.post(
        "/claims/new",
        data={
            "csrf_token": csrf_token(form.text),
            "text": claim_text,
            "speaker": speaker,
            "speaker_kind": "government_body",
            "source_url": f"https://example.org/{marker}",
            "source_title": f"Report {marker}",
            "outlet": "Example Times",
            "stated_on": "2016-12-16",
            "verbatim": "y",
            "event": "Aleppo evacuation, December 2016",
        },
    )
    assert r.status_code == 303, r.text[:1000]
    match = re.fullmatch(r"(?:https?://[^/]+)?/claims/(\d+)", r.headers["location"])
    assert match, r.headers["location"]
    claim_id = int(match.group(1))

    page = http.get(f"/claims/{claim_id}")
    assert page.status_code == 200
    assert shown(claim_text) in page.text  # markup typed is shown escaped
    assert "<b>1,200</b>" not in page.text
    assert speaker in page.text

    # 2. Add a counterclaim as a new statement with its speaker.
    link_form = http.get(f"/claims/{claim_id}/links/new")
    assert link_form.status_code == 200
    r = http.post(
        f"/claims/{claim_id}/links/new",
        data={
            "csrf_token": csrf_token(link_form.text),
            "relation": "contradicts",
            "note": f"Timings disagree ({marker})",
            "text": counter_text,
            "speaker": counter_speaker,
            "stated_on": "2016-12-16",
        },
    )
    assert r.status_code in (302, 303), r.text[:1000]
    assert re.fullmatch(rf"(?:https?://[^/]+)?/claims/{claim_id}", r.headers["location"])

    # 3. It shows on both claim pages, each in its direction.
    page = http.get(f"/claims/{claim_id}").text
    contradicted = page.split("Contradicted by", 1)[1]
    assert counter_text in contradicted
    assert counter_speaker in contradicted
    other_ids = [i for i in claim_ids_on(contradicted) if i != claim_id]
    assert other_ids, "the counterclaim does not link to its own page"
    other_id = other_ids[0]
    other = http.get(f"/claims/{other_id}")
    assert other.status_code == 200
    assert counter_text in other.text
    reverse = other.text.split("This statement contradicts", 1)
    assert len(reverse) == 2, "no 'This statement contradicts' section on the counterclaim's page"
    assert shown(claim_text) in reverse[1]

    # 4. Researchers get it from Datasette as CSV: the readable view ...
    rows = csv_rows(http.get("/data/claimtrack/claim_links_readable.csv", params={"claim_id": claim_id}))
    assert len(rows) == 1, rows
    row = rows[0]
    assert row["relation"] == "contradicts"
    assert int(row["claim_id"]) == claim_id
    assert row["claim_text"] == claim_text  # stored as typed, quotes and commas survive CSV
    assert row["claim_speaker"] == speaker
    assert int(row["other_id"]) == other_id
    assert row["other_text"] == counter_text
    assert row["other_speaker"] == counter_speaker
    assert row["note"] == f"Timings disagree ({marker})"

    # ... and the full, streamed export of the claims table.
    rows = csv_rows(http.get("/data/claimtrack/claims.csv", params={"_stream": "on", "_labels": "on"}))
    by_id = {int(r["id"]): r for r in rows}
    assert by_id[claim_id]["text"] == claim_text
    assert by_id[other_id]["text"] == counter_text
    assert len(rows) == count_claims(http)
    assert RUSSIAN_CLAIM in {r["text"] for r in rows}


def test_post_without_csrf_token_is_refused_and_writes_nothing(http: httpx.Client) -> None:
    marker = uuid.uuid4().hex[:10]
    claims_before, links_before = count_claims(http), count_links(http)

    r = http.post("/claims/new", data={"text": f"No token {marker}", "speaker": f"Nobody {marker}"})
    assert r.status_code == 400
    assert CSRF_REFUSAL in r.text

    target = russian_claim_id(http)
    r = http.post(
        f"/claims/{target}/links/new",
        data={"relation": "contradicts", "text": f"No token either {marker}", "speaker": f"Nobody {marker}"},
    )
    assert r.status_code == 400

    # A token that does not belong to this session is refused too.
    with httpx.Client(base_url=str(http.base_url), timeout=15.0) as stranger:
        foreign = csrf_token(stranger.get("/login").text)
    r = http.post("/claims/new", data={"csrf_token": foreign, "text": f"Bad token {marker}", "speaker": "x"})
    assert r.status_code == 400

    assert count_claims(http) == claims_before
    assert count_links(http) == links_before
    found = csv_rows(http.get("/data/claimtrack/claims.csv", params={"_search": marker}))
    assert found == []

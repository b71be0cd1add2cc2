"""Every route of the web app through Flask's test client, on a real migrated (and mostly seeded) SQLite file."""

from __future__ import annotations

import html
import re
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import helpers
import pytest
from flask import Flask
from flask.testing import FlaskClient
from helpers import EDITOR, RECORD_TABLES, add_account, csrf_token, query, sign_in, snapshot, statements_sent
from sqlalchemy import Engine

from claimtrack import create_app
from claimtrack.db import write_session
from claimtrack.models import ClaimCreate, LinkCreate
from claimtrack.services.claims import create_claim
from claimtrack.services.links import add_link

RUSSIAN_CLAIM = "was finished on Friday."
REBEL_FALSE = "are false."
SOURCE_TITLE = "Aleppo evacuation is complete, claims Russia"


# --- helpers --------------------------------------------------------------------------------


def row_counts(db_path: Path) -> dict[str, int]:
    """Rows per record table (the history rows a write adds are checked in test_history)."""
    return helpers.row_counts(db_path, RECORD_TABLES)


def text_of(fragment: str) -> str:
    """Visible text with tags dropped, as a reader sees inline markup: a quotation and the punctuation
    after it stay together."""
    return helpers.text_of(fragment, tags_as="")


def claim_id_by_text(db_path: Path, fragment: str) -> int:
    found = query(db_path, "SELECT id FROM claims WHERE instr(text, ?) > 0", fragment)
    assert len(found) == 1, f"expected one claim containing {fragment!r}, found {len(found)}"
    return found[0]["id"]


def page(client: FlaskClient, url: str, status: int = 200) -> str:
    response = client.get(url)
    assert response.status_code == status, (url, response.status_code)
    return response.get_data(as_text=True)


def section(body: str, heading: str) -> str:
    """The HTML of the <section> whose <h2> starts with ``heading``."""
    match = re.search(r"<section[^>]*>\s*<h2[^>]*>\s*" + re.escape(heading) + r"\b(.*?)</section>", body, re.S)
    assert match, f"no section headed {heading!r}"
    return match.group(0)


def items(fragment: str) -> list[str]:
    return re.findall(r"<li>(.*?)</li>", fragment, re.S)


def claim_form(**fields: Any) -> dict[str, Any]:
    return {k: v for k, v in fields.items() if v is not None}


# --- fixtures -------------------------------------------------------------------------------


@pytest.fixture
def ids(seeded_engine: Engine, db_path: Path) -> dict[str, int]:
    return {
        "russia": claim_id_by_text(db_path, RUSSIAN_CLAIM),
        "rebel_false": claim_id_by_text(db_path, REBEL_FALSE),
        "putin_ceasefire": claim_id_by_text(db_path, "full ceasefire"),
        "edel": claim_id_by_text(db_path, "piece of my heart"),
        "ikhbariya": claim_id_by_text(db_path, "hostages and heavy weapons"),
        "link": query(db_path, "SELECT min(id) FROM claim_links")[0][0],
        "speaker": query(db_path, "SELECT id FROM speakers WHERE name = 'Russian defence ministry'")[0][0],
        "speaker_rebel": query(db_path, "SELECT id FROM speakers WHERE name = 'Senior rebel official'")[0][0],
        "speaker_opposition": query(db_path, "SELECT id FROM speakers WHERE name = 'Syrian armed opposition'")[0][0],
        "source": query(db_path, "SELECT min(id) FROM sources")[0][0],
        "event": query(db_path, "SELECT min(id) FROM events")[0][0],
    }


@pytest.fixture
def csrf_app(engine: Engine, db_path: Path) -> Iterator[Flask]:
    app = create_app(
        {
            "TESTING": True,
            "DATABASE": str(db_path),
            "ACCOUNTS_DATABASE": str(db_path.parent / "auth.db"),
            "SECRET_KEY": "x",
            "WTF_CSRF_ENABLED": True,
        }
    )
    add_account(app, *EDITOR, "editor")
    yield app
    engine_ = app.extensions.get("claimtrack.engine")
    if engine_ is not None:
        engine_.dispose()


# --- every page answers -----------------------------------------------------------------------

PAGES = [
    "/",
    "/claims",
    "/claims?q=thousands",
    "/claims?q=%22OR%22+NOT+*",
    "/claims?relation=contradicts",
    "/claims?relation=supports&verdict=disputed",
    "/claims?speaker={speaker}",
    "/claims?event={event}",
    "/claims?source={source}",
    "/claims?before={russia}",
    "/claims?after={russia}",
    "/claims/{russia}",
    "/claims/{rebel_false}",
    "/claims/new",
    "/claims/{russia}/edit",
    "/claims/{russia}/links/new",
    "/claims/{russia}/links/new?q=thousands",
    "/links/{link}/edit",
    "/speakers",
    "/speakers?q=rebel",
    "/speakers?kind=person",
    "/speakers/{speaker}",
    "/speakers/{speaker_opposition}",
    "/speakers/new",
    "/speakers/{speaker}/edit",
    "/sources",
    "/sources?q=aleppo",
    "/sources/{source}",
    "/sources/new",
    "/sources/{source}/edit",
    "/events",
    "/events/{event}",
    "/events/new",
    "/events/{event}/edit",
]


@pytest.mark.parametrize("url", PAGES)
def test_every_page_answers_200(seeded_client: FlaskClient, ids: dict[str, int], url: str) -> None:
    response = seeded_client.get(url.format(**ids))
    assert response.status_code == 200
    assert response.mimetype == "text/html"
    body = response.get_data(as_text=True)
    assert body.startswith("<!doctype html>") and "</html>" in body
    assert "Something went wrong" not in body


@pytest.mark.parametrize(
    "url",
    [
        "/",
        "/claims",
        "/claims?relation=contradicts",
        "/claims/new",
        "/speakers",
        "/speakers/new",
        "/sources",
        "/sources/new",
        "/events",
        "/events/new",
    ],
)
def test_pages_answer_on_an_empty_database(client: FlaskClient, url: str) -> None:
    body = page(client, url)
    assert "Something went wrong" not in body


def test_static_stylesheet_is_served_locally(seeded_client: FlaskClient) -> None:
    body = page(seeded_client, "/")
    assert 'href="/static/style.css"' in body
    assert "cdn" not in body.lower()
    response = seeded_client.get("/static/style.css")
    assert response.status_code == 200 and response.mimetype == "text/css"
    response.close()


@pytest.mark.parametrize(
    "url",
    [
        "/claims/999999",
        "/claims/999999/edit",
        "/claims/999999/links/new",
        "/links/999999/edit",
        "/speakers/999999",
        "/speakers/999999/edit",
        "/sources/999999",
        "/sources/999999/edit",
        "/events/999999",
        "/events/999999/edit",
        "/no/such/page",
    ],
)
def test_unknown_ids_are_404(seeded_client: FlaskClient, url: str) -> None:
    body = page(seeded_client, url, 404)
    assert "404" in body
    assert "Traceback" not in body


WHOLE_NUMBER = "The query argument {!r} must be a whole number."


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("/claims?before=abc", WHOLE_NUMBER.format("before")),
        ("/claims?after=-1", WHOLE_NUMBER.format("after")),
        ("/claims?before=1.5", WHOLE_NUMBER.format("before")),
        ("/claims?relation=bogus", "Unknown relation 'bogus': use one of contradicts, qualifies, supports."),
        (
            "/claims?verdict=bogus",
            "Unknown verdict 'bogus': use one of accurate, disputed, false, misleading, unverified.",
        ),
        # Other text is a name (tests/test_list_filters.py); numerals must be an id in ASCII digits.
        ("/claims?speaker=%D9%A1%D9%A2", WHOLE_NUMBER.format("speaker")),
        ("/claims?event=%C2%B2", WHOLE_NUMBER.format("event")),
        ("/claims?source=1e3", WHOLE_NUMBER.format("source")),
        ("/claims?before=99999999999999999999999", WHOLE_NUMBER.format("before")),
        (
            "/speakers?kind=bogus",
            "Unknown kind 'bogus': use one of armed_group, government_body, group, media_outlet, organisation, person.",
        ),
        ("/speakers?before=abc", WHOLE_NUMBER.format("before")),
        ("/sources?after=abc", WHOLE_NUMBER.format("after")),
        ("/events?before=abc", WHOLE_NUMBER.format("before")),
        ("/speakers/1?before=abc", WHOLE_NUMBER.format("before")),
        ("/sources/1?after=z", WHOLE_NUMBER.format("after")),
    ],
)
def test_bad_query_arguments_are_400(seeded_client: FlaskClient, url: str, message: str) -> None:
    body = page(seeded_client, url, 400)
    assert "400 Bad Request" in body
    assert message in html.unescape(body)


# --- the story: the Russian claim and who contradicts it --------------------------------------


def test_russian_claim_page_shows_everyone_who_contradicts_it(seeded_client: FlaskClient, ids: dict[str, int]) -> None:
    body = page(seeded_client, f"/claims/{ids['russia']}")
    main = text_of(body.split("<section", 1)[0])
    assert "The evacuation of thousands of people trapped for months" in main
    assert "Russian defence ministry" in main and "Russian government" in main
    assert SOURCE_TITLE in main and "Financial Times" in main
    assert "Disputed" in main

    contradicted = section(body, "Contradicted by")
    assert "(5)" in contradicted
    entries = [text_of(li) for li in items(contradicted)]
    expected = [
        (
            "Senior rebel official (Syrian armed opposition)",
            "from the Russians about the evacuation being over are false.",
        ),
        (
            "Senior rebel official (Syrian armed opposition)",
            "Negotiations for a resumption of the evacuation were not over.",
        ),
        (
            "ICRC official working on the evacuation (International Committee of the Red Cross)",
            "thousands of people still inside the remaining rebel areas",
        ),
        ("Activists in Aleppo", "thousands of people still inside the remaining rebel areas"),
        ("Abdu Khudr (Activists in Aleppo)", "families with women and children, when I left."),
    ]
    for speaker, words in expected:
        matching = [e for e in entries if speaker in e and words in e]
        assert len(matching) == 1, f"{speaker!r} saying {words!r} not shown once under 'Contradicted by'"
        assert f"Reported in {SOURCE_TITLE}, Financial Times" in matching[0]
    assert len(entries) == 5
    # Each statement links to its own page.
    for other in re.findall(r'<p class="text"><a href="/claims/(\d+)"', contradicted):
        assert int(other) != ids["russia"]
        assert "This statement contradicts" in page(seeded_client, f"/claims/{other}")
    assert "This statement contradicts" not in body


def test_rebel_official_page_shows_what_it_contradicts(seeded_client: FlaskClient, ids: dict[str, int]) -> None:
    body = page(seeded_client, f"/claims/{ids['rebel_false']}")
    # Contradiction is mutual: the one section shows it, with the recorded direction in words.
    outgoing = section(body, "Contradicted by / contradicts")
    assert f'href="/claims/{ids["russia"]}"' in outgoing
    entry = text_of(outgoing)
    assert RUSSIAN_CLAIM in entry and "Russian defence ministry (Russian government)" in entry
    assert "This statement contradicts it" in entry
    assert "Contradicted by / contradicts (1)" in entry


def test_event_page_lists_contested_statements_first(seeded_client: FlaskClient, ids: dict[str, int]) -> None:
    body = page(seeded_client, f"/events/{ids['event']}")
    assert "Competing claims" in body
    groups = re.findall(r'<section class="speaker-group"[^>]*>\s*<h3[^>]*>(.*?)</h3>', body, re.S)
    contested = [bool(re.search(r"\d+ contested", g)) for g in groups]
    assert contested[0] and not contested[-1]
    assert contested == sorted(contested, reverse=True), "contested speakers must come first"


def test_claim_list_filters_narrow_the_list(seeded_client: FlaskClient, ids: dict[str, int], db_path: Path) -> None:
    def listed(url: str) -> set[int]:
        return {
            int(i)
            for i in re.findall(
                r'<li class="claim">\s*<p class="text"><a href="/claims/(\d+)"', page(seeded_client, url)
            )
        }

    everything = listed("/claims")
    assert len(everything) == row_counts(db_path)["claims"]
    contested = listed("/claims?relation=contradicts")
    expected = {
        r[0]
        for r in query(
            db_path,
            "SELECT from_claim_id FROM claim_links WHERE relation = 'contradicts' "
            "UNION SELECT to_claim_id FROM claim_links WHERE relation = 'contradicts'",
        )
    }
    assert contested == expected
    assert listed("/claims?q=thousands+inside") == {
        r[0] for r in query(db_path, "SELECT id FROM claims WHERE text LIKE '%thousands%' AND text LIKE '%inside%'")
    }
    assert listed(f"/claims?speaker={ids['speaker_rebel']}") == {
        r[0] for r in query(db_path, "SELECT id FROM claims WHERE speaker_id = ?", ids["speaker_rebel"])
    }
    assert listed("/claims?verdict=disputed") == {ids["russia"]}
    assert listed("/claims?q=nothingmatcheshere") == set()
    # The speaker page shows the speaker's own claims and those of its members.
    members = listed(f"/speakers/{ids['speaker_opposition']}")
    assert members == {
        r[0]
        for r in query(
            db_path,
            "SELECT c.id FROM claims c JOIN speakers s ON s.id = c.speaker_id WHERE s.affiliation_id = ? OR s.id = ?",
            ids["speaker_opposition"],
            ids["speaker_opposition"],
        )
    }
    assert ids["rebel_false"] in members and len(members) == 6  # the rebel official's five and the rebel leader's


def test_claim_list_pages_through_many_claims(client: FlaskClient, engine: Engine) -> None:
    with write_session(engine, actor="test") as session:
        made = [
            create_claim(session, ClaimCreate.model_validate({"text": f"Claim {i}", "speaker": {"name": "S"}})).id
            for i in range(120)
        ]
    seen: list[int] = []
    url = "/claims"
    for _ in range(10):
        body = page(client, url)
        seen.extend(int(i) for i in re.findall(r'<li class="claim">\s*<p class="text"><a href="/claims/(\d+)"', body))
        nxt = re.search(r'<a rel="next" href="([^"]+)"', body)
        if not nxt:
            break
        url = html.unescape(nxt.group(1))
    assert seen == sorted(made, reverse=True)
    # Walking back from the last page with the "Newer" link.
    back: list[list[int]] = []
    for _ in range(10):
        prev = re.search(r'<a rel="prev" href="([^"]+)"', body)
        if not prev:
            break
        body = page(client, html.unescape(prev.group(1)))
        back.append([int(i) for i in re.findall(r'<li class="claim">\s*<p class="text"><a href="/claims/(\d+)"', body)])
    newest_first = sorted(made, reverse=True)
    assert back == [newest_first[50:100], newest_first[:50]]


# --- recording claims -------------------------------------------------------------------------


def test_new_claim_with_only_text_and_speaker(seeded_client: FlaskClient, db_path: Path) -> None:
    before = row_counts(db_path)
    response = seeded_client.post("/claims/new", data={"text": "Aleppo is calm tonight.", "speaker": "A new witness"})
    assert response.status_code == 303
    match = re.fullmatch(r"/claims/(\d+)", response.headers["Location"])
    assert match, response.headers["Location"]
    claim_id = int(match.group(1))
    row = query(
        db_path,
        "SELECT c.text, c.verbatim, c.event_id, s.name, s.kind FROM claims c "
        "JOIN speakers s ON s.id = c.speaker_id WHERE c.id = ?",
        claim_id,
    )[0]
    assert tuple(row) == ("Aleppo is calm tonight.", 0, None, "A new witness", "person")
    assert row_counts(db_path) == before | {"claims": before["claims"] + 1, "speakers": before["speakers"] + 1}
    body = page(seeded_client, f"/claims/{claim_id}")
    assert "Aleppo is calm tonight." in body and "A new witness" in body


def test_new_claim_with_every_field_matches_existing_records(
    seeded_client: FlaskClient, db_path: Path, ids: dict[str, int]
) -> None:
    seeded_client.post(
        "/claims/new",
        data={"text": "Seed a URL source", "speaker": "Someone", "source_url": "https://www.ft.com/content/aleppo"},
    )
    before = row_counts(db_path)
    response = seeded_client.post(
        "/claims/new",
        data={
            "text": "The operation is complete.",
            "speaker": "russian DEFENCE ministry",
            "speaker_kind": "person",
            "affiliation": "Someone else entirely",
            "source_url": "https://www.ft.com/content/aleppo",
            "source_title": "Aleppo evacuation is complete",
            "outlet": "Financial Times",
            "stated_on": "2016-12-16",
            "stated_time": "09:15",
            "verbatim": "y",
            "event": "ALEPPO EVACUATION, December 2016",
            "context": "Statement to the press",
            "verdict": "false",
            "verdict_rationale": "Thousands were still inside.",
        },
    )
    assert response.status_code == 303
    claim_id = int(response.headers["Location"].rsplit("/", 1)[1])
    # Speaker, source and event already existed: only the claim and its citation are new.
    assert row_counts(db_path) == before | {
        "claims": before["claims"] + 1,
        "claim_sources": before["claim_sources"] + 1,
    }
    row = query(db_path, "SELECT * FROM claims WHERE id = ?", claim_id)[0]
    assert (
        row["speaker_id"],
        row["event_id"],
        row["verbatim"],
        row["stated_on"],
        row["stated_time"],
        row["verdict"],
    ) == (ids["speaker"], ids["event"], 1, "2016-12-16", "09:15", "false")
    # The matched speaker keeps its own kind and affiliation.
    speaker = query(
        db_path,
        "SELECT s.kind, a.name FROM speakers s JOIN speakers a ON a.id = s.affiliation_id WHERE s.id = ?",
        ids["speaker"],
    )[0]
    assert tuple(speaker) == ("government_body", "Russian government")
    source = query(
        db_path,
        "SELECT s.title, s.outlet FROM claim_sources cs JOIN sources s ON s.id = cs.source_id WHERE cs.claim_id = ?",
        claim_id,
    )[0]
    assert tuple(source) == ("Aleppo evacuation is complete", "Financial Times")
    body = page(seeded_client, f"/claims/{claim_id}")
    assert "Direct quote" in body and "09:15" in body and "Statement to the press" in body
    assert 'href="https://www.ft.com/content/aleppo"' in body


def test_new_claim_creates_speaker_with_affiliation_and_kind(seeded_client: FlaskClient, db_path: Path) -> None:
    response = seeded_client.post(
        "/claims/new",
        data={"text": "We need access.", "speaker": "Jane Doe", "speaker_kind": "person", "affiliation": "UNICEF"},
    )
    assert response.status_code == 303
    row = query(
        db_path,
        "SELECT s.kind, a.name, a.kind FROM speakers s JOIN speakers a ON a.id = s.affiliation_id "
        "WHERE s.name = 'Jane Doe'",
    )[0]
    assert tuple(row) == ("person", "UNICEF", "organisation")
    assert "Jane Doe" in page(seeded_client, response.headers["Location"])
    assert "UNICEF" in page(seeded_client, response.headers["Location"])


# --- counterclaims ----------------------------------------------------------------------------


def test_link_to_existing_statement(seeded_client: FlaskClient, db_path: Path, ids: dict[str, int]) -> None:
    before = row_counts(db_path)
    response = seeded_client.post(
        f"/claims/{ids['russia']}/links/new",
        data={"relation": "contradicts", "target_id": str(ids["edel"]), "note": "He is still there."},
    )
    assert response.status_code == 303
    assert response.headers["Location"] == f"/claims/{ids['russia']}"
    assert row_counts(db_path) == before | {"claim_links": before["claim_links"] + 1}
    link = query(db_path, "SELECT * FROM claim_links ORDER BY id DESC LIMIT 1")[0]
    assert (link["from_claim_id"], link["to_claim_id"], link["relation"], link["note"]) == (
        ids["edel"],
        ids["russia"],
        "contradicts",
        "He is still there.",
    )
    contradicted = section(page(seeded_client, f"/claims/{ids['russia']}"), "Contradicted by")
    assert "(6)" in contradicted and "Mohammed Edel" in contradicted and "He is still there." in contradicted
    outgoing = section(page(seeded_client, f"/claims/{ids['edel']}"), "Contradicted by / contradicts")
    assert RUSSIAN_CLAIM in outgoing


def test_link_without_relation_defaults_to_contradicts(
    seeded_client: FlaskClient, db_path: Path, ids: dict[str, int]
) -> None:
    response = seeded_client.post(f"/claims/{ids['russia']}/links/new", data={"target_id": str(ids["edel"])})
    assert response.status_code == 303
    link = query(db_path, "SELECT from_claim_id, to_claim_id, relation FROM claim_links ORDER BY id DESC LIMIT 1")[0]
    assert tuple(link) == (ids["edel"], ids["russia"], "contradicts")


@pytest.mark.parametrize(
    "relation,incoming,outgoing",
    [
        ("supports", "Supported by", "This statement supports"),
        ("qualifies", "Qualified by", "This statement qualifies"),
    ],
)
def test_other_relations_show_under_their_headings(
    seeded_client: FlaskClient, ids: dict[str, int], relation: str, incoming: str, outgoing: str
) -> None:
    response = seeded_client.post(
        f"/claims/{ids['putin_ceasefire']}/links/new", data={"relation": relation, "target_id": f"#{ids['edel']}"}
    )
    assert response.status_code == 303
    assert "piece of my heart" in section(page(seeded_client, f"/claims/{ids['putin_ceasefire']}"), incoming)
    assert "full ceasefire" in section(page(seeded_client, f"/claims/{ids['edel']}"), outgoing)


def test_link_with_new_statement(seeded_client: FlaskClient, db_path: Path, ids: dict[str, int]) -> None:
    before = row_counts(db_path)
    response = seeded_client.post(
        f"/claims/{ids['russia']}/links/new",
        data={
            "relation": "contradicts",
            "note": "A witness on the ground.",
            "text": "Buses are still waiting at the crossing with people on board.",
            "speaker": "abdu KHUDR",
            "source_url": "https://example.org/live",
            "source_title": "Live blog",
            "stated_on": "2016-12-17",
            "verbatim": "y",
            "event": "Aleppo evacuation, December 2016",
        },
    )
    assert response.status_code == 303
    assert response.headers["Location"] == f"/claims/{ids['russia']}"
    # Speaker and event matched; the statement, its source and the link are new.
    assert row_counts(db_path) == before | {
        "claims": before["claims"] + 1,
        "claim_links": before["claim_links"] + 1,
        "sources": before["sources"] + 1,
        "claim_sources": before["claim_sources"] + 1,
    }
    new_id = claim_id_by_text(db_path, "Buses are still waiting")
    link = query(db_path, "SELECT from_claim_id, to_claim_id, relation FROM claim_links ORDER BY id DESC LIMIT 1")[0]
    assert tuple(link) == (new_id, ids["russia"], "contradicts")
    new_row = query(
        db_path,
        "SELECT s.name, c.event_id, c.verbatim FROM claims c JOIN speakers s ON s.id = c.speaker_id WHERE c.id = ?",
        new_id,
    )[0]
    assert tuple(new_row) == ("Abdu Khudr", ids["event"], 1)

    russia = section(page(seeded_client, f"/claims/{ids['russia']}"), "Contradicted by")
    assert "Buses are still waiting" in russia and "Live blog" in russia and "(6)" in russia
    other = section(page(seeded_client, f"/claims/{new_id}"), "Contradicted by / contradicts")
    assert RUSSIAN_CLAIM in other


def test_link_form_offers_existing_statements_but_not_the_claim_itself(
    seeded_client: FlaskClient, ids: dict[str, int]
) -> None:
    body = page(seeded_client, f"/claims/{ids['russia']}/links/new?q=thousands")
    offered = {int(i) for i in re.findall(r'name="target_id" id="target-\d+" value="(\d+)"', body)}
    assert offered and ids["russia"] not in offered
    body = page(seeded_client, f"/claims/{ids['russia']}/links/new?q=piece+heart")
    assert {int(i) for i in re.findall(r'name="target_id" id="target-\d+" value="(\d+)"', body)} == {ids["edel"]}


# --- bad input: 400/404, the form again, nothing written ---------------------------------------

LONG = "x" * 5001

BAD_POSTS: list[tuple[str, str, dict[str, str], int, str]] = [
    # (id, url, data, status, message shown)
    ("empty-text", "/claims/new", {"text": "   ", "speaker": "X"}, 400, "This field is required."),
    ("missing-text", "/claims/new", {"speaker": "X"}, 400, "This field is required."),
    ("missing-speaker", "/claims/new", {"text": "Something"}, 400, "This field is required."),
    ("blank-speaker", "/claims/new", {"text": "Something", "speaker": "  "}, 400, "This field is required."),
    (
        "javascript-url",
        "/claims/new",
        {"text": "T", "speaker": "New S", "source_url": "javascript:alert(1)"},
        400,
        "web address starting with http",
    ),
    (
        "url-without-host",
        "/claims/new",
        {"text": "T", "speaker": "New S", "source_url": "https://"},
        400,
        "web address",
    ),
    (
        "impossible-date",
        "/claims/new",
        {"text": "T", "speaker": "New S", "stated_on": "2016-02-30"},
        400,
        "not a real date",
    ),
    (
        "wrong-date-format",
        "/claims/new",
        {"text": "T", "speaker": "New S", "stated_on": "16-12-2016"},
        400,
        "YYYY-MM-DD",
    ),
    (
        "bad-source-date",
        "/claims/new",
        {"text": "T", "speaker": "New S", "source_title": "X", "source_published_on": "yesterday"},
        400,
        "YYYY-MM-DD",
    ),
    ("bad-time", "/claims/new", {"text": "T", "speaker": "New S", "stated_time": "25:61"}, 400, "HH:MM"),
    ("over-long-text", "/claims/new", {"text": LONG, "speaker": "New S"}, 400, "Too long: at most 5000 characters."),
    ("over-long-speaker", "/claims/new", {"text": "T", "speaker": "s" * 201}, 400, "Too long"),
    ("bad-verdict", "/claims/new", {"text": "T", "speaker": "New S", "verdict": "maybe"}, 400, "Not a valid choice"),
    ("bad-kind", "/claims/new", {"text": "T", "speaker": "New S", "speaker_kind": "alien"}, 400, "Not a valid choice"),
    ("self-affiliation", "/claims/new", {"text": "T", "speaker": "New S", "affiliation": "new s"}, 400, "itself"),
    ("control-chars", "/claims/new", {"text": "T\x00", "speaker": "New S"}, 400, "control characters"),
    ("unknown-claim", "/claims/999999/links/new", {"relation": "contradicts", "target_id": "{edel}"}, 404, "404"),
    (
        "unknown-target",
        "/claims/{russia}/links/new",
        {"relation": "contradicts", "target_id": "999999"},
        404,
        "No statement with id 999999.",
    ),
    (
        "non-numeric-target",
        "/claims/{russia}/links/new",
        {"relation": "contradicts", "target_id": "abc"},
        400,
        "Pick a statement from the list",
    ),
    (
        "self-link",
        "/claims/{russia}/links/new",
        {"relation": "contradicts", "target_id": "{russia}"},
        400,
        "cannot be linked to itself",
    ),
    (
        "duplicate-link",
        "/claims/{russia}/links/new",
        {"relation": "contradicts", "target_id": "{rebel_false}"},
        400,
        "already linked",
    ),
    (
        "duplicate-link-other-relation",
        "/claims/{russia}/links/new",
        {"relation": "supports", "target_id": "{rebel_false}"},
        400,
        "already linked",
    ),
    (
        "duplicate-link-reversed",
        "/claims/{rebel_false}/links/new",
        {"relation": "contradicts", "target_id": "{russia}"},
        400,
        "already linked",
    ),
    (
        "unknown-relation",
        "/claims/{russia}/links/new",
        {"relation": "refutes", "target_id": "{edel}"},
        400,
        "Not one of the allowed values",
    ),
    (
        "empty-relation",
        "/claims/{russia}/links/new",
        {"relation": "", "target_id": "{edel}"},
        400,
        "Not one of the allowed values",
    ),
    ("nothing-to-link", "/claims/{russia}/links/new", {"relation": "contradicts"}, 400, "Pick an existing statement"),
    (
        "new-without-speaker",
        "/claims/{russia}/links/new",
        {"relation": "contradicts", "text": "New words"},
        400,
        "This field is required.",
    ),
    (
        "new-without-text",
        "/claims/{russia}/links/new",
        {"relation": "contradicts", "speaker": "New S"},
        400,
        "This field is required.",
    ),
    (
        "new-bad-url",
        "/claims/{russia}/links/new",
        {"relation": "contradicts", "text": "New", "speaker": "New S", "source_url": "javascript:alert(1)"},
        400,
        "web address",
    ),
    (
        "new-bad-date",
        "/claims/{russia}/links/new",
        {"relation": "contradicts", "text": "New", "speaker": "New S", "stated_on": "2016-02-30"},
        400,
        "not a real date",
    ),
    (
        "new-over-long",
        "/claims/{russia}/links/new",
        {"relation": "contradicts", "text": LONG, "speaker": "New S"},
        400,
        "Too long",
    ),
    (
        "over-long-note",
        "/claims/{russia}/links/new",
        {"relation": "contradicts", "target_id": "{edel}", "note": "n" * 2001},
        400,
        "Too long",
    ),
    ("edit-unknown-claim", "/claims/999999/edit", {"text": "T", "speaker": "New S"}, 404, "404"),
    (
        "edit-empty-text",
        "/claims/{russia}/edit",
        {"text": "", "speaker": "Russian defence ministry"},
        400,
        "This field is required.",
    ),
    (
        "edit-bad-date",
        "/claims/{russia}/edit",
        {"text": "T", "speaker": "Russian defence ministry", "stated_on": "2016-13-01"},
        400,
        "not a real date",
    ),
    (
        "edit-bad-url",
        "/claims/{russia}/edit",
        {"text": "T", "speaker": "New S", "source_url": "javascript:alert(1)"},
        400,
        "web address",
    ),
    (
        "edit-bad-remove",
        "/claims/{russia}/edit",
        {"text": "T", "speaker": "X", "remove_sources": "abc"},
        400,
        "Nothing was saved",
    ),
    ("edit-unknown-link", "/links/999999/edit", {"relation": "supports"}, 404, "404"),
    (
        "edit-link-bad-relation",
        "/links/{link}/edit",
        {"relation": "bogus", "note": "x"},
        400,
        "Not one of the allowed values",
    ),
    ("new-speaker-empty", "/speakers/new", {"name": " ", "kind": "person"}, 400, "This field is required."),
    (
        "new-speaker-taken",
        "/speakers/new",
        {"name": "IKHBARIYA", "kind": "media_outlet"},
        409,
        "already a speaker named",
    ),
    ("new-speaker-bad-kind", "/speakers/new", {"name": "Brand new", "kind": "alien"}, 400, "Not a valid choice"),
    (
        "edit-speaker-taken",
        "/speakers/{speaker}/edit",
        {"name": "Vladimir Putin", "kind": "person"},
        409,
        "already a speaker",
    ),
    (
        "edit-speaker-loop",
        "/speakers/{speaker_opposition}/edit",
        {"name": "Syrian armed opposition", "kind": "armed_group", "affiliation": "Senior rebel official"},
        400,
        "loop",
    ),
    (
        "edit-speaker-self",
        "/speakers/{speaker}/edit",
        {"name": "Russian defence ministry", "kind": "government_body", "affiliation": "russian defence ministry"},
        400,
        "itself",
    ),
    ("edit-speaker-unknown", "/speakers/999999/edit", {"name": "X", "kind": "person"}, 404, "404"),
    ("new-source-empty", "/sources/new", {"title": "", "url": ""}, 400, "Give the source a title"),
    ("new-source-bad-url", "/sources/new", {"title": "T", "url": "javascript:alert(1)"}, 400, "web address"),
    ("new-source-bad-date", "/sources/new", {"title": "T", "published_on": "2016-02-30"}, 400, "not a real date"),
    ("edit-source-unknown", "/sources/999999/edit", {"title": "T"}, 404, "404"),
    ("edit-source-bad-url", "/sources/{source}/edit", {"title": "T", "url": "ftp://example.org/"}, 400, "web address"),
    ("new-event-empty", "/events/new", {"name": ""}, 400, "This field is required."),
    ("new-event-taken", "/events/new", {"name": "aleppo evacuation, december 2016"}, 409, "already an event"),
    ("new-event-bad-date", "/events/new", {"name": "New event", "starts_on": "16-12-2016"}, 400, "YYYY-MM-DD"),
    (
        "new-event-ends-first",
        "/events/new",
        {"name": "New event", "starts_on": "2016-12-16", "ends_on": "2016-12-01"},
        400,
        "end date is before the start date",
    ),
    ("edit-event-unknown", "/events/999999/edit", {"name": "X"}, 404, "404"),
]


@pytest.mark.parametrize(
    ("url", "data", "status", "message"), [c[1:] for c in BAD_POSTS], ids=[c[0] for c in BAD_POSTS]
)
def test_bad_input_is_refused_and_nothing_is_written(
    seeded_client: FlaskClient,
    db_path: Path,
    ids: dict[str, int],
    url: str,
    data: dict[str, str],
    status: int,
    message: str,
) -> None:
    before = snapshot(db_path)
    response = seeded_client.post(url.format(**ids), data={k: v.format(**ids) for k, v in data.items()})
    body = response.get_data(as_text=True)
    assert response.status_code == status, body[:2000]
    assert html.escape(message, quote=False) in body or message in html.unescape(body)
    assert "Something went wrong" not in body
    if "999999" not in url:
        # The page's own record exists: the form is shown again, with what was typed.
        assert "<form" in body and 'method="post"' in body
        assert "Nothing was saved" in body
    assert snapshot(db_path) == before


def test_unknown_target_re_renders_the_form_with_what_was_typed(
    seeded_client: FlaskClient, ids: dict[str, int]
) -> None:
    response = seeded_client.post(
        f"/claims/{ids['russia']}/links/new", data={"relation": "qualifies", "target_id": "999999", "note": "Kept note"}
    )
    body = response.get_data(as_text=True)
    assert response.status_code == 404
    assert 'name="relation"' in body and "Kept note" in body
    assert re.search(r'<option selected value="qualifies">|<option value="qualifies" selected', body)


def test_typed_values_survive_a_refused_form(seeded_client: FlaskClient) -> None:
    response = seeded_client.post(
        "/claims/new", data={"text": "Kept statement", "speaker": "Kept speaker", "stated_on": "2016-02-30"}
    )
    body = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "Kept statement" in body and 'value="Kept speaker"' in body and 'value="2016-02-30"' in body


def test_request_body_too_large_is_refused(seeded_client: FlaskClient, db_path: Path) -> None:
    before = snapshot(db_path)
    response = seeded_client.post("/claims/new", data={"text": "x" * (1024 * 1024 + 10), "speaker": "Big"})
    assert response.status_code == 413
    assert snapshot(db_path) == before


def test_get_only_pages_refuse_post(seeded_client: FlaskClient, ids: dict[str, int], db_path: Path) -> None:
    before = snapshot(db_path)
    for url in ("/claims", f"/claims/{ids['russia']}", "/speakers", "/events"):
        assert seeded_client.post(url, data={"text": "x", "speaker": "y"}).status_code == 405
    assert snapshot(db_path) == before


# --- markup is data ---------------------------------------------------------------------------


def test_markup_is_stored_as_typed_and_shown_escaped(
    seeded_client: FlaskClient, db_path: Path, ids: dict[str, int]
) -> None:
    script = "<script>alert(1)</script>"
    fields = {
        "text": f"{script} & \"quoted\" 'single'",
        "speaker": "<b>Bold speaker</b>",
        "affiliation": "<i>Org</i>",
        "source_url": "https://example.org/?a=1&b=<x>",
        "source_title": "<img src=x onerror=alert(1)>",
        "outlet": "<u>Outlet</u>",
        "event": "<svg onload=alert(1)>",
        "context": "<iframe src=//evil>",
        "verdict_rationale": "</dd><script>alert(2)</script>",
        "verdict": "false",
    }
    response = seeded_client.post("/claims/new", data=fields)
    assert response.status_code == 303
    claim_id = int(response.headers["Location"].rsplit("/", 1)[1])
    row = query(
        db_path,
        """SELECT c.text, s.name AS speaker, a.name AS affiliation, src.url, src.title, src.outlet, e.name AS event,
        c.context, c.verdict_rationale FROM claims c JOIN speakers s ON s.id = c.speaker_id
        JOIN speakers a ON a.id = s.affiliation_id JOIN events e ON e.id = c.event_id
        JOIN claim_sources cs ON cs.claim_id = c.id JOIN sources src ON src.id = cs.source_id WHERE c.id = ?""",
        claim_id,
    )[0]
    assert dict(row) == {
        "text": fields["text"],
        "speaker": fields["speaker"],
        "affiliation": fields["affiliation"],
        "url": fields["source_url"],
        "title": fields["source_title"],
        "outlet": fields["outlet"],
        "event": fields["event"],
        "context": fields["context"],
        "verdict_rationale": fields["verdict_rationale"],
    }
    response = seeded_client.post(
        f"/claims/{ids['russia']}/links/new",
        data={"relation": "contradicts", "target_id": str(claim_id), "note": "<marquee>note</marquee>"},
    )
    assert response.status_code == 303
    event_id = query(db_path, "SELECT id FROM events WHERE name = ?", fields["event"])[0][0]
    speaker_id = query(db_path, "SELECT id FROM speakers WHERE name = ?", fields["speaker"])[0][0]
    source_id = query(db_path, "SELECT id FROM sources WHERE url = ?", fields["source_url"])[0][0]
    for url in (
        "/claims",
        f"/claims/{claim_id}",
        f"/claims/{claim_id}/edit",
        f"/claims/{ids['russia']}",
        f"/speakers/{speaker_id}",
        "/speakers",
        f"/sources/{source_id}",
        "/sources",
        f"/events/{event_id}",
        "/events",
        f"/claims/{ids['russia']}/links/new?q=alert",
        "/claims?q=script",
    ):
        body = page(seeded_client, url)
        for raw in (
            "<script>alert",
            "<b>Bold",
            "<i>Org",
            "<img src=x",
            "<u>Outlet",
            "<svg onload",
            "<iframe",
            "<marquee",
        ):
            assert raw not in body, f"{raw!r} unescaped on {url}"
    body = page(seeded_client, f"/claims/{claim_id}")
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in body
    assert "&lt;b&gt;Bold speaker&lt;/b&gt;" in body
    assert "&lt;img src=x onerror=alert(1)&gt;" in body
    assert 'href="https://example.org/?a=1&amp;b=&lt;x&gt;"' in body
    assert "&lt;marquee&gt;" in page(seeded_client, f"/claims/{ids['russia']}")


# --- editing ----------------------------------------------------------------------------------


def test_edit_claim_changes_it_and_nothing_else(seeded_client: FlaskClient, db_path: Path, ids: dict[str, int]) -> None:
    form = page(seeded_client, f"/claims/{ids['russia']}/edit")
    assert "was finished on Friday." in form and 'value="Russian defence ministry"' in form
    before = snapshot(db_path)
    response = seeded_client.post(
        f"/claims/{ids['russia']}/edit",
        data={
            "text": "The evacuation was finished on Friday (corrected).",
            "speaker": "Russian defence ministry",
            "stated_on": "2016-12-16",
            "verdict": "false",
            "verdict_rationale": "Thousands were still inside.",
            "event": "Aleppo evacuation, December 2016",
        },
    )
    assert response.status_code == 303 and response.headers["Location"] == f"/claims/{ids['russia']}"
    after = snapshot(db_path)
    changed = [r for r in after["claims"] if r not in before["claims"]]
    assert len(changed) == 1 and changed[0][0] == ids["russia"]
    row = query(
        db_path,
        "SELECT text, verdict, verbatim, speaker_id, event_id, created_at FROM claims WHERE id = ?",
        ids["russia"],
    )[0]
    old = next(r for r in before["claims"] if r[0] == ids["russia"])
    assert row["text"] == "The evacuation was finished on Friday (corrected)." and row["verdict"] == "false"
    assert row["speaker_id"] == ids["speaker"] and row["event_id"] == ids["event"]
    assert row["created_at"] in old
    for table in ("speakers", "sources", "events", "claim_links", "claim_sources"):
        assert after[table] == before[table], table
    body = page(seeded_client, f"/claims/{ids['russia']}")
    assert "(corrected)" in body and "False" in body
    assert "(5)" in section(body, "Contradicted by")


def test_edit_claim_can_change_speaker_and_remove_a_source(
    seeded_client: FlaskClient, db_path: Path, ids: dict[str, int]
) -> None:
    claim = ids["putin_ceasefire"]
    old_source = query(db_path, "SELECT source_id FROM claim_sources WHERE claim_id = ?", claim)[0][0]
    form = page(seeded_client, f"/claims/{claim}/edit")
    assert f'name="remove_sources" value="{old_source}"' in form
    response = seeded_client.post(
        f"/claims/{claim}/edit",
        data={
            "text": "A full ceasefire is next.",
            "speaker": "Kremlin spokesman",
            "affiliation": "Russian government",
            "remove_sources": str(old_source),
            "source_url": "https://example.org/kremlin",
        },
    )
    assert response.status_code == 303
    sources = query(
        db_path, "SELECT s.url FROM claim_sources cs JOIN sources s ON s.id = cs.source_id WHERE cs.claim_id = ?", claim
    )
    assert [r[0] for r in sources] == ["https://example.org/kremlin"]
    # The source itself stays, cited by the other claims.
    assert query(db_path, "SELECT count(*) FROM claim_sources WHERE source_id = ?", old_source)[0][0] > 10
    row = query(
        db_path,
        "SELECT s.name, a.name FROM claims c JOIN speakers s ON s.id = c.speaker_id "
        "JOIN speakers a ON a.id = s.affiliation_id WHERE c.id = ?",
        claim,
    )[0]
    assert tuple(row) == ("Kremlin spokesman", "Russian government")
    # Putin keeps his other claim.
    assert (
        query(
            db_path,
            "SELECT count(*) FROM claims c JOIN speakers s ON s.id = c.speaker_id WHERE s.name = 'Vladimir Putin'",
        )[0][0]
        == 1
    )


def test_rename_speaker_shows_on_claim_page(seeded_client: FlaskClient, db_path: Path, ids: dict[str, int]) -> None:
    form = page(seeded_client, f"/speakers/{ids['speaker']}/edit")
    assert 'value="Russian government"' in form
    before = snapshot(db_path)
    response = seeded_client.post(
        f"/speakers/{ids['speaker']}/edit",
        data={
            "name": "Russian Ministry of Defence",
            "kind": "government_body",
            "description": "MoD",
            "affiliation": "Russian government",
        },
    )
    assert response.status_code == 303 and response.headers["Location"] == f"/speakers/{ids['speaker']}"
    after = snapshot(db_path)
    assert [r for r in after["speakers"] if r not in before["speakers"]][0][0] == ids["speaker"]
    assert len(after["speakers"]) == len(before["speakers"])
    for table in ("claims", "sources", "events", "claim_links", "claim_sources"):
        assert after[table] == before[table]
    body = page(seeded_client, f"/claims/{ids['russia']}")
    assert f'<a class="speaker" href="/speakers/{ids["speaker"]}">Russian Ministry of Defence</a>' in body
    # Only the history (which now shows the rename) still names the old spelling.
    assert ">Russian defence ministry<" not in body.split('id="h-history"', 1)[0]
    assert "Russian Ministry of Defence" in section(
        page(seeded_client, f"/claims/{ids['rebel_false']}"), "Contradicted by / contradicts"
    )


def test_new_speaker_and_its_affiliation(seeded_client: FlaskClient, db_path: Path) -> None:
    response = seeded_client.post(
        "/speakers/new",
        data={
            "name": "White Helmets volunteer",
            "kind": "person",
            "description": "rescuer",
            "affiliation": "White Helmets",
            "anonymous": "y",
        },
    )
    assert response.status_code == 303
    speaker_id = int(response.headers["Location"].rsplit("/", 1)[1])
    row = query(
        db_path,
        "SELECT s.name, s.kind, s.description, s.anonymous, a.name FROM speakers s "
        "JOIN speakers a ON a.id = s.affiliation_id WHERE s.id = ?",
        speaker_id,
    )[0]
    assert tuple(row) == ("White Helmets volunteer", "person", "rescuer", 1, "White Helmets")
    body = page(seeded_client, f"/speakers/{speaker_id}")
    assert "unnamed source" in body and "White Helmets" in body


def test_edit_source_shows_on_claim_page(seeded_client: FlaskClient, db_path: Path, ids: dict[str, int]) -> None:
    before = snapshot(db_path)
    response = seeded_client.post(
        f"/sources/{ids['source']}/edit",
        data={
            "title": "Aleppo evacuation is complete, claims Russia (FT)",
            "outlet": "Financial Times",
            "url": "https://www.ft.com/content/aleppo",
            "published_on": "2016-12-16",
        },
    )
    assert response.status_code == 303
    after = snapshot(db_path)
    assert len(after["sources"]) == len(before["sources"])
    for table in ("claims", "speakers", "events", "claim_links", "claim_sources"):
        assert after[table] == before[table]
    body = page(seeded_client, f"/claims/{ids['russia']}")
    assert 'href="https://www.ft.com/content/aleppo"' in body and "claims Russia (FT)" in body


def test_new_source_and_event(seeded_client: FlaskClient, db_path: Path) -> None:
    response = seeded_client.post("/sources/new", data={"title": "Live", "url": "https://example.org/live"})
    assert response.status_code == 303
    assert query(db_path, "SELECT title FROM sources WHERE url = 'https://example.org/live'")[0][0] == "Live"
    response = seeded_client.post(
        "/events/new", data={"name": "Mosul offensive", "starts_on": "2016-10-17", "description": "Battle for Mosul"}
    )
    assert response.status_code == 303
    event_id = int(response.headers["Location"].rsplit("/", 1)[1])
    assert "Battle for Mosul" in page(seeded_client, f"/events/{event_id}")


def test_edit_event_shows_on_claim_page(seeded_client: FlaskClient, db_path: Path, ids: dict[str, int]) -> None:
    before = snapshot(db_path)
    response = seeded_client.post(
        f"/events/{ids['event']}/edit",
        data={
            "name": "Evacuation of eastern Aleppo",
            "description": "Renamed",
            "starts_on": "2016-12-15",
            "ends_on": "2016-12-22",
        },
    )
    assert response.status_code == 303
    after = snapshot(db_path)
    for table in ("claims", "speakers", "sources", "claim_links", "claim_sources"):
        assert after[table] == before[table]
    row = query(db_path, "SELECT name, ends_on FROM events WHERE id = ?", ids["event"])[0]
    assert tuple(row) == ("Evacuation of eastern Aleppo", "2016-12-22")
    assert "Evacuation of eastern Aleppo" in page(seeded_client, f"/claims/{ids['russia']}")


def test_edit_link_changes_relation_and_note(seeded_client: FlaskClient, db_path: Path, ids: dict[str, int]) -> None:
    link = query(
        db_path,
        "SELECT id, from_claim_id FROM claim_links WHERE to_claim_id = ? AND from_claim_id = ?",
        ids["russia"],
        ids["rebel_false"],
    )[0]
    before = snapshot(db_path)
    response = seeded_client.post(f"/links/{link['id']}/edit", data={"relation": "qualifies", "note": "On reflection."})
    assert response.status_code == 303 and response.headers["Location"] == f"/claims/{ids['russia']}"
    after = snapshot(db_path)
    changed = [r for r in after["claim_links"] if r not in before["claim_links"]]
    assert len(changed) == 1 and changed[0][0] == link["id"]
    row = query(db_path, "SELECT from_claim_id, to_claim_id, relation, note FROM claim_links WHERE id = ?", link["id"])[
        0
    ]
    assert tuple(row) == (ids["rebel_false"], ids["russia"], "qualifies", "On reflection.")
    body = page(seeded_client, f"/claims/{ids['russia']}")
    assert "(4)" in section(body, "Contradicted by")
    assert REBEL_FALSE in section(body, "Qualified by") and "On reflection." in body


@pytest.mark.parametrize(
    "next_url,expected",
    [
        ("/claims/{rebel_false}", "/claims/{rebel_false}"),
        ("https://evil.example/", "/claims/{russia}"),
        ("//evil.example/", "/claims/{russia}"),
        ("/\\evil.example", "/claims/{russia}"),
    ],
)
def test_edit_link_only_follows_same_site_next(
    seeded_client: FlaskClient, db_path: Path, ids: dict[str, int], next_url: str, expected: str
) -> None:
    link = query(
        db_path,
        "SELECT id FROM claim_links WHERE to_claim_id = ? AND from_claim_id = ?",
        ids["russia"],
        ids["rebel_false"],
    )[0][0]
    response = seeded_client.post(f"/links/{link}/edit?next={next_url.format(**ids)}", data={"relation": "contradicts"})
    assert response.status_code == 303
    assert response.headers["Location"] == expected.format(**ids)


# --- CSRF -----------------------------------------------------------------------------------


def test_post_without_csrf_token_is_refused(csrf_app: Flask, db_path: Path) -> None:
    client = csrf_app.test_client()
    before = snapshot(db_path)
    for url, data in (
        ("/claims/new", {"text": "No token", "speaker": "Anyone"}),
        ("/speakers/new", {"name": "No token", "kind": "person"}),
        ("/events/new", {"name": "No token"}),
        ("/sources/new", {"title": "No token"}),
    ):
        response = client.post(url, data=data)
        body = response.get_data(as_text=True)
        assert response.status_code == 400, url
        assert "security token" in body and "nothing was saved" in body
    assert snapshot(db_path) == before


def test_post_with_csrf_token_from_the_form_succeeds(csrf_app: Flask, db_path: Path) -> None:
    client = csrf_app.test_client()
    sign_in(client, *EDITOR)
    token = csrf_token(page(client, "/claims/new"))
    response = client.post("/claims/new", data={"text": "With token", "speaker": "Anyone", "csrf_token": token})
    assert response.status_code == 303
    claim_id = int(response.headers["Location"].rsplit("/", 1)[1])
    other = client.post("/claims/new", data={"text": "Second", "speaker": "Anyone", "csrf_token": token})
    assert other.status_code == 303
    other_id = int(other.headers["Location"].rsplit("/", 1)[1])
    token = csrf_token(page(client, f"/claims/{claim_id}/links/new"))
    response = client.post(
        f"/claims/{claim_id}/links/new",
        data={"relation": "contradicts", "target_id": str(other_id), "csrf_token": token},
    )
    assert response.status_code == 303
    assert row_counts(db_path)["claim_links"] == 1


def test_csrf_token_of_another_session_or_a_forged_one_is_refused(csrf_app: Flask, db_path: Path) -> None:
    token = csrf_token(page(csrf_app.test_client(), "/login"))
    stranger = csrf_app.test_client()
    page(stranger, "/")
    before = snapshot(db_path)
    for bad in (token, "forged", ""):
        response = stranger.post("/claims/new", data={"text": "Stolen token", "speaker": "Anyone", "csrf_token": bad})
        assert response.status_code == 400
    assert snapshot(db_path) == before


# --- a fixed number of queries per page -------------------------------------------------------


def add_world(engine: Engine, start: int, stop: int, hub: int | None) -> int:
    """Claims with their own speakers (with affiliations), sources and events, each contradicting the hub."""
    with write_session(engine, actor="test") as session:
        if hub is None:
            hub = create_claim(
                session,
                ClaimCreate.model_validate(
                    {
                        "text": "Hub claim",
                        "speaker": {"name": "Hub", "affiliation": "Hub org"},
                        "event": "Event 0",
                        "source": {"url": "https://example.org/hub"},
                    }
                ),
            ).id
        for i in range(start, stop):
            data = ClaimCreate.model_validate(
                {
                    "text": f"Statement {i}",
                    "verdict": "disputed",
                    "speaker": {"name": f"Person {i}", "affiliation": "Org"},
                    "event": "Event 0",
                    "source": {"url": f"https://example.org/{i}", "title": f"Report {i}"},
                }
            )
            claim = create_claim(session, data)
            add_link(session, hub, LinkCreate(relation="contradicts", target_id=claim.id))  # type: ignore[arg-type]
    return hub  # type: ignore[return-value]


def count_queries(app: Flask, client: FlaskClient, url: str) -> int:
    assert client.get("/").status_code == 200
    with statements_sent(app.extensions["claimtrack.engine"]) as statements:
        response = client.get(url)
        assert response.status_code == 200, url
    assert statements
    return len(statements)


NPLUS1_PAGES = [
    "/claims",
    "/claims?relation=contradicts",
    "/claims?q=statement",
    "/claims/{hub}",
    "/claims/{hub}/edit",
    "/claims/{hub}/links/new",
    "/speakers",
    "/speakers/{org}",
    "/sources",
    "/sources/{source}",
    "/events",
    "/events/{event}",
]


def test_list_pages_run_a_fixed_number_of_queries(
    app: Flask, client: FlaskClient, engine: Engine, db_path: Path
) -> None:
    hub = add_world(engine, 0, 5, None)

    def refs() -> dict[str, int]:
        return {
            "hub": hub,
            "org": query(db_path, "SELECT id FROM speakers WHERE name = 'Org'")[0][0],
            "source": query(db_path, "SELECT id FROM sources WHERE url = 'https://example.org/hub'")[0][0],
            "event": query(db_path, "SELECT id FROM events")[0][0],
        }

    small = {url: count_queries(app, client, url.format(**refs())) for url in NPLUS1_PAGES}
    add_world(engine, 5, 50, hub)
    assert row_counts(db_path)["claims"] == 51
    body = page(client, "/claims")
    assert len(re.findall(r'<li class="claim">', body)) == 50
    large = {url: count_queries(app, client, url.format(**refs())) for url in NPLUS1_PAGES}
    assert large == small
    assert max(small.values()) <= 12, small


# --- found by trying the app as a new user ------------------------------------------------------


@pytest.mark.parametrize(
    "path",
    [
        "/claims/99999999999999999999999",
        "/claims/9223372036854775808",
        "/speakers/9223372036854775808",
        "/sources/9223372036854775808",
        "/events/9223372036854775808",
        "/claims/9223372036854775808/edit",
        "/links/9223372036854775808/edit",
        "/claims/9223372036854775808/links/new",
    ],
)
def test_ids_beyond_sqlite_integers_are_not_found(seeded_client: FlaskClient, path: str) -> None:
    assert seeded_client.get(path).status_code == 404


@pytest.mark.parametrize(
    "fields, field_id, message",
    [
        ({"stated_time": "12:00"}, "stated_time", "needs the date"),
        ({"verdict_rationale": "Because."}, "verdict", "Choose the verdict"),
        ({"stated_on": "2999-01-01"}, "stated_on", "not in the future"),
        ({"stated_on": "0001-01-01"}, "stated_on", "from 1800"),
        ({"source_title": "T", "source_published_on": "2999-01-01"}, "source_published_on", "not in the future"),
    ],
)
def test_claim_fields_that_would_be_saved_but_never_shown_are_refused(
    client: FlaskClient, db_path: Path, fields: dict[str, str], field_id: str, message: str
) -> None:
    before = snapshot(db_path)
    response = client.post("/claims/new", data={"text": "A statement", "speaker": "Someone", **fields})
    body = response.get_data(as_text=True)
    assert response.status_code == 400
    assert f'id="{field_id}-error"' in body and message in body
    assert snapshot(db_path) == before


def test_renaming_a_speaker_to_a_taken_name_is_a_plain_conflict_not_a_stale_edit(
    seeded_client: FlaskClient, db_path: Path
) -> None:
    form = page(seeded_client, "/speakers/2/edit")
    version = re.search(r'name="version" type="hidden" value="(\d+)"', form)
    assert version
    response = seeded_client.post(
        "/speakers/2/edit", data={"name": "Vladimir Putin", "kind": "government_body", "version": version.group(1)}
    )
    body = response.get_data(as_text=True)
    assert response.status_code == 409
    assert "There is already a speaker named" in body
    assert "Someone else saved this record" not in body


def test_a_retracted_statement_cannot_be_linked(seeded_client: FlaskClient, db_path: Path) -> None:
    response = seeded_client.post("/claims/6/retract", data={"reason": "Double-counted."})
    assert response.status_code == 303
    before = snapshot(db_path)
    response = seeded_client.post("/claims/1/links/new", data={"relation": "contradicts", "target_id": "6"})
    assert response.status_code == 400
    assert "retracted statement cannot be linked" in response.get_data(as_text=True)
    assert snapshot(db_path) == before
    assert "Add a counterclaim or link</a>" not in page(seeded_client, "/claims/6")


def test_admin_password_mistake_is_explained_on_the_users_page(admin_client: FlaskClient) -> None:
    add_account(admin_client.application, "someone", "a-long-enough-password", "editor")
    users = page(admin_client, "/admin/users")
    account_id = re.search(r'action="/admin/users/(\d+)"', users.split("someone", 1)[1])
    assert account_id
    response = admin_client.post(
        f"/admin/users/{account_id.group(1)}", data={"action": "password", "password": "short"}
    )
    body = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "at least 12 characters" in body and "<h1>Users</h1>" in body


def test_history_names_the_records_an_id_points_to(seeded_client: FlaskClient, db_path: Path) -> None:
    with sqlite3.connect(db_path) as conn:
        speaker_id = conn.execute(
            "SELECT speaker_id FROM claims WHERE text LIKE '%was finished on Friday.'"
        ).fetchone()[0]
        claim_id = conn.execute("SELECT id FROM claims WHERE text LIKE '%was finished on Friday.'").fetchone()[0]
    body = page(seeded_client, f"/claims/{claim_id}")
    history = body.split('id="h-history"', 1)[1]
    assert f"{speaker_id} (Russian defence ministry)" in history
    assert "(Aleppo evacuation, December 2016)" in history


@pytest.mark.parametrize("script_root", ["", "/tracker"])
def test_record_urls_are_what_url_for_builds(app: Flask, script_root: str) -> None:
    """Pages link to claims, links, speakers, sources and events through record_url (werkzeug's URL
    building once per endpoint and request): the same addresses url_for gives, under a mount prefix too."""
    from flask import url_for

    from claimtrack.web import record_url

    routes = {
        "claims.show": "claim_id",
        "claims.show_link": "link_id",
        "speakers.show": "speaker_id",
        "sources.show": "source_id",
        "events.show": "event_id",
        "claims.edit": "claim_id",
    }
    with app.test_request_context("/claims/1", base_url=f"http://localhost{script_root}/"):
        for endpoint, argument in routes.items():
            for record_id in (1, 7, 42, 2**63 - 1):
                assert record_url(endpoint, record_id) == url_for(endpoint, **{argument: record_id})
        assert record_url("claims.show", 5) == f"{script_root}/claims/5"

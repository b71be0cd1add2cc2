"""The claims list's search at scale: each typed word is written out as the index terms that start with it
(so FTS5 reads only a page's worth of matches, newest first), through HTTP on a real SQLite file."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from flask import Flask
from flask.testing import FlaskClient
from helpers import statements_sent
from sqlalchemy import Engine, text
from sqlmodel import Session
from werkzeug.test import TestResponse

from claimtrack.db import write_session
from claimtrack.models import ClaimCreate
from claimtrack.services import claims as claim_service
from claimtrack.services import search
from claimtrack.services.search import PREFIX_TERMS, list_match


def listed(client: FlaskClient, url: str) -> tuple[list[int], str]:
    response = client.get(url)
    assert response.status_code == 200, url
    body = response.get_data(as_text=True)
    ids = [int(i) for i in re.findall(r'<p class="text"><a href="/claims/(\d+)"', body)]
    return ids, body


def record(engine: Engine, *statements: str) -> list[int]:
    ids = []
    with write_session(engine, actor="test") as session:
        for statement in statements:
            claim = claim_service.create_claim(
                session, ClaimCreate.model_validate({"text": statement, "speaker": {"name": "Tester"}})
            )
            assert claim.id is not None
            ids.append(claim.id)
    return ids


def test_a_word_finds_every_form_that_starts_with_it_newest_first(client: FlaskClient, engine: Engine) -> None:
    ids = record(
        engine,
        "Quorvel talks agreed at noon.",  # "agreed" is indexed as "agre", which stems again to "agr"
        "The quorvelian delegation left.",
        "Nothing about it here.",
        "Quorvels everywhere, they agree.",
    )
    found, body = listed(client, "/claims?q=quorv")
    assert found == [ids[3], ids[1], ids[0]]
    assert "Newest first." in body
    # A term the stemmer would change again is still found (asked for by a word that stems to it).
    found, _ = listed(client, "/claims?q=quorvel+agre")
    assert found == [ids[3], ids[0]]
    found, _ = listed(client, "/claims?q=quorvel+agreed")
    assert found == [ids[3], ids[0]]
    assert listed(client, "/claims?q=quorvx")[0] == []


def test_search_pages_walk_back_and_forth_by_cursor(client: FlaskClient, engine: Engine) -> None:
    ids = record(engine, *(f"Wuxtral report number {n}." for n in range(120)))
    first, body = listed(client, "/claims?q=wuxt")
    assert first == ids[::-1][:50]
    older = re.search(r'href="[^"]*before=(\d+)[^"]*"', body)
    assert older is not None
    second, body = listed(client, f"/claims?q=wuxt&before={older.group(1)}")
    assert second == ids[::-1][50:100]
    newer = re.search(r'href="[^"]*after=(\d+)[^"]*"', body)
    assert newer is not None
    assert listed(client, f"/claims?q=wuxt&after={newer.group(1)}")[0] == first


def test_a_word_that_starts_too_many_words_is_matched_whole_and_the_page_says_so(
    client: FlaskClient, engine: Engine
) -> None:
    many = [f"Zyx{n}k was seen." for n in range(PREFIX_TERMS + 1)]
    ids = record(engine, "Zyx itself was seen.", *many)
    found, body = listed(client, "/claims?q=zyx")
    assert found == [ids[0]]
    assert "Matched as whole words only" in body and "<strong>zyx</strong>" in body
    # Under the bound the same kind of word is a prefix as usual, and the page has no such note.
    found, body = listed(client, "/claims?q=zyx1")
    assert set(found) == {ids[1 + n] for n in range(PREFIX_TERMS + 1) if str(n).startswith("1")}
    assert "Matched as whole words" not in body


def test_the_query_names_plain_terms_not_a_prefix(engine: Engine) -> None:
    record(engine, "Evacuation of the evacuees.")
    with engine.connect() as conn, Session(bind=conn) as session:
        match = list_match(session, "evac the")
        assert match is not None
        assert "*" not in match.query, match.query
        # Each index term once, spelled so that the stemmer turns it into that term ("evacuee" -> "evacue").
        assert match.query == '("evacu" OR "evacuee") AND ("the")'
        n = conn.execute(
            text("SELECT count(*) FROM claims_fts_search WHERE claims_fts_search MATCH :q"), {"q": match.query}
        ).scalar()
        assert n == 1


def similar_ids(client: FlaskClient, typed: str, limit: int = 5) -> list[int]:
    response = client.get("/claims/similar", query_string={"format": "json", "text": typed, "limit": limit})
    assert response.status_code == 200
    return [r["id"] for r in response.get_json()["results"]]


def test_similar_leaves_out_words_in_too_many_statements(
    anon_client: FlaskClient, engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(search, "SIMILAR_BUDGET", 5)
    common = record(engine, *(f"Glorbix report {n}." for n in range(10)))
    rare = record(engine, "Glorbix and zentrafor.", "Zentrafor alone.", "Zentrafor again.")
    found = similar_ids(anon_client, "glorbix zentrafor")
    # "glorbix" is in 11 statements, over the budget of 5: only "zentrafor" finds and ranks.
    assert set(found) == set(rare)
    assert not set(found) & set(common)


def test_similar_with_only_very_common_words_scores_the_newest_candidates(
    anon_client: FlaskClient, engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(search, "SIMILAR_BUDGET", 2)
    record(engine, *(f"Quambly item {n}." for n in range(4)))
    both = record(engine, "Quambly vortune one.", "Quambly vortune two.")
    alone = record(engine, "Vortune three.")
    response = anon_client.get("/claims/similar", query_string={"format": "json", "text": "quambly vortune"})
    results = response.get_json()["results"]
    # Candidates: the newest statements with the rarer word ("vortune", in 3; "quambly" in 6, counted up
    # to 4); those with both words first, newest first among equals. "quambly" alone is no candidate.
    assert [r["id"] for r in results] == [both[1], both[0], alone[0]]
    assert results[0]["score"] == results[1]["score"] < results[2]["score"]


def statements_run(app: Flask, send: Callable[[], TestResponse]) -> int:
    """How many statements the app's engine runs while answering ``send()``."""
    with statements_sent(app.extensions["claimtrack.engine"]) as statements:
        response = send()
    assert response.status_code == 200, response.get_data(as_text=True)[:500]
    return len(statements)


def test_similar_claims_run_as_many_statements_for_a_long_text_as_for_a_short_one(
    app: Flask, client: FlaskClient, engine: Engine
) -> None:
    words = [
        "zentrafor",
        "glorbix",
        "quambly",
        "vortune",
        "marisko",
        "tellaban",
        "fruzzle",
        "opquent",
        "wimbral",
        "dostavic",
    ]
    claim = record(engine, *(f"{w} report {n}." for n, w in enumerate(words)))[0]
    short = "zentrafor reported"
    # Nine more words, each in a statement of its own, with the same last word.
    long = " ".join(words[1:]) + " " + short
    assert client.get("/").status_code == 200  # the engine is made with the first request

    def pages(typed: str) -> list[int]:
        return [
            statements_run(app, lambda: client.get("/claims/similar", query_string={"text": typed})),
            statements_run(
                app, lambda: client.post("/claims/new", data={"text": typed, "speaker": "Tester", "check_similar": "1"})
            ),
            statements_run(
                app,
                lambda: client.post(
                    f"/claims/{claim}/links/new", data={"action": "search", "text": typed, "speaker": "Tester"}
                ),
            ),
        ]

    assert pages(long) == pages(short)

"""The JSON API's ``q=``, Datasette's search page and its ``_search`` use the stemming, prefix index
``claims_fts_search`` (migration 0007) through the app's one query builder: "finish" finds the Russian
defence ministry's claim that the evacuation "was finished on Friday", which has no word "finish".
"""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
from flask import Flask
from helpers import FTS_SYNTAX, query
from test_datasette import METADATA_PATH, get

from claimtrack.asgi import ASGIApp, create_asgi_app
from claimtrack.config import Settings

FINISHED = "was finished on Friday."
HOSTILE = [
    *FTS_SYNTAX,
    "text : x",
    "^x",
    "finish*",
    '"finish',
    "NOT",
    "{text speaker}: x",
    "a:b",
]


@pytest.fixture
def finished_id(db_path: Path) -> int:
    found = query(db_path, "SELECT id FROM claims WHERE text LIKE ?", f"%{FINISHED}")
    assert len(found) == 1
    assert not query(db_path, "SELECT rowid FROM claims_fts WHERE claims_fts MATCH 'finish'")  # whole words miss it
    return int(found[0][0])


@pytest.fixture
def asgi(seeded_app: Flask, db_path: Path) -> ASGIApp:
    settings = dataclasses.replace(Settings.from_env(), db_path=db_path, metadata_path=METADATA_PATH)
    return create_asgi_app(seeded_app, settings)


def api_ids(client: Any, q: str) -> list[int]:
    response = client.get("/api/claims?" + urlencode({"q": q, "limit": 200}))
    assert response.status_code == 200, (q, response.status_code)
    return [c["id"] for c in response.get_json()["claims"]]


def test_the_api_finds_word_forms_and_beginnings(seeded_app: Flask, finished_id: int) -> None:
    client = seeded_app.test_client()
    for q in ("finish", "Finish Friday", "evac finish"):
        assert finished_id in api_ids(client, q), q
    # The same claims the app's list finds for the same words, newest first, paged on the index.
    assert api_ids(client, "finish") == sorted(api_ids(client, "finish"), reverse=True)
    first = client.get("/api/claims?q=evacuation&limit=1").get_json()
    rest = client.get(first["next"]).get_json()
    assert first["claims"] and rest["claims"] and rest["claims"][0]["id"] < first["claims"][0]["id"]


@pytest.mark.parametrize("q", HOSTILE)
def test_the_api_takes_hostile_words_literally(seeded_app: Flask, q: str) -> None:
    response = seeded_app.test_client().get("/api/claims?" + urlencode({"q": q}))
    assert response.status_code == 200, (q, response.status_code)
    assert isinstance(response.get_json()["claims"], list)


def statements_section(page: str) -> tuple[str, list[int]]:
    """The search page's Statements heading text and the claim ids it lists."""
    section = re.search(r'data-table="claims">(.*?)</section>', page, re.DOTALL)
    assert section, page[:2000]
    heading = re.search(r"<h2>(.*?)</h2>", section.group(1), re.DOTALL)
    assert heading
    ids = [int(i) for i in re.findall(r'href="/data/claimtrack/claims/(\d+)"', section.group(1))]
    return re.sub(r"<[^>]+>", "", heading.group(1)), ids


def test_datasette_search_page_finds_word_forms(asgi: ASGIApp, db_path: Path, finished_id: int) -> None:
    page = get(asgi, "/data/-/search?q=finish")
    assert page.status_code == 200
    heading, ids = statements_section(page.text)
    expected = query(db_path, "SELECT count(*) FROM claims_fts_search WHERE claims_fts_search MATCH '\"finish\"*'")[0][
        0
    ]
    assert expected >= 1 and f"{expected:,} found" in heading and finished_id in ids


def test_datasette_table_and_view_search_find_word_forms(asgi: ASGIApp, finished_id: int) -> None:
    for url in (
        "/data/claimtrack/claims.json?_search=finish&_shape=array",
        "/data/claimtrack/speaker_claims.json?_search=finish&_shape=array",
        "/data/claimtrack/event_timeline.json?_search=finish&_shape=array",
    ):
        response = get(asgi, url)
        assert response.status_code == 200, (url, response.text[:300])
        found = {row.get("id", row.get("claim_id")) for row in response.json()}
        assert finished_id in found, url
    # The statement's text alone: Datasette's column search.
    response = get(asgi, "/data/claimtrack/claims.json?_search_text=finish&_shape=array")
    assert response.status_code == 200 and finished_id in {r["id"] for r in response.json()}


@pytest.mark.parametrize("q", HOSTILE)
def test_datasette_search_pages_take_hostile_words_cleanly(asgi: ASGIApp, q: str) -> None:
    page = get(asgi, "/data/-/search?" + urlencode({"q": q}))
    assert page.status_code == 200, (q, page.status_code)
    assert "<b>x</b>" not in page.text and "Traceback" not in page.text
    table = get(asgi, "/data/claimtrack/claims?" + urlencode({"_search": q}))
    assert table.status_code in (200, 400), (q, table.status_code)

"""ClaimReview JSON-LD: one document per claim with a verdict, the feed, and the feed's round trip."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from flask import Flask
from helpers import query
from sqlalchemy import Engine

from claimtrack.cli import main
from claimtrack.db import make_engine
from claimtrack.services.claimreview import REQUIRED_FIELDS, REQUIRED_ITEM, REQUIRED_RATING
from claimtrack.services.importing import import_file

EVENT = "Aleppo evacuation, December 2016"


def check_document(doc: dict[str, Any]) -> None:
    """The fields fact-check consumers require, with the types they expect."""
    for key in REQUIRED_FIELDS:
        assert doc.get(key) not in (None, "", []), key
    assert doc["@type"] == "ClaimReview" and doc["@context"] == "https://schema.org"
    rating = doc["reviewRating"]
    for key in REQUIRED_RATING:
        assert rating.get(key) not in (None, ""), key
    assert rating["worstRating"] <= rating["ratingValue"] <= rating["bestRating"]
    assert doc["author"]["@type"] == "Organization" and doc["author"]["name"] and doc["author"]["url"]
    item = doc["itemReviewed"]
    for key in REQUIRED_ITEM:
        assert key in item, key
    assert item["@type"] == "Claim" and item["author"]["@type"] in ("Person", "Organization") and item["author"]["name"]
    assert doc["url"].startswith("http") and len(doc["datePublished"]) == 10


def test_claim_jsonld(seeded_app: Flask, db_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CLAIMTRACK_ORG_NAME", "Aleppo Desk")
    monkeypatch.setenv("CLAIMTRACK_ORG_URL", "https://desk.example/")
    claim = query(
        db_path,
        """SELECT c.*, s.name AS speaker, s.kind FROM claims c JOIN speakers s ON s.id = c.speaker_id
        WHERE verdict IS NOT NULL AND stated_on IS NOT NULL ORDER BY c.id LIMIT 1""",
    )[0]
    client = seeded_app.test_client()
    response = client.get(f"/claims/{claim['id']}.jsonld")
    assert response.status_code == 200 and response.mimetype == "application/ld+json"
    doc = response.get_json()
    check_document(doc)
    assert doc["claimReviewed"] == claim["text"] and doc["url"] == f"http://localhost/claims/{claim['id']}"
    assert doc["author"] == {"@type": "Organization", "name": "Aleppo Desk", "url": "https://desk.example/"}
    assert doc["reviewRating"]["alternateName"] == claim["verdict"]
    assert doc["itemReviewed"]["author"]["name"] == claim["speaker"]
    assert doc["itemReviewed"]["author"]["@type"] == ("Person" if claim["kind"] == "person" else "Organization")
    assert doc["itemReviewed"]["datePublished"] == claim["stated_on"]
    sources = query(
        db_path,
        "SELECT s.url FROM claim_sources cs JOIN sources s ON s.id = cs.source_id WHERE cs.claim_id = ?",
        claim["id"],
    )
    assert [a.get("url") for a in doc["itemReviewed"]["appearance"]] == [s[0] for s in sources]
    unrated = query(db_path, "SELECT id FROM claims WHERE verdict IS NULL LIMIT 1")[0][0]
    assert client.get(f"/claims/{unrated}.jsonld").status_code == 404
    assert client.get("/claims/999999.jsonld").status_code == 404


def test_feed_round_trips_through_an_empty_database(
    seeded_engine: Engine, db_path: Path, tmp_path: Path, db_templates: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    seeded_engine.dispose()
    monkeypatch.setenv("CLAIMTRACK_DB", str(db_path))
    result = CliRunner().invoke(main, ["export", "claimreview", "--event", EVENT])
    assert result.exit_code == 0, result.output
    feed = json.loads(result.output)
    assert feed["@type"] == "DataFeed"
    docs = [item for element in feed["dataFeedElement"] for item in element["item"]]
    rated = query(
        db_path,
        "SELECT count(*) FROM claims c JOIN events e ON e.id = c.event_id "
        "WHERE e.name = ? AND verdict IS NOT NULL AND retracted = 0",
        EVENT,
    )[0][0]
    assert len(docs) == rated > 0
    for doc in docs:
        check_document(doc)
    path = tmp_path / "feed.json"
    path.write_text(result.output, encoding="utf-8")
    empty = tmp_path / "empty.db"
    shutil.copyfile(db_templates.migrated, empty)
    engine = make_engine(empty)
    try:
        report = import_file(engine, path, event=EVENT)
        assert (report.added, len(report.rejected)) == (rated, 0)
        sql = """SELECT c.text, s.name, s.kind, e.name, c.stated_on, c.verdict, c.language,
            (SELECT group_concat(url, ' ') FROM (SELECT so.url FROM claim_sources cs JOIN sources so ON so.id = cs.source_id
                WHERE cs.claim_id = c.id ORDER BY cs.id))
            FROM claims c JOIN speakers s ON s.id = c.speaker_id LEFT JOIN events e ON e.id = c.event_id
            WHERE c.verdict IS NOT NULL AND c.retracted = 0 AND e.name = ? ORDER BY c.id"""
        assert [tuple(r) for r in query(empty, sql, EVENT)] == [tuple(r) for r in query(db_path, sql, EVENT)]
        assert import_file(engine, path).added == 0
    finally:
        engine.dispose()


def test_export_of_an_unknown_event_is_one_line(engine: Engine, db_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    engine.dispose()
    monkeypatch.setenv("CLAIMTRACK_DB", str(db_path))
    result = CliRunner().invoke(main, ["export", "claimreview", "--event", "Nothing"])
    assert result.exit_code == 1 and "No event named 'Nothing'" in result.output, result.output


@pytest.mark.parametrize(
    "base_url",
    [
        "not a url",
        "claims.example.org",
        "ftp://claims.example.org",
        "https://",
        # /claims/<id> would land in the query or fragment (every url the same page), or after a space.
        "https://claims.example.org/?lang=en",
        "https://claims.example.org?",
        "https://claims.example.org/#top",
        "https://claims.example.org/fact checks",
    ],
)
def test_export_refuses_a_base_url_that_is_not_a_web_address(
    engine: Engine, db_path: Path, monkeypatch: pytest.MonkeyPatch, base_url: str
) -> None:
    """Every review's url is <base-url>/claims/<id>: anything but an http(s) address gives a feed of broken links."""
    engine.dispose()
    monkeypatch.setenv("CLAIMTRACK_DB", str(db_path))
    result = CliRunner().invoke(main, ["export", "claimreview", "--base-url", base_url])
    assert result.exit_code == 2 and "--base-url" in result.output and "http" in result.output, result.output
    assert '"ClaimReview"' not in result.output

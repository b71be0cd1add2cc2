"""The read-only JSON API: /api/claims (keyset pages, filters) and /api/claims/<id> with its links."""

from __future__ import annotations

from pathlib import Path

from flask import Flask
from helpers import query


def test_list_pages_and_filters(seeded_app: Flask, db_path: Path) -> None:
    client = seeded_app.test_client()
    ids = [r[0] for r in query(db_path, "SELECT id FROM claims WHERE retracted = 0 ORDER BY id DESC")]
    seen: list[int] = []
    url: str | None = "/api/claims?limit=7"
    while url:
        page = client.get(url)
        assert page.status_code == 200 and page.mimetype == "application/json"
        data = page.get_json()
        seen += [c["id"] for c in data["claims"]]
        url = data["next"]
    assert seen == ids
    first = client.get("/api/claims?limit=1").get_json()["claims"][0]
    assert first["links"]["self"] == f"/api/claims/{first['id']}" and first["links"]["html"] == f"/claims/{first['id']}"
    verdict = query(db_path, "SELECT verdict FROM claims WHERE verdict IS NOT NULL LIMIT 1")[0][0]
    got = {c["id"] for c in client.get(f"/api/claims?verdict={verdict}&limit=200").get_json()["claims"]}
    assert got == {r[0] for r in query(db_path, "SELECT id FROM claims WHERE verdict = ? AND retracted = 0", verdict)}
    speaker = query(db_path, "SELECT speaker_id FROM claims LIMIT 1")[0][0]
    got = {c["id"] for c in client.get(f"/api/claims?speaker={speaker}&limit=200").get_json()["claims"]}
    assert got == {
        r[0] for r in query(db_path, "SELECT id FROM claims WHERE speaker_id = ? AND retracted = 0", speaker)
    }
    assert client.get("/api/claims?language=ar").get_json()["claims"] == []
    assert len(client.get("/api/claims?language=en&limit=200").get_json()["claims"]) == len(ids)
    got = {c["id"] for c in client.get("/api/claims?q=thousands").get_json()["claims"]}
    assert got == {
        r[0] for r in query(db_path, "SELECT id FROM claims WHERE text LIKE '%thousands%' AND retracted = 0")
    }


def test_bad_arguments_are_400_json(seeded_app: Flask) -> None:
    client = seeded_app.test_client()
    for url in (
        "/api/claims?verdict=maybe",
        "/api/claims?speaker=x",
        "/api/claims?language=e n",
        "/api/claims?before=²",
    ):
        response = client.get(url)
        assert response.status_code == 400 and response.get_json()["error"], url
    missing = client.get("/api/claims/999999")
    assert missing.status_code == 404 and "No claim" in missing.get_json()["error"]


def test_detail_has_sources_tags_and_links(seeded_app: Flask, db_path: Path) -> None:
    link = query(db_path, "SELECT * FROM claim_links ORDER BY id LIMIT 1")[0]
    data = seeded_app.test_client().get(f"/api/claims/{link['to_claim_id']}").get_json()
    assert data["id"] == link["to_claim_id"] and data["speaker"]["name"]
    incoming = [x for x in data["claim_links"] if x["direction"] == "incoming"]
    assert {(x["other_id"], x["relation"], x["other"]) for x in incoming} >= {
        (link["from_claim_id"], link["relation"], f"/api/claims/{link['from_claim_id']}")
    }
    sources = query(db_path, "SELECT source_id FROM claim_sources WHERE claim_id = ? ORDER BY id", link["to_claim_id"])
    assert [s["id"] for s in data["sources"]] == [s[0] for s in sources]
    assert data["tags"] == []


def test_errors_outside_the_routes_are_json_too(seeded_app: Flask) -> None:
    """A program gets JSON for every error under /api/ and for .jsonld, also where no route matched: a wrong
    method (405, with Allow), an id that is not a number, an address that does not exist."""
    anon = seeded_app.test_client()
    for url in ("/api/claims", "/api/claims/1", "/claims/1.jsonld"):
        response = anon.post(url)
        assert response.status_code == 405 and response.is_json, (url, response.data[:200])
        assert "not allowed" in response.get_json()["error"].lower() and "GET" in response.headers["Allow"]
    for url in ("/api/claims/abc", "/api/nothing", "/claims/abc.jsonld"):
        response = anon.get(url)
        assert response.status_code == 404 and response.is_json, (url, response.data[:200])
        assert response.get_json()["error"], url
    assert not anon.get("/claims/abc").is_json  # the app's own pages keep their HTML error page


def test_anonymous_read_only(seeded_app: Flask, client) -> None:  # type: ignore[no-untyped-def]
    anon = seeded_app.test_client()
    for method in ("post", "put", "delete", "patch"):
        for url in ("/api/claims", "/api/claims/1", "/claims/1.jsonld"):
            assert getattr(anon, method)(url).status_code == 405, (method, url)
            assert getattr(client, method)(url).status_code == 405, (method, url)

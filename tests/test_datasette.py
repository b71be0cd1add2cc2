"""Datasette as researchers reach it: under /data/ of the one ASGI app, configured by datasette-metadata.json.

Every request goes through ``claimtrack.asgi`` (the wrapper that strips /data), never through
Datasette's own test client, so the links checked here are the links users follow.
"""

from __future__ import annotations

import asyncio
import csv
import dataclasses
import heapq
import io
import json
import sqlite3
from collections.abc import Awaitable, Callable
from html.parser import HTMLParser
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import parse_qsl, urljoin, urlsplit

import httpx
import pytest
from flask import Flask

from claimtrack.asgi import ASGIApp, create_asgi_app
from claimtrack.config import PROJECT_ROOT, Settings
from claimtrack.db import write_session
from claimtrack.models import ClaimCreate, LinkCreate, SourceCreate, SpeakerCreate
from claimtrack.services.claims import create_claim
from claimtrack.services.links import add_link

METADATA_PATH = PROJECT_ROOT / "datasette-metadata.json"
BASE = "http://testserver"
RUSSIAN_CLAIM_END = "was finished on Friday."
CONTRADICTING_SPEAKERS = {
    "Activists in Aleppo",
    "ICRC official working on the evacuation",
    "Abdu Khudr",
    "Senior rebel official",
}
VIEW_COLUMNS = {
    "relation",
    "claim_id",
    "claim_text",
    "claim_speaker",
    "other_id",
    "other_text",
    "other_speaker",
    "note",
}

T = TypeVar("T")


# --- helpers --------------------------------------------------------------------------------


def metadata() -> dict[str, Any]:
    return json.loads(METADATA_PATH.read_text(encoding="utf-8"))


def db_tables(db: Path) -> dict[str, tuple[str, list[str]]]:
    """Every table and view in the database file: name -> (type, column names)."""
    conn = sqlite3.connect(db)
    try:
        found = conn.execute("SELECT name, type FROM sqlite_master WHERE type IN ('table', 'view')").fetchall()
        return {name: (kind, [r[1] for r in conn.execute(f"PRAGMA table_info([{name}])")]) for name, kind in found}
    finally:
        conn.close()


def query(db: Path, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    conn = sqlite3.connect(db)
    try:
        return conn.execute(sql, params).fetchall()
    finally:
        conn.close()


def as_csv_cells(rows: list[tuple[Any, ...]]) -> list[list[str]]:
    return [["" if v is None else str(v) for v in row] for row in rows]


def parse_csv(text: str) -> tuple[list[str], list[list[str]]]:
    header, *rows = list(csv.reader(io.StringIO(text, newline="")))
    return header, rows


def run(asgi: ASGIApp, work: Callable[[httpx.AsyncClient], Awaitable[T]]) -> T:
    async def main() -> T:
        transport = httpx.ASGITransport(app=asgi)  # type: ignore[arg-type]
        async with httpx.AsyncClient(transport=transport, base_url=BASE) as client:
            return await work(client)

    return asyncio.run(main())


def get(asgi: ASGIApp, url: str) -> httpx.Response:
    async def work(client: httpx.AsyncClient) -> httpx.Response:
        return await client.get(url)

    return run(asgi, work)


def get_json(asgi: ASGIApp, url: str) -> Any:
    response = get(asgi, url)
    assert response.status_code == 200, (url, response.status_code, response.text[:500])
    return response.json()


def get_csv(asgi: ASGIApp, url: str) -> tuple[list[str], list[list[str]]]:
    response = get(asgi, url)
    assert response.status_code == 200, (url, response.status_code, response.text[:500])
    assert response.headers["content-type"].startswith("text/plain") or "csv" in response.headers["content-type"]
    return parse_csv(response.text)


def bulk_insert(db: Path, claims: int, links: int) -> None:
    """Add ``claims`` claims and ``links`` links (each new claim contradicts the next) in one transaction."""
    conn = sqlite3.connect(db, isolation_level=None)
    try:
        conn.execute("PRAGMA foreign_keys = ON")
        conn.execute("PRAGMA busy_timeout = 5000")
        conn.execute("BEGIN IMMEDIATE")
        speakers = [r[0] for r in conn.execute("SELECT id FROM speakers ORDER BY id")]
        (event_id,) = conn.execute("SELECT id FROM events ORDER BY id LIMIT 1").fetchone()
        now = "2026-01-01T00:00:00Z"
        first = conn.execute("SELECT coalesce(max(id), 0) + 1 FROM claims").fetchone()[0]
        conn.executemany(
            "INSERT INTO claims (id, text, verbatim, speaker_id, event_id, stated_on, verdict, created_at, updated_at)"
            " VALUES (?, ?, ?, ?, ?, '2016-12-17', ?, ?, ?)",
            [
                (
                    first + i,
                    f'Bulk statement {i}: convoy, "quoted" words and a comma',
                    i % 2,
                    speakers[i % len(speakers)],
                    event_id if i % 3 else None,
                    "unverified" if i % 5 else None,
                    now,
                    now,
                )
                for i in range(claims)
            ],
        )
        conn.executemany(
            "INSERT INTO claim_links (from_claim_id, to_claim_id, relation, note, created_at, updated_at)"
            " VALUES (?, ?, 'contradicts', ?, ?, ?)",
            [(first + i + 1, first + i, f"bulk link {i}", now, now) for i in range(links)],
        )
        conn.execute("COMMIT")
    finally:
        conn.close()


# --- fixtures -------------------------------------------------------------------------------


@pytest.fixture
def db(seeded_app: Flask) -> Path:
    return Path(seeded_app.config["DATABASE"])


@pytest.fixture
def asgi(seeded_app: Flask, db: Path) -> ASGIApp:
    settings = dataclasses.replace(Settings.from_env(), db_path=db, metadata_path=METADATA_PATH)
    return create_asgi_app(seeded_app, settings)


# --- the metadata file cannot drift from the schema -----------------------------------------


# Bookkeeping that is not data: the schema's version, and which form created which claim (the duplicate guard).
INTERNAL_TABLES = {"alembic_version", "form_submissions"}


def test_metadata_describes_the_migrated_schema(engine: Any, db_path: Path) -> None:
    md = metadata()
    for key in ("title", "description", "license", "license_url", "source", "about"):
        assert md.get(key), key
    assert md["title"] == "claimtrack"
    assert md["databases"].keys() == {"claimtrack"}
    described = md["databases"]["claimtrack"]["tables"]
    schema = db_tables(db_path)

    # Everything described exists, with the columns it names.
    for name, meta in described.items():
        assert name in schema, f"metadata describes {name}, which the schema does not have"
        columns = schema[name][1]
        for column in meta.get("columns", {}):
            assert column in columns, f"metadata describes {name}.{column}, which the schema does not have"
        for column in [*meta.get("facets", []), *meta.get("sortable_columns", [])]:
            assert column in columns, f"{name}: facet or sortable column {column} does not exist"
        for key in ("label_column", "sort", "sort_desc", "fts_pk"):
            if key in meta:
                assert meta[key] in columns, f"{name}: {key} {meta[key]} does not exist"
        if "fts_table" in meta:
            assert meta["fts_table"] in schema

    # Everything in the schema is either described in full or hidden.
    for name, (kind, columns) in schema.items():
        assert name in described, f"{kind} {name} is neither described nor hidden in datasette-metadata.json"
        meta = described[name]
        if meta.get("hidden"):
            assert name in INTERNAL_TABLES or "_fts" in name, f"{name} is hidden but is not internal"
            continue
        assert meta.get("description"), f"{name} has no description"
        missing = [c for c in columns if not meta.get("columns", {}).get(c)]
        assert not missing, f"{name}: columns without a description: {missing}"
        if kind == "table":
            assert "id" in meta["sortable_columns"], f"{name}: the primary key must stay sortable"

    # Canned queries are described and read-only (tests/test_research.py runs each of them).
    assert "queries" not in md
    for name, canned in md["databases"]["claimtrack"].get("queries", {}).items():
        assert canned.get("title") and canned.get("description") and canned.get("sql"), name
        assert not canned.get("write"), f"canned query {name} must not write"


def test_metadata_settings_the_task_relies_on() -> None:
    tables = metadata()["databases"]["claimtrack"]["tables"]
    assert tables["speakers"]["label_column"] == "name"
    assert tables["events"]["label_column"] == "name"
    assert tables["sources"]["label_column"] == "title"
    assert tables["claims"]["label_column"] == "text"
    assert tables["claims"]["facets"] == ["speaker_id", "event_id", "verdict", "language", "verbatim", "retracted"]
    assert tables["claim_links"]["facets"] == ["relation", "retracted"]
    assert tables["claim_links_readable"]["facets"] == [
        "relation",
        "claim_speaker",
        "other_speaker",
        "other_speaker_kind",
        "event",
    ]
    assert tables["speakers"]["facets"] == ["kind", "affiliation_id"]
    assert tables["sources"]["facets"] == ["outlet"]
    # claims_fts is keyed by claims' rowid: on the view it could match only one of the two statements
    # (claim_id or other_id) and _search_<column> would compare against the view's rowid, so no FTS there.
    assert "fts_table" not in tables["claim_links_readable"]


# --- serving --------------------------------------------------------------------------------


def test_data_prefix_routes_to_datasette(asgi: ASGIApp) -> None:
    response = get(asgi, "/data")
    assert response.status_code == 302
    assert response.headers["location"] == "/data/"
    index = get(asgi, "/data/")
    assert index.status_code == 200
    assert 'href="/data/claimtrack"' in index.text
    assert [d["name"] for d in get_json(asgi, "/data/.json").values()] == ["claimtrack"]
    assert "CC BY 4.0" in index.text
    assert "Aleppo evacuation is complete, claims Russia" in index.text


def test_default_settings_use_the_project_metadata(seeded_app: Flask, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CLAIMTRACK_DATASETTE_METADATA", raising=False)
    asgi = create_asgi_app(seeded_app)
    data = get_json(asgi, "/data/claimtrack/claims.json?_size=0")
    assert set(data["facet_results"]) >= {"speaker_id", "event_id", "verdict", "verbatim"}


def test_internal_tables_are_hidden(asgi: ASGIApp) -> None:
    tables = {t["name"]: t for t in get_json(asgi, "/data/claimtrack.json")["tables"]}
    for name in ("alembic_version", "claims_fts", "speakers_fts", "sources_fts"):
        assert tables[name]["hidden"], name
    for name in ("speakers", "events", "sources", "claims", "claim_sources", "claim_links"):
        assert not tables[name]["hidden"], name
    views = {v["name"] for v in get_json(asgi, "/data/claimtrack.json")["views"]}
    assert "claim_links_readable" in views
    # FTS5's shadow tables hold only binary index data, and Datasette 0.65 cannot open their rows
    # (the blob primary key of *_fts_idx makes row links that 404): they are closed, not just hidden.
    with_hidden = get_json(asgi, "/data/claimtrack.json?_show_hidden=1")["tables"]
    assert "claims_fts_idx" not in {t["name"] for t in with_hidden}
    assert get(asgi, "/data/claimtrack/claims_fts_idx").status_code == 403
    assert get(asgi, "/data/claimtrack/claims_fts").status_code == 200


def test_claims_json(asgi: ASGIApp, db: Path) -> None:
    data = get_json(asgi, "/data/claimtrack/claims.json?_shape=objects&_size=max")
    assert data["filtered_table_rows_count"] == query(db, "SELECT count(*) FROM claims")[0][0] == 25
    texts = {row["text"] for row in data["rows"]}
    assert any(t.endswith(RUSSIAN_CLAIM_END) for t in texts)


def test_readable_view_shows_who_contradicts_the_russian_claim(asgi: ASGIApp) -> None:
    data = get_json(
        asgi,
        "/data/claimtrack/claim_links_readable.json?_shape=objects&_size=max"
        "&claim_speaker=Russian+defence+ministry&relation=contradicts",
    )
    assert set(data["columns"]) >= VIEW_COLUMNS
    rows = [r for r in data["rows"] if r["claim_text"].endswith(RUSSIAN_CLAIM_END)]
    assert {r["other_speaker"] for r in rows} == CONTRADICTING_SPEAKERS
    assert len(rows) == 5  # the senior rebel official contradicts it twice
    assert all(r["other_id"] != r["claim_id"] and r["note"] for r in rows)
    # Direction: the Russian claim is the one answered, never the one that contradicts.
    reverse = get_json(
        asgi,
        "/data/claimtrack/claim_links_readable.json?_shape=array&other_speaker=Russian+defence+ministry",
    )
    assert reverse == []


def test_view_rows_match_claim_links(asgi: ASGIApp, db: Path) -> None:
    rows = get_json(asgi, "/data/claimtrack/claim_links_readable.json?_shape=array&_size=max")
    expected = query(db, "SELECT id, to_claim_id, from_claim_id, relation FROM claim_links ORDER BY id")
    assert [(r["link_id"], r["claim_id"], r["other_id"], r["relation"]) for r in rows] == expected


def test_facets(asgi: ASGIApp, db: Path) -> None:
    data = get_json(asgi, "/data/claimtrack/claims.json?_size=0")
    facets = data["facet_results"]
    assert set(facets) >= {"speaker_id", "event_id", "verdict", "verbatim"}
    speakers = {r["label"]: r["count"] for r in facets["speaker_id"]["results"]}
    assert speakers["Russian defence ministry"] == 3
    assert speakers["Senior rebel official"] == 5
    verdicts = {r["value"]: r["count"] for r in facets["verdict"]["results"]}
    assert verdicts == {"disputed": 1}

    chosen = get_json(asgi, "/data/claimtrack/claim_links.json?_facet=relation&_size=0")["facet_results"]
    assert {r["value"]: r["count"] for r in chosen["relation"]["results"]} == {
        "contradicts": 6,
        "supports": 3,
        "qualifies": 4,
    }

    view = get_json(asgi, "/data/claimtrack/claim_links_readable.json?_size=0")["facet_results"]
    assert set(view) >= {"relation", "claim_speaker", "other_speaker", "other_speaker_kind", "event"}
    other = {r["value"]: r["count"] for r in view["other_speaker"]["results"]}
    assert other["Senior rebel official"] == 4

    kinds = get_json(asgi, "/data/claimtrack/speakers.json?_size=0")["facet_results"]
    assert {r["value"]: r["count"] for r in kinds["kind"]["results"]} == dict(
        query(db, "SELECT kind, count(*) FROM speakers GROUP BY kind")
    )
    affiliations = {r["label"]: r["count"] for r in kinds["affiliation_id"]["results"]}
    assert affiliations["Russian government"] == 2
    outlets = get_json(asgi, "/data/claimtrack/sources.json?_size=0")["facet_results"]
    assert [r["value"] for r in outlets["outlet"]["results"]] == ["Financial Times"]


def test_labels_show_speaker_names(asgi: ASGIApp, db: Path) -> None:
    rows = get_json(asgi, "/data/claimtrack/claims.json?_labels=on&_shape=array&_size=max")
    names = dict(query(db, "SELECT id, name FROM speakers"))
    for row in rows:
        assert row["speaker_id"]["label"] == names[row["speaker_id"]["value"]]
    first = next(r for r in rows if r["text"].endswith(RUSSIAN_CLAIM_END))
    assert first["speaker_id"]["label"] == "Russian defence ministry"
    assert first["event_id"]["label"] == "Aleppo evacuation, December 2016"
    page = get(asgi, "/data/claimtrack/claims")
    assert page.status_code == 200
    assert "Russian defence ministry" in page.text


def test_full_text_search(asgi: ASGIApp, db: Path) -> None:
    rows = get_json(asgi, "/data/claimtrack/claims.json?_search=thousands&_shape=array")
    expected = dict(
        query(
            db,
            "SELECT c.id, s.name FROM claims c JOIN speakers s ON s.id = c.speaker_id WHERE c.text LIKE '%thousands%'",
        )
    )
    assert {r["id"] for r in rows} == set(expected)
    assert set(expected.values()) == {
        "Russian defence ministry",
        "Activists in Aleppo",
        "ICRC official working on the evacuation",
        "Abdu Khudr",
    }

    # What a person types is matched as words, not parsed as FTS syntax.
    assert get(asgi, '/data/claimtrack/claims.json?_search="unbalanced').status_code == 200
    who = get_json(asgi, "/data/claimtrack/speakers.json?_search=ICRC&_shape=array")
    assert {r["name"] for r in who} >= {
        "ICRC official working on the evacuation",
        "International Committee of the Red Cross",
    }


# --- CSV ------------------------------------------------------------------------------------


def test_csv_returns_what_the_app_wrote(seeded_engine: Any, asgi: ASGIApp, db: Path) -> None:
    awkward = 'He said: "no, not yet",\nthen “left” — 100% sure; <b>not</b> markup'
    russian = query(db, "SELECT id FROM claims WHERE text LIKE ?", (f"%{RUSSIAN_CLAIM_END}",))[0][0]
    with write_session(seeded_engine, actor="test") as session:
        claim = create_claim(
            session,
            ClaimCreate(
                text=awkward,
                verbatim=True,
                speaker=SpeakerCreate(name="Test speaker, with comma"),
                source=SourceCreate(title="A report", outlet="Test outlet", url="https://example.org/r?a=1&b=2"),
                event="Aleppo evacuation, December 2016",
            ),
        )
        add_link(session, russian, LinkCreate(relation="qualifies", note='Note with "quotes"', target_id=claim.id))

    header, rows = get_csv(asgi, "/data/claimtrack/claims.csv")
    assert header == [r[1] for r in query(db, "PRAGMA table_info(claims)")]
    assert rows == as_csv_cells(query(db, "SELECT * FROM claims ORDER BY id"))
    assert rows[-1][1] == awkward

    header, rows = get_csv(asgi, "/data/claimtrack/claim_links_readable.csv")
    assert header == [r[1] for r in query(db, "PRAGMA table_info(claim_links_readable)")]
    assert rows == as_csv_cells(query(db, "SELECT * FROM claim_links_readable ORDER BY link_id"))
    last = dict(zip(header, rows[-1]))
    assert last["other_text"] == awkward
    assert last["claim_text"].endswith(RUSSIAN_CLAIM_END)
    assert last["relation"] == "qualifies"
    assert last["other_sources"] == "Test outlet: A report <https://example.org/r?a=1&b=2>"


def test_streamed_csv_has_every_row(asgi: ASGIApp, db: Path) -> None:
    assert get(asgi, "/data/claimtrack/claims.json?_size=1").status_code == 200  # Datasette is already open
    bulk_insert(db, claims=1_600, links=1_250)
    n_claims = query(db, "SELECT count(*) FROM claims")[0][0]
    n_links = query(db, "SELECT count(*) FROM claim_links")[0][0]
    assert n_claims >= 1_600 and n_links >= 1_250

    header, rows = get_csv(asgi, "/data/claimtrack/claims.csv?_stream=on")
    assert len(rows) == n_claims
    assert [r[header.index("id")] for r in rows] == [str(r[0]) for r in query(db, "SELECT id FROM claims ORDER BY id")]
    assert rows == as_csv_cells(query(db, "SELECT * FROM claims ORDER BY id"))

    header, rows = get_csv(asgi, "/data/claimtrack/claim_links_readable.csv?_stream=on")
    assert len(rows) == n_links
    assert rows == as_csv_cells(query(db, "SELECT * FROM claim_links_readable ORDER BY link_id"))
    assert not any("CSV contains more than" in cell for row in rows for cell in row)

    # Without _stream only the first page comes back: the streamed export really is the full one.
    _, page = get_csv(asgi, "/data/claimtrack/claims.csv")
    assert len(page) < n_claims


# --- every link works -----------------------------------------------------------------------


class _Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.links: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for name, value in attrs:
            if value and name in ("href", "src", "action"):
                self.links.append(value)


MAX_PAGES = 150
PER_SHAPE = 2  # e.g. two row pages per table, two sort orders, two facets per page: breadth over depth


def _shape(path: str, query: str) -> tuple[str, tuple[str, ...]]:
    """Links that differ only in a row id or in parameter values (which column, which value) have the same shape."""
    segments = path.split("/")  # "", "data", database, table, row
    if len(segments) > 4:
        row = segments[4]
        segments[4] = "#" + ("." + row.rsplit(".", 1)[1] if row.endswith((".json", ".csv", ".blob")) else "")
    return "/".join(segments), tuple(sorted(k for k, _ in parse_qsl(query)))


async def crawl(client: httpx.AsyncClient) -> tuple[dict[str, int], dict[str, str]]:
    """Follow same-origin links under /data/, simplest first (fewest query parameters, then the order found),
    at most PER_SHAPE links of one shape and MAX_PAGES fetches: url -> status, and url -> page it was found on.
    """
    queue: list[tuple[int, int, str]] = [(0, 0, "/data/")]
    found_on: dict[str, str] = {"/data/": "(start)"}
    statuses: dict[str, int] = {}
    shapes: dict[tuple[str, tuple[str, ...]], int] = {}
    while queue and len(statuses) < MAX_PAGES:
        _, _, url = heapq.heappop(queue)
        response = await client.get(url)
        statuses[url] = response.status_code
        if not response.headers.get("content-type", "").startswith("text/html"):
            continue
        parser = _Links()
        parser.feed(response.text)
        for link in parser.links:
            parts = urlsplit(urljoin(BASE + url, link))
            if f"{parts.scheme}://{parts.netloc}" != BASE or not parts.path.startswith("/data/"):
                continue
            target = parts.path + (f"?{parts.query}" if parts.query else "")
            shape = _shape(parts.path, parts.query)
            if target in found_on or shapes.get(shape, 0) >= PER_SHAPE:
                continue
            shapes[shape] = shapes.get(shape, 0) + 1
            found_on[target] = url
            heapq.heappush(queue, (len(shape[1]), len(found_on), target))
    return statuses, found_on


def test_crawl_finds_no_broken_links(asgi: ASGIApp) -> None:
    statuses, found_on = run(asgi, crawl)
    assert len(statuses) >= 60, f"the crawl reached only {len(statuses)} pages"
    broken = {url: (status, found_on[url]) for url, status in statuses.items() if status >= 500 or status == 404}
    assert not broken, broken
    # The crawl reached the tables, the view, row pages and exports.
    reached = " ".join(statuses)
    for fragment in (
        "/data/claimtrack/claims/",
        "/data/claimtrack/claim_links_readable.csv",
        "/data/claimtrack/claim_links/",
        "/data/claimtrack/speakers/",
        "/data/claimtrack/sources/",
        "/data/claimtrack/events/",
        "_sort",
        "_facet",
        ".json",
    ):
        assert fragment in reached, fragment


def test_datasette_pages_carry_the_projects_stylesheet(asgi: ASGIApp) -> None:
    page = get(asgi, "/data/claimtrack/claim_links_readable")
    assert '<link rel="stylesheet" href="/data/claimtrack-static/claimtrack.css">' in page.text
    css = get(asgi, "/data/claimtrack-static/claimtrack.css")
    assert css.status_code == 200 and css.headers["content-type"].startswith("text/css")
    assert "dl.column-descriptions" in css.text


@pytest.mark.parametrize("path", ["/data/", "/data/claimtrack", "/data/claimtrack/claims", "/data/claimtrack/claims/1"])
def test_datasette_pages_name_the_apps_icon(asgi: ASGIApp, path: str) -> None:
    """Without an icon named, a browser asked every Datasette page's /favicon.ico, which is not there."""
    page = get(asgi, path)
    assert '<link rel="icon" href="/static/favicon.svg" type="image/svg+xml">' in page.text
    icon = get(asgi, "/static/favicon.svg")
    assert icon.status_code == 200 and icon.headers["content-type"].startswith("image/svg+xml")


def test_table_filter_rows_are_named_for_screen_readers(asgi: ASGIApp) -> None:
    """Each applied filter keeps its column, comparison and value selected, and can be removed; the row that adds
    a filter starts empty. Every control says which filter it belongs to."""
    page = get(asgi, "/data/claimtrack/claims?verdict__exact=disputed&speaker_id__gt=1").text
    for n, (column, op, value) in enumerate([("speaker_id", "gt", "1"), ("verdict", "exact", "disputed")], 1):
        row = page.split(f'name="_filter_column_{n}"', 1)[1].split('<div class="filter-row">', 1)[0]
        assert f'aria-label="Filter {n}: column"' in row
        assert '<option value="">- remove filter -</option>' in row
        assert f"<option selected>{column}</option>" in row
        assert f'<select name="_filter_op_{n}" aria-label="Filter {n}: how to compare">' in row
        assert f'<option value="{op}" selected>' in row
        assert f'name="_filter_value_{n}" class="filter-value" value="{value}" aria-label="Filter {n}: value"' in row
    new = page.split('name="_filter_column"', 1)[1].split("</form>", 1)[0]
    assert 'aria-label="New filter: column"' in new and '<option value="">- column -</option>' in new
    assert '<select name="_filter_op" aria-label="New filter: how to compare">' in new
    assert " selected" not in new.split('name="_sort"', 1)[0]
    assert '<input type="text" name="_filter_value" class="filter-value" aria-label="New filter: value">' in new

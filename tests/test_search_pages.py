"""Datasette ?_search= pages past a cap of matches leave out their count, facets and suggestions, and say so;
under the cap they are Datasette's pages as before (claimtrack/datasette/search.py)."""

from __future__ import annotations

import dataclasses
import gc
import json
import sqlite3
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path
from typing import Any

import pytest
from conftest import Templates, seeded_copy
from test_datasette import METADATA_PATH, get, get_json
from test_research import make_flask

from claimtrack.asgi import create_asgi_app
from claimtrack.config import Settings
from claimtrack.db import make_engine
from claimtrack.services.synthetic import generate

CAP = 100


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory, db_templates: Templates) -> Iterator[tuple[Path, Any]]:
    folder = tmp_path_factory.mktemp("search-pages")
    db = seeded_copy(db_templates, folder)
    engine = make_engine(db)
    generate(engine, claims=1_500, seed=2)
    engine.dispose()
    metadata = json.loads(METADATA_PATH.read_text(encoding="utf-8"))
    metadata.setdefault("plugins", {}).setdefault("claimtrack", {})["search_detail_limit"] = CAP
    path = folder / "metadata.json"
    path.write_text(json.dumps(metadata), encoding="utf-8")
    settings = dataclasses.replace(Settings.from_env(), db_path=db, metadata_path=path)
    yield db, create_asgi_app(make_flask(db), settings)


def matches(db: Path, word: str) -> int:
    with closing(sqlite3.connect(db)) as conn:
        return conn.execute(
            "SELECT count(*) FROM claims_fts_search WHERE claims_fts_search MATCH ?", (word,)
        ).fetchone()[0]


def test_a_search_past_the_cap_leaves_out_count_and_facets_and_says_so(site: tuple[Path, Any]) -> None:
    db, asgi = site
    assert matches(db, "evacuation") > CAP
    for table in ("claims", "speaker_claims", "event_timeline"):
        data = get_json(asgi, f"/data/claimtrack/{table}.json?_search=evacuation")
        assert data["rows"], table
        assert data["filtered_table_rows_count"] is None, table
        assert data["facet_results"] == {} and data["suggested_facets"] == [], table
        page = get(asgi, f"/data/claimtrack/{table}?_search=evacuation")
        assert page.status_code == 200
        assert f"More than {CAP} rows match" in page.text, table
        # Links keep the researcher's own URL: nothing is added to them.
        assert "_nofacet" not in page.text and "_nocount" not in page.text


def test_a_search_under_the_cap_keeps_its_count_and_default_facets(site: tuple[Path, Any]) -> None:
    db, asgi = site
    with closing(sqlite3.connect(db)) as conn:
        event_id, expected = conn.execute(
            "SELECT c.event_id, count(*) FROM claims_fts_search f JOIN claims c ON c.id = f.rowid "
            "WHERE claims_fts_search MATCH 'evacuation' AND c.event_id IS NOT NULL GROUP BY 1 "
            f"HAVING count(*) <= {CAP} ORDER BY 2 DESC LIMIT 1"
        ).fetchone()
    assert 0 < expected <= CAP
    data = get_json(asgi, f"/data/claimtrack/claims.json?_search=evacuation&event_id={event_id}")
    assert data["filtered_table_rows_count"] == expected
    assert {"speaker_id", "verdict", "retracted"} <= set(data["facet_results"])
    page = get(asgi, f"/data/claimtrack/claims?_search=evacuation&event_id={event_id}")
    assert "More than" not in page.text and f"{expected} row" in page.text


def test_pages_without_a_search_are_untouched(site: tuple[Path, Any]) -> None:
    _, asgi = site
    data = get_json(asgi, "/data/claimtrack/claims.json?_size=1")
    assert data["filtered_table_rows_count"] is not None and data["facet_results"]


def test_a_search_page_leaves_no_rows_behind_for_the_collector(site: tuple[Path, Any]) -> None:
    """Datasette's table pages hold their display rows in reference cycles, which only the cyclic collector
    frees; left to its thresholds, a served process kept 22 MB of them and of the arenas they spread over
    after 120 search pages at a million claims. They are collected as each Datasette request ends."""
    _, asgi = site
    get(asgi, "/data/claimtrack/claims?_search=evacuation")  # templates and caches made once, not garbage
    gc.disable()  # only an explicit collection runs from here on
    try:
        gc.collect()
        page = get(asgi, "/data/claimtrack/claims?_search=evacuation")
        left = sum(1 for o in gc.get_objects() if type(o).__name__ == "CustomRow")
    finally:
        gc.enable()
    assert page.status_code == 200 and "More than" in page.text
    assert left == 0, f"{left} display rows of the page were left for a later collection"

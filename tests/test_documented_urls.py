"""Every Datasette address the documentation gives researchers works and returns the rows it promises.

The addresses are read from README.md ("For researchers") and from datasette-metadata.json (descriptions, the
front page, dashboard text, canned queries with example parameters) and requested through the ASGI app users
reach, over the seeded Aleppo scenario. Expected rows come from SQL on the base tables, never from the views.
"""

from __future__ import annotations

import csv
import dataclasses
import html
import io
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, quote_plus, urlencode, urlsplit

import pytest
from conftest import Templates, seeded_copy
from flask import Flask
from test_datasette import METADATA_PATH, get, metadata, query

from claimtrack import create_app
from claimtrack.asgi import ASGIApp, create_asgi_app
from claimtrack.config import PROJECT_ROOT, Settings

RDM = "Russian defence ministry"
ALEPPO = "Aleppo evacuation, December 2016"
HEADLINE = (
    "/data/claimtrack/claim_links_readable?claim_speaker=Russian+defence+ministry&relation=contradicts&retracted=0"
)
VIEWS = ("claim_links_readable", "contested_claims", "event_timeline", "speaker_claims")
# Example values for the canned queries' parameters (each description names what the parameter is).
QUERY_EXAMPLES = {"claim_id": "1", "speaker": RDM, "event": ALEPPO, "period": "month"}
# Placeholders the metadata's descriptions use inside an address, and what to put there.
PLACEHOLDERS = {"<id>": "1"}


@dataclass
class World:
    db: Path
    asgi: ASGIApp


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory, db_templates: Templates) -> Iterator[World]:
    db = seeded_copy(db_templates, tmp_path_factory.mktemp("documented"))
    app: Flask = create_app(
        {
            "TESTING": True,
            "DATABASE": str(db),
            "ACCOUNTS_DATABASE": str(db.parent / "auth.db"),
            "SECRET_KEY": "test",
            "WTF_CSRF_ENABLED": False,
        }
    )
    settings = dataclasses.replace(Settings.from_env(), db_path=db, metadata_path=METADATA_PATH)
    yield World(db, create_asgi_app(app, settings))
    app_engine = app.extensions.get("claimtrack.engine")
    if app_engine is not None:
        app_engine.dispose()


# --- where the addresses come from ------------------------------------------------------------------


def _clean(url: str) -> str:
    """An address as written in prose, without a trailing full stop, comma or fragment."""
    url = html.unescape(url).rstrip(".,;:")
    for placeholder, value in PLACEHOLDERS.items():
        url = url.replace(placeholder, value)
    assert "<" not in url and ">" not in url, f"unknown placeholder in a documented address: {url}"
    return url.split("#", 1)[0] or "/"


def readme_urls() -> set[str]:
    """Every /data/ address in README.md, and each ``?...`` example in a table row of "For researchers" applied
    to the address that row is about (e.g. contested_claims' ``?_sort_desc=contradicting_statements``)."""
    readme = (PROJECT_ROOT / "README.md").read_text(encoding="utf-8")
    # "<table or view>" stands for any name; the row gives an example of it.
    urls = {_clean(u) for u in re.findall(r"`(/data/[^`\s]*)`", readme) if "<" not in u}
    start = readme.index("## For researchers")
    section = readme[start : readme.index("\n## ", start + 1)]
    for row in re.findall(r"^\| `(/data/claimtrack/[\w-]+)` \|(.*)$", section, flags=re.M):
        base, rest = row
        urls.update(_clean(base + q) for q in re.findall(r"`(\?[^`\s]*)`", rest))
    return urls


def _strings(node: Any, path: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], str]]:
    if isinstance(node, dict):
        for key, value in node.items():
            yield from _strings(value, (*path, str(key)))
    elif isinstance(node, list):
        for item in node:
            yield from _strings(item, path)
    elif isinstance(node, str):
        yield path, node


def metadata_urls() -> set[str]:
    """Every address in datasette-metadata.json's prose, and each canned query with example parameters.

    Absolute ones (``/data/...``, also inside href and Markdown links); ``name.csv?...`` and ``name?...``
    relative to the database; ``?...`` in a table's or column's description relative to that table.
    """
    md = metadata()
    database = md["databases"]["claimtrack"]
    names = set(database["tables"]) | set(database.get("queries", {}))
    urls: set[str] = set()
    for path, text in _strings(md):
        if path[-1] in ("sql", "query"):
            continue  # SQL, not prose
        text = html.unescape(text)
        urls.update(_clean(u) for u in re.findall(r"/data/[^\s\"'<>()\[\]`]*", text))
        for name, rest in re.findall(r"(?<![\w/.])([a-z_]+(?:\.csv|\.json)?)(\?[^\s\"'()\[\],;]+)", text):
            if name.split(".")[0] in names:
                urls.add(_clean(f"/data/claimtrack/{name}{rest}"))
        if path[:3] == ("databases", "claimtrack", "tables"):
            table = path[3]
            for rest in re.findall(r"(?<![\w/.])(\?[^\s\"'()\[\],;]+)", text):
                urls.add(_clean(f"/data/claimtrack/{table}{rest}"))
    for name, canned in database.get("queries", {}).items():
        params = canned.get("params", [])
        missing = [p for p in params if p not in QUERY_EXAMPLES]
        assert not missing, f"canned query {name}: no example value for {missing}"
        urls.add(f"/data/claimtrack/{name}?" + urlencode({p: QUERY_EXAMPLES[p] for p in params}))
    return urls


def is_example(url: str) -> bool:
    """False for a parameter named in passing (``?_search=``: "search with this"), which is no address."""
    params = parse_qsl(urlsplit(url).query, keep_blank_values=True)
    return not (len(params) == 1 and params[0][1] == "")


def hidden_urls() -> set[str]:
    """The addresses the README's "Hidden" bullet documents as answering 404 to everyone."""
    readme = (PROJECT_ROOT / "README.md").read_text(encoding="utf-8")
    bullet = re.search(r"^- \*\*Hidden:\*\*(.*?)(?=^- |^#)", readme, flags=re.M | re.S)
    assert bullet, "README has no Hidden bullet in its limits section"
    return {_clean(u) for u in re.findall(r"`(/data/-/[\w-]+)`", bullet.group(1))}


def documented_urls() -> list[str]:
    return sorted(u for u in readme_urls() | metadata_urls() if is_example(u) and u not in hidden_urls())


# --- what an address returns ------------------------------------------------------------------------


def datasette_rows(world: World, url: str) -> list[dict[str, Any]] | None:
    """The rows a table, view, canned query or row page shows at ``url`` (None for other pages)."""
    parts = urlsplit(url)
    match = re.fullmatch(r"/data/claimtrack/([\w-]+)(?:/([\w-]+))?(\.csv|\.json)?", parts.path)
    if match is None:
        return None
    name, row, ext = match.groups()
    params = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k not in ("_shape", "_dl")]
    if ext == ".csv":
        response = get(world.asgi, url)
        assert response.status_code == 200, (url, response.text[:300])
        header, *cells = list(csv.reader(io.StringIO(response.text, newline="")))
        return [dict(zip(header, c)) for c in cells]
    # Any other page: the same address as JSON objects, all on one page.
    if not any(k == "_size" for k, _ in params):
        params.append(("_size", "max"))
    path = f"/data/claimtrack/{name}" + (f"/{row}" if row else "")
    response = get(world.asgi, f"{path}.json?" + urlencode([*params, ("_shape", "objects")]))
    assert response.status_code == 200, (url, response.text[:300])
    return list(response.json()["rows"])


def live_contradictions_of(db: Path, speaker: str) -> list[int]:
    """Links contradicting a speaker's statements where neither the link nor either statement is retracted."""
    return [
        r[0]
        for r in query(
            db,
            """SELECT l.id FROM claim_links l JOIN claims c ON c.id = l.to_claim_id JOIN claims o ON o.id = l.from_claim_id
            JOIN speakers s ON s.id = c.speaker_id
            WHERE s.name = ? AND l.relation = 'contradicts' AND l.retracted = 0 AND c.retracted = 0 AND o.retracted = 0
            ORDER BY l.id""",
            (speaker,),
        )
    ]


def contested(db: Path) -> list[int]:
    """Statements (not retracted) that a live link answers."""
    return [
        r[0]
        for r in query(
            db,
            """SELECT DISTINCT c.id FROM claims c JOIN claim_links l ON l.to_claim_id = c.id
            JOIN claims o ON o.id = l.from_claim_id
            WHERE c.retracted = 0 AND l.retracted = 0 AND o.retracted = 0 ORDER BY c.id""",
        )
    ]


# --- the tests -----------------------------------------------------------------------------------------


def test_the_documentation_gives_the_addresses_researchers_start_from() -> None:
    """The extraction itself finds what the review read: a test that found nothing would prove nothing."""
    urls = documented_urls()
    assert HEADLINE in urls
    assert "/data/claimtrack/contested_claims?_sort_desc=contradicting_statements" in urls
    assert "/data/claimtrack/contradicting_statements?claim_id=1" in urls
    assert "/data/claimtrack/change_history?entity=claim&entity_id=1" in urls
    assert "/data/claimtrack/claim_links_readable.csv?_stream=on&_size=max&relation=contradicts&claim_id=1" in urls
    assert "/data/claimtrack/change_history" in urls
    assert any(u.startswith("/data/-/dashboards/claims?") for u in urls)
    assert "/data/claimtrack/claims?_search=" not in urls  # a parameter named in passing, not an example
    assert len(urls) >= 30


@pytest.mark.parametrize("url", sorted(hidden_urls()), ids=str)
def test_documented_hidden_address_answers_404(world: World, url: str) -> None:
    for address in (url, url + ".json"):
        assert get(world.asgi, address).status_code == 404, address


@pytest.mark.parametrize("url", documented_urls(), ids=str)
def test_documented_address_answers_with_rows(world: World, url: str) -> None:
    response = get(world.asgi, url)
    assert response.status_code == 200, (url, response.status_code, response.text[:300])
    rows = datasette_rows(world, url)
    if rows is not None:
        assert rows, f"{url} shows no rows"
    elif urlsplit(url).path == "/data/-/search" and "q=" in url:
        assert re.search(r'href="/data/claimtrack/claims/\d+"', response.text), "the search lists no statement"
    else:
        assert response.headers["content-type"].startswith("text/html"), url


def test_headline_address_lists_the_five_contradicting_statements(world: World) -> None:
    rows = datasette_rows(world, HEADLINE)
    assert rows is not None
    expected = live_contradictions_of(world.db, RDM)
    assert len(expected) == 5  # the seed's five contradictions of the ministry's "finished on Friday"
    assert sorted(r["link_id"] for r in rows) == expected
    assert {r["other_speaker"] for r in rows} == {
        "Activists in Aleppo",
        "ICRC official working on the evacuation",
        "Abdu Khudr",
        "Senior rebel official",
    }
    # The same filter as a CSV download, as the README says.
    csv_rows = datasette_rows(world, HEADLINE.replace("_readable?", "_readable.csv?") + "&_stream=on&_size=max")
    assert csv_rows is not None and sorted(int(r["link_id"]) for r in csv_rows) == expected


def test_every_view_filters_on_retracted_0(world: World) -> None:
    expected = contested(world.db)
    assert len(expected) >= 5  # the seed's contested statements (six in the Aleppo scenario)
    rows = datasette_rows(world, "/data/claimtrack/contested_claims?retracted=0")
    assert rows is not None and sorted(r["claim_id"] for r in rows) == expected
    assert len(rows) == len(datasette_rows(world, "/data/claimtrack/contested_claims") or [])
    live_links = [r[0] for r in query(world.db, "SELECT id FROM claim_links ORDER BY id")]
    rows = datasette_rows(world, "/data/claimtrack/claim_links_readable?retracted=0")
    assert rows is not None and sorted(r["link_id"] for r in rows) == live_links
    claims = [r[0] for r in query(world.db, "SELECT id FROM claims WHERE retracted = 0 ORDER BY id")]
    rows = datasette_rows(world, "/data/claimtrack/speaker_claims?retracted=0")
    assert rows is not None and sorted(r["claim_id"] for r in rows) == claims


@pytest.mark.parametrize("view", VIEWS)
def test_the_retracted_facet_links_to_its_rows(world: World, view: str) -> None:
    """Clicking "0" in the retracted facet shows the rows it counted."""
    response = get(world.asgi, f"/data/claimtrack/{view}.json?_facet=retracted&_size=0")
    assert response.status_code == 200, response.text[:300]
    facet = response.json()["facet_results"]["retracted"]
    zero = next(item for item in facet["results"] if item["value"] == 0)
    assert zero["count"] > 0
    target = urlsplit(zero["toggle_url"])
    assert target.path == f"/data/claimtrack/{view}.json", zero["toggle_url"]
    params = [(k, v) for k, v in parse_qsl(target.query, keep_blank_values=True) if k != "_size"]
    assert ("retracted", "0") in params, zero["toggle_url"]
    rows = get(world.asgi, f"{target.path}?" + urlencode([*params, ("_size", "max"), ("_shape", "objects")])).json()[
        "rows"
    ]
    assert len(rows) == zero["count"]
    assert {r["retracted"] for r in rows} == {0}
    # The facet's "0" link on the HTML page, as researchers click it.
    page = get(world.asgi, f"/data/claimtrack/{view}?_facet=retracted")
    links = re.findall(r'<a href="([^"]+)">0</a>', page.text)
    assert len(links) == 1, links
    link = urlsplit(html.unescape(links[0]))
    assert link.path == f"/data/claimtrack/{view}" and "retracted=0" in link.query.split("&"), links
    assert len(datasette_rows(world, f"{link.path}?{link.query}") or []) == zero["count"]


@pytest.mark.parametrize("view", VIEWS)
def test_every_integer_column_of_a_view_filters_by_its_value(world: World, view: str) -> None:
    """?col=N finds the rows whose col is N for every integer column (ids, counts, flags): Datasette sends N
    as text, which matches only a column with integer affinity."""
    columns = [r[1] for r in query(world.db, f"PRAGMA table_info([{view}])")]
    rows = datasette_rows(world, f"/data/claimtrack/{view}")
    assert rows
    checked = []
    for column in columns:
        values = [r[column] for r in rows if isinstance(r[column], int)]
        if not values:
            continue
        value = max(set(values), key=values.count)  # the commonest value: the most rows to find
        found = datasette_rows(world, f"/data/claimtrack/{view}?{quote_plus(column)}={value}")
        assert found is not None and len(found) == values.count(value), (view, column, value)
        checked.append(column)
    assert "retracted" in checked, checked

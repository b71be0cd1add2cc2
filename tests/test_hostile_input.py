"""Hostile and malformed input, generated: every form field and query parameter of the app.

Properties, for any input: the app never answers 5xx; an input it refuses (status >= 400) writes nothing
(claims database and accounts compared row by row); a redirect never leaves the site; and whatever it
accepts can be shown again. Bodies and query strings are encoded by hand so that they can carry what a
browser never sends: lone surrogates, invalid UTF-8, NUL bytes, repeated and unknown fields.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from urllib.parse import quote_plus, urljoin, urlsplit

import httpx
import pytest
from conftest import ADMIN, sign_in
from flask import Flask
from flask.testing import FlaskClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from security_support import (
    BASE,
    ROUTES,
    World,
    dispose,
    make_app,
    make_asgi,
    path_of,
    snapshot,
)

from claimtrack.services import accounts
from claimtrack.web.database import accounts_session

PACKAGE = Path(__file__).resolve().parent.parent / "claimtrack"
# Every query parameter the app reads (checked against its source below).
QUERY_PARAMS = [
    "q",
    "speaker",
    "event",
    "source",
    "relation",
    "verdict",
    "retracted",
    "before",
    "after",
    "kind",
    "next",
    "language",
    "claim",
    "format",
    "text",
    "limit",
]

SPECIAL = [
    "",
    " ",
    "\t\r\n",
    "\x00",
    "a\x00b",
    "\x00" * 50,
    "\x1b[31m",
    "\x7f",
    "\ud800",
    "x\udfffy",
    "\ufeff",
    "\u202e\u202d",
    "\u200b",
    "e\u0301" * 30,
    "😀" * 20,
    "𝔘𝔫𝔦𝔠𝔬𝔡𝔢",
    "Ω" * 300,
    "x" * 5001,
    "y" * 100_000,
    "z" * 2001,
    "javascript:alert(1)",
    "JaVaScRiPt:alert(1)",
    " javascript:alert(1)",
    "java\tscript:alert(1)",
    "data:text/html,<script>alert(1)</script>",
    "vbscript:msgbox(1)",
    'https://x/"><script>alert(1)</script>',
    "http://",
    "https://",
    "//evil.example/",
    "/\\evil.example",
    "https://evil.example/",
    "/\t/evil.example",
    "<script>alert(1)</script>",
    "<img src=x onerror=alert(1)>",
    "{{7*7}}",
    "{% raw %}",
    "${7*7}",
    "%00",
    "%s%n",
    "' OR 1=1 --",
    '"; DROP TABLE claims; --',
    "1",
    "0",
    "-1",
    "+1",
    "01",
    "1.5",
    "1e309",
    "NaN",
    "inf",
    "-0",
    "9223372036854775807",
    "9223372036854775808",
    "99999999999999999999",
    "-99999999999999999999",
    "0x10",
    "١٢٣",
    "²",
    "½",
    "٣",
    "2016-02-30",
    "2016-12-16",
    "9999-12-31",
    "0000-00-00",
    "2016-12-16T25:00",
    "23:59",
    "24:00",
    "12:60",
    "true",
    "false",
    "on",
    "None",
    "null",
    "[]",
    "{}",
    "contradicts",
    "supports",
    "qualifies",
    "editor",
    "admin",
    "person",
    "disable",
    "enable",
    "role",
    "password",
    "../../etc/passwd",
    "#1",
    "#",
    "\\",
    "'",
    '"',
]
VALUES = st.one_of(
    st.sampled_from(SPECIAL),
    st.text(max_size=30),
    st.text(st.characters(codec=None, exclude_categories=()), max_size=10),
    st.text(st.characters(categories=["Cs"]), min_size=1, max_size=3),  # lone surrogates
    st.binary(max_size=16),  # raw bytes, often invalid UTF-8
    st.integers().map(str),
    st.floats().map(repr),
)
FIELD_NAMES = st.one_of(
    st.sampled_from(["csrf_token", "id", "version", "next", "", "text[]", "__proto__"]), st.text(max_size=8)
)

HYPOTHESIS: dict[str, Any] = {
    "deadline": None,
    "database": None,
    "suppress_health_check": [HealthCheck.too_slow, HealthCheck.data_too_large],
}


def encode(value: str | bytes) -> str:
    raw = value if isinstance(value, bytes) else value.encode("utf-8", "surrogatepass")
    return quote_plus(raw)


def urlencoded(pairs: list[tuple[str | bytes, str | bytes]]) -> str:
    return "&".join(f"{encode(k)}={encode(v)}" for k, v in pairs)


# --- the world, and a signed-in admin (who may use every route) -------------------------------------


class Admin:
    """An admin client that is put back (password, rate limit, session) if an input signed it out."""

    def __init__(self, app: Flask, world: World) -> None:
        self.app, self.world = app, world
        self._client: FlaskClient | None = None

    def client(self) -> FlaskClient:
        if self._client is None or self._client.get("/admin/users").status_code != 200:
            self.restore()
        assert self._client is not None
        return self._client

    def restore(self) -> None:
        """The admin's own password back, no failed sign-ins on record, and a new session."""
        with self.app.app_context(), accounts_session(write=True) as session:
            accounts.set_password(session, ADMIN[0], ADMIN[1])
            session.connection().exec_driver_sql("DELETE FROM login_failures")
        self._client = self.app.test_client()
        sign_in(self._client, *ADMIN)


@pytest.fixture(scope="module")
def app(world: World) -> Iterator[Flask]:
    # Without CSRF checks, so that the inputs reach the forms (tests/test_security.py checks CSRF).
    app = make_app(world, csrf=False)
    yield app
    dispose(app)


@pytest.fixture(scope="module")
def admin(app: Flask, world: World) -> Admin:
    return Admin(app, world)


# --- which fields each POST route has: read from the forms the app renders ----------------------


class _Forms(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.forms: list[tuple[str, set[str]]] = []
        self._current: tuple[str, set[str]] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "form" and (a.get("method") or "get").lower() == "post":
            self._current = (a.get("action") or "", set())
            self.forms.append(self._current)
        elif tag in ("input", "select", "textarea", "button") and self._current is not None and a.get("name"):
            self._current[1].add(a["name"] or "")

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self._current = None


@pytest.fixture(scope="module")
def form_fields(app: Flask, world: World, admin: Admin) -> dict[str, list[str]]:
    """POST route -> the field names of the forms that post to it, from every page the admin can open."""
    client = admin.client()
    adapter = app.url_map.bind("localhost")
    found: dict[str, set[str]] = {}
    for rule, route in ROUTES.items():
        if "GET" not in route.methods or "static" in rule:
            continue
        page = path_of(rule, world.ids)
        response = client.get(page)
        assert response.status_code == 200, page
        parser = _Forms()
        parser.feed(response.get_data(as_text=True))
        for action, names in parser.forms:
            target = urlsplit(urljoin(page, action)).path
            matched, _ = adapter.match(target, method="POST", return_rule=True)
            found.setdefault(matched.rule, set()).update(names - {"csrf_token"})
    return {rule: sorted(names) for rule, names in found.items()}


POST_RULES = [rule for rule, route in ROUTES.items() if "POST" in route.methods]
GET_RULES = [rule for rule, route in ROUTES.items() if "GET" in route.methods and "static" not in rule]


def test_every_post_route_has_a_form_and_every_field_is_fuzzed(form_fields: dict[str, list[str]]) -> None:
    assert sorted(form_fields) == sorted(POST_RULES)
    assert {
        "text",
        "speaker",
        "affiliation",
        "context",
        "event",
        "source_url",
        "source_title",
        "outlet",
        "verdict_rationale",
        "stated_on",
        "stated_time",
        "verdict",
        "speaker_kind",
        "verbatim",
        "source_published_on",
    } <= set(form_fields["/claims/new"])
    assert {"target_id", "relation", "note"} <= set(form_fields["/claims/<int:claim_id>/links/new"])
    assert {"action", "role", "password"} <= set(form_fields["/admin/users/<int:account_id>"])
    assert {"username", "password", "next"} <= set(form_fields["/login"])


NOT_ASCII_DIGITS = ["²", "¹²", "١٢٣", "½", "①"]  # str.isdigit() is true for some of these, int() fails on some


@pytest.mark.parametrize("value", NOT_ASCII_DIGITS)
def test_numbers_in_other_scripts_are_refused_not_a_crash(app: Flask, world: World, admin: Admin, value: str) -> None:
    client = admin.client()
    before = snapshot(world)
    for url in ("/claims?before=", "/claims?speaker=", "/speakers?after=", "/events?before="):
        assert client.get(url + quote_plus(value)).status_code == 400, url
    claim = path_of("/claims/<int:claim_id>", world.ids)
    for url, data in (
        (claim + "/edit", {"text": "T", "speaker": "S", "version": value}),
        (claim + "/links/new", {"relation": "supports", "target_id": value}),
        (path_of("/events/<int:event_id>/edit", world.ids), {"name": "E", "version": value}),
    ):
        assert client.post(url, data=data).status_code == 400, url
    assert snapshot(world) == before


def test_every_query_parameter_the_app_reads_is_fuzzed() -> None:
    read = set()
    for path in [*PACKAGE.joinpath("web").rglob("*.py"), *PACKAGE.joinpath("web").rglob("*.html")]:
        text = path.read_text(encoding="utf-8")
        read.update(re.findall(r"request\.args\.get(?:list)?\(\s*['\"]([^'\"]+)['\"]", text))
        read.update(re.findall(r"\b(?:int_arg|choice_arg)\(\s*['\"]([^'\"]+)['\"]", text))
    assert read, "found no query parameters in the app's source"
    assert read <= set(QUERY_PARAMS), f"query parameters not covered here: {sorted(read - set(QUERY_PARAMS))}"


# --- properties ------------------------------------------------------------------------------------


def check_redirect(response: Any) -> str | None:
    """A redirect stays on this site (after the cleaning a browser does); returns its path."""
    location = response.headers.get("Location", "")
    cleaned = re.sub(r"[\x00-\x20]", "", location)
    parts = urlsplit(cleaned)
    if parts.scheme or parts.netloc:
        assert parts.scheme in ("http", "https") and parts.netloc == "localhost", location
        return parts.path
    assert cleaned.startswith("/") and not cleaned.startswith(("//", "/\\")) and "\\" not in cleaned, location
    return location


def body_for(draw: Any, rule: str, fields: list[str], ids: dict[str, int]) -> str:
    base = ROUTES[rule].form(ids, "admin") if draw(st.booleans()) else {}  # type: ignore[misc]
    data: dict[str, str | bytes] = dict(base)
    for name in draw(st.lists(st.sampled_from(fields), max_size=len(fields), unique=True)) if fields else []:
        data[name] = draw(VALUES, label=name)
    pairs: list[tuple[str | bytes, str | bytes]] = list(data.items())
    names = st.one_of(st.sampled_from(fields), FIELD_NAMES) if fields else FIELD_NAMES
    pairs += draw(st.lists(st.tuples(names, VALUES), max_size=2), label="extra fields")
    return urlencoded(pairs)


@pytest.mark.parametrize("rule", POST_RULES)
@settings(max_examples=40, **HYPOTHESIS)
@given(data=st.data())
def test_no_form_input_gives_a_server_error_and_a_refused_one_writes_nothing(
    app: Flask, world: World, admin: Admin, form_fields: dict[str, list[str]], rule: str, data: st.DataObject
) -> None:
    body = body_for(data.draw, rule, form_fields[rule], world.ids)
    query = data.draw(st.one_of(st.just(""), st.builds(lambda v: "next=" + encode(v), VALUES)), label="query")
    client = admin.client()
    before = snapshot(world)
    response = client.post(
        path_of(rule, world.ids), query_string=query, data=body, content_type="application/x-www-form-urlencoded"
    )
    status = response.status_code
    assert status < 500, response.get_data(as_text=True)[:2000]
    if status >= 400:
        assert snapshot(world) == before, f"refused with {status}, but something was written"
    elif 300 <= status < 400:
        target = check_redirect(response)
        if target and rule != "/logout":
            shown = client.get(target)
            assert shown.status_code < 500, (target, shown.status_code)


@pytest.mark.parametrize("rule", GET_RULES)
@settings(max_examples=15, **HYPOTHESIS)
@given(data=st.data())
def test_no_query_parameter_gives_a_server_error(
    app: Flask, world: World, admin: Admin, rule: str, data: st.DataObject
) -> None:
    names = st.one_of(st.sampled_from(QUERY_PARAMS), FIELD_NAMES)
    pairs = data.draw(st.lists(st.tuples(names, VALUES), min_size=1, max_size=5), label="query")
    anonymous = data.draw(st.booleans(), label="anonymous")
    client = app.test_client() if anonymous else admin.client()
    before = snapshot(world)
    response = client.get(path_of(rule, world.ids), query_string=urlencoded(pairs))
    assert response.status_code < 500, response.get_data(as_text=True)[:2000]
    if response.status_code in (301, 302, 303, 307, 308):
        check_redirect(response)
    assert snapshot(world) == before


SEGMENTS = st.one_of(
    st.text(max_size=12),
    st.binary(max_size=6),
    st.text(st.characters(categories=["Cs"]), max_size=2),
    st.sampled_from(
        [
            "claims",
            "links",
            "speakers",
            "edit",
            "new",
            "retract",
            "admin",
            "users",
            "..",
            "%2e%2e",
            "1",
            "-1",
            "99999999999999999999",
            "static",
            "data",
        ]
    ),
)


@settings(max_examples=60, **HYPOTHESIS)
@given(segments=st.lists(SEGMENTS, min_size=1, max_size=4), method=st.sampled_from(["GET", "POST"]))
def test_no_path_gives_a_server_error(app: Flask, admin: Admin, segments: list[str | bytes], method: str) -> None:
    raw = b"/" + b"/".join(s if isinstance(s, bytes) else s.encode("utf-8", "surrogatepass") for s in segments)
    # PATH_INFO as a WSGI server passes it: the raw bytes, decoded as latin-1 (so "//" and bad UTF-8 arrive too).
    response = admin.client().open("/", method=method, environ_overrides={"PATH_INFO": raw.decode("latin-1")})
    assert response.status_code < 500, (method, raw, response.status_code)
    response.close()


@settings(max_examples=60, **HYPOTHESIS)
@given(next_url=VALUES, in_query=st.booleans())
def test_signing_in_never_redirects_off_the_site(
    app: Flask, admin: Admin, next_url: str | bytes, in_query: bool
) -> None:
    admin.restore()  # other properties may have changed the admin's password or used up its sign-in attempts
    fields = [("username", ADMIN[0]), ("password", ADMIN[1])] + ([] if in_query else [("next", next_url)])
    response = app.test_client().post(
        "/login",
        query_string="next=" + encode(next_url) if in_query else "",
        data=urlencoded(fields),
        content_type="application/x-www-form-urlencoded",
    )
    assert response.status_code == 303
    check_redirect(response)


@settings(max_examples=25, **HYPOTHESIS)
@given(username=VALUES, password=VALUES)
def test_hostile_credentials_neither_crash_nor_sign_in(
    app: Flask, username: str | bytes, password: str | bytes
) -> None:
    response = app.test_client().post(
        "/login",
        data=urlencoded([("username", username), ("password", password)]),
        content_type="application/x-www-form-urlencoded",
        environ_overrides={"REMOTE_ADDR": "203.0.113.5"},
    )
    assert response.status_code in (400, 401, 429), response.status_code  # never signed in (303)


# --- Datasette's pages that claimtrack adds (the search across tables) and its full-text search -------


@pytest.fixture(scope="module")
def asgi(app: Flask, world: World) -> Any:
    return make_asgi(app, world)


SEARCHES = [
    "/data/-/search?q=",
    "/data/claimtrack/claims?_search=",
    "/data/claimtrack/speakers.json?_search=",
    "/data/claimtrack/sources?_search=",
]


@settings(max_examples=60, **HYPOTHESIS)
# (Kept below the length of URL an HTTP client sends at all.)
@given(q=VALUES.filter(lambda v: len(encode(v)) < 60_000), where=st.sampled_from(SEARCHES))
def test_datasette_search_takes_any_text(asgi: Any, world: World, q: str | bytes, where: str) -> None:
    async def main() -> httpx.Response:
        transport = httpx.ASGITransport(app=asgi)  # type: ignore[arg-type]
        async with httpx.AsyncClient(transport=transport, base_url=BASE) as client:
            return await client.get(where + encode(q))

    before = snapshot(world)
    response = asyncio.run(main())
    assert response.status_code < 500, (where, q, response.text[:1000])
    assert snapshot(world) == before

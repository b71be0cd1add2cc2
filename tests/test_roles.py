"""Who may do what: every route of the app, for an anonymous visitor, an editor and an admin, by GET and POST.

The matrix is checked against the app's own url_map, so a new route fails here until it is given an
expected access. POSTs carry a valid CSRF token: a refusal is about the role, not the token.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import parse_qs, urljoin, urlsplit

import pytest
from flask import Flask
from security_support import (
    ROLES,
    ROUTES,
    Identity,
    Route,
    World,
    app_rules,
    client_as,
    clone_world,
    dispose,
    make_app,
    path_of,
    snapshot,
)
from werkzeug.exceptions import MethodNotAllowed, NotFound


def expected_get(route: Route, role: str) -> int | str:
    if "GET" not in route.methods:
        return 405
    if route.access in ("public", "login"):
        return 200
    if role == "anonymous":
        return "to-login"
    if route.access == "admin" and role != "admin":
        return 403
    return 200


def expected_post(route: Route, role: str) -> int:
    if "POST" not in route.methods:
        return 405
    if route.access in ("login", "logout"):
        return 303
    if role == "anonymous" or (route.access == "admin" and role != "admin"):
        return 403
    return 303


# --- the matrix covers the app ----------------------------------------------------------------


def test_every_route_of_the_app_has_an_expected_access(shared_app: Flask) -> None:
    rules = app_rules(shared_app)
    missing = sorted(set(rules) - set(ROUTES))
    assert not missing, f"routes without an entry in the role matrix (security_support.ROUTES): {missing}"
    stale = sorted(set(ROUTES) - set(rules))
    assert not stale, f"the role matrix lists routes the app no longer has: {stale}"
    for rule, methods in rules.items():
        assert methods == ROUTES[rule].methods, (rule, methods)
        if "POST" in methods:
            assert ROUTES[rule].form is not None, rule


CASES = [(rule, role) for rule in ROUTES for role in ROLES]
CASE_IDS = [f"{role}:{rule}" for rule, role in CASES]


# --- GET --------------------------------------------------------------------------------------


@pytest.mark.parametrize(("rule", "role"), CASES, ids=CASE_IDS)
def test_get(shared_app: Flask, world: World, who: dict[str, Identity], rule: str, role: str) -> None:
    route = ROUTES[rule]
    path = path_of(rule, world.ids)
    before = snapshot(world)
    response = client_as(shared_app, who[role]).get(path)
    response.close()  # a static file is streamed from an open file
    expected = expected_get(route, role)
    if expected == "to-login":
        assert response.status_code == 302, (path, response.status_code)
        location = urlsplit(response.headers["Location"])
        assert location.path == "/login", response.headers["Location"]
        assert parse_qs(location.query)["next"] == [path]
    else:
        assert response.status_code == expected, (path, response.status_code, response.get_data(as_text=True)[:500])
    if expected == 403:
        assert "may not do this" in response.get_data(as_text=True)
    assert snapshot(world) == before


# --- POST -------------------------------------------------------------------------------------


@pytest.mark.parametrize(("rule", "role"), CASES, ids=CASE_IDS)
def test_post(shared_app: Flask, world: World, who: dict[str, Identity], tmp_path: Path, rule: str, role: str) -> None:
    route = ROUTES[rule]
    expected = expected_post(route, role)
    if expected == 303:
        world = clone_world(world, tmp_path / "world")  # this POST writes: on a private copy
        app = make_app(world)
    else:
        app = shared_app
    try:
        path = path_of(rule, world.ids)
        form = route.form(world.ids, role) if route.form else {"text": "x", "speaker": "y"}
        before = snapshot(world)
        client = client_as(app, who[role])
        response = client.post(path, data={**form, "csrf_token": who[role].token})
        body = response.get_data(as_text=True)
        assert response.status_code == expected, (path, response.status_code, body[:1000])
        after = snapshot(world)
        if expected != 303:
            assert after == before, f"a refused POST to {path} wrote something"
            if expected == 403:
                assert "Sign in as an editor" in body if role == "anonymous" else "may not do this" in body
            return
        if route.access in ("editor", "admin"):
            assert after != before, f"POST to {path} answered 303 but wrote nothing"
        if route.access == "logout" and role != "anonymous":
            # The session is over: the same client is sent to the login page again.
            assert client.get("/claims/new").status_code == 302
        if route.access == "login":
            assert client.get("/claims/new").status_code == 200
    finally:
        if app is not shared_app:
            dispose(app)


def test_what_an_admin_did_is_what_was_asked(world: World, who: dict[str, Identity], tmp_path: Path) -> None:
    """The admin routes' successful POSTs do what they say: a user added, a user disabled."""
    world = clone_world(world, tmp_path / "world")
    app = make_app(world)
    try:
        admin = client_as(app, who["admin"])
        token = who["admin"].token
        data = {**ROUTES["/admin/users"].form(world.ids, "admin"), "csrf_token": token}  # type: ignore[misc]
        assert admin.post("/admin/users", data=data).status_code == 303
        found = snapshot(world)["users"]
        assert any(row[1] == "new-admin" and row[3] == "editor" for row in found)
        response = admin.post(f"/admin/users/{world.ids['account']}", data={"action": "disable", "csrf_token": token})
        assert response.status_code == 303
        assert [row[4] for row in snapshot(world)["users"] if row[1] == "spare"] == [1]
    finally:
        dispose(app)


# --- what visitors see ------------------------------------------------------------------------


class _Targets(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.links: list[str] = []
        self.post_forms: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "a" and a.get("href"):
            self.links.append(a["href"] or "")
        if tag == "form" and (a.get("method") or "get").lower() == "post":
            self.post_forms.append(a.get("action") or "")


def _public_pages(world: World) -> list[str]:
    # HTML pages only: the static files, the JSON API and the name suggestions carry no forms or sign-in link.
    return [
        path_of(rule, world.ids)
        for rule, route in ROUTES.items()
        if route.access == "public"
        and "static" not in rule
        and not rule.startswith("/api/")
        and not rule.endswith((".jsonld", "/suggest"))
    ]


def _endpoint_access(app: Flask, url: str) -> str | None:
    parts = urlsplit(url)
    if parts.scheme or parts.netloc or not parts.path.startswith("/") or parts.path.startswith("/data"):
        return None
    try:
        rule, _ = app.url_map.bind("localhost").match(parts.path, method="GET", return_rule=True)
    except MethodNotAllowed:
        return "post-only"
    except NotFound:
        return None
    return ROUTES[rule.rule].access


def test_anonymous_visitors_are_offered_no_forms_or_edit_links(
    shared_app: Flask, world: World, who: dict[str, Identity]
) -> None:
    client = client_as(shared_app, who["anonymous"])
    problems = []
    for path in _public_pages(world):
        response = client.get(path)
        assert response.status_code == 200, path
        body = response.get_data(as_text=True)
        parser = _Targets()
        parser.feed(body)
        for href in parser.links:
            if _endpoint_access(shared_app, urljoin(path, href)) in ("editor", "admin"):
                problems.append(f"{path}: link to {href}")
        if parser.post_forms:
            problems.append(f"{path}: POST forms {parser.post_forms}")
        if "Signed in as" in body:
            problems.append(f"{path}: claims someone is signed in")
        if 'href="/login' not in body:
            problems.append(f"{path}: no way to sign in")
    assert not problems, "\n".join(problems)


def test_the_page_shows_who_is_signed_in_and_what_they_may_do(
    shared_app: Flask, world: World, who: dict[str, Identity]
) -> None:
    claim = path_of("/claims/<int:claim_id>", world.ids)
    editor = client_as(shared_app, who["editor"]).get(claim).get_data(as_text=True)
    assert re.search(r"Signed in as <strong>editor</strong>\s*\(editor\)", editor)
    assert f'href="{claim}/edit"' in editor and 'action="/logout"' in editor
    assert 'href="/admin/users"' not in editor
    admin = client_as(shared_app, who["admin"]).get(claim).get_data(as_text=True)
    assert re.search(r"Signed in as <strong>admin</strong>\s*\(admin\)", admin)
    assert 'href="/admin/users"' in admin

"""axe (axe-core, through axe-playwright-python) on the app's pages and the researchers' Datasette pages, in
Debian's chromium against a served ``claimtrack serve``: no serious or critical violation, and no page scrolls
sideways at 390 px. Screenshots of each page at desktop and phone width go to test-artifacts/a11y-*.png.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from axe_playwright_python.sync_playwright import Axe
from browser_support import (
    ARTIFACTS,
    BROWSER_MARKS,
    DESKTOP,
    OVERFLOW_JS,
    PHONE_390,
    browser,  # noqa: F401  (the fixture)
)
from playwright.sync_api import Browser, Page
from server_fixture import LiveServer, live_server  # noqa: F401  (the fixture)

pytestmark = BROWSER_MARKS

SERIOUS = ("serious", "critical")

DATASETTE_PAGES = {
    "data-index": "/data/",
    "data-table": "/data/claimtrack/claims",
    "data-view-filtered": "/data/claimtrack/claim_links_readable?claim_speaker=Russian+defence+ministry&relation=contradicts",
    "data-canned-query": "/data/claimtrack/contradicting_statements?claim_id=1",
    "data-dashboard": "/data/-/dashboards/claims",
}
APP_PAGES = {
    "app-claims": "/claims",
    "app-claim": "/claims/1",
    "app-event": "/events/1",
    "app-speakers": "/speakers",
    "app-sources": "/sources",
    "app-login": "/login",
    "app-search": "/claims?q=evacuation",
    "app-similar": "/claims/similar?text=The+evacuation+of+Aleppo+has+finished",
    "app-events": "/events",
    "app-speaker": "/speakers/1",
    "app-source": "/sources/1",
    "app-link": "/links/1",
}
# The editors' forms, checked signed in.
EDITOR_PAGES = {
    "app-new-claim": "/claims/new",
    "app-edit-claim": "/claims/1/edit",
    "app-new-link": "/claims/1/links/new",
    "app-new-speaker": "/speakers/new",
    "app-edit-event": "/events/1/edit",
}

_axe = Axe()


@pytest.fixture
def page(browser: Browser, live_server: LiveServer) -> Iterator[Page]:
    context = browser.new_context(base_url=live_server.url, viewport=DESKTOP)  # type: ignore[arg-type]
    context.set_default_timeout(15_000)
    try:
        yield context.new_page()
    finally:
        context.close()


def serious_violations(page: Page) -> list[str]:
    results: dict[str, Any] = _axe.run(page).response
    return [
        f"{v['id']} ({v['impact']}): {v['help']} at " + "; ".join(" ".join(n["target"]) for n in v["nodes"][:4])
        for v in results["violations"]
        if v["impact"] in SERIOUS
    ]


def check(page: Page, name: str, url: str) -> list[str]:
    """axe at desktop width, then sideways scrolling at 390 px; screenshots of both."""
    ARTIFACTS.mkdir(exist_ok=True)
    page.set_viewport_size(DESKTOP)
    response = page.goto(url)
    assert response is not None and response.status == 200, url
    if "dashboards" in url:  # the charts are drawn by script after the page loads
        page.locator("#chart-claims-per-speaker svg.marks, #chart-claims-per-speaker canvas").first.wait_for()
    page.screenshot(path=str(ARTIFACTS / f"a11y-{name}-desktop.png"), full_page=True)
    problems = serious_violations(page)
    page.set_viewport_size(PHONE_390)
    page.wait_for_timeout(300)  # let the charts redraw at the new width
    page.screenshot(path=str(ARTIFACTS / f"a11y-{name}-phone.png"), full_page=True)
    overflow = page.evaluate(OVERFLOW_JS)
    if overflow["scrollWidth"] > overflow["clientWidth"]:
        problems.append(f"scrolls sideways at 390 px: {overflow}")
    problems += [f"at 390 px: {p}" for p in serious_violations(page)]
    return problems


@pytest.mark.parametrize("name", list(DATASETTE_PAGES))
def test_datasette_pages_pass_axe_and_fit_a_phone(page: Page, name: str) -> None:
    problems = check(page, name, DATASETTE_PAGES[name])
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("name", list(APP_PAGES))
def test_app_pages_pass_axe_and_fit_a_phone(page: Page, name: str) -> None:
    problems = check(page, name, APP_PAGES[name])
    assert not problems, "\n".join(problems)


def test_csv_link_on_table_and_view_pages_downloads_every_row(page: Page, live_server: LiveServer) -> None:
    for path, table in (
        ("/data/claimtrack/claims", "claims"),
        ("/data/claimtrack/claim_links_readable", "claim_links_readable"),
    ):
        page.goto(f"{path}?_size=2")  # a short page: the export must still hold every row
        link = page.locator("a", has_text=re.compile(r"^CSV$")).first
        href = link.get_attribute("href")
        assert href and "_stream=on" in href, href
        with httpx.Client(base_url=live_server.url, timeout=30) as client:
            csv_rows = client.get(href).text.strip().splitlines()
            count = client.get(f"/data/claimtrack/{table}.json?_size=0&_shape=objects").json()[
                "filtered_table_rows_count"
            ]
        assert count > 2 and len(csv_rows) == count + 1, (table, len(csv_rows), count)


def test_graph_and_timeline_of_60_statements_pass_axe_and_fit_a_phone(
    browser: Browser,
    seeded_app: Any,
    seeded_engine: Any,
) -> None:
    """The pictures, before they are placed on the claim and event pages: drawn in the app's layout with its
    stylesheets, for the seeded claim answered by 60 more statements."""
    from flask import render_template_string
    from test_graph import add_answers

    from claimtrack.config import PROJECT_ROOT
    from claimtrack.db import read_session
    from claimtrack.services import graph
    from claimtrack.web import graphics

    add_answers(seeded_engine, 1, 60)
    with read_session(seeded_engine) as session:
        claim = graph.claim_graph(session, 1)
        event = graph.event_graph(session, 1)
        timeline = graph.event_timeline(session, 1)
    static = PROJECT_ROOT / "claimtrack" / "web" / "static"
    css = "".join((static / name).read_text(encoding="utf-8") for name in ("style.css", "graph.css"))
    with seeded_app.test_request_context():
        html = render_template_string(
            '{% extends "base.html" %}{% block content %}<h1>Pictures</h1>{% include "_claim_summary.html" %}'
            '{% with picture=claim, graph_id="cg" %}{% include "_graph.html" %}{% endwith %}'
            '{% with picture=event, graph_id="eg" %}{% include "_graph.html" %}{% endwith %}'
            '{% include "_timeline.html" %}{% endblock %}',
            summary=claim.summary,
            claim=graphics.claim_picture(claim),
            event=graphics.event_picture(event),
            timeline=graphics.timeline_picture(timeline),
        )
    # The stylesheets inline: the page is loaded without a server.
    html = re.sub(r'<link rel="stylesheet"[^>]*>', lambda _: f"<style>{css}</style>", html, count=1)
    ARTIFACTS.mkdir(exist_ok=True)
    context = browser.new_context(viewport=PHONE_390)  # type: ignore[arg-type]
    try:
        page = context.new_page()
        page.set_content(html)
        problems = serious_violations(page)
        overflow = page.evaluate(OVERFLOW_JS)
        page.screenshot(path=str(ARTIFACTS / "a11y-graph-phone.png"), full_page=True)
        # The drawing scales to the column: its text stays at least 10 px high on a 390 px screen.
        scale = page.evaluate("() => document.querySelector('#cg-title').closest('svg').getBoundingClientRect().width")
        page.set_viewport_size(DESKTOP)
        page.screenshot(path=str(ARTIFACTS / "a11y-graph-desktop.png"), full_page=True)
    finally:
        context.close()
    assert not problems, "\n".join(problems)
    assert overflow["scrollWidth"] <= overflow["clientWidth"], overflow
    assert scale / graphics.WIDTH * 10.5 >= 10


def test_editors_forms_pass_axe_and_fit_a_phone(page: Page, live_server: LiveServer) -> None:
    page.goto("/login")
    page.get_by_label("Username").fill(live_server.editor[0])
    page.get_by_label("Password").fill(live_server.editor[1])
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/claims")
    problems = []
    for name, url in EDITOR_PAGES.items():
        problems += [f"{url}: {p}" for p in check(page, name, url)]
    assert not problems, "\n".join(problems)

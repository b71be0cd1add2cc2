"""A researcher clicks through Datasette in a real browser (Debian's chromium via Playwright) against a served
``claimtrack serve``: the dashboard draws its charts, filters work, and links lead to the app and back.

Screenshots go to test-artifacts/research-*.png.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from urllib.parse import quote_plus

import pytest
from browser_support import (
    ARTIFACTS,
    BROWSER_MARKS,
    DESKTOP,
    browser,  # noqa: F401  (the fixture)
)
from playwright.sync_api import Browser, ConsoleMessage, Page, expect
from server_fixture import LiveServer, live_server  # noqa: F401  (the fixture)

from claimtrack.db import make_engine
from claimtrack.services.synthetic import generate

pytestmark = BROWSER_MARKS

RDM = "Russian defence ministry"
CHARTS = (
    "claims-per-speaker",
    "contradictions-per-event",
    "statements-over-time",
    "contradicting-kinds",
    "top-contradictors",
)


@pytest.fixture(scope="module")
def research_server(live_server: LiveServer) -> LiveServer:
    """The served, seeded instance plus generated claims, written while it runs (Datasette reads them live)."""
    engine = make_engine(live_server.db_path)
    try:
        generate(engine, claims=2_000, seed=5)
    finally:
        engine.dispose()
    return live_server


@pytest.fixture
def page(browser: Browser, research_server: LiveServer) -> Iterator[Page]:
    context = browser.new_context(base_url=research_server.url, viewport=DESKTOP)  # type: ignore[arg-type]
    context.set_default_timeout(15_000)
    page = context.new_page()
    problems: list[str] = []
    page.on("pageerror", lambda error: problems.append(f"page error: {error}"))

    def on_console(message: ConsoleMessage) -> None:
        # The app serves no favicon.ico; the browser asks for one on the first page it opens.
        if message.type == "error" and not message.location.get("url", "").endswith("/favicon.ico"):
            problems.append(f"console: {message.text}")

    page.on("console", on_console)
    try:
        yield page
        assert not problems, problems  # no script error, no request refused by the content security policy
    finally:
        context.close()


def screenshot(page: Page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"research-{name}.png"), full_page=True)


def expect_charts_drawn(page: Page) -> None:
    for slug in CHARTS:
        drawn = page.locator(f"#chart-{slug} canvas, #chart-{slug} svg.marks").first
        expect(drawn).to_be_visible()
        box = drawn.bounding_box()
        assert box and box["width"] > 100 and box["height"] > 50, (slug, box)


def test_dashboard_draws_its_charts_and_filters_by_speaker(page: Page) -> None:
    page.goto("/data/")
    page.get_by_role("link", name="The dashboard").click()
    expect(page).to_have_url(re.compile(r"/data/-/dashboards/claims$"))
    expect(page.get_by_role("heading", name="Claims and contradictions")).to_be_visible()
    expect_charts_drawn(page)
    expect(page.locator("#chart-intro")).to_contain_text("Pick a speaker")

    # Choose the Russian defence ministry (a list, or a text box with suggestions when there are many).
    speaker = page.locator("#speaker")
    if speaker.evaluate("el => el.tagName") == "SELECT":
        speaker.select_option(RDM)
    else:
        speaker.fill(RDM)
    # (No reload while charts load: an aborted fetch would be an error on the page.)
    with page.expect_response(
        lambda r: "/data/claimtrack.json?sql=" in r.url and "other_speaker_kind" in r.url
    ) as info:
        page.get_by_role("button", name="Apply").click()
    expect(page).to_have_url(re.compile(r"speaker=Russian\+defence\+ministry"))
    response = info.value
    assert response.ok and response.json()["rows"], "the chart of who contradicts the ministry has no data"
    expect_charts_drawn(page)
    page.wait_for_timeout(300)  # let the last chart finish its transition before the picture
    screenshot(page, "dashboard")

    # One chart on its own page.
    page.get_by_role("link", name=re.compile("Who contradicts the speaker: statements by kind")).click()
    expect(page).to_have_url(re.compile(r"/data/-/dashboards/claims/contradicting-kinds\?.*speaker=Russian"))
    expect(page.locator(".chart-container canvas, .chart-container svg.marks").first).to_be_visible()
    screenshot(page, "chart")


def test_from_datasette_to_the_app_and_back(page: Page, research_server: LiveServer) -> None:
    page.goto(f"/data/claimtrack/claim_links_readable?claim_speaker={quote_plus(RDM)}&relation=contradicts")
    expect(page.locator("table.rows-and-columns")).to_be_visible()
    # Facet by the kind of speaker contradicting: click one kind.
    facet = page.locator(".facet-info[data-column='other_speaker_kind'] li a").first
    facet.click()
    expect(page).to_have_url(re.compile(r"other_speaker_kind="))
    screenshot(page, "contradicting-the-ministry")
    # Jump to the claim's page in the app, then back to its row in Datasette.
    page.locator("td.col-claim_id a.claimtrack-app-link").first.click()
    expect(page).to_have_url(re.compile(r"/claims/\d+$"))
    claim_id = page.url.rsplit("/", 1)[1]
    open_data = page.get_by_role("navigation", name="This claim as open data")
    expect(open_data.get_by_role("link", name="Download CSV")).to_have_count(3)
    open_data.get_by_role("link", name="Open in Datasette").click()
    expect(page).to_have_url(re.compile(rf"/data/claimtrack/claims/{claim_id}$"))
    expect(page.get_by_role("link", name="open in the app")).to_have_attribute("href", f"/claims/{claim_id}")


def test_search_across_tables(page: Page) -> None:
    page.goto("/data/")
    page.get_by_label("Search statements, speakers and sources").fill("evacuation")
    page.get_by_label("Search statements, speakers and sources").press("Enter")
    expect(page).to_have_url(re.compile(r"/data/-/search\?q=evacuation"))
    for table in ("claims", "speakers", "sources"):
        expect(page.locator(f"section[data-table='{table}'] h2")).to_contain_text("found")
    expect(page.locator("section[data-table='claims'] tbody tr").first).to_be_visible()
    screenshot(page, "search")

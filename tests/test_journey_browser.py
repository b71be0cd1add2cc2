"""The whole journey in Debian's chromium against a served ``claimtrack serve``: sign in, record the Russian
defence ministry's claim, add the senior rebel official's contradiction, see both in each other's graph, open
the row in Datasette and find it in the CSV download. axe on the claim and event pages, no sideways scrolling
at 390 px, no CSP violation (the JSON-LD data block included); screenshots of each step at desktop and phone
width go to test-artifacts/journey-*.png."""

from __future__ import annotations

import csv
import io
import re
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from browser_support import (
    ARTIFACTS,
    BROWSER_MARKS,
    DESKTOP,
    OVERFLOW_JS,
    PHONE_390,
    browser,  # noqa: F401  (the fixture)
)
from playwright.sync_api import Browser, ConsoleMessage, Page, expect
from server_fixture import LiveServer, live_server  # noqa: F401  (the fixture)
from test_accessibility import serious_violations

pytestmark = BROWSER_MARKS


@pytest.fixture
def page(browser: Browser, live_server: LiveServer) -> Iterator[Page]:
    context = browser.new_context(base_url=live_server.url, viewport=DESKTOP, accept_downloads=True)  # type: ignore[arg-type]
    context.set_default_timeout(15_000)
    try:
        yield context.new_page()
    finally:
        context.close()


def step(page: Page, name: str) -> list[str]:
    """Screenshots at desktop and phone width; what scrolls sideways at 390 px."""
    ARTIFACTS.mkdir(exist_ok=True)
    page.set_viewport_size(DESKTOP)
    page.screenshot(path=str(ARTIFACTS / f"journey-{name}-desktop.png"), full_page=True)
    page.set_viewport_size(PHONE_390)
    page.wait_for_timeout(200)
    page.screenshot(path=str(ARTIFACTS / f"journey-{name}-phone.png"), full_page=True)
    overflow = page.evaluate(OVERFLOW_JS)
    page.set_viewport_size(DESKTOP)
    if overflow["scrollWidth"] > overflow["clientWidth"]:
        return [f"{name} scrolls sideways at 390 px: {overflow}"]
    return []


def graph_links(page: Page) -> set[str]:
    return set(page.locator("figure.graph svg a").evaluate_all("els => els.map(e => e.getAttribute('href'))"))


def test_record_contradict_see_in_graphs_and_find_in_datasette_csv(page: Page, live_server: LiveServer) -> None:
    marker = uuid.uuid4().hex[:6]
    claim_text = f"The evacuation of the eastern districts was finished on Friday ({marker})."
    csp: list[str] = []

    def on_console(message: ConsoleMessage) -> None:
        if "Content Security Policy" in message.text:
            csp.append(message.text)

    page.on("console", on_console)
    problems: list[str] = []

    page.goto("/login")
    page.get_by_label("Username").fill(live_server.editor[0])
    page.get_by_label("Password").fill(live_server.editor[1])
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_text(f"Signed in as {live_server.editor[0]}")).to_be_visible()

    # Record the ministry's claim, with the date typed the way it is written in the report.
    page.goto("/claims/new")
    page.get_by_label("Statement", exact=True).fill(claim_text)
    page.get_by_label("Direct quote (verbatim)").check()
    page.get_by_label("Speaker", exact=True).fill("Russian defence ministry")
    page.get_by_label("Language of the statement").fill("en")
    page.locator("#stated_on").fill("2016-12-16")
    page.get_by_label("Verdict", exact=True).select_option("disputed")
    problems += step(page, "1-entry-form")
    page.get_by_role("button", name="Record claim").click()
    expect(page).to_have_url(re.compile(r"/claims/\d+$"))
    claim_path = "/" + page.url.split("/", 3)[3]
    expect(page.locator(".main-statement")).to_contain_text(claim_text)
    expect(page.locator(".claim-summary")).to_contain_text("No statement contradicts it yet")
    assert page.locator('script[type="application/ld+json"]').count() == 1

    # The senior rebel official's contradiction, from a suggestion: the recorded statements like this claim,
    # narrowed by the words the editor remembers, each with one-click link buttons.
    page.get_by_role("link", name="Find recorded statements to link").click()
    expect(page).to_have_url(re.compile(r"/claims/similar\?"))
    page.get_by_label("Statement", exact=True).fill("statements from the Russians about the evacuation being over")
    page.get_by_role("button", name="Find similar claims").click()
    problems += step(page, "2-suggestions")
    suggestion = page.locator("#similar-list li").filter(has_text="Senior rebel official").first
    answer_text = suggestion.locator("p.text a").inner_text()
    assert "about the evacuation being over are false" in answer_text
    suggestion.get_by_role("button", name=re.compile(r"^Link as contradicts claim")).click()
    expect(page).to_have_url(re.compile(re.escape(claim_path) + "$"))
    expect(page.locator(".claim-summary")).to_contain_text("Contradicted by 1 statement from 1 speaker")
    answer_href = page.get_by_role("link", name=answer_text).first.get_attribute("href")
    assert answer_href and answer_href in graph_links(page)
    problems += step(page, "3-claim-with-graph")
    problems += [f"claim page: {p}" for p in serious_violations(page)]

    # Each is in the other's graph.
    page.goto(answer_href)
    assert claim_path in graph_links(page)
    problems += step(page, "4-answer-with-graph")

    # The event page: the claim once, with what contradicts it; the graph and the timeline.
    page.goto("/events/1")
    expect(page.locator("#event-timeline-caption")).to_be_visible()
    problems += step(page, "5-event")
    problems += [f"event page: {p}" for p in serious_violations(page)]

    # Open the row in Datasette, then download the claim's CSV and find the row.
    page.goto(claim_path)
    page.get_by_role("link", name="Open in Datasette").click()
    expect(page).to_have_url(re.compile(r"/data/claimtrack/claims/\d+$"))
    expect(page.locator("body")).to_contain_text(claim_text)
    problems += step(page, "6-datasette-row")
    page.goto(claim_path)
    with page.expect_download() as download:
        page.get_by_role("link", name="Download CSV").first.click()
    rows = list(csv.DictReader(io.StringIO(Path(download.value.path()).read_text(encoding="utf-8-sig"))))
    assert [r["text"] for r in rows] == [claim_text]
    assert rows[0]["language"] == "en"

    assert not csp, csp
    assert not problems, "\n".join(problems)

"""Suggestions as you type and the link form's reading hint, in Debian's chromium (Playwright).

Screenshots of the link form at 390 px and on a desktop go to test-artifacts/link-form-*.png.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from browser_support import (
    ARTIFACTS,
    CHROMIUM,
    DESKTOP,
    OVERFLOW_JS,
    browser,  # noqa: F401  (the fixture)
    in_ci,
)
from playwright.sync_api import Browser, ConsoleMessage, Page, expect
from server_fixture import LiveServer, live_server  # noqa: F401  (the fixture)
from test_accessibility import serious_violations

pytestmark = [
    pytest.mark.browser,
    pytest.mark.slow,
    pytest.mark.skipif(not CHROMIUM.exists() and not in_ci(), reason=f"{CHROMIUM} is not installed"),
]

PHONE_390 = {"width": 390, "height": 844}
RUSSIAN = "was finished on Friday"


@pytest.fixture
def page(browser: Browser, live_server: LiveServer) -> Iterator[Page]:
    context = browser.new_context(base_url=live_server.url, viewport=DESKTOP)  # type: ignore[arg-type]
    context.set_default_timeout(15_000)
    try:
        page = context.new_page()
        page.goto("/login")
        page.get_by_label("Username").fill(live_server.editor[0])
        page.get_by_label("Password").fill(live_server.editor[1])
        page.get_by_role("button", name="Sign in").click()
        expect(page.get_by_text(f"Signed in as {live_server.editor[0]}")).to_be_visible()
        yield page
    finally:
        context.close()


def blocked_by_csp(page: Page) -> list[str]:
    found: list[str] = []

    def on_console(message: ConsoleMessage) -> None:
        if "Content Security Policy" in message.text:
            found.append(message.text)

    page.on("console", on_console)
    return found


def russian_claim_id(page: Page) -> int:
    page.goto("/claims?q=finished+on+Friday")
    href = page.locator("li.claim p.text a").first.get_attribute("href") or ""
    match = re.fullmatch(r"/claims/(\d+)", href)
    assert match, href
    return int(match.group(1))


def test_suggestions_appear_as_you_type_a_new_claim(page: Page) -> None:
    csp = blocked_by_csp(page)
    russia = russian_claim_id(page)
    page.goto("/claims/new")
    assert page.title() == "Record a claim · claimtrack"  # the script is loaded in the body, not the title
    # Key by key, as a person types: no button is pressed.
    page.get_by_label("Statement", exact=True).press_sequentially("The evacuation of Aleppo has finished", delay=20)
    first = page.locator("#similar-results #similar-list > li").first
    expect(first).to_have_attribute("data-claim-id", str(russia))
    expect(first).to_contain_text(RUSSIAN)
    expect(first).to_contain_text("Russian defence ministry")
    assert page.url.endswith("/claims/new")  # nothing was sent as a form
    assert not csp, csp


def test_link_form_hint_follows_the_relation_and_search_keeps_the_form(page: Page) -> None:
    csp = blocked_by_csp(page)
    russia = russian_claim_id(page)
    page.goto(f"/claims/{russia}/links/new")
    hint = page.locator("#relation-hint")
    expect(hint).to_have_text(f"Read it as: the other statement contradicts claim {russia}.")
    page.get_by_label("Relation").select_option("supports")
    expect(hint).to_have_text(f"Read it as: the other statement supports claim {russia}.")
    page.get_by_label("Relation").select_option("qualifies")
    expect(hint).to_have_text(f"Read it as: the other statement qualifies claim {russia}.")

    # Enter in the search box searches: the same form comes back with the relation and the note kept.
    page.get_by_label("Why they are linked").fill("Said the same morning.")
    page.get_by_label("Find an existing statement").fill("ICRC")
    with page.expect_response(lambda r: r.request.method == "POST") as posted:
        page.get_by_label("Find an existing statement").press("Enter")
    assert posted.value.status == 200
    expect(page.get_by_role("heading", name="Found for “ICRC”")).to_be_visible()
    expect(page.get_by_label("Relation")).to_have_value("qualifies")
    expect(hint).to_have_text(f"Read it as: the other statement qualifies claim {russia}.")
    expect(page.get_by_label("Why they are linked")).to_have_value("Said the same morning.")
    found = page.locator("ul.picks").filter(has=page.locator('input[id^="target-"]'))
    expect(found).to_contain_text("ICRC official working on the evacuation")

    # The page reads well and fits a phone: screenshots to look at, axe, no sideways scrolling.
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "link-form-desktop.png"), full_page=True)
    assert serious_violations(page) == []
    page.set_viewport_size(PHONE_390)
    page.wait_for_timeout(200)
    page.screenshot(path=str(ARTIFACTS / "link-form-phone.png"), full_page=True)
    for name, heading in (("top", "Add a counterclaim or link"), ("picks", "Found for “ICRC”")):
        page.get_by_role("heading", name=heading).scroll_into_view_if_needed()
        page.evaluate("h => window.scrollBy(0, -16)", None)
        page.screenshot(path=str(ARTIFACTS / f"link-form-phone-{name}.png"))
    overflow = page.evaluate(OVERFLOW_JS)
    assert overflow["scrollWidth"] <= overflow["clientWidth"] and not overflow["offenders"], overflow
    assert not csp, csp


def test_link_form_suggests_recorded_statements_as_the_new_one_is_typed(page: Page) -> None:
    """Typing a counterclaim that is already recorded offers it as you type; picking it links it, no copy made."""
    csp = blocked_by_csp(page)
    russia = russian_claim_id(page)
    # A statement not yet linked to the ministry's claim (every seeded counterclaim already is).
    page.goto("/claims/new")
    page.get_by_label("Statement", exact=True).fill("Buses are waiting at the crossing in Ramouseh.")
    page.get_by_label("Speaker", exact=True).fill("Zeynep Okafor")
    page.get_by_role("button", name="Record claim").click()
    expect(page.get_by_text("Claim recorded")).to_be_visible()
    answered = int(page.url.rsplit("/", 1)[1])
    page.goto("/claims")
    newest_before = page.locator("li.claim p.text a").first.get_attribute("href")

    page.goto(f"/claims/{answered}/links/new")
    page.get_by_label("Statement", exact=True).press_sequentially("The evacuation of Aleppo has finished", delay=20)
    first = page.locator("#similar-results #similar-list > li").first
    expect(first).to_have_attribute("data-claim-id", str(russia))
    expect(page.locator(f'#similar-results li[data-claim-id="{answered}"]')).to_have_count(0)  # never the claim itself
    assert page.url.endswith(f"/claims/{answered}/links/new")  # nothing was sent yet

    # Picking the suggestion instead of recording the statement again: the typed text is cleared.
    first.get_by_label(f"Pick statement #{russia} instead of recording it again").check()
    page.get_by_label("Statement", exact=True).fill("")
    page.get_by_role("button", name="Save link").click()
    expect(page.get_by_text("Link added")).to_be_visible()
    assert page.url.endswith(f"/claims/{answered}")
    page.goto("/claims")
    assert page.locator("li.claim p.text a").first.get_attribute("href") == newest_before  # no claim recorded
    page.goto(f"/claims/{answered}")
    expect(page.locator(f'a[href="/claims/{russia}"]').first).to_be_visible()
    assert not csp, csp

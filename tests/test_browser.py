"""A fact-checker clicks through the served app in a real browser (Debian's chromium via Playwright).

Screenshots of every main page, at phone width and on a desktop, are written to test-artifacts/.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from browser_support import (
    ARTIFACTS,
    BROWSER_MARKS,
    DESKTOP,
    LOW_CONTRAST_JS,
    OVERFLOW_JS,
    PHONE,
    UNLABELLED_JS,
    browser,  # noqa: F401  (the fixture)
)
from playwright.sync_api import Browser, Page, expect
from server_fixture import LiveServer, live_server  # noqa: F401  (the fixture)

pytestmark = BROWSER_MARKS

RUSSIAN_CLAIM = "The evacuation of thousands of people trapped for months in the last rebel foothold of Aleppo was finished on Friday."


def open_page(browser: Browser, server: LiveServer, viewport: dict[str, int]) -> Iterator[Page]:
    context = browser.new_context(base_url=server.url, viewport=viewport)  # type: ignore[arg-type]
    context.set_default_timeout(10_000)
    try:
        page = context.new_page()
        sign_in(page, server.editor)
        yield page
    finally:
        context.close()


@pytest.fixture
def page(browser: Browser, live_server: LiveServer) -> Iterator[Page]:
    yield from open_page(browser, live_server, DESKTOP)


@pytest.fixture
def phone(browser: Browser, live_server: LiveServer) -> Iterator[Page]:
    yield from open_page(browser, live_server, PHONE)


def sign_in(page: Page, credentials: tuple[str, str]) -> None:
    """Sign in the way a person does: the login form."""
    page.goto("/login")
    page.get_by_label("Username").fill(credentials[0])
    page.get_by_label("Password").fill(credentials[1])
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_text(f"Signed in as {credentials[0]}")).to_be_visible()


def screenshot(page: Page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def russian_claim_path(page: Page) -> str:
    page.goto("/claims?q=finished+on+Friday")
    href = page.get_by_role("link", name=RUSSIAN_CLAIM).get_attribute("href")
    assert href and re.fullmatch(r"/claims/\d+", href), href
    return href


def section(page: Page, heading: str) -> Any:
    # A plain string matches names that contain it (a regex with "/" in it is not a valid selector here).
    return page.locator("section").filter(has=page.get_by_role("heading", name=heading))


def test_fact_checker_adds_a_counterclaim_by_clicking(page: Page) -> None:
    marker = uuid.uuid4().hex[:8]
    statement = f"Buses were still waiting at Ramouseh with families inside ({marker})."
    speaker = f"Convoy driver {marker}"

    page.goto("/")
    expect(page.get_by_role("heading", name="Claims", level=1)).to_be_visible()
    page.get_by_role("link", name=RUSSIAN_CLAIM).click()
    expect(page).to_have_url(re.compile(r"/claims/\d+$"))
    claim_url = page.url

    contradicted = section(page, "Contradicted by")
    expect(contradicted).to_be_visible()
    expect(contradicted.get_by_role("link", name="Senior rebel official").first).to_be_visible()
    expect(contradicted).to_contain_text("are false")
    expect(contradicted).to_contain_text("Syrian armed opposition")  # his affiliation
    for other in ("ICRC official working on the evacuation", "Activists in Aleppo", "Abdu Khudr"):
        expect(contradicted).to_contain_text(other)
    screenshot(page, "desktop-russian-claim")

    page.get_by_role("link", name="Add a counterclaim or link").click()
    expect(page.get_by_role("heading", name="Add a counterclaim or link")).to_be_visible()
    page.get_by_label("Relation").select_option("contradicts")
    page.get_by_label("Why they are linked").fill("Eyewitness saw people still waiting to leave.")
    page.get_by_label("Statement", exact=True).fill(statement)
    page.get_by_label("Speaker", exact=True).fill(speaker)
    page.get_by_label("Date stated").fill("2016-12-16")
    screenshot(page, "desktop-link-form-filled")
    page.get_by_role("button", name="Save link").click()

    expect(page).to_have_url(claim_url)
    contradicted = section(page, "Contradicted by")
    expect(contradicted).to_contain_text(statement)
    expect(contradicted.get_by_role("link", name=speaker)).to_be_visible()
    expect(contradicted).to_contain_text("Eyewitness saw people still waiting to leave.")
    screenshot(page, "desktop-russian-claim-after-link")

    # The new statement's own page shows what it contradicts.
    contradicted.get_by_role("link", name=statement).click()
    contradicts = section(page, "Contradicted by / contradicts")
    expect(contradicts.get_by_role("link", name=RUSSIAN_CLAIM)).to_be_visible()


def test_empty_claim_form_shows_the_error_next_to_the_field(phone: Page) -> None:
    phone.goto("/claims/new")
    with phone.expect_response(lambda r: r.request.method == "POST") as posted:
        phone.get_by_role("button", name="Record claim").click()
    assert posted.value.status == 400
    phone.wait_for_load_state()

    alert = phone.get_by_role("alert")
    expect(alert).to_contain_text("Nothing was saved")
    text = phone.get_by_label("Statement", exact=True)
    expect(text).to_have_attribute("aria-invalid", "true")
    field = phone.locator(".field").filter(has=text)
    expect(field.locator(".error")).to_be_visible()
    error_id = field.locator(".error").first.get_attribute("id")
    assert error_id and error_id in (text.get_attribute("aria-describedby") or "").split()
    # The summary links to the field it is about.
    alert.get_by_role("link", name="Statement").click()
    expect(text).to_be_focused()
    screenshot(phone, "phone-claim-form-error")


def test_empty_link_form_is_refused_with_a_message(phone: Page) -> None:
    phone.goto(russian_claim_path(phone) + "/links/new")
    with phone.expect_response(lambda r: r.request.method == "POST") as posted:
        phone.get_by_role("button", name="Save link").click()
    assert posted.value.status == 400
    phone.wait_for_load_state()
    expect(phone.get_by_role("alert")).to_contain_text("Nothing was saved")
    expect(phone.locator(".has-error .error").first).to_be_visible()
    screenshot(phone, "phone-link-form-error")


PAGES = {
    "claims": "/",
    "claim-new": "/claims/new",
    "speakers": "/speakers",
    "sources": "/sources",
    "events": "/events",
}


def main_pages(page: Page) -> dict[str, str]:
    claim = russian_claim_path(page)
    page.goto(claim)
    speaker = page.locator(".main-statement footer a.speaker").get_attribute("href")
    event = page.locator("dl.facts").get_by_role("link", name="Aleppo evacuation, December 2016").get_attribute("href")
    source = page.locator("dl.facts a.meta-link").first.get_attribute("href")
    assert speaker and event and source
    return {
        **PAGES,
        "claim": claim,
        "link-new": claim + "/links/new",
        "claim-edit": claim + "/edit",
        "speaker": speaker,
        "event": event,
        "source": source,
    }


@pytest.mark.parametrize("viewport_name", ["phone", "desktop"])
def test_main_pages_fit_the_screen_are_labelled_and_readable(
    browser: Browser,
    live_server: LiveServer,
    viewport_name: str,
) -> None:
    viewport = PHONE if viewport_name == "phone" else DESKTOP
    problems: list[str] = []
    for page in open_page(browser, live_server, viewport):
        for name, path in main_pages(page).items():
            response = page.goto(path)
            assert response is not None and response.status == 200, (path, response and response.status)
            screenshot(page, f"{viewport_name}-{name}")
            overflow = page.evaluate(OVERFLOW_JS)
            if overflow["scrollWidth"] > overflow["clientWidth"] or overflow["offenders"]:
                problems.append(f"{path}: wider than the screen: {overflow}")
            if unlabelled := page.evaluate(UNLABELLED_JS):
                problems.append(f"{path}: fields without a label: {unlabelled}")
            if low := page.evaluate(LOW_CONTRAST_JS):
                problems.append(f"{path}: low contrast text: {low}")
            if not page.locator("h1").count():
                problems.append(f"{path}: no h1")
    assert not problems, "\n".join(problems)


def test_keyboard_user_can_skip_to_content(page: Page) -> None:
    page.goto("/")
    page.keyboard.press("Tab")
    skip = page.get_by_role("link", name="Skip to content")
    expect(skip).to_be_focused()
    box = skip.bounding_box()
    assert box and box["x"] >= 0 and box["y"] >= 0, box  # visible once focused
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile("#main$"))


# Every control a person types into or picks from, with its height and border as drawn.
TEXT_CONTROLS_JS = """
() => Array.from(document.querySelectorAll('main input, main select, main textarea'))
  .filter(el => !['hidden', 'submit', 'button', 'reset', 'checkbox', 'radio'].includes(el.type))
  .map(el => { const s = getComputedStyle(el); return {
    field: `${el.tagName.toLowerCase()}[type=${el.type}][name=${el.name}]`,
    height: el.getBoundingClientRect().height, border: s.borderTopWidth, font: s.fontSize}; })
"""


@pytest.mark.parametrize("path", ["/login", "/account/password", "/claims/new"])
def test_every_text_field_is_drawn_like_the_others(browser: Browser, live_server: LiveServer, path: str) -> None:
    """Password and date fields get the same size and border as text fields: a browser's bare default is a small
    box that is hard to hit on a phone and does not look like the other fields."""
    context = browser.new_context(base_url=live_server.url, viewport=PHONE)  # type: ignore[arg-type]
    try:
        page = context.new_page()
        if path != "/login":
            sign_in(page, live_server.editor)
        page.goto(path)
        controls = page.evaluate(TEXT_CONTROLS_JS)
        assert {c["field"].split("[name=")[0] for c in controls} >= (
            {"input[type=password]"} if path != "/claims/new" else {"input[type=date]", "textarea[type=textarea]"}
        ), controls
        # 44 px: the touch target size the text fields keep (2.75rem at 16 px).
        odd = [c for c in controls if c["height"] < 44 or c["border"] != "2px" or c["font"] != "16px"]
        assert not odd, odd
    finally:
        context.close()

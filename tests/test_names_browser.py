"""Names as you type, in a real browser: the speaker field's list fills with existing speakers like what is
typed, with their kind and whom they speak for, and a near name is offered before a save creates another."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from browser_support import CHROMIUM, DESKTOP, browser, in_ci  # noqa: F401  (the fixture)
from playwright.sync_api import Browser, Page, expect
from server_fixture import LiveServer, live_server  # noqa: F401  (the fixture)
from test_browser import open_page, screenshot

pytestmark = [
    pytest.mark.browser,
    pytest.mark.slow,
    pytest.mark.skipif(not CHROMIUM.exists() and not in_ci(), reason=f"{CHROMIUM} is not installed"),
]


@pytest.fixture
def page(browser: Browser, live_server: LiveServer) -> Iterator[Page]:
    yield from open_page(browser, live_server, DESKTOP)


def test_speaker_field_suggests_existing_speakers_as_you_type(page: Page) -> None:
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.goto("/claims/new")
    speaker = page.get_by_label("Speaker", exact=True)
    speaker.press_sequentially("Russian MoD", delay=30)
    options = page.locator("#speaker-suggestions option")
    expect(options.first).to_have_attribute("value", "Russian defence ministry")
    expect(options.first).to_have_attribute("label", "Government body, speaks for Russian government")
    assert speaker.get_attribute("list") == "speaker-suggestions"
    screenshot(page, "names-suggest")

    # Saving with the typed near name is refused with the existing speaker to pick; picking it saves.
    page.get_by_label("Statement", exact=True).fill("Every civilian has left the eastern districts.")
    page.get_by_role("button", name="Record claim").click()
    expect(page.get_by_label("It is a different speaker")).to_be_visible()
    page.get_by_role("button", name="Use Russian defence ministry").click()
    expect(page.get_by_text("Claim recorded")).to_be_visible()
    expect(page.locator("main").get_by_role("link", name="Russian defence ministry").first).to_be_visible()
    assert not [e for e in errors if "Content Security Policy" in e], errors

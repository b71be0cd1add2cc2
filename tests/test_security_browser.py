"""In a real browser (Debian's chromium via Playwright) against a served ``claimtrack serve``:

- XSS payloads typed into every text field through the app's forms are inert wherever they are shown,
  in the app and in Datasette (pages, views, JSON, the dashboards): no script runs, no ``javascript:``
  link exists, the payload reads as text. The content security policy is bypassed for that test, so
  it shows that escaping alone makes them inert.
- Datasette's UI under the strict content security policy: facets, sorting, the column menus, the
  navigation menu, the SQL editor (CodeMirror) all work and no violation is reported; the dashboards,
  under their own documented policy, still draw their charts.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote_plus

from browser_support import (
    ARTIFACTS,
    BROWSER_MARKS,
    DESKTOP,
    browser,  # noqa: F401  (the fixture)
)
from playwright.sync_api import (
    Browser,
    BrowserContext,
    ConsoleMessage,
    Page,
    expect,
)
from server_fixture import LiveServer, live_server  # noqa: F401  (the fixture)

pytestmark = BROWSER_MARKS

MARK = uuid.uuid4().hex[:8]
RUSSIAN_CLAIM = "finished on Friday"


def payload(name: str) -> str:
    """Markup that would run a script (and show which field it came from) if it were not escaped."""
    return (
        f'{name}-{MARK} <script>alert("{name}")</script><img src=x onerror=alert("{name}")>'
        f'"\'><svg onload=alert("{name}")> {{{{7*7}}}}'
    )


ATTRIBUTE_BREAKER_URL = f'https://x.example/{MARK}"><script>alert("url")</script>'

# What an injected element or a live javascript: URL would look like in the DOM.
INJECTED_JS = """
(mark) => {
  const found = [];
  for (const s of document.scripts) {
    if (s.type === 'application/ld+json') {
      // A JSON-LD data block holds the statement as data (never run): it must stay one valid JSON document,
      // so no payload closed it and opened a script of its own.
      try { JSON.parse(s.textContent); } catch (e) { found.push('broken JSON-LD: ' + s.textContent.slice(0, 80)); }
      continue;
    }
    if (s.textContent.includes('alert(')) found.push('script: ' + s.textContent.slice(0, 80));
  }
  for (const el of document.querySelectorAll('img[src="x"], svg[onload], [onerror], [onload], iframe, object, embed'))
    found.push('element: ' + el.outerHTML.slice(0, 120));
  for (const el of document.querySelectorAll('[href], [src], [action], [formaction]')) {
    for (const attr of ['href', 'src', 'action', 'formaction']) {
      const value = el.getAttribute(attr);
      if (value && /^\\s*(javascript|vbscript|data):/i.test(value.replace(/[\\u0000-\\u0020]/g, '')))
        found.push(attr + ': ' + el.outerHTML.slice(0, 120));
    }
  }
  return found;
}
"""


@dataclass
class Watch:
    """Everything a page reports that it should not: dialogs, script errors, CSP violations."""

    dialogs: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    violations: list[str] = field(default_factory=list)
    failed_loads: list[str] = field(default_factory=list)  # responses >= 400 (refused forms among them)

    def attach(self, context: BrowserContext, page: Page) -> None:
        def on_dialog(dialog: Any) -> None:
            self.dialogs.append(f"{page.url}: {dialog.type} {dialog.message!r}")
            dialog.dismiss()

        def on_console(message: ConsoleMessage) -> None:
            if message.type != "error" or message.location.get("url", "").endswith("/favicon.ico"):
                return
            text = f"{page.url}: {message.text}"
            if "Content Security Policy" in message.text or "Refused to" in message.text:
                self.violations.append(text)
            elif message.text.startswith("Failed to load resource"):
                self.failed_loads.append(f"{text} {message.location.get('url', '')}")
            else:
                self.errors.append(text)

        page.on("dialog", on_dialog)
        page.on("console", on_console)
        page.on("pageerror", lambda error: self.errors.append(f"{page.url}: page error {error}"))
        context.expose_binding(
            "__reportViolation", lambda source, text: self.violations.append(f"{source['page'].url}: {text}")
        )
        context.add_init_script("""
            document.addEventListener('securitypolicyviolation', (e) => window.__reportViolation(
              `${e.violatedDirective} blocked ${e.blockedURI || 'inline'} at ${e.sourceFile}:${e.lineNumber} ` +
              `sample=${JSON.stringify(e.sample || '')}`));
        """)


def new_page(browser: Browser, server: LiveServer, bypass_csp: bool = False) -> tuple[BrowserContext, Page, Watch]:
    context = browser.new_context(base_url=server.url, viewport=DESKTOP, bypass_csp=bypass_csp)  # type: ignore[arg-type]
    context.set_default_timeout(10_000)
    page = context.new_page()
    watch = Watch()
    watch.attach(context, page)
    return context, page, watch


def sign_in(page: Page, credentials: tuple[str, str]) -> None:
    page.goto("/login")
    page.get_by_label("Username").fill(credentials[0])
    page.get_by_label("Password").fill(credentials[1])
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_text(f"Signed in as {credentials[0]}")).to_be_visible()


def submit(page: Page, button: str) -> int:
    with page.expect_response(lambda r: r.request.method == "POST") as posted:
        page.get_by_role("button", name=button).click()
    page.wait_for_load_state()
    return posted.value.status


def submit_new_names(page: Page, button: str) -> int:
    """Save; when a typed name looks like one already recorded (409, the payloads look alike), say it is a
    different one, as an editor would, and save again. The 409 page shows the payloads too."""
    status = submit(page, button)
    if status == 409:
        for box in page.get_by_label(re.compile(r"^It is a different (speaker|source|event)$")).all():
            box.check()
        status = submit(page, button)
    return status


def screenshot(page: Page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"security-{name}.png"), full_page=True)


# --- XSS ---------------------------------------------------------------------------------------

CLAIM_FIELDS = {  # label on the claim form -> field name
    "Statement": "text",
    "Speaker": "speaker",
    "Speaks for": "affiliation",
    "Where and how it was said": "context",
    "Event": "event",
    "Source title": "source_title",
    "Outlet": "outlet",
    "Why this verdict": "verdict_rationale",
}


@dataclass
class Recorded:
    claim: str = ""
    link_statement: str = ""
    link_edit: str = ""
    speaker: str = ""
    source: str = ""
    event: str = ""


def record_payloads(page: Page) -> Recorded:
    """Type a payload into every text field of every form, the way an editor would."""
    found = Recorded()
    page.goto("/claims/new")
    for label, name in CLAIM_FIELDS.items():
        page.get_by_label(label, exact=True).fill(payload(name))
    page.get_by_label("Verdict", exact=True).select_option("false")

    # A javascript: URL is refused, with the reason next to the field, and nothing is saved.
    page.get_by_label("Source URL").fill("javascript:alert(document.domain)")
    assert submit(page, "Record claim") == 400
    expect(page.get_by_role("alert")).to_contain_text("Nothing was saved")
    expect(page.locator(".field").filter(has=page.get_by_label("Source URL"))).to_contain_text("web address")
    page.get_by_label("Source URL").fill(" JaVaScRiPt:alert(1)")
    assert submit(page, "Record claim") == 400
    # An address that tries to break out of the href attribute is a valid URL: stored, and escaped.
    page.get_by_label("Source URL").fill(ATTRIBUTE_BREAKER_URL)
    assert submit(page, "Record claim") == 303
    expect(page).to_have_url(re.compile(r"/claims/\d+$"))
    found.claim = local(page.url)

    # A counterclaim with its own statement and a note on the link.
    page.goto(found.claim + "/links/new")
    page.get_by_label("Why they are linked").fill(payload("note"))
    page.get_by_label("Statement", exact=True).fill(payload("link_statement"))
    page.get_by_label("Speaker", exact=True).fill(payload("link_speaker"))
    assert submit_new_names(page, "Save link") == 303
    link_statement = page.get_by_role("link", name=re.compile("link_statement-" + MARK))
    found.link_statement = link_statement.first.get_attribute("href") or ""
    found.link_edit = page.get_by_role("link", name="Edit link").first.get_attribute("href") or ""

    # A speaker, an event and a source of their own.
    page.goto("/speakers/new")
    page.get_by_label("Name", exact=True).fill(payload("speaker_name"))
    page.get_by_label("Role or description").fill(payload("speaker_description"))
    page.get_by_label("Speaks for").fill(payload("speaker_affiliation"))
    assert submit_new_names(page, "Add speaker") == 303
    found.speaker = local(page.url)

    page.goto("/events/new")
    page.get_by_label("Name", exact=True).fill(payload("event_name"))
    page.get_by_label("Description", exact=True).fill(payload("event_description"))
    assert submit_new_names(page, "Add event") == 303
    found.event = local(page.url)

    page.goto("/sources/new")
    page.get_by_label("Title", exact=True).fill(payload("source_title2"))
    page.get_by_label("Outlet", exact=True).fill(payload("source_outlet2"))
    page.get_by_label("URL", exact=True).fill("javascript:alert(2)")
    assert submit(page, "Add source") == 400
    expect(page.get_by_role("alert")).to_contain_text("Nothing was saved")
    page.get_by_label("URL", exact=True).fill(f"https://example.org/{MARK}?q=%22%3E%3Cscript%3Ealert(3)%3C/script%3E")
    assert submit_new_names(page, "Add source") == 303
    found.source = local(page.url)

    # Retract the link with a payload as the reason (shown on the claim page and in the open data).
    page.goto(found.link_edit)
    page.get_by_role("link", name=re.compile("Retract this link")).click()
    page.get_by_label("Why it is retracted").fill(payload("retraction"))
    assert submit(page, "Retract link") == 303
    return found


def local(url: str) -> str:
    return re.sub(r"^https?://[^/]+", "", url)


def claim_id(path: str) -> str:
    return path.rstrip("/").rsplit("/", 1)[1]


def pages_showing_payloads(r: Recorded) -> list[tuple[str, list[str]]]:
    """(page, payload names that must read as text there: markup and the {{7*7}} not interpreted)."""
    cid, sid, eid, srcid = claim_id(r.claim), claim_id(r.speaker), claim_id(r.event), claim_id(r.source)
    in_claim_page = [
        "text",
        "speaker",
        "affiliation",
        "context",
        "event",
        "source_title",
        "outlet",
        "verdict_rationale",
        "note",
        "link_statement",
        "retraction",
    ]
    return [
        (r.claim, in_claim_page),
        (r.link_statement, ["link_statement", "link_speaker", "note", "text"]),
        (f"/claims?q={MARK}", ["text", "speaker"]),
        (f"/claims?q={MARK}&retracted=include", ["text"]),
        (r.claim + "/edit", []),
        (r.link_edit, ["note"]),
        (r.speaker, ["speaker_name", "speaker_description", "speaker_affiliation"]),
        (f"/speakers?q={MARK}", ["speaker_name"]),
        (r.event, ["event_name", "event_description"]),
        ("/events", ["event_name"]),
        (r.source, ["source_title2", "source_outlet2"]),
        (f"/sources?q={MARK}", ["source_title2"]),
        (f"/data/claimtrack/claims/{cid}", ["text", "context", "verdict_rationale"]),
        (f"/data/claimtrack/claims?_search={MARK}&_facet=speaker_id&_facet=event_id", ["text"]),
        (f"/data/claimtrack/speakers/{sid}", ["speaker_name", "speaker_description"]),
        (f"/data/claimtrack/speakers?_search={MARK}", ["speaker_name"]),
        (f"/data/claimtrack/events/{eid}", ["event_name", "event_description"]),
        (f"/data/claimtrack/sources/{srcid}", ["source_title2", "source_outlet2"]),
        (f"/data/claimtrack/sources?_search={MARK}", []),
        (f"/data/claimtrack/claim_links_readable?claim_id={cid}", ["text", "link_statement", "note"]),
        (f"/data/claimtrack/claim_links_readable?other_id={cid}", []),
        (f"/data/claimtrack/claim_links?to_claim_id={cid}", ["note", "retraction"]),
        (f"/data/claimtrack/change_history?entity_id={cid}&entity=claim", []),
        (f"/data/claimtrack/claims/{cid}.json", ["text"]),
        (f"/data/claimtrack/claim_links_readable.json?claim_id={cid}", ["note"]),
        (
            f"/data/claimtrack?sql={quote_plus('select text, context from claims where id = ' + cid)}",
            ["text", "context"],
        ),
        (f"/data/-/search?q={MARK}", ["text", "speaker_name"]),
        ("/data/-/dashboards/claims", []),
        (
            f"/data/-/dashboards/claims?event={quote_plus(payload('event'))}&speaker={quote_plus(payload('speaker'))}",
            [],
        ),
    ]


def test_xss_payloads_in_every_field_are_inert_in_the_app_and_datasette(
    browser: Browser,
    live_server: LiveServer,
) -> None:
    context, page, watch = new_page(browser, live_server, bypass_csp=True)
    try:
        sign_in(page, live_server.editor)
        recorded = record_payloads(page)
        problems: list[str] = []
        for path, expected in pages_showing_payloads(recorded):
            response = page.goto(path)
            assert response is not None and response.status == 200, (path, response and response.status)
            if "dashboards" in path:
                page.wait_for_load_state("networkidle")  # the charts fetch their data, then draw it
            for found in page.evaluate(INJECTED_JS, MARK):
                problems.append(f"{path}: {found}")
            text = page.locator("body").inner_text()
            for name in expected:
                if payload(name) not in text and payload(name) not in text.replace("\\", ""):
                    problems.append(f"{path}: the {name} payload does not read as text")
        # The edit form gives each payload back as the field's value, untouched.
        page.goto(recorded.claim + "/edit")
        for label, name in CLAIM_FIELDS.items():
            if name in ("source_title", "outlet"):
                continue  # the edit form adds sources; the existing ones are listed, not edited
            assert page.get_by_label(label, exact=True).input_value() == payload(name), label
        # The stored source address is a link whose target is exactly what was typed.
        page.goto(recorded.claim)
        hrefs = page.eval_on_selector_all("a[href]", "els => els.map(e => e.getAttribute('href'))")
        assert ATTRIBUTE_BREAKER_URL in hrefs
        screenshot(page, "xss-claim")
        assert not watch.dialogs, watch.dialogs
        assert not problems, "\n".join(problems)
        assert not [e for e in watch.errors if "/data/-/dashboards" not in e], watch.errors
    finally:
        context.close()


# --- Datasette's UI under the content security policy --------------------------------------------


def test_datasette_ui_works_under_the_content_security_policy(browser: Browser, live_server: LiveServer) -> None:
    context, page, watch = new_page(browser, live_server)
    try:
        # A table page: its inline script ran (allowed by hash), and table.js drew the column menus.
        page.goto("/data/claimtrack/claims")
        expect(page.locator("table.rows-and-columns")).to_be_visible()
        assert page.evaluate("typeof DATASETTE_ALLOW_FACET") == "boolean"

        # Apply a facet.
        page.locator(".facet-info[data-column='verdict'] li a").first.click()
        expect(page).to_have_url(re.compile(r"verdict="))
        expect(page.locator("table.rows-and-columns tbody tr").first).to_be_visible()

        # Sort by a column, from its heading.
        page.goto("/data/claimtrack/claims")
        page.locator("th.col-stated_on a").first.click()
        expect(page).to_have_url(re.compile(r"_sort(_desc)?=stated_on"))

        # A column's menu (the cog): it opens, and its items work.
        page.goto("/data/claimtrack/claims")
        page.locator("th.col-stated_on svg.dropdown-menu-icon").click()
        menu = page.locator(".dropdown-menu").filter(has_text="Sort descending")
        expect(menu).to_be_visible()
        expect(menu.get_by_role("link", name="Facet by this")).to_be_visible()
        menu.get_by_role("link", name="Sort descending").click()
        expect(page).to_have_url(re.compile(r"_sort_desc=stated_on"))
        page.locator("th.col-stated_time svg.dropdown-menu-icon").click()
        page.locator(".dropdown-menu").get_by_role("link", name="Facet by this").click()
        expect(page).to_have_url(re.compile(r"_facet=stated_time"))
        expect(page.locator(".facet-info[data-column='stated_time']")).to_be_visible()

        # The navigation menu opens, and a click elsewhere closes it (an inline script allowed by hash).
        page.locator("details.nav-menu summary").click()
        expect(page.locator("details.nav-menu")).to_have_attribute("open", "")
        page.locator("h1").click()
        expect(page.locator("details.nav-menu")).not_to_have_attribute("open", "")

        # A view with facets.
        page.goto("/data/claimtrack/claim_links_readable")
        page.locator(".facet-info[data-column='relation'] li a").first.click()
        expect(page).to_have_url(re.compile(r"relation="))

        # The SQL editor: CodeMirror replaces the text area; a query runs and shows its result.
        page.goto("/data/claimtrack")
        editor = page.locator(".CodeMirror")
        expect(editor).to_be_visible()
        page.evaluate(
            "document.querySelector('.CodeMirror').CodeMirror.setValue("
            "'select verdict, count(*) as n from claims group by verdict')"
        )
        page.get_by_role("button", name="Run SQL").click()
        expect(page).to_have_url(re.compile(r"sql=select"))
        expect(page.locator("table.rows-and-columns th.col-n")).to_be_visible()
        expect(page.locator(".CodeMirror")).to_be_visible()
        expect(page.locator("button#sql-format")).to_be_visible()  # shown by the editor's inline script
        page.locator("button#sql-format").click()  # the formatter (a script file) reflows the query
        assert "\n" in page.evaluate("document.querySelector('.CodeMirror').CodeMirror.getValue()")

        # A row page and the search across tables.
        page.goto("/data/claimtrack/claims/1")
        expect(page.get_by_role("link", name="open in the app")).to_be_visible()
        page.goto("/data/-/search?q=evacuation")
        expect(page.locator("section[data-table='claims'] tbody tr").first).to_be_visible()
        screenshot(page, "datasette-search")

        assert not watch.violations, "\n".join(watch.violations)
        assert not watch.errors, "\n".join(watch.errors)
        assert not watch.failed_loads, "\n".join(watch.failed_loads)

        # The dashboards have their own, looser policy (README): their charts still render.
        page.goto("/data/-/dashboards/claims")
        for chart in ("claims-per-speaker", "contradictions-per-event", "statements-over-time"):
            drawn = page.locator(f"#chart-{chart} canvas, #chart-{chart} svg.marks").first
            expect(drawn).to_be_visible()
        screenshot(page, "dashboard-under-its-policy")
        dashboard_problems = [v for v in watch.violations if "/data/-/dashboards" in v]
        assert not dashboard_problems, "\n".join(dashboard_problems)
    finally:
        context.close()


def test_app_pages_report_no_policy_violation(browser: Browser, live_server: LiveServer) -> None:
    context, page, watch = new_page(browser, live_server)
    try:
        sign_in(page, live_server.admin)
        for path in (
            "/",
            "/claims/new",
            "/speakers",
            "/sources",
            "/events",
            "/admin/users",
            "/account/password",
            "/claims?q=aleppo",
        ):
            response = page.goto(path)
            assert response is not None and response.status == 200, path
        page.goto(f"/claims?q={quote_plus(RUSSIAN_CLAIM)}")
        page.get_by_role("link", name=re.compile(RUSSIAN_CLAIM)).first.click()
        page.get_by_role("link", name="Add a counterclaim or link").click()
        page.get_by_role("button", name="Save link").click()  # refused: the error page re-renders
        expect(page.get_by_role("alert")).to_contain_text("Nothing was saved")
        assert not watch.violations, "\n".join(watch.violations)
        assert not watch.errors, "\n".join(watch.errors)
    finally:
        context.close()

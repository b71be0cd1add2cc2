"""The edit history, and edits made on a stale copy.

Every create, edit, link, verdict change and retraction is recorded (who, when, field, old, new value),
whether it comes from the web app or the CLI; a write that does not say who makes it is refused; the
history holds usernames and nothing of the accounts; and two editors saving the same record never
overwrite each other silently.
"""

from __future__ import annotations

import datetime as dt
import re
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from flask import Flask
from flask.testing import FlaskClient
from helpers import ADMIN, EDITOR, SEED_FILE, add_account, connect, query, sign_in, snapshot, text_of
from sqlalchemy import Engine

from claimtrack.cli import main as cli
from claimtrack.db import write_session
from claimtrack.models import Claim, ClaimCreate, ClaimUpdate, SpeakerCreate
from claimtrack.services.claims import create_claim, update_claim
from claimtrack.services.history import MissingActor
from claimtrack.web.display import readable_date

SECOND_EDITOR = ("second-editor", "second-editor-pass-456")
HISTORY_COLUMNS = ["id", "changed_at", "username", "entity", "entity_id", "action", "field", "old_value", "new_value"]
TIMESTAMP = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z")


# --- helpers --------------------------------------------------------------------------------


def history(db_path: Path, entity: str, entity_id: int) -> list[dict[str, Any]]:
    return [
        dict(r)
        for r in query(
            db_path, "SELECT * FROM change_history WHERE entity = ? AND entity_id = ? ORDER BY id", entity, entity_id
        )
    ]


def by_field(rows: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """The newest row per field."""
    return {r["field"]: r for r in rows}


def now_s() -> str:
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def created_id(response: Any, prefix: str) -> int:
    assert response.status_code == 303, (response.status_code, response.get_data(as_text=True)[:2000])
    match = re.fullmatch(re.escape(prefix) + r"(\d+)", response.headers["Location"])
    assert match, response.headers["Location"]
    return int(match.group(1))


class FormReader(HTMLParser):
    """The values a browser would submit from the page's POST form (as the page was rendered)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.in_form = False
        self.values: dict[str, list[str]] = {}
        self._textarea: str | None = None
        self._select: str | None = None
        self._select_first: str | None = None
        self._select_chosen = False

    def _add(self, name: str, value: str) -> None:
        self.values.setdefault(name, []).append(value)

    def handle_starttag(self, tag: str, attrs_list: list[tuple[str, str | None]]) -> None:
        attrs = {k: (v or "") for k, v in attrs_list}
        if tag == "form" and attrs.get("method", "").lower() == "post":
            self.in_form = True
        if not self.in_form:
            return
        name = attrs.get("name")
        if tag == "input" and name:
            kind = attrs.get("type", "text").lower()
            if kind in ("checkbox", "radio"):
                if "checked" in attrs:
                    self._add(name, attrs.get("value", "on"))
            elif kind not in ("submit", "button", "reset", "file", "image"):
                self._add(name, attrs.get("value", ""))
        elif tag == "textarea" and name:
            self._textarea = name
            self._add(name, "")
        elif tag == "select" and name:
            self._select, self._select_first, self._select_chosen = name, None, False
        elif tag == "option" and self._select:
            value = attrs.get("value", "")
            if self._select_first is None:
                self._select_first = value
            if "selected" in attrs:
                self._add(self._select, value)
                self._select_chosen = True

    def handle_endtag(self, tag: str) -> None:
        if tag == "form" and self.in_form:
            self.in_form = False
        elif tag == "textarea":
            self._textarea = None
        elif tag == "select" and self._select:
            if not self._select_chosen and self._select_first is not None:
                self._add(self._select, self._select_first)
            self._select = None

    def handle_data(self, data: str) -> None:
        if self._textarea:
            values = self.values[self._textarea]
            # A browser drops the one newline right after <textarea>.
            if not values[-1]:
                data = data.removeprefix("\r").removeprefix("\n")
            values[-1] += data


def form_values(page: str) -> dict[str, list[str]]:
    reader = FormReader()
    reader.feed(page)
    reader.close()
    assert "version" in reader.values, "the edit form carries no version"
    return reader.values


def get_form(client: FlaskClient, url: str) -> dict[str, list[str]]:
    response = client.get(url)
    assert response.status_code == 200, (url, response.status_code)
    return form_values(response.get_data(as_text=True))


def changed(form: dict[str, list[str]], **fields: str) -> dict[str, list[str]]:
    return {**form, **{k: [v] for k, v in fields.items()}}


# --- fixtures -------------------------------------------------------------------------------


@pytest.fixture
def db(app: Flask) -> Path:
    return Path(app.config["DATABASE"])


@pytest.fixture
def second_client(app: Flask, client: FlaskClient) -> FlaskClient:
    """Another signed-in editor, in a browser of their own."""
    add_account(app, *SECOND_EDITOR, "editor")
    other = app.test_client()
    sign_in(other, *SECOND_EDITOR)
    return other


# --- every change through the web is recorded -----------------------------------------------


def test_create_edit_verdict_link_and_retraction_are_recorded(client: FlaskClient, db: Path) -> None:
    start = now_s()
    claim = created_id(
        client.post(
            "/claims/new",
            data={
                "text": "The bridge was closed at dawn.",
                "speaker": "Port authority",
                "stated_on": "2024-03-01",
                "context": "at a press briefing",
                "event": "Bridge closure",
                "source_url": "https://example.org/bridge",
            },
        ),
        "/claims/",
    )
    rows = history(db, "claim", claim)
    created = {r["field"]: r for r in rows if r["action"] == "create"}
    assert created["text"]["old_value"] is None and created["text"]["new_value"] == "The bridge was closed at dawn."
    assert created["stated_on"]["new_value"] == "2024-03-01"
    assert created["context"]["new_value"] == "at a press briefing"
    speaker_id = query(db, "SELECT speaker_id FROM claims WHERE id = ?", claim)[0][0]
    assert created["speaker_id"]["new_value"] == str(speaker_id)
    source_id = query(db, "SELECT source_id FROM claim_sources WHERE claim_id = ?", claim)[0][0]
    assert any(r["field"] == "source_id" and r["new_value"] == str(source_id) for r in rows)
    # The speaker, event and source created along the way are recorded too.
    assert by_field(history(db, "speaker", speaker_id))["name"]["new_value"] == "Port authority"
    event_id = query(db, "SELECT event_id FROM claims WHERE id = ?", claim)[0][0]
    assert by_field(history(db, "event", event_id))["name"]["new_value"] == "Bridge closure"
    assert by_field(history(db, "source", source_id))["url"]["new_value"] == "https://example.org/bridge"

    # An edit: only the changed field, with its old and new value.
    before = len(history(db, "claim", claim))
    edit = {
        "text": "The bridge was closed before dawn.",
        "speaker": "Port authority",
        "stated_on": "2024-03-01",
        "context": "at a press briefing",
        "event": "Bridge closure",
    }
    assert client.post(f"/claims/{claim}/edit", data=edit).status_code == 303
    new_rows = history(db, "claim", claim)[before:]
    assert [(r["action"], r["field"], r["old_value"], r["new_value"]) for r in new_rows] == [
        ("edit", "text", "The bridge was closed at dawn.", "The bridge was closed before dawn.")
    ]

    # A verdict change is recorded as such.
    before = len(history(db, "claim", claim))
    assert (
        client.post(
            f"/claims/{claim}/edit", data={**edit, "verdict": "misleading", "verdict_rationale": "It closed at 9."}
        ).status_code
        == 303
    )
    new_rows = by_field(history(db, "claim", claim)[before:])
    assert new_rows.keys() == {"verdict", "verdict_rationale"}
    assert (new_rows["verdict"]["action"], new_rows["verdict"]["old_value"], new_rows["verdict"]["new_value"]) == (
        "verdict",
        None,
        "misleading",
    )
    assert new_rows["verdict_rationale"]["new_value"] == "It closed at 9."
    before = len(history(db, "claim", claim))
    assert (
        client.post(
            f"/claims/{claim}/edit", data={**edit, "verdict": "false", "verdict_rationale": "It closed at 9."}
        ).status_code
        == 303
    )
    assert [
        (r["action"], r["field"], r["old_value"], r["new_value"]) for r in history(db, "claim", claim)[before:]
    ] == [("verdict", "verdict", "misleading", "false")]

    # A link (with a new statement), then a change of its relation.
    assert (
        client.post(
            f"/claims/{claim}/links/new",
            data={
                "relation": "contradicts",
                "note": "Drivers crossed at 8.",
                "text": "We crossed the bridge at 8.",
                "speaker": "Lorry drivers",
            },
        ).status_code
        == 303
    )
    link, other = query(db, "SELECT id, from_claim_id FROM claim_links WHERE to_claim_id = ?", claim)[0]
    linked = by_field(history(db, "link", link))
    assert {r["action"] for r in linked.values()} == {"link"}
    assert linked["from_claim_id"]["new_value"] == str(other)
    assert linked["to_claim_id"]["new_value"] == str(claim)
    assert linked["relation"]["new_value"] == "contradicts"
    assert linked["note"]["new_value"] == "Drivers crossed at 8."
    assert by_field(history(db, "claim", other))["text"]["new_value"] == "We crossed the bridge at 8."
    before = len(history(db, "link", link))
    assert (
        client.post(f"/links/{link}/edit", data={"relation": "qualifies", "note": "Drivers crossed at 8."}).status_code
        == 303
    )
    assert [(r["action"], r["field"], r["old_value"], r["new_value"]) for r in history(db, "link", link)[before:]] == [
        ("edit", "relation", "contradicts", "qualifies")
    ]

    # Retracting the link, then the claim.
    before = len(history(db, "link", link))
    assert client.post(f"/links/{link}/retract", data={"reason": "Wrong bridge."}).status_code == 303
    retracted = by_field(history(db, "link", link)[before:])
    assert retracted.keys() == {"retracted", "retracted_reason"}
    assert {r["action"] for r in retracted.values()} == {"retract"}
    assert (retracted["retracted"]["old_value"], retracted["retracted"]["new_value"]) == ("0", "1")
    assert (retracted["retracted_reason"]["old_value"], retracted["retracted_reason"]["new_value"]) == (
        None,
        "Wrong bridge.",
    )
    before = len(history(db, "claim", claim))
    assert client.post(f"/claims/{claim}/retract", data={"reason": "The authority withdrew it."}).status_code == 303
    retracted = by_field(history(db, "claim", claim)[before:])
    assert retracted.keys() == {"retracted", "retracted_reason"}
    assert {r["action"] for r in retracted.values()} == {"retract"}
    assert retracted["retracted_reason"]["new_value"] == "The authority withdrew it."

    # Who and when, on every row this editor caused.
    end = now_s()
    everything = [dict(r) for r in query(db, "SELECT * FROM change_history")]
    assert everything
    for row in everything:
        assert row["username"] == EDITOR[0], row
        assert TIMESTAMP.fullmatch(row["changed_at"]), row
        assert start <= row["changed_at"] <= end, row
        assert row["field"], row
    assert {r["action"] for r in everything} == {"create", "edit", "verdict", "link", "retract"}


def test_claim_page_shows_its_history(client: FlaskClient, db: Path) -> None:
    claim = created_id(
        client.post("/claims/new", data={"text": "Forty lorries entered.", "speaker": "Aid agency"}), "/claims/"
    )
    assert (
        client.post(
            f"/claims/{claim}/edit",
            data={"text": "Forty-two lorries entered.", "speaker": "Aid agency", "verdict": "disputed"},
        ).status_code
        == 303
    )
    body = client.get(f"/claims/{claim}").get_data(as_text=True)
    match = re.search(r'<section aria-labelledby="h-history">(.*?)</section>', body, re.DOTALL)
    assert match, "the claim page has no history section"
    table = match.group(1)
    rows = [text_of(r) for r in re.findall(r"<tr>(.*?)</tr>", table, re.DOTALL)[1:]]  # [0] is the header
    stored = query(db, "SELECT * FROM change_history WHERE entity = 'claim' AND entity_id = ?", claim)
    assert len(rows) == len(stored) >= 4
    # Newest first: the verdict, then the edit of the text, then the creation.
    assert any("editor verdict verdict disputed" in r for r in rows[:2]), rows
    assert any("editor edit text Forty lorries entered. Forty-two lorries entered." in r for r in rows), rows
    assert " UTC editor create " in rows[-1], rows
    for row in stored:
        # When, in words, with the stored value in the <time> markup.
        assert f'<time datetime="{row["changed_at"]}">{readable_date(row["changed_at"])}</time>' in table
    # Anyone may read it.
    assert "Forty lorries entered." in text_of(
        client.application.test_client().get(f"/claims/{claim}").get_data(as_text=True)
    )


def test_link_page_shows_the_links_history(client: FlaskClient, db: Path) -> None:
    a = created_id(client.post("/claims/new", data={"text": "Statement A.", "speaker": "Speaker A"}), "/claims/")
    b = created_id(client.post("/claims/new", data={"text": "Statement B.", "speaker": "Speaker B"}), "/claims/")
    assert client.post(f"/claims/{a}/links/new", data={"target_id": str(b), "relation": "supports"}).status_code == 303
    link = query(db, "SELECT id FROM claim_links")[0][0]
    assert (
        client.post(f"/links/{link}/edit", data={"relation": "contradicts", "note": "On reflection."}).status_code
        == 303
    )
    body = text_of(client.get(f"/links/{link}/edit").get_data(as_text=True))
    assert "editor edit relation supports contradicts" in body
    assert "editor link relation supports" in body


# --- the CLI records under a name that says so ------------------------------------------------


def test_cli_seed_is_recorded_as_cli_seed(tmp_path: Path) -> None:
    db = tmp_path / "cli.db"
    runner = CliRunner()
    env = {"CLAIMTRACK_DB": str(db), "CLAIMTRACK_SEEDS": str(SEED_FILE.parent)}
    result = runner.invoke(cli, ["seed"], env=env, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    rows = [dict(r) for r in query(db, "SELECT * FROM change_history")]
    assert {r["username"] for r in rows} == {"cli:seed"}
    assert {r["entity"] for r in rows} >= {"claim", "link", "speaker", "event", "source"}
    assert {r["action"] for r in rows} >= {"create", "link"}
    # Every claim and link the seed wrote has its creation in the history.
    claims = {r[0] for r in query(db, "SELECT id FROM claims")}
    links = {r[0] for r in query(db, "SELECT id FROM claim_links")}
    assert claims and links
    assert {r["entity_id"] for r in rows if r["entity"] == "claim" and r["action"] == "create"} == claims
    assert {r["entity_id"] for r in rows if r["entity"] == "link" and r["action"] == "link"} == links
    # Seeding again adds nothing, and records nothing.
    result = runner.invoke(cli, ["seed", str(SEED_FILE)], env=env, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert query(db, "SELECT count(*) FROM change_history")[0][0] == len(rows)


# --- a write without an actor is refused -------------------------------------------------------


def test_write_without_actor_is_refused_and_writes_nothing(seeded_engine: Engine, db_path: Path) -> None:
    before = snapshot(db_path)
    for actor in (None, ""):
        with pytest.raises(MissingActor), write_session(seeded_engine, actor=actor) as session:
            create_claim(session, ClaimCreate(text="Nobody said this.", speaker=SpeakerCreate(name="Ghost")))
        claim_id = before["claims"][0][0]
        with pytest.raises(MissingActor), write_session(seeded_engine, actor=actor) as session:
            claim = session.get(Claim, claim_id)
            assert claim is not None
            claim.context = "changed by nobody"
            session.add(claim)
    assert snapshot(db_path) == before
    # The same write, naming who makes it, goes through and is recorded under that name.
    with write_session(seeded_engine, actor="cli:import") as session:
        new = create_claim(session, ClaimCreate(text="Somebody said this.", speaker=SpeakerCreate(name="Someone")))
        update_claim(
            session, new.id, ClaimUpdate(text="Somebody said this, twice.", speaker=SpeakerCreate(name="Someone"))
        )
    names = {
        r[0]
        for r in query(
            db_path,
            "SELECT username FROM change_history WHERE id > ?",
            max((r[0] for r in before["change_history"]), default=0),
        )
    }
    assert names == {"cli:import"}


# --- no account secrets in the history (or anywhere in the claims database) -------------------


def test_history_holds_usernames_and_no_account_secrets(
    app: Flask, client: FlaskClient, admin_client: FlaskClient, db: Path
) -> None:
    claim = created_id(client.post("/claims/new", data={"text": "Statement.", "speaker": "Speaker"}), "/claims/")
    assert (
        admin_client.post(
            f"/claims/{claim}/edit", data={"text": "Statement, edited.", "speaker": "Speaker"}
        ).status_code
        == 303
    )
    recorded = query(db, "SELECT count(*) FROM change_history")[0][0]
    # Account activity (a failed login, a sign-in, a sign-out) leaves no trace in the claims database.
    visitor = app.test_client()
    assert visitor.post("/login", data={"username": EDITOR[0], "password": "wrong-password-xyz"}).status_code != 303
    sign_in(visitor, *EDITOR)
    visitor.post("/logout")
    assert query(db, "SELECT count(*) FROM change_history")[0][0] == recorded

    # The history is a table of the claims database, with these columns only.
    with connect(db) as conn:
        columns = [r[1] for r in conn.execute("PRAGMA table_info(change_history)")]
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type IN ('table', 'view')")}
    assert columns == HISTORY_COLUMNS
    assert not tables & {"users", "login_failures", "sessions", "accounts"}
    assert {r[0] for r in query(db, "SELECT DISTINCT username FROM change_history")} == {EDITOR[0], ADMIN[0]}

    # No hash, password or session value in any cell of any table of the claims database.
    with connect(Path(app.config["ACCOUNTS_DATABASE"])) as accounts:
        hashes = [r[0] for r in accounts.execute("SELECT password_hash FROM users")]
    assert len(hashes) == 2 and all(h.startswith("$argon2") for h in hashes)
    cookies = [c.value for c in (client.get_cookie("session"), admin_client.get_cookie("session")) if c is not None]
    assert cookies
    secrets = [*hashes, EDITOR[1], ADMIN[1], "$argon2", *cookies]
    with connect(db) as conn:
        for table in tables:
            for row in conn.execute(f"SELECT * FROM [{table}]"):
                for cell in row:
                    if isinstance(cell, str):
                        assert not any(s in cell for s in secrets), (table, cell)


# --- stale edits: refused with 409, the other change shown, nothing overwritten --------------


def test_second_editor_saving_a_stale_claim_gets_409_and_the_other_change(
    seeded_client: FlaskClient, second_client: FlaskClient, db: Path
) -> None:
    claim = query(db, "SELECT id FROM claims WHERE instr(text, 'was finished on Friday.') > 0")[0][0]
    url = f"/claims/{claim}/edit"
    first = get_form(seeded_client, url)
    second = get_form(second_client, url)
    assert first["version"] == second["version"]
    old_text, old_context = query(db, "SELECT text, context FROM claims WHERE id = ?", claim)[0]

    response = seeded_client.post(url, data=changed(first, context="Said by a spokesman on state TV."))
    assert response.status_code == 303
    saved = snapshot(db)

    response = second_client.post(url, data=changed(second, text="The evacuation ended on Friday (second editor)."))
    assert response.status_code == 409
    body = response.get_data(as_text=True)
    notice = text_of(body)
    assert "Someone else saved this record" in notice
    assert f"({EDITOR[0]}," in notice  # who saved it
    assert "Said by a spokesman on state TV." in notice  # what they saved
    assert snapshot(db) == saved, "a refused save wrote something"
    assert tuple(query(db, "SELECT text, context FROM claims WHERE id = ?", claim)[0]) == (
        old_text,
        "Said by a spokesman on state TV.",
    )
    # The re-rendered form keeps the second editor's text and now carries the current version.
    again = form_values(body)
    assert again["text"] == ["The evacuation ended on Friday (second editor)."]
    current = query(db, "SELECT version FROM claims WHERE id = ?", claim)[0][0]
    assert again["version"] == [str(current)] and current == int(first["version"][0]) + 1

    response = second_client.post(url, data=again)
    assert response.status_code == 303
    text, context, version = query(db, "SELECT text, context, version FROM claims WHERE id = ?", claim)[0]
    assert text == "The evacuation ended on Friday (second editor)." and version == current + 1
    # Applying it over the other change is knowing, and recorded under the second editor's name.
    last = by_field(history(db, "claim", claim))
    assert last["text"]["username"] == SECOND_EDITOR[0]
    assert last["text"]["old_value"] == old_text
    # The re-saved form carried the second editor's whole copy, context included: that too is on record.
    assert context == old_context
    assert last["context"]["username"] == SECOND_EDITOR[0]
    assert last["context"]["old_value"] == "Said by a spokesman on state TV."


def _link(db: Path) -> int:
    return query(db, "SELECT min(id) FROM claim_links")[0][0]


def _speaker(db: Path) -> int:
    return query(db, "SELECT id FROM speakers WHERE name = 'Russian defence ministry'")[0][0]


def _source(db: Path) -> int:
    return query(db, "SELECT min(id) FROM sources")[0][0]


def _event(db: Path) -> int:
    return query(db, "SELECT min(id) FROM events")[0][0]


# (what, table, url, find id, first editor's change, second editor's change)
STALE_CASES = [
    ("link", "claim_links", "/links/{}/edit", _link, ("note", "First editor's note."), ("relation", "qualifies")),
    (
        "speaker",
        "speakers",
        "/speakers/{}/edit",
        _speaker,
        ("description", "Ministry of Defence (first editor)."),
        ("name", "Russian MoD (second editor)"),
    ),
    (
        "source",
        "sources",
        "/sources/{}/edit",
        _source,
        ("outlet", "FT (first editor)"),
        ("title", "Title by the second editor"),
    ),
    (
        "event",
        "events",
        "/events/{}/edit",
        _event,
        ("description", "Described by the first editor."),
        ("name", "Aleppo evacuation (second editor)"),
    ),
]


@pytest.mark.parametrize(
    "what, table, url, find, first_change, second_change", STALE_CASES, ids=[c[0] for c in STALE_CASES]
)
def test_stale_edit_of_other_records_gets_409(
    seeded_client: FlaskClient,
    second_client: FlaskClient,
    db: Path,
    what: str,
    table: str,
    url: str,
    find: Any,
    first_change: tuple[str, str],
    second_change: tuple[str, str],
) -> None:
    ident = find(db)
    url = url.format(ident)
    first = get_form(seeded_client, url)
    second = get_form(second_client, url)
    field_a, value_a = first_change
    field_b, value_b = second_change
    old_b = query(db, f"SELECT {field_b} FROM {table} WHERE id = ?", ident)[0][0]

    assert seeded_client.post(url, data=changed(first, **{field_a: value_a})).status_code == 303
    saved = snapshot(db)
    response = second_client.post(url, data=changed(second, **{field_b: value_b}))
    assert response.status_code == 409, what
    body = response.get_data(as_text=True)
    notice = text_of(body)
    assert "Someone else saved this record" in notice
    assert f"({EDITOR[0]}," in notice and value_a in notice
    assert snapshot(db) == saved, f"a refused {what} save wrote something"
    row = query(db, f"SELECT {field_a}, {field_b} FROM {table} WHERE id = ?", ident)[0]
    assert tuple(row) == (value_a, old_b)

    again = form_values(body)
    assert again[field_b] == [value_b]
    assert again["version"] == [str(query(db, f"SELECT version FROM {table} WHERE id = ?", ident)[0][0])]
    assert second_client.post(url, data=again).status_code == 303
    assert query(db, f"SELECT {field_b} FROM {table} WHERE id = ?", ident)[0][0] == value_b
    assert by_field(history(db, what, ident))[field_b]["username"] == SECOND_EDITOR[0]


def test_stale_retraction_is_refused(seeded_client: FlaskClient, second_client: FlaskClient, db: Path) -> None:
    """A retraction made on a copy older than an edit is refused like any stale save."""
    claim = query(db, "SELECT id FROM claims WHERE instr(text, 'was finished on Friday.') > 0")[0][0]
    retract_form = get_form(second_client, f"/claims/{claim}/retract")
    edit_form = get_form(seeded_client, f"/claims/{claim}/edit")
    assert (
        seeded_client.post(f"/claims/{claim}/edit", data=changed(edit_form, context="New context.")).status_code == 303
    )
    saved = snapshot(db)
    response = second_client.post(f"/claims/{claim}/retract", data=changed(retract_form, reason="Withdrawn."))
    assert response.status_code == 409
    assert snapshot(db) == saved
    assert query(db, "SELECT retracted FROM claims WHERE id = ?", claim)[0][0] == 0

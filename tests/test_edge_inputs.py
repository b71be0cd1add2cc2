"""Edge inputs in the editors' app: redirect targets, invisible and bidi characters, non-ASCII digits,
affiliation loops on every write path, a full disk, private file modes and counts without retracted claims."""

from __future__ import annotations

import os
import sqlite3
import stat
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from conftest import EDITOR, add_account
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import Engine, event

from claimtrack.cli import main
from claimtrack.db import read_session, write_session
from claimtrack.models import ClaimCreate, EventCreate, SourceCreate, SpeakerCreate
from claimtrack.services import claims as claim_service
from claimtrack.services.events import list_events
from claimtrack.services.seeding import SeedError, load_seed
from claimtrack.services.sources import list_sources
from claimtrack.services.speakers import list_speakers
from claimtrack.web.database import accounts_session, get_engine
from claimtrack.web.helpers import is_safe_next

MINISTRY = "Russian defence ministry"


def q(db: Path, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    with closing(sqlite3.connect(db)) as conn:
        return conn.execute(sql, params).fetchall()


def scalar(db: Path, sql: str, params: tuple[Any, ...] = ()) -> Any:
    return q(db, sql, params)[0][0]


def claim_form(**fields: str) -> dict[str, str]:
    data = {"text": "A statement made for an edge-input test.", "speaker": "Test speaker", "speaker_kind": "person"}
    data.update(fields)
    return data


def totals(db: Path) -> dict[str, int]:
    return {
        t: scalar(db, f"SELECT count(*) FROM {t}")
        for t in ("claims", "speakers", "events", "sources", "claim_sources", "claim_links", "change_history")
    }


# --- 1. next= and what is said after a committed write ---------------------------------------------


@pytest.mark.parametrize(
    "target",
    [
        "/claims\r\nX: y",
        "/claims\nSet-Cookie: a=b",
        "/\t/evil.example",
        "/\\evil.example",
        "//evil.example",
        "https://evil.example/",
        "/claims\x00",
        "/claims\u2028x",
        "/claims\u202e",
        "/claims\u200b",
        "/a b",
        "claims",
        "/" + "a" * 2001,
    ],
)
def test_next_refuses_anything_but_a_plain_same_site_path(target: str) -> None:
    assert not is_safe_next(target)


@pytest.mark.parametrize("target", ["/claims/1", "/claims?q=aleppo+evacuation&retracted=include", "/speakers?q=é", "/"])
def test_next_accepts_plain_paths(target: str) -> None:
    assert is_safe_next(target)


def test_link_edit_with_crlf_in_next_saves_and_redirects(seeded_client: FlaskClient, db_path: Path) -> None:
    link_id, to_claim, relation = q(db_path, "SELECT id, to_claim_id, relation FROM claim_links ORDER BY id LIMIT 1")[0]
    new_relation = "supports" if relation != "supports" else "qualifies"
    response = seeded_client.post(
        f"/links/{link_id}/edit?next=/claims%0D%0AX:y", data={"relation": new_relation, "note": "checked again"}
    )
    assert response.status_code == 303
    assert response.headers["Location"] == f"/claims/{to_claim}"
    assert "X" not in response.headers
    assert scalar(db_path, "SELECT relation FROM claim_links WHERE id = ?", (link_id,)) == new_relation


def test_login_with_crlf_in_next_signs_in_and_goes_home(app: Flask) -> None:
    add_account(app, *EDITOR, "editor")
    client = app.test_client()
    response = client.post(
        "/login?next=/speakers%0D%0AX:y",
        data={"username": EDITOR[0], "password": EDITOR[1], "next": "/speakers\r\nX: y"},
    )
    assert response.status_code == 303
    assert response.headers["Location"] == "/claims"  # the default, not the refused target
    assert "X" not in response.headers
    assert "Signed in as" in client.get("/claims").get_data(as_text=True)


def test_a_failure_after_the_commit_does_not_claim_nothing_was_saved(
    seeded_client: FlaskClient, db_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import claimtrack.web.claims.routes as routes

    def broken_redirect(*_args: Any, **_kwargs: Any) -> Any:
        raise RuntimeError("the redirect broke")

    monkeypatch.setattr(routes, "redirect", broken_redirect)
    before = totals(db_path)["claims"]
    response = seeded_client.post("/claims/new", data=claim_form(text="Stored before the page failed."))
    page = response.get_data(as_text=True)
    assert response.status_code == 500
    assert totals(db_path)["claims"] == before + 1
    assert "Your change was saved" in page
    assert "nothing was saved" not in page


# --- 2. names and text: NFC, invisible characters, bidi controls -------------------------------------


def test_zero_width_space_matches_the_existing_speaker(seeded_client: FlaskClient, db_path: Path) -> None:
    before = totals(db_path)
    ministry_id = scalar(db_path, "SELECT id FROM speakers WHERE name = ?", (MINISTRY,))
    response = seeded_client.post(
        "/claims/new",
        data=claim_form(text="The evacuation is over.", speaker=f"\ufeff{MINISTRY}\u200b", affiliation=""),
    )
    assert response.status_code == 303, response.get_data(as_text=True)
    after = totals(db_path)
    assert after["speakers"] == before["speakers"]
    assert after["claims"] == before["claims"] + 1
    assert scalar(db_path, "SELECT speaker_id FROM claims ORDER BY id DESC LIMIT 1") == ministry_id


@pytest.mark.parametrize(
    "typed",
    [
        "Russian\u200c defence ministry",
        "Russian defence\u2060 ministry",
        "\u202eRussian defence ministry\u202c",
        "Russian\u00a0defence  ministry",
        "\u2066Russian defence ministry\u2069",
    ],
)
def test_invisible_and_bidi_characters_leave_names(typed: str) -> None:
    assert SpeakerCreate(name=typed).name == MINISTRY
    assert EventCreate(name=typed).name == MINISTRY
    source = SourceCreate(title=typed, outlet=typed)
    assert (source.title, source.outlet) == (MINISTRY, MINISTRY)
    claim = ClaimCreate(text="x", speaker=SpeakerCreate(name="a", affiliation=typed), event=typed)
    assert (claim.speaker.affiliation, claim.event) == (MINISTRY, MINISTRY)


def test_names_keep_the_joiners_persian_needs() -> None:
    # "Mehr News" in Persian: the ZWNJ keeps the two parts of the word apart, visibly.
    name = "خبرگزاری\u200cمهر"
    assert SpeakerCreate(name=name).name == name


def test_text_is_nfc_and_keeps_rtl_marks() -> None:
    arabic = "قال \u200fالمتحدث\u200f إن الإجلاء اكتمل\u200e (ICRC)"
    persian = "می\u200cخواهیم"
    claim = ClaimCreate(
        text=f"\u200b{arabic} {persian}\ufeff", speaker=SpeakerCreate(name="Cafe\u0301"), context="e\u0301te\u0301"
    )
    assert claim.text == f"{arabic} {persian}"
    assert claim.speaker.name == "Café"
    assert claim.context == "été"
    # Overrides and isolates reorder what is displayed: they leave statements too.
    assert ClaimCreate(text="abc\u202edef\u202c", speaker=SpeakerCreate(name="a")).text == "abcdef"


def test_a_statement_of_invisible_characters_is_refused(seeded_client: FlaskClient, db_path: Path) -> None:
    before = totals(db_path)
    response = seeded_client.post(
        "/claims/new", data=claim_form(text="\u200b \u2060\ufeff\u200b", speaker="New person")
    )
    assert response.status_code == 400
    assert "This field is required." in response.get_data(as_text=True)
    response = seeded_client.post("/claims/new", data=claim_form(speaker="\u200b\u200d"))
    assert response.status_code == 400
    assert totals(db_path) == before


def test_seeds_get_the_same_cleaning(engine: Engine, db_path: Path) -> None:
    data = {
        "speakers": [{"name": "ICRC"}],
        "claims": [{"key": "a", "text": "Evacuation paused.\u200b", "speaker": "ICRC\u200b"}],
    }
    with write_session(engine, actor="test") as session:
        load_seed(session, data)
    assert q(db_path, "SELECT name FROM speakers") == [("ICRC",)]
    assert q(db_path, "SELECT text FROM claims") == [("Evacuation paused.",)]


# --- 3. ASCII digits only --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "field,value",
    [
        ("stated_time", "1９:3５"),
        ("stated_time", "١٢:٣٠"),
        ("stated_on", "２０16-12-16"),
        ("stated_on", "2016-1٢-16"),
        ("source_published_on", "2016-12-1６"),
    ],
)
def test_non_ascii_digits_are_refused_in_dates_and_times(
    seeded_client: FlaskClient, db_path: Path, field: str, value: str
) -> None:
    before = totals(db_path)
    data = claim_form(**{"stated_on": "2016-12-16", field: value})
    if field == "source_published_on":
        data["source_title"] = "A report"
    response = seeded_client.post("/claims/new", data=data)
    assert response.status_code == 400
    assert ("HH:MM" if field == "stated_time" else "YYYY-MM-DD") in response.get_data(as_text=True)
    assert totals(db_path) == before


def test_event_dates_need_ascii_digits() -> None:
    with pytest.raises(ValueError):
        EventCreate(name="E", starts_on="٢٠١٦-١٢-١٦")


@pytest.mark.parametrize("path", ["/claims/%D9%A1", "/claims/%EF%BC%91", "/speakers/%D9%A1", "/links/%D9%A1/edit"])
def test_ids_in_paths_are_ascii_digits(seeded_client: FlaskClient, path: str) -> None:
    assert seeded_client.get(path).status_code == 404


# --- 4. affiliation loops, on every write path ---------------------------------------------------


@pytest.fixture
def loop(seeded_client: FlaskClient, db_path: Path) -> FlaskClient:
    """'Loop A' speaks for 'Loop B' (created as an organisation)."""
    response = seeded_client.post("/speakers/new", data={"name": "Loop A", "kind": "person", "affiliation": "Loop B"})
    assert response.status_code == 303
    return seeded_client


def _loop_b_affiliation(db_path: Path) -> Any:
    return scalar(db_path, "SELECT affiliation_id FROM speakers WHERE name = 'Loop B'")


def test_claim_form_cannot_close_an_affiliation_loop(loop: FlaskClient, db_path: Path) -> None:
    before = totals(db_path)
    response = loop.post("/claims/new", data=claim_form(speaker="Loop B", affiliation="Loop A"))
    assert response.status_code == 400
    assert "that would be a loop" in response.get_data(as_text=True)
    assert _loop_b_affiliation(db_path) is None
    assert totals(db_path) == before


def test_claim_edit_cannot_close_an_affiliation_loop(loop: FlaskClient, db_path: Path) -> None:
    claim_id = scalar(db_path, "SELECT min(id) FROM claims")
    version = scalar(db_path, "SELECT version FROM claims WHERE id = ?", (claim_id,))
    response = loop.post(
        f"/claims/{claim_id}/edit", data=claim_form(speaker="loop b", affiliation="LOOP A", version=str(version))
    )
    assert response.status_code == 400
    assert "that would be a loop" in response.get_data(as_text=True)
    assert _loop_b_affiliation(db_path) is None
    assert scalar(db_path, "SELECT version FROM claims WHERE id = ?", (claim_id,)) == version


def test_link_form_new_statement_cannot_close_an_affiliation_loop(loop: FlaskClient, db_path: Path) -> None:
    before = totals(db_path)
    response = loop.post(
        "/claims/1/links/new", data={"relation": "contradicts", **claim_form(speaker="Loop B", affiliation="Loop A")}
    )
    assert response.status_code == 400
    assert "that would be a loop" in response.get_data(as_text=True)
    assert _loop_b_affiliation(db_path) is None
    assert totals(db_path) == before


def test_seeds_cannot_close_an_affiliation_loop(engine: Engine, db_path: Path) -> None:
    data = {"speakers": [{"name": "Loop A", "affiliation": "Loop B"}, {"name": "Loop B", "affiliation": "Loop A"}]}
    with pytest.raises(SeedError, match="loop"), write_session(engine, actor="test") as session:
        load_seed(session, data)
    assert scalar(db_path, "SELECT count(*) FROM speakers") == 0


# --- 5. a full disk -------------------------------------------------------------------------------


@pytest.fixture
def full_disk(seeded_app: Flask, db_path: Path) -> Iterator[None]:
    """Every connection of the app may use no page beyond those the database has now (SQLITE_FULL)."""
    with closing(sqlite3.connect(db_path, isolation_level=None)) as conn:
        conn.execute("VACUUM")  # no free pages left inside the file for a write to reuse
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        pages = conn.execute("PRAGMA page_count").fetchone()[0]
    with seeded_app.app_context():
        engine = get_engine()
        engine.dispose()

        def limit(dbapi_conn: sqlite3.Connection, _record: object) -> None:
            dbapi_conn.execute(f"PRAGMA max_page_count = {pages}")

        event.listen(engine, "connect", limit)
    yield


def test_full_storage_answers_503_and_keeps_the_form(
    seeded_client: FlaskClient, db_path: Path, full_disk: None
) -> None:
    before = totals(db_path)
    text = "A long statement that needs new pages. " * 120
    response = seeded_client.post(
        "/claims/new",
        data=claim_form(text=text, speaker="A brand new speaker", event="A brand new event", source_title="New report"),
    )
    page = response.get_data(as_text=True)
    assert response.status_code == 503, page
    assert "storage is full" in page
    assert "A brand new speaker" in page  # what was typed is still in the form
    assert totals(db_path) == before
    assert scalar(db_path, "PRAGMA integrity_check") == "ok"


# --- 6. private files -----------------------------------------------------------------------------


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def open_umask() -> Iterator[None]:
    old = os.umask(0o022)  # the usual default: files would be world-readable without an explicit mode
    yield
    os.umask(old)


def test_accounts_database_and_its_wal_are_private(app: Flask, tmp_path: Path, open_umask: None) -> None:
    auth = Path(app.config["ACCOUNTS_DATABASE"])
    add_account(app, *EDITOR, "editor")
    with app.app_context(), accounts_session() as session:
        session.connection().exec_driver_sql("SELECT count(*) FROM users").fetchone()  # keeps the WAL open
        for path in (auth, Path(f"{auth}-wal"), Path(f"{auth}-shm")):
            assert path.exists(), path
            assert _mode(path) == 0o600, (path, oct(_mode(path)))


def test_an_existing_world_readable_accounts_database_is_made_private(
    app: Flask, tmp_path: Path, open_umask: None
) -> None:
    auth = Path(app.config["ACCOUNTS_DATABASE"])
    with closing(sqlite3.connect(auth)) as conn:
        conn.execute("PRAGMA journal_mode = WAL")
    os.chmod(auth, 0o644)
    add_account(app, *EDITOR, "editor")
    assert _mode(auth) == 0o600


def test_cli_accounts_and_backups_are_private(
    seeded_engine: Engine, db_path: Path, tmp_path: Path, open_umask: None
) -> None:
    env = {"CLAIMTRACK_DB": str(db_path), "CLAIMTRACK_AUTH_DB": str(tmp_path / "cli-auth.db")}
    result = CliRunner().invoke(
        main, ["user", "add", "carol", "--role", "editor"], env=env, input="carol-password-123\ncarol-password-123\n"
    )
    assert result.exit_code == 0, result.output
    assert _mode(tmp_path / "cli-auth.db") == 0o600
    claims_copy, accounts_copy = tmp_path / "out" / "claims.db", tmp_path / "out" / "auth.db"
    result = CliRunner().invoke(main, ["backup", str(claims_copy), "--accounts", str(accounts_copy)], env=env)
    assert result.exit_code == 0, result.output
    assert _mode(claims_copy) == 0o600 and _mode(accounts_copy) == 0o600
    assert scalar(accounts_copy, "SELECT username FROM users") == "carol"
    assert scalar(claims_copy, "SELECT count(*) FROM claims") == scalar(db_path, "SELECT count(*) FROM claims")
    # --force replaces a file with a fresh private one.
    os.chmod(claims_copy, 0o644)
    result = CliRunner().invoke(main, ["backup", str(claims_copy), "--force"], env=env)
    assert result.exit_code == 0, result.output
    assert _mode(claims_copy) == 0o600


# --- 7. counts leave retracted claims out ------------------------------------------------------------


def test_list_counts_leave_retracted_claims_out(
    seeded_client: FlaskClient, seeded_engine: Engine, db_path: Path
) -> None:
    claim_id, speaker_id, event_id = q(
        db_path, "SELECT id, speaker_id, event_id FROM claims WHERE event_id IS NOT NULL ORDER BY id LIMIT 1"
    )[0]
    source_id = scalar(db_path, "SELECT source_id FROM claim_sources WHERE claim_id = ?", (claim_id,))
    response = seeded_client.post(f"/claims/{claim_id}/retract", data={"reason": "Misattributed."})
    assert response.status_code == 303

    def live(sql: str, ident: int) -> int:
        return scalar(db_path, sql + " AND c.retracted = 0", (ident,))

    with read_session(seeded_engine) as session:
        speakers = list_speakers(session).extra["claim_counts"]
        events = list_events(session).extra["claim_counts"]
        sources = list_sources(session).extra["claim_counts"]
        shown = claim_service.list_claims(session, claim_service.ClaimFilters(source_id=source_id), limit=200).items
    assert speakers[speaker_id] == live("SELECT count(*) FROM claims c WHERE c.speaker_id = ?", speaker_id)
    assert events[event_id] == live("SELECT count(*) FROM claims c WHERE c.event_id = ?", event_id)
    assert sources[source_id] == live(
        "SELECT count(*) FROM claim_sources cs JOIN claims c ON c.id = cs.claim_id WHERE cs.source_id = ?", source_id
    )
    # The source's list shows as many claims as its count says.
    assert len(shown) == sources[source_id]
    assert "retracted ones are left out" in seeded_client.get("/speakers").get_data(as_text=True)

"""claimtrack import: every format, bad rows reported with their numbers, re-imports add nothing, Arabic search."""

from __future__ import annotations

import asyncio
import csv
import dataclasses
import json
import re
import shutil
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner
from flask import Flask
from helpers import SHARED, query, row_counts, snapshot
from sqlalchemy import Engine
from sqlalchemy import text as text_

from claimtrack.asgi import create_asgi_app
from claimtrack.cli import main
from claimtrack.config import PROJECT_ROOT, Settings
from claimtrack.services.importing import FormatError, guess_format, import_file, load_ratings
from claimtrack.services.importing.ratings import rating_key

LIAR = SHARED / "data" / "liar"
CLAIMREVIEW = SHARED / "data" / "claimreview"
DATA = Path(__file__).parent / "data"


def need(path: Path) -> Path:
    if not path.exists():
        pytest.skip(f"{path} is not beside the project (the shared sample data sets are absent)")
    return path


def read_tsv(path: Path) -> list[list[str]]:
    with path.open(encoding="utf-8", newline="") as fh:
        return list(csv.reader(fh, delimiter="\t", quoting=csv.QUOTE_NONE))


def liar_head(tmp_path: Path, n: int = 300) -> Path:
    lines = need(LIAR / "train.tsv").read_text(encoding="utf-8").splitlines(keepends=True)[:n]
    out = tmp_path / "liar-head.tsv"
    out.write_text("".join(lines), encoding="utf-8")
    return out


# --- LIAR -----------------------------------------------------------------------------------------


def test_liar_rows_become_claims_speakers_tags_and_verdicts(engine: Engine, db_path: Path, tmp_path: Path) -> None:
    path = liar_head(tmp_path)
    rows = read_tsv(path)
    report = import_file(engine, path)
    assert report.added + report.duplicates == len(rows) and not report.rejected
    assert report.added == len({(r[4], r[2]) for r in rows})
    first = rows[0]
    claim = query(db_path, "SELECT * FROM claims WHERE external_source = 'liar' AND external_id = ?", first[0])[0]
    assert claim["text"] == first[2] and claim["rating_text"] == first[1] and claim["context"] == first[13]
    assert claim["verdict"] == load_ratings().verdict(first[1]) and claim["language"] == "en"
    speaker = query(db_path, "SELECT * FROM speakers WHERE id = ?", claim["speaker_id"])[0]
    assert (speaker["name"], speaker["job_title"], speaker["region"], speaker["party"]) == (
        "Dwayne Bohac",
        first[5],
        first[6],
        first[7],
    )
    tags = {
        r[0]
        for r in query(
            db_path,
            "SELECT t.name FROM claim_tags ct JOIN tags t ON t.id = ct.tag_id WHERE ct.claim_id = ?",
            claim["id"],
        )
    }
    assert tags == set(first[3].split(","))
    # one speaker per slug
    assert query(db_path, "SELECT count(*) FROM speakers")[0][0] == len({r[4] for r in rows})
    # history: every created record traceable to the file
    actors = {r[0] for r in query(db_path, "SELECT DISTINCT username FROM change_history")}
    assert actors == {"import:liar-head.tsv"}
    assert query(db_path, "SELECT count(*) FROM change_history WHERE entity = 'claim'")[0][0] == report.added


def test_reimporting_adds_nothing_and_dry_run_writes_nothing(engine: Engine, db_path: Path, tmp_path: Path) -> None:
    path = liar_head(tmp_path, 200)
    before = snapshot(db_path)
    dry = import_file(engine, path, dry_run=True)
    assert snapshot(db_path) == before
    first = import_file(engine, path, actor="alice")
    assert (dry.added, dry.duplicates) == (first.added, first.duplicates) and first.added > 0
    after = snapshot(db_path)
    again = import_file(engine, path)
    assert (again.added, again.duplicates) == (0, first.added + first.duplicates)
    assert snapshot(db_path) == after
    assert {r[0] for r in query(db_path, "SELECT DISTINCT username FROM change_history")} == {"alice"}


def test_a_broken_file_reports_its_bad_rows_and_keeps_the_good_ones(engine: Engine, db_path: Path) -> None:
    report = import_file(engine, DATA / "liar-broken.tsv", "liar")
    assert [(r.number, r.reason.split()[0]) for r in report.rejected] == [(2, "unknown"), (3, "4"), (5, "text:")]
    assert report.added == 3
    texts = [r[0] for r in query(db_path, "SELECT text FROM claims ORDER BY id")]
    assert texts == [
        "Says the moon is made of cheese.",
        "Says Ohio has more cows than people.",
        "Says the moon is made of cheese.",
    ]
    kinds = dict(query(db_path, "SELECT name, kind FROM speakers"))
    assert kinds == {"Jane Doe": "person", "Acme Corp": "organisation", "John Roe": "person"}


def test_cli_summary_and_one_line_errors(
    engine: Engine, db_path: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CLAIMTRACK_DB", str(db_path))
    engine.dispose()
    result = CliRunner().invoke(main, ["import", str(DATA / "liar-broken.tsv"), "--event", "Moon hoax"])
    assert result.exit_code == 0, result.output
    assert "liar-broken.tsv:2: rejected: unknown label 'maybe'" in result.output
    assert "liar-broken.tsv: added 3, skipped 0 duplicates, rejected 3." in result.output
    assert (
        query(db_path, "SELECT count(*) FROM claims c JOIN events e ON e.id = c.event_id WHERE e.name = 'Moon hoax'")[
            0
        ][0]
        == 3
    )
    before = snapshot(db_path)
    not_liar = tmp_path / "notes.txt"
    not_liar.write_text("just\nsome\nnotes\nin\na\nfile\n", encoding="utf-8")
    for args, message in (
        (["import", str(not_liar), "--format", "liar"], "notes.txt is not a LIAR file"),
        (["import", str(not_liar)], "cannot tell the format of notes.txt"),
        (["import", str(DATA / "liar-broken.tsv"), "--format", "claimreview"], "not valid JSON"),
        (["import", str(DATA / "liar-broken.tsv"), "--format", "csv"], "not a CSV export of claims"),
    ):
        result = CliRunner().invoke(main, args)
        assert result.exit_code == 1 and message in result.output and "Traceback" not in result.output, result.output
    binary = tmp_path / "x.tsv"
    binary.write_bytes(b"\xff\xfe\x00garbage")
    result = CliRunner().invoke(main, ["import", str(binary), "--format", "liar"])
    assert result.exit_code == 1 and "not UTF-8" in result.output
    assert snapshot(db_path) == before


def test_guess_format(tmp_path: Path) -> None:
    assert guess_format(DATA / "liar-broken.tsv") == "liar"
    assert guess_format(need(CLAIMREVIEW / "claim_reviews.json")) == "factcheck-api"
    assert guess_format(CLAIMREVIEW / "output_sample_politifact.csv") == "claimskg"
    feed = tmp_path / "feed.json"
    feed.write_text(
        json.dumps(
            {"@type": "DataFeed", "dataFeedElement": [{"item": [{"@type": "ClaimReview", "claimReviewed": "x"}]}]}
        )
    )
    assert guess_format(feed) == "claimreview"


@pytest.mark.slow
def test_all_three_liar_files(engine: Engine, db_path: Path) -> None:
    total = 0
    distinct: set[tuple[str, str]] = set()
    for name in ("train.tsv", "valid.tsv", "test.tsv"):
        path = need(LIAR / name)
        rows = read_tsv(path)
        total += len(rows)
        distinct |= {(r[4], r[2]) for r in rows}
        report = import_file(engine, path)
        assert not report.rejected
    assert total == 12836
    assert query(db_path, "SELECT count(*) FROM claims")[0][0] == len(distinct)
    assert query(db_path, "SELECT count(*) FROM claims WHERE verdict IS NULL")[0][0] == 0


# --- Google Fact Check Tools and ClaimsKG ------------------------------------------------------------


def test_factcheck_api_file_counts_duplicates_languages_and_ratings(engine: Engine, db_path: Path) -> None:
    path = need(CLAIMREVIEW / "claim_reviews.json")
    data = json.loads(path.read_text(encoding="utf-8"))
    report = import_file(engine, path)
    assert not report.rejected
    assert report.added + report.duplicates == len(data) == 1762

    # Duplicates collapse to one claim per (claimant, statement); platforms are named by their site.
    def claimant(c: dict) -> str:
        name = c.get("claimant", "Unknown claimant")
        return (
            re.sub(r"^(https?://)?(www\.)?", "", name).rstrip("/").lower() if re.fullmatch(r"\S+\.\S+", name) else name
        )

    assert report.added == len({(claimant(c), c["text"].strip()) for c in data})
    assert query(db_path, "SELECT count(*) FROM speakers WHERE name = 'facebook.com'")[0][0] == 1
    assert query(db_path, "SELECT count(*) FROM speakers WHERE name = 'www.facebook.com'")[0][0] == 0
    # Rating text verbatim; the table gives a verdict to all but the free-text paragraphs.
    first = data[0]
    row = query(db_path, "SELECT * FROM claims WHERE text = ?", first["text"].strip())[0]
    assert (
        row["rating_text"] == first["claimReview"][0]["textualRating"]
        and row["review_url"] == first["claimReview"][0]["url"]
    )
    mapped = query(db_path, "SELECT count(*) FROM claims WHERE verdict IS NOT NULL")[0][0]
    assert mapped >= report.added * 0.98
    unmapped = {r[0] for r in query(db_path, "SELECT rating_text FROM claims WHERE verdict IS NULL")}
    assert set(report.unmapped_ratings) == unmapped
    languages = dict(query(db_path, "SELECT language, count(*) FROM claims GROUP BY 1"))
    assert languages["ar"] > 1200 and set(languages) <= {"ar", "en", "my"}
    # Claims with two reviews keep the second one as a source reporting on the claim.
    two = next(c for c in data if len(c["claimReview"]) == 2)
    cid = query(db_path, "SELECT id FROM claims WHERE text = ?", two["text"].strip())[0][0]
    urls = {
        r[0]
        for r in query(
            db_path,
            "SELECT s.url FROM claim_sources cs JOIN sources s ON s.id = cs.source_id WHERE cs.claim_id = ?",
            cid,
        )
    }
    assert two["claimReview"][1]["url"] in urls
    assert import_file(engine, path).added == 0


def test_arabic_is_searchable_in_the_app_and_in_datasette(seeded_app: Flask, engine: Engine, db_path: Path) -> None:
    path = need(CLAIMREVIEW / "claim_reviews.json")
    import_file(engine, path)
    word = "أوروبا"  # "Europe", in the first record's statement
    expected = {
        r[0]
        for r in query(db_path, "SELECT id FROM claims WHERE text LIKE ?", f"%{word}%")
        if re.search(rf"(^|\W){word}(\W|$)", query(db_path, "SELECT text FROM claims WHERE id = ?", r[0])[0][0])
    }
    assert expected
    page = seeded_app.test_client().get("/claims", query_string={"q": word})
    assert page.status_code == 200
    shown = {int(i) for i in re.findall(r'href="/claims/([0-9]+)"', page.get_data(as_text=True))}
    assert expected & shown == expected or len(shown) >= 50
    api = (
        seeded_app.test_client().get("/api/claims", query_string={"q": word, "language": "ar", "limit": 200}).get_json()
    )
    assert {c["id"] for c in api["claims"]} == expected
    settings = dataclasses.replace(
        Settings.from_env(), db_path=db_path, metadata_path=PROJECT_ROOT / "datasette-metadata.json"
    )
    asgi = create_asgi_app(seeded_app, settings)

    async def fetch() -> httpx.Response:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=asgi), base_url="http://localhost") as client:  # type: ignore[arg-type]
            return await client.get(
                "/data/claimtrack/claims.json", params={"_search": word, "_shape": "array", "_size": "max"}
            )

    found = asyncio.run(fetch())
    assert found.status_code == 200
    assert {r["id"] for r in found.json()} == expected


def test_claimskg_speaker_from_the_review_url(engine: Engine, db_path: Path) -> None:
    path = need(CLAIMREVIEW / "output_sample_politifact.csv")
    report = import_file(engine, path)
    assert (report.added, len(report.rejected)) == (30, 0)
    row = query(
        db_path,
        """SELECT c.*, s.name AS speaker FROM claims c JOIN speakers s ON s.id = c.speaker_id
        WHERE review_url LIKE '%bobby-scott%'""",
    )[0]
    assert row["speaker"] == "Bobby Scott" and row["rating_text"] == "False" and row["verdict"] == "false"
    assert row["review_date"] == "2021-07-22" and row["stated_on"] == "2021-07-12"
    assert "Monique Curet" not in {r[0] for r in query(db_path, "SELECT name FROM speakers")}


# --- CSV round trip ---------------------------------------------------------------------------------


def test_datasette_csv_export_round_trips_through_an_empty_database(
    seeded_app: Flask, db_path: Path, tmp_path: Path, db_templates
) -> None:
    with seeded_app.app_context():
        pass
    # An Arabic statement and one a spreadsheet would take for a formula, to check both survive.
    from claimtrack.db import make_engine, write_session
    from claimtrack.models import ClaimCreate
    from claimtrack.services.claims import create_claim

    engine = make_engine(db_path)
    with write_session(engine, actor="test") as session:
        create_claim(session, ClaimCreate.model_validate({"text": "-5 degrees in Aleppo", "speaker": {"name": "ICRC"}}))
        arabic = create_claim(
            session, ClaimCreate.model_validate({"text": "انقطاع التيار الكهربائي", "speaker": {"name": "x.com"}})
        )
        arabic.language = "ar"
        session.add(arabic)
    engine.dispose()
    settings = dataclasses.replace(
        Settings.from_env(), db_path=db_path, metadata_path=PROJECT_ROOT / "datasette-metadata.json"
    )
    asgi = create_asgi_app(seeded_app, settings)

    async def fetch() -> str:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=asgi), base_url="http://localhost") as client:  # type: ignore[arg-type]
            response = await client.get(
                "/data/claimtrack/claims.csv", params={"_labels": "on", "_stream": "on", "_size": "max"}
            )
            assert response.status_code == 200
            return response.text

    exported = tmp_path / "claims.csv"
    exported.write_text(await_(fetch()), encoding="utf-8")
    empty = tmp_path / "empty.db"
    shutil.copyfile(db_templates.migrated, empty)
    target = make_engine(empty)
    try:
        report = import_file(target, exported)
        assert not report.rejected
        columns = "c.text, c.verbatim, s.name, e.name, c.stated_on, c.stated_time, c.context, c.verdict, c.verdict_rationale, c.language, c.retracted"
        sql = f"SELECT {columns} FROM claims c JOIN speakers s ON s.id = c.speaker_id LEFT JOIN events e ON e.id = c.event_id ORDER BY c.id"
        assert query(empty, sql) and [tuple(r) for r in query(empty, sql)] == [tuple(r) for r in query(db_path, sql)]
        assert import_file(target, exported).added == 0
    finally:
        target.dispose()


def await_(coro):  # type: ignore[no-untyped-def]
    return asyncio.run(coro)


# --- rating table -------------------------------------------------------------------------------------


def test_rating_table_is_editable_and_checked(tmp_path: Path, engine: Engine, db_path: Path) -> None:
    table = load_ratings()
    assert table.verdict("Pants on Fire") == table.verdict(" pants-fire ") == "false"
    assert table.verdict("مضلل") == "misleading" and table.verdict("no idea") is None
    assert rating_key("  Mostly   TRUE ") == "mostly true"
    custom = tmp_path / "ratings.toml"
    custom.write_text('[ratings]\n"false" = "disputed"\n', encoding="utf-8")
    report = import_file(engine, DATA / "liar-broken.tsv", ratings=load_ratings(custom))
    assert dict(query(db_path, "SELECT rating_text, verdict FROM claims"))["false"] == "disputed"
    assert set(report.unmapped_ratings) == {"half-true", "mostly-true"}
    custom.write_text('[ratings]\n"false" = "wrong"\n', encoding="utf-8")
    with pytest.raises(FormatError, match="not one of"):
        load_ratings(custom)


def test_schema_keeps_external_ids_unique_and_language_checked(engine: Engine, db_path: Path) -> None:
    import sqlite3

    import_file(engine, DATA / "liar-broken.tsv")
    with sqlite3.connect(db_path) as conn:
        speaker = conn.execute("SELECT id FROM speakers LIMIT 1").fetchone()[0]
        for sql in (
            "INSERT INTO claims (text, speaker_id, created_at, updated_at, external_source, external_id) "
            "VALUES ('dup', ?, 'x', 'x', 'liar', '1.json')",
            "INSERT INTO claims (text, speaker_id, created_at, updated_at, language) VALUES ('bad', ?, 'x', 'x', 'e n')",
        ):
            with pytest.raises(sqlite3.IntegrityError):
                conn.execute(sql, (speaker,))
    assert row_counts(db_path)["claims"] == 3
    indexes = {r[1] for r in query(db_path, "PRAGMA index_list(claim_tags)")}
    assert {"ix_claim_tags_claim_id", "ix_claim_tags_tag_id"} <= indexes


# --- names of merged speakers, events and sources ---------------------------------------------------

MERGED_SPEAKER, KEPT_SPEAKER = "Russian Ministry of Defence", "Russian defence ministry"
MERGED_EVENT, KEPT_EVENT = "Aleppo evacuation 2016", "Aleppo evacuation, December 2016"
MIRROR_URL = "https://example.org/mirror/aleppo-evacuation-complete"
KEPT_URL = "https://www.ft.com/content/aleppo-evacuation-complete"


def merge_duplicates(engine: Engine) -> dict[str, int]:
    """Record a claim under a duplicate speaker, event and source, then merge each into the one to keep."""
    from claimtrack.db import write_session
    from claimtrack.models import ClaimCreate
    from claimtrack.services import merging
    from claimtrack.services.claims import create_claim

    with write_session(engine, actor="test") as session:
        create_claim(
            session,
            ClaimCreate.model_validate(
                {"text": "Thousands are still inside.", "speaker": {"name": KEPT_SPEAKER}, "source": {"url": KEPT_URL}}
            ),
        )
        claim = create_claim(
            session,
            ClaimCreate.model_validate(
                {
                    "text": "The evacuation of militants from Aleppo is over.",
                    "speaker": {"name": MERGED_SPEAKER},
                    "event": MERGED_EVENT,
                    "source": {"url": MIRROR_URL},
                }
            ),
        )
        old = {"speaker": claim.speaker_id, "event": claim.event_id}
    with write_session(engine, actor="test") as session:
        (old["source"],) = (
            session.connection().execute(text_("SELECT id FROM sources WHERE url = :u"), {"u": MIRROR_URL}).one()
        )
        kept = {
            "speaker": merging.merge(session, "speaker", old["speaker"], KEPT_SPEAKER).kept_id,
            "event": merging.merge(session, "event", old["event"], KEPT_EVENT).kept_id,
            "source": merging.merge(session, "source", old["source"], KEPT_URL).kept_id,
        }
    return kept


def write_csv(path: Path, rows: list[dict[str, str]]) -> Path:
    with path.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=["text", "speaker_id_label", "event_id_label"])
        writer.writeheader()
        writer.writerows(rows)
    return path


def test_an_import_after_a_merge_uses_the_kept_speaker_and_event(
    seeded_engine: Engine, db_path: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    kept = merge_duplicates(seeded_engine)
    path = write_csv(
        tmp_path / "claims.csv",
        [
            # The merged claim again, under the merged names: the same claim, already recorded.
            {"text": "The evacuation of militants from Aleppo is over.", "speaker_id_label": MERGED_SPEAKER,
             "event_id_label": MERGED_EVENT},
            # A new statement under the merged names, typed in another case and spacing.
            {"text": "Buses left at dawn.", "speaker_id_label": "russian  MINISTRY of defence",
             "event_id_label": "ALEPPO evacuation 2016"},
            {"text": "Aleppo is under government control.", "speaker_id_label": MERGED_SPEAKER, "event_id_label": ""},
        ],
    )  # fmt: skip
    before = snapshot(db_path)
    monkeypatch.setenv("CLAIMTRACK_DB", str(db_path))
    seeded_engine.dispose()
    result = CliRunner().invoke(main, ["import", str(path), "--dry-run"])
    assert result.exit_code == 0, result.output
    assert (
        "claims.csv: dry run, nothing written: would have added 2, skipped 1 duplicates, rejected 0." in result.output
    )
    assert snapshot(db_path) == before

    report = import_file(seeded_engine, path)
    assert (report.added, report.duplicates, report.rejected) == (2, 1, [])
    after = snapshot(db_path)
    assert after["speakers"] == before["speakers"] and after["events"] == before["events"]
    added = query(db_path, "SELECT speaker_id, event_id FROM claims WHERE text IN (?, ?) ORDER BY id",
                  "Buses left at dawn.", "Aleppo is under government control.")  # fmt: skip
    assert [tuple(r) for r in added] == [(kept["speaker"], kept["event"]), (kept["speaker"], None)]
    assert import_file(seeded_engine, path).added == 0


def test_an_import_citing_a_merged_source_cites_the_kept_one(
    seeded_engine: Engine, db_path: Path, tmp_path: Path
) -> None:
    kept = merge_duplicates(seeded_engine)
    path = tmp_path / "reviews.json"
    review = {
        "@type": "ClaimReview",
        "claimReviewed": "All civilians have left eastern Aleppo.",
        "itemReviewed": {"@type": "Claim", "author": {"name": MERGED_SPEAKER}, "appearance": MIRROR_URL},
    }
    path.write_text(json.dumps([review]), encoding="utf-8")
    sources = query(db_path, "SELECT count(*) FROM sources")[0][0]
    dry = import_file(seeded_engine, path, dry_run=True)
    report = import_file(seeded_engine, path)
    assert (dry.added, report.added, report.rejected) == (1, 1, [])
    assert query(db_path, "SELECT count(*) FROM sources")[0][0] == sources
    cited = query(
        db_path,
        "SELECT c.speaker_id, cs.source_id FROM claims c JOIN claim_sources cs ON cs.claim_id = c.id WHERE c.text = ?",
        review["claimReviewed"],
    )
    assert [tuple(r) for r in cited] == [(kept["speaker"], kept["source"])]


def test_a_source_without_url_is_matched_by_title_and_outlet_case_aside(
    seeded_engine: Engine, db_path: Path, tmp_path: Path
) -> None:
    def review(text: str, headline: str, publisher: str) -> dict[str, object]:
        appearance = {"@type": "CreativeWork", "headline": headline, "publisher": {"name": publisher}}
        return {
            "@type": "ClaimReview",
            "claimReviewed": text,
            "itemReviewed": {"@type": "Claim", "author": {"name": "A rebel official"}, "appearance": appearance},
        }

    first, second = tmp_path / "first.json", tmp_path / "second.json"
    # In one file (the import's own cache), then in a later import (the lookup in the database).
    first.write_text(json.dumps([review("Buses left at dawn.", "Live report", "SANA"),
                                 review("Buses came back empty.", "LIVE REPORT", "sana")]), encoding="utf-8")  # fmt: skip
    second.write_text(json.dumps([review("The crossing is closed.", "live Report", "Sana")]), encoding="utf-8")
    sources = query(db_path, "SELECT count(*) FROM sources")[0][0]
    assert import_file(seeded_engine, first).added == 2
    assert import_file(seeded_engine, second).added == 1
    assert query(db_path, "SELECT count(*) FROM sources")[0][0] == sources + 1
    cited = query(
        db_path,
        """SELECT DISTINCT s.title, s.outlet FROM claims c JOIN claim_sources cs ON cs.claim_id = c.id
        JOIN sources s ON s.id = cs.source_id WHERE c.text IN (?, ?, ?)""",
        "Buses left at dawn.", "Buses came back empty.", "The crossing is closed.",
    )  # fmt: skip
    assert [tuple(r) for r in cited] == [("Live report", "SANA")]

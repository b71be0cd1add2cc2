"""The picture at a glance over HTTP: the claim page's summary, graph and ClaimReview JSON-LD, the event page's
competing claims (one claim, then what contradicts it) and timeline, and how statements, dates and languages
are entered and shown."""

from __future__ import annotations

import json
import re
from html import unescape
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient

from tests.helpers import query, text_of

RDM_CLAIM = 1  # the seed's first claim: the Russian defence ministry says the evacuation was finished


def body(client: FlaskClient, url: str) -> str:
    response = client.get(url)
    assert response.status_code == 200, (url, response.status_code)
    return response.get_data(as_text=True)


def new_claim(client: FlaskClient, db_path: Path, **fields: str) -> int:
    data = {"speaker": "Test speaker", "speaker_kind": "person", **fields}
    response = client.post("/claims/new", data=data)
    assert response.status_code == 303, response.get_data(as_text=True)[:2000]
    return int(response.headers["Location"].rsplit("/", 1)[1])


def contradicting_ids(db_path: Path, claim_id: int) -> set[int]:
    found = query(
        db_path,
        """SELECT l.from_claim_id FROM claim_links l JOIN claims o ON o.id = l.from_claim_id
        WHERE l.to_claim_id = ? AND l.relation = 'contradicts' AND l.retracted = 0 AND o.retracted = 0""",
        claim_id,
    )
    return {r[0] for r in found}


def test_claim_page_summary_graph_and_jsonld(seeded_client: FlaskClient, seeded_app: Flask) -> None:
    db_path = Path(seeded_app.config["DATABASE"])
    page = body(seeded_client, f"/claims/{RDM_CLAIM}")
    summary = re.search(r'<p class="claim-summary">(.*?)</p>', page, re.DOTALL)
    assert summary, "no summary line"
    assert "Contradicted by 5 statements from 4 speakers" in text_of(summary.group(1))
    assert "verdict disputed" in text_of(summary.group(1))
    # The summary comes before the contradictions, the graph before the link sections.
    assert page.index('class="claim-summary"') < page.index('class="graph"') < page.index('id="h-incoming-contradicts"')

    svg = page[page.index("<svg") : page.index("</svg>")]
    linked = {int(i) for i in re.findall(r'<a href="/claims/(\d+)"', svg)}
    against = contradicting_ids(db_path, RDM_CLAIM)
    assert len(against) == 5 and against <= linked
    assert 'href="' + "/static/graph.css" in page

    scripts = re.findall(r'<script type="application/ld\+json">(.*?)</script>', page, re.DOTALL)
    assert len(scripts) == 1
    doc = json.loads(unescape(scripts[0]) if "&#" in scripts[0] else scripts[0])
    assert doc["@type"] == "ClaimReview"
    assert doc["reviewRating"]["alternateName"].lower() == "disputed"
    assert doc["url"].endswith(f"/claims/{RDM_CLAIM}")
    assert "evacuation" in doc["claimReviewed"].lower()


def test_claim_without_verdict_has_no_jsonld(seeded_client: FlaskClient, seeded_app: Flask) -> None:
    claim_id = new_claim(seeded_client, Path(seeded_app.config["DATABASE"]), text="No verdict yet")
    page = body(seeded_client, f"/claims/{claim_id}")
    assert "application/ld+json" not in page
    assert "No statement contradicts it yet" in text_of(page)


def test_event_page_groups_competing_claims_and_shows_timeline(seeded_client: FlaskClient, seeded_app: Flask) -> None:
    db_path = Path(seeded_app.config["DATABASE"])
    event_id = query(db_path, "SELECT event_id FROM claims WHERE id = ?", RDM_CLAIM)[0][0]
    page = body(seeded_client, f"/events/{event_id}")
    competing = re.search(r'aria-labelledby="h-competing">(.*?)</section>', page, re.DOTALL)
    assert competing, "no competing claims section"
    blocks = competing.group(1).split('<li class="answered">')[1:]
    heads = [int(re.search(r'href="/claims/(\d+)"', b).group(1)) for b in blocks]  # type: ignore[union-attr]
    assert heads.count(RDM_CLAIM) == 1, heads  # the Russian claim once, not once per contradiction
    block = blocks[heads.index(RDM_CLAIM)]
    against = re.search(r'<ul class="side against">(.*?)</ul>', block, re.DOTALL)
    assert against
    assert {int(i) for i in re.findall(r'href="/claims/(\d+)"', against.group(1))} == contradicting_ids(
        db_path, RDM_CLAIM
    )
    assert "contradicted by 5 statements" in text_of(block)
    # The event's graph and its timeline, with readable times in <time datetime>.
    assert 'id="event-graph-caption"' in page
    timeline = page[page.index('id="event-timeline-caption"') :]
    assert "<svg" in timeline
    assert re.search(r'<time datetime="2016-12-1\d(T\d\d:\d\d)?">1\d Dec 2016', timeline)


def test_language_and_translation_round_trip(seeded_client: FlaskClient, seeded_app: Flask) -> None:
    db_path = Path(seeded_app.config["DATABASE"])
    form = body(seeded_client, "/claims/new")
    assert re.search(r'<input[^>]*id="language"[^>]*value="en"', form), "the default language is offered"
    claim_id = new_claim(
        seeded_client,
        db_path,
        text="Эвакуация завершена",
        verbatim="y",
        language="RU",
        translation="The evacuation is complete",
        translated_by="Desk translator",
    )
    row = query(db_path, "SELECT language, translation, translated_by FROM claims WHERE id = ?", claim_id)[0]
    assert tuple(row) == ("ru", "The evacuation is complete", "Desk translator")
    page = body(seeded_client, f"/claims/{claim_id}")
    assert re.search(r'<q class="statement verbatim" lang="ru" dir="auto">Эвакуация завершена</q>', page)
    assert "Translation by Desk translator:" in text_of(page) and "The evacuation is complete" in page
    # The edit form starts from the stored values; the change is in the history.
    edit = body(seeded_client, f"/claims/{claim_id}/edit")
    assert re.search(r'id="language"[^>]*value="ru"', edit)
    response = seeded_client.post(
        f"/claims/{claim_id}/edit",
        data={"text": "Эвакуация завершена", "speaker": "Test speaker", "language": "uk", "translation": "Done"},
    )
    assert response.status_code == 303
    assert query(db_path, "SELECT language FROM claims WHERE id = ?", claim_id)[0][0] == "uk"
    changes = query(
        db_path,
        "SELECT field, old_value, new_value FROM change_history WHERE entity = 'claim' AND entity_id = ?"
        " AND action = 'edit'",
        claim_id,
    )
    assert ("language", "ru", "uk") in {tuple(r) for r in changes}
    # A client that leaves the language out keeps the stored one.
    seeded_client.post(f"/claims/{claim_id}/edit", data={"text": "Эвакуация завершена", "speaker": "Test speaker"})
    assert query(db_path, "SELECT language FROM claims WHERE id = ?", claim_id)[0][0] == "uk"
    # The list filters by language; a malformed tag is a 400 that says what is expected.
    listed = body(seeded_client, "/claims?language=uk")
    assert f'href="/claims/{claim_id}"' in listed and f'href="/claims/{RDM_CLAIM}"' not in listed
    bad = seeded_client.get("/claims?language=not a tag")
    assert bad.status_code == 400 and "language tag" in bad.get_data(as_text=True)


def test_bad_language_and_lonely_translator_are_refused(seeded_client: FlaskClient, seeded_app: Flask) -> None:
    db_path = Path(seeded_app.config["DATABASE"])
    before = query(db_path, "SELECT count(*) FROM claims")[0][0]
    response = seeded_client.post("/claims/new", data={"text": "x", "speaker": "S", "language": "english!"})
    assert response.status_code == 400 and "is not a language tag" in text_of(response.get_data(as_text=True))
    response = seeded_client.post("/claims/new", data={"text": "x", "speaker": "S", "translated_by": "Someone"})
    assert response.status_code == 400 and "Give the translation" in text_of(response.get_data(as_text=True))
    assert query(db_path, "SELECT count(*) FROM claims")[0][0] == before


def test_dates_typed_day_first_are_accepted(seeded_client: FlaskClient, seeded_app: Flask) -> None:
    db_path = Path(seeded_app.config["DATABASE"])
    form = body(seeded_client, "/claims/new")
    assert re.search(r'<input[^>]*id="stated_on"[^>]*type="date"|<input[^>]*type="date"[^>]*id="stated_on"', form)
    for typed in ("16/12/2016", "16.12.2016", "2016-12-16"):
        claim_id = new_claim(seeded_client, db_path, text=f"Said on {typed}", stated_on=typed, stated_time="19:35")
        assert query(db_path, "SELECT stated_on FROM claims WHERE id = ?", claim_id)[0][0] == "2016-12-16"
    page = body(seeded_client, f"/claims/{claim_id}")
    assert '<time datetime="2016-12-16T19:35">16 December 2016, 19:35</time>' in page
    for typed in ("12/31/2016", "31/02/2016", "2016/12/16", "sixteenth"):
        response = seeded_client.post("/claims/new", data={"text": "x", "speaker": "S", "stated_on": typed})
        assert response.status_code == 400
        assert "16/12/2016 or 16.12.2016" in text_of(response.get_data(as_text=True))


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("/sources", '<time datetime="2016-12-16">16 December 2016</time>'),
        ("/sources/1", '<dt>Published</dt><dd><time datetime="2016-12-16">16 December 2016</time></dd>'),
        ("/events", '<time datetime="2016-12-15">15 December 2016</time>'),
    ],
)
def test_lists_and_source_pages_give_dates_in_words(seeded_client: FlaskClient, url: str, shown: str) -> None:
    """The seeded report's publication date and the event's first day read in words, as on every other page."""
    page = body(seeded_client, url)
    assert shown in page, re.findall(r"<td>[^<]*2016[^<]*</td>|<time[^>]*>[^<]*</time>", page)[:5]


def test_line_breaks_and_own_quotes(seeded_client: FlaskClient, seeded_app: Flask) -> None:
    db_path = Path(seeded_app.config["DATABASE"])
    claim_id = new_claim(seeded_client, db_path, text="First line.\r\nSecond line.", verbatim="y")
    page = body(seeded_client, f"/claims/{claim_id}")
    assert re.search(r'<q class="statement verbatim"[^>]*>First line\.\r?\nSecond line\.</q>', page)
    css = (Path(seeded_app.static_folder or "") / "style.css").read_text(encoding="utf-8")
    assert re.search(r"\.statement[^{]*\{[^}]*white-space:\s*pre-line", css)

    quoted = new_claim(seeded_client, db_path, text="“The evacuation is over”", verbatim="y")
    page = body(seeded_client, f"/claims/{quoted}")
    assert re.search(r'<q class="statement verbatim own-quotes"[^>]*>“The evacuation is over”</q>', page)
    assert re.search(r"q\.statement\.own-quotes\s*\{\s*quotes:\s*none", css)
    # The same statement by the same speaker without its quote marks: the duplicate guard asks first.
    plain = new_claim(seeded_client, db_path, text="The evacuation is over", verbatim="y", confirm_duplicate="y")
    assert 'class="statement verbatim"' in body(seeded_client, f"/claims/{plain}")

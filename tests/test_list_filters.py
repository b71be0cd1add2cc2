"""The claims list filtered by a speaker's or an event's name (or part of one), beside the id filters.

Seeded Aleppo scenario: the Russian defence ministry speaks for the Russian government; the ICRC official
and Pawel Krzysiek speak for the International Committee of the Red Cross; every statement belongs to the
event "Aleppo evacuation, December 2016".
"""

from __future__ import annotations

import re
import sqlite3
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode

import pytest
from flask import Flask
from flask.testing import FlaskClient
from helpers import FTS_SYNTAX, query, statements_sent, text_of

from claimtrack.services.common import MAX_NAME_MATCHES

MINISTRY = "Russian defence ministry"
ICRC = "International Committee of the Red Cross"
ALEPPO = "Aleppo evacuation, December 2016"


def listed(client: FlaskClient, **args: str) -> tuple[list[int], str]:
    """The claim ids a list page shows, in order, and its visible text (the page must answer 200)."""
    response = client.get("/claims?" + urlencode(args))
    assert response.status_code == 200, (args, response.status_code)
    page = response.get_data(as_text=True)
    ids = [int(i) for i in re.findall(r'<li class="claim[^"]*">.*?href="/claims/(\d+)"', page, re.DOTALL)]
    return ids, text_of(page)


def live_claims(db_path: Path, where: str, *params: Any) -> list[int]:
    return [
        r[0]
        for r in query(db_path, f"SELECT id FROM claims c WHERE retracted = 0 AND {where} ORDER BY id DESC", *params)
    ]


def speaker_id(db_path: Path, name: str) -> int:
    return int(query(db_path, "SELECT id FROM speakers WHERE name = ?", name)[0][0])


@pytest.fixture
def reader(seeded_app: Flask) -> FlaskClient:
    return seeded_app.test_client()


def test_part_of_a_speakers_name_lists_only_that_speakers_claims(reader: FlaskClient, db_path: Path) -> None:
    expected = live_claims(db_path, "speaker_id = ?", speaker_id(db_path, MINISTRY))
    assert expected
    for typed in ("Russian defence", "russian DEFENCE ministry", "defence ministry", " Russian\u200b defence "):
        ids, text = listed(reader, speaker=typed)
        assert ids == expected, typed
        assert f"matching “{typed.strip().replace(chr(0x200B), '')}”: {MINISTRY}" in text, typed


def test_a_speaker_matched_by_name_brings_those_who_speak_for_it(reader: FlaskClient, db_path: Path) -> None:
    # As on the speaker's own page: the ICRC's list holds its official's and its spokesman's statements.
    icrc = speaker_id(db_path, ICRC)
    members = live_claims(
        db_path, "speaker_id IN (SELECT id FROM speakers WHERE id = ? OR affiliation_id = ?)", icrc, icrc
    )
    assert (
        len(
            {r[0] for r in query(db_path, f"SELECT speaker_id FROM claims WHERE id IN ({','.join(map(str, members))})")}
        )
        > 1
    )
    ids, text = listed(reader, speaker=ICRC)
    assert ids == members and "with those who speak for it" in text
    # An id keeps its meaning: that speaker's own claims only (the speaker page's "Only ... own claims").
    assert listed(reader, speaker=str(icrc))[0] == live_claims(db_path, "speaker_id = ?", icrc)


def test_several_speakers_can_match_a_beginning(reader: FlaskClient, db_path: Path) -> None:
    ids, text = listed(reader, speaker="Russian")
    government = speaker_id(db_path, "Russian government")
    everyone = live_claims(
        db_path, "speaker_id IN (SELECT id FROM speakers WHERE id = ? OR affiliation_id = ?)", government, government
    )
    assert ids == everyone
    assert "Speakers matching “Russian”: Russian defence ministry , Russian government , with those" in text


def test_no_matching_speaker_says_so_instead_of_listing_everything(reader: FlaskClient) -> None:
    ids, text = listed(reader, speaker="nobody")
    assert ids == []
    assert "No speaker matches “nobody”" in text and "No claims match" not in text
    ids, text = listed(reader, speaker="nobody", event="Aleppo")
    assert ids == [] and "No speaker matches “nobody”" in text


@pytest.mark.parametrize(("arg", "label"), [("speaker", "speaker"), ("event", "event"), ("source", "source")])
def test_an_id_that_does_not_exist_says_so(reader: FlaskClient, arg: str, label: str) -> None:
    """?speaker=<id> of no record (a mistyped or shared link) says which id is missing, not that no claim
    matched, and offers the whole list."""
    ids, text = listed(reader, **{arg: "999999"}, verdict="false")
    assert ids == []
    assert f"No {label} with id 999999: no claims are listed." in text and "No claims match" not in text, text[-400:]
    page = reader.get(f"/claims?{arg}=999999&verdict=false").get_data(as_text=True)
    assert 'href="/claims?verdict=false"' in page  # the other filters kept


def test_event_by_name_or_its_beginning(reader: FlaskClient, db_path: Path) -> None:
    event_id = int(query(db_path, "SELECT id FROM events WHERE name = ?", ALEPPO)[0][0])
    expected = live_claims(db_path, "event_id = ?", event_id)
    assert expected
    for typed in (ALEPPO, "aleppo evac", "Aleppo"):
        ids, text = listed(reader, event=typed)
        assert ids == expected and f"matching “{typed}”: {ALEPPO}" in text, typed
    ids, text = listed(reader, event="Mosul")
    assert ids == [] and "No event matches “Mosul”" in text
    # The id still works, and the field shows the event's name (sending the form again keeps the filter).
    response = reader.get(f"/claims?event={event_id}")
    assert response.status_code == 200 and f'value="{ALEPPO}"' in response.get_data(as_text=True)
    assert listed(reader, event=str(event_id))[0] == expected
    # Names and words together.
    ids, _ = listed(reader, event="Aleppo", speaker="Russian defence", q="finished")
    assert (
        ids
        and set(ids) <= set(expected)
        and set(ids) <= set(live_claims(db_path, "speaker_id = ?", speaker_id(db_path, MINISTRY)))
    )


def test_a_numeral_is_an_id_and_other_scripts_numerals_are_refused(reader: FlaskClient) -> None:
    assert reader.get("/claims?speaker=999999").status_code == 200
    assert reader.get("/claims?speaker=" + "١٢").status_code == 400
    assert reader.get("/claims?event=²").status_code == 400


HOSTILE = [
    *FTS_SYNTAX,
    "name : x",
    "^Russian",
    "%",
    "_",
    "\\",
    "Russian*",
    '"Russian',
    "\u202eRussian",
]


@pytest.mark.parametrize("value", HOSTILE)
def test_hostile_names_give_a_clean_page(reader: FlaskClient, value: str) -> None:
    # Taken as a name (FTS5 syntax, quotes and LIKE wildcards literally): a page that says what matched.
    for arg in ("speaker", "event"):
        response = reader.get("/claims?" + urlencode({arg: value, "q": value}))
        assert response.status_code == 200, (arg, value, response.status_code)
        page = response.get_data(as_text=True)
        assert "Traceback" not in page and "<b>x</b>" not in page
        assert f"No {arg} matches" in page or f"{arg.capitalize()}s matching" in page, (arg, value)


def test_many_matches_are_bounded_said_and_cost_no_more_queries(seeded_app: Flask, db_path: Path) -> None:
    with sqlite3.connect(db_path) as db:
        now = "2026-12-01T00:00:00"
        db.executemany(
            "INSERT INTO speakers (name, kind, anonymous, created_at, updated_at, version) VALUES (?, 'person', 0, ?, ?, 1)",
            [(f"Bulk speaker {i:03}", now, now) for i in range(MAX_NAME_MATCHES + 5)],
        )
        first = db.execute("SELECT id FROM speakers WHERE name = 'Bulk speaker 000'").fetchone()[0]
        db.execute(
            "INSERT INTO claims (text, language, verbatim, speaker_id, retracted, created_at, updated_at, version)"
            " VALUES ('A bulk statement.', 'en', 0, ?, 0, ?, ?, 1)",
            (first, now, now),
        )
    reader = seeded_app.test_client()
    listed(reader)  # opens the app's engine
    with statements_sent(seeded_app.extensions["claimtrack.engine"]) as statements:
        ids, text = listed(reader, speaker="Bulk speaker")
        many = len(statements)
        statements.clear()
        listed(reader, speaker="Russian defence")  # one speaker, found the same way (by its beginning)
        one = len(statements)
    assert len(ids) == 1 and f"More than {MAX_NAME_MATCHES} speakers match" in text
    assert many == one, (many, one)


def test_a_name_that_matches_nothing_offers_the_recorded_names_like_it(reader: FlaskClient, db_path: Path) -> None:
    """ "Russian MoD" is no recorded name, but the near-name rule knows the ministry: the page offers it."""
    response = reader.get("/claims?" + urlencode({"speaker": "Russian MoD", "q": "evacuation"}))
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "No speaker matches “Russian MoD”" in text_of(page)
    offered = re.search(r"Did you mean <a href=\"([^\"]+)\">([^<]+)</a>", page)
    assert offered is not None and offered.group(2) == MINISTRY, text_of(page)
    # The offer keeps the other filters and lists the ministry's claims.
    href = offered.group(1).replace("&amp;", "&")
    args = dict(parse_qsl(href.split("?", 1)[1]))
    assert args == {"speaker": MINISTRY, "q": "evacuation"}
    ids, _text = listed(reader, **args)
    ministry = set(live_claims(db_path, "speaker_id = ?", speaker_id(db_path, MINISTRY)))
    assert ids and set(ids) <= ministry
    # Nothing near: no offer.
    _ids, text = listed(reader, speaker="nobody")
    assert "Did you mean" not in text

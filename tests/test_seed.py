"""The Aleppo scenario (seeds/aleppo-evacuation-2016-12.toml) against the report it is taken from."""

from __future__ import annotations

import re
from typing import Any

import pytest
from helpers import SEED_FILE, SHARED, TABLES
from sqlalchemy import Engine, text

from claimtrack.db import write_session
from claimtrack.models import SpeakerCreate
from claimtrack.services.seeding import load_seed, read_seed
from claimtrack.services.speakers import create_speaker

# The report's text lives beside the project (not in it); the checks against it skip where it is absent.
REPORT = SHARED / "seed" / "aleppo-evacuation-ft-2016-12.txt"
HEADLINE = "was finished on Friday."
ICRC = "International Committee of the Red Cross"

# (speaker, words from the statement, verbatim, the speaker's affiliation or None)
REQUIRED = [
    (
        "Russian defence ministry",
        "The Syrian army operation to liberate the militant-controlled eastern districts of Aleppo is complete",
        True,
        "Russian government",
    ),
    (
        "Russian defence ministry",
        "Syrian government forces are liquidating isolated pockets of resistance by radicals",
        True,
        "Russian government",
    ),
    (
        "Russian defence ministry",
        "The evacuation of thousands of people trapped for months in the last rebel foothold of "
        "Aleppo was finished on Friday",
        False,
        "Russian government",
    ),
    ("Vladimir Putin", "be reaching an agreement on a full ceasefire", False, "Russian government"),
    (
        "Vladimir Putin",
        "We are leading very active negotiations with representatives of the armed opposition in Syria, "
        "also through the mediation of Turkey",
        True,
        "Russian government",
    ),
    ("Activists in Aleppo", "likely to be thousands of people still inside", False, None),
    ("ICRC official working on the evacuation", "likely to be thousands of people still inside", False, ICRC),
    (
        "Abdu Khudr",
        "There were still thousands of people, families with women and children, when I left",
        True,
        "Activists in Aleppo",
    ),
    (
        "Senior rebel official",
        "The recent statements that you’re hearing from the Russians about the evacuation being over are false",
        True,
        "Syrian armed opposition",
    ),
    (
        "Senior rebel official",
        "[They] obstructed the evacuation many times over the last 48 hours",
        True,
        "Syrian armed opposition",
    ),
    (
        "Senior rebel official",
        "negotiations for a resumption of the evacuation were not over",
        False,
        "Syrian armed opposition",
    ),
    ("Senior rebel official", "planning a massacre", False, "Syrian armed opposition"),
    (
        "Ikhbariya",
        "fighters leaving eastern Aleppo tried to take hostages and heavy weapons",
        False,
        "Syrian government",
    ),
    ("Activists in Aleppo", "pro-government militias, who are controlling checkpoints", False, None),
    ("Rebel leader", "agreed to evacuate wounded people from the two towns", False, "Syrian armed opposition"),
    ("Financial Times", "Iran imposed the towns’ evacuation as an extra condition", None, None),
    ("Financial Times", "Fatah al-Sham, which has ties to al-Qaeda, rejected the deal", None, None),
    ("Financial Times", "It was not immediately clear what caused the blasts", None, None),
    ("Mohammed Edel", "I’m going to leave a piece of my heart here and go away", True, "Activists in Aleppo"),
    ("Pawel Krzysiek", "some people were crying as they decided what to take with them", False, ICRC),
    ("Pawel Krzysiek", "their eyes are filled with sadness", True, ICRC),
]

# Statements that must contradict the headline claim: (speaker, words).
CONTRADICT_HEADLINE = [
    ("Activists in Aleppo", "thousands of people still inside"),
    ("ICRC official working on the evacuation", "thousands of people still inside"),
    ("Abdu Khudr", "families with women and children"),
    ("Senior rebel official", "about the evacuation being over are false"),
    ("Senior rebel official", "were not over"),
]


# --- helpers --------------------------------------------------------------------------------


def rows(engine: Engine, sql: str, **params: Any) -> list[Any]:
    with engine.connect() as conn:
        return list(conn.execute(text(sql), params).mappings())


def snapshot(engine: Engine) -> dict[str, list[Any]]:
    with engine.connect() as conn:
        return {t: [tuple(r) for r in conn.execute(text(f"SELECT * FROM {t} ORDER BY id"))] for t in TABLES}


CLAIMS_SQL = """SELECT c.id, c.text, c.verbatim, c.stated_on, c.event_id, s.name AS speaker, s.kind, s.anonymous,
    s.description, a.name AS affiliation
FROM claims c JOIN speakers s ON s.id = c.speaker_id LEFT JOIN speakers a ON a.id = s.affiliation_id"""


def find(claims: list[Any], speaker: str, words: str) -> Any:
    found = [c for c in claims if c["speaker"] == speaker and words.casefold() in c["text"].casefold()]
    assert len(found) == 1, f"expected one statement by {speaker!r} with {words!r}, found {len(found)}"
    return found[0]


def normalise(value: str) -> str:
    return " ".join(value.split())


def quote_pattern(fragment: str) -> str:
    """A regex for a quoted fragment. An editorial insertion such as "[They]" matches any bracketed insertion
    the report prints there, or the few words it stands for: the speaker's own words around it must match."""
    parts = re.split(r"(\[[^\]]+\])", fragment)
    out = []
    for part in parts:
        if part.startswith("[") and part.endswith("]"):
            out.append(r"(?:\[[^\]]+\]|\w+(?: \w+){0,3})")
        else:
            out.append(re.escape(part))
    return "".join(out)


def appears_verbatim(quote: str, report: str) -> bool:
    """The quote's sentences appear word for word, in order. The report may split a quote around "he said" and
    end a sentence inside the quote with a comma where the claim ends it with a full stop."""
    position = 0
    for sentence in re.split(r"(?<=[.!?])\s+", normalise(quote)):
        fragment = sentence.rstrip(".,!?")
        if not fragment:
            continue
        match = re.compile(quote_pattern(fragment)).search(report, position)
        if match is None:
            return False
        position = match.end()
    return True


@pytest.fixture
def claims(seeded_engine: Engine) -> list[Any]:
    return rows(seeded_engine, CLAIMS_SQL)


@pytest.fixture(scope="module")
def report_text() -> str:
    if not REPORT.is_file():
        pytest.skip(f"the report's text is not beside the project ({REPORT}): only the seed's own checks run")
    return normalise(REPORT.read_text(encoding="utf-8"))


# --- the file itself ------------------------------------------------------------------------


def test_seed_file_is_consistent() -> None:
    data = read_seed(SEED_FILE)
    keys = [c["key"] for c in data["claims"]]
    assert len(keys) == len(set(keys)), "claim keys must be unique"
    speakers = {s["name"] for s in data["speakers"]}
    assert len(speakers) == len(data["speakers"])
    for claim in data["claims"]:
        assert claim["speaker"] in speakers, f"{claim['key']}: speaker {claim['speaker']!r} is not declared"
        assert isinstance(claim.get("verbatim"), bool), f"{claim['key']}: say whether it is verbatim"
    for speaker in data["speakers"]:
        if "affiliation" in speaker:
            assert speaker["affiliation"] in speakers
    for link in data["links"]:
        assert link["from"] in keys and link["to"] in keys and link["from"] != link["to"]
        assert link["relation"] in {"contradicts", "supports", "qualifies"}
        assert link.get("note"), "every link says why"
    pairs = [frozenset((link["from"], link["to"])) for link in data["links"]]
    assert len(pairs) == len(set(pairs)), "a pair of statements is linked once"


# --- statements, speakers and links ---------------------------------------------------------


@pytest.mark.parametrize(
    ("speaker", "words", "verbatim", "affiliation"), REQUIRED, ids=[f"{s}: {w[:30]}" for s, w, _, _ in REQUIRED]
)
def test_required_statement(
    claims: list[Any], speaker: str, words: str, verbatim: bool | None, affiliation: str | None
) -> None:
    claim = find(claims, speaker, words)
    if verbatim is not None:
        assert bool(claim["verbatim"]) is verbatim
    assert claim["affiliation"] == affiliation
    assert claim["stated_on"] == "2016-12-16"
    assert claim["event_id"] is not None


def test_speakers_kinds_and_anonymity(seeded_engine: Engine) -> None:
    speakers = {
        r["name"]: r
        for r in rows(
            seeded_engine,
            """SELECT s.name, s.kind, s.anonymous, s.description,
        a.name AS affiliation FROM speakers s LEFT JOIN speakers a ON a.id = s.affiliation_id""",
        )
    }
    assert speakers["Russian defence ministry"]["kind"] == "government_body"
    assert speakers["Vladimir Putin"]["kind"] == "person"
    assert speakers["Activists in Aleppo"]["kind"] == "group"
    assert speakers["Ikhbariya"]["kind"] == "media_outlet"
    assert speakers["Syrian armed opposition"]["kind"] == "armed_group"
    assert speakers[ICRC]["kind"] == "organisation"
    for unnamed in ("Senior rebel official", "ICRC official working on the evacuation", "Rebel leader"):
        assert speakers[unnamed]["anonymous"] == 1, unnamed
    for named in ("Abdu Khudr", "Pawel Krzysiek", "Mohammed Edel", "Vladimir Putin"):
        assert speakers[named]["anonymous"] == 0, named
    krzysiek = speakers["Pawel Krzysiek"]
    assert "spokesman" in krzysiek["description"].casefold()
    assert krzysiek["affiliation"] == ICRC and "ICRC" in speakers[ICRC]["description"]
    assert "activist" in speakers["Abdu Khudr"]["description"].casefold()
    assert "convoy" in speakers["Abdu Khudr"]["description"].casefold()


def test_headline_claim_is_contradicted_by_the_required_statements(seeded_engine: Engine, claims: list[Any]) -> None:
    headline = find(claims, "Russian defence ministry", HEADLINE)
    assert headline["verbatim"] == 0
    links = rows(
        seeded_engine, "SELECT from_claim_id, relation FROM claim_links WHERE to_claim_id = :id", id=headline["id"]
    )
    contradicting = {link["from_claim_id"] for link in links if link["relation"] == "contradicts"}
    for speaker, words in CONTRADICT_HEADLINE:
        assert find(claims, speaker, words)["id"] in contradicting, f"{speaker}: {words}"
    # The headline claim answers nothing itself: it is the claim being answered.
    assert (
        rows(seeded_engine, "SELECT count(*) AS n FROM claim_links WHERE from_claim_id = :id", id=headline["id"])[0][
            "n"
        ]
        == 0
    )


def test_activists_explanation_contradicts_ikhbariya(seeded_engine: Engine, claims: list[Any]) -> None:
    ikhbariya = find(claims, "Ikhbariya", "hostages and heavy weapons")
    activists = find(claims, "Activists in Aleppo", "pro-government militias")
    found = rows(
        seeded_engine,
        "SELECT relation FROM claim_links WHERE from_claim_id = :a AND to_claim_id = :b",
        a=activists["id"],
        b=ikhbariya["id"],
    )
    assert [r["relation"] for r in found] == ["contradicts"]


def test_every_statement_cites_the_report_and_the_event(seeded_engine: Engine) -> None:
    missing = rows(
        seeded_engine,
        """SELECT c.id FROM claims c WHERE c.event_id IS NULL OR NOT EXISTS (
        SELECT 1 FROM claim_sources cs JOIN sources s ON s.id = cs.source_id
        WHERE cs.claim_id = c.id AND s.title = 'Aleppo evacuation is complete, claims Russia'
        AND s.outlet = 'Financial Times' AND s.published_on = '2016-12-16')""",
    )
    assert missing == []
    events = rows(seeded_engine, "SELECT name, starts_on FROM events")
    assert [tuple(e.values()) for e in events] == [("Aleppo evacuation, December 2016", "2016-12-15")]


# --- quotes are the report's words ----------------------------------------------------------


def test_quote_matching_is_strict(report_text: str) -> None:
    """The checker itself: a quote must be in the report, in order; "[They]" is an editorial insertion."""
    assert appears_verbatim("[They] obstructed the evacuation many times over the last 48 hours.", report_text)
    assert appears_verbatim(
        "[Iran and the regime] obstructed the evacuation many times over the last 48 hours.", report_text
    )
    assert not appears_verbatim("[They] obstructed the evacuation many times over the last 24 hours.", report_text)
    assert not appears_verbatim("The evacuation was complete.", report_text)
    # Spliced across "said Mohammed Edel", in the report's order only.
    assert appears_verbatim(
        "I’m going to be displaced. But I promise, I promise you all: One day I’ll get back home.", report_text
    )
    assert not appears_verbatim("But I promise, I promise you all. I’m going to be displaced.", report_text)


def test_verbatim_quotes_appear_word_for_word_in_the_report(claims: list[Any], report_text: str) -> None:
    verbatim = [c for c in claims if c["verbatim"]]
    assert len(verbatim) >= 10
    wrong = [c["text"] for c in verbatim if not appears_verbatim(c["text"], report_text)]
    assert wrong == []


def test_the_obstructed_quote_is_there_as_printed(claims: list[Any], report_text: str) -> None:
    claim = find(claims, "Senior rebel official", "obstructed the evacuation")
    assert claim["text"].startswith("[They] ")
    # The report prints the bracketed insertion itself; the claim keeps it rather than guessing who "they" are.
    assert "“[They] obstructed the evacuation many times over the last 48 hours,”" in report_text


# --- loading twice --------------------------------------------------------------------------


def test_loading_twice_adds_nothing(engine: Engine) -> None:
    data = read_seed(SEED_FILE)
    with write_session(engine, actor="test") as session:
        first = load_seed(session, data)
    assert (first.speakers, first.claims, first.links) == (
        len(data["speakers"]),
        len(data["claims"]),
        len(data["links"]),
    )
    before = snapshot(engine)
    for _ in range(2):
        with write_session(engine, actor="test") as session:
            again = load_seed(session, read_seed(SEED_FILE))
        assert (again.speakers, again.claims, again.links) == (0, 0, 0)
        assert str(again) == "0 speakers, 0 claims and 0 links added"
    # Not a single row changed, timestamps included.
    assert snapshot(engine) == before


def test_loading_matches_what_a_fact_checker_already_entered(engine: Engine) -> None:
    data = read_seed(SEED_FILE)
    with write_session(engine, actor="test") as session:
        create_speaker(session, SpeakerCreate(name="RUSSIAN DEFENCE MINISTRY", kind="government_body"))
    with write_session(engine, actor="test") as session:
        report = load_seed(session, data)
    assert report.speakers == len(data["speakers"]) - 1
    names = [r["name"] for r in rows(engine, "SELECT name FROM speakers WHERE name = 'russian defence ministry'")]
    assert names == ["RUSSIAN DEFENCE MINISTRY"]
    # The speaker gets the affiliation it lacked.
    affiliation = rows(
        engine,
        """SELECT a.name FROM speakers s JOIN speakers a ON a.id = s.affiliation_id
        WHERE s.name = 'Russian defence ministry'""",
    )
    assert [r["name"] for r in affiliation] == ["Russian government"]
    assert rows(engine, "SELECT count(*) AS n FROM speakers")[0]["n"] == len(data["speakers"])


def test_the_report_file_is_read_whole(report_text: str) -> None:
    """Statements near the end of the report are in the scenario too."""
    assert "Pawel Krzysiek" in report_text
    data = read_seed(SEED_FILE)
    texts = " ".join(c["text"] for c in data["claims"])
    for late in (
        "creepy, terrible video game",
        "One day I’ll get back home",
        "broke down over similar issues on Wednesday",
    ):
        assert late in texts and late in report_text

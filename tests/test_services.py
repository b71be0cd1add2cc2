"""The services layer on a real, migrated SQLite file: no Flask involved."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from claimtrack.db import read_session, write_session
from claimtrack.models import (
    Claim,
    ClaimCreate,
    ClaimLink,
    ClaimSource,
    ClaimUpdate,
    Event,
    EventCreate,
    EventUpdate,
    LinkCreate,
    LinkUpdate,
    Relation,
    Source,
    SourceCreate,
    SourceUpdate,
    Speaker,
    SpeakerCreate,
    SpeakerUpdate,
)
from claimtrack.services import claims as claim_service
from claimtrack.services import events as event_service
from claimtrack.services import links as link_service
from claimtrack.services import sources as source_service
from claimtrack.services import speakers as speaker_service
from claimtrack.services.claims import ClaimFilters
from claimtrack.services.errors import Conflict, InvalidInput, NotFound

TABLES = ("claims", "speakers", "sources", "events", "claim_links", "claim_sources")


# --- helpers --------------------------------------------------------------------------------


def claim_in(
    text_: str, speaker: str = "Speaker A", *, model: type[ClaimCreate] = ClaimCreate, **kw: Any
) -> ClaimCreate:
    speaker_fields: dict[str, Any] = {"name": speaker}
    for key, field in (
        ("affiliation", "affiliation"),
        ("speaker_kind", "kind"),
        ("speaker_description", "description"),
    ):
        if key in kw:
            speaker_fields[field] = kw.pop(key)
    return model.model_validate({"text": text_, "speaker": speaker_fields, "source": kw.pop("source", {}), **kw})


def new_claim(engine: Engine, text_: str, speaker: str = "Speaker A", **kw: Any) -> int:
    with write_session(engine, actor="test") as session:
        return claim_service.create_claim(session, claim_in(text_, speaker, **kw)).id  # type: ignore[return-value]


def link(engine: Engine, claim_id: int, other_id: int, relation: str = "contradicts", note: str | None = None) -> int:
    with write_session(engine, actor="test") as session:
        made = link_service.add_link(session, claim_id, LinkCreate(relation=relation, note=note, target_id=other_id))
        return made.id  # type: ignore[return-value]


def counts(engine: Engine) -> dict[str, int]:
    with engine.connect() as conn:
        return {t: conn.execute(text(f"SELECT count(*) FROM {t}")).scalar_one() for t in TABLES}


def one(engine: Engine, sql: str, **params: Any) -> Any:
    with engine.connect() as conn:
        return conn.execute(text(sql), params).mappings().one()


def all_rows(engine: Engine, sql: str, **params: Any) -> list[Any]:
    with engine.connect() as conn:
        return list(conn.execute(text(sql), params).mappings())


def listed(engine: Engine, filters: ClaimFilters, **kw: Any) -> list[int]:
    with read_session(engine) as session:
        return [r["id"] for r in claim_service.list_claims(session, filters, **kw).items]


# --- creating and updating claims -----------------------------------------------------------


def test_create_claim_creates_speaker_affiliation_source_and_event(engine: Engine) -> None:
    claim_id = new_claim(
        engine,
        "Thousands are still inside.",
        "Pawel Krzysiek",
        speaker_kind="person",
        speaker_description="spokesman",
        affiliation="ICRC",
        verbatim=True,
        stated_on="2016-12-16",
        stated_time="14:30",
        event="Aleppo evacuation, December 2016",
        source={"url": "https://example.org/a", "title": "A report", "outlet": "Example", "published_on": "2016-12-16"},
        verdict="disputed",
    )
    row = one(
        engine,
        """SELECT c.text, c.verbatim, c.stated_on, c.stated_time, c.verdict, s.name AS speaker, s.kind,
        s.description, a.name AS affiliation, a.kind AS affiliation_kind, e.name AS event
        FROM claims c JOIN speakers s ON s.id = c.speaker_id LEFT JOIN speakers a ON a.id = s.affiliation_id
        LEFT JOIN events e ON e.id = c.event_id WHERE c.id = :id""",
        id=claim_id,
    )
    assert dict(row) == {
        "text": "Thousands are still inside.",
        "verbatim": 1,
        "stated_on": "2016-12-16",
        "stated_time": "14:30",
        "verdict": "disputed",
        "speaker": "Pawel Krzysiek",
        "kind": "person",
        "description": "spokesman",
        "affiliation": "ICRC",
        "affiliation_kind": "organisation",
        "event": "Aleppo evacuation, December 2016",
    }
    sources = all_rows(
        engine,
        "SELECT s.url, s.title, s.outlet, s.published_on FROM claim_sources cs JOIN sources s ON s.id = cs.source_id "
        "WHERE cs.claim_id = :id",
        id=claim_id,
    )
    assert [dict(s) for s in sources] == [
        {"url": "https://example.org/a", "title": "A report", "outlet": "Example", "published_on": "2016-12-16"}
    ]
    assert counts(engine) == {
        "claims": 1,
        "speakers": 2,
        "sources": 1,
        "events": 1,
        "claim_links": 0,
        "claim_sources": 1,
    }


def test_speaker_is_matched_case_insensitively_and_keeps_its_details(engine: Engine) -> None:
    first = new_claim(
        engine,
        "One",
        "Russian defence ministry",
        speaker_kind="government_body",
        speaker_description="Ministry of Defence",
    )
    second = new_claim(
        engine, "Two", "  RUSSIAN Defence MINISTRY ", speaker_kind="person", speaker_description="something else"
    )
    rows = all_rows(engine, "SELECT id, speaker_id FROM claims ORDER BY id")
    assert [r["id"] for r in rows] == [first, second]
    assert rows[0]["speaker_id"] == rows[1]["speaker_id"]
    speaker = one(engine, "SELECT name, kind, description FROM speakers")
    # The match neither renames the speaker nor rewrites what it already has.
    assert dict(speaker) == {
        "name": "Russian defence ministry",
        "kind": "government_body",
        "description": "Ministry of Defence",
    }


def test_affiliation_is_matched_case_insensitively_and_filled_in_when_missing(engine: Engine) -> None:
    new_claim(engine, "Org statement", "International Committee of the Red Cross", speaker_kind="organisation")
    new_claim(engine, "Official statement", "ICRC official", affiliation="international committee of the RED CROSS")
    # A known speaker without an affiliation gets one from a later claim; one with an affiliation keeps it.
    new_claim(engine, "Later statement", "icrc OFFICIAL", affiliation="Somebody else")
    speakers = {r["name"]: r for r in all_rows(engine, "SELECT id, name, affiliation_id FROM speakers")}
    assert set(speakers) == {"International Committee of the Red Cross", "ICRC official"}
    assert speakers["ICRC official"]["affiliation_id"] == speakers["International Committee of the Red Cross"]["id"]

    new_claim(engine, "Activist statement", "Abdu Khudr")
    new_claim(engine, "Activist again", "abdu khudr", affiliation="Activists in Aleppo")
    row = one(
        engine, "SELECT a.name FROM speakers s JOIN speakers a ON a.id = s.affiliation_id WHERE s.name = 'Abdu Khudr'"
    )
    assert row["name"] == "Activists in Aleppo"


def test_speaker_cannot_be_affiliated_with_itself(engine: Engine) -> None:
    before = counts(engine)
    with pytest.raises(InvalidInput) as info:
        new_claim(engine, "Loop", "Same Name", affiliation="same name")
    assert "affiliation" in info.value.errors
    assert counts(engine) == before


def test_source_is_matched_by_url_and_gaps_are_filled_not_overwritten(engine: Engine) -> None:
    a = new_claim(engine, "First", source={"url": "https://ft.com/x"})
    b = new_claim(engine, "Second", source={"url": "https://ft.com/x", "title": "Aleppo report", "outlet": "FT"})
    c = new_claim(engine, "Third", source={"url": "https://ft.com/x", "title": "Another title"})
    sources = all_rows(engine, "SELECT id, url, title, outlet FROM sources")
    assert len(sources) == 1
    assert {k: v for k, v in sources[0].items() if k != "id"} == {
        "url": "https://ft.com/x",
        "title": "Aleppo report",
        "outlet": "FT",
    }
    cited = all_rows(engine, "SELECT claim_id, source_id FROM claim_sources ORDER BY claim_id")
    assert [(r["claim_id"], r["source_id"]) for r in cited] == [
        (a, sources[0]["id"]),
        (b, sources[0]["id"]),
        (c, sources[0]["id"]),
    ]
    # A different URL is a different source.
    new_claim(engine, "Fourth", source={"url": "https://ft.com/y", "title": "Aleppo report"})
    assert counts(engine)["sources"] == 2


def test_source_without_url_is_matched_by_title_and_outlet(engine: Engine) -> None:
    new_claim(engine, "First", source={"title": "Evening news", "outlet": "Ikhbariya"})
    new_claim(engine, "Second", source={"title": "evening NEWS", "outlet": "ikhbariya"})
    new_claim(engine, "Third", source={"title": "Evening news", "outlet": "Other"})
    assert counts(engine)["sources"] == 2
    # Typed again exactly, a title with capitals beyond ASCII is the same source (the case of those letters is
    # compared as stored, as SQLite's NOCASE and the importer do); no title matches no title.
    new_claim(engine, "Fourth", source={"title": "ÉTAT des lieux", "outlet": "Ikhbariya"})
    new_claim(engine, "Fifth", source={"title": "ÉTAT DES LIEUX", "outlet": "IKHBARIYA"})
    new_claim(engine, "Sixth", source={"outlet": "Ikhbariya"})
    new_claim(engine, "Seventh", source={"outlet": "ikhbariya"})
    assert counts(engine)["sources"] == 4


def test_event_is_matched_by_name(engine: Engine) -> None:
    new_claim(engine, "First", event="Aleppo evacuation, December 2016")
    new_claim(engine, "Second", event="aleppo EVACUATION, december 2016")
    new_claim(engine, "Third", event="Another event")
    new_claim(engine, "Fourth")  # no event at all
    events = all_rows(
        engine,
        "SELECT e.name, count(c.id) AS n FROM events e JOIN claims c ON c.event_id = e.id GROUP BY e.id ORDER BY e.id",
    )
    assert [(r["name"], r["n"]) for r in events] == [("Aleppo evacuation, December 2016", 2), ("Another event", 1)]
    assert one(engine, "SELECT count(*) AS n FROM claims WHERE event_id IS NULL")["n"] == 1


def test_update_claim_changes_fields_speaker_event_and_sources(engine: Engine) -> None:
    claim_id = new_claim(engine, "Original", "Old speaker", event="Old event", source={"url": "https://a.example/1"})
    other_id = new_claim(engine, "Untouched", "Old speaker", event="Old event", source={"url": "https://a.example/1"})
    old_source = one(engine, "SELECT id FROM sources")["id"]
    created = one(engine, "SELECT created_at FROM claims WHERE id = :id", id=claim_id)["created_at"]
    untouched = dict(one(engine, "SELECT * FROM claims WHERE id = :id", id=other_id))

    with write_session(engine, actor="test") as session:
        claim_service.update_claim(
            session,
            claim_id,
            claim_in(
                "Corrected",
                "new SPEAKER",
                model=ClaimUpdate,
                verbatim=True,
                stated_on="2016-12-15",
                event="New event",
                verdict="false",
                verdict_rationale="Because.",
                source={"url": "https://b.example/2", "title": "Second report"},
            ),
            remove_source_ids=[old_source],
        )
    row = one(
        engine,
        """SELECT c.text, c.verbatim, c.stated_on, c.verdict, c.verdict_rationale, c.created_at, s.name AS speaker,
        e.name AS event FROM claims c JOIN speakers s ON s.id = c.speaker_id JOIN events e ON e.id = c.event_id
        WHERE c.id = :id""",
        id=claim_id,
    )
    assert dict(row) == {
        "text": "Corrected",
        "verbatim": 1,
        "stated_on": "2016-12-15",
        "verdict": "false",
        "verdict_rationale": "Because.",
        "created_at": created,
        "speaker": "new SPEAKER",
        "event": "New event",
    }
    urls = all_rows(
        engine,
        "SELECT s.url FROM claim_sources cs JOIN sources s ON s.id = cs.source_id WHERE cs.claim_id = :id",
        id=claim_id,
    )
    assert [r["url"] for r in urls] == ["https://b.example/2"]
    # The other claim that cites the removed source, its speaker and event are untouched.
    assert dict(one(engine, "SELECT * FROM claims WHERE id = :id", id=other_id)) == untouched
    assert one(engine, "SELECT count(*) AS n FROM claim_sources WHERE claim_id = :id", id=other_id)["n"] == 1
    assert counts(engine)["speakers"] == 2


def test_update_claim_keeps_sources_unless_removed(engine: Engine) -> None:
    claim_id = new_claim(engine, "Original", source={"url": "https://a.example/1"})
    with write_session(engine, actor="test") as session:
        claim_service.update_claim(
            session, claim_id, claim_in("Original", model=ClaimUpdate, source={"url": "https://a.example/2"})
        )
    urls = all_rows(
        engine,
        "SELECT s.url FROM claim_sources cs JOIN sources s ON s.id = cs.source_id "
        "WHERE cs.claim_id = :id ORDER BY cs.id",
        id=claim_id,
    )
    assert [r["url"] for r in urls] == ["https://a.example/1", "https://a.example/2"]


def test_update_unknown_claim_is_not_found(engine: Engine) -> None:
    with pytest.raises(NotFound), write_session(engine, actor="test") as session:
        claim_service.update_claim(session, 999, claim_in("x", model=ClaimUpdate))
    assert counts(engine)["speakers"] == 0


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"text": "   "}, "text"),
        ({"text": "x" * 5001}, "text"),
        ({"stated_on": "2016-02-30"}, "stated_on"),
        ({"stated_on": "16-12-2016"}, "stated_on"),
        ({"stated_time": "25:00"}, "stated_time"),
        ({"verdict": "maybe"}, "verdict"),
        ({"source": {"url": "javascript:alert(1)"}}, "source"),
        ({"source": {"url": "ftp://example.org/x"}}, "source"),
        ({"text": "nul \x00 byte"}, "text"),
    ],
)
def test_claim_input_model_refuses_bad_values(changes: dict[str, Any], field: str) -> None:
    data = {"text": "Fine", "speaker": {"name": "Someone"}} | changes
    with pytest.raises(ValueError) as info:
        ClaimCreate.model_validate(data)
    assert info.value.errors()[0]["loc"][0] == field  # type: ignore[attr-defined]


def test_claim_input_model_accepts_exactly_the_maximum_length() -> None:
    assert len(ClaimCreate.model_validate({"text": "x" * 5000, "speaker": {"name": "S"}}).text) == 5000


# --- links ----------------------------------------------------------------------------------


def test_add_link_to_existing_statement_stores_direction_other_to_claim(engine: Engine) -> None:
    claim = new_claim(engine, "The evacuation is complete.", "Russian defence ministry")
    other = new_claim(engine, "Those statements are false.", "Senior rebel official")
    link_id = link(engine, claim, other, "contradicts", "Calls it false.")
    row = one(engine, "SELECT * FROM claim_links WHERE id = :id", id=link_id)
    assert (row["from_claim_id"], row["to_claim_id"], row["relation"], row["note"]) == (
        other,
        claim,
        "contradicts",
        "Calls it false.",
    )

    with read_session(engine) as session:
        on_claim = claim_service.claim_detail(session, claim)
        on_other = claim_service.claim_detail(session, other)
    groups = {(d, r): [x["other_id"] for x in links] for d, r, links in on_claim.link_groups}
    assert groups[("incoming", "contradicts")] == [other]
    assert all(not ids for key, ids in groups.items() if key != ("incoming", "contradicts"))
    groups = {(d, r): [x["other_id"] for x in links] for d, r, links in on_other.link_groups}
    assert groups[("outgoing", "contradicts")] == [claim]
    assert all(not ids for key, ids in groups.items() if key != ("outgoing", "contradicts"))


def test_add_link_with_new_statement_creates_it_and_matches_speaker(engine: Engine) -> None:
    claim = new_claim(engine, "The evacuation is complete.", "Russian defence ministry", event="Aleppo")
    new_claim(engine, "Something else", "Activists in Aleppo")
    before = counts(engine)
    with write_session(engine, actor="test") as session:
        made = link_service.add_link(
            session,
            claim,
            LinkCreate(
                relation="contradicts",
                new_claim=claim_in(
                    "Thousands still inside.",
                    "activists in ALEPPO",
                    event="ALEPPO",
                    source={"url": "https://ft.com/aleppo"},
                ),
            ),
        )
        new_id, made_from, made_to = made.id, made.from_claim_id, made.to_claim_id
    after = counts(engine)
    assert after == before | {"claims": before["claims"] + 1, "claim_links": 1, "sources": 1, "claim_sources": 1}
    assert made_to == claim and made_from != claim
    row = one(
        engine,
        "SELECT c.text, s.name, e.name AS event FROM claims c JOIN speakers s ON s.id = c.speaker_id "
        "JOIN events e ON e.id = c.event_id WHERE c.id = :id",
        id=made_from,
    )
    assert dict(row) == {"text": "Thousands still inside.", "name": "Activists in Aleppo", "event": "Aleppo"}
    assert new_id is not None


def test_self_link_is_refused(engine: Engine) -> None:
    claim = new_claim(engine, "A statement")
    with pytest.raises(InvalidInput) as info, write_session(engine, actor="test") as session:
        link_service.add_link(session, claim, LinkCreate(relation="contradicts", target_id=claim))
    assert "itself" in info.value.errors["target_id"]
    assert counts(engine)["claim_links"] == 0


@pytest.mark.parametrize("reverse", [False, True], ids=["same-direction", "reverse-direction"])
@pytest.mark.parametrize("relation", ["contradicts", "supports"])
def test_duplicate_link_is_refused_either_way_round(engine: Engine, reverse: bool, relation: str) -> None:
    a = new_claim(engine, "A")
    b = new_claim(engine, "B")
    link(engine, a, b, "contradicts")
    before = counts(engine)
    claim, other = (b, a) if reverse else (a, b)
    with pytest.raises(InvalidInput) as info, write_session(engine, actor="test") as session:
        link_service.add_link(session, claim, LinkCreate(relation=relation, target_id=other))
    assert "already linked" in info.value.errors["target_id"]
    assert counts(engine) == before


def test_database_refuses_duplicate_and_self_links_too(engine: Engine) -> None:
    """The unique pair index and CHECK back up the service rules against concurrent writers."""
    a = new_claim(engine, "A")
    b = new_claim(engine, "B")
    link(engine, a, b)
    for from_id, to_id in ((a, b), (b, a), (a, a)):
        with pytest.raises(IntegrityError), write_session(engine, actor="test") as session:
            session.add(ClaimLink(from_claim_id=from_id, to_claim_id=to_id, relation="supports"))
            session.flush()
    assert counts(engine)["claim_links"] == 1


def test_add_link_unknown_ids(engine: Engine) -> None:
    claim = new_claim(engine, "A")
    with pytest.raises(NotFound) as info, write_session(engine, actor="test") as session:
        link_service.add_link(session, 999, LinkCreate(relation="contradicts", target_id=claim))
    assert info.value.field is None
    with pytest.raises(NotFound) as info, write_session(engine, actor="test") as session:
        link_service.add_link(session, claim, LinkCreate(relation="contradicts", target_id=999))
    assert info.value.field == "target_id"
    assert "999" in str(info.value)
    assert counts(engine)["claim_links"] == 0


def test_add_link_needs_exactly_one_of_target_and_new_statement(engine: Engine) -> None:
    a = new_claim(engine, "A")
    b = new_claim(engine, "B")
    before = counts(engine)
    for data in (
        LinkCreate(relation="contradicts"),
        LinkCreate(relation="contradicts", target_id=b, new_claim=claim_in("C", "New speaker")),
    ):
        with pytest.raises(InvalidInput), write_session(engine, actor="test") as session:
            link_service.add_link(session, a, data)
    assert counts(engine) == before


def test_link_relation_must_be_known() -> None:
    with pytest.raises(ValueError):
        LinkCreate.model_validate({"relation": "refutes", "target_id": 1})
    assert LinkCreate.model_validate({"relation": " Contradicts ", "target_id": 1}).relation is Relation.contradicts


def test_update_link_changes_relation_and_note_only(engine: Engine) -> None:
    a = new_claim(engine, "A")
    b = new_claim(engine, "B")
    c = new_claim(engine, "C")
    link_id = link(engine, a, b, "contradicts", "first note")
    other_link = link(engine, a, c, "supports", "other note")
    with write_session(engine, actor="test") as session:
        link_service.update_link(session, link_id, LinkUpdate(relation="qualifies", note="  better note "))
    row = one(engine, "SELECT * FROM claim_links WHERE id = :id", id=link_id)
    assert (row["from_claim_id"], row["to_claim_id"], row["relation"], row["note"]) == (
        b,
        a,
        "qualifies",
        "better note",
    )
    row = one(engine, "SELECT * FROM claim_links WHERE id = :id", id=other_link)
    assert (row["relation"], row["note"]) == ("supports", "other note")
    with write_session(engine, actor="test") as session:
        link_service.update_link(session, link_id, LinkUpdate(relation="contradicts", note=""))
    assert one(engine, "SELECT note FROM claim_links WHERE id = :id", id=link_id)["note"] is None
    with pytest.raises(NotFound), write_session(engine, actor="test") as session:
        link_service.update_link(session, 999, LinkUpdate(relation="contradicts"))


# --- speakers, events, sources --------------------------------------------------------------


def speaker_id(engine: Engine, name: str) -> int:
    return one(engine, "SELECT id FROM speakers WHERE name = :n", n=name)["id"]


def test_rename_speaker_shows_on_every_claim(engine: Engine) -> None:
    a = new_claim(engine, "A", "Rusian defence ministry")
    b = new_claim(engine, "B", "Rusian defence ministry")
    sid = speaker_id(engine, "Rusian defence ministry")
    with write_session(engine, actor="test") as session:
        speaker_service.update_speaker(
            session, sid, SpeakerUpdate(name="Russian defence ministry", kind="government_body")
        )
    with read_session(engine) as session:
        for claim in (a, b):
            assert claim_service.claim_detail(session, claim).claim.speaker == "Russian defence ministry"
    assert counts(engine)["speakers"] == 1


def test_speaker_name_conflicts(engine: Engine) -> None:
    new_claim(engine, "A", "Ikhbariya")
    new_claim(engine, "B", "Activists in Aleppo")
    with pytest.raises(Conflict), write_session(engine, actor="test") as session:
        speaker_service.create_speaker(session, SpeakerCreate(name="IKHBARIYA"))
    with pytest.raises(Conflict) as info, write_session(engine, actor="test") as session:
        speaker_service.update_speaker(
            session, speaker_id(engine, "Activists in Aleppo"), SpeakerUpdate(name="ikhbariya")
        )
    assert info.value.field == "name"
    # Changing only the case of one's own name is fine.
    with write_session(engine, actor="test") as session:
        speaker_service.update_speaker(
            session, speaker_id(engine, "Ikhbariya"), SpeakerUpdate(name="IKHBARIYA", kind="media_outlet")
        )
    assert {r["name"] for r in all_rows(engine, "SELECT name FROM speakers")} == {"IKHBARIYA", "Activists in Aleppo"}


def test_speaker_affiliation_loops_are_refused(engine: Engine) -> None:
    with write_session(engine, actor="test") as session:
        speaker_service.create_speaker(session, SpeakerCreate(name="Government"))
        speaker_service.create_speaker(session, SpeakerCreate(name="Ministry", affiliation="Government"))
        speaker_service.create_speaker(session, SpeakerCreate(name="Spokesman", affiliation="Ministry"))
    before = all_rows(engine, "SELECT * FROM speakers ORDER BY id")
    for name, affiliation in (
        ("Government", "Ministry"),
        ("Government", "Spokesman"),
        ("Ministry", "Spokesman"),
        ("Ministry", "ministry"),
    ):
        with pytest.raises(InvalidInput) as info, write_session(engine, actor="test") as session:
            speaker_service.update_speaker(
                session, speaker_id(engine, name), SpeakerUpdate(name=name, affiliation=affiliation)
            )
        assert "affiliation" in info.value.errors
    assert all_rows(engine, "SELECT * FROM speakers ORDER BY id") == before
    # Moving a speaker sideways is not a loop.
    with write_session(engine, actor="test") as session:
        speaker_service.update_speaker(
            session, speaker_id(engine, "Spokesman"), SpeakerUpdate(name="Spokesman", affiliation="Government")
        )
    row = one(
        engine, "SELECT a.name FROM speakers s JOIN speakers a ON a.id = s.affiliation_id WHERE s.name = 'Spokesman'"
    )
    assert row["name"] == "Government"


def test_update_speaker_unknown_id(engine: Engine) -> None:
    with pytest.raises(NotFound), write_session(engine, actor="test") as session:
        speaker_service.update_speaker(session, 42, SpeakerUpdate(name="Nobody"))


def test_speaker_detail_lists_members_and_speaker_filter_includes_them(engine: Engine) -> None:
    org = new_claim(engine, "Org says", "ICRC", speaker_kind="organisation")
    member = new_claim(engine, "Member says", "Pawel Krzysiek", affiliation="ICRC")
    outsider = new_claim(engine, "Outsider says", "Someone else")
    icrc = speaker_id(engine, "ICRC")
    with read_session(engine) as session:
        detail = speaker_service.speaker_detail(session, icrc)
    assert [m.name for m in detail.members] == ["Pawel Krzysiek"]
    assert listed(engine, ClaimFilters(speaker_id=icrc)) == [org]
    assert listed(engine, ClaimFilters(speaker_id=icrc, include_members=True)) == [member, org]
    assert outsider not in listed(engine, ClaimFilters(speaker_id=icrc, include_members=True))


def test_event_name_conflicts_and_dates(engine: Engine) -> None:
    with write_session(engine, actor="test") as session:
        first = event_service.create_event(session, EventCreate(name="Aleppo evacuation")).id
        second = event_service.create_event(session, EventCreate(name="Mosul")).id
    with pytest.raises(Conflict), write_session(engine, actor="test") as session:
        event_service.create_event(session, EventCreate(name="ALEPPO EVACUATION"))
    with pytest.raises(Conflict), write_session(engine, actor="test") as session:
        event_service.update_event(session, second, EventUpdate(name="aleppo evacuation"))
    with pytest.raises(InvalidInput) as info, write_session(engine, actor="test") as session:
        event_service.update_event(
            session, first, EventUpdate(name="Aleppo evacuation", starts_on="2016-12-16", ends_on="2016-12-15")
        )
    assert "ends_on" in info.value.errors
    with write_session(engine, actor="test") as session:
        event_service.update_event(
            session,
            first,
            EventUpdate(name="Aleppo evacuation, December 2016", starts_on="2016-12-15", ends_on="2016-12-22"),
        )
    rows = all_rows(engine, "SELECT name, starts_on, ends_on FROM events ORDER BY id")
    assert [tuple(r.values()) for r in rows] == [
        ("Aleppo evacuation, December 2016", "2016-12-15", "2016-12-22"),
        ("Mosul", None, None),
    ]


def test_source_conflicts_and_empty_source(engine: Engine) -> None:
    with write_session(engine, actor="test") as session:
        a = source_service.create_source(session, SourceCreate(url="https://a.example/")).id
        source_service.create_source(session, SourceCreate(url="https://b.example/", title="B"))
    with pytest.raises(Conflict), write_session(engine, actor="test") as session:
        source_service.create_source(session, SourceCreate(url="https://b.example/"))
    with pytest.raises(Conflict), write_session(engine, actor="test") as session:
        source_service.update_source(session, a, SourceUpdate(url="https://b.example/"))
    with pytest.raises(InvalidInput), write_session(engine, actor="test") as session:
        source_service.create_source(session, SourceCreate(title="  "))
    with pytest.raises(InvalidInput), write_session(engine, actor="test") as session:
        source_service.update_source(session, a, SourceUpdate())
    with write_session(engine, actor="test") as session:
        source_service.update_source(
            session,
            a,
            SourceUpdate(url="https://a.example/", title="Now titled", outlet="FT", published_on="2016-12-16"),
        )
    rows = all_rows(engine, "SELECT url, title, outlet, published_on FROM sources ORDER BY id")
    assert [tuple(r.values()) for r in rows] == [
        ("https://a.example/", "Now titled", "FT", "2016-12-16"),
        ("https://b.example/", "B", None, None),
    ]


# --- listing ----------------------------------------------------------------------------------


@pytest.fixture
def small_world(engine: Engine) -> dict[str, int]:
    ids = {
        "russia": new_claim(
            engine,
            "The evacuation of Aleppo was finished on Friday.",
            "Russian defence ministry",
            event="Aleppo",
            verdict="disputed",
            source={"url": "https://ft.com/aleppo"},
        ),
        "rebel": new_claim(
            engine,
            "The Russian statements about the evacuation are false.",
            "Senior rebel official",
            event="Aleppo",
            source={"url": "https://ft.com/aleppo"},
        ),
        "putin": new_claim(engine, "Very active negotiations through Turkey.", "Vladimir Putin", event="Aleppo"),
        "support": new_claim(
            engine, "Negotiations are indeed going on.", "Turkish official", event="Aleppo", verdict="accurate"
        ),
        "other": new_claim(
            engine,
            "Unrelated evacuation statement about Mosul.",
            "Someone",
            event="Mosul",
            source={"url": "https://example.org/mosul"},
        ),
        "quotes": new_claim(engine, 'He said "OR" AND NOT * near( -minus', "Someone"),
    }
    link(engine, ids["russia"], ids["rebel"], "contradicts")
    link(engine, ids["putin"], ids["support"], "supports")
    return ids


def test_list_claims_newest_first(engine: Engine, small_world: dict[str, int]) -> None:
    assert listed(engine, ClaimFilters()) == sorted(small_world.values(), reverse=True)


@pytest.mark.parametrize(
    ("q", "expected"),
    [
        ("evacuation", ["russia", "rebel", "other"]),
        ("EVACUATION friday", ["russia"]),
        ("negotiations", ["putin", "support"]),
        ("nothing-like-this", []),
        ('"OR" AND', ["quotes"]),
        ("NOT", ["quotes"]),
        ("near( -minus *", ["quotes"]),
        ('"', None),  # nothing to search for: no filter
        ("", None),
    ],
)
def test_list_claims_full_text_search(
    engine: Engine, small_world: dict[str, int], q: str, expected: list[str] | None
) -> None:
    found = listed(engine, ClaimFilters(q=q))
    if expected is None:
        assert found == sorted(small_world.values(), reverse=True)
    else:
        assert found == sorted((small_world[k] for k in expected), reverse=True)


def test_full_text_index_follows_edits(engine: Engine, small_world: dict[str, int]) -> None:
    with write_session(engine, actor="test") as session:
        claim_service.update_claim(
            session, small_world["putin"], claim_in("Talks via Ankara.", "Vladimir Putin", model=ClaimUpdate)
        )
    assert listed(engine, ClaimFilters(q="negotiations")) == [small_world["support"]]
    assert listed(engine, ClaimFilters(q="ankara")) == [small_world["putin"]]


def test_list_claims_filters(engine: Engine, small_world: dict[str, int]) -> None:
    w = small_world
    aleppo = one(engine, "SELECT id FROM events WHERE name = 'Aleppo'")["id"]
    ft = one(engine, "SELECT id FROM sources WHERE url = 'https://ft.com/aleppo'")["id"]
    putin = speaker_id(engine, "Vladimir Putin")
    ids = lambda *keys: sorted((w[k] for k in keys), reverse=True)  # noqa: E731
    assert listed(engine, ClaimFilters(speaker_id=putin)) == ids("putin")
    assert listed(engine, ClaimFilters(event_id=aleppo)) == ids("russia", "rebel", "putin", "support")
    assert listed(engine, ClaimFilters(relation=Relation.contradicts)) == ids("russia", "rebel")
    assert listed(engine, ClaimFilters(relation=Relation.supports)) == ids("putin", "support")
    assert listed(engine, ClaimFilters(relation=Relation.qualifies)) == []
    assert listed(engine, ClaimFilters(verdict="disputed")) == ids("russia")
    assert listed(engine, ClaimFilters(verdict="false")) == []
    assert listed(engine, ClaimFilters(source_id=ft)) == ids("russia", "rebel")
    # Filters combine.
    assert listed(engine, ClaimFilters(q="evacuation", event_id=aleppo, relation=Relation.contradicts)) == ids(
        "russia", "rebel"
    )
    assert listed(engine, ClaimFilters(q="statements", speaker_id=putin)) == []
    assert listed(engine, ClaimFilters(speaker_id=9999)) == []


def test_list_claims_extra_counts_and_sources(engine: Engine, small_world: dict[str, int]) -> None:
    with read_session(engine) as session:
        page = claim_service.list_claims(session, ClaimFilters())
    assert page.extra["link_counts"][small_world["russia"]] == {"in_contradicts": 1}
    assert page.extra["link_counts"][small_world["rebel"]] == {"out_contradicts": 1}
    assert page.extra["link_counts"][small_world["other"]] == {}
    assert [s["url"] for s in page.extra["sources"][small_world["russia"]]] == ["https://ft.com/aleppo"]
    assert small_world["putin"] not in page.extra["sources"]


@pytest.fixture
def many_claims(engine: Engine) -> list[int]:
    ids = []
    with write_session(engine, actor="test") as session:
        for i in range(120):
            speaker = f"Speaker {i % 7}"
            ids.append(claim_service.create_claim(session, claim_in(f"Statement number {i}", speaker)).id)
    return ids


@pytest.mark.parametrize("limit", [50, 7, 120, 200])
def test_keyset_pagination_walks_every_claim_once(engine: Engine, many_claims: list[int], limit: int) -> None:
    pages: list[list[int]] = []
    cursors: list[tuple[int | None, int | None]] = []
    before: int | None = None
    with read_session(engine) as session:
        while True:
            page = claim_service.list_claims(session, ClaimFilters(), before=before, limit=limit)
            items = [r["id"] for r in page.items]
            assert items and len(items) <= limit
            assert items == sorted(items, reverse=True)
            pages.append(items)
            cursors.append((page.newer, page.older))
            if page.older is None:
                break
            assert page.older == items[-1]
            before = page.older
            assert len(pages) < 200, "pagination does not end"
    walked = [i for p in pages for i in p]
    assert walked == sorted(many_claims, reverse=True)
    assert len(pages) == -(-120 // limit)
    assert cursors[0][0] is None  # the first page has no newer page
    assert all(newer == p[0] for (newer, _), p in zip(cursors[1:], pages[1:]))

    # And back again, from the oldest page to the newest, with ?after=.
    back: list[list[int]] = [pages[-1]]
    after = cursors[-1][0]
    with read_session(engine) as session:
        while after is not None:
            page = claim_service.list_claims(session, ClaimFilters(), after=after, limit=limit)
            items = [r["id"] for r in page.items]
            assert items == sorted(items, reverse=True)
            assert page.older == items[-1]
            back.append(items)
            after = page.newer
            assert len(back) < 200
    assert back[::-1] == pages


def test_keyset_pagination_with_a_filter(engine: Engine, many_claims: list[int]) -> None:
    sid = speaker_id(engine, "Speaker 3")
    expected = sorted((i for n, i in enumerate(many_claims) if n % 7 == 3), reverse=True)
    seen: list[int] = []
    before = None
    with read_session(engine) as session:
        while True:
            page = claim_service.list_claims(session, ClaimFilters(speaker_id=sid), before=before, limit=5)
            seen.extend(r["id"] for r in page.items)
            if page.older is None:
                break
            before = page.older
    assert seen == expected


def test_cursor_beyond_the_ends_gives_empty_pages(engine: Engine, many_claims: list[int]) -> None:
    with read_session(engine) as session:
        assert claim_service.list_claims(session, ClaimFilters(), before=min(many_claims)).items == []
        page = claim_service.list_claims(session, ClaimFilters(), after=max(many_claims))
        assert page.items == [] and page.newer is None and page.older is None


# --- an event at a glance -------------------------------------------------------------------


def test_event_overview_groups_by_speaker_contested_first(engine: Engine) -> None:
    quiet = [new_claim(engine, f"Quiet statement {i}", "Prolific speaker", event="Aleppo") for i in range(3)]
    russia_plain = new_claim(
        engine, "Pockets of resistance are being liquidated.", "Russian defence ministry", event="Aleppo"
    )
    russia = new_claim(engine, "The evacuation is finished.", "Russian defence ministry", event="Aleppo")
    rebel = new_claim(
        engine, "That is false.", "Senior rebel official", event="Aleppo", affiliation="Syrian armed opposition"
    )
    supporter = new_claim(engine, "It is true.", "Supporter", event="Aleppo")
    new_claim(engine, "Elsewhere", "Prolific speaker", event="Mosul")
    link(engine, russia, rebel, "contradicts", "false")
    link(engine, russia, supporter, "supports")
    event_id = one(engine, "SELECT id FROM events WHERE name = 'Aleppo'")["id"]

    with read_session(engine) as session:
        overview = event_service.event_overview(session, event_id)
    groups = overview.groups
    names = [g.speaker for g in groups]
    # Contested groups (one contested statement each) first, then the rest; ties by size, then name.
    assert names == ["Russian defence ministry", "Senior rebel official", "Prolific speaker", "Supporter"]
    assert [g.contested for g in groups] == [1, 1, 0, 0]
    russia_group = groups[0]
    assert [s["id"] for s in russia_group.statements] == [russia, russia_plain]
    assert groups[1].affiliation == "Syrian armed opposition"
    assert [s["id"] for s in groups[2].statements] == quiet
    assert overview.statement_count == 7
    assert overview.truncated is False
    assert [(c["from_id"], c["to_id"]) for c in overview.contradictions] == [(rebel, russia)]

    with pytest.raises(NotFound), read_session(engine) as session:
        event_service.event_overview(session, 999)


def test_event_overview_of_seeded_event(seeded_engine: Engine) -> None:
    event_id = one(seeded_engine, "SELECT id FROM events")["id"]
    with read_session(seeded_engine) as session:
        overview = event_service.event_overview(session, event_id)
    groups = overview.groups
    contested = [g.contested for g in groups]
    assert contested == sorted(contested, reverse=True) and contested[0] > 0 and contested[-1] == 0
    first = groups[0]
    assert first.speaker in {"Russian defence ministry", "Senior rebel official", "Activists in Aleppo"}
    russia = next(g for g in groups if g.speaker == "Russian defence ministry")
    assert russia.statements[0]["text"].endswith("was finished on Friday.")
    assert len(overview.contradictions) == 6
    assert overview.statement_count == one(seeded_engine, "SELECT count(*) AS n FROM claims")["n"]


def test_claim_detail_unknown_id(engine: Engine) -> None:
    with pytest.raises(NotFound), read_session(engine) as session:
        claim_service.claim_detail(session, 1)


def test_lists_of_speakers_sources_events(engine: Engine, small_world: dict[str, int]) -> None:
    with read_session(engine) as session:
        speakers = speaker_service.list_speakers(session)
        found = speaker_service.list_speakers(session, q="rebel")
        sources = source_service.list_sources(session)
        events = event_service.list_events(session)
    names = {r["id"]: r["name"] for r in speakers.items}
    assert set(names.values()) == {
        "Russian defence ministry",
        "Senior rebel official",
        "Vladimir Putin",
        "Turkish official",
        "Someone",
    }
    someone = next(i for i, n in names.items() if n == "Someone")
    assert speakers.extra["claim_counts"][someone] == 2
    assert [r["name"] for r in found.items] == ["Senior rebel official"]
    ft = next(r["id"] for r in sources.items if r["url"] == "https://ft.com/aleppo")
    assert sources.extra["claim_counts"][ft] == 2
    assert {r["name"]: events.extra["claim_counts"][r["id"]] for r in events.items} == {"Aleppo": 4, "Mosul": 1}


def test_failed_write_leaves_nothing_behind(engine: Engine) -> None:
    """A service error inside a write transaction rolls back the writes made before it."""
    new_claim(engine, "Existing", "Existing speaker")
    before = counts(engine)
    with pytest.raises(Conflict), write_session(engine, actor="test") as session:
        claim_service.create_claim(
            session,
            claim_in(
                "Half written", "Brand new speaker", event="Brand new event", source={"url": "https://new.example/"}
            ),
        )
        speaker_service.create_speaker(session, SpeakerCreate(name="existing SPEAKER"))
    assert counts(engine) == before
    with Session(engine) as session:
        assert session.exec(select(Speaker).where(Speaker.name == "Brand new speaker")).first() is None
        assert session.exec(select(Event)).all() == []
        assert session.exec(select(Source)).all() == []
        assert len(session.exec(select(Claim)).all()) == 1
        assert len(session.exec(select(ClaimSource)).all()) == 0


def test_rows_reads_in_the_session_transaction_and_fails_as_sqlalchemy_does(engine: Engine) -> None:
    """rows() sends its SELECT on the session's DB-API connection: it sees the session's own uncommitted
    writes, the engine's statement hooks see it, and errors are SQLAlchemy's (callers catch those)."""
    from sqlalchemy import event
    from sqlalchemy.exc import OperationalError

    from claimtrack.services.common import rows

    seen: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        seen.append(statement)

    with write_session(engine, actor="test") as session:
        made = claim_service.create_claim(
            session, ClaimCreate.model_validate({"text": "Unsaved.", "speaker": {"name": "S"}})
        )
        event.listen(engine, "before_cursor_execute", record)
        try:
            found = rows(session, "SELECT id, text FROM claims WHERE id = :id", {"id": made.id})
        finally:
            event.remove(engine, "before_cursor_execute", record)
        assert found == [{"id": made.id, "text": "Unsaved."}]
        assert seen == ["SELECT id, text FROM claims WHERE id = :id"]
        with pytest.raises(OperationalError, match="no such table"):
            rows(session, "SELECT * FROM no_such_table")
        session.rollback()

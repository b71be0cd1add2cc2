"""Claims (attributed statements): recording, editing, reading one, and listing many."""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlmodel import Session, select

from claimtrack.models import (
    Claim,
    ClaimCreate,
    ClaimSource,
    ClaimUpdate,
    Relation,
    Retraction,
    Source,
    SourceCreate,
    Speaker,
    VerdictChange,
    default_language,
    utc_now,
)
from claimtrack.services import history
from claimtrack.services.common import (
    NameFilter,
    Page,
    Reads,
    check_version,
    ids_param,
    insert,
    insert_record,
    keyset_page,
    require,
    retract,
    rows,
    unretract,
    write_edit,
)
from claimtrack.services.errors import AlreadySubmitted, DuplicateClaim, NearNames, NotFound
from claimtrack.services.events import resolve_event, use_event
from claimtrack.services.graph import GROUP_ORDER, PARTICIPLES
from claimtrack.services.names import NameGuard, NameMatch, exact_id, near_candidates
from claimtrack.services.search import FTS as SEARCH_FTS
from claimtrack.services.search import list_match, match_all
from claimtrack.services.sources import find_source, near_sources, resolve_source, use_source
from claimtrack.services.speakers import member_ids_sql, resolve_speaker, use_speaker

# Headings of the claim page, by (direction, relation). "incoming": the other statement answers this one.
LINK_HEADINGS: dict[tuple[str, str], str] = {
    (direction, relation): f"{PARTICIPLES[relation].capitalize()} by"
    if direction == "incoming"
    else f"This statement {relation}"
    for direction, relation in GROUP_ORDER
}
LINKS_SHOWN = 500  # per direction on a claim page; the full list is in Datasette


def find_claim(session: Session, speaker_id: int, text: str) -> Claim | None:
    stmt = select(Claim).where(Claim.speaker_id == speaker_id, Claim.text == text)
    return session.exec(stmt).first()


def attach_source(session: Session, claim: Claim, data: SourceCreate, *, new_claim: bool = False) -> None:
    """Cite the source ``data`` (matched or created) for ``claim``, once; a new claim cites nothing yet."""
    assert claim.id is not None, "flush the claim first"
    source = resolve_source(session, data)
    if source is None or source.id is None:
        return
    if not new_claim:
        exists = session.exec(
            select(ClaimSource).where(ClaimSource.claim_id == claim.id, ClaimSource.source_id == source.id)
        ).first()
        if exists is not None:
            return
    session.add(ClaimSource(claim_id=claim.id, source_id=source.id))


def _claim_fields(data: ClaimCreate) -> dict[str, Any]:
    fields = data.model_dump(
        include={
            "text",
            "verbatim",
            "stated_on",
            "stated_time",
            "context",
            "verdict_rationale",
            "translation",
            "translated_by",
        }
    )
    fields["verdict"] = data.verdict.value if data.verdict else None
    if data.language is not None:  # not given: a new claim gets the default, an edit keeps the stored one
        fields["language"] = data.language
    return fields


# Quote marks a pasted quotation may come wrapped in, and punctuation that may end it: neither makes a
# statement a different one.
QUOTE_MARKS = "\"'`\u2018\u2019\u201a\u201b\u201c\u201d\u201e\u201f\u00ab\u00bb\u2039\u203a\u300c\u300d\u300e\u300f"
FINAL_PUNCTUATION = ".!?,;:\u2026\u061f\u060c\u06d4\u3002"


def statement_key(text: str) -> str:
    """The form of a statement that the duplicate guard compares: NFC, case-folded, whitespace collapsed,
    without surrounding quote marks or final punctuation ("\u201cIt is over.\u201d" = "it is over")."""
    key = " ".join(unicodedata.normalize("NFC", unicodedata.normalize("NFC", text).casefold()).split())
    previous = None
    while key != previous:  # '"Over."' and '"Over".' both come down to 'over'
        previous = key
        key = key.strip(QUOTE_MARKS).rstrip(FINAL_PUNCTUATION).strip()
    return key


MAX_KEY_WORDS = 8  # the longest words of a statement that SQLite looks for in the speaker's claims


def find_duplicate(session: Session, speaker_id: int, text: str) -> int | None:
    """The id of the speaker's live claim whose text has the same statement_key, if any."""
    key = statement_key(text)
    # Only this speaker's claims (an indexed lookup). The key is computed here, as SQLite cannot case-fold
    # beyond ASCII; but a claim whose text is ASCII has the key lower(text) split at whitespace (tabs, line
    # breaks and the other ASCII separators included), rejoined and its ends trimmed, so it can only match if
    # each word of the key is in lower(text). SQLite drops the ASCII claims without them; a text with any
    # non-ASCII character (more bytes than characters; a NUL counts too) is compared here as before.
    # A speaker with thousands of claims cost milliseconds per save when every one came back to Python.
    # The byte/character count replaced a GLOB for characters outside ' '..'~': 1.5 µs a row, 2.4 in all.
    words = sorted(set(key.split()), key=len, reverse=True)[:MAX_KEY_WORDS]
    params: dict[str, Any] = {"speaker": speaker_id}
    narrow = ""
    if words:
        params.update({f"w{i}": word for i, word in enumerate(words)})
        has_words = " AND ".join(f"instr(lower(text), :w{i}) > 0" for i in range(len(words)))
        narrow = f"AND (({has_words}) OR length(CAST(text AS BLOB)) > length(text))"
    for row in rows(
        session,
        f"SELECT id, text FROM claims WHERE speaker_id = :speaker AND retracted = 0 {narrow} ORDER BY id",
        params,
    ):
        if statement_key(row["text"]) == key:
            return int(row["id"])
    return None


@dataclass(frozen=True)
class EntryGuard:
    """How a form's new claim is guarded: ``form_token`` makes a resent form save once; a duplicate of a
    live claim by the same speaker is refused unless ``confirm_duplicate``; a new speaker, source or event
    with a near name is refused unless ``names`` confirms it (see check_new_names)."""

    form_token: str | None = None
    confirm_duplicate: bool = False
    names: NameGuard = NameGuard()


@dataclass(frozen=True)
class Found:
    """The speaker, source and event a claim names, each looked up once (None: not recorded yet). The speaker
    is loaded as an object only when the claim may fill in what it lacks (its affiliation or description);
    otherwise its id is all a save needs, and loading the object cost more CPU than the lookup itself."""

    speaker_id: int | None
    speaker: Speaker | None  # loaded only when the claim may fill in its details (see use_speaker)
    source: Source | None
    event_id: int | None

    @classmethod
    def look_up(cls, session: Session, data: ClaimCreate) -> Found:
        speaker_id = exact_id(session, "speaker", data.speaker.name)
        fills_in = bool(data.speaker.affiliation or data.speaker.description)
        return cls(
            speaker_id=speaker_id,
            speaker=session.get(Speaker, speaker_id) if speaker_id is not None and fills_in else None,
            source=None if data.source.is_empty() else find_source(session, data.source),
            event_id=exact_id(session, "event", data.event) if data.event else None,
        )


def check_new_names(session: Session, data: ClaimCreate, names: NameGuard | None, found: Found | None = None) -> None:
    """NearNames when the claim would create a speaker, source or event while similar ones exist and the
    form has not confirmed the new name; exact matches (by name key, or a source's URL) are reused.
    ``found``: the exact matches, when the caller has looked them up already."""
    if names is None:
        return
    if found is None:
        found = Found.look_up(session, data)
    near: dict[str, list[NameMatch]] = {}
    if found.speaker_id is None:
        near["speaker"] = near_candidates(session, "speaker", data.speaker.name, names)
    if not data.source.is_empty() and found.source is None:
        near["source"] = near_sources(session, data.source, names)
    if data.event and found.event_id is None:
        near["event"] = near_candidates(session, "event", data.event, names)
    near = {kind: matches for kind, matches in near.items() if matches}
    if near:
        raise NearNames(near)


def create_claim(session: Session, data: ClaimCreate, guard: EntryGuard | None = None) -> Claim:
    """Record a claim. With a ``guard`` (the web forms): AlreadySubmitted when its token has been used,
    DuplicateClaim when the statement is already recorded; either way nothing is written."""
    claim = session.get(Claim, record_claim(session, data, guard))
    assert claim is not None
    return claim


def record_claim(session: Session, data: ClaimCreate, guard: EntryGuard | None = None) -> int:
    """create_claim, returning the new claim's id without loading it as an object (what the forms need).

    The claim, its citation and the form's token are written by plain INSERTs, their history queued as the
    flush hook would (history.record_insert): a SQLModel object and its flush cost more CPU than the rest of
    a save. A new speaker, event or source still goes through the ORM (insert_row and its Conflict)."""
    if guard is not None and guard.form_token is not None:
        # Checked first: the first send of this form recorded a claim that would otherwise look like a duplicate.
        seen = rows(session, "SELECT claim_id FROM form_submissions WHERE token = :token", {"token": guard.form_token})
        if seen:
            raise AlreadySubmitted(seen[0]["claim_id"])
    found = Found.look_up(session, data)
    if guard is not None:
        check_new_names(session, data, guard.names, found)
    speaker_id, speaker_name = found.speaker_id, None
    if speaker_id is None or found.speaker is not None:  # a new speaker, or one whose details it fills in
        speaker = use_speaker(session, data.speaker, found.speaker)
        speaker_id, speaker_name = speaker.id, speaker.name
    assert speaker_id is not None  # use_speaker flushes a new speaker
    if guard is not None and not guard.confirm_duplicate:
        existing = find_duplicate(session, speaker_id, data.text)
        if existing is not None:
            if speaker_name is None:  # only the refusal names the speaker: read then
                speaker_name = rows(session, "SELECT name FROM speakers WHERE id = :id", {"id": speaker_id})[0]["name"]
            raise DuplicateClaim(existing, speaker_name)
    event_id = found.event_id
    if event_id is None and data.event:
        event = use_event(session, data.event, None)  # a new event
        assert event is not None
        event_id = event.id
    claim_id = _insert_claim(session, data, speaker_id, event_id)
    source = use_source(session, data.source, found.source)
    if source is not None and source.id is not None:
        # A new claim cites nothing yet: no check for an existing citation.
        history.record_citation(session, claim_id, source.id)
        session.flush()  # a source whose gaps were just filled is updated before the citation reads it
        insert(session, "claim_sources", {"claim_id": claim_id, "source_id": source.id, "created_at": utc_now()})
    if guard is not None and guard.form_token is not None:
        values = {"token": guard.form_token, "claim_id": claim_id, "created_at": utc_now()}
        insert(session, "form_submissions", values)
    return claim_id


def _insert_claim(session: Session, data: ClaimCreate, speaker_id: int, event_id: int | None) -> int:
    """The claims row the ORM would write for Claim(...), with its history (common.insert_record)."""
    values = {**_claim_fields(data), "speaker_id": speaker_id, "event_id": event_id}
    values.setdefault("language", default_language())
    # The flush inside puts first whatever the ORM still holds (a speaker's filled-in affiliation), as before.
    return insert_record(session, Claim, values)


def update_claim(
    session: Session,
    claim_id: int,
    data: ClaimUpdate,
    remove_source_ids: Iterable[int] = (),
    expected_version: int | None = None,
    names: NameGuard | None = None,
) -> Claim:
    """Correct a claim; with ``names`` (the web form), a new near speaker, source or event is NearNames."""
    claim = require(session, Claim, claim_id, "claim")
    check_version(claim, expected_version, "claim")
    check_new_names(session, data, names)
    speaker = resolve_speaker(session, data.speaker)
    event = resolve_event(session, data.event)
    assert speaker.id is not None
    claim.sqlmodel_update(_claim_fields(data))
    claim.speaker_id = speaker.id
    claim.event_id = event.id if event else None
    claim.updated_at = utc_now()
    session.add(claim)
    for source_id in remove_source_ids:
        link = session.exec(
            select(ClaimSource).where(ClaimSource.claim_id == claim.id, ClaimSource.source_id == source_id)
        ).first()
        if link is not None:
            session.delete(link)
    attach_source(session, claim, data.source)
    session.flush()
    return claim


def retract_claim(session: Session, claim_id: int, data: Retraction, expected_version: int | None = None) -> Claim:
    """Withdraw a claim: it stays on its page and in the data, marked, and leaves lists and figures."""
    claim = require(session, Claim, claim_id, "claim")
    retract(claim, data.reason, "claim", expected_version)
    session.add(claim)
    session.flush()
    return claim


def set_verdict(session: Session, claim_id: int, data: VerdictChange, expected_version: int | None = None) -> Claim:
    """Set, change or clear a claim's verdict and rationale alone (history records it as 'verdict')."""
    claim = require(session, Claim, claim_id, "claim")
    check_version(claim, expected_version, "claim")
    write_edit(
        session,
        claim,
        {"verdict": data.verdict.value if data.verdict else None, "verdict_rationale": data.verdict_rationale},
    )
    return claim


def unretract_claim(session: Session, claim_id: int, data: Retraction, expected_version: int | None = None) -> Claim:
    """Undo a retraction: the claim is live again; the history keeps both the retraction and why it was undone."""
    claim = require(session, Claim, claim_id, "claim")
    unretract(session, claim, data.reason, "claim", "claim", expected_version)
    return claim


_CLAIM_SELECT = """SELECT c.id, c.text, c.verbatim, c.stated_on, c.stated_time, c.context, c.verdict,
    c.verdict_rationale, c.created_at, c.updated_at, c.version, c.retracted, c.retracted_at, c.retracted_reason,
    c.language, c.translation, c.translated_by,
    c.speaker_id, s.name AS speaker, s.kind AS speaker_kind, s.description AS speaker_description,
    s.anonymous AS speaker_anonymous, a.id AS affiliation_id, a.name AS affiliation,
    c.event_id, e.name AS event
FROM claims c
JOIN speakers s ON s.id = c.speaker_id
LEFT JOIN speakers a ON a.id = s.affiliation_id
LEFT JOIN events e ON e.id = c.event_id"""


def sources_for(session: Reads, claim_ids: Iterable[int]) -> dict[int, list[Any]]:
    """Every source of each claim, in the order they were added (the first is where it first appeared)."""
    result: dict[int, list[Any]] = {}
    ids = ids_param(list(claim_ids))
    for row in rows(
        session,
        f"""SELECT cs.claim_id, s.id, s.title, s.outlet, s.url, s.published_on
        FROM claim_sources cs JOIN sources s ON s.id = cs.source_id
        WHERE cs.claim_id IN ({ids}) ORDER BY cs.claim_id, cs.id""",
    ):
        result.setdefault(row["claim_id"], []).append(row)
    return result


@dataclass(frozen=True)
class ClaimRow:
    """A claim as pages show it: its own columns with its speaker's, affiliation's and event's names."""

    id: int
    text: str
    verbatim: bool
    stated_on: str | None
    stated_time: str | None
    context: str | None
    verdict: str | None
    verdict_rationale: str | None
    created_at: str
    updated_at: str
    version: int
    retracted: bool
    retracted_at: str | None
    retracted_reason: str | None
    language: str
    translation: str | None
    translated_by: str | None
    speaker_id: int
    speaker: str
    speaker_kind: str
    speaker_description: str | None
    speaker_anonymous: bool
    affiliation_id: int | None
    affiliation: str | None
    event_id: int | None
    event: str | None


@dataclass(frozen=True)
class ClaimDetail:
    claim: ClaimRow
    sources: list[Any]
    link_groups: list[tuple[str, str, list[Any]]]  # (direction, relation, links) in display order
    other_sources: dict[int, list[Any]]
    links_complete: bool = True  # False when a direction reached LINKS_SHOWN: some links are not here

    @property
    def links(self) -> list[Any]:
        return [link for _d, _r, links in self.link_groups for link in links]


def claim_row(session: Reads, claim_id: int) -> ClaimRow:
    """One claim with its names (one query): what its edit form starts from."""
    found = rows(session, _CLAIM_SELECT + " WHERE c.id = :id", {"id": claim_id})
    if not found:
        raise NotFound("claim", claim_id)
    return ClaimRow(**found[0])


def claim_detail(session: Reads, claim_id: int) -> ClaimDetail:
    claim = claim_row(session, claim_id)
    link_cols = """l.id AS link_id, l.relation, l.note, l.created_at AS linked_at,
        l.retracted AS link_retracted, l.retracted_reason AS link_retracted_reason,
        o.id AS other_id, o.text, o.verbatim, o.stated_on, o.stated_time, o.verdict, o.retracted,
        sp.id AS speaker_id, sp.name AS speaker, sp.kind AS speaker_kind, af.id AS affiliation_id, af.name AS affiliation"""
    joins = """JOIN speakers sp ON sp.id = o.speaker_id LEFT JOIN speakers af ON af.id = sp.affiliation_id"""
    links = rows(
        session,
        f"""SELECT * FROM (SELECT 'incoming' AS direction, {link_cols} FROM claim_links l
            JOIN claims o ON o.id = l.from_claim_id {joins} WHERE l.to_claim_id = :id ORDER BY l.id LIMIT {LINKS_SHOWN})
        UNION ALL
        SELECT * FROM (SELECT 'outgoing' AS direction, {link_cols} FROM claim_links l
            JOIN claims o ON o.id = l.to_claim_id {joins} WHERE l.from_claim_id = :id ORDER BY l.id LIMIT {LINKS_SHOWN})""",
        {"id": claim_id},
    )
    groups = []
    for direction, relation in LINK_HEADINGS:
        members = [link for link in links if link["direction"] == direction and link["relation"] == relation]
        groups.append((direction, relation, members))
    all_sources = sources_for(session, [claim_id, *(link["other_id"] for link in links)])
    shown = {d: sum(link["direction"] == d for link in links) for d in ("incoming", "outgoing")}
    return ClaimDetail(
        claim=claim,
        sources=all_sources.get(claim_id, []),
        link_groups=groups,
        other_sources=all_sources,
        links_complete=max(shown.values()) < LINKS_SHOWN,
    )


@dataclass
class ListFilters:
    """What every list of claims filters on: the list page's and the JSON API's (services.claims_api)."""

    q: str | None = None
    speaker_id: int | None = None
    event_id: int | None = None
    verdict: str | None = None
    language: str | None = None
    include_retracted: bool = False


@dataclass
class ClaimFilters(ListFilters):
    """The list page's filters: those of every list, plus names, a source, a relation and a speaker's members."""

    include_members: bool = False
    # Matched by name (services.speakers.match_speakers / events.match_events): a bounded list of ids;
    # an empty list matches no claim. Speakers matched by name bring those who speak for them, as on a
    # speaker's page.
    speakers: NameFilter | None = None
    events: NameFilter | None = None
    source_id: int | None = None
    relation: Relation | None = None


def list_claims(
    session: Session, filters: ClaimFilters, before: int | None = None, after: int | None = None, limit: int = 50
) -> Page[Any]:
    if (filters.speakers is not None and not filters.speakers.ids) or (
        filters.events is not None and not filters.events.ids
    ):
        return Page(items=[], extra={"link_counts": {}, "sources": {}})
    where: list[str] = ["1=1" if filters.include_retracted else "c.retracted = 0"]
    params: dict[str, Any] = {}
    prefix = ""
    source = "claims c"
    id_column = "c.id"
    match = list_match(session, filters.q)
    if match:
        # Join the index and page on its rowid: an IN (subquery) would list every match before the LIMIT.
        source = f"{SEARCH_FTS} f JOIN claims c ON c.id = f.rowid"
        id_column = "f.rowid"
        where.append(f"f.{SEARCH_FTS} MATCH :q")
        params["q"] = match.query
    if filters.speaker_id is not None:
        params["speaker_id"] = filters.speaker_id
        if filters.include_members:
            prefix = member_ids_sql() + "\n"
            where.append("c.speaker_id IN (SELECT id FROM members)")
        else:
            where.append("c.speaker_id = :speaker_id")
    elif filters.speakers is not None:
        prefix = member_ids_sql(f"SELECT id FROM speakers WHERE id IN ({ids_param(filters.speakers.ids)})") + "\n"
        where.append("c.speaker_id IN (SELECT id FROM members)")
    if filters.events is not None:
        where.append(f"c.event_id IN ({ids_param(filters.events.ids)})")
    if filters.event_id is not None:
        where.append("c.event_id = :event_id")
        params["event_id"] = filters.event_id
    if filters.source_id is not None:
        where.append("c.id IN (SELECT claim_id FROM claim_sources WHERE source_id = :source_id)")
        params["source_id"] = filters.source_id
    if filters.verdict:
        where.append("c.verdict = :verdict")
        params["verdict"] = filters.verdict
    if filters.language:
        where.append("c.language = :language")
        params["language"] = filters.language
    if filters.relation is not None:
        where.append(
            "(EXISTS (SELECT 1 FROM claim_links l JOIN claims o ON o.id = l.from_claim_id WHERE l.to_claim_id = c.id"
            " AND l.relation = :relation AND l.retracted = 0 AND o.retracted = 0)"
            " OR EXISTS (SELECT 1 FROM claim_links l JOIN claims o ON o.id = l.to_claim_id WHERE l.from_claim_id = c.id"
            " AND l.relation = :relation AND l.retracted = 0 AND o.retracted = 0))"
        )
        params["relation"] = filters.relation.value
    # Find the page's ids on the claims table alone, then fetch their details: joining first would make
    # SQLite build and sort every matching row (all of a big organisation's claims) before the LIMIT.
    sql = prefix + f"SELECT c.id AS id FROM {source} WHERE {' AND '.join(where)} {{cursor}}"
    page = keyset_page(session, sql, params, id_column=id_column, before=before, after=after, limit=limit)
    ids = [r["id"] for r in page.items]
    details = {r["id"]: r for r in rows(session, _CLAIM_SELECT + f" WHERE c.id IN ({ids_param(ids)})")}
    page.items = [details[i] for i in ids]
    page.extra["link_counts"] = link_counts(session, ids)
    page.extra["sources"] = sources_for(session, ids)
    page.extra["whole_words"] = match.whole_words if match else ()
    return page


def filter_names(session: Session, filters: ClaimFilters) -> dict[str, str | None]:
    """Display names of the speaker, event and source a list is filtered by (one query)."""
    found = rows(
        session,
        """SELECT (SELECT name FROM speakers WHERE id = :s) AS speaker, (SELECT name FROM events WHERE id = :e) AS event,
        (SELECT coalesce(title, url, outlet) FROM sources WHERE id = :src) AS source""",
        {"s": filters.speaker_id, "e": filters.event_id, "src": filters.source_id},
    )
    return dict(found[0])


def link_counts(session: Session, claim_ids: list[int]) -> dict[int, dict[str, int]]:
    """For each claim: how many statements contradict/support/qualify it, and how many it answers.

    Retracted links, and links to retracted statements, are not counted."""
    ids = ids_param(claim_ids)
    counts: dict[int, dict[str, int]] = {i: {} for i in claim_ids}
    for row in rows(
        session,
        f"""SELECT l.to_claim_id AS id, 'in_' || l.relation AS k, count(*) AS n
            FROM claim_links l JOIN claims o ON o.id = l.from_claim_id
            WHERE l.to_claim_id IN ({ids}) AND l.retracted = 0 AND o.retracted = 0 GROUP BY 1, 2
        UNION ALL
        SELECT l.from_claim_id, 'out_' || l.relation, count(*)
            FROM claim_links l JOIN claims o ON o.id = l.to_claim_id
            WHERE l.from_claim_id IN ({ids}) AND l.retracted = 0 AND o.retracted = 0 GROUP BY 1, 2""",
    ):
        counts[row["id"]][row["k"]] = row["n"]
    return counts


def claim_choices(session: Session, q: str, exclude_id: int, limit: int = 20) -> list[Any]:
    """Statements a fact-checker may pick as the other side of a link: every word of ``q`` in the text, the
    speaker's name or whom they speak for, or a source's title or outlet (see search.match_all)."""
    if match_all(q) is None:  # no word to look for (only punctuation, say): nothing is found
        return []
    page = list_claims(session, ClaimFilters(q=q), limit=limit + 1)
    return [c for c in page.items if c["id"] != exclude_id][:limit]


def claim_choice(session: Session, claim_id: int) -> ClaimRow | None:
    """One statement picked as the other side of a link, or None when there is no such live statement."""
    found = rows(session, _CLAIM_SELECT + " WHERE c.id = :id AND c.retracted = 0", {"id": claim_id})
    return ClaimRow(**found[0]) if found else None


@dataclass(frozen=True)
class LinkGroup:
    """One section of links on a claim page."""

    key: str  # the section's id on the page
    relation: str
    heading: str
    links: list[Any]
    empty: str | None = None  # what an empty section says; None hides it when empty


def display_groups(detail: ClaimDetail) -> list[LinkGroup]:
    """The claim page's sections. Contradiction is mutual to a reader, so both directions share one
    section (each link keeps its recorded direction in the data and says it in words); support and
    qualification are not symmetric, so each direction keeps its own heading."""
    by_key = {(direction, relation): links for direction, relation, links in detail.link_groups}
    contradictions = sorted(
        by_key.get(("incoming", "contradicts"), []) + by_key.get(("outgoing", "contradicts"), []),
        key=lambda link: link["link_id"],
    )
    groups = [
        LinkGroup(
            "h-incoming-contradicts",
            "contradicts",
            "Contradicted by / contradicts",
            contradictions,
            "No statement contradicts this one yet, and it contradicts none.",
        )
    ]
    for direction, relation in LINK_HEADINGS:
        if relation != "contradicts":
            groups.append(
                LinkGroup(
                    f"h-{direction}-{relation}",
                    relation,
                    LINK_HEADINGS[(direction, relation)],
                    by_key[(direction, relation)],
                )
            )
    return groups

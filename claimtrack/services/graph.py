"""Who answers whom, as typed data: a claim's neighbourhood, an event's links, an event's timeline.

Each function runs a fixed, small number of queries whatever the number of statements (no query per
statement or per link), and returns a bounded amount: a claim answered by hundreds of statements shows
the first ``per_group`` of each kind of link and says how many more there are. Retracted statements and
retracted links are left out, as in every count of the app.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlmodel import Session

from claimtrack.models import Event
from claimtrack.services.common import Reads, require, rows
from claimtrack.services.errors import NotFound

# Display order of the groups around a claim: what answers it first, contradictions first.
GROUP_ORDER: tuple[tuple[str, str], ...] = (
    ("incoming", "contradicts"),
    ("incoming", "supports"),
    ("incoming", "qualifies"),
    ("outgoing", "contradicts"),
    ("outgoing", "supports"),
    ("outgoing", "qualifies"),
)
# Each relation as a past participle, for the words that name a link's direction ("contradicted by").
PARTICIPLES: dict[str, str] = {"contradicts": "contradicted", "supports": "supported", "qualifies": "qualified"}
RELATION_RANK_SQL = "CASE relation WHEN 'contradicts' THEN 0 WHEN 'supports' THEN 1 ELSE 2 END"

CLAIM_PER_GROUP = 40  # statements shown per kind of link around one claim
EVENT_CLAIMS = 12  # answered claims shown in an event's graph
EVENT_PER_CLAIM = 16  # statements shown answering each of them
TIMELINE_ROWS = 120  # dated statements on an event's timeline


@dataclass(frozen=True)
class Node:
    """One statement, with what a picture of it needs: its speaker and the speaker's kind."""

    id: int
    text: str
    verbatim: bool
    speaker_id: int
    speaker: str
    speaker_kind: str
    verdict: str | None = None
    stated_on: str | None = None
    stated_time: str | None = None

    @classmethod
    def from_row(cls, row: Any, prefix: str = "") -> Node:
        return cls(
            id=row[f"{prefix}id"],
            text=row[f"{prefix}text"],
            verbatim=bool(row[f"{prefix}verbatim"]),
            speaker_id=row[f"{prefix}speaker_id"],
            speaker=row[f"{prefix}speaker"],
            speaker_kind=row[f"{prefix}speaker_kind"],
            verdict=row[f"{prefix}verdict"],
            stated_on=row[f"{prefix}stated_on"],
            stated_time=row[f"{prefix}stated_time"],
        )


@dataclass(frozen=True)
class Edge:
    """``source`` *relation* ``target``, as stored in claim_links (the answering statement is the source)."""

    link_id: int
    source: int
    target: int
    relation: str
    note: str | None = None


@dataclass
class Group:
    """The statements linked to a head statement one way by one relation, e.g. everything contradicting it."""

    direction: str  # "incoming": the node answers the head; "outgoing": the head answers the node
    relation: str
    nodes: list[Node] = field(default_factory=list)
    edges: list[Edge] = field(default_factory=list)
    total: int = 0  # all such links, shown or not
    speakers: int = 0  # distinct speakers among all of them (0 where not counted)

    @property
    def more(self) -> int:
        return self.total - len(self.nodes)


@dataclass
class Block:
    """A head statement and the groups of statements linked to it: a claim's neighbourhood, or one
    claim answered in an event with everything answering it."""

    head: Node
    groups: list[Group]

    @property
    def edges(self) -> list[Edge]:
        return [edge for group in self.groups for edge in group.edges]

    def group(self, direction: str, relation: str) -> Group | None:
        return next((g for g in self.groups if (g.direction, g.relation) == (direction, relation)), None)


@dataclass
class ClaimSummary:
    """How a claim stands, in one line: "Contradicted by 5 statements from 4 speakers · supported by 1 · ..."."""

    contradicted_by: int
    contradicting_speakers: int
    supported_by: int
    qualified_by: int
    contradicts: int
    verdict: str | None

    def parts(self) -> list[str]:
        def n(count: int, word: str) -> str:
            return f"{count} {word}{'' if count == 1 else 's'}"

        parts = [
            f"Contradicted by {n(self.contradicted_by, 'statement')} from {n(self.contradicting_speakers, 'speaker')}"
            if self.contradicted_by
            else "No statement contradicts it yet"
        ]
        if self.supported_by:
            parts.append(f"supported by {self.supported_by}")
        if self.qualified_by:
            parts.append(f"qualified by {self.qualified_by}")
        if self.contradicts:
            parts.append(f"it contradicts {n(self.contradicts, 'statement')}")
        parts.append(f"verdict {self.verdict}" if self.verdict else "no verdict yet")
        return parts

    @property
    def line(self) -> str:
        return " · ".join(self.parts())


@dataclass
class ClaimGraph:
    block: Block
    summary: ClaimSummary

    @property
    def nodes(self) -> list[Node]:
        return [self.block.head, *(node for g in self.block.groups for node in g.nodes)]

    @property
    def more(self) -> int:
        return sum(g.more for g in self.block.groups)


@dataclass
class EventGraph:
    event_id: int
    event: str
    blocks: list[Block]  # one per answered statement, most contradicted first
    answered_total: int  # statements of the event that another statement answers
    statements: int  # live statements of the event
    unlinked: int  # of which neither answer nor are answered by any statement

    @property
    def more_claims(self) -> int:
        return self.answered_total - len(self.blocks)

    @property
    def nodes(self) -> list[Node]:
        seen: dict[int, Node] = {}
        for block in self.blocks:
            seen.setdefault(block.head.id, block.head)
            for group in block.groups:
                for node in group.nodes:
                    seen.setdefault(node.id, node)
        return list(seen.values())

    @property
    def edges(self) -> list[Edge]:
        return [edge for block in self.blocks for edge in block.edges]


@dataclass
class Timeline:
    event_id: int
    event: str
    nodes: list[Node]  # dated statements in time order (untimed ones first within their day)
    dated_total: int
    undated: int

    @property
    def more(self) -> int:
        return self.dated_total - len(self.nodes)


_NODE_COLS = """{a}.id AS {p}id, {a}.text AS {p}text, {a}.verbatim AS {p}verbatim, {a}.verdict AS {p}verdict,
    {a}.stated_on AS {p}stated_on, {a}.stated_time AS {p}stated_time,
    {s}.id AS {p}speaker_id, {s}.name AS {p}speaker, {s}.kind AS {p}speaker_kind"""


def _node_cols(claim_alias: str, speaker_alias: str, prefix: str = "") -> str:
    return _NODE_COLS.format(a=claim_alias, s=speaker_alias, p=prefix)


def _focus(session: Reads, claim_id: int) -> Node:
    found = rows(
        session,
        f"SELECT {_node_cols('c', 's')} FROM claims c JOIN speakers s ON s.id = c.speaker_id WHERE c.id = :id",
        {"id": claim_id},
    )
    if not found:
        raise NotFound("claim", claim_id)
    return Node.from_row(found[0])


# Every live link of one claim, both ways, with the other statement and its speaker.
_CLAIM_LINKS = f"""
    SELECT 'incoming' AS direction, l.id AS link_id, l.relation, l.note, l.from_claim_id, l.to_claim_id,
        {_node_cols("o", "sp")}
    FROM claim_links l JOIN claims o ON o.id = l.from_claim_id JOIN speakers sp ON sp.id = o.speaker_id
    WHERE l.to_claim_id = :id AND l.retracted = 0 AND o.retracted = 0
    UNION ALL
    SELECT 'outgoing', l.id, l.relation, l.note, l.from_claim_id, l.to_claim_id, {_node_cols("o", "sp")}
    FROM claim_links l JOIN claims o ON o.id = l.to_claim_id JOIN speakers sp ON sp.id = o.speaker_id
    WHERE l.from_claim_id = :id AND l.retracted = 0 AND o.retracted = 0"""


def claim_graph(
    session: Reads, claim_id: int, per_group: int = CLAIM_PER_GROUP, head: Node | None = None
) -> ClaimGraph:
    """The claim, every statement linked to it (up to ``per_group`` per direction and relation, grouped by
    speaker kind and speaker), and the counts of all of them. Three queries; two when the caller has
    already read the claim and passes it as ``head`` (the claim page)."""
    head = head if head is not None else _focus(session, claim_id)
    linked = rows(
        session,
        f"""SELECT * FROM (
            SELECT x.*, row_number() OVER (PARTITION BY direction, relation
                ORDER BY speaker_kind, speaker COLLATE NOCASE, id) AS rank
            FROM ({_CLAIM_LINKS}) x)
        WHERE rank <= :per_group ORDER BY direction, relation, rank""",
        {"id": claim_id, "per_group": per_group},
    )
    counts = {
        (r["direction"], r["relation"]): r
        for r in rows(
            session,
            f"""SELECT direction, relation, count(*) AS total, count(DISTINCT speaker_id) AS speakers
            FROM ({_CLAIM_LINKS}) GROUP BY direction, relation""",
            {"id": claim_id},
        )
    }
    groups: list[Group] = []
    for direction, relation in GROUP_ORDER:
        count = counts.get((direction, relation))
        if count is None:
            continue
        group = Group(direction, relation, total=count["total"], speakers=count["speakers"])
        for r in linked:
            if (r["direction"], r["relation"]) == (direction, relation):
                group.nodes.append(Node.from_row(r))
                group.edges.append(Edge(r["link_id"], r["from_claim_id"], r["to_claim_id"], relation, r["note"]))
        groups.append(group)

    def total(direction: str, relation: str) -> int:
        return counts[(direction, relation)]["total"] if (direction, relation) in counts else 0

    contradicting = counts.get(("incoming", "contradicts"))
    summary = ClaimSummary(
        contradicted_by=total("incoming", "contradicts"),
        contradicting_speakers=contradicting["speakers"] if contradicting else 0,
        supported_by=total("incoming", "supports"),
        qualified_by=total("incoming", "qualifies"),
        contradicts=total("outgoing", "contradicts"),
        verdict=head.verdict,
    )
    return ClaimGraph(Block(head, groups), summary)


# SQLite's NOCASE folds ASCII letters only; the graph built in Python orders names the same way.
_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")


def graph_from_links(head: Node, links: list[Any], per_group: int = CLAIM_PER_GROUP) -> ClaimGraph:
    """What ``claim_graph`` returns, built from the claim page's own rows of every link of the claim (both
    directions, retracted ones included, each with the other statement and its speaker): no query.
    The caller must pass every link; a page that shows only some of them uses ``claim_graph``."""
    live = [link for link in links if not link["link_retracted"] and not link["retracted"]]
    groups: list[Group] = []
    counts: dict[tuple[str, str], Group] = {}
    for direction, relation in GROUP_ORDER:
        members = [link for link in live if (link["direction"], link["relation"]) == (direction, relation)]
        if not members:
            continue
        members.sort(key=lambda x: (x["speaker_kind"], x["speaker"].translate(_ASCII_LOWER), x["other_id"]))
        group = Group(direction, relation, total=len(members), speakers=len({x["speaker_id"] for x in members}))
        for x in members[:per_group]:
            group.nodes.append(
                Node(
                    id=x["other_id"],
                    text=x["text"],
                    verbatim=bool(x["verbatim"]),
                    speaker_id=x["speaker_id"],
                    speaker=x["speaker"],
                    speaker_kind=x["speaker_kind"],
                    verdict=x["verdict"],
                    stated_on=x["stated_on"],
                    stated_time=x["stated_time"],
                )
            )
            source, target = (x["other_id"], head.id) if direction == "incoming" else (head.id, x["other_id"])
            group.edges.append(Edge(x["link_id"], source, target, relation, x["note"]))
        groups.append(group)
        counts[(direction, relation)] = group

    def total(direction: str, relation: str) -> int:
        return counts[(direction, relation)].total if (direction, relation) in counts else 0

    contradicting = counts.get(("incoming", "contradicts"))
    summary = ClaimSummary(
        contradicted_by=total("incoming", "contradicts"),
        contradicting_speakers=contradicting.speakers if contradicting else 0,
        supported_by=total("incoming", "supports"),
        qualified_by=total("incoming", "qualifies"),
        contradicts=total("outgoing", "contradicts"),
        verdict=head.verdict,
    )
    return ClaimGraph(Block(head, groups), summary)


def event_graph(
    session: Session, event_id: int, max_claims: int = EVENT_CLAIMS, per_claim: int = EVENT_PER_CLAIM
) -> EventGraph:
    """The event's answered statements, most contradicted first, each with what answers it: one claim, then
    everything that contradicts (supports, qualifies) it, instead of one row per pair. Three queries."""
    event = require(session, Event, event_id, "event")
    linked = rows(
        session,
        f"""WITH lk AS (
            SELECT l.id AS link_id, l.relation, l.note, l.from_claim_id, l.to_claim_id, {_node_cols("o", "sp")}
            FROM claim_links l JOIN claims t ON t.id = l.to_claim_id
            JOIN claims o ON o.id = l.from_claim_id JOIN speakers sp ON sp.id = o.speaker_id
            WHERE t.event_id = :event_id AND t.retracted = 0 AND l.retracted = 0 AND o.retracted = 0
        ), answered AS (
            SELECT to_claim_id, row_number() OVER (
                ORDER BY sum(relation = 'contradicts') DESC, count(*) DESC, to_claim_id) AS claim_rank,
                count(*) OVER () AS answered_total
            FROM lk GROUP BY to_claim_id
        ), ranked AS (
            SELECT lk.*, a.claim_rank, a.answered_total,
                row_number() OVER (PARTITION BY lk.to_claim_id
                    ORDER BY {RELATION_RANK_SQL}, speaker_kind, speaker COLLATE NOCASE, id) AS rank,
                count(*) OVER (PARTITION BY lk.to_claim_id, relation) AS group_total
            FROM lk JOIN answered a ON a.to_claim_id = lk.to_claim_id
            WHERE a.claim_rank <= :max_claims
        )
        SELECT r.*, {_node_cols("t", "ts", "head_")}
        FROM ranked r JOIN claims t ON t.id = r.to_claim_id JOIN speakers ts ON ts.id = t.speaker_id
        WHERE r.rank <= :per_claim ORDER BY r.claim_rank, r.rank""",
        {"event_id": event_id, "max_claims": max_claims, "per_claim": per_claim},
    )
    totals = rows(
        session,
        """SELECT count(*) AS statements,
            sum(NOT EXISTS (SELECT 1 FROM claim_links l JOIN claims o ON o.id = l.from_claim_id
                    WHERE l.to_claim_id = c.id AND l.retracted = 0 AND o.retracted = 0)
                AND NOT EXISTS (SELECT 1 FROM claim_links l JOIN claims o ON o.id = l.to_claim_id
                    WHERE l.from_claim_id = c.id AND l.retracted = 0 AND o.retracted = 0)) AS unlinked
        FROM claims c WHERE c.event_id = :event_id AND c.retracted = 0""",
        {"event_id": event_id},
    )[0]
    blocks: dict[int, Block] = {}
    for r in linked:
        block = blocks.get(r["to_claim_id"])
        if block is None:
            block = blocks[r["to_claim_id"]] = Block(Node.from_row(r, "head_"), [])
        group = block.group("incoming", r["relation"])
        if group is None:
            group = Group("incoming", r["relation"], total=r["group_total"])
            block.groups.append(group)
        group.nodes.append(Node.from_row(r))
        group.edges.append(Edge(r["link_id"], r["from_claim_id"], r["to_claim_id"], r["relation"], r["note"]))
    return EventGraph(
        event_id=event_id,
        event=event.name,
        blocks=list(blocks.values()),
        answered_total=linked[0]["answered_total"] if linked else 0,
        statements=totals["statements"] or 0,
        unlinked=totals["unlinked"] or 0,
    )


def event_timeline(session: Session, event_id: int, max_rows: int = TIMELINE_ROWS) -> Timeline:
    """The event's dated statements in the order they were made. Two queries."""
    event = require(session, Event, event_id, "event")
    found = rows(
        session,
        f"""SELECT {_node_cols("c", "s")}, count(*) OVER () AS dated_total,
            (SELECT count(*) FROM claims u WHERE u.event_id = :event_id AND u.retracted = 0
                AND u.stated_on IS NULL) AS undated
        FROM claims c JOIN speakers s ON s.id = c.speaker_id
        WHERE c.event_id = :event_id AND c.retracted = 0 AND c.stated_on IS NOT NULL
        ORDER BY c.stated_on, coalesce(c.stated_time, ''), c.id LIMIT :max_rows""",
        {"event_id": event_id, "max_rows": max_rows},
    )
    if found:
        dated_total, undated = found[0]["dated_total"], found[0]["undated"]
    else:  # no dated statement: the undated ones still deserve a mention
        dated_total = 0
        undated = rows(
            session, "SELECT count(*) AS n FROM claims WHERE event_id = :e AND retracted = 0", {"e": event_id}
        )[0]["n"]
    return Timeline(event_id, event.name, [Node.from_row(r) for r in found], dated_total, undated)

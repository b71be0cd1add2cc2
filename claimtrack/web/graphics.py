"""Pictures of who answers whom, laid out in Python and drawn as SVG by _graph.html and _timeline.html.

The layout is a column a phone can read: the head statement across the top, the statements answering it
below in two columns, each joined to the head by a line routed along the margin (one "trunk" per kind of
link, so fifty statements make fifty short stubs rather than fifty crossing lines). The drawing keeps a
fixed width (``WIDTH`` user units, scaled by the viewBox) and grows downwards, so it stays legible at
390 px. A kind of link is told apart by its dash pattern and arrowhead shape as well as its colour, and a
speaker kind by a printed name as well as its colour. Everything shown is also in ``outline``, the text
equivalent the templates print beside the picture.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace

from markupsafe import Markup, escape

from claimtrack.models import SPEAKER_KIND_LABELS, SpeakerKind
from claimtrack.services.claims import LINK_HEADINGS
from claimtrack.services.graph import GROUP_ORDER, PARTICIPLES, Block, ClaimGraph, EventGraph, Group, Node, Timeline

WIDTH = 360
PAD = 30  # the margin on each side where the trunks run
GAP = 8
COL_W = (WIDTH - 2 * PAD - GAP) // 2
BOX_H = 54
ROW_GAP = 8
HEAD_H = 58
HEADING_H = 22
CHAR_W = 6.1  # average advance of an 11-unit sans-serif character, to shorten labels before they overflow

# One colour per speaker kind, the same in the dashboard's charts (datasette-metadata.json; a test checks it).
# Okabe-Ito colours: told apart with the common colour-vision deficiencies.
KIND_COLOURS: dict[str, str] = {
    SpeakerKind.person.value: "#0072B2",
    SpeakerKind.government_body.value: "#D55E00",
    SpeakerKind.armed_group.value: "#CC79A7",
    SpeakerKind.organisation.value: "#009E73",
    SpeakerKind.media_outlet.value: "#E69F00",
    SpeakerKind.group.value: "#56B4E9",
}
OTHER_COLOUR = "#6B7280"

# One colour per verdict, the same in the dashboard ("none given" is the dashboard's word for no verdict).
VERDICT_COLOURS: dict[str, str] = {
    "accurate": "#1F6F3F",
    "misleading": "#E69F00",
    "disputed": "#CC79A7",
    "false": "#A4161A",
    "unverified": "#8A8F98",
    "none given": "#C9CED6",
}


@dataclass(frozen=True)
class RelationStyle:
    colour: str
    dash: str  # stroke-dasharray; "" is a solid line
    marker: str  # id suffix of the arrowhead: a filled triangle, an open one, a diamond
    verb: str


RELATION_STYLES: dict[str, RelationStyle] = {
    "contradicts": RelationStyle("#A4161A", "", "filled", "contradicts"),
    "supports": RelationStyle("#1F6F3F", "7 4", "open", "supports"),
    "qualifies": RelationStyle("#6B4FA0", "2 3", "diamond", "qualifies"),
}

HEADINGS = LINK_HEADINGS  # the same words as the claim page's sections


def kind_colour(kind: str) -> str:
    return KIND_COLOURS.get(kind, OTHER_COLOUR)


def kind_label(kind: str) -> str:
    try:
        return SPEAKER_KIND_LABELS[SpeakerKind(kind)]
    except ValueError:
        return kind.replace("_", " ").capitalize()


def tint(colour: str, keep: float = 0.14) -> str:
    """``colour`` mixed with white: a box's fill, light enough for dark text at any kind's colour."""
    r, g, b = (int(colour[i : i + 2], 16) for i in (1, 3, 5))
    return "#" + "".join(f"{round(255 - (255 - c) * keep):02x}" for c in (r, g, b))


def shorten(text: str, chars: int) -> str:
    """One line of at most ``chars`` characters, cut at a word where it can be, with an ellipsis."""
    text = " ".join(text.split())  # line breaks typed in a statement do not break the picture's lines
    if len(text) <= chars:
        return text
    cut = text[: chars - 1]
    space = cut.rfind(" ")
    if space > chars // 2:
        cut = cut[:space]
    return cut.rstrip(" ,.;:") + "…"


def wrap(text: str, chars: int, lines: int) -> list[str]:
    """Up to ``lines`` lines of ``chars`` characters; the last one ends with an ellipsis if text is left."""
    words = " ".join(text.split()).split(" ")
    out: list[str] = []
    while words and len(out) < lines:
        line = ""
        while words and len(line) + len(words[0]) + (1 if line else 0) <= chars:
            line = f"{line} {words.pop(0)}" if line else words.pop(0)
        if not line:  # one word longer than the line
            line, words[0] = words[0][:chars], words[0][chars:]
        out.append(line)
    if words:
        out[-1] = shorten(out[-1] + " " + " ".join(words), chars)
    return out


def quoted(node: Node) -> str:
    """A direct quote in quotation marks, unless it was pasted with its own."""
    text = " ".join(node.text.split())
    if node.verbatim and not (text[:1] in "\"“«‘'" and text[-1:] in "\"”»’'"):
        return f"“{text}”"
    return text


def when(node: Node) -> str:
    """16 Dec 2016, 19:35: the readable form of a statement's date and time."""
    if not node.stated_on:
        return "date not recorded"
    year, month, day = node.stated_on.split("-")
    months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
    text = f"{int(day)} {months[int(month) - 1]} {year}"
    return f"{text}, {node.stated_time}" if node.stated_time else text


def datetime_attr(node: Node) -> str:
    return f"{node.stated_on}T{node.stated_time}" if node.stated_on and node.stated_time else node.stated_on or ""


# --- the shapes a template draws ------------------------------------------------------------------


@dataclass(frozen=True)
class Drawn:
    """A statement drawn in a picture (a graph's box, a timeline's mark): where, in its speaker's colour."""

    node: Node
    x: float
    y: float
    colour: str
    lines: list[str]  # the first names the speaker, in bold
    title: str  # the full statement, shown on hover


@dataclass(frozen=True)
class Box(Drawn):
    w: float
    h: float
    fill: str
    head: bool = False


@dataclass(frozen=True)
class Line:
    d: str
    relation: str
    colour: str
    dash: str
    marker_start: str | None  # an arrowhead at the head statement (the other statement answers it)
    marker_end: str | None  # an arrowhead at the other statement (the head statement answers it)
    title: str


@dataclass(frozen=True)
class Label:
    x: float
    y: float
    text: str
    css: str = "label"


@dataclass(frozen=True)
class LegendItem:
    label: str
    colour: str
    relation: str | None = None  # a sample line of this relation instead of a colour swatch
    x: float = 0
    y: float = 0


@dataclass(frozen=True)
class OutlineItem:
    phrase: str  # how this statement relates to the head: "contradicts it", "is contradicted by it"
    relation: str
    node: Node
    text: str  # the statement as shown (quoted if a direct quote)
    kind: str  # the speaker kind, in words


# The text equivalent names the direction in words, as the arrows do in the picture.
PHRASES: dict[tuple[str, str], str] = {
    (direction, relation): f"{relation} it" if direction == "incoming" else f"is {PARTICIPLES[relation]} by it"
    for direction, relation in GROUP_ORDER
}


@dataclass
class OutlineSection:
    heading: str
    head: Node
    head_text: str
    head_kind: str
    items: list[OutlineItem]
    more: int = 0


@dataclass
class Figure:
    """An SVG picture: its size, its accessible title and description, its text labels and the notes said
    under it as well ("and 240 more …")."""

    width: int
    height: float
    title: str
    desc: str
    labels: list[Label] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


@dataclass
class Picture(Figure):
    boxes: list[Box] = field(default_factory=list)
    lines: list[Line] = field(default_factory=list)
    legend: list[LegendItem] = field(default_factory=list)
    outline: list[OutlineSection] = field(default_factory=list)
    styles: dict[str, RelationStyle] = field(default_factory=lambda: dict(RELATION_STYLES))


def _box(node: Node, x: float, y: float, w: float, h: float, head: bool = False) -> Box:
    chars = int((w - 14) / CHAR_W)
    speaker = shorten(node.speaker, chars)
    if head:
        verdict = f" · {node.verdict}" if node.verdict else ""
        lines = [shorten(node.speaker + verdict, chars), *wrap(quoted(node), chars, 2)]
    else:
        lines = [speaker, *wrap(quoted(node), chars, 2)]
    colour = kind_colour(node.speaker_kind)
    title = f"{node.speaker} ({kind_label(node.speaker_kind)}): {quoted(node)}"
    return Box(node=node, x=x, y=y, colour=colour, lines=lines, title=title, w=w, h=h, fill=tint(colour), head=head)


def _legend(nodes: list[Node], relations: list[str], y: float) -> tuple[list[LegendItem], float]:
    """Two columns: the kinds of speaker shown, then the kinds of link shown."""
    kinds = sorted(
        {n.speaker_kind for n in nodes}, key=lambda k: list(KIND_COLOURS).index(k) if k in KIND_COLOURS else 99
    )
    entries = [LegendItem(kind_label(k), kind_colour(k)) for k in kinds]
    entries += [LegendItem(RELATION_STYLES[r].verb, RELATION_STYLES[r].colour, r) for r in relations]
    placed = []
    for i, item in enumerate(entries):
        col, row = i % 2, i // 2
        placed.append(LegendItem(item.label, item.colour, item.relation, PAD + col * (COL_W + GAP), y + row * 18))
    return placed, y + ((len(entries) + 1) // 2) * 18 + 6


def _lay_block(picture: Picture, block: Block, y: float, headings: dict[tuple[str, str], str]) -> float:
    """Draw one head statement and its groups from ``y`` down; return the y below it."""
    head = _box(block.head, PAD, y, WIDTH - 2 * PAD, HEAD_H, head=True)
    picture.boxes.append(head)
    y += HEAD_H + 6
    for gi, group in enumerate(block.groups):
        style = RELATION_STYLES.get(group.relation, RELATION_STYLES["qualifies"])
        picture.labels.append(
            Label(PAD, y + 14, f"{headings[(group.direction, group.relation)]} ({group.total})", "heading")
        )
        y += HEADING_H
        connect_y = head.y + 10 + gi * 7  # each kind of link meets the head at its own height
        for i, node in enumerate(group.nodes):
            col, row = i % 2, i // 2
            x = PAD if col == 0 else PAD + COL_W + GAP
            by = y + row * (BOX_H + ROW_GAP)
            picture.boxes.append(_box(node, x, by, COL_W, BOX_H))
            if col == 0:
                head_x, trunk, node_x = PAD, PAD - 7 - gi * 4, PAD
            else:
                head_x, trunk, node_x = WIDTH - PAD, WIDTH - PAD + 7 + gi * 4, WIDTH - PAD
            # Drawn from the head outwards, so the dashes of lines sharing a trunk line up.
            incoming = group.direction == "incoming"
            verb = style.verb
            title = (
                f"{node.speaker} {verb} {block.head.speaker}"
                if incoming
                else f"{block.head.speaker} {verb} {node.speaker}"
            )
            picture.lines.append(
                Line(
                    d=f"M{head_x},{connect_y} H{trunk} V{by + BOX_H / 2} H{node_x}",
                    relation=group.relation,
                    colour=style.colour,
                    dash=style.dash,
                    marker_start=style.marker if incoming else None,
                    marker_end=None if incoming else style.marker,
                    title=title,
                )
            )
        rows = (len(group.nodes) + 1) // 2
        y += rows * (BOX_H + ROW_GAP)
        if group.more > 0:
            text = f"and {group.more} more {'statement' if group.more == 1 else 'statements'} ({headings[(group.direction, group.relation)].lower()})"
            picture.labels.append(Label(PAD, y + 10, text, "more"))
            y += 20
    return y


def _outline(block: Block, heading: str) -> OutlineSection:
    items = [
        OutlineItem(PHRASES[(g.direction, g.relation)], g.relation, n, quoted(n), kind_label(n.speaker_kind))
        for g in block.groups
        for n in g.nodes
    ]
    more = sum(g.more for g in block.groups)
    head = block.head
    return OutlineSection(heading, head, quoted(head), kind_label(head.speaker_kind), items, more)


def _relations(groups: list[Group]) -> list[str]:
    present = {g.relation for g in groups}
    return [r for r in RELATION_STYLES if r in present]


def claim_picture(graph: ClaimGraph) -> Picture:
    block = graph.block
    head = block.head
    picture = Picture(
        WIDTH,
        0,
        title=f"Statements linked to claim {head.id} by {head.speaker}",
        desc=(
            f"{graph.summary.line}. The claim is at the top; below it, each statement linked to it, "
            "grouped by kind of link and coloured by kind of speaker. Listed as text after the picture."
        ),
    )
    picture.legend, y = _legend(graph.nodes, _relations(block.groups), 4)
    y = _lay_block(picture, block, y + 6, HEADINGS)
    picture.height = y + 4
    section = _outline(block, f"Claim {head.id}")
    picture.outline = [section]
    if graph.more:
        picture.notes.append(
            f"The picture shows {len(graph.nodes) - 1} of {len(graph.nodes) - 1 + graph.more} "
            "linked statements; every one is listed further down this page."
        )
    return picture


def event_picture(graph: EventGraph) -> Picture:
    picture = Picture(
        WIDTH,
        0,
        title=f"Who contradicts whom: {graph.event}",
        desc=(
            f"{graph.answered_total} statements of this event are answered by others. Each is shown across the "
            "width, with the statements that contradict, support or qualify it below it, coloured by kind "
            "of speaker. Listed as text after the picture."
        ),
    )
    groups = [g for b in graph.blocks for g in b.groups]
    picture.legend, y = _legend(graph.nodes, _relations(groups), 4)
    event_headings = {key: text for key, text in HEADINGS.items()}
    for block in graph.blocks:
        y = _lay_block(picture, block, y + 10, event_headings) + 4
        picture.outline.append(_outline(block, f"Claim {block.head.id} by {block.head.speaker}"))
    if graph.more_claims > 0:
        picture.labels.append(Label(PAD, y + 12, f"and {graph.more_claims} more answered statements", "more"))
        y += 22
        picture.notes.append(
            f"The picture shows the {len(graph.blocks)} most contradicted of "
            f"{graph.answered_total} answered statements."
        )
    if graph.unlinked:
        picture.notes.append(
            f"{graph.unlinked} of the event's {graph.statements} statements neither answer nor "
            "are answered by another, and are not in the picture."
        )
    picture.height = y + 4
    return picture


# --- the timeline -----------------------------------------------------------------------------------

MAX_LANES = 8  # speakers with a lane of their own; the rest share the last one
LANE_W = 14
TL_ROW = 32
TL_DATE = 24


@dataclass(frozen=True)
class Lane:
    x: float
    speaker: str
    colour: str
    y_top: float
    others: bool = False


@dataclass(frozen=True)
class Mark(Drawn):
    when: str  # "16 Dec 2016, 19:35", for the text list
    datetime: str  # the same for <time datetime>
    text: str


@dataclass
class TimelinePicture(Figure):
    lanes: list[Lane] = field(default_factory=list)
    marks: list[Mark] = field(default_factory=list)
    label_x: float = 0
    nodes: list[Node] = field(default_factory=list)


def timeline_picture(timeline: Timeline) -> TimelinePicture:
    """One lane per speaker (the busiest ``MAX_LANES``), time running down the page in the order the
    statements were made (not to scale: twenty statements in one hour must stay readable)."""
    counts: dict[int, int] = {}
    first: dict[int, Node] = {}
    for node in timeline.nodes:
        counts[node.speaker_id] = counts.get(node.speaker_id, 0) + 1
        first.setdefault(node.speaker_id, node)
    ranked = sorted(counts, key=lambda s: (-counts[s], first[s].speaker.casefold()))
    own = ranked[: MAX_LANES - 1] if len(ranked) > MAX_LANES else ranked
    shared = len(ranked) > len(own)
    lane_count = len(own) + (1 if shared else 0)
    label_x = 10 + lane_count * LANE_W + 6
    chars = int((WIDTH - label_x - 4) / CHAR_W)
    picture = TimelinePicture(
        WIDTH,
        0,
        title=f"Timeline of {timeline.event}",
        desc=(
            f"{len(timeline.nodes)} dated statements in the order they were made, one lane per speaker, "
            "time running down (not to scale). Listed as text after the picture."
        ),
        label_x=label_x,
        nodes=timeline.nodes,
    )
    lane_of: dict[int, int] = {}
    y = 6.0
    for i, speaker_id in enumerate(own):
        node = first[speaker_id]
        lane_of[speaker_id] = i
        picture.lanes.append(Lane(10 + i * LANE_W, node.speaker, kind_colour(node.speaker_kind), y + 10))
        picture.labels.append(Label(label_x, y + 14, shorten(f"{node.speaker} ({counts[speaker_id]})", chars), "lane"))
        y += 18
    if shared:
        picture.lanes.append(Lane(10 + len(own) * LANE_W, "Other speakers", OTHER_COLOUR, y + 10, True))
        picture.labels.append(Label(label_x, y + 14, f"Other speakers ({len(ranked) - len(own)})", "lane"))
        y += 18
    y += 6
    day = None
    for node in timeline.nodes:
        if node.stated_on != day:
            day = node.stated_on
            picture.labels.append(Label(label_x, y + 16, when(replace(node, stated_time=None)), "date"))
            y += TL_DATE
        lane = lane_of.get(node.speaker_id, len(own))
        colour = kind_colour(node.speaker_kind) if node.speaker_id in lane_of else OTHER_COLOUR
        picture.marks.append(
            Mark(
                node,
                10 + lane * LANE_W,
                y + 10,
                colour,
                [
                    shorten(f"{node.stated_time} · {node.speaker}" if node.stated_time else node.speaker, chars),
                    shorten(quoted(node), chars),
                ],
                f"{when(node)}, {node.speaker}: {quoted(node)}",
                when(node),
                datetime_attr(node),
                quoted(node),
            )
        )
        y += TL_ROW
    if timeline.more:
        picture.labels.append(Label(label_x, y + 12, f"and {timeline.more} later statements", "more"))
        picture.notes.append(
            f"The timeline shows the first {len(timeline.nodes)} of {timeline.dated_total} dated statements."
        )
        y += 20
    if timeline.undated:
        picture.notes.append(f"{timeline.undated} statements of this event have no date and are not on the timeline.")
    picture.height = y + 6
    return picture


def svg_nodes(boxes: list[Box], claim_url: Callable[[int], str]) -> Markup:
    """The picture's statement boxes, each a link to its statement's page, as the SVG group _graph.html
    shows (the same bytes its loop wrote). Written here rather than in the template: a box is a dozen
    values, and Jinja's per-expression work on them was a tenth of a claim page."""
    out = ['<g class="nodes">']
    for b in boxes:
        head = " head" if b.head else ""
        out.append(
            f'      <a href="{escape(claim_url(b.node.id))}" tabindex="-1" class="node{head} '
            f'kind-{escape(b.node.speaker_kind)}">\n'
            f"        <title>{escape(b.title)}</title>\n"
            f'        <rect x="{escape(b.x)}" y="{escape(b.y)}" width="{escape(b.w)}" height="{escape(b.h)}" rx="4" '
            f'fill="{escape(b.fill)}" stroke="{escape(b.colour)}" stroke-width="{2 if b.head else 1}"/>\n'
            f'        <rect x="{escape(b.x)}" y="{escape(b.y)}" width="5" height="{escape(b.h)}" '
            f'fill="{escape(b.colour)}"/>\n'
        )
        for i, line in enumerate(b.lines):
            css = "g-speaker" if i == 0 else "g-text"
            out.append(
                f'        <text x="{escape(b.x + 10)}" y="{escape(b.y + 15 + i * 15)}" class="{css}">{escape(line)}</text>\n'
            )
        out.append("      </a>\n")
    out.append("    </g>")
    return Markup("".join(out))


# Jinja's truncate filter as _graph.html used it (length 160, a leeway of 5, cut at a word, "...").
TRUNCATE_AT = 160
TRUNCATE_LEEWAY = 5


def truncate(text: str, length: int = TRUNCATE_AT) -> str:
    if len(text) <= length + TRUNCATE_LEEWAY:
        return text
    return text[: length - 3].rsplit(" ", 1)[0] + "..."


def _marker(gid: str, style: RelationStyle) -> str:
    colour = escape(style.colour)
    if style.marker == "filled":
        path = f'<path d="M0,0 L10,5 L0,10 z" fill="{colour}"/>\n'
    elif style.marker == "open":
        path = f'<path d="M1,1 L9,5 L1,9" fill="none" stroke="{colour}" stroke-width="1.8"/>\n'
    else:
        path = f'<path d="M1,5 L5,1 L9,5 L5,9 z" fill="#ffffff" stroke="{colour}" stroke-width="1.5"/>'
    return (
        f'      <marker id="{gid}-m-{escape(style.marker)}" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="9" '
        'markerHeight="9"\n              markerUnits="userSpaceOnUse" orient="auto-start-reverse">\n'
        f"{path}      </marker>\n"
    )


def _legend_item(gid: str, item: LegendItem, styles: dict[str, RelationStyle]) -> str:
    label = escape(item.label)
    if item.relation:
        style = styles[item.relation]
        dash = f' stroke-dasharray="{escape(style.dash)}"' if style.dash else ""
        return (
            f'        <line x1="{item.x}" y1="{item.y + 8}" x2="{item.x + 30}" y2="{item.y + 8}" '
            f'stroke="{escape(style.colour)}" stroke-width="2"\n'
            f'{dash} marker-end="url(#{gid}-m-{escape(style.marker)})"/>\n'
            f'        <text x="{item.x + 36}" y="{item.y + 12}" class="g-legend">{label}</text>\n'
        )
    return (
        f'        <rect x="{item.x}" y="{item.y + 2}" width="12" height="12" rx="2" fill="{escape(item.colour)}"/>\n'
        f'        <text x="{item.x + 18}" y="{item.y + 12}" class="g-legend">{label}</text>\n'
    )


def _edge(gid: str, line: Line) -> str:
    out = (
        f'      <path d="{escape(line.d)}" class="edge edge-{escape(line.relation)}" stroke="{escape(line.colour)}" '
        'stroke-width="1.8"\n'
    )
    if line.dash:
        out += f' stroke-dasharray="{escape(line.dash)}"'
    if line.marker_start:
        out += f' marker-start="url(#{gid}-m-{escape(line.marker_start)})"'
    if line.marker_end:
        out += f' marker-end="url(#{gid}-m-{escape(line.marker_end)})"'
    return out + f"><title>{escape(line.title)}</title></path>\n"


def _outline_html(section: OutlineSection, claim_url: Callable[[int], str]) -> str:
    head = section.head
    out = [
        f'    <p class="graph-head"><a href="{escape(claim_url(head.id))}">{escape(section.heading)}</a>:\n'
        f"      {escape(head.speaker)} ({escape(section.head_kind)}), {escape(truncate(section.head_text))}</p>\n"
    ]
    if section.items:
        out.append("    <ul>\n")
        for item in section.items:
            out.append(
                f"      <li>{escape(item.node.speaker)} ({escape(item.kind)}) "
                f'<span class="rel rel-{escape(item.relation)}">{escape(item.phrase)}</span>:\n'
                f'        <a href="{escape(claim_url(item.node.id))}">{escape(truncate(item.text))}</a></li>\n'
            )
        out.append("    </ul>\n")
    if section.more:
        out.append(f"<p>and {section.more} more, listed further down this page.</p>")
    return "".join(out)


def figure_html(picture: Picture, graph_id: str, claim_url: Callable[[int], str]) -> Markup:
    """The whole figure _graph.html shows: the SVG picture (markers, legend, lines, labels, boxes), its notes
    and its text equivalent, each statement linking to ``claim_url(id)``. The same bytes the template's
    loops wrote (tests/test_graph.py keeps them as the reference); written here because Jinja's work on
    its hundred-odd values was about a third of a claim page's rendering."""
    gid = escape(graph_id)
    title = escape(picture.title)
    height = round(picture.height, 1)
    out = [
        f'<figure class="graph" aria-labelledby="{gid}-caption">\n'
        f'  <figcaption id="{gid}-caption">{title}</figcaption>\n'
        '  <div class="graph-frame">\n'
        f'  <svg class="graph-svg" viewBox="0 0 {picture.width} {height}" width="{picture.width}" height="{height}"\n'
        f'       preserveAspectRatio="xMidYMin meet" role="group" aria-labelledby="{gid}-title {gid}-desc" '
        'xmlns="http://www.w3.org/2000/svg">\n'
        f'    <title id="{gid}-title">{title}</title>\n'
        f'    <desc id="{gid}-desc">{escape(picture.desc)}</desc>\n'
        "    <defs>\n"
    ]
    out += [_marker(gid, style) for style in picture.styles.values()]
    out.append('    </defs>\n    <g class="legend">\n')
    out += [_legend_item(gid, item, picture.styles) for item in picture.legend]
    out.append('    </g>\n    <g class="edges" fill="none">\n')
    out += [_edge(gid, line) for line in picture.lines]
    out.append('    </g>\n    <g class="labels">\n')
    out += [f'<text x="{t.x}" y="{t.y}" class="g-{escape(t.css)}">{escape(t.text)}</text>' for t in picture.labels]
    out.append(f"    </g>\n    {svg_nodes(picture.boxes, claim_url)}\n  </svg>\n  </div>\n")
    out += [f'<p class="graph-note">{escape(note)}</p>' for note in picture.notes]
    out.append('  <details class="graph-text">\n    <summary>The picture as text</summary>\n')
    out += [_outline_html(section, claim_url) for section in picture.outline]
    out.append("  </details>\n</figure>")
    return Markup("".join(out))

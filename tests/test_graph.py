"""The picture of who answers whom: the graph service's data (bounded, a fixed number of queries) and the SVG
and text equivalent drawn from it, on the seeded Aleppo scenario and on a claim with 60 answers."""

from __future__ import annotations

import dataclasses
import json
import sqlite3
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from contextlib import closing, contextmanager
from html import unescape
from pathlib import Path
from typing import Any

import pytest
from flask import Flask, render_template
from helpers import statements_sent
from sqlalchemy import Engine

from claimtrack.config import PROJECT_ROOT
from claimtrack.db import read_session, write_session
from claimtrack.models import ClaimCreate, LinkCreate, Retraction, SpeakerCreate
from claimtrack.services import claims as claim_service
from claimtrack.services import graph
from claimtrack.services import links as link_service
from claimtrack.services.errors import NotFound
from claimtrack.web import graphics
from claimtrack.web.urls import record_url

SVG = "{http://www.w3.org/2000/svg}"
RDM_CLAIM = 1  # the seed's first claim: the Russian defence ministry says the evacuation was finished


def db_rows(db_path: Path, sql: str, params: tuple[Any, ...] = ()) -> list[sqlite3.Row]:
    with closing(sqlite3.connect(db_path)) as conn:
        conn.row_factory = sqlite3.Row
        return conn.execute(sql, params).fetchall()


@contextmanager
def count_statements(engine: Engine) -> Iterator[list[str]]:
    """The reads the engine runs meanwhile (to show the number does not grow with the data)."""
    reads: list[str] = []
    with statements_sent(engine) as sent:
        yield reads
    reads.extend(s for s in sent if s.lstrip().upper().startswith(("SELECT", "WITH")))


def add_answers(engine: Engine, claim_id: int, n: int, relation: str = "contradicts", speakers: int = 7) -> None:
    with write_session(engine, actor="test") as session:
        for i in range(n):
            link_service.add_link(
                session,
                claim_id,
                LinkCreate(
                    relation=relation,
                    new_claim=ClaimCreate(
                        text=f"Answer number {i} to claim {claim_id}, with a few more words to wrap",
                        speaker=SpeakerCreate(name=f"Speaker {i % speakers}", kind="organisation"),
                        stated_on="2016-12-16",
                    ),
                ),
            )


def render(app: Flask, template: str, **context: Any) -> str:
    with app.test_request_context():
        return render_template(template, **context)


def svg_of(html: str) -> ET.Element:
    start, end = html.index("<svg"), html.index("</svg>") + len("</svg>")
    return ET.fromstring(html[start:end])


# --- the service -------------------------------------------------------------------------------------


def test_claim_graph_has_every_live_link_grouped_and_the_summary(seeded_engine: Engine, db_path: Path) -> None:
    with read_session(seeded_engine) as session:
        g = graph.claim_graph(session, RDM_CLAIM)
    stored = db_rows(
        db_path,
        """SELECT l.from_claim_id, c.speaker_id FROM claim_links l JOIN claims c ON c.id = l.from_claim_id
        WHERE l.to_claim_id = ? AND l.relation = 'contradicts' AND l.retracted = 0 AND c.retracted = 0""",
        (RDM_CLAIM,),
    )
    group = g.block.group("incoming", "contradicts")
    assert group is not None
    assert sorted(n.id for n in group.nodes) == sorted(r["from_claim_id"] for r in stored)
    assert {(e.source, e.target, e.relation) for e in group.edges} == {
        (r["from_claim_id"], RDM_CLAIM, "contradicts") for r in stored
    }
    assert g.summary.contradicted_by == len(stored)
    assert g.summary.contradicting_speakers == len({r["speaker_id"] for r in stored})
    verdict = db_rows(db_path, "SELECT verdict FROM claims WHERE id = ?", (RDM_CLAIM,))[0]["verdict"]
    # The example line, for the seeded claim.
    assert g.summary.line == "Contradicted by 5 statements from 4 speakers · verdict disputed"
    assert verdict == "disputed"
    # Grouped by speaker kind, then speaker: statements of one speaker sit next to each other.
    keys = [(n.speaker_kind, n.speaker.casefold()) for n in group.nodes]
    assert keys == sorted(keys)


def test_summary_counts_supports_qualifies_and_its_own_contradictions(seeded_engine: Engine) -> None:
    with write_session(seeded_engine, actor="test") as session:
        new = claim_service.create_claim(
            session, ClaimCreate(text="A fresh claim", speaker=SpeakerCreate(name="New voice"))
        )
        new_id = new.id
    assert new_id is not None
    with read_session(seeded_engine) as session:
        assert graph.claim_graph(session, new_id).summary.line == "No statement contradicts it yet · no verdict yet"
    add_answers(seeded_engine, new_id, 1, "supports")
    add_answers(seeded_engine, new_id, 2, "qualifies")
    with write_session(seeded_engine, actor="test") as session:
        link_service.add_link(session, RDM_CLAIM, LinkCreate(relation="contradicts", target_id=new_id))
    with read_session(seeded_engine) as session:
        line = graph.claim_graph(session, new_id).summary.line
    assert (
        line
        == "No statement contradicts it yet · supported by 1 · qualified by 2 · it contradicts 1 statement · no verdict yet"
    )


def test_retracted_links_and_statements_are_left_out(seeded_engine: Engine, db_path: Path) -> None:
    link_id, other_id = db_rows(
        db_path,
        "SELECT id, from_claim_id FROM claim_links WHERE to_claim_id = ? "
        "AND relation = 'contradicts' ORDER BY id LIMIT 1",
        (RDM_CLAIM,),
    )[0]
    with write_session(seeded_engine, actor="test") as session:
        link_service.retract_link(session, link_id, Retraction(reason="linked by mistake"))
    with read_session(seeded_engine) as session:
        g = graph.claim_graph(session, RDM_CLAIM)
    assert other_id not in {n.id for n in g.nodes[1:]}
    assert g.summary.contradicted_by == 4


def test_unknown_claim_or_event_is_not_found(seeded_engine: Engine) -> None:
    with read_session(seeded_engine) as session:
        with pytest.raises(NotFound):
            graph.claim_graph(session, 99999)
        with pytest.raises(NotFound):
            graph.event_graph(session, 99999)
        with pytest.raises(NotFound):
            graph.event_timeline(session, 99999)


def test_event_graph_shows_each_answered_claim_once_with_all_its_answers(seeded_engine: Engine, db_path: Path) -> None:
    event_id = db_rows(db_path, "SELECT event_id FROM claims WHERE id = ?", (RDM_CLAIM,))[0]["event_id"]
    with read_session(seeded_engine) as session:
        eg = graph.event_graph(session, event_id)
    heads = [b.head.id for b in eg.blocks]
    assert len(heads) == len(set(heads))  # one claim, then everything answering it: never a row per pair
    answered = db_rows(
        db_path,
        """SELECT to_claim_id, count(*) AS n, sum(relation = 'contradicts') AS c FROM claim_links l
        JOIN claims t ON t.id = l.to_claim_id JOIN claims o ON o.id = l.from_claim_id
        WHERE t.event_id = ? AND l.retracted = 0 AND t.retracted = 0 AND o.retracted = 0 GROUP BY to_claim_id""",
        (event_id,),
    )
    assert set(heads) == {r["to_claim_id"] for r in answered}
    assert heads[0] == max(answered, key=lambda r: (r["c"], r["n"]))["to_claim_id"] == RDM_CLAIM
    first = eg.blocks[0].group("incoming", "contradicts")
    assert first is not None and len(first.nodes) == 5
    linked = db_rows(
        db_path,
        """SELECT count(*) AS n FROM claims c WHERE event_id = ? AND retracted = 0 AND (
        EXISTS (SELECT 1 FROM claim_links WHERE to_claim_id = c.id) OR EXISTS (SELECT 1 FROM claim_links WHERE from_claim_id = c.id))""",
        (event_id,),
    )[0]["n"]
    assert eg.statements - eg.unlinked == linked


def test_timeline_is_in_time_order_and_counts_undated(seeded_engine: Engine, db_path: Path) -> None:
    with write_session(seeded_engine, actor="test") as session:
        for text, on, at in (
            ("Late", "2016-12-17", "19:35"),
            ("Early", "2016-12-17", "08:05"),
            ("Undated", None, None),
        ):
            claim_service.create_claim(
                session,
                ClaimCreate(
                    text=text,
                    speaker=SpeakerCreate(name="Clock"),
                    stated_on=on,
                    stated_time=at,
                    event="Aleppo evacuation, December 2016",
                ),
            )
    event_id = db_rows(db_path, "SELECT event_id FROM claims WHERE id = ?", (RDM_CLAIM,))[0]["event_id"]
    with read_session(seeded_engine) as session:
        t = graph.event_timeline(session, event_id)
    keys = [(n.stated_on, n.stated_time or "", n.id) for n in t.nodes]
    assert keys == sorted(keys)
    assert [n.text for n in t.nodes][-2:] == ["Early", "Late"]
    assert (
        t.undated
        == db_rows(
            db_path,
            "SELECT count(*) AS n FROM claims WHERE event_id = ? AND stated_on IS NULL AND retracted = 0",
            (event_id,),
        )[0]["n"]
        >= 1
    )


def test_a_claim_with_60_answers_takes_the_same_few_queries_and_stays_bounded(seeded_engine: Engine) -> None:
    with read_session(seeded_engine) as session, count_statements(seeded_engine) as small:
        graph.claim_graph(session, RDM_CLAIM)
    add_answers(seeded_engine, RDM_CLAIM, 60)
    add_answers(seeded_engine, RDM_CLAIM, 3, "supports")
    with read_session(seeded_engine) as session, count_statements(seeded_engine) as big:
        g = graph.claim_graph(session, RDM_CLAIM, per_group=40)
    assert len(big) == len(small) <= 3  # no query per statement or per link
    contradicting = g.block.group("incoming", "contradicts")
    assert contradicting is not None
    assert (len(contradicting.nodes), contradicting.total, contradicting.more) == (40, 65, 25)
    supporting = g.block.group("incoming", "supports")
    assert supporting is not None and len(supporting.nodes) == 3  # a big group does not crowd out the others
    picture = graphics.claim_picture(g)
    assert len(picture.boxes) == 1 + 40 + 3
    assert picture.width == graphics.WIDTH
    # Two columns: 40 + 3 answers take 22 rows, plus the head, headings and legend; never one row per answer.
    assert picture.height < 23 * (graphics.BOX_H + graphics.ROW_GAP) + 300
    assert all(b.x >= 0 and b.x + b.w <= picture.width for b in picture.boxes)
    assert any("and 25 more statements" in label.text for label in picture.labels)

    with read_session(seeded_engine) as session, count_statements(seeded_engine) as events:
        graph.event_graph(session, 1)
        graph.event_timeline(session, 1)
    assert len(events) <= 6


# --- the pictures --------------------------------------------------------------------------------------


def test_claim_svg_has_a_link_per_statement_typed_edges_and_a_text_equivalent(
    seeded_app: Flask, seeded_engine: Engine
) -> None:
    add_answers(seeded_engine, RDM_CLAIM, 2, "supports")
    with read_session(seeded_engine) as session:
        g = graph.claim_graph(session, RDM_CLAIM)
    html = render(seeded_app, "_graph.html", picture=graphics.claim_picture(g), graph_id="cg")
    svg = svg_of(html)
    assert svg.get("role") == "group" and svg.get("aria-labelledby") == "cg-title cg-desc"
    assert svg.get("viewBox", "").startswith(f"0 0 {graphics.WIDTH} ")
    assert svg.find(f"{SVG}title").text == f"Statements linked to claim {RDM_CLAIM} by Russian defence ministry"  # type: ignore[union-attr]
    assert "Contradicted by 5 statements from 4 speakers" in (svg.find(f"{SVG}desc").text or "")  # type: ignore[union-attr]
    hrefs = [a.get("href") for a in svg.iter(f"{SVG}a")]
    assert sorted(hrefs) == sorted(f"/claims/{n.id}" for n in g.nodes)
    edges = list(svg.iter(f"{SVG}path"))
    edges = [p for p in edges if "edge" in (p.get("class") or "")]
    assert len(edges) == 5 + 2
    by_relation = {
        p.get("class"): (p.get("stroke-dasharray"), p.get("marker-start") or p.get("marker-end")) for p in edges
    }
    # Told apart without colour: each kind of link has its own dash pattern and arrowhead.
    assert len({v[0] for v in by_relation.values()}) == len({v[1] for v in by_relation.values()}) == 2
    # Answers point at the claim: the arrowhead is at the claim's end of the line.
    assert all(p.get("marker-start") and not p.get("marker-end") for p in edges)
    # The text equivalent names every statement, with its link, speaker and the direction in words.
    text_part = html[html.index("<details") :]
    for node in g.nodes:
        assert f'href="/claims/{node.id}"' in text_part
    assert text_part.count("contradicts it") == 5 and text_part.count("supports it") == 2


def test_outgoing_links_point_away_and_quotes_are_not_doubled(seeded_app: Flask, seeded_engine: Engine) -> None:
    with write_session(seeded_engine, actor="test") as session:
        quote = claim_service.create_claim(
            session, ClaimCreate(text="“We are leaving.”", verbatim=True, speaker=SpeakerCreate(name="Quoted"))
        )
        plain = claim_service.create_claim(
            session, ClaimCreate(text="We stay", verbatim=True, speaker=SpeakerCreate(name="Plain"))
        )
        link_service.add_link(session, plain.id, LinkCreate(relation="qualifies", target_id=quote.id))  # type: ignore[arg-type]
    with read_session(seeded_engine) as session:
        g = graph.claim_graph(session, quote.id)  # type: ignore[arg-type]
    html = render(seeded_app, "_graph.html", picture=graphics.claim_picture(g))
    edges = [p for p in svg_of(html).iter(f"{SVG}path") if "edge" in (p.get("class") or "")]
    assert len(edges) == 1 and edges[0].get("marker-end") and not edges[0].get("marker-start")
    assert "is qualified by it" in html
    assert "““" not in html and "“We stay”" in html


def test_event_graph_and_timeline_render(seeded_app: Flask, seeded_engine: Engine) -> None:
    with read_session(seeded_engine) as session:
        eg = graph.event_graph(session, 1)
        t = graph.event_timeline(session, 1)
    html = render(seeded_app, "_graph.html", picture=graphics.event_picture(eg), graph_id="eg")
    svg = svg_of(html)
    heads = [a for a in svg.iter(f"{SVG}a") if "head" in (a.get("class") or "")]
    assert [a.get("href") for a in heads] == [f"/claims/{b.head.id}" for b in eg.blocks]
    assert f"{eg.unlinked} of the event's {eg.statements} statements" in unescape(html)
    html = render(seeded_app, "_timeline.html", timeline=graphics.timeline_picture(t), timeline_id="tl")
    svg = svg_of(html)
    assert svg.get("aria-labelledby") == "tl-title tl-desc"
    assert [a.get("href") for a in svg.iter(f"{SVG}a")] == [f"/claims/{n.id}" for n in t.nodes]
    assert html.count('<time datetime="2016-12-16">16 Dec 2016</time>') == len(t.nodes)


def test_summary_partial(seeded_app: Flask, seeded_engine: Engine) -> None:
    with read_session(seeded_engine) as session:
        g = graph.claim_graph(session, RDM_CLAIM)
    html = render(seeded_app, "_claim_summary.html", summary=g.summary)
    assert "Contradicted by 5 statements from 4 speakers" in html and "verdict disputed" in html


def test_dashboard_uses_the_app_colours_per_speaker_kind_and_verdict() -> None:
    metadata = json.loads((PROJECT_ROOT / "datasette-metadata.json").read_text(encoding="utf-8"))
    charts = metadata["plugins"]["datasette-dashboards"]["claims"]["charts"]
    kind_scales, verdict_scales = [], []
    for chart in charts.values():
        colour = (
            chart.get("display", {}).get("encoding", {}).get("color")
            if isinstance(chart.get("display"), dict)
            else None
        )
        if not colour:
            continue
        scale = dict(zip(colour["scale"]["domain"], colour["scale"]["range"]))
        (verdict_scales if colour["title"] == "Verdict" else kind_scales).append(scale)
    labels = {graphics.kind_label(k): c for k, c in graphics.KIND_COLOURS.items()}
    assert len(kind_scales) == 3 and all(s == labels for s in kind_scales)
    verdicts = {k.capitalize(): c for k, c in graphics.VERDICT_COLOURS.items()}
    assert verdict_scales == [verdicts]


def test_the_claim_pages_graph_from_its_own_rows_equals_the_graph_from_the_database(
    seeded_engine: Engine, db_path: Path
) -> None:
    from claimtrack.services.synthetic import generate

    generate(seeded_engine, claims=1500, seed=3)
    with write_session(seeded_engine, actor="test") as session:  # retracted links and statements are left out
        some = claim_service.claim_detail(session, 1).links
        for link in some[:2]:
            link_service.retract_link(session, link["link_id"], Retraction(reason="test"))
        claim_service.retract_claim(session, 2, Retraction(reason="test"))
    with sqlite3.connect(db_path) as conn:
        linked = [
            r[0]
            for r in conn.execute(
                "SELECT DISTINCT to_claim_id FROM claim_links UNION SELECT from_claim_id FROM claim_links"
            )
        ]
    assert len(linked) > 500
    session = read_session(seeded_engine)
    try:
        for claim_id in linked:
            detail = claim_service.claim_detail(session, claim_id)
            head = graph.Node.from_row(vars(detail.claim))
            assert detail.links_complete
            # Small groups show everything; per_group=2 checks the order and the cut as well.
            for per_group in (graph.CLAIM_PER_GROUP, 2):
                expected = graph.claim_graph(session, claim_id, per_group=per_group)
                assert graph.graph_from_links(head, detail.links, per_group=per_group) == expected, claim_id
    finally:
        session.close()


def svg_nodes(boxes: list[graphics.Box]) -> Any:
    """The statement boxes as the claim and event pages write them, each linking to its claim's page."""
    return graphics.svg_nodes(boxes, lambda claim_id: record_url("claims.show", claim_id))


# What _graph.html's loop over the statement boxes wrote before graphics.svg_nodes: the reference it must match.
BOXES_AS_A_TEMPLATE = """<g class="nodes">
      {#- (no tab stops of their own) -#}
      {% for b in boxes %}
      <a href="{{ url_for('claims.show', claim_id=b.node.id) }}" tabindex="-1" class="node{% if b.head %} head{% endif %} kind-{{ b.node.speaker_kind }}">
        <title>{{ b.title }}</title>
        <rect x="{{ b.x }}" y="{{ b.y }}" width="{{ b.w }}" height="{{ b.h }}" rx="4" fill="{{ b.fill }}" stroke="{{ b.colour }}" stroke-width="{{ 2 if b.head else 1 }}"/>
        <rect x="{{ b.x }}" y="{{ b.y }}" width="5" height="{{ b.h }}" fill="{{ b.colour }}"/>
        {% for line in b.lines %}
        <text x="{{ b.x + 10 }}" y="{{ b.y + 15 + loop.index0 * 15 }}" class="{{ 'g-speaker' if loop.first else 'g-text' }}">{{ line }}</text>
        {% endfor %}
      </a>
      {% endfor %}
    </g>"""


def test_svg_boxes_are_what_the_template_loop_wrote(seeded_app: Flask, seeded_engine: Engine) -> None:
    """The graph's boxes are written in Python (a dozen values each, a tenth of a claim page in Jinja): byte
    for byte what the template wrote, for every seeded claim's and event's picture, with markup in the names."""
    pictures = []
    with read_session(seeded_engine) as session:
        ids = [r[0] for r in session.connection().exec_driver_sql("SELECT id FROM claims").fetchall()]
        events = [r[0] for r in session.connection().exec_driver_sql("SELECT id FROM events").fetchall()]
        pictures += [graphics.claim_picture(graph.claim_graph(session, i)) for i in ids]
        pictures += [graphics.event_picture(graph.event_graph(session, i)) for i in events]
    boxes = [b for p in pictures for b in p.boxes]
    assert len(boxes) > len(ids)
    marked = dataclasses.replace(boxes[0].node, speaker_kind='x"<y>')
    odd = dataclasses.replace(boxes[0], node=marked, title='<b>&"', lines=["<i>", "a & b"], head=False, x=1.5, y=2.25)
    reference = seeded_app.jinja_env.from_string(BOXES_AS_A_TEMPLATE)
    with seeded_app.test_request_context("/"):
        for some in [p.boxes for p in pictures] + [[odd], []]:
            assert str(svg_nodes(some)) == reference.render(boxes=some)


# _graph.html before graphics.figure_html wrote the whole figure: the reference it must match.
GRAPH_AS_A_TEMPLATE = """{#- A picture of who answers whom (claimtrack.web.graphics.Picture as ``picture``), with its text equivalent.
    ``graph_id`` keeps ids unique when a page shows more than one picture. -#}
{% from "_macros.html" import svg_labels %}
{% set gid = graph_id|default('graph') %}
<figure class="graph" aria-labelledby="{{ gid }}-caption">
  <figcaption id="{{ gid }}-caption">{{ picture.title }}</figcaption>
  <div class="graph-frame">
  <svg class="graph-svg" viewBox="0 0 {{ picture.width }} {{ picture.height|round(1) }}" width="{{ picture.width }}" height="{{ picture.height|round(1) }}"
       preserveAspectRatio="xMidYMin meet" role="group" aria-labelledby="{{ gid }}-title {{ gid }}-desc" xmlns="http://www.w3.org/2000/svg">
    <title id="{{ gid }}-title">{{ picture.title }}</title>
    <desc id="{{ gid }}-desc">{{ picture.desc }}</desc>
    <defs>
      {% for rel, style in picture.styles.items() %}
      <marker id="{{ gid }}-m-{{ style.marker }}" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="9" markerHeight="9"
              markerUnits="userSpaceOnUse" orient="auto-start-reverse">
        {% if style.marker == 'filled' %}<path d="M0,0 L10,5 L0,10 z" fill="{{ style.colour }}"/>
        {% elif style.marker == 'open' %}<path d="M1,1 L9,5 L1,9" fill="none" stroke="{{ style.colour }}" stroke-width="1.8"/>
        {% else %}<path d="M1,5 L5,1 L9,5 L5,9 z" fill="#ffffff" stroke="{{ style.colour }}" stroke-width="1.5"/>{% endif %}
      </marker>
      {% endfor %}
    </defs>
    <g class="legend">
      {% for item in picture.legend %}
        {% if item.relation %}
        {% set style = picture.styles[item.relation] %}
        <line x1="{{ item.x }}" y1="{{ item.y + 8 }}" x2="{{ item.x + 30 }}" y2="{{ item.y + 8 }}" stroke="{{ style.colour }}" stroke-width="2"
              {% if style.dash %} stroke-dasharray="{{ style.dash }}"{% endif %} marker-end="url(#{{ gid }}-m-{{ style.marker }})"/>
        <text x="{{ item.x + 36 }}" y="{{ item.y + 12 }}" class="g-legend">{{ item.label }}</text>
        {% else %}
        <rect x="{{ item.x }}" y="{{ item.y + 2 }}" width="12" height="12" rx="2" fill="{{ item.colour }}"/>
        <text x="{{ item.x + 18 }}" y="{{ item.y + 12 }}" class="g-legend">{{ item.label }}</text>
        {% endif %}
      {% endfor %}
    </g>
    <g class="edges" fill="none">
      {% for l in picture.lines %}
      <path d="{{ l.d }}" class="edge edge-{{ l.relation }}" stroke="{{ l.colour }}" stroke-width="1.8"
            {% if l.dash %} stroke-dasharray="{{ l.dash }}"{% endif %}
            {% if l.marker_start %} marker-start="url(#{{ gid }}-m-{{ l.marker_start }})"{% endif %}
            {% if l.marker_end %} marker-end="url(#{{ gid }}-m-{{ l.marker_end }})"{% endif %}><title>{{ l.title }}</title></path>
      {% endfor %}
    </g>
    {{ svg_labels(picture.labels) }}
    {# Each statement links to its page; keyboard users reach the same links in the list below, so the
        picture adds no tab stops of its own (graphics.svg_nodes). #}
    {{ svg_nodes(picture.boxes) }}
  </svg>
  </div>
  {% for note in picture.notes %}<p class="graph-note">{{ note }}</p>{% endfor %}
  <details class="graph-text">
    <summary>The picture as text</summary>
    {% for section in picture.outline %}
    <p class="graph-head"><a href="{{ record_url('claims.show', section.head.id) }}">{{ section.heading }}</a>:
      {{ section.head.speaker }} ({{ section.head_kind }}), {{ section.head_text|truncate(160) }}</p>
    {% if section.items %}
    <ul>
      {% for item in section.items %}
      <li>{{ item.node.speaker }} ({{ item.kind }}) <span class="rel rel-{{ item.relation }}">{{ item.phrase }}</span>:
        <a href="{{ record_url('claims.show', item.node.id) }}">{{ item.text|truncate(160) }}</a></li>
      {% endfor %}
    </ul>
    {% endif %}
    {% if section.more %}<p>and {{ section.more }} more, listed further down this page.</p>{% endif %}
    {% endfor %}
  </details>
</figure>
"""


def test_figure_is_what_the_graph_template_wrote(seeded_app: Flask, seeded_engine: Engine) -> None:
    """The whole figure (markers, legend, lines, labels, notes, the text outline) is written in Python: byte
    for byte what _graph.html wrote, for every seeded claim's and event's picture and for pictures with
    markup, long statements (Jinja's truncate), notes and more statements than shown."""
    with read_session(seeded_engine) as session:
        ids = [r[0] for r in session.connection().exec_driver_sql("SELECT id FROM claims").fetchall()]
        events = [r[0] for r in session.connection().exec_driver_sql("SELECT id FROM events").fetchall()]
        pictures = [graphics.claim_picture(graph.claim_graph(session, i)) for i in ids]
        pictures += [graphics.event_picture(graph.event_graph(session, i)) for i in events]
    base = next(p for p in pictures if p.outline and p.outline[0].items and p.lines)
    section = base.outline[0]
    node = dataclasses.replace(section.head, speaker='<A & "B">')
    words = " ".join(["word"] * 40)
    odd_items = [
        dataclasses.replace(item, node=node, kind="<k>", phrase="a & b", text=text)
        for item, text in zip(section.items * 6, [words[:n] for n in (159, 160, 161, 165, 166, 200)] + ["x" * 300])
    ]
    odd = dataclasses.replace(
        base,
        title='<t> & "u"',
        desc="<d>",
        height=123.456,
        notes=["<note>", "and more"],
        labels=[*base.labels, graphics.Label(1.5, 2.25, "<l> & m", "more")],
        lines=[dataclasses.replace(line, title="<x>", dash="") for line in base.lines],
        outline=[
            dataclasses.replace(section, heading="<h>", head=node, head_text="y " * 90, items=odd_items, more=3),
            dataclasses.replace(section, items=[], more=0),
        ],
    )
    reference = seeded_app.jinja_env.from_string(GRAPH_AS_A_TEMPLATE)
    written = seeded_app.jinja_env.from_string('{% include "_graph.html" %}')
    with seeded_app.test_request_context("/"):
        for picture in [*pictures, odd]:
            for gid in ({}, {"graph_id": "claim-graph"}, {"graph_id": 'a"b'}):
                assert written.render(picture=picture, **gid) == reference.render(
                    picture=picture, svg_nodes=svg_nodes, **gid
                )

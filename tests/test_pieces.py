"""The pieces of HTML written in Python (claimtrack/web/pieces.py, claimtrack/web/claim_page.py) against the
Jinja macros and the claim page's loop they replaced: byte for byte the same for the same values."""

from __future__ import annotations

import itertools
import random
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any

import pytest
from flask import Flask, g, request
from flask_login import current_user

from claimtrack.web import pieces

# The macros of _macros.html before they were written in Python: the reference the pieces must match.
MACROS_AS_TEMPLATES = """{#- A statement in its own language (lang), its direction found from its text (dir=auto, so Arabic reads
    right to left inside an English page); a quote pasted with its own quotation marks gets no second pair. -#}
{% macro statement(c) -%}
  {% set lang %}{% if c.language %} lang="{{ c.language }}"{% endif %}{% endset %}
  {% if c.verbatim %}<q class="statement verbatim{% if c.text is own_quotes %} own-quotes{% endif %}"{{ lang }} dir="auto">{{ c.text }}</q>{% else %}<span class="statement paraphrase"{{ lang }} dir="auto">{{ c.text }}</span>{% endif %}
{%- endmacro %}

{#- A date (and time of day) in words, with the machine-readable value in <time datetime>. -#}
{% macro when(date, time=None) -%}
  <time datetime="{{ date }}{% if time %}T{{ time }}{% endif %}">{{ date|readable_date(time) }}</time>
{%- endmacro %}

{% macro quote_kind(c) -%}
  <span class="tag {{ 'quote' if c.verbatim else 'para' }}">{{ 'Direct quote' if c.verbatim else 'Paraphrase' }}</span>
{%- endmacro %}

{% macro who(speaker_id, speaker, affiliation_id=None, affiliation=None) -%}
  <a class="speaker" href="{{ record_url('speakers.show', speaker_id) }}">{{ speaker }}</a>
  {%- if affiliation %} <span class="aff">({% if affiliation_id %}<a href="{{ record_url('speakers.show', affiliation_id) }}">{{ affiliation }}</a>{% else %}{{ affiliation }}{% endif %})</span>{% endif %}
{%- endmacro %}

{% macro source_line(s) -%}
  {% if s.url %}<a href="{{ s.url }}" rel="noopener noreferrer nofollow">{{ s.title or s.url }}</a>{% else %}<a href="{{ record_url('sources.show', s.id) }}">{{ s.title or s.outlet }}</a>{% endif %}
  {%- if s.outlet and s.title %}, <span class="outlet">{{ s.outlet }}</span>{% endif %}
  {%- if s.published_on %}, {{ when(s.published_on) }}{% endif %}
  <a class="meta-link" href="{{ record_url('sources.show', s.id) }}" aria-label="Source record {{ s.id }}">[source #{{ s.id }}]</a>
{%- endmacro %}

{% macro verdict(v) -%}
  {% if v %}<span class="verdict verdict-{{ v }}">{{ v|capitalize }}</span>{% endif %}
{%- endmacro %}

{% macro retracted_badge(item, reason=None) -%}
  {% if item %}<span class="retracted-mark">Retracted</span>{% if reason %} <span class="retraction-reason">{{ reason }}</span>{% endif %}{% endif %}
{%- endmacro %}"""

# The claim page's loop over a section's links before claim_page.link_list (show.html, with the macros above).
LINK_LOOP_AS_A_TEMPLATE = """      <ul class="link-list">
        {% for l in g.links %}
        <li>
          {% if l.link_retracted or l.retracted %}<p>{{ retracted_badge(true, l.link_retracted_reason if l.link_retracted else 'the statement was retracted') }}</p>{% endif %}
          {% if g.relation == 'contradicts' %}
          {# The recorded direction, in words: who was linked as answering whom. #}
          <p class="direction">{% if l.direction == 'incoming' %}It contradicts this statement{% else %}This statement contradicts it{% endif %} <span class="recorded">(recorded: {{ l.speaker if l.direction == 'incoming' else c.speaker }} contradicts {{ 'this' if l.direction == 'incoming' else l.speaker }})</span></p>
          {% endif %}
          <p class="text"><a href="{{ record_url('claims.show', l.other_id) }}">{{ statement(l) }}</a></p>
          <p class="meta">{{ who(l.speaker_id, l.speaker, l.affiliation_id, l.affiliation) }}
            {% if l.stated_on %} · <time datetime="{{ l.stated_on }}">{{ l.stated_on }}</time>{% endif %} · {{ quote_kind(l) }} {{ verdict(l.verdict) }}</p>
          {% set srcs = d.other_sources.get(l.other_id, []) %}
          {% if srcs %}<p class="source">Reported in {{ source_line(srcs[0]) }}</p>{% endif %}
          {% if l.note %}<p class="note"><span class="label">Why linked:</span> {{ l.note }}</p>{% endif %}
          <p class="link-tools"><a href="{{ record_url('claims.show_link', l.link_id) }}">Link {{ l.link_id }}</a>{% if current_user.is_editor %} · <a href="{{ url_for('claims.edit_link', link_id=l.link_id, next=request.path) }}">Edit link</a>{% if not l.link_retracted %} · <a href="{{ url_for('claims.retract_link', link_id=l.link_id, next=request.path) }}">Retract link</a>{% endif %}{% endif %}</p>
        </li>
        {% endfor %}
      </ul>
"""


@dataclass
class Row:
    """A row read as an object (ClaimRow and the like), beside the plain dicts rows() returns."""

    text: Any = "A statement"
    verbatim: Any = 1
    language: Any = None


class Editor:
    is_authenticated = True
    is_editor = True
    is_admin = False


TEXTS = ["A plain statement.", "“Quoted already”", '"quoted"', "<b>bold</b> & more", "نص عربي", "", None, "x"]
NAMES = ["Ministry of Defence", 'A & B <"C">', "", None]
DATES = [None, "", "2016-12-16", "2026-11-25T10:00:00Z", "not a date"]


def _macros(app: Flask) -> Any:
    return app.jinja_env.from_string(MACROS_AS_TEMPLATES).module


def test_pieces_write_what_the_macros_wrote(app: Flask) -> None:
    with app.test_request_context("/claims/1"):
        old = _macros(app)
        rows: list[Any] = [
            {"text": text, "verbatim": verbatim, "language": language}
            for text, verbatim, language in itertools.product(TEXTS, [0, 1, None], [None, "", "ar", 'a"b'])
        ]
        rows += [Row(text=r["text"], verbatim=r["verbatim"], language=r["language"]) for r in rows]
        rows += [{}, SimpleNamespace(), {"text": "no language key", "verbatim": 1}]
        for row in rows:
            assert pieces.statement(row) == old.statement(row), row
            assert pieces.quote_kind(row) == old.quote_kind(row), row
        for date, time in itertools.product(DATES, [None, "", "19:35", "<7>"]):
            assert pieces.when(date, time) == old.when(date, time), (date, time)
            assert pieces.when(date) == old.when(date), date
        for speaker, affiliation_id, affiliation in itertools.product(NAMES, [None, 0, 5], NAMES):
            assert pieces.who(3, speaker, affiliation_id, affiliation) == old.who(
                3, speaker, affiliation_id, affiliation
            )
            assert pieces.who(3, speaker) == old.who(3, speaker)
        for url, title, outlet, published_on in itertools.product(
            [None, "", "https://example.org/a?b=1&c=<2>"], NAMES, NAMES, [None, "2016-12-01", "bad"]
        ):
            source = {"id": 7, "url": url, "title": title, "outlet": outlet, "published_on": published_on}
            assert pieces.source_line(source) == old.source_line(source), source
            as_object = SimpleNamespace(**source)
            assert pieces.source_line(as_object) == old.source_line(as_object), source
        for v in [None, "", "false", "mostly-true", "<x>", 0]:
            assert pieces.verdict(v) == old.verdict(v), v
        for item, reason in itertools.product([True, False, None, 1], [None, "", "a <reason> & more"]):
            assert pieces.retracted_badge(item, reason) == old.retracted_badge(item, reason)
            assert pieces.retracted_badge(item) == old.retracted_badge(item)


def _link(rng: random.Random, link_id: int) -> dict[str, Any]:
    return {
        "direction": rng.choice(["incoming", "outgoing"]),
        "link_id": link_id,
        "relation": "contradicts",
        "note": rng.choice([None, "", "Both describe the <same> evening & more"]),
        "link_retracted": rng.choice([0, 0, 1]),
        "link_retracted_reason": rng.choice([None, "a duplicate <link>"]),
        "other_id": rng.randint(1, 30),
        "text": rng.choice(TEXTS),
        "verbatim": rng.choice([0, 1]),
        "language": rng.choice([None, "ar", "en"]),
        "stated_on": rng.choice([None, "2016-12-16", "<bad>"]),
        "stated_time": None,
        "verdict": rng.choice([None, "false", "misleading"]),
        "retracted": rng.choice([0, 0, 1]),
        "speaker_id": rng.randint(1, 9),
        "speaker": rng.choice(NAMES[:2]),
        "speaker_kind": "official",
        "affiliation_id": rng.choice([None, 4]),
        "affiliation": rng.choice([None, "Syrian armed opposition", "<Org> & co"]),
    }


def _source(rng: random.Random, source_id: int) -> dict[str, Any]:
    return {
        "id": source_id,
        "url": rng.choice([None, "https://example.org/x?a=1&b=2"]),
        "title": rng.choice(NAMES),
        "outlet": rng.choice(NAMES),
        "published_on": rng.choice([None, "2016-12-16"]),
    }


@pytest.mark.parametrize("editor", [False, True])
def test_link_list_writes_what_the_template_loop_wrote(app: Flask, editor: bool) -> None:
    """claim_page.link_list against show.html's former loop, for links of every kind (retracted, with and
    without notes, sources, affiliations, dates, verdicts, markup in the text), as a reader and an editor."""
    rng = random.Random(13)
    reference = app.jinja_env.from_string(LINK_LOOP_AS_A_TEMPLATE)
    written = app.jinja_env.from_string("      {{ link_list(g.links, g.relation, c.speaker, d.other_sources) }}\n")
    with app.test_request_context("/claims/12"):
        if editor:
            g._login_user = Editor()  # what Flask-Login keeps for a signed-in editor
        macros = {name: getattr(_macros(app), name) for name in pieces.GLOBALS}
        for n in range(120):
            links = [_link(rng, n * 10 + i) for i in range(rng.randint(0, 4))]
            sources = {link["other_id"]: [_source(rng, i) for i in range(rng.randint(0, 2))] for link in links}
            for relation in ("contradicts", "supports"):
                context = {
                    "g": SimpleNamespace(links=links, relation=relation),
                    "c": Row(),
                    "d": SimpleNamespace(other_sources=sources),
                }
                context["c"].speaker = rng.choice(NAMES)  # type: ignore[attr-defined]
                # show.html had current_user and request from Flask's context processors.
                page = {"current_user": current_user._get_current_object(), "request": request}
                assert written.render(context) == reference.render(context, **macros, **page), links


def test_site_urls_are_what_url_for_builds(app: Flask) -> None:
    """The frame's fixed links come from site_url (built once per mount point): the addresses url_for
    gives, under each mount prefix, however the requests under the prefixes follow one another."""
    from flask import url_for

    from claimtrack.web.urls import site_url

    links = [("static", {"filename": "style.css"}), ("static", {"filename": "favicon.svg"}), ("claims.index", {})]
    links += [("speakers.index", {}), ("auth.logout", {}), ("claims.new", {})]
    for script_root in ["", "/tracker", "", "/other/place"]:
        with app.test_request_context("/claims/1", base_url=f"http://localhost{script_root}/"):
            for endpoint, values in links:
                assert site_url(endpoint, **values) == url_for(endpoint, **values)
            assert site_url("claims.index") == f"{script_root}/claims"

"""The small pieces of HTML the lists and record pages repeat: a statement, who said it, a date, a source,
the wording, a verdict, a retraction mark.

They were Jinja macros, called about eighteen times on a claim page; a macro call and the per-expression
work inside it cost far more than the few strings it joins. Written here, each returns the bytes its macro
wrote (tests/test_pieces.py renders the former macros beside these for the same values), escaped with
markupsafe as autoescaping did. The templates call them by the same names (Jinja globals).
"""

from __future__ import annotations

from typing import Any

from markupsafe import Markup, escape

from claimtrack.web.display import has_own_quotes, readable_date
from claimtrack.web.urls import record_url


def value(row: Any, name: str) -> Any:
    """``row.name`` as a template reads it: the attribute, else the key; "" when there is neither (Jinja's
    Undefined printed nothing and was false). Rows are plain dicts or objects."""
    if type(row) is dict:
        return row.get(name, "")
    try:
        return getattr(row, name)
    except AttributeError:
        pass
    try:
        return row[name]
    except (TypeError, LookupError):
        return ""


def statement(c: Any) -> Markup:
    """A statement in its own language (lang), its direction found from its text (dir=auto, so Arabic reads
    right to left inside an English page); a quote pasted with its own quotation marks gets no second pair."""
    language = value(c, "language")
    text = value(c, "text")
    lang = f' lang="{escape(language)}"' if language else ""
    if value(c, "verbatim"):
        own = " own-quotes" if has_own_quotes(text) else ""
        return Markup(f'<q class="statement verbatim{own}"{lang} dir="auto">{escape(text)}</q>')
    return Markup(f'<span class="statement paraphrase"{lang} dir="auto">{escape(text)}</span>')


def when(date: Any, time: Any = None) -> Markup:
    """A date (and time of day) in words, with the machine-readable value in <time datetime>."""
    at = f"T{escape(time)}" if time else ""
    return Markup(f'<time datetime="{escape(date)}{at}">{escape(readable_date(date, time))}</time>')


def quote_kind(c: Any) -> Markup:
    if value(c, "verbatim"):
        return Markup('<span class="tag quote">Direct quote</span>')
    return Markup('<span class="tag para">Paraphrase</span>')


def who(speaker_id: int, speaker: Any, affiliation_id: int | None = None, affiliation: Any = None) -> Markup:
    """The speaker's name, linked to their page, and what they speak for (linked when it is recorded)."""
    out = f'<a class="speaker" href="{escape(record_url("speakers.show", speaker_id))}">{escape(speaker)}</a>'
    if affiliation:
        if affiliation_id:
            shown = f'<a href="{escape(record_url("speakers.show", affiliation_id))}">{escape(affiliation)}</a>'
        else:
            shown = str(escape(affiliation))
        out += f' <span class="aff">({shown})</span>'
    return Markup(out)


def source_line(s: Any) -> Markup:
    """A source: its title linked to its address (or to its record), the outlet, the date, and its record."""
    url, title, outlet, source_id = value(s, "url"), value(s, "title"), value(s, "outlet"), value(s, "id")
    record = escape(record_url("sources.show", source_id))
    if url:
        out = f'<a href="{escape(url)}" rel="noopener noreferrer nofollow">{escape(title or url)}</a>'
    else:
        out = f'<a href="{record}">{escape(title or outlet)}</a>'
    if outlet and title:
        out += f', <span class="outlet">{escape(outlet)}</span>'
    published_on = value(s, "published_on")
    if published_on:
        out += f", {when(published_on)}"
    return Markup(
        f'{out}  <a class="meta-link" href="{record}" aria-label="Source record {escape(source_id)}">'
        f"[source #{escape(source_id)}]</a>"
    )


def verdict(v: Any) -> Markup:
    if not v:
        return Markup("")
    return Markup(f'<span class="verdict verdict-{escape(v)}">{escape(str(v).capitalize())}</span>')


def retracted_badge(item: Any, reason: Any = None) -> Markup:
    if not item:
        return Markup("")
    if reason:
        return Markup(
            f'<span class="retracted-mark">Retracted</span> <span class="retraction-reason">{escape(reason)}</span>'
        )
    return Markup('<span class="retracted-mark">Retracted</span>')


# The names the templates call them by.
GLOBALS = {
    "statement": statement,
    "when": when,
    "quote_kind": quote_kind,
    "who": who,
    "source_line": source_line,
    "verdict": verdict,
    "retracted_badge": retracted_badge,
}

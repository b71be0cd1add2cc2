"""The claim page's lists of the statements that answer a claim, written in Python.

Each item is some twenty values (the statement, its speaker, date, wording, verdict, source, note and the
link's own tools); in the template's loop, Jinja's per-expression work on them was the largest part of the
page's rendering. This writes the bytes that loop wrote (tests/test_pieces.py renders the former
loop beside it for the same rows), escaped with markupsafe as autoescaping did.
"""

from __future__ import annotations

from typing import Any

from flask import request, url_for
from flask_login import current_user
from markupsafe import Markup, escape

from claimtrack.web.pieces import quote_kind, retracted_badge, source_line, statement, verdict, who
from claimtrack.web.urls import record_url


def link_list(links: list[dict[str, Any]], relation: str, claim_speaker: Any, other_sources: dict[int, Any]) -> Markup:
    """``<ul class="link-list">`` with one item per link of a section of the claim page."""
    editor = bool(current_user.is_editor)
    out = ['<ul class="link-list">\n']
    for link in links:
        out.append(_item(link, relation, claim_speaker, other_sources.get(link["other_id"], []), editor))
    out.append("      </ul>")
    return Markup("".join(out))


def _item(link: dict[str, Any], relation: str, claim_speaker: Any, sources: list[Any], editor: bool) -> str:
    out = ["        <li>\n"]
    if link["link_retracted"] or link["retracted"]:
        reason = link["link_retracted_reason"] if link["link_retracted"] else "the statement was retracted"
        out.append(f"<p>{retracted_badge(True, reason)}</p>")
    speaker = link["speaker"]
    if relation == "contradicts":
        # The recorded direction, in words: who was linked as answering whom.
        if link["direction"] == "incoming":
            said, by, answered = "It contradicts this statement", speaker, "this"
        else:
            said, by, answered = "This statement contradicts it", claim_speaker, speaker
        out.append(
            f'          <p class="direction">{said} <span class="recorded">(recorded: {escape(by)} contradicts '
            f"{escape(answered)})</span></p>\n"
        )
    out.append(
        f'          <p class="text"><a href="{escape(record_url("claims.show", link["other_id"]))}">'
        f"{statement(link)}</a></p>\n"
        f'          <p class="meta">'
        f"{who(link['speaker_id'], speaker, link['affiliation_id'], link['affiliation'])}\n"
    )
    stated_on = link["stated_on"]
    if stated_on:
        out.append(f' · <time datetime="{escape(stated_on)}">{escape(stated_on)}</time>')
    out.append(f" · {quote_kind(link)} {verdict(link['verdict'])}</p>\n")
    if sources:
        out.append(f'<p class="source">Reported in {source_line(sources[0])}</p>')
    if link["note"]:
        out.append(f'<p class="note"><span class="label">Why linked:</span> {escape(link["note"])}</p>')
    link_id = link["link_id"]
    tools = f'<a href="{escape(record_url("claims.show_link", link_id))}">Link {escape(link_id)}</a>'
    if editor:
        tools += f' · <a href="{escape(url_for("claims.edit_link", link_id=link_id, next=request.path))}">Edit link</a>'
        if not link["link_retracted"]:
            retract = url_for("claims.retract_link", link_id=link_id, next=request.path)
            tools += f' · <a href="{escape(retract)}">Retract link</a>'
    out.append(f'          <p class="link-tools">{tools}</p>\n        </li>\n')
    return "".join(out)

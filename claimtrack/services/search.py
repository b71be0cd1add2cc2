"""Finding what is already recorded: the claims list's search and similar-claim suggestions.

Both use ``claims_fts_search`` (migration 0007): statement text, speaker names and source titles and
outlets, stemmed (Porter), so "finish" finds "finished" and "ICRC" finds what the ICRC's people said.
Queries are built here from what a person typed; FTS5 operators in it are taken literally.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import Any

from sqlmodel import Session

from claimtrack.services.common import ids_param, rows

FTS = "claims_fts_search"
# The same list as migration 0007 strips before indexing: Arabic short vowels, shadda, sukun, dagger
# alif, tatweel.
ARABIC_MARKS = {chr(c) for c in range(0x064B, 0x0653)} | {"\u0670", "\u0640"}
MAX_WORDS = 20
# Words too common to tell statements apart: left out of a similarity query (they would make it match,
# and rank, nearly every statement).
STOPWORDS = frozenset(
    [
        "a",
        "an",
        "and",
        "are",
        "as",
        "at",
        "be",
        "been",
        "but",
        "by",
        "for",
        "from",
        "had",
        "has",
        "have",
        "he",
        "her",
        "his",
        "i",
        "in",
        "into",
        "is",
        "it",
        "its",
        "of",
        "on",
        "or",
        "our",
        "she",
        "so",
        "that",
        "the",
        "their",
        "them",
        "there",
        "they",
        "this",
        "to",
        "was",
        "we",
        "were",
        "what",
        "when",
        "which",
        "who",
        "will",
        "with",
        "would",
        "you",
    ]
)
SIMILAR_CANDIDATES = 60  # ranked by the index; the retracted are dropped from these before the cut


def words(typed: str) -> list[str]:
    """The words of ``typed`` as the index sees them: letters, digits and marks, Arabic marks removed."""
    cleaned = "".join(ch for ch in unicodedata.normalize("NFC", typed) if ch not in ARABIC_MARKS)
    return [w for w in re.findall(r"[\w\u0300-\u036f\u0900-\u0dff]+", cleaned) if w.strip("_")][:MAX_WORDS]


def _quoted(word: str) -> str:
    return '"' + word.replace('"', '""') + '"'


def prefix_term(word: str) -> str:
    """A word that may still be being typed: itself as a prefix, or (the stemmer having indexed a shorter
    stem than what is typed, "evacuat" for "evacu") a slightly shorter prefix."""
    if len(word) >= 6:
        return f"({_quoted(word)}* OR {_quoted(word[:-3])}*)"
    return f"{_quoted(word)}*"


def match_all(typed: str | None) -> str | None:
    """Every word must appear (in the statement, the speaker's name or a source), each as a word prefix."""
    found = words(typed or "")
    if not found:
        return None
    return " AND ".join(f"{_quoted(w)}*" for w in found)


def match_any(typed: str, speaker: str | None = None) -> str | None:
    """Any of the words, the last as a prefix; ranked by BM25 these put the closest statements first.
    The speaker's words, if given, count in the speaker column only."""
    found = [w for w in words(typed) if w.lower() not in STOPWORDS]
    if not found:
        return None
    terms = [_quoted(w) for w in found[:-1]]
    # The last word counts as typed in full or as a prefix (someone typing as they go).
    terms.append(prefix_term(found[-1]))
    query = " OR ".join(terms)
    speaker_words = [w for w in words(speaker or "") if w.lower() not in STOPWORDS]
    if speaker_words:
        query += " OR speaker : (" + " OR ".join(_quoted(w) for w in speaker_words) + ")"
    return query


@dataclass(frozen=True)
class Similar:
    """A recorded statement like the one being typed."""

    id: int
    text: str
    verbatim: bool
    stated_on: str | None
    verdict: str | None
    speaker_id: int
    speaker: str
    affiliation: str | None
    event: str | None
    score: float  # BM25: lower is closer

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "url": f"/claims/{self.id}",
            "text": self.text,
            "verbatim": self.verbatim,
            "speaker": self.speaker,
            "speaker_id": self.speaker_id,
            "affiliation": self.affiliation,
            "stated_on": self.stated_on,
            "verdict": self.verdict,
            "event": self.event,
            "score": round(self.score, 4),
        }


def similar_claims(
    session: Session, typed: str, speaker: str | None = None, limit: int = 10, exclude_id: int | None = None
) -> list[Similar]:
    """The recorded statements most like ``typed``, closest first, across all speakers.

    The index ranks its matches and returns the first few (ORDER BY rank LIMIT inside the FTS query), so
    no query joins or sorts every matching claim; only those few are then read with their names."""
    match = match_any(typed, speaker)
    if match is None:
        return []
    ranked = rows(
        session,
        f"SELECT rowid AS id, rank AS score FROM {FTS} WHERE {FTS} MATCH :q ORDER BY rank LIMIT :n",
        {"q": match, "n": SIMILAR_CANDIDATES},
    )
    if not ranked:
        return []
    scores = {r["id"]: r["score"] for r in ranked}
    details = {
        r["id"]: r
        for r in rows(
            session,
            f"""SELECT c.id, c.text, c.verbatim, c.stated_on, c.verdict, c.speaker_id, s.name AS speaker,
                a.name AS affiliation, e.name AS event
            FROM claims c JOIN speakers s ON s.id = c.speaker_id LEFT JOIN speakers a ON a.id = s.affiliation_id
            LEFT JOIN events e ON e.id = c.event_id
            WHERE c.id IN ({ids_param(list(scores))}) AND c.retracted = 0""",
        )
    }
    found = [
        Similar(**{**details[i], "verbatim": bool(details[i]["verbatim"])}, score=scores[i])
        for i in scores
        if i in details and i != exclude_id
    ]
    return found[:limit]

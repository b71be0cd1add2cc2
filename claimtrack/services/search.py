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

from sqlalchemy import Connection, Engine, event, text
from sqlmodel import Session

from claimtrack.migrations.shared import ARABIC_MARKS as SHARED_MARKS
from claimtrack.services.common import ids_param, rows

FTS = "claims_fts_search"
# The index's tokenizer (migration 0007): the probe below must turn words into terms exactly as it does.
TOKENIZE = "porter unicode61 remove_diacritics 2 categories 'L* N* Co M*'"
# The same list as migration 0007 strips before indexing: Arabic short vowels, shadda, sukun, dagger
# alif, tatweel.
ARABIC_MARKS = set(SHARED_MARKS)  # the marks the index leaves out (migrations 0007, 0011)
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
# How many statements one similarity query may score, all its words together. BM25 reads every statement
# a word is in (twice: for the word's weight, then for the scores) and sorts them, about 4 microseconds
# a statement here, so a word in a quarter of a million statements costs a second. Words are taken rarest first (the ones BM25 weighs most)
# while the total stays under this; commoner words are left out like stopwords.
SIMILAR_BUDGET = 5_000
COMMON_COUNT_FACTOR = 2  # when every word is over the budget, they are counted up to twice it


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
    """Every word must appear (in the statement, the speaker's name or a source), each as a word prefix.

    FTS5 answers a prefix query by merging the lists of every term with that prefix before it returns
    its first row (255 ms for "the" at a million claims): the claims list uses ``list_match`` instead."""
    found = words(typed or "")
    if not found:
        return None
    return " AND ".join(f"{_quoted(w)}*" for w in found)


# A typed word stands for the index terms that start with its stem. Written out as plain terms ORed
# together, FTS5 reads each term's list lazily, newest first, and stops at the page's last row; a
# prefix query ("the"*) would first merge all of them. More terms than this: the word is matched whole.
PREFIX_TERMS = 64
# Word endings tried to spell an index term the stemmer does not leave as it is ("agre", from "agreed",
# stems again to "agr"): a query term is always stemmed, so such a term is asked for by a word that
# stems to it.
SPELLING_SUFFIXES = ("e", "ed", "s", "es", "ing", "ion", "al", "y", "ly", "ment")
_SEARCH_SETUP = (
    # Contentless: only its index is kept, and 'delete-all' empties it at once.
    f"CREATE VIRTUAL TABLE IF NOT EXISTS temp.search_probe USING fts5(t, content='', tokenize=\"{TOKENIZE}\")",
    "CREATE VIRTUAL TABLE IF NOT EXISTS temp.search_probe_terms USING fts5vocab(temp, search_probe, instance)",
    f"CREATE VIRTUAL TABLE IF NOT EXISTS temp.search_terms USING fts5vocab(main, {FTS}, instance)",
)


@dataclass(frozen=True)
class ListMatch:
    """The claims list's full-text query, and the typed words it matches whole (see ``PREFIX_TERMS``)."""

    query: str
    whole_words: tuple[str, ...] = ()


def prepare_engine(engine: Engine) -> None:
    """Create the search's per-connection tables as each connection opens, outside any transaction (made
    inside a read transaction, they would go with its rollback and be made again on every search)."""

    @event.listens_for(engine, "connect")
    def _create(dbapi_conn: Any, record: Any) -> None:
        for statement in _SEARCH_SETUP:
            dbapi_conn.execute(statement)
        record.info["search_tables"] = True


def _prepare(conn: Connection) -> None:
    """The per-connection tables of the search: a probe with the index's tokenizer, and both vocabularies.
    They live in the connection's own temp schema (nothing is added to the database file)."""
    if conn.info.get("search_tables"):
        return
    for statement in _SEARCH_SETUP:  # an engine without prepare_engine: made for this transaction
        conn.execute(text(statement))


def index_terms(conn: Connection, texts: list[str]) -> list[list[str]]:
    """Each text as the index's tokenizer turns it into terms (lower case, accents folded, stemmed)."""
    _prepare(conn)
    conn.execute(text("INSERT INTO temp.search_probe (search_probe) VALUES ('delete-all')"))
    conn.execute(
        text("INSERT INTO temp.search_probe (rowid, t) VALUES (:i, :t)"),
        [{"i": i, "t": t} for i, t in enumerate(texts, 1)],
    )
    result: list[list[str]] = [[] for _ in texts]
    for doc, _offset, term in sorted(conn.execute(text("SELECT doc, offset, term FROM temp.search_probe_terms"))):
        result[doc - 1].append(term)
    return result


def _terms_starting(conn: Connection, stem: str) -> list[str] | None:
    """The index terms that start with ``stem``, in order, or None when there are more than PREFIX_TERMS.
    One seek per term: ``term >= previous || x'00'`` steps over the previous term's whole list."""
    # Up to PREFIX_TERMS + 1 tiny statements: straight on the driver's connection (same transaction), as
    # SQLAlchemy's own work per statement costs more than the seek.
    cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
    found: list[str] = []
    start = stem
    try:
        while len(found) <= PREFIX_TERMS:
            row = cursor.execute("SELECT term FROM temp.search_terms WHERE term >= ? LIMIT 1", (start,)).fetchone()
            if row is None or not row[0].startswith(stem):
                return found
            found.append(row[0])
            start = row[0] + "\x00"
    finally:
        cursor.close()
    return None


def _spell(conn: Connection, terms: list[str], known: dict[str, str]) -> dict[str, str]:
    """For each index term, a word the tokenizer turns into exactly that term, where one is found.
    ``known`` holds terms already known to come from a typed word (the word's own stem)."""
    spelled = {t: w for t, w in known.items() if t in terms}
    # The term itself first, then each ending in order: all tried in one pass through the probe.
    tried = [(t, c) for t in dict.fromkeys(terms) if t not in spelled for c in (t, *(t + s for s in SPELLING_SUFFIXES))]
    if tried:
        for (term, candidate), tokens in zip(tried, index_terms(conn, [c for _, c in tried]), strict=True):
            if tokens == [term] and term not in spelled:
                spelled[term] = candidate
    return spelled


def _spellings(conn: Connection, terms: list[str], typed: str, stem: str) -> list[str] | None:
    """For each index term, a word the tokenizer turns into exactly that term (None if one has none)."""
    spelled = _spell(conn, terms, {stem: typed})  # the typed word is known to turn into its stem
    if len(spelled) < len(set(terms)):
        return None
    return [spelled[t] for t in terms]


def list_match(session: Session, typed: str | None) -> ListMatch | None:
    """What ``match_all`` matches, written so that FTS5 reads only what a newest-first page needs.

    Each typed word becomes its stem and every index term starting with it, ORed as plain terms. A word
    that starts more than PREFIX_TERMS terms (one or two letters, say) is matched as a whole word and
    named in ``whole_words``; a word the tokenizer splits, or whose terms cannot all be spelled, keeps
    the prefix query (correct, but it reads every match)."""
    found = words(typed or "")
    if not found:
        return None
    conn = session.connection()
    parts: list[str] = []
    whole: list[str] = []
    for word, tokens in zip(found, index_terms(conn, found), strict=True):
        if len(tokens) != 1:
            parts.append(f"{_quoted(word)}*")
            continue
        terms = _terms_starting(conn, tokens[0])
        if terms is None:
            whole.append(word)
            parts.append(_quoted(word))
            continue
        if not terms:
            return ListMatch(_quoted(word))  # no indexed word starts so: nothing matches
        spelled = _spellings(conn, terms, word, tokens[0])
        if spelled is None:
            parts.append(f"{_quoted(word)}*")
        else:
            parts.append("(" + " OR ".join(_quoted(w) for w in spelled) + ")")
    return ListMatch(" AND ".join(parts), tuple(whole))


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


def _last_word_terms(conn: Connection, word: str) -> str:
    """The last typed word as the index terms it may be the start of (what ``prefix_term`` matches),
    written out so that the index reads them lazily; the word alone when too many terms start with it."""
    options = [word, word[:-3]] if len(word) >= 6 else [word]
    known: dict[str, str] = {}  # each option's stem: the option is known to turn into it
    all_terms: list[str] = []
    for n, (option, tokens) in enumerate(zip(options, index_terms(conn, options), strict=True)):
        if len(tokens) != 1:
            return prefix_term(word)
        terms = _terms_starting(conn, tokens[0])
        if terms is None:
            if n == 0:
                return _quoted(word)
            continue  # the shorter stem starts too many words: the word's own terms are enough
        known.setdefault(tokens[0], option)
        all_terms += [t for t in terms if t not in all_terms]
    if not all_terms:
        return _quoted(word)
    spelled = _spell(conn, all_terms, known)  # both options' terms in one pass through the probe
    if len(spelled) < len(all_terms):
        return prefix_term(word)  # a term no word spells: the prefix query, as before
    return "(" + " OR ".join(_quoted(w) for w in dict.fromkeys(spelled[t] for t in all_terms)) + ")"


def _statements_with(conn: Connection, exprs: list[str], cap: int) -> list[int]:
    """How many statements match each of ``exprs``, each counted only up to ``cap``, in one statement.

    A count stops reading at ``cap`` matches, so the whole costs at most ``cap`` rows a word at any archive
    size. (An fts5vocab table answers ``term IN (...)`` by term lookups, but reads each term's whole list
    to count its statements: 45 ms for eight words at 200,000 claims against 5 ms for these counts.)"""
    if not exprs:
        return []
    params: dict[str, Any] = {"cap": cap} | {f"q{i}": e for i, e in enumerate(exprs)}
    counts = " UNION ALL ".join(
        f"SELECT {i}, (SELECT count(*) FROM (SELECT 1 FROM {FTS} WHERE {FTS} MATCH :q{i} LIMIT :cap))"
        for i in range(len(exprs))
    )
    found = {int(i): int(n) for i, n in conn.execute(text(counts), params)}
    return [found[i] for i in range(len(exprs))]


@dataclass(frozen=True)
class SimilarQuery:
    query: str
    # Empty: BM25 ranks the matches of ``query``. Otherwise every word is in more than SIMILAR_BUDGET
    # statements: (statements counted, term) of each, rarest first; ``query`` is the rarest.
    common: tuple[tuple[int, str], ...] = ()


def similar_query(session: Session, typed: str, speaker: str | None = None) -> SimilarQuery | None:
    """``match_any`` bounded by SIMILAR_BUDGET: the rarest words whose statements together stay under it.

    A fixed number of statements whatever the length of the text: the last word through the probe (and
    its terms' spellings, once), then every word counted in one statement."""
    found = [w for w in words(typed) if w.lower() not in STOPWORDS]
    if not found:
        return None
    conn = session.connection()
    terms: list[str] = []
    for w in found[:-1]:
        if _quoted(w) not in terms:
            terms.append(_quoted(w))
    terms.append(_last_word_terms(conn, found[-1]))
    speaker_words = [w for w in words(speaker or "") if w.lower() not in STOPWORDS]
    terms += [f"speaker : {_quoted(w)}" for w in dict.fromkeys(speaker_words)]
    # Counted once, up to what the case where every word is over the budget needs: a word over the
    # budget is left out either way.
    cap = SIMILAR_BUDGET * COMMON_COUNT_FACTOR
    counted = sorted((n, i, t) for i, (n, t) in enumerate(zip(_statements_with(conn, terms, cap), terms, strict=True)))
    kept: list[str] = []
    total = 0
    for n, _i, term in counted:
        if n == 0:
            continue
        if total + n > SIMILAR_BUDGET:
            break
        total += n
        kept.append(term)
    if kept:
        return SimilarQuery(" OR ".join(kept))
    # Every word is over the budget: the rarest leads (see _score_candidates).
    common = tuple(sorted((n, t) for n, _i, t in counted if n > 0))
    if not common:
        return None
    return SimilarQuery(common[0][1], common)


_QUOTED = re.compile(r'"((?:[^"]|"")*)"')


def _score_candidates(session: Session, match: SimilarQuery) -> list[Any]:
    """When every word is very common: the newest SIMILAR_CANDIDATES statements with the rarest word, scored
    by which of the words each contains (a rarer word weighs more), a bounded stand-in for BM25. The
    candidates' indexed words are read back through the probe: a few dozen short texts, not the index."""
    newest = rows(
        session,
        f"""SELECT rowid AS id, coalesce(text, '') || ' ' || coalesce(speaker, '') || ' ' || coalesce(sources, '') AS words
        FROM {FTS} WHERE {FTS} MATCH :q ORDER BY rowid DESC LIMIT :n""",
        {"q": match.query, "n": SIMILAR_CANDIDATES},
    )
    if len(match.common) == 1 or not newest:  # one word: every candidate has it, newest first
        return [{"id": r["id"], "score": -SIMILAR_BUDGET / match.common[0][0]} for r in newest]
    conn = session.connection()
    # Each query term as the index terms it stands for (the quoted words of one expression).
    spelled = [[w.replace('""', '"') for w in _QUOTED.findall(term)] for _n, term in match.common]
    flat = [w for ws in spelled for w in ws]
    flat_terms = index_terms(conn, flat + [r["words"] for r in newest])
    it = iter(flat_terms[: len(flat)])
    wanted = [{t for _ in ws for t in next(it)} for ws in spelled]
    scores: list[tuple[float, int]] = []
    for r, terms in zip(newest, flat_terms[len(flat) :], strict=True):
        present = set(terms)
        score = -sum(SIMILAR_BUDGET / n for (n, _t), w in zip(match.common, wanted, strict=True) if w & present)
        scores.append((score, -r["id"]))
    return [{"id": -neg_id, "score": score} for score, neg_id in sorted(scores)]


def similar_claims(
    session: Session, typed: str, speaker: str | None = None, limit: int = 10, exclude_id: int | None = None
) -> list[Similar]:
    """The recorded statements most like ``typed``, closest first, across all speakers.

    The index ranks its matches and returns the first few (ORDER BY rank LIMIT inside the FTS query), so
    no query joins or sorts every matching claim; only those few are then read with their names. Words in
    very many statements are left out (``SIMILAR_BUDGET``); when every word is, see ``_score_candidates``."""
    match = similar_query(session, typed, speaker)
    if match is None:
        return []
    if match.common:
        ranked = _score_candidates(session, match)
    else:
        ranked = rows(
            session,
            f"SELECT rowid AS id, rank AS score FROM {FTS} WHERE {FTS} MATCH :q ORDER BY rank LIMIT :n",
            {"q": match.query, "n": SIMILAR_CANDIDATES},
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

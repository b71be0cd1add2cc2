"""Names of speakers, sources and events: exact matching by key, and near names ranked by similarity.

**The key** (``name_key``): the name in Unicode NFC, case-folded, without punctuation (dashes and slashes
separate words: "Al-Nusra" = "al nusra", "U.N." = "un"), any run of spaces one space, no spaces at the ends.
Two names with the same key name the same entity: a form reuses it silently. A name of punctuation alone
("???") has an empty key and is compared as it is written, case-folded (``compared_key``).

**Similarity** (``similarity``), between 0 and 1, of two keys:

- Their words are compared as sets after dropping little words ("of", "the", "for", "and", ...) and
  writing common abbreviations and spellings one way (``SYNONYMS``: "MoD" = "ministry defence",
  "defense" = "defence", "UN" = "united nations", "govt" = "government", ...): the *word overlap* is the
  Jaccard index of the two sets (shared words / all words).
- The *trigram overlap* is the Jaccard index of the character trigrams of those same words (each word
  padded with a space at each end), which forgives typos and word forms ("Rusian", "Russia's").
- similarity = 0.5 × word overlap + 0.5 × trigram overlap, halved when each name has a number or a
  single letter the other lacks ("Speaker A" / "Speaker B", "Brigade 16" / "Brigade 17", 2016 / 2017 name
  different entities). Word order does not count: "Russian Ministry of Defence", "Russian MoD" and
  "russian defence ministry" all score 1.0 against "Russian defence ministry".

A name is *near* when its similarity is at least ``NEAR``. Candidates come from the ``entity_names_fts``
index (any of the typed words, their synonyms, or a word's first four letters), at most ``CANDIDATES`` of
them, best ranked by FTS5 first, and the names with the same key through its index (the key the app computes,
and the key as stored, which keeps punctuation inside a word: "25:99", and names without letters, which have
no word to search for, are found there); only those are ranked here, so the cost does not grow with the tables.
Rows of ``entity_names`` marked ``is_alias`` name an entity by another name: a match on one offers the
entity itself, "also known as" the alias.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import asdict, dataclass
from typing import Any, Literal

from sqlmodel import Session

from claimtrack.migrations.keys import sql_key
from claimtrack.models import SPEAKER_KIND_LABELS, SpeakerKind, clean_name
from claimtrack.services.common import ids_param, rows
from claimtrack.services.errors import Conflict, NearNames

Kind = Literal["speaker", "source", "event"]
KINDS: tuple[Kind, ...] = ("speaker", "source", "event")
NEAR = 0.6
CANDIDATES = 50  # rows read from the index for one lookup
MAX_TYPED = 200  # a name's length limit: more cannot be a stored name

# Words that say nothing about which entity is meant.
STOPWORDS = frozenset({"of", "the", "for", "and", "de", "du", "des", "la", "le", "al", "el", "on", "in", "an"})
# One way to write common abbreviations and spellings: each word becomes the words on the right.
SYNONYMS: dict[str, tuple[str, ...]] = {
    "mod": ("ministry", "defence"),
    "defense": ("defence",),
    "mfa": ("ministry", "foreign", "affairs"),
    "moh": ("ministry", "health"),
    "mil": ("military",),
    "min": ("ministry",),
    "govt": ("government",),
    "gov": ("government",),
    "dept": ("department",),
    "intl": ("international",),
    "int": ("international",),
    "un": ("united", "nations"),
    "uk": ("united", "kingdom"),
    "us": ("united", "states"),
    "usa": ("united", "states"),
    "organisation": ("organization",),
    "centre": ("center",),
    "programme": ("program",),
}
_WORD = re.compile(r"\w+")


def name_key(name: str) -> str:
    """NFC, case-folded, punctuation dropped (dashes and slashes become spaces), spaces collapsed."""
    out = []
    for ch in unicodedata.normalize("NFC", unicodedata.normalize("NFC", name).casefold()):
        category = unicodedata.category(ch)
        if category == "Pd" or ch == "/":
            out.append(" ")
        elif category[0] == "P":
            continue
        elif category[0] in "ZC":  # every space, tab or line break is a word boundary
            out.append(" ")
        else:
            out.append(ch)
    return " ".join("".join(out).split())


def compared_key(name: str) -> str:
    """The key a typed or stored name is compared by: its ``name_key``, or for a name of punctuation alone
    (whose ``name_key`` is empty) the name itself, case-folded with single spaces: "???" is "???", not "!!!"."""
    cleaned = clean_name(name[:MAX_TYPED])
    return name_key(cleaned) or " ".join(unicodedata.normalize("NFC", cleaned.casefold()).split())


def words(key: str) -> set[str]:
    """The words similarity compares: little words dropped, abbreviations and spellings written one way."""
    result: set[str] = set()
    for word in _WORD.findall(key):
        if word in STOPWORDS:
            continue
        result.update(SYNONYMS.get(word, (word,)))
    return result or set(_WORD.findall(key))  # a name made only of little words still has words


def _trigrams(ws: set[str]) -> set[str]:
    grams: set[str] = set()
    for word in ws:
        padded = f" {word} "
        grams.update(padded[i : i + 3] for i in range(len(padded) - 2))
    return grams


def _jaccard(a: set[str], b: set[str]) -> float:
    return len(a & b) / len(a | b) if a or b else 0.0


def _is_mark(word: str) -> bool:
    """A number or a single letter: in a name it tells entities apart ("Speaker A", "Brigade 16", 2016)."""
    return len(word) == 1 or any(ch.isdigit() for ch in word)


def similarity(key_a: str, key_b: str) -> float:
    """How alike two keys are, 0 to 1 (see the module docstring)."""
    if key_a == key_b:
        return 1.0
    wa, wb = words(key_a), words(key_b)
    score = 0.5 * _jaccard(wa, wb) + 0.5 * _jaccard(_trigrams(wa), _trigrams(wb))
    # Each has a number or letter the other lacks: two labelled entities, not two spellings of one.
    if any(_is_mark(w) for w in wa - wb) and any(_is_mark(w) for w in wb - wa):
        score /= 2
    return score


@dataclass(frozen=True)
class NameMatch:
    """An existing speaker, source or event offered for a typed name."""

    kind: Kind
    id: int
    name: str
    score: float
    also_known_as: str | None  # the alias the typed name matched, when it was one

    @property
    def details(self) -> str:
        """What tells it apart, in words ("Government body, speaks for Russian government")."""
        return ""

    def as_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["score"] = round(self.score, 3)
        data["details"] = self.details
        return data


@dataclass(frozen=True)
class SpeakerMatch(NameMatch):
    speaker_kind: str
    affiliation: str | None

    @property
    def kind_label(self) -> str:
        try:
            return SPEAKER_KIND_LABELS[SpeakerKind(self.speaker_kind)]
        except ValueError:
            return self.speaker_kind

    @property
    def details(self) -> str:
        return self.kind_label + (f", speaks for {self.affiliation}" if self.affiliation else "")


@dataclass(frozen=True)
class SourceMatch(NameMatch):
    title: str | None
    outlet: str | None
    url: str | None
    published_on: str | None

    @property
    def details(self) -> str:
        parts = [p for p in (self.outlet if self.title else None, self.published_on, self.url) if p]
        return ", ".join(parts)


@dataclass(frozen=True)
class EventMatch(NameMatch):
    starts_on: str | None
    ends_on: str | None

    @property
    def details(self) -> str:
        if self.starts_on and self.ends_on and self.ends_on != self.starts_on:
            return f"{self.starts_on} to {self.ends_on}"
        return self.starts_on or self.ends_on or ""


def _quoted(word: str, prefix: bool = False) -> str:
    return '"' + word + '"' + ("*" if prefix else "")  # \w+ words hold no quote to escape


def _any_word_query(key: str) -> str | None:
    """FTS5 query: any typed word, its synonyms' words, or (for typos) its first four letters."""
    terms: set[str] = set()
    for word in _WORD.findall(key)[:20]:
        terms.add(_quoted(word))
        terms.update(_quoted(w) for w in SYNONYMS.get(word, ()))
        if len(word) >= 6:
            terms.add(_quoted(word[:4], prefix=True))
    # Abbreviations typed in full ("ministry of defence") meet the stored abbreviation ("MoD").
    typed = set(_WORD.findall(key))
    for abbreviation, expansion in SYNONYMS.items():
        if len(expansion) > 1 and set(expansion) <= typed:
            terms.add(_quoted(abbreviation))
    return " OR ".join(sorted(terms)) or None


# The stored key of a name as SQL computes it (migrations.keys): it keeps what the app's key drops inside a word
# ("25:99" is stored as '25:99', where the app's key is '2599' and the full-text index has "25" and "99").
STORED_KEY = sql_key(":name")


def _candidates(session: Session, kind: Kind, match: str | None, key: str, name: str) -> list[tuple[int, str, int]]:
    """(entity_id, name, is_alias) of at most CANDIDATES rows: FTS5's best for ``match`` (None: the name has no
    word to search for), and exact keys."""
    found = []
    if match is not None:
        found = rows(
            session,
            f"""SELECT e.entity_id, e.name, e.is_alias FROM entity_names_fts f JOIN entity_names e ON e.id = f.rowid
            WHERE entity_names_fts MATCH :match AND e.kind = :kind ORDER BY f.rank LIMIT {CANDIDATES}""",
            {"match": match, "kind": kind},
        )
    # The exact key by its index too: a name of common words could rank below fifty others, and a name without
    # letters (digits and punctuation, emoji) is found by its stored key alone.
    found += rows(
        session,
        f"""SELECT entity_id, name, is_alias FROM entity_names WHERE kind = :kind AND name_key IN (:key, {STORED_KEY})
        LIMIT {CANDIDATES}""",
        {"kind": kind, "key": key, "name": name},
    )
    return [(r["entity_id"], r["name"], r["is_alias"]) for r in found]


def _ranked(session: Session, kind: Kind, name: str) -> list[tuple[float, int, str, str | None]]:
    """(score, entity id, the name matched, alias or None) for the candidates of ``name``, best first."""
    key = compared_key(name)
    if not key:
        return []
    best: dict[int, tuple[float, str, str | None]] = {}
    for entity_id, stored, is_alias in _candidates(session, kind, _any_word_query(key), key, name.strip()):
        score = similarity(key, compared_key(stored))
        if entity_id not in best or score > best[entity_id][0]:
            best[entity_id] = (score, stored, stored if is_alias else None)
    ranked = [(score, entity_id, stored, alias) for entity_id, (score, stored, alias) in best.items()]
    ranked.sort(key=lambda r: (-r[0], r[2].casefold(), r[1]))
    return ranked


# The table holding each kind's own names, where the stored name itself is looked up first.
_NAME_TABLES = {"speaker": "speakers", "event": "events"}


def exact_id(session: Session, kind: Kind, name: str) -> int | None:
    """The id of the entity (by its own name or an alias) whose key is the key of ``name``, if any.

    One statement: the name as stored (case-insensitively), then names holding every word of the key (the
    shortest first), then the indexed key column; the first whose key (computed here) is the same wins.

    On a database other than SQLite (PostgreSQL) only the stored name is looked up, case-insensitively
    through the NOCASE collation (``db.create_postgres_schema``): ``entity_names`` and its full-text index
    are kept by SQLite triggers, so aliases of merged records and names that differ only in punctuation or
    spacing are matched on SQLite only for now, and a source (no name table here) is never matched."""
    key = compared_key(name)
    if not key:
        return None
    parts: list[str] = []
    params: dict[str, Any] = {"kind": kind, "key": key, "name": name.strip()}
    if kind in _NAME_TABLES:
        parts.append(
            f"""SELECT * FROM (SELECT id AS entity_id, name FROM {_NAME_TABLES[kind]} WHERE name = :name LIMIT 1)
            AS stored"""
        )
    if session.get_bind().dialect.name == "sqlite":
        typed_words = _WORD.findall(key)
        if typed_words:
            parts.append(
                f"""SELECT * FROM (SELECT e.entity_id, e.name FROM entity_names_fts f JOIN entity_names e
                ON e.id = f.rowid WHERE entity_names_fts MATCH :match AND e.kind = :kind
                ORDER BY length(e.name), e.is_alias, e.id LIMIT {CANDIDATES}) AS by_words"""
            )
            params["match"] = " AND ".join(_quoted(w) for w in typed_words[:20])
        parts.append(
            f"""SELECT * FROM (SELECT entity_id, name FROM entity_names WHERE kind = :kind
            AND name_key IN (:key, {STORED_KEY}) ORDER BY is_alias, id LIMIT {CANDIDATES}) AS by_key"""
        )
    if not parts:
        return None
    for row in rows(session, " UNION ALL ".join(parts), params):
        if compared_key(row["name"]) == key:
            return int(row["entity_id"])
    return None


def similar_names(session: Session, kind: Kind, name: str, limit: int = 5, threshold: float = NEAR) -> list[NameMatch]:
    """Existing entities of ``kind`` whose name (or an alias) is near ``name``, most similar first."""
    ranked = [r for r in _ranked(session, kind, name) if r[0] >= threshold][: max(0, min(limit, CANDIDATES))]
    return _describe(session, kind, ranked)


def suggest_names(session: Session, kind: Kind, typed: str, limit: int = 10) -> list[NameMatch]:
    """As-you-type suggestions: names with every typed word (the last one as a prefix; the shortest fifty
    of them, most similar first), then near names."""
    key = name_key(clean_name(typed[:MAX_TYPED]))
    typed_words = _WORD.findall(key)[:20]
    if not typed_words:
        return []
    limit = max(1, min(limit, 20))
    match = " AND ".join(_quoted(w, prefix=i == len(typed_words) - 1) for i, w in enumerate(typed_words))
    found = rows(
        session,
        f"""SELECT e.entity_id, e.name, e.is_alias FROM entity_names_fts f JOIN entity_names e ON e.id = f.rowid
        WHERE entity_names_fts MATCH :match AND e.kind = :kind ORDER BY length(e.name), f.rank LIMIT {CANDIDATES}""",
        {"match": match, "kind": kind},
    )
    # (has every typed word, similarity, name, alias) per entity: names with every word come first.
    best: dict[int, tuple[bool, float, str, str | None]] = {}
    for r in found:
        score = similarity(key, name_key(r["name"]))
        if r["entity_id"] not in best or score > best[r["entity_id"]][1]:
            best[r["entity_id"]] = (True, score, r["name"], r["name"] if r["is_alias"] else None)
    for score, entity_id, stored, alias in _ranked(session, kind, typed):
        if score >= NEAR and entity_id not in best:
            best[entity_id] = (False, score, stored, alias)
    ordered = sorted(best.items(), key=lambda item: (not item[1][0], -item[1][1], item[1][2].casefold(), item[0]))
    ranked = [(score, entity_id, stored, alias) for entity_id, (_all, score, stored, alias) in ordered[:limit]]
    return _describe(session, kind, ranked)


def _describe(session: Session, kind: Kind, ranked: list[tuple[float, int, str, str | None]]) -> list[NameMatch]:
    """Typed matches with each entity's own name and details (one query), in the order given."""
    if not ranked:
        return []
    ids = ids_param([entity_id for _s, entity_id, _n, _a in ranked])
    details: dict[int, Any]
    if kind == "speaker":
        sql = f"""SELECT s.id, s.name, s.kind, a.name AS affiliation FROM speakers s
            LEFT JOIN speakers a ON a.id = s.affiliation_id WHERE s.id IN ({ids})"""
    elif kind == "source":
        sql = f"SELECT id, title, outlet, url, published_on FROM sources WHERE id IN ({ids})"
    else:
        sql = f"SELECT id, name, starts_on, ends_on FROM events WHERE id IN ({ids})"
    details = {r["id"]: r for r in rows(session, sql)}
    result: list[NameMatch] = []
    for score, entity_id, _stored, alias in ranked:
        d = details.get(entity_id)
        if d is None:  # an alias whose entity is gone
            continue
        if kind == "speaker":
            result.append(SpeakerMatch(kind, entity_id, d["name"], score, alias, d["kind"], d["affiliation"]))
        elif kind == "source":
            name = d["title"] or d["outlet"] or d["url"] or ""
            result.append(
                SourceMatch(kind, entity_id, name, score, alias, d["title"], d["outlet"], d["url"], d["published_on"])
            )
        else:
            result.append(EventMatch(kind, entity_id, d["name"], score, alias, d["starts_on"], d["ends_on"]))
    return result


@dataclass(frozen=True)
class NameGuard:
    """Which new names a form has confirmed are new ("It is a different speaker"), despite near ones."""

    confirm_new_speaker: bool = False
    confirm_new_source: bool = False
    confirm_new_event: bool = False

    def confirmed(self, kind: Kind) -> bool:
        return bool(getattr(self, f"confirm_new_{kind}"))


def near_candidates(session: Session, kind: Kind, name: str | None, guard: NameGuard | None) -> list[NameMatch]:
    """The near entities to offer before ``name`` makes a new one: none without a guard, when the guard
    confirms the name is new, or when nothing is near. The caller has found no exact match: speakers and
    events by key (``exact_id``), sources by URL (a source with the same title but another URL is offered)."""
    if guard is None or not name or guard.confirmed(kind):
        return []
    return similar_names(session, kind, name)


def refuse_new(
    session: Session, kind: Kind, existing: Any, name: str | None, guard: NameGuard | None, taken: tuple[str, str]
) -> None:
    """Refuse a new speaker, source or event that is already recorded (``taken``: message, field), or whose
    ``name`` is near recorded ones that ``guard`` has not confirmed as different (NearNames)."""
    if existing is not None:
        raise Conflict(*taken)
    near = near_candidates(session, kind, name, guard)
    if near:
        raise NearNames({kind: near})

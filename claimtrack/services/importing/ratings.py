"""The editable table that maps a published rating text to a verdict (see ratings.toml)."""

from __future__ import annotations

import functools
import tomllib
import unicodedata
from dataclasses import dataclass
from pathlib import Path

from claimtrack.models import Verdict
from claimtrack.services.importing.records import FormatError

DEFAULT_RATINGS = Path(__file__).with_name("ratings.toml")


def rating_key(text: str) -> str:
    return " ".join(unicodedata.normalize("NFC", text).casefold().split())


@dataclass(frozen=True)
class RatingTable:
    exact: dict[str, str]
    contains: list[tuple[str, str]]

    def verdict(self, rating: str | None) -> str | None:
        if not rating:
            return None
        key = rating_key(rating)
        if key in self.exact:
            return self.exact[key]
        return next((verdict for phrase, verdict in self.contains if phrase in key), None)


def load_ratings(path: Path | None = None) -> RatingTable:
    path = path or DEFAULT_RATINGS
    # Every claim page with a verdict needs the table (its ClaimReview): parse the file again only when it
    # changed, not on every request.
    stat = path.stat()
    return _load_ratings(path, stat.st_mtime_ns, stat.st_size)


@functools.lru_cache(maxsize=8)
def _load_ratings(path: Path, _mtime_ns: int, _size: int) -> RatingTable:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise FormatError(f"{path.name}: not a valid rating table ({exc})") from None
    allowed = {v.value for v in Verdict}
    exact: dict[str, str] = {}
    contains: list[tuple[str, str]] = []
    for section, target in (("ratings", None), ("contains", contains)):
        table = data.get(section, {})
        if not isinstance(table, dict):
            raise FormatError(f'{path.name}: [{section}] must be a table of "rating" = "verdict" lines')
        for rating, verdict in table.items():
            if verdict not in allowed:
                raise FormatError(
                    f"{path.name}: {rating!r} maps to {verdict!r}, not one of {', '.join(sorted(allowed))}"
                )
            if target is None:
                exact[rating_key(rating)] = verdict
            else:
                target.append((rating_key(rating), verdict))
    return RatingTable(exact, contains)

"""Datasette's CSV export of the claims table with ``_labels=on`` (``/data/claimtrack/claims.csv?_labels=on``).

Export -> import into an empty database gives the same claims, speakers, events and verdicts. The speaker
and event are matched by their labels (names). Datasette writes a ``'`` before a text cell that a spreadsheet
would run as a formula (see "Limits and safety of the open data"); that quote is removed again here.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from pathlib import Path

from claimtrack.services.importing.records import FormatError, Record, Rejected, blank

REQUIRED = {"text", "speaker_id_label"}
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _header(head: str) -> list[str]:
    return next(csv.reader(io.StringIO(head.lstrip("\ufeff").splitlines()[0] if head else "")), [])


def looks_like(path: Path, head: str) -> bool:
    return set(_header(head)) >= REQUIRED


def unprotect(value: str) -> str:
    """Undo the spreadsheet guard: "'=1+1" was written for the text "=1+1"."""
    if len(value) > 1 and value[0] == "'" and value[1] in _FORMULA_START:
        return value[1:]
    return value


def _flag(value: str | None) -> bool:
    return (value or "").strip().lower() in ("1", "true", "yes")


def read(path: Path) -> Iterator[Record | Rejected]:
    with open(path, encoding="utf-8-sig", newline="") as fh:
        reader = csv.DictReader(fh)
        missing = REQUIRED - set(reader.fieldnames or [])
        if missing:
            raise FormatError(
                f"{path.name} is not a CSV export of claims with labels: missing column(s) {', '.join(sorted(missing))} "
                "(export /data/claimtrack/claims.csv?_labels=on&_stream=on&_size=max)"
            )
        for row in reader:
            number = reader.line_num  # the physical line the row ended on (1 is the header)
            if None in row:
                yield Rejected(number, "more cells than the header has columns")
                continue
            cells = {k: blank(unprotect(v)) if isinstance(v, str) else None for k, v in row.items()}
            yield Record(
                number=number,
                text=unprotect(row.get("text") or "") or None,
                speaker=cells.get("speaker_id_label"),
                speaker_kind=cells.get("speaker_kind"),
                event=cells.get("event_id_label"),
                stated_on=cells.get("stated_on"),
                stated_time=cells.get("stated_time"),
                verbatim=_flag(cells.get("verbatim")),
                context=cells.get("context"),
                verdict=cells.get("verdict"),
                verdict_rationale=cells.get("verdict_rationale"),
                language=cells.get("language"),
                translation=cells.get("translation"),
                translated_by=cells.get("translated_by"),
                external_source=cells.get("external_source"),
                external_id=cells.get("external_id"),
                rating_text=cells.get("rating_text"),
                review_url=cells.get("review_url"),
                review_author=cells.get("review_author"),
                review_date=cells.get("review_date"),
                retracted=_flag(cells.get("retracted")),
                retracted_at=cells.get("retracted_at"),
                retracted_reason=cells.get("retracted_reason"),
            )

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
from typing import Any

from claimtrack.models import CLAIM_VALUE_FIELDS
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


# The export's columns that carry a Record field under the field's own name, taken as they are.
_SAME_NAME = (
    "speaker_kind",
    *CLAIM_VALUE_FIELDS,
    "external_source",
    "external_id",
    "rating_text",
    "review_url",
    "review_author",
    "review_date",
    "retracted_at",
    "retracted_reason",
)


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
            same_name: dict[str, Any] = {name: cells.get(name) for name in _SAME_NAME}
            yield Record(
                number=number,
                text=unprotect(row.get("text") or "") or None,
                speaker=cells.get("speaker_id_label"),
                event=cells.get("event_id_label"),
                verbatim=_flag(cells.get("verbatim")),
                retracted=_flag(cells.get("retracted")),
                **same_name,
            )

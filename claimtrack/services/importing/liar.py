"""The LIAR benchmark (Wang 2017): tab-separated, no header, 14 columns (see its README)."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from pathlib import Path

from claimtrack.services.importing.records import FormatError, Record, Rejected, blank, humanize_slug

LABELS = {"true", "mostly-true", "half-true", "barely-true", "false", "pants-fire"}
COLUMNS = 14
SOURCE = "liar"


def looks_like(path: Path, head: str) -> bool:
    first = head.splitlines()[0] if head else ""
    fields = first.split("\t")
    return len(fields) == COLUMNS and fields[1].strip() in LABELS


def read(path: Path) -> Iterator[Record | Rejected]:
    with open(path, encoding="utf-8-sig", newline="") as fh:
        # QUOTE_NONE: statements contain double quotes that are not CSV quoting.
        rows = csv.reader(fh, delimiter="\t", quoting=csv.QUOTE_NONE)
        good = seen = 0
        for number, row in enumerate(rows, start=1):
            if not any(cell.strip() for cell in row):
                continue
            seen += 1
            if len(row) != COLUMNS:
                if good == 0 and number >= 5:
                    raise FormatError(
                        f"{path.name} is not a LIAR file: lines have {len(row)} tab-separated columns, not {COLUMNS}"
                    )
                yield Rejected(number, f"{len(row)} tab-separated columns instead of {COLUMNS}")
                continue
            (statement_id, label, statement, subjects, speaker, job, state, party, *_counts, context) = row
            if label.strip() not in LABELS:
                if good == 0 and number >= 5:
                    raise FormatError(f"{path.name} is not a LIAR file: {label!r} is not a LIAR label")
                yield Rejected(number, f"unknown label {label!r} (expected one of {', '.join(sorted(LABELS))})")
                continue
            if not blank(statement_id):
                yield Rejected(number, "no statement id")
                continue
            good += 1
            party_ = blank(party)
            yield Record(
                number=number,
                text=statement,
                speaker=humanize_slug(speaker.strip()) if blank(speaker) else None,
                # LIAR's "party" says "organization" for organisations; everyone else is a person.
                speaker_kind="organisation" if party_ == "organization" else "person",
                job_title=blank(job),
                party=party_,
                region=blank(state),
                context=blank(context),
                rating_text=label.strip(),
                review_author="PolitiFact",
                external_source=SOURCE,
                external_id=statement_id.strip(),
                tags=[t.strip() for t in subjects.split(",") if t.strip()],
            )
        if good == 0 and seen > 0:
            raise FormatError(
                f"{path.name} is not a LIAR file: no line has its {COLUMNS} tab-separated columns and a LIAR label"
            )

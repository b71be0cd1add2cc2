"""Bulk import of claims from the formats of the field; one module per format.

``import_file(engine, path)`` guesses the format from the file when none is given, reads every record,
validates each one like a form would, and writes the good ones in batches (see writer.py). Rating texts
become verdicts through ratings.toml (or ``ratings=`` another table); the text itself is kept verbatim.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from types import ModuleType

from sqlalchemy import Engine

from claimtrack.models import check_language, default_language
from claimtrack.services.importing import claimreview, claimskg, datasette_csv, factcheck_api, liar
from claimtrack.services.importing.ratings import DEFAULT_RATINGS, RatingTable, load_ratings
from claimtrack.services.importing.records import FormatError, Record, Rejected
from claimtrack.services.importing.writer import ImportReport, Prepared, Writer, prepare

__all__ = [
    "DEFAULT_RATINGS",
    "FORMATS",
    "FormatError",
    "ImportReport",
    "RatingTable",
    "guess_format",
    "import_file",
    "load_ratings",
    "read_records",
]

# Tried in this order when guessing: the more specific shapes first.
FORMATS: dict[str, ModuleType] = {
    "factcheck-api": factcheck_api,
    "claimreview": claimreview,
    "claimskg": claimskg,
    "csv": datasette_csv,
    "liar": liar,
}


def _head(path: Path) -> str:
    try:
        with open(path, encoding="utf-8-sig") as fh:
            return fh.read(64 * 1024)
    except UnicodeDecodeError:
        raise FormatError(f"{path.name} is not UTF-8 text") from None


def guess_format(path: Path) -> str:
    head = _head(path)
    for name, module in FORMATS.items():
        if module.looks_like(path, head):
            return name
    raise FormatError(f"cannot tell the format of {path.name}: give --format ({', '.join(FORMATS)})")


def read_records(path: Path, fmt: str) -> list[Record | Rejected]:
    if fmt not in FORMATS:
        raise FormatError(f"unknown format {fmt!r}: use one of {', '.join(FORMATS)}")
    _head(path)  # a binary file is a clear error, not a decoding traceback halfway through
    try:
        return list(FORMATS[fmt].read(path))
    except UnicodeDecodeError:
        raise FormatError(f"{path.name} is not UTF-8 text") from None


def import_file(
    engine: Engine,
    path: Path,
    fmt: str | None = None,
    *,
    event: str | None = None,
    dry_run: bool = False,
    actor: str | None = None,
    ratings: RatingTable | None = None,
    language: str | None = None,
    progress: Callable[[int], None] | None = None,
    on_total: Callable[[int], None] | None = None,
) -> ImportReport:
    """Import ``path``; the history names ``actor`` (default ``import:<file name>``) for every row created."""
    path = Path(path)
    fmt = fmt or guess_format(path)
    ratings = ratings or load_ratings()
    fallback = check_language(language) if language else default_language()
    report = ImportReport(dry_run=dry_run)
    prepared: list[Prepared] = []
    for item in read_records(path, fmt):
        result = item if isinstance(item, Rejected) else prepare(item, ratings, fallback, event, report)
        if isinstance(result, Rejected):
            report.rejected.append(result)
        else:
            prepared.append(result)
    if on_total:
        on_total(len(prepared))
    Writer(engine, actor or f"import:{path.name}", report).run(prepared, dry_run, progress)
    report.rejected.sort(key=lambda r: r.number)
    return report

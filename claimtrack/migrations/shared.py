"""SQL pieces and steps that several revisions use. Each revision still emits exactly the SQL it did.

``ARABIC_MARKS`` are removed from statements before they are indexed (migrations 0007 and 0011) and from
typed words before they are searched (``claimtrack.services.search``): one list, so both sides agree.
"""

from __future__ import annotations

from collections.abc import Iterable

from alembic import op

# Arabic short vowels, shadda, sukun (U+064B-U+0652), the superscript alef and the tatweel.
ARABIC_MARKS = [chr(c) for c in range(0x064B, 0x0653)] + ["\u0670", "\u0640"]


def strip_marks(expr: str) -> str:
    """SQL for ``expr`` without the Arabic marks."""
    for mark in ARABIC_MARKS:
        expr = f"replace({expr}, '{mark}', '')"
    return expr


def execute_all(statements: Iterable[str]) -> None:
    for statement in statements:
        op.execute(statement)


def drop_triggers(names: Iterable[str]) -> None:
    for name in names:
        op.execute(f"DROP TRIGGER IF EXISTS {name}")

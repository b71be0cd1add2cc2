"""Everything that concerns a statement, in one history: its own changes, its links' and its speaker's.

A reader of a claim page should see when a link to it was made, edited or retracted, and when its speaker
was renamed or merged, without visiting each record. The rows come from ``change_history`` as the edit
history records them, in a fixed number of queries however many links the claim has; ids of other records
are shown with their names, as ``history_for`` shows them.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from claimtrack.services.history import _REFERENCES

# Speaker changes a statement's reader needs (who said it): renames and merges, not every detail.
SPEAKER_FIELDS = ("name", "merged_into")

_SQL = """SELECT id, changed_at, username, action, field, old_value, new_value, entity, entity_id
FROM change_history
WHERE (entity = 'claim' AND entity_id = :id)
   OR (entity = 'link' AND entity_id IN (SELECT id FROM claim_links WHERE from_claim_id = :id
                                         UNION SELECT id FROM claim_links WHERE to_claim_id = :id))
   OR (entity = 'speaker' AND action <> 'create' AND field IN ('name', 'merged_into') AND entity_id IN (
        SELECT speaker_id FROM claims WHERE id = :id
        UNION SELECT CAST(new_value AS INTEGER) FROM change_history
              WHERE entity = 'claim' AND entity_id = :id AND field = 'speaker_id'))
ORDER BY id DESC LIMIT :limit"""


def statement_history(session: Session, claim_id: int, limit: int = 500) -> list[dict[str, Any]]:
    """The claim's changes, its links' changes and its speakers' renames and merges, newest first.

    A link's row carries ``link_id``, a speaker's ``speaker_id``, so the page can say what changed."""
    conn = session.connection()
    found = [dict(r) for r in conn.execute(text(_SQL), {"id": claim_id, "limit": limit}).mappings()]
    for row in found:
        if row["entity"] == "link":
            row["link_id"] = row["entity_id"]
        elif row["entity"] == "speaker":
            row["speaker_id"] = row["entity_id"]
    _name_references(session, found)
    return found


def _name_references(session: Session, found: list[dict[str, Any]]) -> None:
    """Show ids of other records with their names ("16 (ICRC)"): one query per referenced table."""
    wanted: dict[str, set[int]] = {}
    for row in found:
        if row["field"] in _REFERENCES:
            table = _REFERENCES[row["field"]][0]
            for value in (row["old_value"], row["new_value"]):
                if value and value.isascii() and value.isdigit():
                    wanted.setdefault(table, set()).add(int(value))
    names: dict[tuple[str, str], str] = {}
    # Always the same tables, queried even when empty, so the page's query count does not depend on data.
    for table in ("speakers", "events", "sources", "claims"):
        column = next(col for tbl, col in _REFERENCES.values() if tbl == table)
        id_list = ",".join(str(i) for i in sorted(wanted.get(table, ()))) or "NULL"
        for ref_id, name in session.connection().execute(
            text(f"SELECT id, {column} FROM {table} WHERE id IN ({id_list})")
        ):
            names[(table, str(ref_id))] = name
    for row in found:
        if row["field"] in _REFERENCES:
            table = _REFERENCES[row["field"]][0]
            for key in ("old_value", "new_value"):
                name = names.get((table, row[key] or ""))
                if name:
                    short = name if len(name) <= 80 else name[:77] + "…"
                    row[key] = f"{row[key]} ({short})"

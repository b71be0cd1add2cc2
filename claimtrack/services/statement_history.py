"""Everything that concerns a statement, in one history: its own changes, its links' and its speaker's.

A reader of a claim page should see when a link to it was made, edited or retracted, and when its speaker
was renamed or merged, without visiting each record. The rows come from ``change_history`` as the edit
history records them, in a fixed number of queries however many links the claim has; ids of other records
are shown with their names, as ``history_for`` shows them (``name_references``).
"""

from __future__ import annotations

from typing import Any

from claimtrack.services.common import Reads, rows
from claimtrack.services.history import name_references

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


def statement_history(session: Reads, claim_id: int, limit: int = 500) -> list[dict[str, Any]]:
    """The claim's changes, its links' changes and its speakers' renames and merges, newest first.

    A link's row carries ``link_id``, a speaker's ``speaker_id``, so the page can say what changed."""
    found = rows(session, _SQL, {"id": claim_id, "limit": limit})
    merges = []
    for row in found:
        if row["entity"] == "link":
            row["link_id"] = row["entity_id"]
        elif row["entity"] == "speaker":
            row["speaker_id"] = row["entity_id"]
            if row["field"] == "merged_into":
                merges.append(row)
    name_references(session, found)
    _name_merges(session, merges)
    return found


def _name_merges(session: Reads, merges: list[dict[str, Any]]) -> None:
    """A speaker's merge reads "speaker merged: <its name then> → <the kept speaker's name>"."""
    if not merges:
        return
    ids = ",".join(sorted({str(int(row["new_value"])) for row in merges if (row["new_value"] or "").isdigit()}))
    # The kept speaker by its name now; if it was itself merged later, by its name then.
    names: dict[str, str] = {}
    for row in rows(
        session,
        f"""SELECT old_id AS id, name FROM merged_entities WHERE kind = 'speaker' AND old_id IN ({ids or "NULL"})
            UNION ALL SELECT id, name FROM speakers WHERE id IN ({ids or "NULL"})""",
    ):
        names[str(row["id"])] = row["name"]
    for row in merges:
        row["field"] = "speaker merged"
        row["new_value"] = names.get(row["new_value"] or "", row["new_value"])

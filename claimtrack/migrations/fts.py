"""SQL for external-content FTS5 indexes kept in sync by triggers.

The statements have the same shape sqlite-utils' ``enable_fts(create_triggers=True)`` writes, so
Datasette detects the index (``content=[table]``) and offers ``?_search=`` on the table.
"""

from __future__ import annotations


def create_fts_sql(table: str, columns: list[str]) -> list[str]:
    fts = f"{table}_fts"
    cols = ", ".join(f"[{c}]" for c in columns)
    new_vals = ", ".join(f"new.[{c}]" for c in columns)
    old_vals = ", ".join(f"old.[{c}]" for c in columns)
    return [
        f"CREATE VIRTUAL TABLE [{fts}] USING FTS5 ({cols}, content=[{table}])",
        f"INSERT INTO [{fts}] (rowid, {cols}) SELECT rowid, {cols} FROM [{table}]",
        f"""CREATE TRIGGER [{table}_ai] AFTER INSERT ON [{table}] BEGIN
  INSERT INTO [{fts}] (rowid, {cols}) VALUES (new.rowid, {new_vals});
END""",
        f"""CREATE TRIGGER [{table}_ad] AFTER DELETE ON [{table}] BEGIN
  INSERT INTO [{fts}] ([{fts}], rowid, {cols}) VALUES('delete', old.rowid, {old_vals});
END""",
        f"""CREATE TRIGGER [{table}_au] AFTER UPDATE ON [{table}] BEGIN
  INSERT INTO [{fts}] ([{fts}], rowid, {cols}) VALUES('delete', old.rowid, {old_vals});
  INSERT INTO [{fts}] (rowid, {cols}) VALUES (new.rowid, {new_vals});
END""",
    ]


def drop_fts_sql(table: str) -> list[str]:
    return [
        f"DROP TRIGGER IF EXISTS [{table}_ai]",
        f"DROP TRIGGER IF EXISTS [{table}_ad]",
        f"DROP TRIGGER IF EXISTS [{table}_au]",
        f"DROP TABLE IF EXISTS [{table}_fts]",
    ]

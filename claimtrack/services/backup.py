"""Consistent copies of a live database, and bringing one back.

A plain file copy of a WAL database can be corrupt (pages still in the -wal file); ``VACUUM INTO``
writes a consistent, compact snapshot while the service keeps running. Restore uses SQLite's backup
API, page by page under a lock, so readers and writers of the live file see either the old or the
restored database, never a mix.
"""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

from claimtrack.db import PRIVATE_MODE, configure_connection
from claimtrack.schema import CLAIMS_MIGRATIONS, database_kind, known_revisions
from claimtrack.services.errors import ClaimtrackError


class BackupError(ClaimtrackError):
    pass


def backup_database(source: Path, target: Path, overwrite: bool = False) -> None:
    if not Path(source).exists():
        raise BackupError(f"database {source} does not exist")
    target = Path(target)
    if target.exists():
        if not overwrite:
            raise BackupError(f"{target} already exists (use --force to replace it)")
        target.unlink()
    target.parent.mkdir(parents=True, exist_ok=True)
    # A backup holds everything (the accounts' password hashes too): create it readable by its owner
    # only. VACUUM INTO accepts an existing empty file and keeps its mode.
    try:
        os.close(os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE_MODE))
    except FileExistsError:
        raise BackupError(f"{target} already exists (use --force to replace it)") from None
    except OSError as exc:
        raise BackupError(f"cannot create {target}: {exc.strerror}") from None
    os.chmod(target, PRIVATE_MODE)  # whatever the umask
    conn = sqlite3.connect(source, isolation_level=None)
    try:
        configure_connection(conn)
        conn.execute("VACUUM INTO ?", (str(target),))
    except sqlite3.Error as exc:
        target.unlink(missing_ok=True)  # no half-written backup left behind to be mistaken for a good one
        raise BackupError(f"backup of {source} failed: {exc}") from None
    finally:
        conn.close()


def check_backup(path: Path, script_location: str = CLAIMS_MIGRATIONS) -> None:
    """Refuse to restore anything that is not a healthy copy of the database whose migrations are at
    ``script_location``: the claims and the accounts copies both carry an Alembic version, so that alone
    would let one replace the other."""
    path = Path(path)
    what = database_kind(script_location)
    if not path.is_file():
        raise BackupError(f"backup file {path} does not exist")
    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            result = conn.execute("PRAGMA integrity_check").fetchone()[0]
            version = conn.execute("SELECT version_num FROM alembic_version").fetchone()
        finally:
            conn.close()
    except sqlite3.Error as exc:
        raise BackupError(f"{path} is not a claimtrack database: {exc}") from None
    if result != "ok":
        raise BackupError(f"{path} failed its integrity check: {result}")
    if version is None or version[0] not in known_revisions(script_location):
        found = "no schema version" if version is None else f"schema version {version[0]!r}"
        raise BackupError(
            f"{path} is not a copy of the {what} database ({found} is not one of its versions): "
            "`claimtrack backup CLAIMS --accounts ACCOUNTS` writes the claims copy first, the accounts copy second; "
            "give them to restore in the same places"
        )


def restore_database(backup: Path, target: Path, script_location: str = CLAIMS_MIGRATIONS) -> None:
    """Replace the contents of ``target`` (live or not) with the backup of the database whose migrations
    are at ``script_location``."""
    check_backup(backup, script_location)
    Path(target).parent.mkdir(parents=True, exist_ok=True)
    src = sqlite3.connect(f"file:{backup}?mode=ro", uri=True)
    dest = sqlite3.connect(target, isolation_level=None)
    try:
        configure_connection(dest)
        src.backup(dest)
    except sqlite3.Error as exc:
        raise BackupError(f"restore into {target} failed: {exc}") from None
    finally:
        src.close()
        dest.close()

"""Accounts of the people who may change data: editors and admins.

They live in their own SQLite file (``CLAIMTRACK_AUTH_DB``), which Datasette never opens, so no hash or
session detail can be reached from /data/ by any URL or SQL.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from enum import Enum

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import text
from sqlmodel import Session

from claimtrack.models import utc_now
from claimtrack.services.errors import Conflict, InvalidInput, NotFound

MIN_PASSWORD = 12
MAX_PASSWORD = 1024
# Failed logins: at most this many per account and address, or per address, within the window.
FAILURES_PER_ACCOUNT = 5
FAILURES_PER_ADDRESS = 30
FAILURE_WINDOW_S = 15 * 60

_hasher = PasswordHasher()  # argon2id with the library's current recommended parameters
_DUMMY_HASH = _hasher.hash("not-a-real-password-just-for-timing")


class Role(str, Enum):
    editor = "editor"
    admin = "admin"


class TooManyFailures(Exception):
    """Login refused without checking the password: too many recent failures."""


@dataclass(frozen=True)
class Account:
    id: int
    username: str
    role: str
    disabled: bool
    session_version: int
    created_at: str

    @property
    def is_admin(self) -> bool:
        return self.role == Role.admin.value


_COLUMNS = "id, username, role, disabled, session_version, created_at"


def _row_to_account(row: object) -> Account:
    m = row._mapping  # type: ignore[attr-defined]
    return Account(m["id"], m["username"], m["role"], bool(m["disabled"]), m["session_version"], m["created_at"])


def check_password_rules(password: str) -> None:
    if len(password) < MIN_PASSWORD:
        raise InvalidInput({"password": f"Use at least {MIN_PASSWORD} characters."})
    if len(password) > MAX_PASSWORD:
        raise InvalidInput({"password": f"Use at most {MAX_PASSWORD} characters."})


def check_username(username: str) -> str:
    username = username.strip()
    if not username or len(username) > 64 or any(c.isspace() or ord(c) < 32 for c in username):
        raise InvalidInput({"username": "Use 1 to 64 characters without spaces."})
    return username


def get_account(session: Session, account_id: int) -> Account | None:
    row = session.connection().execute(text(f"SELECT {_COLUMNS} FROM users WHERE id = :id"), {"id": account_id}).first()
    return _row_to_account(row) if row else None


def find_account(session: Session, username: str) -> Account | None:
    row = session.connection().execute(
        text(f"SELECT {_COLUMNS} FROM users WHERE username = :u"), {"u": username.strip()}
    ).first()
    return _row_to_account(row) if row else None


def list_accounts(session: Session) -> list[Account]:
    result = session.connection().execute(text(f"SELECT {_COLUMNS} FROM users ORDER BY username"))
    return [_row_to_account(r) for r in result]


def create_account(session: Session, username: str, password: str, role: str) -> Account:
    username = check_username(username)
    if role not in {r.value for r in Role}:
        raise InvalidInput({"role": "Choose editor or admin."})
    check_password_rules(password)
    if find_account(session, username) is not None:
        raise Conflict(f"There is already a user named {username!r}.", "username")
    now = utc_now()
    session.connection().execute(
        text("""INSERT INTO users (username, password_hash, role, created_at, updated_at)
            VALUES (:u, :h, :r, :now, :now)"""),
        {"u": username, "h": _hasher.hash(password), "r": role, "now": now},
    )
    account = find_account(session, username)
    assert account is not None
    return account


def _require(session: Session, username: str) -> Account:
    account = find_account(session, username)
    if account is None:
        raise NotFound("user", username)
    return account


def set_password(session: Session, username: str, password: str) -> Account:
    """Change a password; every existing session of that user ends (the session version moves on)."""
    account = _require(session, username)
    check_password_rules(password)
    session.connection().execute(
        text("""UPDATE users SET password_hash = :h, session_version = session_version + 1, updated_at = :now
            WHERE id = :id"""),
        {"h": _hasher.hash(password), "now": utc_now(), "id": account.id},
    )
    return _require(session, username)


def set_disabled(session: Session, username: str, disabled: bool = True) -> Account:
    account = _require(session, username)
    session.connection().execute(
        text("""UPDATE users SET disabled = :d, session_version = session_version + 1, updated_at = :now
            WHERE id = :id"""),
        {"d": int(disabled), "now": utc_now(), "id": account.id},
    )
    return _require(session, username)


def set_role(session: Session, username: str, role: str) -> Account:
    account = _require(session, username)
    if role not in {r.value for r in Role}:
        raise InvalidInput({"role": "Choose editor or admin."})
    session.connection().execute(
        text("UPDATE users SET role = :r, session_version = session_version + 1, updated_at = :now WHERE id = :id"),
        {"r": role, "now": utc_now(), "id": account.id},
    )
    return _require(session, username)


def end_sessions(session: Session, account_id: int) -> None:
    """Log out everywhere: cookies that carry the old session version stop working."""
    session.connection().execute(
        text("UPDATE users SET session_version = session_version + 1 WHERE id = :id"), {"id": account_id}
    )


def recent_failures(session: Session, username: str, address: str, now: float | None = None) -> tuple[int, int]:
    since = (now or time.time()) - FAILURE_WINDOW_S
    row = session.connection().execute(
        text("""SELECT
            (SELECT count(*) FROM login_failures WHERE username = :u AND address = :a AND failed_at > :since),
            (SELECT count(*) FROM login_failures WHERE address = :a AND failed_at > :since)"""),
        {"u": username, "a": address, "since": since},
    ).one()
    return int(row[0]), int(row[1])


def authenticate(session: Session, username: str, password: str, address: str) -> Account | None:
    """Check a login. Failures are recorded in the accounts database, so the limit holds across processes.

    Raises TooManyFailures while the account/address pair or the address is over its limit.
    """
    username = username.strip()[:64]
    per_account, per_address = recent_failures(session, username, address)
    if per_account >= FAILURES_PER_ACCOUNT or per_address >= FAILURES_PER_ADDRESS:
        raise TooManyFailures()
    row = session.connection().execute(
        text("SELECT id, password_hash, disabled FROM users WHERE username = :u"), {"u": username}
    ).first()
    ok = False
    try:
        # Verify against a dummy hash for unknown users too, so timing does not reveal which names exist.
        ok = _hasher.verify(row.password_hash if row else _DUMMY_HASH, password[:MAX_PASSWORD]) and row is not None
    except (VerificationError, InvalidHashError):
        ok = False
    if not ok or row is None or row.disabled:
        session.connection().execute(
            text("INSERT INTO login_failures (username, address, failed_at) VALUES (:u, :a, :t)"),
            {"u": username, "a": address, "t": time.time()},
        )
        # Old records are of no use: keep the table small.
        session.connection().execute(
            text("DELETE FROM login_failures WHERE failed_at < :old"), {"old": time.time() - 24 * 3600}
        )
        return None
    if _hasher.check_needs_rehash(row.password_hash):
        session.connection().execute(
            text("UPDATE users SET password_hash = :h WHERE id = :id"), {"h": _hasher.hash(password), "id": row.id}
        )
    return get_account(session, row.id)

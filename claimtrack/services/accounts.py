"""Accounts of the people who may change data: editors and admins.

They live in their own SQLite file (``CLAIMTRACK_AUTH_DB``), which Datasette never opens, so no hash or
session detail can be reached from /data/ by any URL or SQL.
"""

from __future__ import annotations

import ipaddress
import math
import threading
import time
import unicodedata
from dataclasses import dataclass
from enum import Enum

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import Connection, Engine, text
from sqlalchemy.exc import OperationalError
from sqlmodel import Session

from claimtrack.allocator import release_free_memory
from claimtrack.db import write_session
from claimtrack.models import utc_now
from claimtrack.services.errors import Conflict, InvalidInput, NotFound, StorageFull, WriterBusy

MIN_PASSWORD = 12
MAX_PASSWORD = 1024
# Failed logins: at most this many per account and address, or per address, within the window.
FAILURES_PER_ACCOUNT = 5
FAILURES_PER_ADDRESS = 30
FAILURE_WINDOW_S = 15 * 60
# Per account, from any address: after this many failures within ACCOUNT_WINDOW_S, each further attempt
# waits from the latest failure, the wait doubling with every failure up to a cap. The cap means an
# attacker can slow the owner down but never lock them out for good.
ACCOUNT_FAILURES_BEFORE_BACKOFF = 10
ACCOUNT_WINDOW_S = 24 * 3600  # also how long failure records are kept
BACKOFF_FIRST_DELAY_S = 30
BACKOFF_MAX_DELAY_S = 15 * 60
# The bucket for a client address that is not an IP address (see address_key).
UNKNOWN_ADDRESS = "not-an-ip-address"

# OWASP's argon2id settings of 19 MiB, 2 passes, 1 lane: as strong against guessing as its other listed
# settings, and each check holds 19 MiB for its moment instead of the library default's 64 MiB (which set
# the serving process's peak memory). Hashes made with other parameters still verify, and are rehashed with
# these at their next sign-in (check_needs_rehash).
ARGON2_TIME_COST = 2
ARGON2_MEMORY_KIB = 19 * 1024
ARGON2_LANES = 1
_hasher = PasswordHasher(time_cost=ARGON2_TIME_COST, memory_cost=ARGON2_MEMORY_KIB, parallelism=ARGON2_LANES)
# What unknown usernames are checked against, hashed at the first sign-in: hashed at import, its 64 MiB made
# the peak memory of every serving process 156 MB before it answered one request (97 MB in use).
_DUMMY_HASH: str | None = None
_dummy_lock = threading.Lock()
# A sign-in cannot reach the accounts database: locked, read-only or full (write_session names the last).
_STORE_UNAVAILABLE = (OperationalError, StorageFull, WriterBusy)
# One argon2 hash or check at a time per process: each holds its memory (19 MiB, 64 MiB for a hash still
# on the old parameters) until it ends, so this bounds what sign-ins add to the process's peak memory. A
# check takes about 0.04 s of CPU: a burst of sign-ins queues for as long as it would share the cores anyway.
_hashing = threading.BoundedSemaphore(1)


class Role(str, Enum):
    editor = "editor"
    admin = "admin"


class TooManyFailures(Exception):
    """Login refused without checking the password: too many recent failures.

    ``per_account`` tells an account's backoff from the per-address limits; ``retry_after`` is in seconds.
    """

    def __init__(self, retry_after: int, per_account: bool) -> None:
        super().__init__(f"too many failed sign-ins; retry after {retry_after} s")
        self.retry_after = retry_after
        self.per_account = per_account


class LoginUnavailable(Exception):
    """Login refused without checking the password: failed sign-ins cannot be recorded right now."""

    retry_after = 60


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


def typed_username(username: str) -> str:
    """A user name as stored: trimmed, in NFC (an accent typed as letter + accent is the same name)."""
    return unicodedata.normalize("NFC", username.strip())


def check_username(username: str) -> str:
    username = typed_username(username)
    # Controls, format characters (bidi overrides, zero-width), private-use and unassigned code points: a name
    # holding them shows in every history's "who" as another name than the one stored.
    hidden = any(c.isspace() or unicodedata.category(c) in ("Cc", "Cf", "Co", "Cs", "Cn") for c in username)
    if not username or len(username) > 64 or hidden:
        raise InvalidInput({"username": "Use 1 to 64 visible characters without spaces."})
    return username


def get_account(session: Session, account_id: int) -> Account | None:
    row = session.connection().execute(text(f"SELECT {_COLUMNS} FROM users WHERE id = :id"), {"id": account_id}).first()
    return _row_to_account(row) if row else None


def account_by_id(conn: Connection, account_id: int) -> Account | None:
    """get_account on a bare connection, the statement passed to SQLite as it is: the lookup every signed-in
    request makes (see db.single_read)."""
    row = conn.exec_driver_sql(f"SELECT {_COLUMNS} FROM users WHERE id = ?", (account_id,)).first()
    return _row_to_account(row) if row else None


def find_account(session: Session, username: str) -> Account | None:
    row = (
        session.connection()
        .execute(text(f"SELECT {_COLUMNS} FROM users WHERE username = :u"), {"u": typed_username(username)})
        .first()
    )
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
        {"u": username, "h": _hash(password), "r": role, "now": now},
    )
    account = find_account(session, username)
    assert account is not None
    return account


def _require(session: Session, username: str) -> Account:
    account = find_account(session, username)
    if account is None:
        raise NotFound("user", username, message=f"No user named {username!r} (claimtrack user list shows them).")
    return account


def set_password(session: Session, username: str, password: str) -> Account:
    """Change a password; every existing session of that user ends (the session version moves on)."""
    account = _require(session, username)
    check_password_rules(password)
    session.connection().execute(
        text("""UPDATE users SET password_hash = :h, session_version = session_version + 1, updated_at = :now
            WHERE id = :id"""),
        {"h": _hash(password), "now": utc_now(), "id": account.id},
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


def address_key(remote: str | None) -> str:
    """The key failed sign-ins are counted under for a client address.

    IPv6 clients are keyed by their /64 prefix: one end site usually holds a whole /64, so an attacker
    could otherwise take a fresh address for every guess. Anything that is not a single IP address (a
    forwarded header filled with junk or a list) goes into one shared bucket, so inventing values never
    buys a fresh limit.
    """
    if not remote or len(remote) > 64:
        return UNKNOWN_ADDRESS
    try:
        ip = ipaddress.ip_address(remote)
    except ValueError:
        return UNKNOWN_ADDRESS
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:  # an IPv4 client seen through an IPv6 socket
            return str(ip.ipv4_mapped)
        return str(ipaddress.IPv6Network((int(ip) >> 64 << 64, 64)))  # the scope (%eth0) goes too
    return str(ip)


def backoff_delay(account_failures: int) -> float:
    """Seconds an account refuses sign-ins after its latest failure, given its failures in the last day."""
    if account_failures < ACCOUNT_FAILURES_BEFORE_BACKOFF:
        return 0.0
    doublings = min(account_failures - ACCOUNT_FAILURES_BEFORE_BACKOFF, 16)  # 2**16 * 30 s is far past the cap
    return float(min(BACKOFF_FIRST_DELAY_S * 2**doublings, BACKOFF_MAX_DELAY_S))


def check_limits(session: Session, username: str, address: str, now: float) -> None:
    """Raise TooManyFailures if a sign-in for ``username`` from ``address`` (an address_key) must be refused."""
    row = (
        session.connection()
        .execute(
            text("""SELECT
            (SELECT count(*) FROM login_failures WHERE username = :u AND address = :a AND failed_at > :since),
            (SELECT count(*) FROM login_failures WHERE address = :a AND failed_at > :since),
            (SELECT count(*) FROM login_failures WHERE username = :u AND failed_at > :day),
            (SELECT max(failed_at) FROM login_failures WHERE username = :u AND failed_at > :day)"""),
            {"u": username, "a": address, "since": now - FAILURE_WINDOW_S, "day": now - ACCOUNT_WINDOW_S},
        )
        .one()
    )
    per_pair, per_address, per_account, latest = int(row[0]), int(row[1]), int(row[2]), row[3]
    if per_pair >= FAILURES_PER_ACCOUNT or per_address >= FAILURES_PER_ADDRESS:
        raise TooManyFailures(FAILURE_WINDOW_S, per_account=False)
    wait = backoff_delay(per_account)
    if wait and latest is not None and latest + wait > now:
        raise TooManyFailures(math.ceil(latest + wait - now), per_account=True)


def _hash(password: str) -> str:
    with _hashing:
        release_free_memory()  # see _verify
        return _hasher.hash(password)


def _dummy_hash() -> str:
    global _DUMMY_HASH
    with _dummy_lock:
        if _DUMMY_HASH is None:
            _DUMMY_HASH = _hash("not-a-real-password-just-for-timing")
        return _DUMMY_HASH


def _verify(password_hash: str, password: str) -> bool:
    try:
        with _hashing:
            # A check sets the process's peak memory: what it has resident plus the check's 19 MiB. Freed heap
            # pages still resident go back first (under a millisecond), so the peak counts only memory in use.
            release_free_memory()
            return bool(_hasher.verify(password_hash, password))
    except (VerificationError, InvalidHashError):
        return False


def authenticate(engine: Engine, username: str, password: str, address: str | None) -> Account | None:
    """Check a login. Failures are recorded in the accounts database, so the limits hold across processes.

    The password hash is checked outside any write transaction: argon2 takes a good fraction of a second,
    and holding the accounts database's write lock that long made every other sign-in queue behind it.
    The attempt is written first, as a failure, and removed once the password proves right: guesses made
    at the same moment cannot overshoot the limits, and nothing is checked unless it could be recorded.

    Raises TooManyFailures while the account, the account/address pair or the address is over its limit,
    and LoginUnavailable while failures cannot be recorded (the accounts database is full, read-only or
    locked past the busy timeout): refusing is safer than unlimited guessing.
    """
    username = typed_username(username)[:64]
    key = address_key(address)
    # Before the lookup, whoever signs in: the first sign-in of a process pays for it, known name or not.
    dummy = _dummy_hash()
    now = time.time()
    try:
        with write_session(engine) as session:
            check_limits(session, username, key, now)
            attempt = (
                session.connection()
                .execute(
                    text("INSERT INTO login_failures (username, address, failed_at) VALUES (:u, :a, :t)"),
                    {"u": username, "a": key, "t": now},
                )
                .lastrowid
            )
            # Old records are of no use: keep the table small.
            session.connection().execute(
                text("DELETE FROM login_failures WHERE failed_at < :old"), {"old": now - ACCOUNT_WINDOW_S}
            )
            row = (
                session.connection()
                .execute(
                    text("SELECT id, password_hash, disabled, session_version FROM users WHERE username = :u"),
                    {"u": username},
                )
                .first()
            )
    except _STORE_UNAVAILABLE as exc:
        raise LoginUnavailable() from exc
    # Verify against a dummy hash for unknown users too, so timing does not reveal which names exist.
    ok = _verify(row.password_hash if row else dummy, password[:MAX_PASSWORD])
    if not ok or row is None or row.disabled:
        return None  # the attempt stays recorded as a failure
    new_hash = _hash(password) if _hasher.check_needs_rehash(row.password_hash) else None
    try:
        with write_session(engine) as session:
            current = (
                session.connection()
                .execute(text("SELECT disabled, session_version FROM users WHERE id = :id"), {"id": row.id})
                .first()
            )
            # A password change or disabling moves the session version on: then this password may be stale.
            # (A rehash by a concurrent sign-in with the same password changes the hash but not the version.)
            if current is None or current.disabled or current.session_version != row.session_version:
                return None
            session.connection().execute(text("DELETE FROM login_failures WHERE id = :id"), {"id": attempt})
            if new_hash is not None:
                session.connection().execute(
                    text("UPDATE users SET password_hash = :h WHERE id = :id"), {"h": new_hash, "id": row.id}
                )
            return get_account(session, row.id)
    except _STORE_UNAVAILABLE as exc:
        raise LoginUnavailable() from exc

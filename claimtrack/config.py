"""Settings read from the environment, with safe defaults for local use."""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass
from pathlib import Path

DEFAULT_DB = Path("db") / "claimtrack.db"
DEFAULT_ACCOUNTS_DB = Path("db") / "auth.db"
# The repository root: datasette-metadata.json and seeds/ live there (the package is installed editable).
PROJECT_ROOT = Path(__file__).resolve().parent.parent
# Where Datasette is served in the one ASGI process; everything else is the Flask app.
DATA_PREFIX = "/data"
# CLAIMTRACK_HISTORY_NAMES: whether readers who are not signed in see who made each change in a history.
# "role" (the default) shows them "an editor"; "public" shows user names. Editors always see names.
HISTORY_NAMES = ("role", "public")


class SettingsError(ValueError):
    """A setting in the environment that cannot be used; the message names the variable and what it takes."""


def history_names_setting(value: str | None) -> str:
    """The CLAIMTRACK_HISTORY_NAMES value; a misspelt one is an error, not a silent change of who sees names."""
    chosen = (value or "").strip().lower() or "role"
    if chosen not in HISTORY_NAMES:
        raise SettingsError(f"CLAIMTRACK_HISTORY_NAMES must be 'role' or 'public', not {value!r}.")
    return chosen


def default_language_setting(value: str | None) -> str:
    """CLAIMTRACK_DEFAULT_LANGUAGE, checked at start-up: otherwise every claim form would fail when it fills it in."""
    from claimtrack.models import DEFAULT_LANGUAGE, check_language  # models is heavier than the settings

    try:
        return check_language(value or DEFAULT_LANGUAGE)
    except ValueError:
        raise SettingsError(
            f"CLAIMTRACK_DEFAULT_LANGUAGE must be a language tag such as en, ar, ru or pt-BR, not {value!r}."
        ) from None


@dataclass(frozen=True)
class Settings:
    db_path: Path
    accounts_db_path: Path
    secret_key: str | None
    metadata_path: Path
    seeds_dir: Path
    history_names: str = "role"
    default_language: str = "en"

    @classmethod
    def from_env(cls) -> Settings:
        return cls(
            db_path=Path(os.environ.get("CLAIMTRACK_DB") or DEFAULT_DB),
            accounts_db_path=Path(os.environ.get("CLAIMTRACK_AUTH_DB") or DEFAULT_ACCOUNTS_DB),
            secret_key=os.environ.get("CLAIMTRACK_SECRET_KEY") or None,
            metadata_path=Path(
                os.environ.get("CLAIMTRACK_DATASETTE_METADATA") or PROJECT_ROOT / "datasette-metadata.json"
            ),
            seeds_dir=Path(os.environ.get("CLAIMTRACK_SEEDS") or PROJECT_ROOT / "seeds"),
            history_names=history_names_setting(os.environ.get("CLAIMTRACK_HISTORY_NAMES")),
            default_language=default_language_setting(os.environ.get("CLAIMTRACK_DEFAULT_LANGUAGE")),
        )


def load_or_create_secret_key(db_path: Path) -> str:
    """Return the key stored beside the database, creating it (mode 0600) on first run.

    Sessions and CSRF tokens survive restarts and are shared by every worker process,
    without a secret ever being committed.
    """
    key_file = db_path.parent / "secret_key"
    try:
        return key_file.read_text().strip()
    except FileNotFoundError:
        pass
    key_file.parent.mkdir(parents=True, exist_ok=True)
    key = secrets.token_hex(32)
    try:
        fd = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another worker won the race: use its key
        return key_file.read_text().strip()
    with os.fdopen(fd, "w") as fh:
        fh.write(key)
    return key

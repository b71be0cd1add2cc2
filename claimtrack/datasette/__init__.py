"""Datasette over the claims database: the researchers' read-only view, configured by datasette-metadata.json."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from datasette.app import Datasette
from datasette.plugins import pm

from claimtrack.config import DATA_PREFIX  # where the app serves Datasette (claimtrack/asgi.py strips it)
from claimtrack.datasette import csv_safety, plugins
from claimtrack.datasette.limits import LimitedDatabase

DATABASE_NAME = "claimtrack"  # URLs stay /data/claimtrack/... whatever the file is called
BASE_URL = f"{DATA_PREFIX}/"
STATIC_MOUNT = "claimtrack-static"  # our stylesheet for Datasette's pages, served at /data/claimtrack-static/
# Our pages (the search across tables) and the notes we add to Datasette's own (see search.py).
TEMPLATE_DIR = Path(__file__).parent / "templates"

SETTINGS: dict[str, Any] = {
    "base_url": BASE_URL,
    # Full exports must never be cut off (the default of 100 MB appends a marker line as if it were data).
    "max_csv_mb": 0,
    "sql_time_limit_ms": 3000,
    "max_returned_rows": 1000,
    "allow_download": False,
    "default_page_size": 100,
}


class MetadataError(Exception):
    """datasette-metadata.json is missing or not valid JSON."""


def load_metadata(path: Path) -> dict[str, Any]:
    try:
        return json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise MetadataError(f"Datasette metadata file {path} not found") from None
    except json.JSONDecodeError as exc:
        raise MetadataError(f"{path} is not valid JSON: {exc}") from None


def register_plugins() -> None:
    """Register claimtrack's own hooks (links back to the app) with Datasette, once per process."""
    if pm.get_plugin(plugins.PLUGIN_NAME) is None:
        pm.register(plugins, name=plugins.PLUGIN_NAME)


def make_datasette(db_path: Path, metadata_path: Path) -> Datasette:
    """A Datasette instance that opens ``db_path`` mutable (the app writes it) under the name ``claimtrack``."""
    register_plugins()
    csv_safety.install()  # every CSV cell through csv_safety.neutralise
    ds = Datasette(
        metadata=load_metadata(metadata_path),
        settings=SETTINGS,
        static_mounts=[(STATIC_MOUNT, str(Path(__file__).parent / "static"))],
        template_dir=str(TEMPLATE_DIR),  # the search page, and accessible overrides of Datasette's pages
    )
    # LimitedDatabase bounds what one query may fetch and how long it may run (see limits.py).
    ds.add_database(LimitedDatabase(ds, path=str(db_path), is_mutable=True), name=DATABASE_NAME)
    # Given no files, Datasette adds an empty in-memory database "_memory": researchers would see it
    # listed beside claimtrack, with a SQL box that queries nothing of ours.
    ds.remove_database("_memory")
    return ds

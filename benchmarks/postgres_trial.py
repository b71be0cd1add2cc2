"""The app's schema and domain services tried on PostgreSQL, and the data published to Datasette from it.

    python -m benchmarks.postgres_trial [--claims 2000] [--seconds 5]

Needs PostgreSQL's server programs (Debian's ``postgresql``: ``initdb``, ``pg_ctl``), the ``psycopg``
driver (the ``postgres`` extra: ``.venv/bin/pip install -e '.[postgres]'``, part of the test extras) and,
for step 5 only, ``.venv/bin/pip install db-to-sqlite``. Steps, each recorded as it works or fails (with the
database's own error):

1. A throwaway cluster (``claimtrack.pgcluster``): ``initdb`` into a temporary folder, a Unix socket in that
   folder, a free port, no TCP listener; as the ``postgres`` user when run as root (``initdb`` refuses
   root). Removed at the end.
2. ``SQLModel.metadata.create_all`` on a ``postgresql+psycopg://`` URL: every table, index and constraint
   of ``claimtrack.models``, first as they are, then through the app's ``create_postgres_schema``, which
   first creates the one thing they name that PostgreSQL lacks (the ``NOCASE`` collation).
3. The domain services that make the core records (a speaker with an affiliation, an event, a source, a
   claim citing it, a link between two claims, a verdict, a retraction), each in ``write_session`` with
   the history hook, on PostgreSQL and, as the control, on a migrated SQLite file; then all of them again
   on each, where the names already recorded are refused.
4. Writes per second: one claim per transaction through the ORM with its history rows, on PostgreSQL and on
   SQLite (same code, same machine), then concurrent writers on PostgreSQL.
5. Publishing: ``db-to-sqlite`` copies the PostgreSQL database into a SQLite file, which claimtrack's
   Datasette (metadata and plugins) serves in process: a table page and a CSV are timed.

Prints a Markdown summary (for docs/scaling.md). Nothing is installed and only local sockets are used.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, inspect, text
from sqlmodel import Session, SQLModel

from claimtrack.db import create_postgres_schema, make_engine, write_session
from claimtrack.models import (
    Claim,
    ClaimCreate,
    EventCreate,
    LinkCreate,
    Retraction,
    SourceCreate,
    Speaker,
    SpeakerCreate,
    VerdictChange,
)
from claimtrack.pgcluster import throwaway_cluster, unavailable

DRIVER_MISSING = (
    "The PostgreSQL driver psycopg is not installed (the postgres extra), nor maybe db-to-sqlite (this trial only):\n"
    "    .venv/bin/pip install -e '.[postgres]' db-to-sqlite"
)


def driver_installed() -> bool:
    return importlib.util.find_spec("psycopg") is not None


def first_line(exc: BaseException) -> str:
    """The database's own message, without SQLAlchemy's SQL echo and background link."""
    orig = getattr(exc, "orig", None) or exc
    return f"{type(orig).__name__}: {str(orig).strip().splitlines()[0]}"


# --- 2. the schema ----------------------------------------------------------------------------


def create_schema(engine: Engine) -> list[tuple[str, str]]:
    """Each table of the models created on its own: (table, "ok" or the error). Indexes come with their table."""
    found = []
    for table in SQLModel.metadata.sorted_tables:
        try:
            with engine.begin() as conn:
                table.create(conn, checkfirst=True)
            found.append((table.name, "ok"))
        except Exception as exc:  # recorded, not raised: the point is the list of what fails
            found.append((table.name, first_line(exc)))
    return found


def schema_summary(engine: Engine) -> dict[str, int]:
    found = inspect(engine)
    tables = found.get_table_names()
    return {
        "tables": len(tables),
        "indexes": sum(len(found.get_indexes(t)) for t in tables),
        "unique constraints": sum(len(found.get_unique_constraints(t)) for t in tables),
        "foreign keys": sum(len(found.get_foreign_keys(t)) for t in tables),
    }


# --- 3. the domain services -------------------------------------------------------------------

Step = tuple[str, Callable[[Session, dict[str, Any]], Any]]


def core_steps() -> list[Step]:
    """The writes that make the core records, each using what the earlier ones made (``made``)."""
    # aliases registers the id hook of new speakers, sources and events, as the app's imports do.
    from claimtrack.services import aliases, claims, events, links, sources, speakers  # noqa: F401

    def speaker(session: Session, made: dict[str, Any]) -> Any:
        made["speaker"] = speakers.create_speaker(
            session, SpeakerCreate(name="Trial spokesman", affiliation="Trial ministry")
        ).id

    def event(session: Session, made: dict[str, Any]) -> Any:
        made["event"] = events.create_event(session, EventCreate(name="Trial evacuation")).id

    def source(session: Session, made: dict[str, Any]) -> Any:
        made["source"] = sources.create_source(
            session, SourceCreate(title="Trial report", outlet="Trial outlet", url="https://example.org/trial")
        ).id

    def claim(session: Session, made: dict[str, Any]) -> Any:
        data = ClaimCreate(
            text="The evacuation is complete.",
            speaker=SpeakerCreate(name="Trial spokesman"),
            source=SourceCreate(url="https://example.org/trial"),
            event="Trial evacuation",
        )
        made["claim"] = claims.create_claim(session, data).id

    def link(session: Session, made: dict[str, Any]) -> Any:
        answer = ClaimCreate(text="People are still waiting to leave.", speaker=SpeakerCreate(name="Trial official"))
        made["link"] = links.add_link(session, made["claim"], LinkCreate(relation="contradicts", new_claim=answer)).id

    def verdict(session: Session, made: dict[str, Any]) -> Any:
        claims.set_verdict(session, made["claim"], VerdictChange(verdict="disputed", verdict_rationale="Witnesses."))

    def retraction(session: Session, made: dict[str, Any]) -> Any:
        claims.retract_claim(session, made["claim"], Retraction(reason="Recorded twice."))

    return [
        ("a speaker with an affiliation (`create_speaker`)", speaker),
        ("an event (`create_event`)", event),
        ("a source (`create_source`)", source),
        ("a claim citing the source, at the event (`create_claim`)", claim),
        ("a link with a new counterclaim (`add_link`)", link),
        ("a verdict (`set_verdict`)", verdict),
        ("a retraction (`retract_claim`)", retraction),
    ]


def run_steps(engine: Engine) -> list[tuple[str, str]]:
    made: dict[str, Any] = {}
    found = []
    for label, step in core_steps():
        try:
            with write_session(engine, "cli:trial") as session:
                step(session, made)
            found.append((label, "ok"))
        except Exception as exc:
            found.append((label, first_line(exc)))
    return found


# --- 4. writes per second ---------------------------------------------------------------------


def _speaker_id(engine: Engine) -> int:
    with write_session(engine, "cli:trial") as session:
        speaker = Speaker(name="Trial load speaker")
        session.add(speaker)
        session.flush()
        assert speaker.id is not None
        return speaker.id


def claim_writes(engine: Engine, speaker_id: int, seconds: float, writers: int = 1) -> tuple[float, int]:
    """(claims per second, claims written): one claim per transaction, through the ORM, history included."""
    end = time.monotonic() + seconds
    counts = [0] * writers
    errors: list[str] = []

    def writer(n: int) -> None:
        while time.monotonic() < end:
            try:
                with write_session(engine, "cli:trial") as session:
                    session.add(Claim(text=f"Statement {n}-{counts[n]} " * 6, speaker_id=speaker_id, language="en"))
                counts[n] += 1
            except Exception as exc:
                errors.append(first_line(exc))
                return

    started = time.monotonic()
    threads = [threading.Thread(target=writer, args=(n,)) for n in range(writers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        raise RuntimeError(errors[0])
    return sum(counts) / (time.monotonic() - started), sum(counts)


# --- 5. publishing to Datasette ---------------------------------------------------------------


def publish(url: str, target: Path) -> float:
    """``db-to-sqlite URL target --all``: the PostgreSQL database as a SQLite file; seconds taken."""
    tool = Path(sys.executable).parent / "db-to-sqlite"
    if not tool.exists():
        raise RuntimeError("db-to-sqlite is not installed (.venv/bin/pip install db-to-sqlite)")
    started = time.perf_counter()
    subprocess.run([str(tool), url, str(target), "--all"], check=True, capture_output=True)
    return time.perf_counter() - started


async def datasette_pages(db: Path) -> list[tuple[str, int, float, int]]:
    """claimtrack's Datasette over ``db``: (path, status, ms, bytes) for a table page and CSV exports."""
    from claimtrack.config import Settings
    from claimtrack.datasette import make_datasette

    datasette = make_datasette(db, Settings.from_env().metadata_path)
    found = []
    for path in (
        "/claimtrack/claims",
        "/claimtrack/claims.csv?_size=max",
        "/claimtrack/claims.csv?_stream=on",
        "/claimtrack/change_history.csv?_stream=on",
    ):
        started = time.perf_counter()
        response = await datasette.client.get(path)
        found.append((path, response.status_code, (time.perf_counter() - started) * 1000, len(response.content)))
    return found


# --- the run ----------------------------------------------------------------------------------


def _table(rows: list[tuple[str, str]], head: tuple[str, str]) -> str:
    lines = [f"| {head[0]} | {head[1]} |", "|---|---|"]
    lines += [f"| {a} | {b.replace('|', '/')} |" for a, b in rows]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.postgres_trial",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--seconds", type=float, default=5.0, help="per write measurement (1-60)")
    args = parser.parse_args(argv)
    seconds = max(1.0, min(args.seconds, 60.0))
    reason = unavailable()
    if reason is not None:
        sys.exit(f"{reason}; nothing was tried.")
    if not driver_installed():
        sys.exit(DRIVER_MISSING)
    from claimtrack.schema import migrate

    out: list[str] = []
    with tempfile.TemporaryDirectory(prefix="claimtrack-pg-trial-") as tmp, throwaway_cluster() as url:
        work = Path(tmp)
        pg = create_engine(url, pool_size=40, max_overflow=0)
        with pg.connect() as conn:
            version = conn.execute(text("SHOW server_version")).scalar()
        out.append(
            f"## Measured by `python -m benchmarks.postgres_trial --seconds {seconds:g}` (PostgreSQL {version})\n"
        )

        as_is = create_schema(pg)
        out.append(
            "### `SQLModel.metadata.create_all`, the models as they are\n\n" + _table(as_is, ("table", "result"))
        )
        with pg.begin() as conn:
            SQLModel.metadata.drop_all(conn)
        create_postgres_schema(pg)
        out.append(
            '### `claimtrack.db.create_postgres_schema` (`CREATE COLLATION "NOCASE"`, ICU, then the same)\n\n'
            + "Created: "
            + ", ".join(f"{n} {what}" for what, n in schema_summary(pg).items())
        )

        sqlite_db = work / "control.db"
        control = make_engine(sqlite_db)
        migrate(control)
        on_sqlite, on_pg = run_steps(control), run_steps(pg)
        again_sqlite, again_pg = dict(run_steps(control)), dict(run_steps(pg))
        rows = [
            (label, f"{dict(on_sqlite)[label]} / {result} / {again_sqlite[label]} / {again_pg[label]}")
            for label, result in on_pg
        ]
        out.append(
            "### Core writes through the services\n\n"
            + _table(rows, ("write", "SQLite (migrated) / PostgreSQL / again on SQLite / again on PostgreSQL"))
        )

        plain_sqlite = make_engine(work / "plain.db")
        SQLModel.metadata.create_all(plain_sqlite)
        rates = {
            "SQLite, migrated (FTS5 triggers), WAL, synchronous=NORMAL": claim_writes(
                control, _speaker_id(control), seconds
            ),
            "SQLite, tables from the models only, WAL, synchronous=NORMAL": claim_writes(
                plain_sqlite, _speaker_id(plain_sqlite), seconds
            ),
        }
        pg_speaker = _speaker_id(pg)
        for writers in (1, 4, 16):
            rates[f"PostgreSQL, {writers} writer thread(s), synchronous_commit=on"] = claim_writes(
                pg, pg_speaker, seconds, writers
            )
        with pg.begin() as conn:
            conn.execute(text("ALTER DATABASE claimtrack SET synchronous_commit = off"))
        pg.dispose()  # new connections take the setting
        rates["PostgreSQL, 1 writer thread, synchronous_commit=off"] = claim_writes(pg, pg_speaker, seconds)
        out.append(
            "### One claim per transaction through the ORM, history included\n\n"
            + _table([(k, f"{v[0]:,.0f} claims/s ({v[1]:,} claims)") for k, v in rates.items()], ("writer", "rate"))
        )

        with Session(pg) as session:
            counts = {
                t: session.execute(text(f"SELECT count(*) FROM {t}")).scalar() for t in ("claims", "change_history")
            }
        published = work / "claimtrack.db"
        took = publish(url, published)
        pages = asyncio.run(datasette_pages(published))
        out.append(
            f"### Published: `db-to-sqlite <url> claimtrack.db --all` ({counts['claims']:,} claims, "
            f"{counts['change_history']:,} history rows): {took:.1f} s, {published.stat().st_size / 1e6:.1f} MB\n\n"
            + _table(
                [(f"`{p}`", f"{status}, {ms:,.0f} ms, {size / 1e3:,.0f} kB") for p, status, ms, size in pages],
                ("Datasette page", "status, time, size"),
            )
        )
        pg.dispose()
        control.dispose()
        plain_sqlite.dispose()
    print("\n\n".join(out))


if __name__ == "__main__":
    main()

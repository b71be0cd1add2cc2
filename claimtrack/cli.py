"""The ``claimtrack`` command: a thin layer over the services (same code paths as the web app)."""

from __future__ import annotations

import functools
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click
from sqlalchemy import Engine, func, select
from sqlalchemy.exc import OperationalError, SQLAlchemyError

from claimtrack.config import Settings
from claimtrack.datasette import MetadataError, load_metadata
from claimtrack.db import DatabasePathError, check_db_path, make_engine, write_session
from claimtrack.models import Claim
from claimtrack.schema import migrate
from claimtrack.services.errors import ClaimtrackError
from claimtrack.services.seeding import SeedReport, load_seed, read_seed, seed_files

F = TypeVar("F", bound=Callable[..., Any])


def clean_errors(func: F) -> F:
    """Known failures become one clear line on stderr and exit status 1, never a traceback."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except (DatabasePathError, MetadataError, ClaimtrackError) as exc:
            raise click.ClickException(str(exc)) from None
        except SQLAlchemyError as exc:
            raise click.ClickException(f"database error: {getattr(exc, 'orig', exc)}") from None
        except OSError as exc:
            raise click.ClickException(f"{exc.filename or ''}: {exc.strerror or exc}") from None

    return wrapper  # type: ignore[return-value]


def open_database(settings: Settings) -> Engine:
    """Check the path, then bring the schema up to date (migrations are idempotent)."""
    check_db_path(settings.db_path)
    engine = make_engine(settings.db_path)
    try:
        migrate(engine)
    except OperationalError as exc:
        engine.dispose()
        raise DatabasePathError(f"cannot open database {settings.db_path}: {exc.orig}") from None
    return engine


def seed_all(engine: Engine, seeds_dir: Path) -> list[tuple[Path, SeedReport]]:
    reports = []
    for path in seed_files(seeds_dir):
        data = read_seed(path)
        with write_session(engine) as session:
            reports.append((path, load_seed(session, data, label=path.name)))
    return reports


@click.group()
@click.version_option(package_name="claimtrack")
def main() -> None:
    """Track claims and counterclaims; publish them with Datasette.

    The database is CLAIMTRACK_DB (default db/claimtrack.db).
    """


@main.command("init-db")
@clean_errors
def init_db() -> None:
    """Create the database or migrate it to the latest schema."""
    settings = Settings.from_env()
    open_database(settings).dispose()
    click.echo(f"Database {settings.db_path} is at the latest schema.")


@main.command()
@click.argument("files", nargs=-1, type=click.Path(dir_okay=False, path_type=Path))
@clean_errors
def seed(files: tuple[Path, ...]) -> None:
    """Load scenario files (default: every seeds/*.toml). Running it twice adds nothing."""
    settings = Settings.from_env()
    engine = open_database(settings)
    try:
        if files:
            for path in files:
                data = read_seed(path)
                with write_session(engine) as session:
                    click.echo(f"{path.name}: {load_seed(session, data, label=path.name)}")
        else:
            for path, report in seed_all(engine, settings.seeds_dir):
                click.echo(f"{path.name}: {report}")
    finally:
        engine.dispose()


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8000, show_default=True, type=click.IntRange(1, 65535), help="Port to listen on.")
@click.option("--workers", default=1, show_default=True, type=click.IntRange(1, 32), help="Worker processes.")
@click.option("--seed/--no-seed", "seed_when_empty", default=True, show_default=True,
              help="Load the scenarios in seeds/ when the database has no claims yet.")
@clean_errors
def serve(host: str, port: int, workers: int, seed_when_empty: bool) -> None:
    """Serve the web app at / and Datasette at /data/ from one address."""
    import uvicorn

    settings = Settings.from_env()
    load_metadata(settings.metadata_path)  # fail now, not in a worker
    engine = open_database(settings)
    try:
        if seed_when_empty:
            with engine.connect() as conn:
                empty = conn.execute(select(func.count()).select_from(Claim)).scalar_one() == 0
            if empty:
                for path, report in seed_all(engine, settings.seeds_dir):
                    click.echo(f"Seeded {path.name}: {report}")
    finally:
        engine.dispose()
    # Workers read their settings from the environment: pin the resolved path for all of them.
    os.environ["CLAIMTRACK_DB"] = str(settings.db_path.resolve())
    click.echo(f"claimtrack on http://{host}:{port}/  ·  Datasette on http://{host}:{port}/data/")
    uvicorn.run("claimtrack.asgi:create_asgi_app", factory=True, host=host, port=port, workers=workers,
                log_level="info", proxy_headers=False)


if __name__ == "__main__":
    main()

"""The ``claimtrack`` command: a thin layer over the services (same code paths as the web app)."""

from __future__ import annotations

import functools
import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

import click
from sqlalchemy import Engine, func, select
from sqlalchemy.exc import OperationalError, SQLAlchemyError
from sqlmodel import Session

from claimtrack.allocator import stop_sqlite_memory_statistics
from claimtrack.config import Settings, SettingsError
from claimtrack.datasette import MetadataError, load_metadata
from claimtrack.db import DatabasePathError, check_db_path, make_engine, write_session
from claimtrack.models import Claim
from claimtrack.schema import ACCOUNTS_MIGRATIONS, migrate
from claimtrack.services import accounts
from claimtrack.services.accounts import Role
from claimtrack.services.backup import (
    BackupError,
    backup_database,
    check_backup,
    restore_database,
)
from claimtrack.services.errors import ClaimtrackError
from claimtrack.services.seeding import SeedReport, load_seed, read_seed, seed_files

F = TypeVar("F", bound=Callable[..., Any])


def number_option(
    *names: str, default: int, help: str, lowest: int | None = None, highest: int | None = None
) -> Callable[[F], F]:
    """An integer option that shows its default, refused outside ``lowest``..``highest`` when given."""
    kind: click.ParamType = click.IntRange(lowest, highest) if (lowest, highest) != (None, None) else click.INT
    return click.option(*names, default=default, show_default=True, type=kind, help=help)


def clean_errors(func: F) -> F:
    """Known failures become one clear line on stderr and exit status 1, never a traceback."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except (DatabasePathError, MetadataError, ClaimtrackError, SettingsError) as exc:
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


@contextmanager
def database(settings: Settings | None = None) -> Iterator[Engine]:
    """The migrated database of ``settings`` (default: the environment's), disposed of when done."""
    engine = open_database(settings or Settings.from_env())
    try:
        yield engine
    finally:
        engine.dispose()


def seed_all(engine: Engine, seeds_dir: Path) -> list[tuple[Path, SeedReport]]:
    reports = []
    for path in seed_files(seeds_dir):
        data = read_seed(path)
        with write_session(engine, actor="cli:seed") as session:
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
    with database(settings) as engine:
        if files:
            for path in files:
                data = read_seed(path)
                with write_session(engine, actor="cli:seed") as session:
                    click.echo(f"{path.name}: {load_seed(session, data, label=path.name)}")
        else:
            for path, report in seed_all(engine, settings.seeds_dir):
                click.echo(f"{path.name}: {report}")


WORKER_STARTUP_SECONDS = 60


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@number_option("--port", default=8000, lowest=1, highest=65535, help="Port to listen on.")
# One worker measured best under a breaking-news write load on 2 cores (docs/write-path.md): every write
# is serialised by SQLite anyway, and a second process only adds lock hand-overs and its own memory.
@number_option(
    "--workers",
    default=1,
    lowest=1,
    highest=32,
    help="Worker processes; 1 measured best on 2 cores (see docs/write-path.md).",
)
@click.option(
    "--seed/--no-seed",
    "seed_when_empty",
    default=True,
    show_default=True,
    help="Load the scenarios in seeds/ when the database has no claims yet.",
)
# uvicorn's access log line costs about 0.2 ms of the event loop's CPU per request (docs/write-path.md);
# on by default, so a plain start still shows every request.
@click.option(
    "--access-log/--no-access-log",
    default=True,
    show_default=True,
    help="Log one line per request (uvicorn's access log); errors are logged either way.",
)
@clean_errors
def serve(host: str, port: int, workers: int, seed_when_empty: bool, access_log: bool) -> None:
    """Serve the web app at / and Datasette at /data/ from one address."""
    import uvicorn

    # Before this process opens its first connection (SQLite takes it only then); a worker of its own does
    # the same in serve_app.
    stop_sqlite_memory_statistics()
    settings = Settings.from_env()
    load_metadata(settings.metadata_path)  # fail now, not in a worker
    with database(settings) as engine:
        if seed_when_empty:
            with engine.connect() as conn:
                empty = conn.execute(select(func.count()).select_from(Claim)).scalar_one() == 0
            if empty:
                for path, report in seed_all(engine, settings.seeds_dir):
                    click.echo(f"Seeded {path.name}: {report}")
    open_accounts(settings).dispose()  # a wrong CLAIMTRACK_AUTH_DB stops serve now, not the first sign-in
    # Workers read their settings from the environment: pin the resolved path for all of them.
    os.environ["CLAIMTRACK_DB"] = str(settings.db_path.resolve())
    click.echo(f"claimtrack on http://{host}:{port}/  ·  Datasette on http://{host}:{port}/data/")
    uvicorn.run(
        "claimtrack.asgi:serve_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_level="info",
        access_log=access_log,
        proxy_headers=True,  # X-Forwarded-* trusted from 127.0.0.1 only (uvicorn default)
        # With several workers, uvicorn restarts one that does not answer its health check in time (5 s by
        # default); on busy cores a worker's start-up (imports, migration check) took longer, and the
        # service never came up. A slow start is not a hung worker.
        timeout_worker_healthcheck=WORKER_STARTUP_SECONDS,
    )


def backup_command(accounts_help: str, flag: str, flag_help: str) -> Callable[[F], click.Command]:
    """A backup or restore command: PATH, ``--accounts PATH`` (the files backup writes and restore reads) and
    its one flag, with clean errors."""
    file_path = click.Path(dir_okay=False, path_type=Path)

    def decorate(func: F) -> click.Command:
        command = click.option(flag, is_flag=True, help=flag_help)(clean_errors(func))
        command = click.option("--accounts", "accounts_path", type=file_path, help=accounts_help)(command)
        return main.command()(click.argument("path", type=file_path)(command))

    return decorate


LIVE_FILES = ("", "-wal", "-shm", "-journal")  # a database and the files SQLite keeps beside it


@backup_command("Also back up the accounts database to this file.", "--force", "Replace PATH if it exists.")
def backup(path: Path, accounts_path: Path | None, force: bool) -> None:
    """Write a consistent copy of the claims database to PATH (safe while the service runs)."""
    settings = Settings.from_env()
    targets = [target for target in (path, accounts_path) if target is not None]
    # --force deletes a target first: the live database (or its -wal/-shm) as a target would be deleted.
    live = {
        Path(str(db) + suffix).resolve()
        for db in (settings.db_path, settings.accounts_db_path)
        for suffix in LIVE_FILES
    }
    for target in targets:
        if target.resolve() in live:
            raise BackupError(f"{target} is a live database file: write the backup to another file")
    if accounts_path is not None and accounts_path.resolve() == path.resolve():
        raise BackupError(
            f"{path} was given for both copies: give the claims and the accounts copies two different files"
        )
    if not force:  # refuse before writing anything, not after the first copy
        for existing in targets:
            if existing.exists():
                raise BackupError(f"{existing} already exists (use --force to replace it)")
    backup_database(settings.db_path, path, overwrite=force)
    click.echo(f"Backed up {settings.db_path} to {path}.")
    if accounts_path is not None:
        backup_database(settings.accounts_db_path, accounts_path, overwrite=force)
        click.echo(f"Backed up {settings.accounts_db_path} to {accounts_path}.")


@backup_command("Also restore the accounts database from this file.", "--yes", "Do not ask for confirmation.")
def restore(path: Path, accounts_path: Path | None, yes: bool) -> None:
    """Replace the claims database with the backup at PATH, then migrate it to the latest schema."""
    settings = Settings.from_env()
    check_backup(path)
    if accounts_path is not None:
        check_backup(accounts_path, ACCOUNTS_MIGRATIONS)  # before anything is replaced
    if not yes:
        click.confirm(f"Replace everything in {settings.db_path} with {path}?", abort=True)
    restore_database(path, settings.db_path)
    open_database(settings).dispose()
    click.echo(f"Restored {settings.db_path} from {path}.")
    if accounts_path is not None:
        restore_database(accounts_path, settings.accounts_db_path, ACCOUNTS_MIGRATIONS)
        open_accounts(settings).dispose()
        click.echo(f"Restored {settings.accounts_db_path} from {accounts_path}.")


@main.group()
def user() -> None:
    """Manage the accounts of editors and admins (kept in CLAIMTRACK_AUTH_DB, default db/auth.db)."""


def open_accounts(settings: Settings) -> Engine:
    check_db_path(settings.accounts_db_path)
    engine = make_engine(settings.accounts_db_path, private=True)
    migrate(engine, script_location=ACCOUNTS_MIGRATIONS)
    return engine


@contextmanager
def accounts_transaction() -> Iterator[Session]:
    """One write transaction on the accounts database, which is created and migrated on first use."""
    engine = open_accounts(Settings.from_env())
    try:
        with write_session(engine) as session:
            yield session
    finally:
        engine.dispose()


def read_new_password(password_stdin: bool) -> str:
    if password_stdin:
        # sys.stdin rather than click.get_text_stream, which Click deprecates (CliRunner replaces both).
        return sys.stdin.readline().rstrip("\r\n")
    return click.prompt("Password (at least 12 characters)", hide_input=True, confirmation_prompt=True)


@user.command("add")
@click.argument("name")
@click.option("--role", type=click.Choice([r.value for r in Role]), default=Role.editor.value, show_default=True)
@click.option("--password-stdin", is_flag=True, help="Read the password from the first line of standard input.")
@clean_errors
def user_add(name: str, role: str, password_stdin: bool) -> None:
    """Add a user NAME with a role."""
    password = read_new_password(password_stdin)
    with accounts_transaction() as session:
        account = accounts.create_account(session, name, password, role)
    click.echo(f"Added {account.role} {account.username}.")


@user.command("passwd")
@click.argument("name")
@click.option("--password-stdin", is_flag=True, help="Read the password from the first line of standard input.")
@clean_errors
def user_passwd(name: str, password_stdin: bool) -> None:
    """Set a new password for NAME (their sessions end)."""
    password = read_new_password(password_stdin)
    with accounts_transaction() as session:
        accounts.set_password(session, name, password)
    click.echo(f"Password changed for {name}; their sessions have ended.")


def _set_disabled(name: str, disabled: bool) -> None:
    with accounts_transaction() as session:
        accounts.set_disabled(session, name, disabled)
    click.echo(f"{'Disabled' if disabled else 'Enabled'} {name}.")


@user.command("disable")
@click.argument("name")
@clean_errors
def user_disable(name: str) -> None:
    """Disable NAME: they can no longer sign in, and their sessions end."""
    _set_disabled(name, True)


@user.command("enable")
@click.argument("name")
@clean_errors
def user_enable(name: str) -> None:
    """Enable NAME again."""
    _set_disabled(name, False)


@user.command("list")
@clean_errors
def user_list() -> None:
    """List the accounts."""
    with accounts_transaction() as session:
        found = accounts.list_accounts(session)
    if not found:
        click.echo("No users yet. Add the first admin with: claimtrack user add NAME --role admin")
    for account in found:
        click.echo(f"{account.username}\t{account.role}\t{'disabled' if account.disabled else 'active'}")


@main.command()
@number_option("--claims", "n_claims", default=5000, lowest=0, highest=10_000_000, help="How many claims to add.")
@number_option(
    "--seed", "random_seed", default=1, help="Random seed: the same seed on the same database gives the same data."
)
@clean_errors
def generate(n_claims: int, random_seed: int) -> None:
    """Add synthetic speakers, events, sources, claims and links (for trying out Datasette and benchmarks).

    Never run it on a database that holds real records: the synthetic ones cannot be told apart
    by anything but their names, sources (example.org) and "Synthetic" descriptions.
    """
    from claimtrack.services.synthetic import generate as generate_claims

    with database() as engine:
        report = generate_claims(engine, claims=n_claims, seed=random_seed)
    click.echo(f"Synthetic data: {report}.")


@main.command()
@clean_errors
def optimize() -> None:
    """Merge the full-text search indexes and refresh the query planner's statistics.

    Worth running after a large import or a busy day (searches read every index segment). It takes the
    write lock for a few seconds per million claims: editors' saves wait, nothing is lost.
    """
    from claimtrack.services.maintenance import optimize_database

    with database() as engine:
        reports = optimize_database(engine)
    for report in reports:
        click.echo(f"{report.name}: {report.segments_before} segments -> {report.segments_after}")
    click.echo("Planner statistics refreshed.")


# --- import and export --------------------------------------------------------------------------

IMPORT_FORMATS = ("csv", "liar", "claimreview", "factcheck-api", "claimskg")


@main.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--format", "fmt", type=click.Choice(IMPORT_FORMATS), help="The file's format (guessed when not given).")
@click.option("--event", help="Put every imported claim under this event (created if missing).")
@click.option("--dry-run", is_flag=True, help="Check every row and report, but write nothing.")
@click.option("--as", "actor", metavar="NAME", help="Who the history names (default: import:<file name>).")
@click.option(
    "--ratings",
    "ratings_path",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="A rating table (TOML) to use instead of the built-in one.",
)
@click.option("--language", help="Language of claims whose file does not say (default: CLAIMTRACK_DEFAULT_LANGUAGE).")
@clean_errors
def import_(
    file: Path,
    fmt: str | None,
    event: str | None,
    dry_run: bool,
    actor: str | None,
    ratings_path: Path | None,
    language: str | None,
) -> None:
    """Import claims from FILE: csv (Datasette's claims export), liar, claimreview, factcheck-api, claimskg.

    Bad rows are listed with their line or record number and left out; the good rows go in. Importing the
    same file again adds nothing.
    """
    from tqdm import tqdm

    from claimtrack.models import check_language
    from claimtrack.services.importing import import_file, load_ratings

    if language:
        try:
            language = check_language(language)
        except ValueError as exc:
            raise click.BadParameter(str(exc), param_hint="--language") from None
    if event is not None and not event.strip():
        raise click.BadParameter("give the event a name", param_hint="--event")
    ratings = load_ratings(ratings_path) if ratings_path else None
    with database() as engine:
        # A bar on a terminal only: piped or logged output stays just the report.
        bar = tqdm(desc=f"Importing {file.name}", unit=" rows", disable=not sys.stderr.isatty(), leave=False)

        def set_total(total: int) -> None:
            bar.total = total
            bar.refresh()

        with bar:
            report = import_file(
                engine,
                file,
                fmt,
                event=event,
                dry_run=dry_run,
                actor=actor,
                ratings=ratings,
                language=language,
                progress=bar.update,
                on_total=set_total,
            )
    for rejected in report.rejected:
        click.echo(f"{file.name}:{rejected.number}: rejected: {rejected.reason}", err=True)
    if report.unmapped_ratings:
        shown = ", ".join(f"{text[:60]!r} ({n})" for text, n in report.unmapped_ratings.most_common(10))
        click.echo(f"Ratings not in the rating table, imported without a verdict: {shown}", err=True)
    click.echo(f"{file.name}: {report}.")


@main.group()
def export() -> None:
    """Export claims for other tools."""


def web_address(value: str) -> str:
    """An http(s) address with a host: anything else would make every review's url a broken link. It takes
    no query or fragment (a ``?`` or ``#`` would swallow the ``/claims/<id>`` after it) and no space."""
    from urllib.parse import urlsplit

    address = value.strip()
    parts = urlsplit(address)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise click.BadParameter(
            f"{value!r} is not a web address: give one such as https://claims.example.org "
            "(or set CLAIMTRACK_PUBLIC_URL)"
        )
    if "?" in address or "#" in address or any(c.isspace() or not c.isprintable() for c in address):
        raise click.BadParameter(
            f"{value!r} cannot start the claims' addresses (<base-url>/claims/<id>): give the address without "
            "a ?query, #fragment or spaces, such as https://claims.example.org (or set CLAIMTRACK_PUBLIC_URL)"
        )
    return address


@export.command("claimreview")
@click.option("--event", help="Only the claims of this event (by name).")
@click.option(
    "--base-url",
    envvar="CLAIMTRACK_PUBLIC_URL",
    default="http://127.0.0.1:8000",
    show_default=True,
    help="The address the app is published at: each review's url is <base-url>/claims/<id>.",
    callback=lambda _ctx, _param, value: web_address(value),
)
@clean_errors
def export_claimreview(event: str | None, base_url: str) -> None:
    """Write every claim with a verdict as a ClaimReview DataFeed (JSON-LD) to standard output."""
    import json

    from claimtrack.db import read_session
    from claimtrack.services.claimreview import feed
    from claimtrack.services.errors import NotFound
    from claimtrack.services.events import find_event

    with database() as engine, read_session(engine) as session:
        event_id = None
        if event is not None:
            found = find_event(session, event)
            if found is None:
                raise NotFound("event", event, message=f"No event named {event!r}: give its name as /events lists it.")
            event_id = found.id
        document = feed(session, base_url, event_id)
    click.echo(json.dumps(document, ensure_ascii=False, indent=2))


if __name__ == "__main__":
    main()

"""A throwaway PostgreSQL cluster, for the PostgreSQL test and the trial (benchmarks/postgres_trial.py).

``initdb`` into a temporary folder, the server listening on a Unix socket in that folder only (no TCP), and
everything removed at the end. Needs PostgreSQL's server programs (Debian's ``postgresql``); as root they
run as the ``postgres`` user that package creates, since ``initdb`` and ``postgres`` refuse root.
"""

from __future__ import annotations

import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

PG_USER = "postgres"
DEBIAN_BIN = Path("/usr/lib/postgresql")
PROGRAMS = ("initdb", "pg_ctl", "createdb")


def _has_programs(folder: Path) -> bool:
    return all((folder / name).is_file() for name in PROGRAMS)


def _version(folder: Path) -> tuple[int, ...]:
    # /usr/lib/postgresql/<version>/bin: the newest version wins; a folder not named by numbers sorts first.
    parts = folder.parent.name.split(".")
    return tuple(int(p) for p in parts) if all(p.isdigit() for p in parts) else ()


def pg_bin() -> Path | None:
    """The folder of ``initdb``, ``pg_ctl`` and ``createdb``: beside an ``initdb`` on PATH, else Debian's
    newest /usr/lib/postgresql/<version>/bin (Debian keeps the server programs off PATH)."""
    found = shutil.which("initdb")
    if found and _has_programs(Path(found).resolve().parent):
        return Path(found).resolve().parent  # a link on PATH leads to the version's own folder
    folders = sorted((p.parent for p in DEBIAN_BIN.glob("*/bin/initdb") if _has_programs(p.parent)), key=_version)
    return folders[-1] if folders else None


def unavailable() -> str | None:
    """Why no cluster can be started here, in words; None when one can."""
    if pg_bin() is None:
        return f"PostgreSQL's {', '.join(PROGRAMS)} were not found (Debian: apt-get install postgresql)"
    if os.geteuid() == 0:
        try:
            pwd.getpwnam(PG_USER)
        except KeyError:
            return f"running as root, and there is no {PG_USER!r} user to run the PostgreSQL server as"
    return None


def _as_cluster_owner(args: list[str]) -> list[str]:
    if os.geteuid() == 0:
        return ["runuser", "-u", PG_USER, "--", *args]
    return args


def _free_port() -> int:
    # With no TCP listener the port only names the socket file, but a free one keeps clients of another
    # server on this machine from ever reaching this one by mistake.
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _run(args: list[str]) -> None:
    done = subprocess.run(_as_cluster_owner(args), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, check=False)
    if done.returncode:
        raise RuntimeError(f"{Path(args[0]).name} failed: {done.stderr.decode(errors='replace').strip()}")


@contextmanager
def throwaway_cluster(database: str = "claimtrack") -> Iterator[str]:
    """A fresh PostgreSQL cluster in a temporary folder; yields a SQLAlchemy URL (psycopg) to ``database``."""
    reason = unavailable()
    if reason is not None:
        raise RuntimeError(reason)
    bindir = pg_bin()
    assert bindir is not None
    # mkdtemp's short path (a Unix socket's may not exceed about 100 bytes), and its mode 0700: only this
    # user (and the cluster's owner) can reach the socket, so the cluster may trust whoever connects.
    folder = Path(tempfile.mkdtemp(prefix="claimtrack-pg-"))
    data, port = folder / "data", _free_port()
    if os.geteuid() == 0:
        owner = pwd.getpwnam(PG_USER)
        os.chown(folder, owner.pw_uid, owner.pw_gid)
        user = PG_USER
    else:
        user = pwd.getpwuid(os.geteuid()).pw_name
    try:
        # --no-sync: initdb's own flush to disk, of files removed at the end (the server still syncs commits).
        initdb = [str(bindir / "initdb"), "-D", str(data), "-U", user, "--auth=trust", "--no-sync"]
        _run([*initdb, "-E", "UTF8", "--locale=C.UTF-8"])
        options = f"-k {folder} -p {port} -c listen_addresses=''"
        _run([str(bindir / "pg_ctl"), "-D", str(data), "-o", options, "-l", str(folder / "log"), "-w", "start"])
        try:
            _run([str(bindir / "createdb"), "-h", str(folder), "-p", str(port), "-U", user, database])
            yield f"postgresql+psycopg://{user}@/{database}?host={folder}&port={port}"
        finally:
            # "immediate": no shutdown checkpoint, since the cluster's files are removed next.
            subprocess.run(
                _as_cluster_owner([str(bindir / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop"]),
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                check=False,
            )
    finally:
        shutil.rmtree(folder, ignore_errors=True)

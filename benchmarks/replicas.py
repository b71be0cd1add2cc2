"""Read-only Datasette replicas from ``VACUUM INTO`` snapshots, tried and measured on this machine.

    python -m benchmarks.replicas --claims 200000 [--seconds 20] [--clients 8]

1. How many writes a second one SQLite writer sustains here: one connection, one row per
   ``BEGIN IMMEDIATE`` ... ``COMMIT`` transaction, WAL, with ``synchronous=FULL`` and ``NORMAL``.
2. How long a ``VACUUM INTO`` snapshot of the archive takes while the primary serves (the replica's refresh).
3. Researchers' load (``--clients`` clients, one Datasette page after another: table pages, a search, a
   filtered view, a JSON page) against (a) the editors' own ``claimtrack serve`` and (b) a read-only
   Datasette replica process serving the snapshot; meanwhile one editor reads claim pages on the primary.
   Reported: researchers' pages/s and p95, and the editor's claim-page p95, in each case.

Prints a Markdown summary (for docs/scaling.md). Only 127.0.0.1 is ever contacted; the load is bounded in
clients and time. The replica is ``benchmarks.replicas:replica_app`` (CLAIMTRACK_REPLICA_DB names the
snapshot), which is how a replica is served in production too, behind the same address (see docs/scaling.md).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import sqlite3
import statistics
import sys
import tempfile
import time
from contextlib import closing
from pathlib import Path
from typing import Any

import httpx

from benchmarks.run import (
    BIN,
    HERE,
    HOST,
    build_archive,
    free_port,
    percentile,
    rss_mb,
    served,
    working_copy,
)

RESEARCH_PAGES = (
    "/data/claimtrack/claims",
    "/data/claimtrack/claims?_search=evacuation",
    "/data/claimtrack/claim_links_readable?claim_id={claim}",
    "/data/claimtrack/speaker_claims.json?speaker_id={speaker}&_size=50",
    "/data/claimtrack/event_timeline?event_id={event}",
    "/data/claimtrack/claims/{claim}",
)


def replica_app() -> Any:
    """A read-only Datasette over the snapshot ``CLAIMTRACK_REPLICA_DB``, under the same /data/ URLs."""
    from claimtrack.config import Settings
    from claimtrack.datasette import DATA_PREFIX, make_datasette

    snapshot = Path(os.environ["CLAIMTRACK_REPLICA_DB"])
    datasette_app = make_datasette(snapshot, Settings.from_env().metadata_path).app()

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "http" and scope["path"].startswith(DATA_PREFIX + "/"):
            scope = dict(
                scope,
                path=scope["path"][len(DATA_PREFIX) :],
                raw_path=(scope.get("raw_path") or scope["path"].encode())[len(DATA_PREFIX) :],
            )
        await datasette_app(scope, receive, send)

    return app


def writes_per_second(folder: Path, seconds: float) -> dict[str, float]:
    found = {}
    for sync in ("FULL", "NORMAL"):
        path = folder / f"writes-{sync}.db"
        with closing(sqlite3.connect(path, isolation_level=None)) as conn:
            conn.execute("PRAGMA journal_mode = WAL")
            conn.execute(f"PRAGMA synchronous = {sync}")
            conn.execute("CREATE TABLE rows (id INTEGER PRIMARY KEY, text TEXT NOT NULL)")
            n, end = 0, time.monotonic() + seconds
            started = time.monotonic()
            while time.monotonic() < end:
                conn.execute("BEGIN IMMEDIATE")
                conn.execute("INSERT INTO rows (text) VALUES (?)", ("a statement of the usual length, " * 4,))
                conn.execute("COMMIT")
                n += 1
            found[sync] = n / (time.monotonic() - started)
    return found


def snapshot(primary: Path, target: Path) -> float:
    started = time.perf_counter()
    partial = target.with_suffix(".partial")
    partial.unlink(missing_ok=True)
    with closing(sqlite3.connect(f"file:{primary}?mode=ro", uri=True)) as conn:
        conn.execute("VACUUM INTO ?", (str(partial),))
    partial.replace(target)  # readers of the old snapshot keep their open file; new ones get the new one
    return time.perf_counter() - started


async def _research_load(
    base: str, editor_base: str, clients: int, seconds: float, ids: dict[str, int]
) -> tuple[float, float, float]:
    """(researchers' pages/s, their p95 ms, the editor's claim-page p95 ms on the primary)."""
    latencies: list[float] = []
    editor: list[float] = []
    end = time.monotonic() + seconds

    async def researcher(n: int) -> None:
        rng = random.Random(n)
        async with httpx.AsyncClient(base_url=base, timeout=60) as client:
            while time.monotonic() < end:
                page = rng.choice(RESEARCH_PAGES).format(
                    claim=rng.randint(1, ids["claim"]),
                    speaker=rng.randint(1, ids["speaker"]),
                    event=rng.randint(1, ids["event"]),
                )
                started = time.perf_counter()
                await client.get(page)
                latencies.append((time.perf_counter() - started) * 1000)

    async def editor_reads() -> None:
        rng = random.Random(99)
        async with httpx.AsyncClient(base_url=editor_base, timeout=60) as client:
            while time.monotonic() < end:
                started = time.perf_counter()
                await client.get(f"/claims/{rng.randint(1, ids['claim'])}")
                editor.append((time.perf_counter() - started) * 1000)
                await asyncio.sleep(0.05)

    began = time.monotonic()
    await asyncio.gather(editor_reads(), *[researcher(n) for n in range(clients)])
    return len(latencies) / (time.monotonic() - began), percentile(latencies, 95), percentile(editor, 95)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.replicas", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--claims", type=int, default=200_000)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--data-dir", type=Path, default=HERE / ".data")
    args = parser.parse_args(argv)
    clients, seconds = max(1, min(args.clients, 64)), max(1.0, min(args.seconds, 300.0))
    archive = build_archive(args.claims, args.data_dir)
    with tempfile.TemporaryDirectory(prefix="claimtrack-replicas-") as tmp:
        work = Path(tmp)
        rates = writes_per_second(work, min(seconds, 10.0))
        primary = working_copy(archive, work)
        with closing(sqlite3.connect(primary)) as conn:
            ids = {
                "claim": conn.execute("SELECT max(id) FROM claims").fetchone()[0],
                "speaker": conn.execute("SELECT max(id) FROM speakers").fetchone()[0],
                "event": conn.execute("SELECT max(id) FROM events").fetchone()[0],
            }
        replica_db = work / "replica.db"
        env = dict(
            os.environ,
            CLAIMTRACK_DB=str(primary),
            CLAIMTRACK_AUTH_DB=str(work / "auth.db"),
            CLAIMTRACK_SECRET_KEY="bench-secret-key",
            CLAIMTRACK_REPLICA_DB=str(replica_db),
        )
        app_port, replica_port = free_port(), free_port()
        app_base, replica_base = f"http://{HOST}:{app_port}", f"http://{HOST}:{replica_port}"
        app_args = [str(BIN / "claimtrack"), "serve", "--host", HOST, "--port", str(app_port), "--no-seed"]
        replica_args = [
            sys.executable,
            "-m",
            "uvicorn",
            "--factory",
            "benchmarks.replicas:replica_app",
            "--host",
            HOST,
            "--port",
            str(replica_port),
            "--log-level",
            "warning",
        ]
        with served(app_args, env, app_base + "/claims", work / "serve.log") as app:
            snapshot_times = [snapshot(primary, replica_db) for _ in range(2)]
            with served(replica_args, env, replica_base + "/data/claimtrack", work / "replica.log") as replica:
                idle = asyncio.run(_research_load(app_base, app_base, 0, min(5.0, seconds), ids))
                on_primary = asyncio.run(_research_load(app_base, app_base, clients, seconds, ids))
                on_replica = asyncio.run(_research_load(replica_base, app_base, clients, seconds, ids))
                replica_rss = rss_mb(replica.pid, "VmHWM")
            primary_rss = rss_mb(app.pid, "VmHWM")
    size_mb = archive.stat().st_size / 1e6
    print(f"""## Measured by `python -m benchmarks.replicas --claims {args.claims} --seconds {seconds:g} --clients {clients}`

- One SQLite writer, one row per transaction, WAL: {rates["FULL"]:,.0f} writes/s with synchronous=FULL,
  {rates["NORMAL"]:,.0f} writes/s with synchronous=NORMAL.
- `VACUUM INTO` snapshot of the {size_mb:,.0f} MB archive while the primary serves: {statistics.median(snapshot_times):.1f} s.
- Editor's claim page p95 on the primary with no researchers: {idle[2]:.0f} ms.
- {clients} researchers on the primary process: {on_primary[0]:.1f} pages/s, p95 {on_primary[1]:.0f} ms;
  the editor's claim page p95 meanwhile: {on_primary[2]:.0f} ms.
- {clients} researchers on a replica process (snapshot): {on_replica[0]:.1f} pages/s, p95 {on_replica[1]:.0f} ms;
  the editor's claim page p95 meanwhile: {on_replica[2]:.0f} ms.
- Peak memory: primary {primary_rss:.0f} MB, replica {replica_rss:.0f} MB.
""")


if __name__ == "__main__":
    main()

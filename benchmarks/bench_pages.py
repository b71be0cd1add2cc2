"""Time the app's pages and Datasette's full CSV export on a large synthetic archive.

Run by hand (never in the test suite):

    .venv/bin/python benchmarks/bench_pages.py --claims 1000000          # builds benchmarks/.data/bench-1000000.db once
    .venv/bin/python benchmarks/bench_pages.py --db path/to/claimtrack.db # or measure an existing database

Prints the median of several runs per page (server-side time through the WSGI app, no network) and the
time, size and the server's peak memory of streaming full CSV exports from a real `claimtrack serve`.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

import httpx

from claimtrack import create_app
from claimtrack.db import make_engine
from claimtrack.schema import migrate
from claimtrack.services.synthetic import generate

HERE = Path(__file__).resolve().parent


def build(claims: int) -> Path:
    path = HERE / ".data" / f"bench-{claims}.db"
    if path.exists():
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    engine = make_engine(path)
    migrate(engine)
    started = time.perf_counter()
    report = generate(engine, claims=claims, seed=1)
    engine.dispose()
    print(f"generated {report} in {time.perf_counter() - started:.1f}s", file=sys.stderr)
    return path


def time_pages(db: Path, runs: int) -> None:
    app = create_app(
        {"DATABASE": str(db), "ACCOUNTS_DATABASE": str(db.parent / "bench-auth.db"), "SECRET_KEY": "bench"}
    )
    client = app.test_client()
    engine = make_engine(db)
    with engine.connect() as conn:
        max_id = conn.exec_driver_sql("SELECT max(id) FROM claims").scalar_one()
        event_id = conn.exec_driver_sql("SELECT event_id FROM claims WHERE event_id IS NOT NULL LIMIT 1").scalar_one()
        speaker_id = conn.exec_driver_sql(
            "SELECT affiliation_id FROM speakers WHERE affiliation_id IS NOT NULL LIMIT 1"
        ).scalar_one()
        busy_claim = conn.exec_driver_sql(
            "SELECT to_claim_id FROM claim_links GROUP BY to_claim_id ORDER BY count(*) DESC LIMIT 1"
        ).scalar_one()
    engine.dispose()
    pages = {
        "claims, first page": "/claims",
        "claims, deep page (keyset)": f"/claims?before={max(1, max_id // 50)}",
        "claims, full-text search": "/claims?q=evacuation",
        "claims, contested only": "/claims?relation=contradicts",
        "claims, one event": f"/claims?event={event_id}",
        "claim page, most-linked claim": f"/claims/{busy_claim}",
        "speaker page (with members)": f"/speakers/{speaker_id}",
        "event page": f"/events/{event_id}",
        "speakers list": "/speakers",
    }
    print(f"{'page':40} {'median ms':>10} {'max ms':>8}")
    for label, url in pages.items():
        times = []
        for _ in range(runs):
            started = time.perf_counter()
            response = client.get(url)
            times.append((time.perf_counter() - started) * 1000)
            assert response.status_code == 200, (url, response.status_code)
        print(f"{label:40} {statistics.median(times):10.1f} {max(times):8.1f}")


def time_exports(db: Path) -> None:
    """Stream full CSV exports from a real `claimtrack serve` over TCP; report the server's peak memory."""
    port = 8765
    env = dict(os.environ, CLAIMTRACK_DB=str(db), CLAIMTRACK_AUTH_DB=str(db.parent / "bench-auth.db"))
    server = subprocess.Popen(
        [str(Path(sys.executable).with_name("claimtrack")), "serve", "--port", str(port), "--no-seed"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        with httpx.Client(timeout=None) as client:
            for _ in range(100):
                try:
                    client.get(base + "/claims")
                    break
                except httpx.TransportError:
                    time.sleep(0.2)
            for url in (
                "/data/claimtrack/claims.csv?_stream=on",
                "/data/claimtrack/claim_links_readable.csv?_stream=on",
            ):
                started, size, lines = time.perf_counter(), 0, 0
                with client.stream("GET", base + url) as response:
                    assert response.status_code == 200
                    for chunk in response.iter_bytes():
                        size += len(chunk)
                        lines += chunk.count(b"\n")
                elapsed = time.perf_counter() - started
                print(
                    f"{url:60} {elapsed:7.1f}s {size / 1e6:8.1f} MB {lines:>9} lines  "
                    f"server peak RSS {peak_rss_mb(server.pid):.0f} MB"
                )
    finally:
        server.terminate()
        server.wait()


def peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--claims", type=int, default=100_000)
    parser.add_argument("--db", type=Path)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--no-export", action="store_true", help="skip the CSV exports")
    args = parser.parse_args()
    db = args.db or build(args.claims)
    time_pages(db, args.runs)
    if not args.no_export:
        time_exports(db)


if __name__ == "__main__":
    main()

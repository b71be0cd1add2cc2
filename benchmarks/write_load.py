"""Breaking-news write load against a real `claimtrack serve`, and the floor on the same server stack.

    .venv/bin/python -m benchmarks.write_load --db /path/archive.db --workers 1 2 4 --duration 45

For each worker count: a fresh copy of the archive, `claimtrack serve --workers N`, one editor signed in,
then ``--clients`` clients for ``--duration`` seconds: 40% new claims, 40% new links with a new statement,
20% claim pages. Every acknowledged write (303) is looked up in the database afterwards: "lost" must be 0.
Then a read phase: claim pages against a minimal primary-key route on the same archive. The floor is a
bare Flask app (one INSERT per request; one primary-key SELECT) served by the same uvicorn + a2wsgi stack.
The server's memory (RSS of every process) is sampled every 0.5 s.

Only 127.0.0.1, and bounded: at most 64 clients and 120 s per phase.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import re
import shutil
import signal
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

HOST = "127.0.0.1"
ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
PASSWORD = "load-test-password-1234"


# --- the floor: a bare Flask + SQLite app on the same server stack ------------------------------------


def floor_app() -> Any:
    """uvicorn factory: POST /insert writes one row; GET /pk/<id> reads one claim by primary key."""
    from a2wsgi import WSGIMiddleware
    from flask import Flask

    path = os.environ["CLAIMTRACK_DB"]
    local = threading.local()

    def conn() -> sqlite3.Connection:
        if not hasattr(local, "conn"):
            c = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
            c.execute("PRAGMA journal_mode = WAL")
            c.execute("PRAGMA synchronous = NORMAL")
            c.execute("PRAGMA busy_timeout = 5000")
            local.conn = c
        return local.conn  # type: ignore[no-any-return]

    app = Flask("floor")

    @app.post("/insert")
    def insert() -> tuple[str, int]:
        c = conn()
        c.execute("BEGIN IMMEDIATE")
        c.execute("INSERT INTO floor_writes (body, at) VALUES (?, ?)", ("x" * 100, time.time()))
        c.execute("COMMIT")
        return "ok", 201

    @app.get("/pk/<int:claim_id>")
    def pk(claim_id: int) -> str:
        row = conn().execute("SELECT id, text, speaker_id FROM claims WHERE id = ?", (claim_id,)).fetchone()
        return f"<p>{row[0]}: {row[1]}</p>" if row else "none"

    return WSGIMiddleware(app)  # type: ignore[arg-type]


# --- servers ---------------------------------------------------------------------------------------


def wait_until_up(port: int, proc: subprocess.Popen[bytes], timeout: float = 120) -> None:
    import httpx

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}")
        try:
            httpx.get(f"http://{HOST}:{port}/", timeout=2)
            return
        except httpx.HTTPError:
            time.sleep(0.3)
    raise RuntimeError("server did not start")


def start(cmd: list[str], env: dict[str, str], port: int, log: Path) -> subprocess.Popen[bytes]:
    with open(log, "ab") as out:
        proc = subprocess.Popen(cmd, env=env, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    wait_until_up(port, proc)
    return proc


def stop(proc: subprocess.Popen[bytes]) -> None:
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(30)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


class RssSampler(threading.Thread):
    """Largest resident set of each process of the server (uvicorn's supervisor and workers) and in total."""

    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self.pid, self.max_total, self.max_one, self.running = pid, 0, 0, True
        self.by_process: dict[str, int] = {}

    def _tree(self) -> list[int]:
        pids, parents = [self.pid], {}
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                parents[int(stat.parent.name)] = int(stat.read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, ValueError, IndexError):
                continue
        changed = True
        while changed:
            changed = False
            for pid, ppid in parents.items():
                if ppid in pids and pid not in pids:
                    pids.append(pid)
                    changed = True
        return pids

    def run(self) -> None:
        while self.running:
            sizes = []
            for pid in self._tree():
                try:
                    status = Path(f"/proc/{pid}/status").read_text()
                except OSError:
                    continue
                match = re.search(r"VmRSS:\s+(\d+) kB", status)
                name = re.search(r"Name:\s+(\S+)", status)
                if match:
                    sizes.append(int(match.group(1)) * 1024)
                    key = f"{pid} {name.group(1) if name else '?'}"
                    self.by_process[key] = max(self.by_process.get(key, 0), sizes[-1])
            if sizes:
                self.max_total = max(self.max_total, sum(sizes))
                self.max_one = max(self.max_one, max(sizes))
            time.sleep(0.5)


# --- clients ---------------------------------------------------------------------------------------


@dataclass
class Results:
    latencies: dict[str, list[float]] = field(default_factory=dict)
    statuses: dict[str, dict[int, int]] = field(default_factory=dict)
    acknowledged: list[str] = field(default_factory=list)
    seconds: float = 0.0

    def add(self, kind: str, status: int, latency: float) -> None:
        self.latencies.setdefault(kind, []).append(latency)
        bucket = self.statuses.setdefault(kind, {})
        bucket[status] = bucket.get(status, 0) + 1

    def summary(self, kinds: tuple[str, ...] | None = None) -> dict[str, Any]:
        chosen = [k for k in self.latencies if kinds is None or k in kinds]
        lat = sorted(x for k in chosen for x in self.latencies[k])
        if not lat:
            return {}
        return {
            "requests": len(lat),
            "per_s": round(len(lat) / self.seconds, 1),
            "p50_ms": round(statistics.median(lat) * 1000, 1),
            "p95_ms": round(lat[int(len(lat) * 0.95) - 1] * 1000, 1),
            "p99_ms": round(lat[int(len(lat) * 0.99) - 1] * 1000, 1),
            "statuses": {k: self.statuses[k] for k in chosen},
        }


def csrf(page: str) -> str:
    match = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page) or re.search(
        r'name="csrf_token" value="([^"]+)"', page
    )
    if not match:
        raise RuntimeError("no CSRF token on the page")
    return match.group(1)


async def sign_in(base: str) -> tuple[dict[str, str], str]:
    import httpx

    async with httpx.AsyncClient(base_url=base) as client:
        token = csrf((await client.get("/login")).text)
        response = await client.post("/login", data={"username": "bench", "password": PASSWORD, "csrf_token": token})
        if response.status_code != 303:
            raise RuntimeError(f"sign-in failed: {response.status_code}")
        form_token = csrf((await client.get("/claims/new")).text)
        return dict(client.cookies), form_token


async def run_mix(
    base: str, clients: int, seconds: float, mix: str, ids: list[int], seed: int, session: tuple[dict[str, str], str]
) -> Results:
    """``mix``: "writes" (40% claims, 40% links, 20% pages), "pages" (claim pages only), "floor-insert", "floor-pk".

    ``session``: the signed-in editor's cookies and form token, shared by every client."""
    import httpx

    results = Results()
    cookies, token = session
    deadline = time.monotonic() + seconds
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)

    async def client_loop(n: int, http: httpx.AsyncClient) -> None:
        rng = random.Random(seed * 1000 + n)
        i = 0
        while time.monotonic() < deadline:
            i += 1
            r = rng.random()
            text = f"Load {seed}-{n}-{i}: {rng.randint(10, 999)} people crossed the {rng.choice(['bridge', 'border', 'river'])}."
            started = time.perf_counter()
            if mix == "floor-insert":
                kind, response = "insert", await http.post("/insert")
            elif mix == "floor-pk":
                kind, response = "pk", await http.get(f"/pk/{rng.choice(ids)}")
            elif mix == "pages" or r >= 0.8:
                kind, response = "page", await http.get(f"/claims/{rng.choice(ids)}")
            else:
                form = {
                    "csrf_token": token,
                    "text": text,
                    "speaker": f"Load speaker {rng.randint(1, 300)}",
                    "speaker_kind": "person",
                    "event": f"Load event {rng.randint(1, 20)}",
                    "source_url": f"https://news.example/{seed}/{n}/{i}",
                    # Each report its own title: one shared title made every new source after the first a
                    # near name of it, and the save a 409 that measured the refusal page, not a write.
                    "source_title": f"Live report {seed}x{n}x{i}",
                    "outlet": f"Outlet {rng.randint(1, 50)}",
                    "stated_on": "2026-12-01",
                }
                if r < 0.4:
                    kind, response = "claim", await http.post("/claims/new", data=form)
                else:
                    form["relation"] = rng.choice(["contradicts", "supports", "qualifies"])
                    kind, response = "link", await http.post(f"/claims/{rng.choice(ids)}/links/new", data=form)
                if response.status_code == 303:
                    results.acknowledged.append(text)
            results.add(kind, response.status_code, time.perf_counter() - started)

    started = time.monotonic()
    async with httpx.AsyncClient(base_url=base, cookies=cookies, limits=limits, timeout=60) as http:
        await asyncio.gather(*(client_loop(n, http) for n in range(clients)))
    results.seconds = time.monotonic() - started
    return results


# --- one measurement -------------------------------------------------------------------------------


def copy_archive(source: Path, target: Path) -> None:
    with sqlite3.connect(source) as src, sqlite3.connect(target) as dst:
        src.backup(dst)
    with sqlite3.connect(target) as c:
        c.execute("PRAGMA journal_mode = WAL")
        c.execute("CREATE TABLE IF NOT EXISTS floor_writes (id INTEGER PRIMARY KEY, body TEXT, at REAL)")


def claim_ids(db: Path, n: int = 5000) -> list[int]:
    with sqlite3.connect(db) as c:
        return [r[0] for r in c.execute("SELECT id FROM claims WHERE retracted = 0 ORDER BY random() LIMIT ?", (n,))]


def lost_writes(db: Path, texts: list[str]) -> int:
    found = 0
    with sqlite3.connect(db) as c:
        for i in range(0, len(texts), 500):
            chunk = texts[i : i + 500]
            found += c.execute(
                f"SELECT count(*) FROM claims WHERE text IN ({','.join('?' * len(chunk))})", chunk
            ).fetchone()[0]
    return len(texts) - found


def measure(archive: Path, workers: int | None, args: argparse.Namespace, work: Path, port: int) -> dict[str, Any]:
    """``workers`` None: the floor app; else claimtrack serve with that many workers."""
    db = work / f"run-{workers or 'floor'}.db"
    copy_archive(archive, db)
    ids = claim_ids(db)
    auth = work / f"auth-{workers}.db"
    for suffix in ("", "-wal", "-shm"):  # a fresh accounts database for every run
        Path(str(auth) + suffix).unlink(missing_ok=True)
    env = dict(os.environ, CLAIMTRACK_DB=str(db), CLAIMTRACK_AUTH_DB=str(auth))
    env["CLAIMTRACK_SECRET_KEY"] = "load-test"
    log = work / "server.log"
    if workers is None:
        cmd = [str(BIN / "uvicorn"), "benchmarks.write_load:floor_app", "--factory", "--host", HOST]
        cmd += ["--port", str(port), "--log-level", "warning"]
    else:
        subprocess.run(
            [str(BIN / "claimtrack"), "user", "add", "bench", "--password-stdin"],
            input=PASSWORD.encode(),
            env=env,
            cwd=ROOT,
            check=True,
            capture_output=True,
        )
        cmd = [str(BIN / "claimtrack"), "serve", "--host", HOST, "--port", str(port), "--no-seed"]
        cmd += ["--workers", str(workers)]
    proc = start(cmd, env, port, log)
    base = f"http://{HOST}:{port}"
    # Signed in before memory is sampled: one argon2id check holds 19 MiB for its fraction of a second, which
    # is the sign-in's cost, not the write load's.
    session = asyncio.run(sign_in(base)) if workers is not None else ({}, "")
    sampler = RssSampler(proc.pid)
    sampler.start()
    try:
        if args.reads_only:
            write = Results(seconds=1.0)
            mix = "floor-pk" if workers is None else "pages"
            read = asyncio.run(run_mix(base, args.read_clients, args.duration, mix, ids, (workers or 0) + 100, session))
        elif workers is None:
            write = asyncio.run(run_mix(base, args.clients, args.duration, "floor-insert", ids, 1, session))
            read = asyncio.run(run_mix(base, args.read_clients, args.duration / 3, "floor-pk", ids, 2, session))
        else:
            write = asyncio.run(run_mix(base, args.clients, args.duration, "writes", ids, workers, session))
            pages = "pages"
            read = asyncio.run(run_mix(base, args.read_clients, args.duration / 3, pages, ids, workers + 100, session))
    finally:
        sampler.running = False
        stop(proc)
    result = {
        "workers": workers,
        "write_mix": write.summary(),
        "writes_only": write.summary(("claim", "link", "insert")),
        "pages_under_load": write.summary(("page",)),
        "read_phase": read.summary(),
        "acknowledged_writes": len(write.acknowledged),
        "lost_writes": lost_writes(db, write.acknowledged) if workers is not None else 0,
        "max_rss_mb_one_process": round(sampler.max_one / 2**20, 1),
        "max_rss_mb_all_processes": round(sampler.max_total / 2**20, 1),
        "max_rss_mb_by_process": {k: round(v / 2**20, 1) for k, v in sampler.by_process.items()},
    }
    for suffix in ("", "-wal", "-shm"):
        Path(str(db) + suffix).unlink(missing_ok=True)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--db", type=Path, required=True, help="a generated archive (claimtrack generate)")
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2, 4])
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--read-clients", type=int, default=8)
    parser.add_argument("--duration", type=float, default=45.0, help="seconds of the write mix per run")
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument(
        "--reads-only", action="store_true", help="only claim pages against the primary-key floor, for --duration"
    )
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args()
    args.clients = max(1, min(args.clients, 64))
    args.read_clients = max(1, min(args.read_clients, 64))
    args.duration = max(1.0, min(args.duration, 120.0))
    report: dict[str, Any] = {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "cpus": os.cpu_count(),
        "load_average_before": os.getloadavg(),
        "archive": str(args.db),
        "clients": args.clients,
        "duration_s": args.duration,
        "runs": [],
    }
    with sqlite3.connect(args.db) as c:
        report["archive_claims"] = c.execute("SELECT count(*) FROM claims").fetchone()[0]
    work = Path(tempfile.mkdtemp(prefix="claimtrack-load-"))
    try:
        for round_no in range(args.rounds):
            for workers in [None, *args.workers]:  # interleaved: the floor and each count in every round
                run = measure(args.db, workers, args, work, args.port)
                run["round"] = round_no + 1
                report["runs"].append(run)
                print(json.dumps(run), flush=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    report["load_average_after"] = os.getloadavg()
    if args.json:
        args.json.write_text(json.dumps(report, indent=2))
    print(json.dumps({k: v for k, v in report.items() if k != "runs"}))


if __name__ == "__main__":
    main()

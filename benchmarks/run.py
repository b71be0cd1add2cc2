"""Every figure of docs/performance.md, each against its floor measured in the same run, and the file itself.

    python -m benchmarks                          # 200,000 claims, 3 rounds, 60 s write load
    python -m benchmarks --claims 1000000         # the archive of the published figures
    python -m benchmarks --quick                  # short load and fewer samples, for a quick look

The archive is built once with the project's generator (``claimtrack generate``) and cached in
``benchmarks/.data/``; each run works on a copy (the write load adds rows). The harness starts the real
``claimtrack serve`` and the floor server (benchmarks/floor.py) on 127.0.0.1, then runs every figure,
claimtrack and floor one after the other, in every round; the document shows the median of the rounds.
Load is bounded in clients, count and time, and only ever sent to 127.0.0.1.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import os
import platform
import random
import re
import shutil
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
BIN = Path(sys.executable).parent
EDITOR = ("bench-editor", "bench-editor-password-1")
HOST = "127.0.0.1"


# --- figures ----------------------------------------------------------------------------------


@dataclass
class Figure:
    key: str
    title: str
    unit: str  # "ms", "s", "req/s", "MB", "x"
    target: str
    higher_is_better: bool = False
    as_speed: bool = False  # a time whose ratio reads as speed: floor time / this time
    floor_title: str = ""
    values: list[float] = field(default_factory=list)  # claimtrack, one per round
    floors: list[float] = field(default_factory=list)  # the floor, one per round
    notes: list[str] = field(default_factory=list)
    meets: Callable[[float, float | None], bool] | None = None  # (value, floor) -> at target?

    @property
    def value(self) -> float | None:
        return statistics.median(self.values) if self.values else None

    @property
    def floor(self) -> float | None:
        return statistics.median(self.floors) if self.floors else None

    def ratio(self) -> str:
        if self.value is None or not self.floor:
            return ""
        if self.higher_is_better:
            return f"{100 * self.value / self.floor:.0f}% of floor"
        if self.as_speed:
            return f"{100 * self.floor / self.value:.0f}% of floor speed"
        return f"{self.value / self.floor:.1f}x floor"


def _fmt(value: float | None, unit: str) -> str:
    if value is None:
        return "n/a"
    if unit == "ms":
        return f"{value:.2f} ms" if value < 1 else f"{value:.1f} ms" if value < 100 else f"{value:.0f} ms"
    if unit == "s":
        return f"{value:.2f} s"
    if unit == "req/s":
        return f"{value:.0f} req/s"
    if unit == "MB":
        return f"{value:.0f} MB"
    if unit == "":
        return f"{value:.0f}"
    return f"{value:.2f}{unit}"


# --- processes ----------------------------------------------------------------------------------


def free_port() -> int:
    with closing(socket.socket()) as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


def wait_until_up(url: str, proc: subprocess.Popen[bytes], timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode} before answering {url}")
        try:
            if httpx.get(url, timeout=5).status_code < 500:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"{url} did not answer within {timeout} s")


@contextmanager
def served(args: list[str], env: dict[str, str], probe: str, log: Path) -> Iterator[subprocess.Popen[bytes]]:
    with log.open("wb") as out:
        proc = subprocess.Popen(args, env=env, stdout=out, stderr=subprocess.STDOUT, cwd=ROOT)
        try:
            wait_until_up(probe, proc)
            yield proc
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def rss_mb(pid: int, field_name: str = "VmRSS") -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field_name + ":"):
            return int(line.split()[1]) / 1024
    return float("nan")


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of a server process and its worker processes so far (from /proc).

    CPU per request moves far less with the machine's other load than requests per second do."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue  # a process that ended meanwhile
        if int(stat.parent.name) == pid or int(fields[1]) == pid:  # the server, or a worker it started
            total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / tick


# --- the archive ----------------------------------------------------------------------------------


def build_archive(claims: int, data_dir: Path) -> Path:
    """The generated archive for ``claims`` claims, built once with ``claimtrack generate``."""
    path = data_dir / f"bench-{claims}.db"
    if path.exists():
        return path
    data_dir.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".partial.db")
    for leftover in data_dir.glob(partial.name + "*"):
        leftover.unlink()
    env = dict(os.environ, CLAIMTRACK_DB=str(partial), CLAIMTRACK_AUTH_DB=str(data_dir / "bench-auth.db"))
    started = time.perf_counter()
    subprocess.run([str(BIN / "claimtrack"), "generate", "--claims", str(claims)], env=env, check=True, cwd=ROOT)
    with closing(sqlite3.connect(partial)) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    partial.rename(path)
    print(f"built {path.name} in {time.perf_counter() - started:.0f} s", file=sys.stderr)
    return path


def working_copy(archive: Path, folder: Path) -> Path:
    """A private copy to write into, made with SQLite's backup API (never a file copy of a live WAL)."""
    copy = folder / "claimtrack.db"
    with closing(sqlite3.connect(archive)) as source, closing(sqlite3.connect(copy)) as target:
        source.backup(target)
    return copy


def scalar(db: Path, sql: str, *params: Any) -> Any:
    with closing(sqlite3.connect(f"file:{db}?mode=ro", uri=True)) as conn:
        return conn.execute(sql, params).fetchone()[0]


# --- measuring ------------------------------------------------------------------------------------


def percentile(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(p / 100 * (len(ordered) - 1))))]


def time_gets(base: str, paths: list[str]) -> list[float]:
    """Milliseconds per GET, one after the other, each answer read whole (and expected to be 200)."""
    times = []
    with httpx.Client(base_url=base, timeout=60) as client:
        client.get(paths[0])  # warm the connection
        for path in paths:
            started = time.perf_counter()
            response = client.get(path)
            times.append((time.perf_counter() - started) * 1000)
            if response.status_code != 200:
                raise RuntimeError(f"{path}: {response.status_code} {response.text[:200]}")
    return times


def time_in_process(db: Path, sql: str, params: tuple[Any, ...], runs: int) -> float:
    """Median milliseconds of one SQL statement fetched whole, on a read-only connection."""
    with closing(sqlite3.connect(f"file:{db}?mode=ro", uri=True)) as conn:
        conn.execute(sql, params).fetchall()
        times = []
        for _ in range(runs):
            started = time.perf_counter()
            conn.execute(sql, params).fetchall()
            times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def stream_seconds(url: str, server_pid: int) -> tuple[float, int, float]:
    """Seconds to read a whole streamed answer, its size, and the server's peak RSS so far (MB)."""
    started = time.perf_counter()
    size = 0
    with httpx.Client(timeout=None) as client, client.stream("GET", url) as response:
        if response.status_code != 200:
            raise RuntimeError(f"{url}: {response.status_code}")
        for chunk in response.iter_raw():
            size += len(chunk)
    return time.perf_counter() - started, size, rss_mb(server_pid, "VmHWM")


def sqlite_cli_seconds(db: Path, sql: str) -> float:
    """``sqlite3 -csv -header`` of one SELECT into /dev/null: the floor of a CSV export."""
    cli = shutil.which("sqlite3")
    if cli is None:
        raise RuntimeError("Debian's sqlite3 is needed for the export floors: apt-get install -y sqlite3")
    started = time.perf_counter()
    subprocess.run([cli, "-csv", "-header", f"file:{db}?mode=ro", sql], check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - started


@dataclass
class LoadResult:
    requests: int
    seconds: float
    latencies_ms: list[float]
    acked_writes: int
    failures: int
    peak_rss_mb: float
    server_cpu_s: float = 0.0  # CPU seconds the server used during the window
    # CPU seconds this process (the load generator: httpx clients on one event loop) used during the window:
    # it runs on the same cores as the server, so what it takes per request is not left for the server.
    client_cpu_s: float = 0.0
    sign_in_peak_mb: float = 0.0  # the server's peak RSS (VmHWM) once the load's sign-in is done

    @property
    def cpu_ms_per_request(self) -> float:
        return self.server_cpu_s * 1000 / max(1, self.requests)

    @property
    def client_cpu_ms_per_request(self) -> float:
        return self.client_cpu_s * 1000 / max(1, self.requests)

    @property
    def throughput(self) -> float:
        return self.requests / self.seconds


async def _load(
    base: str, clients: int, seconds: float, write_share: float, prepare: Any, write: Any, read: Any, server_pid: int
) -> LoadResult:
    """``clients`` clients, each one request after another for ``seconds``: a write with probability
    ``write_share``, else a read. Sign-ins and form tokens come first and are not timed."""
    latencies: list[float] = []
    counts = {"acked": 0, "failures": 0}
    peak = rss_mb(server_pid)
    ready = 0
    go = asyncio.Event()
    window = {"end": 0.0}

    async def client_loop(n: int) -> None:
        nonlocal ready
        rng = random.Random(n)
        async with httpx.AsyncClient(base_url=base, timeout=30, follow_redirects=False) as client:
            try:
                state = await prepare(client, n)
            except BaseException:
                go.set()  # nobody waits for the others: the run fails with this error
                raise
            ready += 1
            if ready == clients:
                window["end"] = time.monotonic() + seconds
                go.set()
            await go.wait()
            i = 0
            while time.monotonic() < window["end"]:
                i += 1
                started = time.perf_counter()
                try:
                    if rng.random() < write_share:
                        ok = await write(client, state, n, i, rng)
                        counts["acked"] += ok
                    else:
                        ok = await read(client, rng)
                except httpx.HTTPError:
                    ok = False
                latencies.append((time.perf_counter() - started) * 1000)
                counts["failures"] += not ok

    async def sample_memory() -> None:
        nonlocal peak
        await go.wait()
        while time.monotonic() < window["end"]:
            peak = max(peak, rss_mb(server_pid))
            await asyncio.sleep(0.1)

    memory = asyncio.create_task(sample_memory())
    loops = [asyncio.create_task(client_loop(n)) for n in range(clients)]
    await go.wait()
    began, cpu_began, client_began = time.monotonic(), cpu_seconds(server_pid), time.process_time()
    await asyncio.gather(*loops)  # each ends with its request in flight at the end of the window
    elapsed, cpu = time.monotonic() - began, cpu_seconds(server_pid) - cpu_began
    client_cpu = time.process_time() - client_began
    await memory
    return LoadResult(
        len(latencies), elapsed, latencies, counts["acked"], counts["failures"], peak, cpu, client_cpu_s=client_cpu
    )


CSRF = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"')


async def _sign_in(client: httpx.AsyncClient) -> str:
    page = await client.get("/login")
    token = CSRF.search(page.text)
    if token is None:
        raise RuntimeError("no CSRF token on /login")
    response = await client.post(
        "/login", data={"username": EDITOR[0], "password": EDITOR[1], "csrf_token": token.group(1)}
    )
    if response.status_code != 303:
        raise RuntimeError(f"sign-in failed: {response.status_code}")
    form = await client.get("/claims/new")
    token = CSRF.search(form.text)
    if token is None:
        raise RuntimeError("no CSRF token on /claims/new")
    return token.group(1)


def _signed_in(
    base: str, sign_in: Callable[[httpx.AsyncClient], Awaitable[str]]
) -> Callable[[httpx.AsyncClient, int], Awaitable[str]]:
    """Signs in once (sign-ins are rate-limited per address); the load's ``prepare``, which gives every client
    that session and returns the form token ``sign_in`` returned."""

    async def sign_in_once() -> tuple[httpx.Cookies, str]:
        async with httpx.AsyncClient(base_url=base, timeout=30, follow_redirects=False) as client:
            token = await sign_in(client)
            return client.cookies, token

    cookies, csrf = asyncio.run(sign_in_once())

    async def prepare(client: httpx.AsyncClient, n: int) -> str:
        client.cookies = httpx.Cookies(cookies)
        return csrf

    return prepare


def _statement_form(text: str, speaker: str, token: str, link: bool) -> dict[str, str]:
    """A write of the load: a new statement (with a link's relation when ``link``)."""
    data = {"text": f"{text} about the evacuation", "speaker": speaker, "csrf_token": token}
    if link:
        data["relation"] = "contradicts"
    return data


def app_load(base: str, tag: str, max_id: int, clients: int, seconds: float, pid: int) -> LoadResult:
    """The issue's breaking-news load on claimtrack: 80% writes (half new claims, half new statements linked
    to an existing claim), 20% claim pages; a write counts as acknowledged on its 303. One editor signs in
    once (sign-ins are rate-limited per address) and every client uses that session."""

    prepare = _signed_in(base, _sign_in)
    sign_in_peak = rss_mb(pid, "VmHWM")

    async def write(client: httpx.AsyncClient, token: str, n: int, i: int, rng: random.Random) -> bool:
        data = _statement_form(f"Bench {tag} statement {n}-{i}", f"Bench speaker {n % 8}", token, link=bool(i % 2))
        url = f"/claims/{rng.randint(1, max_id)}/links/new" if i % 2 else "/claims/new"
        return (await client.post(url, data=data)).status_code == 303

    async def read(client: httpx.AsyncClient, rng: random.Random) -> bool:
        return (await client.get(f"/claims/{rng.randint(1, max_id)}")).status_code == 200

    result = asyncio.run(_load(base, clients, seconds, 0.8, prepare, write, read, pid))
    result.sign_in_peak_mb = sign_in_peak
    return result


def floor_load(base: str, max_id: int, clients: int, seconds: float, pid: int) -> LoadResult:
    async def prepare(client: httpx.AsyncClient, n: int) -> None:
        return None

    async def write(client: httpx.AsyncClient, state: None, n: int, i: int, rng: random.Random) -> bool:
        return (await client.post("/insert")).status_code == 201

    async def read(client: httpx.AsyncClient, rng: random.Random) -> bool:
        return (await client.get(f"/claim/{rng.randint(1, max_id)}")).status_code == 200

    return asyncio.run(_load(base, clients, seconds, 0.8, prepare, write, read, pid))


def stack_floor_load(base: str, max_id: int, clients: int, seconds: float, pid: int) -> LoadResult:
    """The same mix on the floor app's stack floor (benchmarks/floor.py): writes are signed-in form POSTs
    (session, user load, CSRF, a form of the same fields, one INSERT, a message, 303), reads the bare floor's."""

    async def sign_in(client: httpx.AsyncClient) -> str:
        response = await client.get("/stack/sign-in")
        response.raise_for_status()
        return response.text

    prepare = _signed_in(base, sign_in)

    async def write(client: httpx.AsyncClient, token: str, n: int, i: int, rng: random.Random) -> bool:
        data = _statement_form(f"Floor statement {n}-{i}", f"Speaker {n % 8}", token, link=bool(i % 2))
        return (await client.post("/stack/new", data=data)).status_code == 303

    async def read(client: httpx.AsyncClient, rng: random.Random) -> bool:
        return (await client.get(f"/claim/{rng.randint(1, max_id)}")).status_code == 200

    return asyncio.run(_load(base, clients, seconds, 0.8, prepare, write, read, pid))


# --- the run --------------------------------------------------------------------------------------


# Groups of figures that --figures selects (each measured with its floor); all of them by default.
FIGURE_GROUPS: dict[str, tuple[str, ...]] = {
    "load": ("load_throughput", "load_p95", "load_p99", "load_lost", "memory_peak"),
    "search": ("claims_q",),
    "datasette": ("datasette_search", "datasette_search_count"),
    "csv": ("csv_claims", "csv_links"),
    "view": ("view_select",),
    "page": ("claim_page",),
}


@dataclass
class Options:
    claims: int
    rounds: int
    load_seconds: float
    clients: int
    samples: int
    data_dir: Path
    output: Path
    command: str
    groups: frozenset[str] = frozenset(FIGURE_GROUPS)
    workers: int | None = None  # claimtrack serve --workers; None: serve's own default


def figures() -> dict[str, Figure]:
    return {
        f.key: f
        for f in (
            Figure(
                "load_throughput",
                "Write load: {clients} clients, 80% writes (new claims, new links), 20% claim pages",
                "req/s",
                "≥ 300 req/s",
                higher_is_better=True,
                floor_title="bare Flask + SQLite route, one insert per request, same server stack",
                meets=lambda v, f: v >= 300,
            ),
            Figure(
                "load_p95",
                "Write load: p95 latency",
                "ms",
                "< 200 ms",
                floor_title="same floor, p95",
                meets=lambda v, f: v < 200,
            ),
            Figure("load_p99", "Write load: p99 latency", "ms", "", floor_title="same floor, p99"),
            Figure(
                "load_lost", "Write load: acknowledged writes lost", "", "0", floor_title="", meets=lambda v, f: v == 0
            ),
            Figure(
                "claims_q",
                "`/claims?q=the` (a word in every claim), median",
                "ms",
                "≤ 50 ms",
                floor_title="raw FTS5 query of the page's 50 rows, in process",
                meets=lambda v, f: v <= 50,
            ),
            Figure(
                "datasette_search",
                "Datasette `/data/claimtrack/claims?_search=evacuation`, median",
                "ms",
                "≤ 300 ms",
                floor_title="the same FTS5 query (a page of rows), in process",
                meets=lambda v, f: v <= 300,
            ),
            Figure(
                "datasette_search_count",
                "(for reference) the count of those matches, in process",
                "ms",
                "",
                floor_title="",
            ),
            Figure(
                "csv_claims",
                "Full CSV `claims.csv?_stream=on&_size=max`",
                "s",
                "≥ 50% of floor speed",
                as_speed=True,
                floor_title="`sqlite3 -csv` of the same SELECT",
                meets=lambda v, f: f is not None and v <= 2 * f,
            ),
            Figure(
                "csv_links",
                "Full CSV `claim_links_readable.csv?_stream=on&_size=max`",
                "s",
                "≥ 50% of floor speed",
                as_speed=True,
                floor_title="`sqlite3 -csv` of the view",
                meets=lambda v, f: f is not None and v <= 2 * f,
            ),
            Figure(
                "view_select",
                "`SELECT * FROM claim_links_readable` (sqlite3 CLI)",
                "s",
                "≤ 3x floor",
                floor_title="a plain join of the same columns (without the two source lists)",
                meets=lambda v, f: f is not None and v <= 3 * f,
            ),
            Figure(
                "claim_page",
                "Claim page `/claims/<id>`, p95",
                "ms",
                "≤ 1.5x floor",
                floor_title="minimal route, primary-key lookup on the same file, same server stack",
                meets=lambda v, f: f is not None and v <= 1.5 * f,
            ),
            Figure(
                "memory_idle", "Serving memory (RSS), idle after start", "MB", "< 150 MB", meets=lambda v, f: v < 150
            ),
            Figure(
                "memory_peak",
                "Serving memory, peak (under the write load and during exports)",
                "MB",
                "< 150 MB",
                meets=lambda v, f: v < 150,
            ),
        )
    }


PLAIN_JOIN = """SELECT l.id, l.relation, l.to_claim_id, c.text, csp.name, caf.name, c.stated_on, l.from_claim_id,
o.text, osp.name, osp.kind, oaf.name, o.verbatim, o.stated_on, ev.name, l.note, l.created_at, l.retracted,
l.retracted_reason
FROM claim_links l JOIN claims c ON c.id = l.to_claim_id JOIN speakers csp ON csp.id = c.speaker_id
LEFT JOIN speakers caf ON caf.id = csp.affiliation_id LEFT JOIN events ev ON ev.id = c.event_id
JOIN claims o ON o.id = l.from_claim_id JOIN speakers osp ON osp.id = o.speaker_id
LEFT JOIN speakers oaf ON oaf.id = osp.affiliation_id ORDER BY l.id"""


def run(options: Options) -> dict[str, Figure]:
    archive = build_archive(options.claims, options.data_dir)
    found = figures()
    found["load_throughput"].title = found["load_throughput"].title.format(clients=options.clients)
    with tempfile.TemporaryDirectory(prefix="claimtrack-bench-") as tmp:
        work = Path(tmp)
        db = working_copy(archive, work)
        auth = work / "auth.db"
        env = dict(
            os.environ, CLAIMTRACK_DB=str(db), CLAIMTRACK_AUTH_DB=str(auth), CLAIMTRACK_SECRET_KEY="bench-secret-key"
        )
        subprocess.run(
            [str(BIN / "claimtrack"), "user", "add", EDITOR[0], "--role", "editor", "--password-stdin"],
            input=(EDITOR[1] + "\n").encode(),
            env=env,
            check=True,
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
        )
        from benchmarks.floor import prepare_accounts_db, prepare_write_db

        floor_write, floor_accounts = work / "floor-writes.db", work / "floor-accounts.db"
        prepare_write_db(str(floor_write))
        prepare_accounts_db(str(floor_accounts))
        app_port, floor_port = free_port(), free_port()
        app_base, floor_base = f"http://{HOST}:{app_port}", f"http://{HOST}:{floor_port}"
        floor_env = dict(
            os.environ, FLOOR_READ_DB=str(db), FLOOR_WRITE_DB=str(floor_write), FLOOR_ACCOUNTS_DB=str(floor_accounts)
        )
        app_args = [str(BIN / "claimtrack"), "serve", "--host", HOST, "--port", str(app_port), "--no-seed"]
        if options.workers is not None:
            app_args += ["--workers", str(options.workers)]
        floor_args = [
            sys.executable,
            "-m",
            "uvicorn",
            "benchmarks.floor:app",
            "--host",
            HOST,
            "--port",
            str(floor_port),
            "--log-level",
            "warning",
        ]
        with (
            served(app_args, env, app_base + "/claims", work / "serve.log") as app,
            served(floor_args, floor_env, floor_base + "/claim/1", work / "floor.log") as floor,
        ):
            time.sleep(1)
            found["memory_idle"].values.append(rss_mb(app.pid))
            max_id = scalar(db, "SELECT max(id) FROM claims")
            for round_ in range(options.rounds):
                print(f"round {round_ + 1}/{options.rounds}", file=sys.stderr)
                _round(options, found, db, app, floor, app_base, floor_base, max_id, round_)
            if "load" in options.groups:
                found["memory_peak"].values.append(rss_mb(app.pid, "VmHWM"))
        if "view" in options.groups:
            _view_floor(options, found, db)
    return found


def _round(
    options: Options,
    found: dict[str, Figure],
    db: Path,
    app: subprocess.Popen[bytes],
    floor: subprocess.Popen[bytes],
    app_base: str,
    floor_base: str,
    max_id: int,
    round_: int,
) -> None:
    rng = random.Random(round_)
    if "load" in options.groups:
        _load_figures(options, found, db, app, floor, app_base, floor_base, max_id, round_)
    n = options.samples
    if "search" in options.groups:
        # /claims?q=the, then the raw FTS5 query of its 50 rows.
        found["claims_q"].values.append(statistics.median(time_gets(app_base, ["/claims?q=the"] * n)))
        found["claims_q"].floors.append(
            time_in_process(
                db, "SELECT rowid FROM claims_fts WHERE claims_fts MATCH 'the' ORDER BY rowid DESC LIMIT 50", (), n
            )
        )
    if "datasette" in options.groups:
        _datasette_figures(options, found, db, app_base)
    if "csv" in options.groups:
        _csv_figures(found, db, app, app_base, round_)
    if "page" in options.groups:
        # Claim pages, then the minimal route.
        ids = [rng.randint(1, max_id) for _ in range(n * 4)]
        found["claim_page"].values.append(percentile(time_gets(app_base, [f"/claims/{i}" for i in ids]), 95))
        found["claim_page"].floors.append(percentile(time_gets(floor_base, [f"/claim/{i}" for i in ids]), 95))


def _load_figures(
    options: Options,
    found: dict[str, Figure],
    db: Path,
    app: subprocess.Popen[bytes],
    floor: subprocess.Popen[bytes],
    app_base: str,
    floor_base: str,
    max_id: int,
    round_: int,
) -> None:
    # Write load, then its floor.
    tag = f"r{round_}-{int(time.time())}"
    before = scalar(db, "SELECT count(*) FROM claims")
    peak_before = rss_mb(app.pid, "VmHWM")
    result = app_load(app_base, tag, max_id, options.clients, options.load_seconds, app.pid)
    peak_after = rss_mb(app.pid, "VmHWM")
    added = scalar(db, "SELECT count(*) FROM claims") - before
    floor_result = floor_load(floor_base, max_id, options.clients, options.load_seconds, floor.pid)
    # What the required libraries alone cost a signed-in form POST: shown beside the figure, not as its floor.
    stack = stack_floor_load(floor_base, max_id, options.clients, options.load_seconds, floor.pid)
    found["load_throughput"].values.append(result.throughput)
    found["load_throughput"].floors.append(floor_result.throughput)
    found["load_p95"].values.append(percentile(result.latencies_ms, 95))
    found["load_p95"].floors.append(percentile(floor_result.latencies_ms, 95))
    found["load_p99"].values.append(percentile(result.latencies_ms, 99))
    found["load_p99"].floors.append(percentile(floor_result.latencies_ms, 99))
    # Every acknowledged write (a claim, or a statement with its link) must be in the file.
    found["load_lost"].values.append(max(0, result.acked_writes - added))
    found["load_lost"].notes.append(
        f"round {round_ + 1}: {result.acked_writes} acknowledged, {added} claims "
        f"added, {result.failures} failed or refused requests; server CPU {result.cpu_ms_per_request:.2f} ms "
        f"per request (floor {floor_result.cpu_ms_per_request:.2f} ms); stack floor (signed-in form POSTs: "
        f"session, user load, CSRF, form, one INSERT, message, 303) {stack.throughput:.0f} req/s, p95 "
        f"{percentile(stack.latencies_ms, 95):.0f} ms, server CPU {stack.cpu_ms_per_request:.2f} ms per request, "
        f"{stack.failures} failed; the load generator's own CPU on the same cores "
        f"{result.client_cpu_ms_per_request:.2f} ms per request (floor {floor_result.client_cpu_ms_per_request:.2f}"
        f" ms, stack floor {stack.client_cpu_ms_per_request:.2f} ms)"
    )
    found["memory_peak"].notes.append(
        f"round {round_ + 1}: RSS sampled during the write load, at most {result.peak_rss_mb:.0f} MB; the "
        f"process's peak (VmHWM) {peak_before:.0f} MB before the load, {result.sign_in_peak_mb:.0f} MB after its "
        f"sign-in (argon2id), {peak_after:.0f} MB after the load"
    )


def _datasette_figures(options: Options, found: dict[str, Figure], db: Path, app_base: str) -> None:
    n = options.samples
    # Datasette's search page, the same FTS5 query, and the count alone.
    found["datasette_search"].values.append(
        statistics.median(time_gets(app_base, ["/data/claimtrack/claims?_search=evacuation"] * n))
    )
    found["datasette_search"].floors.append(
        time_in_process(
            db,
            "SELECT c.* FROM claims_fts f JOIN claims c ON c.id = f.rowid WHERE claims_fts MATCH 'evacuation' "
            "ORDER BY f.rowid LIMIT 101",
            (),
            n,
        )
    )
    found["datasette_search_count"].values.append(
        time_in_process(db, "SELECT count(*) FROM claims_fts WHERE claims_fts MATCH 'evacuation'", (), max(1, n // 4))
    )


def _csv_figures(found: dict[str, Figure], db: Path, app: subprocess.Popen[bytes], app_base: str, round_: int) -> None:
    # Full CSV exports, then sqlite3 -csv of the same SELECT.
    for key, name, sql in (
        ("csv_claims", "claims", "SELECT * FROM claims ORDER BY id"),
        ("csv_links", "claim_links_readable", "SELECT * FROM claim_links_readable ORDER BY link_id"),
    ):
        cpu_before = cpu_seconds(app.pid)
        seconds, size, peak = stream_seconds(f"{app_base}/data/claimtrack/{name}.csv?_stream=on&_size=max", app.pid)
        cpu = cpu_seconds(app.pid) - cpu_before
        found[key].values.append(seconds)
        found[key].floors.append(sqlite_cli_seconds(db, sql))
        # The server's CPU seconds beside its wall-clock seconds: with two readers the export can use both cores.
        found[key].notes.append(
            f"round {round_ + 1}: {size / 1e6:.0f} MB, server CPU {cpu:.1f} s, server peak RSS {peak:.0f} MB"
        )


def _view_floor(options: Options, found: dict[str, Figure], db: Path) -> None:
    for _ in range(options.rounds if "view" in options.groups else 0):
        found["view_select"].values.append(sqlite_cli_seconds(db, "SELECT * FROM claim_links_readable"))
        found["view_select"].floors.append(sqlite_cli_seconds(db, PLAIN_JOIN))


# --- the document ---------------------------------------------------------------------------------


def machine() -> str:
    cpus = os.cpu_count()
    mem = ""
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemTotal:"):
            mem = f"{int(line.split()[1]) / 1024 / 1024:.0f} GiB"
    model = ""
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            model = line.split(":", 1)[1].strip()
            break
    return (
        f"{cpus} cores ({model}), {mem} RAM, {platform.system()} {platform.release()}, "
        f"Python {platform.python_version()}, SQLite {sqlite3.sqlite_version}"
    )


def load_average() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def write_document(
    options: Options, found: dict[str, Figure], started: dt.datetime, load_before: str, archive: Path
) -> str:
    claims = scalar(archive, "SELECT count(*) FROM claims")
    links = scalar(archive, "SELECT count(*) FROM claim_links")
    lines = [
        "# Performance",
        "",
        "Written by `python -m benchmarks` (benchmarks/run.py); do not edit by hand, run it again.",
        "",
        f"- Date: {started:%Y-%m-%d %H:%M} UTC",
        f"- Machine: {machine()}",
        f"- Load average (1, 5, 15 min): {load_before} before the run, {load_average()} after it "
        "(other work shares these cores: compare each figure with its floor, measured in the same round)",
        f"- Command: `{options.command}`",
        f"- Archive: {claims:,} generated claims, {links:,} links (`claimtrack generate --claims {options.claims}`)",
        f"- Rounds: {options.rounds}, every figure and its floor one after the other in each round; "
        f"the table shows medians. Write load: {options.clients} clients for {options.load_seconds:g} s per round.",
        "",
        "| Figure | claimtrack | Floor | Ratio | Target | At target |",
        "|---|---|---|---|---|---|",
    ]
    # Figures left out with --figures are not in the document at all (rather than shown as n/a).
    shown = [f for f in found.values() if f.values]
    for f in shown:
        at = ""
        if f.meets is not None and f.value is not None:
            at = "yes" if f.meets(f.value, f.floor) else "**no**"
        floor = f"{_fmt(f.floor, f.unit)}: {f.floor_title}" if f.floors else f.floor_title
        lines.append(f"| {f.title} | {_fmt(f.value, f.unit)} | {floor} | {f.ratio()} | {f.target} | {at} |")
    lines += ["", "## Every round", ""]
    for f in shown:
        rounds = ", ".join(_fmt(v, f.unit) for v in f.values)
        floors = ", ".join(_fmt(v, f.unit) for v in f.floors)
        lines.append(f"- {f.title}: {rounds}" + (f"; floor {floors}" if floors else ""))
        lines += [f"  - {note}" for note in f.notes]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--claims", type=int, default=200_000, help="size of the generated archive")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="5 s write load and fewer samples per figure")
    parser.add_argument("--load-seconds", type=float, help="write load per round (default 60, --quick 5)")
    parser.add_argument("--clients", type=int, default=32, help="concurrent clients of the write load (max 64)")
    parser.add_argument("--data-dir", type=Path, default=HERE / ".data", help="where the archive is cached")
    parser.add_argument("--output", type=Path, default=ROOT / "docs" / "performance.md")
    parser.add_argument(
        "--figures",
        nargs="+",
        choices=sorted(FIGURE_GROUPS),
        help="measure only these figures (each with its floor); the idle memory is always measured",
    )
    parser.add_argument(
        "--workers", type=int, help="worker processes of claimtrack serve (default: its own default, 1); 1..8"
    )
    args = parser.parse_args(argv)
    if args.workers is not None and not 1 <= args.workers <= 8:
        parser.error("--workers 1..8")
    if not 1 <= args.clients <= 64 or args.rounds < 1 or args.claims < 100:
        parser.error("--clients 1..64, --rounds ≥ 1, --claims ≥ 100")
    load_seconds = args.load_seconds or (5.0 if args.quick else 60.0)
    options = Options(
        args.claims,
        args.rounds,
        min(load_seconds, 300.0),
        args.clients,
        10 if args.quick else 40,
        args.data_dir,
        args.output,
        "python -m benchmarks " + " ".join(argv if argv is not None else sys.argv[1:]),
        frozenset(args.figures or FIGURE_GROUPS),
        args.workers,
    )
    started = dt.datetime.now(dt.UTC)
    load_before = load_average()
    found = run(options)
    text = write_document(options, found, started, load_before, build_archive(options.claims, options.data_dir))
    # The analysis that goes with the figures (what was done, tried, and why a figure is where it is).
    notes = HERE / "performance-notes.md"
    if notes.exists():
        text += notes.read_text(encoding="utf-8")
    options.output.parent.mkdir(parents=True, exist_ok=True)
    options.output.write_text(text, encoding="utf-8")
    print(text)

"""Nothing acknowledged is ever lost: concurrent writers in several processes, and a served instance killed
with SIGKILL in the middle of a write load.

Writes take ``BEGIN IMMEDIATE`` with a busy timeout on a WAL database, so a read-modify-write inside a write
session cannot lose an update, and a committed write survives the process that made it being killed.
Everything here runs on loopback, on a fresh database in a temporary folder, bounded in count and time.
"""

from __future__ import annotations

import itertools
import json
import os
import random
import re
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
from helpers import connect, query
from server_fixture import (
    EDITOR,
    STARTUP_TIMEOUT,
    claimtrack_command,
    free_port,
    sign_in_http,
    stop,
    wait_until_up,
)
from sqlalchemy import Engine
from test_history import form_values

from claimtrack.db import write_session
from claimtrack.models import ClaimCreate, SpeakerCreate
from claimtrack.services.claims import create_claim

pytestmark = pytest.mark.slow

PROCESSES = 4
THREADS = 2  # per process
EDITS = 15  # per thread: read-modify-write of one shared claim
LINKS = 8  # per thread: a new statement linked to the shared claim
KILL_ROUNDS = 3
HTTP_TIMEOUT = 10.0


# --- helpers --------------------------------------------------------------------------------


def assert_healthy(db_path: Path) -> None:
    with connect(db_path) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert conn.execute("PRAGMA foreign_key_check").fetchall() == []


def assert_history_chain(db_path: Path, claim_id: int, field_name: str) -> list[sqlite3.Row]:
    """Each recorded change of the field starts from the value the previous one left: no write was based on a stale read."""
    rows = query(
        db_path,
        "SELECT username, action, old_value, new_value FROM change_history WHERE entity = 'claim'"
        " AND entity_id = ? AND field = ? ORDER BY id",
        claim_id,
        field_name,
    )
    for previous, row in itertools.pairwise(rows):
        assert row["old_value"] == previous["new_value"], "a change was recorded on top of a stale value"
    return [row for row in rows if row["action"] == "edit"]


# --- several processes, each with its own engine ------------------------------------------------

WORKER = r"""
import json, os, sys, threading, time
from claimtrack.db import make_engine, write_session
from claimtrack.models import Claim, ClaimCreate, ClaimUpdate, Event, LinkCreate, Speaker, SpeakerCreate
from claimtrack.services.claims import update_claim
from claimtrack.services.links import add_link

db, worker, threads, edits, links, target, ready, go = sys.argv[1:]
threads, edits, links, target = int(threads), int(edits), int(links), int(target)
engine = make_engine(db)
acked = {"edits": [], "links": []}
errors = []
lock = threading.Lock()

def append_token(name, token):
    # Read the claim, add to its context, save it: all inside one write session (BEGIN IMMEDIATE).
    with write_session(engine, actor=name) as session:
        claim = session.get(Claim, target)
        speaker = session.get(Speaker, claim.speaker_id)
        event = session.get(Event, claim.event_id) if claim.event_id else None
        data = ClaimUpdate(text=claim.text, verbatim=claim.verbatim, stated_on=claim.stated_on,
                           context=(claim.context or "") + token, verdict=claim.verdict,
                           speaker=SpeakerCreate(name=speaker.name), event=event.name if event else None)
        update_claim(session, target, data, expected_version=claim.version)

def add_statement(name, text):
    with write_session(engine, actor=name) as session:
        add_link(session, target, LinkCreate(relation="supports", note=name,
                 new_claim=ClaimCreate(text=text, speaker=SpeakerCreate(name=f"Speaker {name}"))))

def run(t):
    name = f"worker-{worker}.{t}"
    try:
        for i in range(max(edits, links)):
            if i < edits:
                token = f"<{worker}.{t}.{i}>"
                append_token(name, token)
                with lock:
                    acked["edits"].append(token)
            if i < links:
                text = f"Statement {i} of {name}"
                add_statement(name, text)
                with lock:
                    acked["links"].append(text)
    except BaseException as exc:
        errors.append(repr(exc))

# Imported and connected: say so, then wait for the test to start every process at once.
open(ready, "w").close()
while not os.path.exists(go):
    time.sleep(0.005)
pool = [threading.Thread(target=run, args=(t,)) for t in range(threads)]
for p in pool:
    p.start()
for p in pool:
    p.join()
engine.dispose()
print(json.dumps({"acked": acked, "errors": errors}))
"""


def test_concurrent_writers_in_several_processes_lose_nothing(engine: Engine, db_path: Path, tmp_path: Path) -> None:
    with write_session(engine, actor="test") as session:
        target = create_claim(
            session,
            ClaimCreate(
                text="A claim everyone edits at once.",
                speaker=SpeakerCreate(name="Shared speaker"),
                event="Shared event",
            ),
        )
    engine.dispose()
    go = tmp_path / "go"  # created once every process has imported and connected: all start together
    ready = [tmp_path / f"worker-{worker}.ready" for worker in range(PROCESSES)]
    logs = []
    procs = []
    for worker in range(PROCESSES):
        out = (tmp_path / f"worker-{worker}.out").open("w+")
        logs.append(out)
        procs.append(
            subprocess.Popen(
                [
                    sys.executable,
                    "-c",
                    WORKER,
                    str(db_path),
                    str(worker),
                    str(THREADS),
                    str(EDITS),
                    str(LINKS),
                    str(target.id),
                    str(ready[worker]),
                    str(go),
                ],
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
            )
        )
    results = []
    try:
        deadline = time.monotonic() + 60
        while not all(path.exists() for path in ready):
            assert all(proc.poll() is None for proc in procs), "a writer process exited before it was ready"
            assert time.monotonic() < deadline, "the writer processes did not get ready within 60 s"
            time.sleep(0.02)
        go.touch()
        for proc, out in zip(procs, logs):
            proc.wait(timeout=60)
            out.seek(0)
            output = out.read()
            assert proc.returncode == 0, output
            results.append(json.loads(output.strip().splitlines()[-1]))
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
            proc.wait()
        for out in logs:
            out.close()

    for result in results:
        assert result["errors"] == []
    tokens = [t for r in results for t in r["acked"]["edits"]]
    texts = [t for r in results for t in r["acked"]["links"]]
    total_edits = PROCESSES * THREADS * EDITS
    assert len(tokens) == total_edits and len(texts) == PROCESSES * THREADS * LINKS

    # Every acknowledged append is in the context exactly once, and nothing else is.
    context, version = query(db_path, "SELECT context, version FROM claims WHERE id = ?", target.id)[0]
    assert sorted(re.findall(r"<[^>]+>", context)) == sorted(tokens)
    # The version moved on once per edit: a counter nobody lost an increment of.
    assert version == 1 + total_edits
    # The edit history has one entry per edit, each starting where the last one ended.
    chain = assert_history_chain(db_path, target.id, "context")
    assert len(chain) == total_edits
    assert chain[-1]["new_value"] == context
    assert {r["username"] for r in chain} == {f"worker-{w}.{t}" for w in range(PROCESSES) for t in range(THREADS)}

    # Every acknowledged link and its new statement are there, once.
    linked = query(
        db_path,
        "SELECT c.text FROM claim_links l JOIN claims c ON c.id = l.from_claim_id WHERE l.to_claim_id = ?",
        target.id,
    )
    assert sorted(r[0] for r in linked) == sorted(texts)
    assert query(db_path, "SELECT count(*) FROM claims")[0][0] == 1 + len(texts)
    assert query(db_path, "SELECT count(*) FROM change_history WHERE action = 'link' AND field = 'relation'")[0][
        0
    ] == len(texts)
    assert_healthy(db_path)


# --- a served instance ---------------------------------------------------------------------------


def server_env(workdir: Path) -> dict[str, str]:
    """A fresh database folder with an editor account, and the environment `claimtrack serve` runs with."""
    db = workdir / "db" / "claimtrack.db"
    db.parent.mkdir(parents=True, exist_ok=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith("CLAIMTRACK_")}
    env.update(CLAIMTRACK_DB=str(db), CLAIMTRACK_AUTH_DB=str(db.parent / "auth.db"), PYTHONUNBUFFERED="1")
    subprocess.run(
        [*claimtrack_command(), "user", "add", EDITOR[0], "--role", "editor", "--password-stdin"],
        cwd=workdir,
        env=env,
        input=(EDITOR[1] + "\n").encode(),
        check=True,
        capture_output=True,
    )
    return env


def launch(workdir: Path, env: dict[str, str], name: str, workers: int = 1) -> tuple[subprocess.Popen[bytes], str]:
    for attempt in range(3):
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        log_path = workdir / f"{name}-{attempt}.log"
        with log_path.open("wb") as log:
            proc = subprocess.Popen(
                [*claimtrack_command(), "serve", "--host", "127.0.0.1", "--port", str(port), "--workers", str(workers)],
                cwd=workdir,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        if wait_until_up(proc, url, time.monotonic() + STARTUP_TIMEOUT, log_path):
            return proc, url
        stop(proc)
        if "address already in use" not in log_path.read_text(errors="replace").lower():
            break
    pytest.fail(f"claimtrack serve did not start:\n{log_path.read_text(errors='replace')}")


@contextmanager
def server_logs_on_failure(workdir: Path) -> Iterator[None]:
    """A failure's report carries the server's own log (a 500's traceback, a startup error)."""
    try:
        yield
    except Exception as exc:
        logs = "\n".join(
            f"--- {p.name}\n{p.read_text(errors='replace')[-4000:]}" for p in sorted(workdir.glob("*.log"))
        )
        raise AssertionError(f"{exc!r}\n{logs}") from exc


def kill(proc: subprocess.Popen[bytes]) -> None:
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert proc.returncode == -signal.SIGKILL


def form_token(client: httpx.Client, url: str) -> str:
    page = client.get(url)
    assert page.status_code == 200, (url, page.status_code)
    match = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page.text)
    assert match, f"no CSRF token on {url}"
    return match.group(1)


@dataclass
class Load:
    """Writers posting to a served instance until told to stop; they keep what got a success response."""

    url: str
    target: int
    threads: int = 4
    stop: threading.Event = field(default_factory=threading.Event)
    acked_claims: list[str] = field(default_factory=list)
    acked_links: list[str] = field(default_factory=list)
    unexpected: list[str] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _pool: list[threading.Thread] = field(default_factory=list)

    def start(self, label: str) -> None:
        ready = threading.Barrier(self.threads + 1)
        for n in range(self.threads):
            thread = threading.Thread(target=self._run, args=(f"{label}-{n}", ready), daemon=True)
            thread.start()
            self._pool.append(thread)
        ready.wait(timeout=30)

    def _run(self, name: str, ready: threading.Barrier) -> None:
        with httpx.Client(base_url=self.url, timeout=HTTP_TIMEOUT, follow_redirects=False) as client:
            try:
                sign_in_http(client, EDITOR)
                token = form_token(client, "/claims/new")
            finally:
                ready.wait(timeout=30)
            i = 0
            while not self.stop.is_set():
                i += 1
                text = f"Durable statement {i} by {name}"
                link = i % 3 == 0
                url = f"/claims/{self.target}/links/new" if link else "/claims/new"
                data = {"text": text, "speaker": f"Load {name}", "csrf_token": token}
                if link:
                    data["relation"] = "contradicts"
                try:
                    response = client.post(url, data=data)
                except httpx.TransportError:
                    continue  # the server died under this request: its outcome is unknown, nothing was promised
                with self._lock:
                    if response.status_code == 303:
                        (self.acked_links if link else self.acked_claims).append(text)
                    else:
                        self.unexpected.append(f"{response.status_code}: {response.text[:300]}")

    def finish(self) -> None:
        self.stop.set()
        for thread in self._pool:
            thread.join(timeout=HTTP_TIMEOUT + 5)
            assert not thread.is_alive()
        self._pool.clear()
        self.stop.clear()


def test_sigkill_under_write_load_loses_no_acknowledged_write(tmp_path: Path) -> None:
    with server_logs_on_failure(tmp_path):
        env = server_env(tmp_path)
        db = Path(env["CLAIMTRACK_DB"])
        rng = random.Random(4)
        acked_claims: list[str] = []
        acked_links: list[str] = []
        target = 0
        for round_ in range(KILL_ROUNDS):
            proc, url = launch(tmp_path, env, f"round-{round_}")
            if not target:
                target = query(db, "SELECT min(id) FROM claims")[0][0]  # the server seeded the empty database
            load = Load(url=url, target=target)
            try:
                load.start(f"r{round_}")
                time.sleep(rng.uniform(1.0, 2.0))  # under load ...
                kill(proc)  # ... and then killed mid-write
            finally:
                if proc.poll() is None:
                    proc.kill()
                    proc.wait()
                load.finish()
            assert load.unexpected == [], load.unexpected[:3]
            assert len(load.acked_claims) + len(load.acked_links) >= 10, (
                "the load made too few writes to prove anything"
            )
            acked_claims += load.acked_claims
            acked_links += load.acked_links

            # After each crash: the file is healthy and every acknowledged write is in it.
            assert_healthy(db)
            stored = {
                r[0]: r[1] for r in query(db, "SELECT text, id FROM claims WHERE text LIKE 'Durable statement %'")
            }
            missing = [t for t in acked_claims + acked_links if t not in stored]
            assert not missing, f"{len(missing)} acknowledged writes lost after SIGKILL: {missing[:5]}"
            linked = {
                r[0]
                for r in query(
                    db,
                    "SELECT c.text FROM claim_links l JOIN claims c ON c.id = l.from_claim_id WHERE l.to_claim_id = ?",
                    target,
                )
            }
            assert set(acked_links) <= linked
            # Each write is whole: a claim is never there without its history.
            orphans = query(
                db,
                "SELECT c.id FROM claims c WHERE c.text LIKE 'Durable statement %' AND NOT EXISTS"
                " (SELECT 1 FROM change_history h WHERE h.entity = 'claim' AND h.entity_id = c.id"
                " AND h.action = 'create' AND h.field = 'text' AND h.username = ?)",
                EDITOR[0],
            )
            assert orphans == []
            texts = [r[0] for r in query(db, "SELECT text FROM claims WHERE text LIKE 'Durable statement %'")]
            assert len(texts) == len(set(texts)), "a write was applied twice"

        # The service comes back after the last crash and serves what was acknowledged.
        proc, url = launch(tmp_path, env, "after")
        try:
            with httpx.Client(base_url=url, timeout=HTTP_TIMEOUT) as client:
                last = stored[acked_claims[-1]]
                page = client.get(f"/claims/{last}")
                assert page.status_code == 200 and acked_claims[-1] in page.text
        finally:
            stop(proc)
        assert_healthy(db)


# --- read-modify-write over HTTP, two worker processes -----------------------------------------------


def test_concurrent_http_edits_across_workers_lose_nothing(tmp_path: Path) -> None:
    """Editors in parallel append to one claim through its edit form; a save on a stale version gets 409 and is
    retried from the fresh form. Every save that got 303 is in the result; none overwrote another."""
    with server_logs_on_failure(tmp_path):
        env = server_env(tmp_path)
        db = Path(env["CLAIMTRACK_DB"])
        proc, url = launch(tmp_path, env, "workers", workers=2)
        editors, saves = 4, 8
        acked: list[str] = []
        conflicts: list[int] = []
        problems: list[str] = []
        lock = threading.Lock()
        try:
            claim = query(db, "SELECT min(id) FROM claims")[0][0]
            start = threading.Barrier(editors)

            def editor(n: int) -> None:
                with httpx.Client(base_url=url, timeout=HTTP_TIMEOUT, follow_redirects=False) as client:
                    sign_in_http(client, EDITOR)
                    start.wait(timeout=30)
                    done = 0
                    for _attempt in range(saves * 20):
                        if done == saves:
                            return
                        form = edit_form(client, f"/claims/{claim}/edit")
                        token = f"<e{n}.{done}>"
                        form["context"] = [(form.get("context") or [""])[0] + token]
                        response = client.post(f"/claims/{claim}/edit", data=form)
                        with lock:
                            if response.status_code == 303:
                                acked.append(token)
                                done += 1
                            elif response.status_code == 409:
                                conflicts.append(n)
                            else:
                                problems.append(f"{response.status_code}: {response.text[:300]}")
                                return
                    with lock:
                        problems.append(f"editor {n} saved only {done} times")

            run_threads([lambda n=n: editor(n) for n in range(editors)])
        finally:
            stop(proc)
        assert problems == []
        context, version = query(db, "SELECT context, version FROM claims WHERE id = ?", claim)[0]
        assert sorted(re.findall(r"<e\d+\.\d+>", context)) == sorted(acked)
        assert len(acked) == editors * saves
        assert version == 1 + len(acked)
        assert len(assert_history_chain(db, claim, "context")) == len(acked)
        assert_healthy(db)


def edit_form(client: httpx.Client, url: str) -> dict[str, list[str]]:
    """What a browser would submit from the edit form, as rendered now (current version and CSRF token included)."""
    page = client.get(url)
    assert page.status_code == 200, (url, page.status_code)
    return form_values(page.text)


def run_threads(targets: list[Callable[[], None]]) -> None:
    errors: list[BaseException] = []

    def guarded(target: Callable[[], None]) -> None:
        try:
            target()
        except BaseException as exc:  # re-raised below, in the test's thread
            errors.append(exc)

    pool = [threading.Thread(target=guarded, args=(t,)) for t in targets]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join(timeout=60)
    if errors:
        raise errors[0]

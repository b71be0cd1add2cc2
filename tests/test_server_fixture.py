"""The served-process fixture under parallel test workers: an answer on the port is this server's only
once its own log says it listens there."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from server_fixture import stop, wait_until_up


class _Ok(BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # the name http.server calls
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        pass  # keep the test's output clean


@pytest.fixture
def other_server() -> Iterator[str]:
    """Someone else's server answering 200 on a port (another worker's claimtrack, say)."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Ok)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


@pytest.fixture
def silent_process() -> Iterator[subprocess.Popen[bytes]]:
    """A live process that has not (yet) bound the port: it only sleeps."""
    proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"], stdin=subprocess.DEVNULL)
    try:
        yield proc
    finally:
        stop(proc)


def test_an_answer_from_another_server_on_the_port_is_not_taken_for_ours(
    other_server: str, silent_process: subprocess.Popen[bytes], tmp_path: Path
) -> None:
    log = tmp_path / "server.log"
    log.write_text("INFO:     Started server process\n")
    assert not wait_until_up(silent_process, other_server, time.monotonic() + 1.0, log)


def test_the_server_is_up_once_its_log_says_it_listens_on_the_url_and_it_answers(
    other_server: str, silent_process: subprocess.Popen[bytes], tmp_path: Path
) -> None:
    log = tmp_path / "server.log"
    log.write_text(f"INFO:     Uvicorn running on {other_server} (Press CTRL+C to quit)\n")
    assert wait_until_up(silent_process, other_server, time.monotonic() + 10.0, log)

"""The benchmark harness runs end to end on a tiny archive (one round, a short load), so it cannot rot.

No timing is asserted: only that every figure of docs/performance.md is measured and written with its floor.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from claimtrack.config import PROJECT_ROOT

pytestmark = pytest.mark.slow

FIGURES = (
    "Write load: 4 clients",
    "p95 latency",
    "acknowledged writes lost",
    "`/claims?q=the`",
    "`/data/claimtrack/claims?_search=evacuation`",
    "claims.csv?_stream=on",
    "claim_links_readable.csv?_stream=on",
    "SELECT * FROM claim_links_readable",
    "Claim page",
    "Serving memory (RSS), idle",
    "Serving memory, peak",
)


NEEDS_SQLITE3 = pytest.mark.skipif(
    shutil.which("sqlite3") is None, reason="needs Debian's sqlite3 (make bench installs it)"
)


def run_harness(tmp_path: Path, *args: str) -> str:
    """``python -m benchmarks ARGS`` with its archive cached in tmp_path/data; the document it wrote."""
    output = tmp_path / "performance.md"
    result = subprocess.run(
        [sys.executable, "-m", "benchmarks", *args, "--data-dir", str(tmp_path / "data"), "--output", str(output)],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return output.read_text(encoding="utf-8")


@NEEDS_SQLITE3
def test_the_harness_measures_every_figure_and_writes_the_document(tmp_path: Path) -> None:
    text = run_harness(
        tmp_path, "--claims", "1500", "--rounds", "1", "--quick", "--load-seconds", "1", "--clients", "4"
    )
    assert "- Date: " in text and "- Machine: " in text and "- Load average" in text
    assert "- Command: `python -m benchmarks --claims 1500" in text
    rows = [line for line in text.splitlines() if line.startswith("| ") and not line.startswith("| Figure")]
    for figure in FIGURES:
        matching = [row for row in rows if figure in row]
        assert matching, figure
        claimtrack_cell = matching[0].split(" | ")[1]
        assert re.search(r"\d", claimtrack_cell), (figure, matching[0])  # measured, not "n/a"
    # Every write the load got acknowledged is in the database.
    lost = next(row for row in rows if "acknowledged writes lost" in row)
    assert lost.split(" | ")[1] == "0", lost
    assert re.search(r"round 1: [1-9]\d* acknowledged", text)
    # The load generator shares the cores: its own CPU per request is reported for the app and both floors.
    generator = re.search(
        r"generator's own CPU on the same cores (\d+\.\d+) ms per request \(floor (\d+\.\d+) ms", text
    )
    assert generator is not None and float(generator.group(1)) > 0 and float(generator.group(2)) > 0
    # The archive was built once, in the data folder given, and is reused.
    assert (tmp_path / "data" / "bench-1500.db").exists()


@NEEDS_SQLITE3
def test_figures_selects_what_is_measured_and_written(tmp_path: Path) -> None:
    text = run_harness(tmp_path, "--claims", "300", "--rounds", "1", "--quick", "--figures", "search", "page")
    rows = [line for line in text.splitlines() if line.startswith("| ")]
    measured = [row.split(" | ")[0].lstrip("| ") for row in rows if not row.startswith("| Figure")]
    assert len(measured) == 3, measured
    assert any("`/claims?q=the`" in m for m in measured)
    assert any("Claim page" in m for m in measured)
    assert any("idle" in m for m in measured)
    for row in rows[2:]:
        assert re.search(r"\d", row.split(" | ")[1]), row

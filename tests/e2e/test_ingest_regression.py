"""CI guard for ingest: a small run of ``bench/ingest.py`` must store every span exactly once.

This prints the rate it reached but asserts only correctness (no timing assertions): the full
benchmark with its figures lives in ``bench/`` and ``bench/RESULTS.md``.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.server import free_port

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.e2e
@pytest.mark.slow
def test_small_ingest_benchmark_stores_every_span_exactly_once() -> None:
    result = subprocess.run(
        [
            sys.executable,
            str(ROOT / "bench" / "ingest.py"),
            "--targets",
            "tracerail",
            "--window",
            "4",
            "--senders",
            "4",
            "--batch",
            "200",
            "--bodies",
            "40",
            "--port",
            str(free_port()),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    print(result.stdout)
    assert result.returncode == 0, result.stdout + result.stderr
    line = next(
        row for row in result.stdout.splitlines() if row.strip().startswith("tracerail (chDB)")
    )
    assert "exactly once" in line
    assert int(re.search(r"([\d,]+) spans/s", line).group(1).replace(",", "")) > 0  # type: ignore[union-attr]

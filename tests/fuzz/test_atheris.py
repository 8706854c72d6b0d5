"""Run the atheris target for a bounded number of inputs (it exits non-zero on a crash)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("atheris", reason="atheris has no wheel for this platform/Python")

TARGET = Path(__file__).with_name("atheris_otlp.py")


def test_otlp_decoders_survive_fuzzing(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, str(TARGET), "-atheris_runs=20000", "-max_len=4096", "-seed=1"],
        capture_output=True,
        text=True,
        timeout=240,
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "Done 20000 in" in result.stderr

"""The ``tracerail`` command and the ``make run`` demo, as real subprocesses."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.server import free_port

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.e2e


def _tracerail(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "tracerail", *args], capture_output=True, text=True, timeout=timeout
    )


def test_help_lists_commands() -> None:
    result = _tracerail("--help")
    assert result.returncode == 0
    assert "collector" in result.stdout
    serve = _tracerail("collector", "serve", "--help")
    assert serve.returncode == 0
    for option in ("--host", "--port", "--storage"):
        assert option in serve.stdout


def test_migrate_command_is_idempotent(tmp_path: Path) -> None:
    storage = f"chdb://{tmp_path / 'chdb'}"
    first = _tracerail("collector", "migrate", "--storage", storage)
    assert first.returncode == 0, first.stderr
    assert "applied migrations: 1" in first.stdout
    second = _tracerail("collector", "migrate", "--storage", storage)
    assert second.returncode == 0, second.stderr
    assert "up to date" in second.stdout


@pytest.mark.slow
def test_make_run_demo_shows_traces(tmp_path: Path) -> None:
    """What ``make run`` runs: collector subprocess + quickstart + the printed query hints."""
    port = free_port()
    result = subprocess.run(
        [
            sys.executable,
            str(ROOT / "examples" / "run_demo.py"),
            "--port",
            str(port),
            "--grpc-port",
            "0",
            "--data-dir",
            str(tmp_path),
            "--exit",
        ],
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "the collector stored" in result.stdout
    assert f"curl 'http://127.0.0.1:{port}/api/v1/traces/" in result.stdout
    assert "generation" in result.stdout

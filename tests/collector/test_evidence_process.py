"""Signed checkpoints and evidence packs end to end with a real collector process: the real SDK
sends spans, the collector signs its heads on its schedule, then (collector stopped) the
`tracerail audit verify`, `export-pack` and `verify-pack` commands run as processes."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from typer.testing import CliRunner

import tracerail
from tests.support.subprocess_collector import CollectorProcess
from tracerail import semconv
from tracerail.collector.cli import app

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


def _tracerail(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "tracerail", *args],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "TRACERAIL_AUTH": "off"},
    )


def _newest_signing(sink: Path) -> int:
    signed = [json.loads(p.read_text())["signed_at_ns"] for p in sink.glob("*/*/*.json")]
    return max(signed, default=0)


def test_scheduled_checkpoints_verify_and_export_a_pack(tmp_path: Path) -> None:
    key, sink = tmp_path / "k.pem", tmp_path / "sink"
    assert CliRunner().invoke(app, ["audit", "keygen", "-o", str(key)]).exit_code == 0
    collector = CollectorProcess(
        tmp_path / "collector",
        env={
            "TRACERAIL_CHECKPOINT_KEY_FILE": str(key),
            "TRACERAIL_CHECKPOINT_INTERVAL_SECONDS": "0.5",
            "TRACERAIL_CHECKPOINT_DIR": str(sink),
        },
    )
    try:
        collector.start()
        provider = TracerProvider(resource=Resource.create({semconv.SERVICE_NAME: "app"}))
        tracerail.init(endpoint=collector.base_url, tracer_provider=provider)
        try:

            @tracerail.observe(kind="generation", name="chat m")
            def answer(i: int) -> str:
                return f"answer {i}"

            for i in range(5):
                answer(i)
            assert tracerail.flush()
        finally:
            tracerail.shutdown()
        # Wait for a signing that started after the spans had time to be inserted.
        after = time.time_ns() + 3_000_000_000
        deadline = time.monotonic() + 90
        while _newest_signing(sink) < after and time.monotonic() < deadline:
            time.sleep(0.2)
        assert _newest_signing(sink) >= after, collector.log and collector.log.read_text()[-2000:]
    finally:
        collector.stop()
    storage = ["--storage", collector.chdb_dsn, "--checkpoint-dir", str(sink)]
    verified = _tracerail("audit", "verify", *storage)
    assert verified.returncode == 0, verified.stdout + verified.stderr
    assert "ledger verified" in verified.stdout
    signed = re.search(r"checked (\d+) signed checkpoint", verified.stdout)
    assert signed is not None and int(signed[1]) >= 2
    now = datetime.now(UTC)
    pack = tmp_path / "pack.zip"
    exported = _tracerail(
        "audit",
        "export-pack",
        "--project",
        "default",
        "--from",
        (now - timedelta(hours=1)).isoformat(),
        "--to",
        (now + timedelta(hours=1)).isoformat(),
        "-o",
        str(pack),
        *storage,
    )
    assert exported.returncode == 0, exported.stdout + exported.stderr
    checked = _tracerail("audit", "verify-pack", str(pack), "--json")
    assert checked.returncode == 0, checked.stdout + checked.stderr
    result = json.loads(checked.stdout)
    assert result["ok"] and result["recomputed"]["volume.calls"] == 5

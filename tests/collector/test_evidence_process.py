"""Signed checkpoints and evidence packs end to end with a real collector process: the real SDK
sends spans, the collector signs its heads on its schedule, then (collector stopped) the
`tracerail audit verify`, `export-pack` and `verify-pack` commands run as processes."""

from __future__ import annotations

import base64
import json
import os
import re
import subprocess
import sys
import time
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from typer.testing import CliRunner

import tracerail
from tests.collector.test_evidence_pack import BLOCKER
from tests.support.subprocess_collector import CollectorProcess
from tests.support.tsa import TimeStampAuthority
from tracerail import semconv
from tracerail.collector.cli import app
from tracerail.evidence import pack as fmt
from tracerail.evidence.pack import verify_pack

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


def _tracerail(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "tracerail", *args],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "TRACERAIL_AUTH": "off"},
    )


def _send_generations(endpoint: str, count: int) -> None:
    """``count`` generations through the real SDK, flushed to the collector."""
    provider = TracerProvider(resource=Resource.create({semconv.SERVICE_NAME: "app"}))
    tracerail.init(endpoint=endpoint, tracer_provider=provider)
    try:

        @tracerail.observe(kind="generation", name="chat m")
        def answer(i: int) -> str:
            return f"answer {i}"

        for i in range(count):
            answer(i)
        assert tracerail.flush()
    finally:
        tracerail.shutdown()


def _period() -> list[str]:
    """--from / --to around now (the hour the spans were sent in)."""
    now = datetime.now(UTC)
    return [
        "--from",
        (now - timedelta(hours=1)).isoformat(),
        "--to",
        (now + timedelta(hours=1)).isoformat(),
    ]


def _signing_collector(
    folder: Path, *, interval: str, **env: str
) -> tuple[CollectorProcess, Path, Path]:
    """A collector (not started) with a new signing key, the schedule ``interval`` and a sink;
    returns it, the key file and the sink."""
    key, sink = folder / "k.pem", folder / "sink"
    assert CliRunner().invoke(app, ["audit", "keygen", "-o", str(key)]).exit_code == 0
    settings = {
        "TRACERAIL_CHECKPOINT_KEY_FILE": str(key),
        "TRACERAIL_CHECKPOINT_INTERVAL_SECONDS": interval,
        "TRACERAIL_CHECKPOINT_DIR": str(sink),
    }
    return CollectorProcess(folder / "collector", env={**settings, **env}), key, sink


def _newest_signing(sink: Path) -> int:
    signed = [json.loads(p.read_text())["signed_at_ns"] for p in sink.glob("*/*/*.json")]
    return max(signed, default=0)


def test_scheduled_checkpoints_verify_and_export_a_pack(tmp_path: Path) -> None:
    collector, _, sink = _signing_collector(tmp_path, interval="0.5")
    try:
        collector.start()
        _send_generations(collector.base_url, 5)
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
    pack = tmp_path / "pack.zip"
    exported = _tracerail(
        "audit", "export-pack", "--project", "default", *_period(), "-o", str(pack), *storage
    )
    assert exported.returncode == 0, exported.stdout + exported.stderr
    checked = _tracerail("audit", "verify-pack", str(pack), "--json")
    assert checked.returncode == 0, checked.stdout + checked.stderr
    result = json.loads(checked.stdout)
    assert result["ok"] and result["recomputed"]["volume.calls"] == 5


@dataclass
class StampedRun:
    """What the time-stamped run left: the command outputs, the sink, the pack."""

    outputs: dict[str, subprocess.CompletedProcess[str]]
    tsa_requests: int
    sink: Path
    pack: Path
    tsa_pem: Path


@pytest.fixture(scope="module")
def stamped(tmp_path_factory: pytest.TempPathFactory) -> StampedRun:
    """A TSA on 127.0.0.1 stamps the checkpoint a running collector (TRACERAIL_TSA_URL) signs
    on demand, and the one `audit checkpoint --tsa-url` signs once it stopped; then `audit
    verify` and `export-pack` run."""
    tmp = tmp_path_factory.mktemp("stamped")
    authority = TimeStampAuthority.generate()
    tsa = authority.serve()
    collector, key, sink = _signing_collector(tmp, interval="0", TRACERAIL_TSA_URL=tsa.url)
    outputs: dict[str, subprocess.CompletedProcess[str]] = {}
    storage = ["--storage", collector.chdb_dsn, "--checkpoint-dir", str(sink)]
    try:
        collector.start()
        _send_generations(collector.base_url, 3)
        deadline = time.monotonic() + 90
        while _ledger_seq(collector.base_url) == 0:
            assert time.monotonic() < deadline, "the ledger stayed empty"
            time.sleep(0.2)
        outputs["on_demand"] = _tracerail("audit", "checkpoint", "--endpoint", collector.base_url)
        collector.stop()
        outputs["local"] = _tracerail(
            "audit", "checkpoint", "--key-file", str(key), "--tsa-url", tsa.url, *storage
        )
    finally:
        collector.stop()
        tsa.stop()
    outputs["verify"] = _tracerail("audit", "verify", *storage)
    pack = tmp / "pack.zip"
    outputs["export"] = _tracerail(
        "audit", "export-pack", "--project", "default", *_period(), "-o", str(pack), *storage
    )
    (tmp / "tsa.pem").write_bytes(_pem(authority.certificate))
    return StampedRun(outputs, authority.requests, sink, pack, tmp / "tsa.pem")


def _ledger_seq(base_url: str) -> int:
    head = httpx.get(f"{base_url}/api/v1/audit/ledger/head", timeout=30)
    assert head.status_code == 200, head.text
    return int(head.json()["seq"])


def _pem(der: bytes) -> bytes:
    return x509.load_der_x509_certificate(der).public_bytes(serialization.Encoding.PEM)


def _ok(done: subprocess.CompletedProcess[str]) -> str:
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def test_checkpoints_of_the_collector_and_the_cli_are_time_stamped(stamped: StampedRun) -> None:
    assert "time-stamped" in _ok(stamped.outputs["on_demand"])
    assert "time-stamped" in _ok(stamped.outputs["local"])
    assert stamped.tsa_requests == 2
    assert len(list(stamped.sink.glob("*/*/*.tsr"))) == 2
    verified = _ok(stamped.outputs["verify"])
    assert verified.count(" time-stamped ") == 2, verified
    assert "ledger verified" in verified


def test_verify_pack_checks_the_tokens_offline(stamped: StampedRun, tmp_path: Path) -> None:
    _ok(stamped.outputs["export"])
    checked = _ok(
        _tracerail("audit", "verify-pack", str(stamped.pack), "--tsa-cert", str(stamped.tsa_pem))
    )
    assert checked.count("time-stamped: checkpoint of batch") == 2, checked
    assert "CN=tracerail test TSA" in checked
    # The same, where the collector, clickhouse_connect and chdb cannot be imported.
    offline = subprocess.run(
        [sys.executable, "-c", BLOCKER, str(stamped.pack), "--tsa-cert", str(stamped.tsa_pem)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert _ok(offline).count("time-stamped: checkpoint of batch") == 2
    swapped = _edit(stamped.pack, fmt.TIMESTAMPS, _swap_tokens, tmp_path)
    tampered = _tracerail("audit", "verify-pack", str(swapped))
    assert tampered.returncode == 1
    assert "TAMPERED: TIMESTAMP MISMATCH: checkpoint of batch" in tampered.stdout
    # Only another TSA's certificate trusted: the genuine tokens are refused.
    other = tmp_path / "other.pem"
    other.write_bytes(_pem(TimeStampAuthority.generate().certificate))
    pinned = _tracerail("audit", "verify-pack", str(stamped.pack), "--tsa-cert", str(other))
    assert pinned.returncode == 1
    assert "TAMPERED: TIMESTAMP INVALID" in pinned.stdout


def _edit(pack: Path, name: str, change: Callable[[bytes], bytes], folder: Path) -> Path:
    edited = folder / f"edited-{name}.zip"
    with zipfile.ZipFile(pack) as src, zipfile.ZipFile(edited, "w") as dst:
        for item in src.namelist():
            data = src.read(item)
            dst.writestr(item, change(data) if item == name else data)
    return edited


def _token_lines(data: bytes) -> list[dict[str, Any]]:
    return [json.loads(line) for line in data.decode().splitlines()]


def _joined(lines: list[dict[str, Any]]) -> bytes:
    return "".join(json.dumps(line) + "\n" for line in lines).encode()


def _swap_tokens(data: bytes) -> bytes:
    first, second = _token_lines(data)
    first["token"], second["token"] = second["token"], first["token"]
    return _joined([first, second])


def _change_token_byte(data: bytes) -> bytes:
    lines = _token_lines(data)
    token = bytearray(base64.b64decode(lines[0]["token"]))
    token[-1] ^= 1  # the last byte of the TSA's signature
    lines[0]["token"] = base64.b64encode(bytes(token)).decode()
    return _joined(lines)


def _other_certificate(data: bytes) -> bytes:
    return _pem(TimeStampAuthority.generate().certificate)


def _drop_tokens(data: bytes) -> bytes:
    return b""


@pytest.mark.parametrize(
    ("member", "change", "kind"),
    [
        (fmt.TIMESTAMPS, _swap_tokens, fmt.TIMESTAMP_MISMATCH),
        (fmt.TIMESTAMPS, _change_token_byte, fmt.TIMESTAMP_INVALID),
        (fmt.TSA_CERTS, _other_certificate, fmt.TIMESTAMP_INVALID),
        (fmt.TIMESTAMPS, _drop_tokens, fmt.MANIFEST_CHANGED),
    ],
    ids=["token-of-another-checkpoint", "token-changed", "tsa-certificate", "tokens-removed"],
)
def test_each_edit_of_a_time_stamp_is_named(
    stamped: StampedRun,
    tmp_path: Path,
    member: str,
    change: Callable[[bytes], bytes],
    kind: str,
) -> None:
    _ok(stamped.outputs["export"])
    report = verify_pack(_edit(stamped.pack, member, change, tmp_path))
    assert not report.ok
    assert kind in report.kinds(), report.findings

"""Storage down: spans acknowledged from the WAL survive kill -9 and are replayed once."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from opentelemetry.trace import Tracer

from tests.support.otlp import protobuf_body, record_spans
from tests.support.server import free_port
from tests.support.subprocess_collector import CollectorProcess, query_stopped

pytestmark = [pytest.mark.slow, pytest.mark.e2e]

PROTOBUF = {"Content-Type": "application/x-protobuf"}


@pytest.fixture
def collector_process(tmp_path: Path) -> Iterator[CollectorProcess]:
    process = CollectorProcess(tmp_path / "collector")
    yield process
    process.stop()


def _body(batch: int) -> bytes:
    def emit(tracer: Tracer) -> None:
        for index in range(100):
            with tracer.start_as_current_span(f"wal-{batch}-{index}"):
                pass

    return protobuf_body(record_spans(emit))


def test_wal_acknowledged_spans_survive_kill9_and_replay_exactly_once(
    collector_process: CollectorProcess,
) -> None:
    # A ClickHouse server that is not there: every insert fails, so ingest must use the WAL.
    collector_process.storage = f"http://127.0.0.1:{free_port()}"
    collector_process.start(ready_path="/healthz")
    bodies = [_body(b) for b in range(20)]
    with httpx.Client(base_url=collector_process.base_url, timeout=30) as client:
        codes = [client.post("/v1/traces", content=b, headers=PROTOBUF).status_code for b in bodies]
        assert client.get("/readyz").status_code == 503
        # The exporter re-sends a batch whose answer it lost: must not be stored twice.
        assert client.post("/v1/traces", content=bodies[0], headers=PROTOBUF).status_code == 200
    assert codes == [200] * 20
    segments = list((collector_process.data_dir / "wal" / "tracerail").glob("*.wal"))
    assert segments and sum(p.stat().st_size for p in segments) > 0
    collector_process.kill9()

    # Restart on working storage: the WAL is replayed at start.
    collector_process.storage = None
    collector_process.start()
    wal = collector_process.data_dir / "wal" / "tracerail"
    deadline = time.monotonic() + 120
    while list(wal.glob("*.wal")) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not list(wal.glob("*.wal")), "WAL not replayed"
    with httpx.Client(base_url=collector_process.base_url, timeout=30) as client:
        listed = client.get("/api/v1/spans", params={"name": "wal-7-42"}).json()
        assert listed["count"] == 1
    collector_process.stop()
    ((rows, distinct, index_rows),) = query_stopped(
        collector_process,
        "SELECT (SELECT count() FROM tracerail.spans), (SELECT uniqExact(span_id) FROM "
        "tracerail.spans), (SELECT count() FROM tracerail.trace_lookup)",
    )
    assert (int(rows), int(distinct), int(index_rows)) == (2000, 2000, 2000)

"""Collector down for 120 s while the app keeps producing: the SDK spool loses nothing."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

import tracerail
from tests.support.subprocess_collector import CollectorProcess, query_stopped

pytestmark = [pytest.mark.slow, pytest.mark.e2e]

# The real figure from the issue; TRACERAIL_FAULT_OUTAGE_SECONDS shortens it for local runs.
OUTAGE_SECONDS = float(os.environ.get("TRACERAIL_FAULT_OUTAGE_SECONDS", "120"))
SPANS_PER_SECOND = 50


@pytest.fixture
def collector_process(tmp_path: Path) -> Iterator[CollectorProcess]:
    process = CollectorProcess(tmp_path / "collector")
    yield process
    tracerail.shutdown()
    process.stop()


def test_outage_longer_than_the_exporter_retry_window_loses_no_span(
    collector_process: CollectorProcess, tmp_path: Path
) -> None:
    collector_process.start()
    spool = tmp_path / "spool"
    tracerail.init(
        endpoint=collector_process.base_url,
        service_name="outage-app",
        spool_dir=str(spool),
        spool_max_mb=64,
    )
    emitted: list[str] = []
    stop = threading.Event()

    @tracerail.observe
    def work(number: int) -> int:
        return number

    def app() -> None:
        number = 0
        while not stop.is_set():
            work(number)
            emitted.append(str(number))
            number += 1
            time.sleep(1 / SPANS_PER_SECOND)

    producer = threading.Thread(target=app, daemon=True)
    producer.start()
    time.sleep(3)
    collector_process.kill9()
    down_at = len(emitted)
    most_spooled = 0
    outage_end = time.monotonic() + OUTAGE_SECONDS
    while time.monotonic() < outage_end:
        most_spooled = max(most_spooled, len(list(spool.glob("*.otlp"))))
        time.sleep(0.5)
    collector_process.start()
    time.sleep(3)
    stop.set()
    producer.join()
    assert tracerail.flush()
    deadline = time.monotonic() + 120
    while list(spool.glob("*.otlp")) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not list(spool.glob("*.otlp")), "spool not drained"
    stats = httpx.get(f"{collector_process.base_url}/api/v1/spans", params={"limit": 1}).json()
    assert stats["count"] == 1
    collector_process.stop()
    tracerail.shutdown()

    ((count, distinct),) = query_stopped(
        collector_process,
        "SELECT count(), uniqExact(span_id) FROM tracerail.spans WHERE service_name = 'outage-app'",
    )
    outputs = query_stopped(
        collector_process,
        "SELECT output FROM tracerail.spans WHERE service_name = 'outage-app' "
        "ORDER BY toUInt64(output)",
    )
    print(
        f"\noutage {OUTAGE_SECONDS:.0f}s: {len(emitted)} spans emitted ({down_at} before the "
        f"kill), up to {most_spooled} spooled batches, stored {count} ({distinct} distinct)"
    )
    assert most_spooled > 0, "the outage never reached the spool"
    assert int(count) == int(distinct) == len(emitted)
    assert [row[0] for row in outputs] == emitted  # every span the app produced, each once

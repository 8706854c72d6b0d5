"""Overload: far more offered than the collector can take → only 200/429/503, 0 lost, RSS bound."""

from __future__ import annotations

import collections
import os
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from tests.support.subprocess_collector import CollectorProcess, query_stopped

pytestmark = [pytest.mark.slow, pytest.mark.e2e]

SPANS_PER_BODY = 500
BODIES = 200  # 100 000 spans
CAPACITY_BODIES = 40
OVERLOAD = 7  # target; the achieved average is printed (the tail offers less)
SENDERS = 64
RSS_BOUND = 1536 * 1024 * 1024  # stated in docs/reliability.md
PROTOBUF = {"Content-Type": "application/x-protobuf"}


def _body(number: int) -> bytes:
    request = ExportTraceServiceRequest()
    resource_spans = request.resource_spans.add()
    attribute = resource_spans.resource.attributes.add()
    attribute.key, attribute.value.string_value = "service.name", "overload"
    spans = resource_spans.scope_spans.add().spans
    now = time.time_ns()
    for index in range(SPANS_PER_BODY):
        span = spans.add()
        span.trace_id = os.urandom(16)
        span.span_id = os.urandom(8)
        span.name = f"load-{number}-{index}"
        span.start_time_unix_nano = now
        span.end_time_unix_nano = now + 1000
        attr = span.attributes.add()
        attr.key, attr.value.string_value = "payload", "x" * 200
    return request.SerializeToString()


@pytest.fixture
def collector_process(tmp_path: Path) -> Iterator[CollectorProcess]:
    process = CollectorProcess(
        tmp_path / "collector",
        env={"TRACERAIL_MAX_QUEUE_SPANS": "20000", "TRACERAIL_MAX_INFLIGHT_REQUESTS": "8"},
    )
    yield process
    process.stop()


def _capacity(collector: CollectorProcess, bodies: list[bytes]) -> float:
    """Spans/s the collector sustains for closed-loop senders (every request answered first)."""
    started = time.monotonic()

    def send(body: bytes) -> None:
        with httpx.Client(base_url=collector.base_url, timeout=120) as client:
            assert client.post("/v1/traces", content=body, headers=PROTOBUF).status_code == 200

    with ThreadPoolExecutor(max_workers=4) as pool:
        list(pool.map(send, bodies))
    return len(bodies) * SPANS_PER_BODY / (time.monotonic() - started)


def test_overload_answers_only_200_429_503_loses_nothing_and_bounds_memory(
    collector_process: CollectorProcess,
) -> None:
    collector_process.start()
    bodies = [_body(n) for n in range(CAPACITY_BODIES + BODIES)]
    capacity = _capacity(collector_process, bodies[:CAPACITY_BODIES])
    bodies = bodies[CAPACITY_BODIES:]
    interval = SPANS_PER_BODY / (OVERLOAD * capacity)  # open loop: 5x what it sustains

    statuses: collections.Counter[int] = collections.Counter()
    acked: set[int] = set()
    lock = threading.Lock()
    pending: collections.deque[tuple[float, int]] = collections.deque(
        (0.0, n) for n in range(BODIES)
    )
    peak_rss = baseline_rss = collector_process.rss_bytes()
    done = threading.Event()

    def watch_memory() -> None:
        nonlocal peak_rss
        while not done.is_set():
            peak_rss = max(peak_rss, collector_process.rss_bytes())
            time.sleep(0.05)

    local = threading.local()

    def send(number: int) -> None:
        if not hasattr(local, "client"):
            local.client = httpx.Client(base_url=collector_process.base_url, timeout=120)
        response = local.client.post("/v1/traces", content=bodies[number], headers=PROTOBUF)
        with lock:
            statuses[response.status_code] += 1
            if response.status_code == 200:
                acked.add(number)
            else:  # what the OTel exporter does: wait Retry-After, send the same batch again
                retry_at = time.monotonic() + float(response.headers.get("retry-after", "1"))
                pending.append((retry_at, number))

    watcher = threading.Thread(target=watch_memory, daemon=True)
    watcher.start()
    started = time.monotonic()
    next_send = started
    deadline = started + 300
    with ThreadPoolExecutor(max_workers=SENDERS) as pool:
        while len(acked) < BODIES:
            assert time.monotonic() < deadline, "overload run did not finish"
            with lock:
                ready = pending.popleft() if pending and pending[0][0] <= time.monotonic() else None
                if ready is None and pending:
                    pending.rotate(-1)  # a later retry may be due before the head
            if ready is None:
                time.sleep(0.005)
                continue
            time.sleep(max(next_send - time.monotonic(), 0))
            next_send += interval
            pool.submit(send, ready[1])
    elapsed = time.monotonic() - started
    done.set()
    watcher.join()
    collector_process.stop()

    ((rows, distinct),) = query_stopped(
        collector_process, "SELECT count(), uniqExact(span_id) FROM tracerail.spans"
    )
    attempts = sum(statuses.values())
    offered = attempts * SPANS_PER_BODY / elapsed
    print(
        f"\noverload: capacity {capacity:.0f} spans/s; offered {offered:.0f} spans/s "
        f"({offered / capacity:.1f}x) for {elapsed:.1f}s; statuses {dict(statuses)}; "
        f"stored {rows} ({distinct} distinct) of {(CAPACITY_BODIES + BODIES) * SPANS_PER_BODY}; "
        f"RSS {baseline_rss / 2**20:.0f} MiB before, peak {peak_rss / 2**20:.0f} MiB"
    )
    assert set(statuses) <= {200, 429, 503}
    assert statuses[429] + statuses[503] > 0, "the load never reached the collector's limits"
    assert acked == set(range(BODIES))
    assert int(rows) == int(distinct) == (CAPACITY_BODIES + BODIES) * SPANS_PER_BODY
    assert peak_rss < RSS_BOUND

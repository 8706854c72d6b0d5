"""Durable, idempotent ingest: WAL when storage fails, replay exactly once, 429/503, drain."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import httpx
import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.trace import Tracer

from tests.support.otlp import protobuf_body, record_spans
from tests.support.server import RunningServer
from tracerail.collector.ingest import (
    IngestBatcher,
    IngestBusy,
    IngestLimits,
    IngestUnavailable,
    prepare,
)
from tracerail.collector.settings import Settings
from tracerail.collector.store.clickhouse import ClickHouseStore
from tracerail.collector.wal import WalRecord, WriteAheadLog

PROTOBUF = {"Content-Type": "application/x-protobuf"}


def _body(count: int, name: str = "span", attribute_bytes: int = 0) -> bytes:
    def emit(tracer: Tracer) -> None:
        for index in range(count):
            attrs = {"blob": "x" * attribute_bytes} if attribute_bytes else {}
            with tracer.start_as_current_span(f"{name}-{index}", attributes=attrs):
                pass

    return protobuf_body(record_spans(emit))


def _counts(store: ClickHouseStore) -> tuple[int, int, int]:
    """(span rows, distinct span ids, trace-index rows)."""
    spans = store.query(
        f"SELECT count() AS n, uniqExact(span_id) AS u FROM {store.table('spans')}"
    )[0]
    index = store.query(f"SELECT count() AS n FROM {store.table('trace_lookup')}")[0]
    return int(spans["n"]), int(spans["u"]), int(index["n"])


def _wait_for(condition: object, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():  # type: ignore[operator]
            return
        time.sleep(0.05)
    raise AssertionError("condition not reached before the deadline")


def _batch(count: int, name: str = "b") -> tuple[ExportTraceServiceRequest, bytes]:
    request = ExportTraceServiceRequest()
    request.ParseFromString(_body(count, name))
    return request, request.SerializeToString()


def test_storage_failure_goes_to_wal_and_replays_exactly_once(
    collector: RunningServer, store: ClickHouseStore
) -> None:
    batcher: IngestBatcher = collector.app.state.batcher
    store.command(f"RENAME TABLE {store.table('spans')} TO {store.table('spans_away')}")
    try:
        for index in range(5):
            response = httpx.post(
                f"{collector.base_url}/v1/traces",
                content=_body(20, f"r{index}"),
                headers=PROTOBUF,
            )
            assert response.status_code == 200, response.text
        assert not batcher.storage_ok
        assert batcher.stats.spans_logged == 100
        assert batcher.wal.size_bytes > 0
    finally:
        store.command(f"RENAME TABLE {store.table('spans_away')} TO {store.table('spans')}")
    assert _counts(store)[0] == 0
    _wait_for(lambda: batcher.storage_ok and batcher.wal.is_empty())
    assert _counts(store) == (100, 100, 100)
    assert list(batcher.wal.directory.glob("*.wal")) == []


def test_replay_of_an_already_inserted_batch_stores_nothing_twice(
    store: ClickHouseStore, tmp_path: Path
) -> None:
    """A crash after the insert but before the WAL segment was deleted."""
    wal = WriteAheadLog(tmp_path / "wal", 10 * 1024 * 1024)
    batcher = IngestBatcher(store, wal)
    request, _ = _batch(30)
    batch = prepare(request, project="p", retention_days=30)
    batcher.insert(batch)
    wal.append([batch.record()])
    assert _counts(store) == (30, 30, 30)
    assert batcher.replay_once() == 30
    batcher.insert(batch)
    assert _counts(store) == (30, 30, 30)
    assert wal.is_empty()


def test_same_request_sent_twice_is_stored_once(
    collector: RunningServer, store: ClickHouseStore
) -> None:
    body = _body(10)
    for _ in range(3):  # what an exporter does when it never got the first answer
        assert (
            httpx.post(
                f"{collector.base_url}/v1/traces", content=body, headers=PROTOBUF
            ).status_code
            == 200
        )
    assert _counts(store) == (10, 10, 10)


def test_torn_wal_tail_is_ignored(store: ClickHouseStore, tmp_path: Path) -> None:
    wal = WriteAheadLog(tmp_path / "wal", 10 * 1024 * 1024)
    batches = [prepare(_batch(5, f"t{i}")[0], project="p", retention_days=30) for i in range(3)]
    wal.append([b.record() for b in batches[:2]])
    wal.close()
    (segment,) = wal.closed_segments()
    torn = batches[2].record().encode()
    with segment.open("ab") as handle:
        handle.write(torn[: len(torn) // 2])  # kill -9 in the middle of a write
    reopened = WriteAheadLog(tmp_path / "wal", 10 * 1024 * 1024)
    assert IngestBatcher(store, reopened).replay_once() == 10
    assert _counts(store) == (10, 10, 10)
    assert reopened.is_empty()


def test_wal_record_round_trip(tmp_path: Path) -> None:
    wal = WriteAheadLog(tmp_path, 1024 * 1024)
    record = WalRecord("id", "proj", 7, 3, b"\x00\xffpayload")
    wal.append([record, record])
    (segment,) = wal.closed_segments()
    assert list(wal.read(segment)) == [record, record]


def test_ingest_limits_come_from_the_settings_of_the_same_names() -> None:
    settings = Settings(
        storage="chdb:///unused",
        max_batch_rows=7,
        max_queue_spans=70,
        flush_interval_seconds=2.5,
        replay_interval_seconds=3.5,
        max_inflight_requests=5,
        max_body_bytes=4096,
    )
    assert IngestLimits.from_settings(settings) == IngestLimits(7, 70, 2.5, 3.5, 5, 4096)


async def test_queue_over_its_bound_answers_busy(store: ClickHouseStore, tmp_path: Path) -> None:
    batcher = IngestBatcher(
        store, WriteAheadLog(tmp_path, 1 << 20), IngestLimits(max_queue_spans=10)
    )
    await batcher.start()
    first = prepare(_batch(8, "q1")[0], project="p", retention_days=30)
    second = prepare(_batch(8, "q2")[0], project="p", retention_days=30)
    results = await asyncio.gather(
        batcher.submit(first), batcher.submit(second), return_exceptions=True
    )
    await batcher.stop()
    assert results[0] is None
    assert isinstance(results[1], IngestBusy)
    assert _counts(store)[0] == 8


def test_storage_down_and_wal_full_answers_503(
    collector: RunningServer, store: ClickHouseStore, settings: Settings
) -> None:
    batcher: IngestBatcher = collector.app.state.batcher
    batcher.wal.max_bytes = 200_000  # the smallest setting is 1 MB; shrink it for the test
    store.command(f"RENAME TABLE {store.table('spans')} TO {store.table('spans_away')}")
    try:
        codes = []
        for index in range(4):
            response = httpx.post(
                f"{collector.base_url}/v1/traces",
                content=_body(1, f"big{index}", attribute_bytes=80_000),
                headers=PROTOBUF,
            )
            codes.append(response.status_code)
            if response.status_code == 503:
                assert response.headers["retry-after"] == str(settings.retry_after_seconds)
                assert response.json()["error"] == "storage_unavailable"
        assert codes == [200, 200, 503, 503]
    finally:
        store.command(f"RENAME TABLE {store.table('spans_away')} TO {store.table('spans')}")
    _wait_for(lambda: batcher.storage_ok and batcher.wal.is_empty())
    assert _counts(store)[:2] == (2, 2)  # exactly the acknowledged ones


async def test_shutdown_drains_queued_batches(store: ClickHouseStore, tmp_path: Path) -> None:
    batcher = IngestBatcher(store, WriteAheadLog(tmp_path, 1 << 20))
    await batcher.start()
    batches = [prepare(_batch(4, f"d{i}")[0], project="p", retention_days=30) for i in range(10)]
    submitted = [asyncio.ensure_future(batcher.submit(b)) for b in batches]
    await asyncio.sleep(0)
    await batcher.stop()
    assert [f.result() for f in submitted] == [None] * 10
    assert _counts(store)[0] == 40
    with pytest.raises(IngestUnavailable):
        await batcher.submit(batches[0])

"""Ingest through worker processes: same stored rows, errors, gRPC and WAL replay across them."""

from __future__ import annotations

import gzip
import os
import signal
from collections.abc import Iterator
from pathlib import Path

import grpc
import httpx
import pytest
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2_grpc
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.trace import Tracer

from tests.support.otlp import protobuf_body, record_spans
from tests.support.server import RunningServer, free_port, serve_in_thread
from tests.support.stores import scratch_store
from tests.support.workload import make_bodies, record_template
from tracerail import semconv
from tracerail.collector import create_app
from tracerail.collector.ingest import IngestBatcher, prepare
from tracerail.collector.prepare import PreparePool, merge
from tracerail.collector.settings import Settings
from tracerail.collector.store.clickhouse import ClickHouseStore
from tracerail.collector.wal import WriteAheadLog

PROTOBUF = {"Content-Type": "application/x-protobuf"}
GZIP = {**PROTOBUF, "Content-Encoding": "gzip"}

# Stored columns that differ by design between two ingests of the same request.
_VOLATILE = {"ingested_at", "score_id", "created_at", "chain_hash", "prev_hash"}


def _scored(tracer: Tracer) -> None:
    for index in range(6):
        with tracer.start_as_current_span(f"answer-{index}") as span:
            span.set_attribute(semconv.GEN_AI_REQUEST_MODEL, "m")
            span.add_event(
                semconv.TRACERAIL_SCORE_EVENT,
                {
                    semconv.TRACERAIL_SCORE_NAME: "helpfulness",
                    semconv.TRACERAIL_SCORE_VALUE: index / 10,
                    semconv.TRACERAIL_SCORE_SOURCE: "judge",
                },
            )
            # Invalid (not a number): dropped with a logged problem, the span is kept.
            span.add_event(
                semconv.TRACERAIL_SCORE_EVENT,
                {semconv.TRACERAIL_SCORE_NAME: "x", semconv.TRACERAIL_SCORE_VALUE: "high"},
            )


def _bodies() -> list[bytes]:
    """A realistic batch (generations, guardrail events and spans) and a batch of scores."""
    workload = make_bodies(record_template(120), 1)[0].data
    return [workload, protobuf_body(record_spans(_scored), gzipped=True)]


def _contents(store: ClickHouseStore) -> dict[str, list[tuple[object, ...]]]:
    out = {}
    for table in ("spans", "guardrail_events", "scores", "ledger_rows", "ledger_batches"):
        columns = [
            row["name"]
            for row in store.query(f"DESCRIBE TABLE {store.table(table)}")
            if row["name"] not in _VOLATILE
        ]
        rows = store.client.query(
            f"SELECT {', '.join(f'`{c}`' for c in columns)} FROM {store.table(table)}"
        ).result_rows
        out[table] = sorted(map(repr, rows))  # type: ignore[arg-type]
    return out


@pytest.fixture
def second_store(chdb_dsn: str) -> Iterator[ClickHouseStore]:
    """Another database on the process's one chDB path."""
    with scratch_store(chdb_dsn) as other:
        yield other


def _serve(settings: Settings, store: ClickHouseStore, workers: int) -> RunningServer:
    update = {"ingest_workers": workers, "database": store.database}
    return serve_in_thread(create_app(settings.model_copy(update=update), store=store))


def test_workers_store_exactly_the_rows_of_the_in_thread_path(
    settings: Settings, store: ClickHouseStore, second_store: ClickHouseStore
) -> None:
    bodies = _bodies()
    for target, workers in ((store, 0), (second_store, 1)):
        server = _serve(settings, target, workers)
        try:
            assert server.app.state.batcher.pool.workers == workers
            for body in bodies:
                response = httpx.post(
                    f"{server.base_url}/v1/traces", content=body, headers=GZIP, timeout=60
                )
                assert response.status_code == 200, response.text
        finally:
            server.stop()
    in_thread, in_workers = _contents(store), _contents(second_store)
    assert len(in_thread["spans"]) > 100
    assert len(in_thread["guardrail_events"]) > 0
    assert len(in_thread["scores"]) == 6
    assert len(in_thread["ledger_rows"]) > 0
    assert len(in_thread["ledger_batches"]) == 2
    assert in_workers == in_thread


@pytest.fixture
def worker_collector(settings: Settings, store: ClickHouseStore) -> Iterator[RunningServer]:
    server = _serve(settings.model_copy(update={"grpc_port": free_port()}), store, 1)
    yield server
    server.stop()


def test_bad_input_gets_the_same_errors_through_workers(
    worker_collector: RunningServer, store: ClickHouseStore
) -> None:
    url = f"{worker_collector.base_url}/v1/traces"
    bad = ExportTraceServiceRequest()
    bad.ParseFromString(gzip.decompress(_bodies()[1]))
    bad.resource_spans[0].scope_spans[0].spans[3].span_id = b"\0" * 8
    cases = [
        (bad.SerializeToString(), PROTOBUF, 400, "invalid_span"),
        (b"\xff\x00garbage", PROTOBUF, 400, "malformed_body"),
        (b"not gzip", GZIP, 400, "malformed_body"),
        (b"{}", {"Content-Type": "text/plain"}, 415, "unsupported_content_type"),
        (gzip.compress(b"\0" * (20 * 1024 * 1024)), GZIP, 413, "body_too_large"),
    ]
    for body, headers, status, error in cases:
        response = httpx.post(url, content=body, headers=headers, timeout=60)
        assert response.status_code == status, response.text
        assert response.json()["error"] == error
        assert response.json()["detail"]
    assert store.query(f"SELECT count() AS n FROM {store.table('spans')}") == [{"n": 0}]
    good = httpx.post(url, content=_bodies()[1], headers=GZIP, timeout=60)
    assert good.status_code == 200  # the workers survived every bad body


def test_grpc_bytes_are_decoded_in_the_workers(
    worker_collector: RunningServer, store: ClickHouseStore
) -> None:
    request = ExportTraceServiceRequest()
    request.ParseFromString(gzip.decompress(_bodies()[1]))
    port = worker_collector.app.state.grpc_port
    with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
        stub = trace_service_pb2_grpc.TraceServiceStub(channel)  # type: ignore[no-untyped-call]
        stub.Export(request, timeout=30)
        garbage = channel.unary_unary(
            "/opentelemetry.proto.collector.trace.v1.TraceService/Export",
            request_serializer=None,
            response_deserializer=None,
        )
        with pytest.raises(grpc.RpcError) as caught:
            garbage(b"\xff\x00garbage", timeout=30)
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "malformed_body" in (caught.value.details() or "")
    assert store.query(f"SELECT count() AS n FROM {store.table('spans')}") == [{"n": 6}]


def test_a_dead_worker_is_replaced(worker_collector: RunningServer, store: ClickHouseStore) -> None:
    pool: PreparePool = worker_collector.app.state.batcher.pool
    executor = pool._executor
    assert executor is not None
    for pid in list(executor._processes):  # type: ignore[attr-defined]
        os.kill(pid, signal.SIGKILL)
    answers = []
    for _ in range(3):  # the death may fail the next request with 503; a retry then succeeds
        response = httpx.post(
            f"{worker_collector.base_url}/v1/traces", content=_bodies()[1], headers=GZIP
        )
        answers.append(response.status_code)
        if response.status_code == 200:
            break
        assert response.json()["error"] == "storage_unavailable"
    assert answers[-1] == 200, answers
    assert pool._executor is not executor
    assert store.query(f"SELECT count() AS n FROM {store.table('spans')}") == [{"n": 6}]


def test_wal_replay_prepares_records_in_workers(store: ClickHouseStore, tmp_path: Path) -> None:
    requests = []
    for body in make_bodies(record_template(40), 5):
        request = ExportTraceServiceRequest()
        request.ParseFromString(gzip.decompress(body.data))
        requests.append(request)
    batches = [prepare(r, project="p", retention_days=30) for r in requests]
    wal = WriteAheadLog(tmp_path / "wal", 10 * 1024 * 1024)
    wal.append([b.record() for b in batches])
    pool = PreparePool(1)
    try:
        batcher = IngestBatcher(store, wal, pool=pool)
        assert batcher.replay_once() == sum(b.rows for b in batches)
    finally:
        pool.close()
    assert wal.is_empty()
    stored = store.query(
        f"SELECT count() AS n, uniqExact(span_id) AS u FROM {store.table('spans')}"
    )
    assert stored == [{"n": sum(b.rows for b in batches), "u": sum(b.rows for b in batches)}]
    ledger = store.query(f"SELECT batch_id FROM {store.table('ledger_batches')} ORDER BY seq")
    # One run of the five requests: its id is made of theirs, restored from the WAL headers.
    assert [row["batch_id"] for row in ledger] == [merge(batches).batch_id]

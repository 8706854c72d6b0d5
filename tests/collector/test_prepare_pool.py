"""OTLP/HTTP ingest through worker processes: rows, errors and shutdown cross the boundary."""

from __future__ import annotations

import httpx
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.trace import Tracer

from tests.support.otlp import protobuf_body, record_spans
from tests.support.server import serve_in_thread
from tracerail.collector import create_app
from tracerail.collector.settings import Settings
from tracerail.collector.store.clickhouse import ClickHouseStore

PROTOBUF = {"Content-Type": "application/x-protobuf"}


def _emit(tracer: Tracer) -> None:
    for index in range(25):
        with tracer.start_as_current_span(f"work-{index}") as span:
            span.set_attribute("gen_ai.request.model", "m")


def test_worker_processes_decode_flatten_and_report_errors(
    settings: Settings, store: ClickHouseStore
) -> None:
    server = serve_in_thread(
        create_app(settings.model_copy(update={"prepare_workers": 1}), store=store)
    )
    try:
        assert server.app.state.prepare_pool.workers == 1
        body = protobuf_body(record_spans(_emit), gzipped=True)
        ok = httpx.post(
            f"{server.base_url}/v1/traces",
            content=body,
            headers={**PROTOBUF, "Content-Encoding": "gzip"},
            timeout=60,
        )
        assert ok.status_code == 200, ok.text

        bad = ExportTraceServiceRequest()
        bad.ParseFromString(protobuf_body(record_spans(_emit)))
        bad.resource_spans[0].scope_spans[0].spans[5].span_id = b"\0" * 8
        refused = httpx.post(
            f"{server.base_url}/v1/traces",
            content=bad.SerializeToString(),
            headers=PROTOBUF,
            timeout=60,
        )
        assert refused.status_code == 400
        assert refused.json()["error"] == "invalid_span"

        garbage = httpx.post(
            f"{server.base_url}/v1/traces", content=b"\xff\x00garbage", headers=PROTOBUF
        )
        assert garbage.status_code == 400
        assert garbage.json()["error"] == "malformed_body"
    finally:
        server.stop()
    rows = store.query(
        f"SELECT count() AS n, countIf(observation_kind = 'generation') AS g "
        f"FROM {store.table('spans')}"
    )
    assert rows == [{"n": 25, "g": 25}]  # the valid request only, nothing of the bad one

"""Completeness: the SDK stamps an exporter instance id and a sequence number on every span;
the collector reports, per service, spans emitted, received and known missing, and spans from
other instrumentations as "completeness unknown"."""

from __future__ import annotations

import time
from typing import Any

import httpx
import pytest
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

import tracerail
from tests.support.server import RunningServer
from tracerail import semconv
from tracerail.collector.store.clickhouse import ClickHouseStore


def _observed(n: int) -> None:
    @tracerail.observe(kind="generation", name="chat m")
    def step(i: int) -> str:
        return f"answer {i}"

    for i in range(n):
        step(i)


def test_sdk_stamps_one_instance_and_consecutive_numbers() -> None:
    exporter = InMemorySpanExporter()
    tracerail.init(
        service_name="stamped",
        span_exporter=exporter,
        tracer_provider=TracerProvider(),
    )
    try:
        _observed(3)
        assert tracerail.flush()
        spans = exporter.get_finished_spans()
    finally:
        tracerail.shutdown()
    attributes = [dict(s.attributes or {}) for s in spans]
    assert len({a[semconv.TRACERAIL_EXPORTER_INSTANCE] for a in attributes}) == 1
    assert sorted(a[semconv.TRACERAIL_EXPORTER_SEQ] for a in attributes) == [1, 2, 3]


def _wait_for_spans(store: ClickHouseStore, n: int) -> None:
    query = f"SELECT count() AS n FROM {store.table('spans')}"
    deadline = time.monotonic() + 60
    while store.query(query)[0]["n"] < n and time.monotonic() < deadline:
        time.sleep(0.1)
    assert store.query(query)[0]["n"] == n


def _completeness(collector: RunningServer, **params: Any) -> dict[str, Any]:
    response = httpx.get(
        f"{collector.base_url}/api/v1/audit/completeness", params=params, timeout=60
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


@pytest.mark.e2e
def test_a_lost_span_is_known_missing_and_foreign_spans_are_unknown(
    collector: RunningServer, store: ClickHouseStore
) -> None:
    stamped = TracerProvider(resource=Resource.create({semconv.SERVICE_NAME: "stamped"}))
    tracerail.init(endpoint=collector.base_url, tracer_provider=stamped)
    try:
        _observed(5)
        assert tracerail.flush()
    finally:
        tracerail.shutdown()
    # Another instrumentation: plain OpenTelemetry, no sequence numbers.
    other = TracerProvider(resource=Resource.create({semconv.SERVICE_NAME: "other"}))
    other.add_span_processor(
        SimpleSpanProcessor(OTLPSpanExporter(endpoint=f"{collector.base_url}/v1/traces"))
    )
    for _ in range(2):
        with other.get_tracer("x").start_as_current_span("chat other"):
            pass
    other.shutdown()
    _wait_for_spans(store, 7)
    # A span lost on the way: the collector never stored number 3.
    store.client.command(
        f"ALTER TABLE {store.table('spans')} DELETE "
        f"WHERE attributes['{semconv.TRACERAIL_EXPORTER_SEQ}'] = '3' "
        "SETTINGS mutations_sync = 2"
    )
    body = _completeness(collector, settle_seconds=0)
    by_service = {s["service"]: s for s in body["services"]}
    assert by_service["stamped"] == {
        "service": "stamped",
        "instances": 1,
        "emitted": 5,
        "received": 4,
        "missing": 1,
        "completeness_unknown": 0,
    }
    assert by_service["other"]["completeness_unknown"] == 2
    assert by_service["other"]["emitted"] == 0
    # Within the settle window (default 10 minutes) nothing is judged yet.
    assert _completeness(collector)["totals"]["emitted"] == 0
    report = httpx.get(f"{collector.base_url}/api/v1/reports/compliance", timeout=120).json()
    assert "completeness" in report


@pytest.mark.parametrize(
    ("params", "name"), [({"settle_seconds": "-1"}, "settle_seconds"), ({"bogus": "1"}, "bogus")]
)
def test_bad_parameters_are_a_json_4xx_naming_them(
    collector: RunningServer, params: dict[str, str], name: str
) -> None:
    response = httpx.get(f"{collector.base_url}/api/v1/audit/completeness", params=params)
    assert 400 <= response.status_code < 500
    assert name in response.text

"""The collector over real HTTP: ingest, bad input, trace and span queries, pagination."""

from __future__ import annotations

import gzip
import json
import time

import httpx
import pytest
from opentelemetry.trace import Tracer

from tests.support.otlp import protobuf_body, record_spans
from tests.support.server import RunningServer

PB = {"content-type": "application/x-protobuf"}


def _three_traces(tracer: Tracer) -> None:
    for i in range(3):
        with tracer.start_as_current_span(f"root-{i}") as root:
            root.set_attribute("gen_ai.request.model", "model-a" if i < 2 else "model-b")
            with tracer.start_as_current_span(f"child-{i}"):
                pass


def _count_spans(server: RunningServer) -> int:
    store = server.app.state.store
    return int(store.query(f"SELECT count() AS n FROM {store.table('spans')}")[0]["n"])


def _post(server: RunningServer, body: bytes, headers: dict[str, str]) -> httpx.Response:
    return httpx.post(f"{server.base_url}/v1/traces", content=body, headers=headers, timeout=30)


def test_protobuf_gzip_ingest_then_query(collector: RunningServer) -> None:
    spans = record_spans(_three_traces)
    response = _post(
        collector, protobuf_body(spans, gzipped=True), {**PB, "content-encoding": "gzip"}
    )
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/x-protobuf"
    assert _count_spans(collector) == 6

    trace_id = format(spans[0].context.trace_id, "032x")
    trace = httpx.get(f"{collector.base_url}/api/v1/traces/{trace_id}").json()
    assert trace["span_count"] == 2
    assert trace["tree"][0]["name"] == "root-0"
    assert [c["name"] for c in trace["tree"][0]["children"]] == ["child-0"]


def test_json_ingest_answers_json(collector: RunningServer) -> None:
    start = time.time_ns() - 60_000_000_000  # inside the retention window
    body = {
        "resourceSpans": [
            {
                "scopeSpans": [
                    {
                        "spans": [
                            {
                                "traceId": "0af7651916cd43dd8448eb211c80319c",
                                "spanId": "b7ad6b7169203331",
                                "name": "json-span",
                                "startTimeUnixNano": str(start),
                                "endTimeUnixNano": str(start + 500_000_000),
                            }
                        ]
                    }
                ]
            }
        ]
    }
    response = _post(collector, json.dumps(body).encode(), {"content-type": "application/json"})
    assert response.status_code == 200 and response.json() == {}
    trace = httpx.get(f"{collector.base_url}/api/v1/traces/0af7651916cd43dd8448eb211c80319c")
    assert trace.json()["spans"][0]["span_id"] == "b7ad6b7169203331"
    assert trace.json()["spans"][0]["duration_ms"] == 500.0


@pytest.mark.parametrize(
    ("body", "headers", "status", "error"),
    [
        (b"hello", {"content-type": "text/plain"}, 415, "unsupported_content_type"),
        (b"\x0a\xff\xff\xff", PB, 400, "malformed_body"),
        (b"{not json", {"content-type": "application/json"}, 400, "malformed_body"),
        (b"garbage", {**PB, "content-encoding": "gzip"}, 400, "malformed_body"),
        (b"x" * (16 * 1024 * 1024 + 1), PB, 413, "body_too_large"),
        (
            gzip.compress(b"\0" * (17 * 1024 * 1024)),
            {**PB, "content-encoding": "gzip"},
            413,
            "body_too_large",
        ),
    ],
)
def test_bad_ingest_gets_json_4xx_and_server_stays_up(
    collector: RunningServer, body: bytes, headers: dict[str, str], status: int, error: str
) -> None:
    response = _post(collector, body, headers)
    assert response.status_code == status
    assert response.json()["error"] == error
    assert response.json()["detail"]
    assert httpx.get(f"{collector.base_url}/healthz").status_code == 200
    assert _count_spans(collector) == 0


def test_one_invalid_span_rejects_the_whole_request(collector: RunningServer) -> None:
    good = {
        "traceId": "0af7651916cd43dd8448eb211c80319c",
        "spanId": "b7ad6b7169203331",
        "name": "ok",
    }
    bad = {"traceId": "0" * 32, "spanId": "b7ad6b7169203332", "name": "zero trace id"}
    body = json.dumps({"resourceSpans": [{"scopeSpans": [{"spans": [good, bad]}]}]}).encode()
    response = _post(collector, body, {"content-type": "application/json"})
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_span"
    assert _count_spans(collector) == 0


@pytest.mark.parametrize(
    ("path", "status", "error"),
    [
        ("/api/v1/traces/" + "a" * 32, 404, "not_found"),
        ("/api/v1/traces/not-hex", 400, "invalid_parameter"),
        ("/api/v1/spans?limit=0", 400, "invalid_parameter"),
        ("/api/v1/spans?limit=100000", 400, "invalid_parameter"),
        ("/api/v1/spans?limit=ten", 400, "invalid_parameter"),
        ("/api/v1/spans?from=yesterday", 400, "invalid_parameter"),
        (
            "/api/v1/spans?from=2026-01-02T00:00:00Z&to=2026-01-01T00:00:00Z",
            400,
            "invalid_parameter",
        ),
        ("/api/v1/spans?from=2026-01-01T00:00:00", 400, "invalid_parameter"),
        ("/api/v1/spans?status=BROKEN", 400, "invalid_parameter"),
        ("/api/v1/spans?cursor=%%%", 400, "invalid_parameter"),
        ("/api/v1/spans?cursor=WzEsMiwzXQ", 400, "invalid_parameter"),
        ("/api/v1/spans?trace_id=xyz", 400, "invalid_parameter"),
        ("/api/v1/nowhere", 404, "not_found"),
    ],
)
def test_bad_queries_get_json_errors(
    collector: RunningServer, path: str, status: int, error: str
) -> None:
    response = httpx.get(f"{collector.base_url}{path}")
    assert response.status_code == status
    assert response.json()["error"] == error
    assert response.json()["detail"]


def test_span_filters_and_cursor_pagination(collector: RunningServer) -> None:
    assert _post(collector, protobuf_body(record_spans(_three_traces)), PB).status_code == 200
    base = f"{collector.base_url}/api/v1/spans"

    by_model = httpx.get(base, params={"model": "model-a"}).json()
    assert sorted(s["name"] for s in by_model["spans"]) == ["root-0", "root-1"]
    assert httpx.get(base, params={"name": "child-2"}).json()["count"] == 1
    assert httpx.get(base, params={"service": "nope"}).json()["count"] == 0

    seen: list[str] = []
    cursor = None
    pages = 0
    while True:
        params: dict[str, str | int] = {"limit": 4}
        if cursor:
            params["cursor"] = cursor
        page = httpx.get(base, params=params).json()
        seen.extend(s["span_id"] for s in page["spans"])
        pages += 1
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert pages == 2
    assert len(seen) == len(set(seen)) == 6
    starts = [
        s["start_time_unix_nano"] for s in httpx.get(base, params={"limit": 10}).json()["spans"]
    ]
    assert starts == sorted(starts, reverse=True)


def test_injection_strings_are_just_values(collector: RunningServer) -> None:
    assert _post(collector, protobuf_body(record_spans(_three_traces)), PB).status_code == 200
    for value in ["' OR 1=1 --", "x'); DROP TABLE spans; --", "{project:String}", "\\'"]:
        response = httpx.get(
            f"{collector.base_url}/api/v1/spans", params={"name": value, "service": value}
        )
        assert response.status_code == 200
        assert response.json()["count"] == 0
    assert _count_spans(collector) == 6


def test_health_and_readiness(collector: RunningServer) -> None:
    assert httpx.get(f"{collector.base_url}/healthz").json()["status"] == "ok"
    assert httpx.get(f"{collector.base_url}/readyz").json() == {
        "status": "ready",
        "storage": "chdb",
    }

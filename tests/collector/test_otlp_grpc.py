"""OTLP/gRPC ingest: the real OTel gRPC exporter and raw gRPC calls against the collector."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import grpc
import httpx
import pytest
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2_grpc
from opentelemetry.sdk.trace.export import SpanExportResult
from opentelemetry.trace import Tracer

from tests.support.otlp import record_spans
from tests.support.server import RunningServer, free_port, serve_in_thread
from tracerail.collector import create_app
from tracerail.collector.api.otlp_grpc import grpc_project
from tracerail.collector.auth import AuthError, KeyRing
from tracerail.collector.settings import Settings
from tracerail.collector.store.clickhouse import ClickHouseStore
from tracerail.collector.store.keys import create_key

pytestmark = pytest.mark.e2e


def _chat(tracer: Tracer) -> None:
    with tracer.start_as_current_span("chat gpt-4o") as span:
        span.set_attribute("gen_ai.request.model", "gpt-4o")
        span.set_attribute("gen_ai.usage.input_tokens", 12)


@pytest.fixture
def grpc_settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"grpc_port": free_port(), "project": "grpc-team"})


@pytest.fixture
def grpc_collector(grpc_settings: Settings, store: ClickHouseStore) -> Iterator[RunningServer]:
    server = serve_in_thread(create_app(grpc_settings, store=store))
    yield server
    server.stop()


@pytest.fixture
def stub(grpc_settings: Settings, grpc_collector: RunningServer) -> Iterator[object]:
    with grpc.insecure_channel(f"127.0.0.1:{grpc_settings.grpc_port}") as channel:
        yield trace_service_pb2_grpc.TraceServiceStub(channel)


def _stored(store: ClickHouseStore) -> list[dict[str, object]]:
    return store.query(
        f"SELECT project, name, request_model, input_tokens FROM {store.table('spans')}"
    )


@pytest.mark.parametrize("compression", [grpc.Compression.NoCompression, grpc.Compression.Gzip])
def test_official_grpc_exporter_spans_are_stored_and_queryable(
    grpc_settings: Settings,
    grpc_collector: RunningServer,
    store: ClickHouseStore,
    compression: grpc.Compression,
) -> None:
    exporter = OTLPSpanExporter(
        endpoint=f"127.0.0.1:{grpc_settings.grpc_port}",
        insecure=True,
        compression=compression,
        # A real ingest key of the project: gRPC calls go through the same auth as HTTP.
        headers={"authorization": f"Bearer {create_key(store, 'grpc-team', 'ingest')[0]}"},
    )
    assert exporter.export(record_spans(_chat, service_name="grpc-app")) == (
        SpanExportResult.SUCCESS
    )
    exporter.shutdown()
    assert grpc_collector.app.state.grpc_port == grpc_settings.grpc_port
    assert _stored(store) == [
        {"project": "grpc-team", "name": "chat gpt-4o", "request_model": "gpt-4o",
         "input_tokens": 12}
    ]  # fmt: skip
    read_key, _ = create_key(store, "grpc-team", "read")
    listed = httpx.get(
        f"{grpc_collector.base_url}/api/v1/spans", headers={"Authorization": f"Bearer {read_key}"}
    ).json()
    assert [s["service_name"] for s in listed["spans"]] == ["grpc-app"]


def test_invalid_span_is_invalid_argument_and_nothing_is_written(
    stub: trace_service_pb2_grpc.TraceServiceStub, store: ClickHouseStore
) -> None:
    request = encode_spans(record_spans(_chat))
    request.resource_spans[0].scope_spans[0].spans[0].trace_id = b"\x01\x02"
    with pytest.raises(grpc.RpcError) as caught:
        stub.Export(request, timeout=10)
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "invalid_span" in caught.value.details()
    assert _stored(store) == []


def test_storage_failure_is_unavailable_and_server_stays_up(
    stub: trace_service_pb2_grpc.TraceServiceStub,
    store: ClickHouseStore,
    grpc_collector: RunningServer,
) -> None:
    store.client.command(f"DROP TABLE {store.table('spans')}")  # a real failing insert
    # A failed insert goes to the write-ahead log (docs/reliability.md); only with that full
    # too is nothing durable, and the call must fail.
    grpc_collector.app.state.batcher.wal.max_bytes = 0
    with pytest.raises(grpc.RpcError) as caught:
        stub.Export(encode_spans(record_spans(_chat)), timeout=30)
    assert caught.value.code() == grpc.StatusCode.UNAVAILABLE
    assert "storage_unavailable" in caught.value.details()
    assert httpx.get(f"{grpc_collector.base_url}/healthz").status_code == 200


def test_message_over_the_body_limit_is_refused(settings: Settings, store: ClickHouseStore) -> None:
    small = settings.model_copy(update={"grpc_port": free_port(), "max_body_bytes": 1024})
    server = serve_in_thread(create_app(small, store=store))
    try:
        request = encode_spans(record_spans(lambda t: t.start_span("x" * 2000).end()))
        with grpc.insecure_channel(f"127.0.0.1:{small.grpc_port}") as channel:
            with pytest.raises(grpc.RpcError) as caught:
                trace_service_pb2_grpc.TraceServiceStub(channel).Export(request, timeout=10)
        assert caught.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
        assert _stored(store) == []
    finally:
        server.stop()


def test_grpc_port_is_released_when_the_app_stops(
    grpc_settings: Settings, store: ClickHouseStore
) -> None:
    server = serve_in_thread(create_app(grpc_settings, store=store))
    server.stop()
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", grpc_settings.grpc_port or 0))  # raises if still held


def test_grpc_disabled_by_zero_port(settings: Settings, store: ClickHouseStore) -> None:
    assert settings.grpc_port == 0
    server = serve_in_thread(create_app(settings, store=store))
    try:
        assert server.app.state.grpc_port is None
    finally:
        server.stop()


def test_grpc_project_is_the_configured_project_until_keys_exist(
    settings: Settings, store: ClickHouseStore
) -> None:
    open_settings = settings.model_copy(update={"project": "p1", "key_cache_seconds": 0})
    assert grpc_project([("user-agent", "x")], KeyRing(store, open_settings)) == "p1"
    key, _ = create_key(store, "from-key", "ingest")
    keyring = KeyRing(store, open_settings)
    assert grpc_project([("authorization", f"Bearer {key}")], keyring) == "from-key"
    with pytest.raises(AuthError) as refused:
        grpc_project([("user-agent", "x")], keyring)  # keys exist now: auth is on
    assert refused.value.status == 401

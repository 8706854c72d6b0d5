"""Interop: official OTel exporters into tracerail, and the tracerail SDK into any OTLP receiver.

The "any OTLP receiver" is a second collector started as a separate process (its own chDB
path; the pytest process may hold only one) and spoken to only through OTLP and its HTTP API,
the way a third-party receiver would be.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import (
    OTLPSpanExporter as GrpcSpanExporter,
)
from opentelemetry.exporter.otlp.proto.http import Compression
from opentelemetry.exporter.otlp.proto.http.trace_exporter import (
    OTLPSpanExporter as HttpSpanExporter,
)
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SpanExportResult
from opentelemetry.trace import Tracer

import tracerail
from tests.support.otlp import record_spans
from tests.support.server import RunningServer, free_port

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


@dataclass
class Receiver:
    http_url: str
    grpc_address: str


@pytest.fixture(scope="module")
def receiver(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Receiver]:
    """``tracerail collector serve`` in a subprocess with its own storage."""
    data = tmp_path_factory.mktemp("receiver")
    http_port, grpc_port = free_port(), free_port()
    log = (data / "collector.log").open("wb")
    proc = subprocess.Popen(
        [sys.executable, "-m", "tracerail", "collector", "serve", "--host", "127.0.0.1",
         "--port", str(http_port), "--grpc-port", str(grpc_port),
         "--storage", f"chdb://{data / 'chdb'}", "--log-level", "warning"],
        stdout=log, stderr=subprocess.STDOUT,
        env={**os.environ, "TRACERAIL_PROJECT": "interop"},
    )  # fmt: skip
    url = f"http://127.0.0.1:{http_port}"
    try:
        _wait_ready(proc, url, data / "collector.log")
        yield Receiver(url, f"127.0.0.1:{grpc_port}")
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        log.close()


def _wait_ready(proc: subprocess.Popen[bytes], url: str, log: Path) -> None:
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"receiver exited: {log.read_text()[-2000:]}")
        try:
            if httpx.get(f"{url}/readyz", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise RuntimeError("receiver not ready")


def _provider(service_name: str) -> TracerProvider:
    """A provider of the test's own: ``init()`` without one would install a process-global
    provider that later tests' ``init()`` calls reuse (with this test's service name)."""
    return TracerProvider(resource=Resource.create({"service.name": service_name}))


@pytest.fixture(autouse=True)
def _reset_sdk() -> Iterator[None]:
    yield
    tracerail.shutdown()


def _spans_named(base_url: str, name: str) -> list[dict[str, object]]:
    spans: list[dict[str, object]] = httpx.get(
        f"{base_url}/api/v1/spans", params={"name": name}
    ).json()["spans"]
    return spans


def test_sdk_exports_to_another_otlp_receiver_over_http(receiver: Receiver) -> None:
    tracerail.init(endpoint=receiver.http_url, tracer_provider=_provider("interop-http"))

    @tracerail.observe(kind="generation", name="chat via-http")
    def answer(question: str) -> str:
        return question.upper()

    answer("hello")
    assert tracerail.flush()
    (span,) = _spans_named(receiver.http_url, "chat via-http")
    assert span["service_name"] == "interop-http"
    assert span["observation_kind"] == "generation"


def test_sdk_exports_through_an_otlp_grpc_exporter(receiver: Receiver) -> None:
    exporter = GrpcSpanExporter(endpoint=receiver.grpc_address, insecure=True)
    tracerail.init(span_exporter=exporter, tracer_provider=_provider("interop-grpc"))

    @tracerail.observe(kind="generation", name="chat via-grpc")
    def answer(question: str) -> str:
        return question

    answer("hello")
    assert tracerail.flush()
    (span,) = _spans_named(receiver.http_url, "chat via-grpc")
    assert span["service_name"] == "interop-grpc"
    assert span["observation_kind"] == "generation"
    assert span["input"] == '{"question": "hello"}'


def _genai(tracer: Tracer) -> None:
    with tracer.start_as_current_span("chat claude-x") as span:
        span.set_attribute("gen_ai.request.model", "claude-x")
        span.set_attribute("gen_ai.usage.output_tokens", 7)


@pytest.mark.parametrize("compression", [Compression.NoCompression, Compression.Gzip])
def test_official_http_exporter_spans_land(
    collector: RunningServer, compression: Compression
) -> None:
    exporter = HttpSpanExporter(endpoint=f"{collector.base_url}/v1/traces", compression=compression)
    assert exporter.export(record_spans(_genai, "otel-http")) == SpanExportResult.SUCCESS
    exporter.shutdown()
    (span,) = _spans_named(collector.base_url, "chat claude-x")
    assert (span["service_name"], span["request_model"], span["output_tokens"]) == (
        "otel-http",
        "claude-x",
        7,
    )

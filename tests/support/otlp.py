"""OTLP request bodies made by the real OpenTelemetry SDK and exporter encoder."""

from __future__ import annotations

import gzip
from collections.abc import Callable, Sequence

from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import Tracer


def record_spans(
    emit: Callable[[Tracer], None], service_name: str = "test-service"
) -> tuple[ReadableSpan, ...]:
    """Run ``emit`` with a private SDK tracer and return the finished spans."""
    exporter = InMemorySpanExporter()
    provider = TracerProvider(resource=Resource.create({"service.name": service_name}))
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    emit(provider.get_tracer("tests"))
    provider.shutdown()
    return exporter.get_finished_spans()


def protobuf_body(spans: Sequence[ReadableSpan], *, gzipped: bool = False) -> bytes:
    """The exact bytes the OTLP/HTTP exporter would send for ``spans``."""
    raw = encode_spans(spans).SerializeToString()
    return gzip.compress(raw) if gzipped else raw

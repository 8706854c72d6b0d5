"""Reading finished spans in SDK tests: by name, and their attributes as a plain dict."""

from __future__ import annotations

from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

import tracerail


def finished(exporter: InMemorySpanExporter) -> dict[str, ReadableSpan]:
    """Flush tracerail, then the exporter's finished spans by name."""
    tracerail.flush()
    return {span.name: span for span in exporter.get_finished_spans()}


def attrs(span: ReadableSpan) -> dict[str, object]:
    """The span's attributes (empty when it has none)."""
    return dict(span.attributes or {})

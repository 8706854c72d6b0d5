"""SDK fixtures: tracerail initialised with an in-memory exporter on a private provider."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

import tracerail


@pytest.fixture
def exporter() -> Iterator[InMemorySpanExporter]:
    memory = InMemorySpanExporter()
    tracerail.init(service_name="sdk-tests", tracer_provider=TracerProvider(), span_exporter=memory)
    yield memory
    tracerail.shutdown()


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    import os

    for name in list(os.environ):
        if name.startswith("TRACERAIL_"):
            monkeypatch.delenv(name)

"""Guardrail test fixtures: tracerail on an in-memory exporter, a clean TRACERAIL_* env."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

import tracerail


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: object) -> None:
    import os

    for name in list(os.environ):
        if name.startswith("TRACERAIL_"):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)  # no stray ./tracerail.toml


@pytest.fixture
def spans() -> Iterator[InMemorySpanExporter]:
    """tracerail initialised on a private provider that exports to memory."""
    memory = InMemorySpanExporter()
    tracerail.init(
        service_name="guard-tests", tracer_provider=TracerProvider(), span_exporter=memory
    )
    yield memory
    tracerail.shutdown()

"""Real openai / anthropic clients against tracerail's local wire-format model server, and
tracerail exporting its spans to memory: the setup the provider and judge tests share."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TypeVar

import anthropic
import openai
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

import tracerail
from tracerail.testing import LocalModelServer

Client = TypeVar(
    "Client", openai.OpenAI, openai.AsyncOpenAI, anthropic.Anthropic, anthropic.AsyncAnthropic
)
Spans = Callable[[], list[ReadableSpan]]


def local_client(client_class: type[Client], server: LocalModelServer) -> Client:
    """A client of ``client_class`` (sync or async, openai or anthropic) talking to ``server``,
    without retries so a refused call shows at once."""
    speaks_openai = issubclass(client_class, (openai.OpenAI, openai.AsyncOpenAI))
    base_url = server.openai_base_url if speaks_openai else server.url
    return client_class(base_url=base_url, api_key="test", max_retries=0)


@contextmanager
def recorded_spans(service_name: str) -> Iterator[Spans]:
    """tracerail initialised on a private provider exporting to memory; yields ``finished()``,
    which flushes and returns the spans so far. Shuts tracerail down on exit."""
    exporter = InMemorySpanExporter()
    tracerail.init(
        tracer_provider=TracerProvider(), span_exporter=exporter, service_name=service_name
    )

    def finished() -> list[ReadableSpan]:
        assert tracerail.flush()
        return list(exporter.get_finished_spans())

    try:
        yield finished
    finally:
        tracerail.shutdown()

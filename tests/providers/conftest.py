"""Real openai/anthropic clients against tracerail's local wire-format server; spans in memory."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import anthropic
import openai
import pytest
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

import tracerail
from tracerail.pricing import reset_prices
from tracerail.testing import LocalModelServer

Spans = Callable[[], list[ReadableSpan]]


@pytest.fixture(scope="session")
def _server() -> Iterator[LocalModelServer]:
    with LocalModelServer() as server:
        yield server


@pytest.fixture
def model_server(_server: LocalModelServer) -> Iterator[LocalModelServer]:
    _server.reset()
    yield _server
    _server.reset()


@pytest.fixture
def spans() -> Iterator[Spans]:
    """``spans()`` flushes and returns the finished spans of this test."""
    exporter = InMemorySpanExporter()
    tracerail.init(tracer_provider=TracerProvider(), span_exporter=exporter, service_name="t")

    def finished() -> list[ReadableSpan]:
        assert tracerail.flush()
        return list(exporter.get_finished_spans())

    yield finished
    tracerail.shutdown()
    tracerail.uninstrument_all()
    reset_prices()


@pytest.fixture
def oai(model_server: LocalModelServer) -> openai.OpenAI:
    return tracerail.instrument(
        openai.OpenAI(base_url=model_server.openai_base_url, api_key="test", max_retries=0)
    )


@pytest.fixture
def async_oai(model_server: LocalModelServer) -> openai.AsyncOpenAI:
    return tracerail.instrument(
        openai.AsyncOpenAI(base_url=model_server.openai_base_url, api_key="test", max_retries=0)
    )


@pytest.fixture
def claude(model_server: LocalModelServer) -> anthropic.Anthropic:
    return tracerail.instrument(
        anthropic.Anthropic(base_url=model_server.url, api_key="test", max_retries=0)
    )


@pytest.fixture
def async_claude(model_server: LocalModelServer) -> anthropic.AsyncAnthropic:
    return tracerail.instrument(
        anthropic.AsyncAnthropic(base_url=model_server.url, api_key="test", max_retries=0)
    )


def only(spans: Spans) -> ReadableSpan:
    """The single span of the test."""
    (span,) = spans()
    return span

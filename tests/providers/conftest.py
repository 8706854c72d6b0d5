"""Real openai/anthropic clients against tracerail's local wire-format server; spans in memory."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import anthropic
import openai
import pytest
from opentelemetry.sdk.trace import ReadableSpan

import tracerail
from tests.support.models import Spans, local_client, recorded_spans
from tracerail import semconv as sc
from tracerail.pricing import reset_prices
from tracerail.testing import LocalModelServer


@pytest.fixture
def spans() -> Iterator[Spans]:
    """``spans()`` flushes and returns the finished spans of this test."""
    with recorded_spans("t") as finished:
        yield finished
    tracerail.uninstrument_all()
    reset_prices()


def _instrumented(name: str, client_class: type[Any]) -> Any:
    """Fixture ``name``: a real ``client_class`` client on the local model server, instrumented."""

    @pytest.fixture(name=name)
    def client(model_server: LocalModelServer) -> Any:
        return tracerail.instrument(local_client(client_class, model_server))

    return client


oai = _instrumented("oai", openai.OpenAI)
async_oai = _instrumented("async_oai", openai.AsyncOpenAI)
claude = _instrumented("claude", anthropic.Anthropic)
async_claude = _instrumented("async_claude", anthropic.AsyncAnthropic)


def only(spans: Spans) -> ReadableSpan:
    """The single span of the test."""
    (span,) = spans()
    return span


# HTTP status → the exception class both SDKs raise for it (openai and anthropic use the same
# class names, each in its own module).
STATUS_ERRORS = {400: "BadRequestError", 429: "RateLimitError", 500: "InternalServerError"}


def failed_call_span(spans: Spans, error: str) -> ReadableSpan:
    """The single span of a call that raised ``error``: status ERROR, ``error.type`` the class."""
    span = only(spans)
    assert span.status.status_code.name == "ERROR"
    assert (span.attributes or {})[sc.ERROR_TYPE] == error
    return span

"""Instrumented clients (ours and OpenLLMetry's) → OTLP → collector → query API columns."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import openai
import pytest
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.instrumentation.openai import OpenAIInstrumentor
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor

import tracerail
from tests.support.server import RunningServer
from tracerail import semconv as sc
from tracerail.pricing import TokenUsage, cost_usd
from tracerail.testing import SNAPSHOT_SUFFIX, LocalModelServer, count_tokens

pytestmark = pytest.mark.e2e

QUESTION = "How long do refunds take?"
ANSWER = f"Echo: {QUESTION}"


@pytest.fixture
def model_server() -> Iterator[LocalModelServer]:
    with LocalModelServer() as server:
        yield server


def _generation_spans(collector: RunningServer, service: str) -> list[dict[str, object]]:
    listed = httpx.get(
        f"{collector.base_url}/api/v1/spans", params={"service": service, "kind": "generation"}
    ).json()
    spans: list[dict[str, object]] = listed["spans"]
    return spans


def test_instrumented_client_lands_with_model_tokens_and_cost(
    collector: RunningServer, model_server: LocalModelServer
) -> None:
    # Its own provider: init() would otherwise make the first provider of the process global,
    # and later tests' init() calls would inherit this test's service name.
    own = TracerProvider(resource=Resource.create({"service.name": "provider-e2e"}))
    tracerail.init(endpoint=collector.base_url, tracer_provider=own)
    try:
        client = tracerail.instrument(
            openai.OpenAI(base_url=model_server.openai_base_url, api_key="t", max_retries=0)
        )
        model_server.set_usage(cached_tokens=2)
        client.chat.completions.create(
            model="gpt-4o-mini", messages=[{"role": "user", "content": QUESTION}]
        )
        assert tracerail.flush()
    finally:
        tracerail.shutdown()
        own.shutdown()

    (span,) = _generation_spans(collector, "provider-e2e")
    usage = TokenUsage(count_tokens(QUESTION), count_tokens(ANSWER), 2)
    assert span["name"] == "chat gpt-4o-mini"
    assert span["provider"] == "openai"
    assert span["request_model"] == "gpt-4o-mini"
    assert span["response_model"] == "gpt-4o-mini" + SNAPSHOT_SUFFIX
    assert span["input_tokens"] == usage.input_tokens
    assert span["output_tokens"] == usage.output_tokens
    assert span["cached_input_tokens"] == 2
    assert span["cost_usd"] == pytest.approx(cost_usd("gpt-4o-mini", usage))
    assert QUESTION in str(span["input"])
    assert ANSWER in str(span["output"])


def test_openllmetry_spans_land_in_the_same_columns(
    collector: RunningServer, model_server: LocalModelServer
) -> None:
    provider = TracerProvider(resource=Resource.create({"service.name": "openllmetry-app"}))
    provider.add_span_processor(
        SimpleSpanProcessor(OTLPSpanExporter(endpoint=f"{collector.base_url}/v1/traces"))
    )
    instrumentor = OpenAIInstrumentor()
    instrumentor.instrument(tracer_provider=provider)
    try:
        client = openai.OpenAI(base_url=model_server.openai_base_url, api_key="t", max_retries=0)
        client.chat.completions.create(
            model="gpt-4o", messages=[{"role": "user", "content": QUESTION}]
        )
    finally:
        instrumentor.uninstrument()
        provider.shutdown()

    (span,) = _generation_spans(collector, "openllmetry-app")
    usage = TokenUsage(count_tokens(QUESTION), count_tokens(ANSWER))
    assert span["scope_name"] != "tracerail"
    assert span["provider"] == "openai"
    assert span["request_model"] == "gpt-4o"
    assert span["response_model"] == "gpt-4o" + SNAPSHOT_SUFFIX
    assert span["input_tokens"] == usage.input_tokens
    assert span["output_tokens"] == usage.output_tokens
    # OpenLLMetry sends no cost: the collector prices the span and says so.
    assert span["cost_usd"] == pytest.approx(cost_usd("gpt-4o", usage))
    assert span["attributes"][sc.TRACERAIL_COST_SOURCE] == sc.COST_SOURCE_COLLECTOR  # type: ignore[index]

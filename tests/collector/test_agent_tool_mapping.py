"""Agent and tool spans as OpenLLMetry, OpenInference, OpenLIT and tracerail send them land on
the same columns (``operation``, ``observation_kind``, input/output) and the same canonical
``gen_ai.agent.name`` / ``gen_ai.tool.name`` attributes, through OTLP into a real collector.

Attribute names are the libraries' own: OpenLLMetry's ``opentelemetry.semconv_ai``
(``traceloop.span.kind``, ``traceloop.entity.*``), OpenInference's
``openinference.semconv.trace`` (``openinference.span.kind``, ``agent.name``, ``tool.*``) and
OpenLIT's ``openlit.semcov`` (GenAI names plus its own token keys).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.trace.export import SpanExportResult
from opentelemetry.trace import SpanKind, Tracer

import tracerail
from tests.support.otlp import record_spans
from tests.support.server import RunningServer
from tracerail import semconv as sc

AGENT_IN = '{"question": "where is my order?"}'
TOOL_ARGS = '{"order_id": "A-1"}'
TOOL_RESULT = '{"status": "shipped"}'


# Per library: (agent span name, its attributes), (tool span name, its attributes).
Spans = tuple[tuple[str, dict[str, str]], tuple[str, dict[str, str]]]
LIBRARIES: dict[str, Spans] = {
    "openllmetry": (
        (
            "support.agent",
            {
                sc.OPENLLMETRY_SPAN_KIND: "agent",
                sc.OPENLLMETRY_ENTITY_NAME: "support",
                sc.OPENLLMETRY_ENTITY_INPUT: AGENT_IN,
            },
        ),
        (
            "lookup_order.tool",
            {
                sc.OPENLLMETRY_SPAN_KIND: "tool",
                sc.OPENLLMETRY_ENTITY_NAME: "lookup_order",
                sc.OPENLLMETRY_ENTITY_INPUT: TOOL_ARGS,
                sc.OPENLLMETRY_ENTITY_OUTPUT: TOOL_RESULT,
            },
        ),
    ),
    "openinference": (
        (
            "SupportAgent.run",
            {
                sc.OPENINFERENCE_SPAN_KIND: "AGENT",
                sc.OPENINFERENCE_AGENT_NAME: "support",
                sc.OPENINFERENCE_INPUT_VALUE: AGENT_IN,
            },
        ),
        (
            "lookup_order",
            {
                sc.OPENINFERENCE_SPAN_KIND: "TOOL",
                sc.OPENINFERENCE_TOOL_NAME: "lookup_order",
                sc.OPENINFERENCE_TOOL_DESCRIPTION: "Finds an order",
                sc.OPENINFERENCE_TOOL_ID: "call_1",
                sc.OPENINFERENCE_INPUT_VALUE: TOOL_ARGS,
                sc.OPENINFERENCE_OUTPUT_VALUE: TOOL_RESULT,
            },
        ),
    ),
    # OpenLIT writes the GenAI names; tracerail's own observation kind is absent.
    "openlit": (
        (
            "invoke_agent support",
            {
                sc.GEN_AI_OPERATION_NAME: "invoke_agent",
                sc.GEN_AI_AGENT_NAME: "support",
                sc.GEN_AI_INPUT_MESSAGES: AGENT_IN,
            },
        ),
        (
            "execute_tool lookup_order",
            {
                sc.GEN_AI_OPERATION_NAME: "execute_tool",
                sc.GEN_AI_TOOL_NAME: "lookup_order",
                sc.GEN_AI_TOOL_CALL_ID: "call_1",
                sc.GEN_AI_TOOL_CALL_ARGUMENTS: TOOL_ARGS,
                sc.GEN_AI_TOOL_CALL_RESULT: TOOL_RESULT,
            },
        ),
    ),
}


def _agent_calling_tool(spans: Spans) -> Callable[[Tracer], None]:
    (agent_name, agent_attributes), (tool_name, tool_attributes) = spans

    def emit(tracer: Tracer) -> None:
        with tracer.start_as_current_span(agent_name, attributes=agent_attributes):
            tracer.start_span(tool_name, kind=SpanKind.INTERNAL, attributes=tool_attributes).end()

    return emit


def _export(collector: RunningServer, emit: Callable[[Tracer], None], service: str) -> None:
    exporter = OTLPSpanExporter(endpoint=f"{collector.base_url}/v1/traces")
    assert exporter.export(record_spans(emit, service)) == SpanExportResult.SUCCESS
    exporter.shutdown()


def _spans(collector: RunningServer, service: str, count: int) -> list[dict[str, Any]]:
    with httpx.Client(base_url=collector.base_url, timeout=30) as client:
        for _ in range(100):  # accepted data is durable; the query may lag a batch
            spans = client.get("/api/v1/spans", params={"service": service}).json()["spans"]
            if len(spans) >= count:
                return list(spans)
            time.sleep(0.1)
    raise AssertionError(f"{service}: expected {count} spans")


def _by_kind(spans: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {s["observation_kind"]: s for s in spans}


@pytest.mark.parametrize("library", sorted(LIBRARIES))
def test_agent_and_tool_of_each_library_land_on_the_same_columns(
    collector: RunningServer, library: str
) -> None:
    _export(collector, _agent_calling_tool(LIBRARIES[library]), library)
    spans = _by_kind(_spans(collector, library, 2))
    agent, tool = spans["agent"], spans["tool"]
    assert agent["operation"] == "invoke_agent"
    assert agent["attributes"][sc.GEN_AI_AGENT_NAME] == "support"
    assert agent["input"] == AGENT_IN
    assert tool["operation"] == "execute_tool"
    assert tool["attributes"][sc.GEN_AI_TOOL_NAME] == "lookup_order"
    assert (tool["input"], tool["output"]) == (TOOL_ARGS, TOOL_RESULT)
    assert tool["parent_span_id"] == agent["span_id"]
    if library != "openllmetry":  # OpenLLMetry has no tool call id
        assert tool["attributes"][sc.GEN_AI_TOOL_CALL_ID] == "call_1"
    if library == "openinference":
        assert tool["attributes"][sc.GEN_AI_TOOL_DESCRIPTION] == "Finds an order"
        assert tool["attributes"][sc.OPENINFERENCE_TOOL_NAME] == "lookup_order"  # kept as sent


def test_workflow_and_task_spans_are_plain_spans(collector: RunningServer) -> None:
    def emit(tracer: Tracer) -> None:
        with tracer.start_as_current_span(
            "pipeline.workflow", attributes={sc.OPENLLMETRY_SPAN_KIND: "workflow"}
        ):
            tracer.start_span("step.task", attributes={sc.OPENLLMETRY_SPAN_KIND: "task"}).end()

    _export(collector, emit, "workflow")
    spans = _spans(collector, "workflow", 2)
    assert [s["observation_kind"] for s in spans] == ["span", "span"]
    assert [s["operation"] for s in spans] == ["", ""]


@pytest.mark.parametrize(
    ("attributes", "cached", "reasoning"),
    [
        (  # OpenLIT's detail keys
            {sc.OPENLIT_CACHED_TOKENS: 30, sc.OPENLIT_REASONING_TOKENS: 7},
            30,
            7,
        ),
        (  # OpenLLMetry
            {sc.OPENLLMETRY_CACHE_READ_INPUT_TOKENS: 30, sc.OPENLLMETRY_REASONING_TOKENS: 7},
            30,
            7,
        ),
        (  # OpenInference
            {
                sc.OPENINFERENCE_TOKEN_COUNT_CACHE_READ: 30,
                sc.OPENINFERENCE_TOKEN_COUNT_REASONING: 7,
            },
            30,
            7,
        ),
    ],
)
def test_cache_read_and_reasoning_token_names(
    collector: RunningServer, attributes: dict[str, int], cached: int, reasoning: int
) -> None:
    service = f"tokens-{next(iter(attributes))}"

    def emit(tracer: Tracer) -> None:
        tracer.start_span(
            "chat gpt-4o",
            attributes={
                sc.GEN_AI_REQUEST_MODEL: "gpt-4o",
                sc.GEN_AI_USAGE_INPUT_TOKENS: 100,
                sc.GEN_AI_USAGE_OUTPUT_TOKENS: 20,
                **attributes,
            },
        ).end()

    _export(collector, emit, service)
    (span,) = _spans(collector, service, 1)
    assert (span["cached_input_tokens"], span["reasoning_tokens"]) == (cached, reasoning)


def test_sdk_agent_tool_generation_arrive_as_one_structure(collector: RunningServer) -> None:
    tracerail.init(endpoint=collector.base_url, service_name="sdk-agents")
    try:

        @tracerail.observe(kind="generation", name="chat m")
        def generate(prompt: str) -> str:
            return "It has shipped."

        @tracerail.observe(kind="tool")
        def lookup_order(order_id: str) -> dict[str, str]:
            return {"status": "shipped"}

        @tracerail.observe(kind="agent", name="support")
        def agent(question: str) -> str:
            with tracerail.tool_call("call_9"):
                lookup_order("A-1")
            return generate(question)

        agent("where is my order?")
        assert tracerail.flush()
    finally:
        tracerail.shutdown()
    spans = _by_kind(_spans(collector, "sdk-agents", 3))
    agent_row, tool, generation = spans["agent"], spans["tool"], spans["generation"]
    assert (agent_row["name"], agent_row["operation"]) == ("invoke_agent support", "invoke_agent")
    assert agent_row["attributes"][sc.GEN_AI_AGENT_NAME] == "support"
    assert (tool["name"], tool["operation"]) == ("execute_tool lookup_order", "execute_tool")
    assert tool["attributes"][sc.GEN_AI_TOOL_CALL_ID] == "call_9"
    assert (tool["input"], tool["output"]) == (TOOL_ARGS, TOOL_RESULT)
    assert tool["parent_span_id"] == generation["parent_span_id"] == agent_row["span_id"]

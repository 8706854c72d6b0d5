"""``@observe(kind="agent" | "tool")`` as the OpenTelemetry GenAI conventions name them, and
recorded content of unguarded spans redacted by the active policy."""

from __future__ import annotations

import json
import logging

import pytest
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind

import tracerail
from tests.support.spans import attrs, finished
from tracerail import semconv
from tracerail.guardrails import Action, CheckConfig, Policy

EMAIL = "maria.garcia@example.com"


def test_agent_span_name_kind_and_attributes(exporter: InMemorySpanExporter) -> None:
    @tracerail.observe(
        kind="agent", name="Support Bot", description="Answers customers", version="2"
    )
    def run(question: str) -> str:
        return question.upper()

    @tracerail.observe(kind="agent")
    def planner() -> str:
        return "plan"

    assert run("hi") == "HI"
    planner()
    spans = finished(exporter)
    span = spans["invoke_agent Support Bot"]
    assert span.kind is SpanKind.INTERNAL
    assert (
        attrs(span).items()
        >= {
            semconv.GEN_AI_OPERATION_NAME: "invoke_agent",
            semconv.GEN_AI_AGENT_NAME: "Support Bot",
            semconv.GEN_AI_AGENT_DESCRIPTION: "Answers customers",
            semconv.GEN_AI_AGENT_VERSION: "2",
            semconv.TRACERAIL_OBSERVATION_KIND: "agent",
            semconv.TRACERAIL_INPUT: '{"question": "hi"}',
            semconv.TRACERAIL_OUTPUT: "HI",
        }.items()
    )
    # the agent's name defaults to the function's
    assert attrs(spans["invoke_agent planner"])[semconv.GEN_AI_AGENT_NAME] == "planner"


def test_tool_span_records_call_id_arguments_and_result(exporter: InMemorySpanExporter) -> None:
    @tracerail.observe(kind="tool", description="Looks an order up")
    def lookup_order(order_id: str) -> dict[str, str]:
        return {"order_id": order_id, "status": "shipped"}

    with tracerail.tool_call("call_abc"):
        lookup_order("A-1")
    lookup_order("A-2")  # outside tool_call: no call id
    tracerail.flush()
    first, second = (
        s for s in exporter.get_finished_spans() if s.name == "execute_tool lookup_order"
    )
    assert first.kind is SpanKind.INTERNAL
    recorded = attrs(first)
    assert recorded[semconv.GEN_AI_OPERATION_NAME] == "execute_tool"
    assert recorded[semconv.GEN_AI_TOOL_NAME] == "lookup_order"
    assert recorded[semconv.GEN_AI_TOOL_TYPE] == "function"
    assert recorded[semconv.GEN_AI_TOOL_DESCRIPTION] == "Looks an order up"
    assert recorded[semconv.GEN_AI_TOOL_CALL_ID] == "call_abc"
    assert json.loads(str(recorded[semconv.GEN_AI_TOOL_CALL_ARGUMENTS])) == {"order_id": "A-1"}
    assert json.loads(str(recorded[semconv.GEN_AI_TOOL_CALL_RESULT]))["status"] == "shipped"
    assert semconv.TRACERAIL_INPUT not in recorded and semconv.TRACERAIL_OUTPUT not in recorded
    assert semconv.GEN_AI_TOOL_CALL_ID not in attrs(second)


def test_agent_tool_generation_nest(exporter: InMemorySpanExporter) -> None:
    @tracerail.observe(kind="generation", name="chat m")
    def generate(prompt: str) -> str:
        return "ok"

    @tracerail.observe(kind="tool")
    def search(query: str) -> str:
        return generate(query)

    @tracerail.observe(kind="agent")
    def agent(question: str) -> str:
        return search(question)

    agent("q")
    spans = finished(exporter)
    agent_span, tool, chat = (
        spans["invoke_agent agent"],
        spans["execute_tool search"],
        spans["chat m"],
    )
    assert tool.parent is not None and tool.parent.span_id == agent_span.context.span_id
    assert chat.parent is not None and chat.parent.span_id == tool.context.span_id


def test_email_in_a_tool_argument_is_recorded_redacted(exporter: InMemorySpanExporter) -> None:
    received: list[str] = []

    @tracerail.observe(kind="tool")
    def send_mail(to: str, body: str) -> str:
        received.append(to)
        return f"sent to {to}"

    assert send_mail(EMAIL, "hello") == f"sent to {EMAIL}"
    assert received == [EMAIL]  # the call itself is not changed: only what is recorded
    recorded = attrs(finished(exporter)["execute_tool send_mail"])
    arguments = str(recorded[semconv.GEN_AI_TOOL_CALL_ARGUMENTS])
    result = str(recorded[semconv.GEN_AI_TOOL_CALL_RESULT])
    assert EMAIL not in arguments and EMAIL not in result
    assert json.loads(arguments) == {"to": "<EMAIL_1>", "body": "hello"}
    assert result == "sent to <EMAIL_1>"
    # a recording redaction is not a guardrail decision on the call
    span = finished(exporter)["execute_tool send_mail"]
    assert not [e for e in span.events if e.name.startswith(semconv.GUARDRAIL_SPAN_PREFIX)]


def test_every_unguarded_kind_records_redacted_content(exporter: InMemorySpanExporter) -> None:
    @tracerail.observe(kind="agent")
    def agent(question: str) -> str:
        return question

    @tracerail.observe(kind="retrieval")
    def retrieve(question: str) -> list[str]:
        return [question]

    @tracerail.observe
    def step(question: str) -> str:
        return question

    for func in (agent, retrieve, step):
        func(f"write to {EMAIL}")
    tracerail.flush()
    for span in exporter.get_finished_spans():
        for key in (semconv.TRACERAIL_INPUT, semconv.TRACERAIL_OUTPUT):
            assert "<EMAIL_1>" in str(attrs(span)[key]), (span.name, key)
            assert EMAIL not in str(attrs(span)[key])


def test_policy_off_records_content_as_it_is() -> None:
    from opentelemetry.sdk.trace import TracerProvider

    memory = InMemorySpanExporter()
    tracerail.init(policy="off", tracer_provider=TracerProvider(), span_exporter=memory)
    try:

        @tracerail.observe(kind="tool")
        def send_mail(to: str) -> str:
            return to

        send_mail(EMAIL)
        recorded = attrs(finished(memory)["execute_tool send_mail"])
        assert recorded[semconv.GEN_AI_TOOL_CALL_RESULT] == EMAIL
    finally:
        tracerail.shutdown()


def test_a_fail_closed_check_that_cannot_run_records_no_content(
    caplog: pytest.LogCaptureFixture,
) -> None:
    from opentelemetry.sdk.trace import TracerProvider

    memory = InMemorySpanExporter()
    broken = CheckConfig(
        "pii", Action.REDACT, fail="closed", options={"ner": True, "ner_model": "no-such-model"}
    )
    tracerail.init(
        policy=Policy(checks=(broken,), name="broken"),
        tracer_provider=TracerProvider(),
        span_exporter=memory,
    )
    try:

        @tracerail.observe(kind="tool")
        def send_mail(to: str) -> str:
            return to

        with caplog.at_level(logging.WARNING, logger="tracerail"):
            assert send_mail(EMAIL) == EMAIL  # the app is never broken by telemetry
        assert "pii failed" in caplog.text and "content not recorded" in caplog.text
        recorded = attrs(finished(memory)["execute_tool send_mail"])
        assert semconv.GEN_AI_TOOL_CALL_ARGUMENTS not in recorded
        assert semconv.GEN_AI_TOOL_CALL_RESULT not in recorded
    finally:
        tracerail.shutdown()

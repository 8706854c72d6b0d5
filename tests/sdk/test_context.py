"""``tracerail.user(id)`` / ``tracerail.session(id)``: every span started inside carries them."""

from __future__ import annotations

import pytest
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

import tracerail
from tracerail import semconv


def test_spans_inside_carry_user_and_conversation(exporter: InMemorySpanExporter) -> None:
    @tracerail.observe(kind="retrieval")
    def retrieve() -> list[str]:
        return ["doc"]

    with tracerail.user("alice"), tracerail.session("conv-1"):
        retrieve()
        with tracerail.session("conv-2"):  # the innermost wins
            retrieve()
        retrieve()
    retrieve()  # outside: neither
    tracerail.flush()
    got = [
        (s.attributes.get(semconv.USER_ID), s.attributes.get(semconv.GEN_AI_CONVERSATION_ID))
        for s in exporter.get_finished_spans()
        if s.attributes is not None
    ]
    assert got == [("alice", "conv-1"), ("alice", "conv-2"), ("alice", "conv-1"), (None, None)]


def test_a_span_keeps_its_own_value(exporter: InMemorySpanExporter) -> None:
    tracer = tracerail.runtime.get_tracer()
    with tracerail.user("alice"):
        tracer.start_span("own", attributes={semconv.USER_ID: "bob"}).end()
    tracerail.flush()
    (span,) = exporter.get_finished_spans()
    assert span.attributes is not None and span.attributes[semconv.USER_ID] == "bob"


@pytest.mark.parametrize("bad", ["", "   "])
def test_empty_ids_are_ignored_not_raised(
    bad: str, exporter: InMemorySpanExporter, caplog: pytest.LogCaptureFixture
) -> None:
    tracer = tracerail.runtime.get_tracer()
    with tracerail.user("alice"), tracerail.user(bad), tracerail.session(bad):
        tracer.start_span("inside").end()
    tracerail.flush()
    (span,) = exporter.get_finished_spans()
    assert span.attributes is not None
    assert semconv.USER_ID not in span.attributes
    assert semconv.GEN_AI_CONVERSATION_ID not in span.attributes
    assert "expected a non-empty string" in caplog.text

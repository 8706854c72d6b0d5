"""Generations to review, sent as OTLP to a running collector: known strata, times relative to now.

Strata (period ``day``): model ``m-a`` yesterday (30 generations with sources) and three days
ago (12), model ``m-b`` yesterday (8); plus generations without sources and a tool span, which
the default population leaves out. Each RAG trace has a retrieval span whose stored output holds
the source text, and a generation with redacted input/output messages and a provenance record.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import httpx
from opentelemetry import trace
from opentelemetry.trace import Tracer

from tests.support.otlp import protobuf_body, record_spans
from tests.support.server import RunningServer
from tracerail import semconv

STRATA = {("m-a", 1): 30, ("m-a", 3): 12, ("m-b", 1): 8}
NO_SOURCES = 5


@dataclass
class ReviewWorkload:
    """What was sent: generations by stratum (day offset), and a non-generation span."""

    generations: dict[tuple[str, int], list[tuple[str, str]]] = field(default_factory=dict)
    tool_span: tuple[str, str] = ("", "")


def day_start(days_ago: int) -> datetime:
    """Midnight UTC of the day ``days_ago`` days before today."""
    now = datetime.now(UTC)
    return (now - timedelta(days=days_ago)).replace(hour=0, minute=0, second=0, microsecond=0)


def _ns(moment: datetime) -> int:
    return int(moment.timestamp() * 1e9)


def _ids(span: trace.Span) -> tuple[str, str]:
    ctx = span.get_span_context()
    return format(ctx.trace_id, "032x"), format(ctx.span_id, "016x")


def _rag(tracer: Tracer, model: str, at: datetime, i: int, *, sources: bool) -> tuple[str, str]:
    text = f"Policy {i}: refunds are issued within {10 + i} days of the return."
    root = tracer.start_span("answer", start_time=_ns(at))
    context = trace.set_span_in_context(root)
    if sources:
        retrieval = tracer.start_span(
            "search kb",
            context=context,
            start_time=_ns(at),
            attributes={
                semconv.TRACERAIL_OBSERVATION_KIND: semconv.KIND_RETRIEVAL,
                semconv.TRACERAIL_OUTPUT: json.dumps([{"id": f"kb-{i}", "text": text}]),
            },
        )
        retrieval.end(end_time=_ns(at) + 1_000_000)
    record = {
        "schema": 1,
        "sources": (
            [{"id": f"kb-{i}", "sha256": hashlib.sha256(text.encode()).hexdigest()}]
            if sources
            else []
        ),
    }
    question = [
        {"role": "user", "parts": [{"type": "text", "content": f"Question {i} from <PERSON_1>?"}]}
    ]
    answer = [
        {"role": "assistant", "parts": [{"type": "text", "content": f"Within {10 + i} days."}]}
    ]
    generation = tracer.start_span(
        f"chat {model}",
        context=context,
        start_time=_ns(at) + 2_000_000,
        attributes={
            semconv.TRACERAIL_OBSERVATION_KIND: semconv.KIND_GENERATION,
            semconv.GEN_AI_OPERATION_NAME: "chat",
            semconv.GEN_AI_REQUEST_MODEL: model,
            semconv.GEN_AI_INPUT_MESSAGES: json.dumps(question),
            semconv.GEN_AI_OUTPUT_MESSAGES: json.dumps(answer),
            semconv.TRACERAIL_PROVENANCE_RECORD: json.dumps(record),
            semconv.TRACERAIL_PROVENANCE_SOURCE_COUNT: len(record["sources"]),
        },
    )
    generation.end(end_time=_ns(at) + 3_000_000)
    root.end(end_time=_ns(at) + 4_000_000)
    return _ids(generation)


def populate(collector: RunningServer) -> ReviewWorkload:
    """Send the workload; returns the ids by stratum."""
    w = ReviewWorkload()

    def emit(tracer: Tracer) -> None:
        for (model, days_ago), count in STRATA.items():
            # One hour into the day: every generation of a stratum is on that day.
            base = day_start(days_ago) + timedelta(hours=1)
            w.generations[(model, days_ago)] = [
                _rag(tracer, model, base + timedelta(seconds=i), i, sources=True)
                for i in range(count)
            ]
        base = day_start(1) + timedelta(hours=2)
        for i in range(NO_SOURCES):
            _rag(tracer, "m-a", base + timedelta(seconds=i), 100 + i, sources=False)
        tool = tracer.start_span(
            "lookup",
            start_time=_ns(base),
            attributes={semconv.TRACERAIL_OBSERVATION_KIND: semconv.KIND_TOOL},
        )
        tool.end(end_time=_ns(base) + 1_000)
        w.tool_span = _ids(tool)

    body = protobuf_body(record_spans(emit, service_name="rag-app"))
    response = httpx.post(
        collector.base_url + "/v1/traces",
        content=body,
        headers={"content-type": "application/x-protobuf"},
        timeout=60,
    )
    response.raise_for_status()
    return w

"""Realistic GenAI span traffic, encoded as the OTel exporter does: the ingest benchmark's load.

Defined here, once: the ingest tests (``tests/collector/test_prepare_pool.py``,
``test_flatten_columns.py``, ``test_group_commit.py``) check the pipeline on it, and the
benchmarks measure it (``bench/workload.py`` re-exports it, so ``bench/`` depends on this test
support module and never the reverse).

A template batch is recorded once with the real OpenTelemetry SDK (agent → retrieval →
generations → tools, 3-10 spans per trace, GenAI attributes, 0.5-4 KB of redacted content per
generation, guardrail events) and encoded with the OTLP exporter's own encoder. Each request
body is that template with fresh trace and span ids (XOR with a per-request key, so parent
links stay consistent) and fresh timestamps, serialised and gzip-compressed exactly like
``OTLPSpanExporter`` sends it.
"""

from __future__ import annotations

import gzip
import random
import time
from dataclasses import dataclass

from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind

from tracerail import semconv as sc

WORDS = (
    "refund policy order shipping account invoice customer support warranty delivery "
    "product return exchange payment card address email redacted summary answer source "
    "document section clause period days business request status ticket"
).split()
MODELS = ("gpt-4o", "gpt-4o-mini", "claude-sonnet-4-5", "claude-haiku-4-5")


def _text(rng: random.Random, size: int) -> str:
    words: list[str] = []
    length = 0
    while length < size:
        word = rng.choice(WORDS)
        if rng.random() < 0.02:
            word = "<EMAIL_1>"
        words.append(word)
        length += len(word) + 1
    return " ".join(words)[:size]


def record_template(spans_wanted: int, seed: int = 7) -> ExportTraceServiceRequest:
    """Record ~``spans_wanted`` spans of realistic traces and encode them once."""
    rng = random.Random(seed)
    exporter = InMemorySpanExporter()
    provider = TracerProvider(
        resource=Resource.create(
            {"service.name": "bench-app", "deployment.environment.name": "bench"}
        )
    )
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracer = provider.get_tracer("bench", "1.0")
    made = 0
    while made < spans_wanted:
        size = rng.randint(3, 10)
        with tracer.start_as_current_span("agent", kind=SpanKind.INTERNAL) as root:
            root.set_attribute(sc.TRACERAIL_OBSERVATION_KIND, sc.KIND_AGENT)
            root.set_attribute(sc.USER_ID, f"user-{rng.randint(1, 500)}")
            root.set_attribute(sc.SESSION_ID, f"session-{rng.randint(1, 2000)}")
            with tracer.start_as_current_span("retrieve") as retrieval:
                retrieval.set_attribute(sc.TRACERAIL_OBSERVATION_KIND, sc.KIND_RETRIEVAL)
                retrieval.set_attribute(sc.TRACERAIL_OUTPUT, _text(rng, 300))
            for i in range(size - 2):
                if i % 2 == 0:
                    model = rng.choice(MODELS)
                    with tracer.start_as_current_span(f"chat {model}", kind=SpanKind.CLIENT) as gen:
                        gen.set_attribute(sc.TRACERAIL_OBSERVATION_KIND, sc.KIND_GENERATION)
                        gen.set_attribute(sc.GEN_AI_OPERATION_NAME, "chat")
                        gen.set_attribute(
                            sc.GEN_AI_PROVIDER_NAME, "openai" if "gpt" in model else "anthropic"
                        )
                        gen.set_attribute(sc.GEN_AI_REQUEST_MODEL, model)
                        gen.set_attribute(sc.GEN_AI_RESPONSE_MODEL, model)
                        gen.set_attribute(sc.GEN_AI_REQUEST_TEMPERATURE, 0.2)
                        gen.set_attribute(sc.GEN_AI_USAGE_INPUT_TOKENS, rng.randint(200, 3000))
                        gen.set_attribute(sc.GEN_AI_USAGE_OUTPUT_TOKENS, rng.randint(20, 800))
                        gen.set_attribute(sc.TRACERAIL_COST_USD, rng.random() / 100)
                        gen.set_attribute(sc.GEN_AI_RESPONSE_FINISH_REASONS, ["stop"])
                        content = rng.randint(500, 4000)
                        gen.set_attribute(sc.GEN_AI_INPUT_MESSAGES, _text(rng, content * 2 // 3))
                        gen.set_attribute(sc.GEN_AI_OUTPUT_MESSAGES, _text(rng, content // 3))
                        for check, verdict in (("pii", "redact"), ("prompt_injection", "allow")):
                            gen.add_event(
                                f"{sc.GUARDRAIL_SPAN_PREFIX} {check}",
                                {
                                    sc.GEN_AI_GUARDRAIL_COMPONENT_NAME: check,
                                    sc.GEN_AI_GUARDRAIL_TARGET_TYPE: "input",
                                    sc.GEN_AI_GUARDRAIL_VERDICT_TYPE: verdict,
                                    sc.TRACERAIL_GUARDRAIL_LATENCY_MS: rng.random(),
                                },
                            )
                else:
                    with tracer.start_as_current_span("tool lookup") as tool:
                        tool.set_attribute(sc.TRACERAIL_OBSERVATION_KIND, sc.KIND_TOOL)
                        tool.set_attribute(sc.TRACERAIL_INPUT, _text(rng, 80))
        made += size
    provider.shutdown()
    return encode_spans(exporter.get_finished_spans())


@dataclass
class Body:
    """One request: gzip'd protobuf bytes and how many spans it carries."""

    data: bytes
    spans: int


def _xor(raw: bytes, key: bytes) -> bytes:
    return (int.from_bytes(raw, "big") ^ int.from_bytes(key[: len(raw)], "big")).to_bytes(
        len(raw), "big"
    )


def make_bodies(template: ExportTraceServiceRequest, count: int, seed: int = 11) -> list[Body]:
    """``count`` request bodies, each the template with unique ids and current timestamps."""
    rng = random.Random(seed)
    spans_per_body = sum(len(ss.spans) for rs in template.resource_spans for ss in rs.scope_spans)
    first = min(
        span.start_time_unix_nano
        for rs in template.resource_spans
        for ss in rs.scope_spans
        for span in ss.spans
    )
    bodies = []
    for _ in range(count):
        key = rng.randbytes(16)
        shift = time.time_ns() - first
        message = ExportTraceServiceRequest()
        message.CopyFrom(template)
        for rs in message.resource_spans:
            for ss in rs.scope_spans:
                for span in ss.spans:
                    span.trace_id = _xor(span.trace_id, key)
                    span.span_id = _xor(span.span_id, key[8:])
                    if span.parent_span_id:
                        span.parent_span_id = _xor(span.parent_span_id, key[8:])
                    span.start_time_unix_nano += shift
                    span.end_time_unix_nano += shift
                    for event in span.events:
                        event.time_unix_nano += shift
        bodies.append(
            Body(gzip.compress(message.SerializeToString(), compresslevel=6), spans_per_body)
        )
    return bodies

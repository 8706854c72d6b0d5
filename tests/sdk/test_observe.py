"""``@observe`` on every function kind: spans, input/output, errors, generators, methods."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator, Iterator

import pytest
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SpanExportResult
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode

import tracerail
from tests.support.spans import attrs, finished
from tracerail import semconv


def test_without_parentheses_sync(exporter: InMemorySpanExporter) -> None:
    @tracerail.observe
    def add(a: int, b: int = 2) -> int:
        return a + b

    assert add(1, b=5) == 6
    span = finished(exporter)["add"]
    assert json.loads(str(attrs(span)[semconv.TRACERAIL_INPUT])) == {"a": 1, "b": 5}
    assert attrs(span)[semconv.TRACERAIL_OUTPUT] == "6"
    assert attrs(span)[semconv.TRACERAIL_OBSERVATION_KIND] == "span"
    assert span.kind is SpanKind.INTERNAL
    assert span.end_time is not None and span.start_time is not None
    assert span.end_time >= span.start_time


def test_with_parentheses_name_and_kind(exporter: InMemorySpanExporter) -> None:
    @tracerail.observe(name="chat my-model", kind="generation")
    def generate(prompt: str) -> str:
        return prompt.upper()

    assert generate("hi") == "HI"
    span = finished(exporter)["chat my-model"]
    assert span.kind is SpanKind.CLIENT
    assert attrs(span)[semconv.TRACERAIL_OBSERVATION_KIND] == "generation"
    assert attrs(span)[semconv.TRACERAIL_OUTPUT] == "HI"


async def test_async_function(exporter: InMemorySpanExporter) -> None:
    @tracerail.observe(kind="tool")
    async def lookup(key: str) -> dict[str, str]:
        await asyncio.sleep(0)
        return {"key": key}

    assert await lookup("k") == {"key": "k"}
    span = finished(exporter)["execute_tool lookup"]
    assert json.loads(str(attrs(span)[semconv.GEN_AI_TOOL_CALL_RESULT])) == {"key": "k"}
    assert attrs(span)[semconv.TRACERAIL_OBSERVATION_KIND] == "tool"


def test_generator_span_ends_when_exhausted(exporter: InMemorySpanExporter) -> None:
    @tracerail.observe
    def count(n: int) -> Iterator[int]:
        yield from range(n)

    gen = count(3)
    assert next(gen) == 0
    assert "count" not in finished(exporter)  # still open while the generator is suspended
    assert list(gen) == [1, 2]
    span = finished(exporter)["count"]
    assert json.loads(str(attrs(span)[semconv.TRACERAIL_OUTPUT])) == [0, 1, 2]


def test_generator_span_ends_when_closed_early(exporter: InMemorySpanExporter) -> None:
    closed = []

    @tracerail.observe
    def forever() -> Iterator[int]:
        try:
            i = 0
            while True:
                yield i
                i += 1
        finally:
            closed.append(True)

    gen = forever()
    assert [next(gen), next(gen)] == [0, 1]
    gen.close()
    assert closed == [True]
    span = finished(exporter)["forever"]
    assert span.status.status_code is StatusCode.UNSET
    assert json.loads(str(attrs(span)[semconv.TRACERAIL_OUTPUT])) == [0, 1]


def test_generator_send_and_return_value(exporter: InMemorySpanExporter) -> None:
    @tracerail.observe
    def echo() -> Iterator[str]:
        received = yield "ready"
        yield f"got {received}"
        return

    gen = echo()
    assert next(gen) == "ready"
    assert gen.send("x") == "got x"
    with pytest.raises(StopIteration):
        next(gen)
    assert "echo" in finished(exporter)


def test_generator_error_is_recorded(exporter: InMemorySpanExporter) -> None:
    @tracerail.observe
    def broken() -> Iterator[int]:
        yield 1
        raise RuntimeError("boom")

    gen = broken()
    assert next(gen) == 1
    with pytest.raises(RuntimeError, match="boom"):
        next(gen)
    span = finished(exporter)["broken"]
    assert span.status.status_code is StatusCode.ERROR
    assert attrs(span)[semconv.ERROR_TYPE] == "RuntimeError"


async def test_async_generator_exhausted_and_closed(exporter: InMemorySpanExporter) -> None:
    @tracerail.observe(kind="retrieval")
    async def stream(n: int) -> AsyncIterator[str]:
        for i in range(n):
            await asyncio.sleep(0)
            yield f"chunk{i}"

    assert [c async for c in stream(2)] == ["chunk0", "chunk1"]
    partial = stream(10)
    assert await partial.__anext__() == "chunk0"
    await partial.aclose()
    tracerail.flush()
    spans = [s for s in exporter.get_finished_spans() if s.name == "stream"]
    outputs = sorted(json.loads(str(attrs(s)[semconv.TRACERAIL_OUTPUT])) for s in spans)
    assert outputs == [["chunk0"], ["chunk0", "chunk1"]]


def test_span_is_current_inside_generator_body(exporter: InMemorySpanExporter) -> None:
    @tracerail.observe
    def child() -> int:
        return 1

    @tracerail.observe
    def parent_gen() -> Iterator[int]:
        yield child()

    assert list(parent_gen()) == [1]
    spans = finished(exporter)
    assert spans["child"].parent is not None
    assert spans["child"].parent.span_id == spans["parent_gen"].context.span_id


def test_methods_drop_self_and_nest(exporter: InMemorySpanExporter) -> None:
    class Agent:
        def __init__(self) -> None:
            self.calls = 0

        @tracerail.observe(kind="agent")
        def run(self, task: str) -> str:
            self.calls += 1
            return self.step(task)

        @tracerail.observe
        def step(self, task: str) -> str:
            return task[::-1]

    agent = Agent()
    assert agent.run("abc") == "cba"
    assert agent.calls == 1
    spans = finished(exporter)
    assert set(spans) == {"invoke_agent Agent.run", "Agent.step"}
    run = spans["invoke_agent Agent.run"]
    assert json.loads(str(attrs(run)[semconv.TRACERAIL_INPUT])) == {"task": "abc"}
    assert spans["Agent.step"].parent is not None
    assert spans["Agent.step"].parent.span_id == run.context.span_id


def test_exception_is_reraised_unchanged(exporter: InMemorySpanExporter) -> None:
    error = ValueError("bad value")

    @tracerail.observe
    def fails() -> None:
        raise error

    with pytest.raises(ValueError) as info:
        fails()
    assert info.value is error
    span = finished(exporter)["fails"]
    assert span.status.status_code is StatusCode.ERROR
    assert attrs(span)[semconv.ERROR_TYPE] == "ValueError"
    assert [event.name for event in span.events] == ["exception"]


async def test_async_exception_is_reraised(exporter: InMemorySpanExporter) -> None:
    @tracerail.observe
    async def fails() -> None:
        raise KeyError("k")

    with pytest.raises(KeyError):
        await fails()
    assert finished(exporter)["fails"].status.status_code is StatusCode.ERROR


def assert_no_content(span: ReadableSpan) -> None:
    span_attrs = attrs(span)
    assert semconv.TRACERAIL_INPUT not in span_attrs
    assert semconv.TRACERAIL_OUTPUT not in span_attrs


def test_capture_flags(exporter: InMemorySpanExporter) -> None:
    @tracerail.observe(capture_input=False, capture_output=False)
    def secret(password: str) -> str:
        return password

    secret("hunter2")
    assert_no_content(finished(exporter)["secret"])


def test_capture_content_off_records_no_content() -> None:
    from opentelemetry.sdk.trace import TracerProvider

    memory = InMemorySpanExporter()
    tracerail.init(capture_content=False, tracer_provider=TracerProvider(), span_exporter=memory)
    try:

        @tracerail.observe
        def echo(text: str) -> str:
            return text

        echo("private")
        assert_no_content(finished(memory)["echo"])
    finally:
        tracerail.shutdown()


def test_large_content_is_truncated() -> None:
    from opentelemetry.sdk.trace import TracerProvider

    memory = InMemorySpanExporter()
    tracerail.init(max_content_chars=10, tracer_provider=TracerProvider(), span_exporter=memory)
    try:

        @tracerail.observe
        def big() -> str:
            return "x" * 100

        big()
        span_attrs = attrs(finished(memory)["big"])
        assert span_attrs[semconv.TRACERAIL_OUTPUT] == "x" * 10
        assert span_attrs[semconv.TRACERAIL_OUTPUT_TRUNCATED] is True
    finally:
        tracerail.shutdown()


def test_unserialisable_values_do_not_break_the_call(exporter: InMemorySpanExporter) -> None:
    class Opaque:
        def __repr__(self) -> str:
            return "<opaque>"

    @tracerail.observe
    def takes(obj: object, data: bytes) -> object:
        return obj

    value = Opaque()
    assert takes(value, b"\x00\x01") is value
    span_attrs = attrs(finished(exporter)["takes"])
    assert json.loads(str(span_attrs[semconv.TRACERAIL_INPUT])) == {
        "obj": "<opaque>",
        "data": "<2 bytes>",
    }


def test_failing_exporter_is_logged_not_raised(caplog: pytest.LogCaptureFixture) -> None:
    from opentelemetry.sdk.trace import TracerProvider

    class Broken(InMemorySpanExporter):
        def export(self, spans: object) -> SpanExportResult:  # type: ignore[override]
            raise ConnectionError("collector down")

    tracerail.init(tracer_provider=TracerProvider(), span_exporter=Broken())
    try:

        @tracerail.observe
        def work() -> int:
            return 7

        with caplog.at_level(logging.ERROR):
            assert work() == 7
            tracerail.flush()
    finally:
        tracerail.shutdown()
    assert any("collector down" in r.getMessage() or r.exc_info for r in caplog.records)


def test_invalid_kind_is_a_config_error() -> None:
    with pytest.raises(tracerail.ConfigError) as info:
        tracerail.observe(kind="llm")  # type: ignore[arg-type]
    assert info.value.field == "kind"


def test_observe_works_before_init() -> None:
    @tracerail.observe
    def plain(x: int) -> int:
        return x * 2

    assert plain(4) == 8


def test_wraps_preserves_metadata() -> None:
    @tracerail.observe
    def documented(x: int) -> int:
        """Doubles x."""
        return x * 2

    assert documented.__name__ == "documented"
    assert documented.__doc__ == "Doubles x."

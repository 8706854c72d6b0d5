"""Guardrails in the call path: @observe(kind="generation"), run_guardrails, policy precedence,
recording on the span, and raw PII never reaching the exporter."""

from __future__ import annotations

import gzip
import http.server
import json
import threading
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any, ClassVar

import pytest
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

import tracerail
from tracerail import GuardrailBlocked, semconv
from tracerail.guard import active_policy, run_guardrails
from tracerail.guardrails import Action, CheckConfig, Policy

EMAIL = "alice.liddell@example.com"
CARD = "4111 1111 1111 1111"
BLOCK_PII = Policy(checks=(CheckConfig("pii", Action.BLOCK),), name="block-pii")


def events(exporter: InMemorySpanExporter) -> list[tuple[str, dict[str, Any]]]:
    tracerail.flush()
    return [
        (e.name, dict(e.attributes or {}))
        for span in exporter.get_finished_spans()
        for e in span.events
        if e.name.startswith(semconv.GUARDRAIL_SPAN_PREFIX)
    ]


def test_generation_redacts_input_output_and_the_recorded_span(spans: InMemorySpanExporter) -> None:
    received: list[Any] = []

    @tracerail.observe(kind="generation")
    def chat(messages: list[dict[str, Any]], model: str = "m") -> str:
        received.append(messages)
        return f"I emailed {EMAIL} for you"

    messages = [
        {"role": "system", "content": "be nice"},
        {"role": "user", "content": [{"type": "text", "text": f"mail {EMAIL}"}, {"type": "image"}]},
    ]
    answer = chat(messages)
    assert answer == "I emailed <EMAIL_1> for you"  # same value, same placeholder in one call
    assert received[0][1]["content"][0]["text"] == "mail <EMAIL_1>"
    assert messages[1]["content"][0]["text"] == f"mail {EMAIL}"  # the caller's data is untouched
    tracerail.flush()
    (span,) = spans.get_finished_spans()
    attrs = dict(span.attributes or {})
    assert EMAIL not in attrs[semconv.TRACERAIL_INPUT]
    assert EMAIL not in attrs[semconv.TRACERAIL_OUTPUT]
    recorded = events(spans)
    names = [name for name, _ in recorded]
    assert names.count("run_guardrail pii") == 2  # input and output
    pii_input = next(a for n, a in recorded if n == "run_guardrail pii")
    assert pii_input[semconv.GEN_AI_GUARDRAIL_TARGET_TYPE] == "input"
    assert pii_input[semconv.GEN_AI_GUARDRAIL_VERDICT_TYPE] == "redact"
    assert pii_input[semconv.TRACERAIL_GUARDRAIL_POLICY_VERSION] == Policy.default().version
    assert json.loads(pii_input[semconv.TRACERAIL_GUARDRAIL_ENTITY_COUNTS]) == {"EMAIL_ADDRESS": 1}
    assert pii_input[semconv.TRACERAIL_GUARDRAIL_LATENCY_MS] >= 0


def test_input_block_stops_the_call_before_the_model(spans: InMemorySpanExporter) -> None:
    calls: list[str] = []

    @tracerail.observe(kind="generation", policy=BLOCK_PII)
    def chat(prompt: str) -> str:
        calls.append(prompt)
        return "ok"

    with pytest.raises(GuardrailBlocked) as info:
        chat(f"my card is {CARD}")
    assert calls == []
    assert info.value.target == "input" and info.value.checks == ("pii",)
    assert CARD not in str(info.value) and "CREDIT_CARD" in str(info.value)
    tracerail.flush()
    (span,) = spans.get_finished_spans()
    assert dict(span.attributes or {})[semconv.ERROR_TYPE] == "GuardrailBlocked"


def test_output_block_keeps_the_answer_from_the_caller(spans: InMemorySpanExporter) -> None:
    @tracerail.observe(kind="generation", policy=BLOCK_PII)
    def chat(prompt: str) -> dict[str, str]:
        return {"role": "assistant", "content": f"sure: {EMAIL}"}

    with pytest.raises(GuardrailBlocked) as info:
        chat("hello")
    assert info.value.target == "output"
    assert EMAIL not in str(info.value)


async def test_async_and_generators_share_the_guarded_core(spans: InMemorySpanExporter) -> None:
    @tracerail.observe(kind="generation")
    async def achat(prompt: str) -> str:
        return prompt

    @tracerail.observe(kind="generation")
    def stream(prompt: str) -> Iterator[str]:
        yield from prompt.split(" ")

    @tracerail.observe(kind="generation", policy=BLOCK_PII)
    async def astream(prompt: str) -> AsyncIterator[str]:
        yield "write to "
        yield EMAIL

    assert await achat(f"echo {EMAIL}") == "echo <EMAIL_1>"
    assert list(stream(f"to {EMAIL}")) == ["to", "<EMAIL_1>"]
    with pytest.raises(GuardrailBlocked):
        async for _ in astream("hi"):
            pass


def test_run_guardrails_records_on_the_current_span(spans: InMemorySpanExporter) -> None:
    @tracerail.observe(name="outer")
    def outer() -> list[str]:
        return run_guardrails([f"x {EMAIL}", "clean"], target="output")

    assert outer() == ["x <EMAIL_1>", "clean"]
    recorded = events(spans)
    assert {a[semconv.GEN_AI_GUARDRAIL_TARGET_TYPE] for _, a in recorded} == {"output"}
    pii = next(a for n, a in recorded if n == "run_guardrail pii")
    assert pii[semconv.TRACERAIL_GUARDRAIL_TEXT_COUNT] == 2


def test_policy_precedence(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def policy_file(name: str) -> Path:
        path = tmp_path / f"{name}.toml"
        path.write_text(f'name = "{name}"\n[checks.secrets]\naction = "flag"\n', encoding="utf-8")
        return path

    assert active_policy().name == "default"
    (tmp_path / "tracerail.toml").write_text(policy_file("local").read_text(), encoding="utf-8")
    assert active_policy().name == "local"
    monkeypatch.setenv(semconv.ENV_POLICY, str(policy_file("env")))
    assert active_policy().name == "env"
    tracerail.init(service_name="p", policy=policy_file("init"))
    try:
        assert active_policy().name == "init"

        @tracerail.observe(policy=policy_file("observe"))
        def inside() -> str:
            return active_policy().name

        assert inside() == "observe"
        assert active_policy(policy_file("explicit")).name == "explicit"
    finally:
        tracerail.shutdown()


def test_policy_off_records_raw_content(spans: InMemorySpanExporter) -> None:
    @tracerail.observe(kind="generation", policy="off")
    def chat(prompt: str) -> str:
        return prompt

    assert chat(EMAIL) == EMAIL
    assert events(spans) == []


def test_bad_policy_fails_at_init_and_at_decoration(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text('[checks.pii]\naction = "nuke"\n', encoding="utf-8")
    with pytest.raises(tracerail.ConfigError, match=r"checks\.pii\.action"):
        tracerail.init(service_name="p", policy=bad)
    with pytest.raises(tracerail.ConfigError, match=r"checks\.pii\.action"):
        tracerail.observe(kind="generation", policy=bad)


class _Capture(http.server.BaseHTTPRequestHandler):
    bodies: ClassVar[list[bytes]] = []

    def do_POST(self) -> None:
        raw = self.rfile.read(int(self.headers["Content-Length"]))
        if self.headers.get("Content-Encoding") == "gzip":
            raw = gzip.decompress(raw)
        type(self).bodies.append(raw)
        self.send_response(200)
        self.send_header("Content-Type", "application/x-protobuf")
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


def test_raw_pii_never_reaches_the_exported_bytes() -> None:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Capture)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    _Capture.bodies = []
    try:
        tracerail.init(service_name="bytes", endpoint=f"http://127.0.0.1:{server.server_port}")

        @tracerail.observe(kind="generation")
        def chat(prompt: str) -> str:
            return f"noted {CARD} and {EMAIL}"

        chat(f"I am {EMAIL}, card {CARD}, key AKIAIOSFODNN7EXAMPLE")
        assert tracerail.flush(10_000)
    finally:
        tracerail.shutdown()
        server.shutdown()
    exported = b"".join(_Capture.bodies)
    assert b"run_guardrail pii" in exported and b"<EMAIL_1>" in exported
    for raw in (EMAIL, CARD, "AKIAIOSFODNN7EXAMPLE"):
        assert raw.encode() not in exported

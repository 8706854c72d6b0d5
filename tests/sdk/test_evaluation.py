"""Background evaluation (``tracerail.evaluation``): after the call, off the app's path.

The collector's scores API is played by a small loopback HTTP server that records what the SDK
posts (the real collector is exercised in tests/e2e/test_provenance_scores_metrics.py).
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanContext, TraceFlags

import tracerail
from tracerail import evaluation, semconv
from tracerail.guardrails.evaluators import ClaimVerdict, Evaluation

DOC = "Refunds are issued within 14 days of a return being received."


class ScoresApi:
    """Records ``POST /api/v1/scores`` bodies; answers 404 to the first ``unknown`` posts."""

    def __init__(self) -> None:
        self.bodies: list[dict[str, Any]] = []
        self.unknown = 0
        self.attempts = 0
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                owner.attempts += 1
                if self.path != "/api/v1/scores":
                    status = 405
                elif owner.unknown > 0:
                    owner.unknown -= 1
                    status = 404
                else:
                    owner.bodies.append(body)
                    status = 201
                data = b'{"score_id": "x"}' if status == 201 else b'{"error": "unknown_span"}'
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


class Fixed:
    """An evaluator with a fixed answer; optionally slow, blocking until released, or first
    running ``before`` (which may raise, or make calls of its own)."""

    name = "fixed"
    version = "7"

    def __init__(
        self,
        score: float = 0.8,
        label: str = "hallucinated",
        delay: float = 0.0,
        prompt: str = "",
        before: Callable[[], object] = lambda: None,
    ) -> None:
        self.score, self.label, self.delay, self.prompt = score, label, delay, prompt
        self.before = before
        self.calls: list[tuple[str, tuple[str, ...]]] = []
        self.started = threading.Event()
        self.release = threading.Event()
        self.release.set()

    def evaluate(
        self, answer: str, sources: Sequence[str], *, question: str | None = None
    ) -> Evaluation:
        self.before()
        self.started.set()
        self.release.wait(10)
        time.sleep(self.delay)
        self.calls.append((answer, tuple(sources)))
        return Evaluation(
            score=self.score,
            label=self.label,
            explanation="date unsupported",
            evaluator=self.name,
            version=self.version,
            prompt_sha256=self.prompt,
            claims=(ClaimVerdict(0, 10, 0.1), ClaimVerdict(11, 20, 0.9)),
        )


@pytest.fixture
def api() -> Iterator[ScoresApi]:
    server = ScoresApi()
    yield server
    server.close()


@pytest.fixture
def memory() -> InMemorySpanExporter:
    return InMemorySpanExporter()


def start(api: ScoresApi, memory: InMemorySpanExporter, evaluator: Any) -> None:
    tracerail.init(
        endpoint=api.url,
        tracer_provider=TracerProvider(),
        span_exporter=memory,
        service_name="eval-app",
        evaluator=evaluator,
    )


@pytest.fixture(autouse=True)
def _stop(api: ScoresApi) -> Iterator[None]:
    """Stops tracerail (draining evaluations) before the scores API goes away."""
    yield
    tracerail.shutdown()
    tracerail.provenance.configure_grounding()


@tracerail.observe(kind="generation", name="gen")
def generate(question: str) -> str:
    tracerail.sources([tracerail.Source(id="d1", text=DOC)])
    return "Refunds are issued within 30 days."


def generate_once(api: ScoresApi, memory: InMemorySpanExporter, evaluator: Any) -> None:
    """tracerail started with ``evaluator``, one generation, then flushed (its evaluation done)."""
    start(api, memory, evaluator)
    generate("refunds?")
    assert tracerail.flush()


def spans_by_name(memory: InMemorySpanExporter) -> dict[str, ReadableSpan]:
    return {s.name: s for s in memory.get_finished_spans()}


def test_answer_returns_before_a_slow_evaluator_and_the_score_follows(
    api: ScoresApi, memory: InMemorySpanExporter
) -> None:
    evaluator = Fixed()
    start(api, memory, evaluator)
    generate("warm-up")  # the first call loads the guardrails
    assert tracerail.flush()
    memory.clear()
    api.bodies.clear()
    evaluator.calls.clear()
    evaluator.started.clear()
    evaluator.release.clear()  # the evaluator now waits until the test lets it finish
    assert generate("refunds?") == "Refunds are issued within 30 days."
    assert evaluator.started.wait(5)
    # The answer came back while its evaluation is still running: not on the call's path.
    assert evaluator.calls == [] and api.bodies == []
    evaluator.release.set()
    assert tracerail.flush()

    gen = spans_by_name(memory)["gen"]
    assert not [e for e in gen.events if e.name == semconv.TRACERAIL_SCORE_EVENT]
    assert evaluator.calls == [("Refunds are issued within 30 days.", (DOC,))]
    context = gen.get_span_context()
    assert context is not None
    (body,) = api.bodies
    assert body == {
        "trace_id": format(context.trace_id, "032x"),
        "span_id": format(context.span_id, "016x"),
        "name": "hallucination",
        "value": 0.8,
        "data_type": "numeric",
        "label": "hallucinated",
        "comment": "date unsupported",
        "source": "auto",
        "evaluator": "fixed",
        "evaluator_version": "7",
    }
    # The evaluation span: a child of the evaluated span with the gen_ai.evaluation.* names.
    span = spans_by_name(memory)["evaluate fixed"]
    assert span.parent is not None and span.parent.span_id == context.span_id
    assert span.context is not None and span.context.trace_id == context.trace_id
    attributes = span.attributes or {}
    assert attributes[semconv.GEN_AI_EVALUATION_NAME] == "hallucination"
    assert attributes[semconv.GEN_AI_EVALUATION_SCORE_VALUE] == 0.8
    assert attributes[semconv.GEN_AI_EVALUATION_SCORE_LABEL] == "hallucinated"
    assert attributes[semconv.GEN_AI_EVALUATION_EXPLANATION] == "date unsupported"
    assert attributes[semconv.TRACERAIL_EVALUATION_EVALUATOR_NAME] == "fixed"
    assert attributes[semconv.TRACERAIL_EVALUATION_EVALUATOR_VERSION] == "7"
    assert attributes[semconv.TRACERAIL_EVALUATION_CLAIMS] == 2
    assert attributes[semconv.TRACERAIL_EVALUATION_UNSUPPORTED_CLAIMS] == 1
    assert evaluation.stats() == {
        "evaluator": "fixed",
        "submitted": 2,
        "dropped": 0,
        "evaluated": 2,
        "failed": 0,
        "sent": 2,
        "unsent": 0,
    }


def test_the_evaluation_span_carries_the_calls_user_and_session(
    api: ScoresApi, memory: InMemorySpanExporter
) -> None:
    start(api, memory, Fixed())
    with tracerail.user("alice"), tracerail.session("conv-1"):
        generate("refunds?")
    assert tracerail.flush()  # evaluated on the runner's thread, outside that context
    attributes = spans_by_name(memory)["evaluate fixed"].attributes or {}
    assert attributes[semconv.USER_ID] == "alice"
    assert attributes[semconv.GEN_AI_CONVERSATION_ID] == "conv-1"


def test_prompted_evaluator_is_a_judge_score_with_its_prompt_hash(
    api: ScoresApi, memory: InMemorySpanExporter
) -> None:
    generate_once(api, memory, Fixed(score=0.0, label="grounded", prompt="ab" * 32))
    (body,) = api.bodies
    assert (body["source"], body["prompt_sha256"], body["label"]) == (
        "judge",
        "ab" * 32,
        "grounded",
    )


def test_a_span_the_collector_does_not_know_yet_is_retried(
    api: ScoresApi, memory: InMemorySpanExporter
) -> None:
    api.unknown = 2  # two 404s: the span has not reached the store yet
    generate_once(api, memory, Fixed())
    assert api.attempts == 3
    assert len(api.bodies) == 1
    assert evaluation.stats()["sent"] == 1


def test_full_queue_drops_and_counts_never_blocks(
    api: ScoresApi, memory: InMemorySpanExporter
) -> None:
    evaluator = Fixed()
    evaluator.release.clear()
    start(api, memory, "off")
    runner = evaluation.configure(evaluator, max_queue=1)
    assert runner is not None
    generate("first")  # taken by the worker, which blocks in the evaluator
    assert evaluator.started.wait(5)
    generate("second")  # waits in the queue (size 1)
    generate("third")  # the queue is full: dropped, without waiting for the blocked worker
    assert evaluation.stats()["dropped"] == 1
    evaluator.release.set()
    assert tracerail.flush()
    assert evaluation.stats()["submitted"] == 2
    assert len(api.bodies) == 2


def test_failures_are_logged_never_raised(
    api: ScoresApi, memory: InMemorySpanExporter, caplog: pytest.LogCaptureFixture
) -> None:
    def fall_over() -> None:
        raise RuntimeError("model fell over")

    start(api, memory, Fixed(before=fall_over))
    assert generate("refunds?") == "Refunds are issued within 30 days."
    assert tracerail.flush()
    assert api.bodies == []
    assert evaluation.stats()["failed"] == 1
    assert "model fell over" in caplog.text
    span = spans_by_name(memory)["evaluate fixed"]
    assert (span.attributes or {})[semconv.ERROR_TYPE] == "RuntimeError"

    tracerail.init(endpoint=api.url, span_exporter=memory, evaluator="no-such-evaluator")
    assert generate("refunds?")
    assert tracerail.flush()
    assert "evaluator 'no-such-evaluator' unavailable" in caplog.text


def test_undecided_evaluation_sends_no_score_only_its_event(
    api: ScoresApi, memory: InMemorySpanExporter, monkeypatch: pytest.MonkeyPatch
) -> None:
    from opentelemetry import _logs
    from opentelemetry.sdk._logs import LoggerProvider
    from opentelemetry.sdk._logs.export import InMemoryLogRecordExporter, SimpleLogRecordProcessor

    logs = InMemoryLogRecordExporter()
    provider = LoggerProvider()
    provider.add_log_record_processor(SimpleLogRecordProcessor(logs))
    monkeypatch.setattr(_logs, "get_logger", provider.get_logger)

    generate_once(api, memory, Fixed(score=0.5, label="unparseable", prompt="cd" * 32))
    assert api.bodies == []
    (record,) = [r.log_record for r in logs.get_finished_logs()]
    assert record.event_name == "gen_ai.evaluation.result"
    gen = spans_by_name(memory)["gen"].get_span_context()
    assert gen is not None
    assert (record.trace_id, record.span_id) == (gen.trace_id, gen.span_id)
    attributes = dict(record.attributes or {})
    assert attributes[semconv.GEN_AI_EVALUATION_NAME] == "hallucination"
    assert attributes[semconv.GEN_AI_EVALUATION_SCORE_LABEL] == "unparseable"
    assert attributes[semconv.ERROR_TYPE] == "unparseable"
    assert attributes[semconv.TRACERAIL_EVALUATION_PROMPT_SHA256] == "cd" * 32
    assert attributes[semconv.TRACERAIL_SCORE_SOURCE] == "judge"


def test_calls_made_while_evaluating_are_not_evaluated(
    api: ScoresApi, memory: InMemorySpanExporter
) -> None:
    generate_once(api, memory, Fixed(before=lambda: generate("an evaluator's own generation")))
    assert evaluation.stats()["submitted"] == 1
    assert len(api.bodies) == 1


def test_off_by_argument_or_environment(
    api: ScoresApi, memory: InMemorySpanExporter, monkeypatch: pytest.MonkeyPatch
) -> None:
    generate_once(api, memory, "off")
    assert evaluation.stats()["evaluator"] is None
    tracerail.shutdown()

    monkeypatch.setenv(semconv.ENV_EVALUATOR, "off")
    assert tracerail.init(endpoint=api.url, span_exporter=memory).evaluator == "off"
    generate("refunds?")
    assert tracerail.flush()
    assert api.bodies == []
    monkeypatch.setenv(semconv.ENV_EVALUATOR, "heuristic")
    assert tracerail.init(span_exporter=memory).evaluator == "heuristic"
    assert tracerail.init(span_exporter=memory, evaluator=Fixed()).evaluator == "fixed"


def test_legacy_judge_is_scored_in_the_background_too(
    api: ScoresApi, memory: InMemorySpanExporter
) -> None:
    from tracerail.guardrails.grounding import JudgeVerdict

    start(api, memory, Fixed())
    tracerail.provenance.configure_grounding(
        judge=lambda answer, sources: JudgeVerdict(0.75, label="partly", comment="date")
    )
    generate("refunds?")
    assert tracerail.flush()
    by_source = {b["source"]: b for b in api.bodies}
    assert by_source["judge"]["value"] == 0.75
    assert by_source["judge"]["evaluator"] == "custom-judge"
    assert by_source["auto"]["evaluator"] == "fixed"


def test_shutdown_drains_the_queue(api: ScoresApi, memory: InMemorySpanExporter) -> None:
    start(api, memory, Fixed(delay=0.2))
    for _ in range(3):
        generate("refunds?")
    tracerail.shutdown()
    assert len(api.bodies) == 3


def test_submit_needs_a_valid_span() -> None:
    invalid = SpanContext(0, 0, is_remote=False)
    assert evaluation.submit(invalid, "a", ["b"]) is False
    valid = SpanContext(1, 1, is_remote=False, trace_flags=TraceFlags(1))
    with evaluation.evaluating():
        assert evaluation.submit(valid, "a", ["b"]) is False


def test_llm_judge_in_the_background_end_to_end(
    api: ScoresApi, memory: InMemorySpanExporter
) -> None:
    """The real openai client against the local wire-format server as the SDK's evaluator:
    the judge's call is traced under the evaluate span, marked, and not evaluated itself."""
    import openai

    from tracerail.guardrails.evaluators import get_evaluator
    from tracerail.guardrails.evaluators.llm_judge import PROMPT_SHA256
    from tracerail.testing import LocalModelServer

    with LocalModelServer() as server:
        client = openai.OpenAI(base_url=server.openai_base_url, api_key="t", max_retries=0)
        judge = get_evaluator("llm-judge", client=client, model="gpt-4o-mini")
        start(api, memory, judge)
        server.script_replies(
            "I think it is fine.",  # malformed: retried
            json.dumps({"claims": [{"id": 1, "verdict": "contradicted", "source": 1}]}),
        )
        generate("refunds?")
        assert tracerail.flush()
        assert len(server.requests) == 2

    (body,) = api.bodies
    assert (body["source"], body["evaluator"], body["prompt_sha256"]) == (
        "judge",
        "llm-judge",
        PROMPT_SHA256,
    )
    assert (body["evaluator_version"], body["label"], body["value"]) == (
        "1.0+gpt-4o-mini",
        "hallucinated",
        1.0,
    )
    spans = list(memory.get_finished_spans())
    evaluate = next(s for s in spans if s.name == "evaluate llm-judge")
    calls = [s for s in spans if s.name == "chat gpt-4o-mini"]
    assert len(calls) == 2  # both judge requests, each traced
    for call in calls:
        assert call.parent is not None and evaluate.context is not None
        assert call.parent.span_id == evaluate.context.span_id
        attributes = call.attributes or {}
        assert attributes[semconv.TRACERAIL_EVALUATION_JUDGE_CALL] is True
        assert attributes[semconv.TRACERAIL_COST_USD] > 0  # type: ignore[operator]
    assert evaluation.stats()["submitted"] == 1  # the judge's calls were not evaluated

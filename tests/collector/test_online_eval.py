"""The collector's online evaluator: what it picks up, what it writes, and that it never scores
a generation twice (a second pass, a new worker, a restarted collector process)."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from opentelemetry.trace import Tracer

from tests.support.evaluators import FailingEvaluator, WordOverlapEvaluator
from tests.support.otlp import protobuf_body, record_spans
from tests.support.server import RunningServer, serve_in_thread
from tests.support.subprocess_collector import CollectorProcess, query_stopped
from tracerail import semconv
from tracerail.collector.eval_inputs import answer_text, question_text, source_texts
from tracerail.collector.online_eval import OnlineEvaluator
from tracerail.collector.settings import Settings
from tracerail.collector.store import online_eval as queries
from tracerail.collector.store.clickhouse import ClickHouseStore
from tracerail.collector.store.metrics import Window, hallucination_rate

PROTOBUF = {"Content-Type": "application/x-protobuf"}
SPEC = "tests.support.evaluators:WordOverlapEvaluator"
DOC = "Refunds are issued within 14 days of a return being received."


def _row(
    trace: str,
    span: str,
    kind: str,
    start: datetime,
    *,
    output: str = "",
    input_: str = "",
    attributes: dict[str, str] | None = None,
) -> dict[str, Any]:
    return {
        "project": "p",
        "timestamp": start,
        "duration_ns": 1_000_000,
        "trace_id": trace,
        "span_id": span,
        "observation_kind": kind,
        "request_model": "m" if kind == semconv.KIND_GENERATION else "",
        "output": output,
        "input": input_,
        "attributes": attributes or {},
    }


def _insert(store: ClickHouseStore, rows: list[dict[str, Any]]) -> None:
    store.insert_columns("spans", {key: [r[key] for r in rows] for key in rows[0]})


NOW = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=5)
T1, T2, T3, T4 = ("a1" * 16, "a2" * 16, "a3" * 16, "a4" * 16)


def _corpus(store: ClickHouseStore) -> None:
    gen, ret = semconv.KIND_GENERATION, semconv.KIND_RETRIEVAL
    docs = json.dumps([{"id": "kb-1", "text": DOC}])
    messages = json.dumps([{"role": "assistant", "content": "The museum opens at 9."}])
    question = json.dumps([{"role": "user", "content": "When does it open?"}])
    openinference = {
        semconv.OPENINFERENCE_RETRIEVAL_DOCUMENTS + "1" + semconv.OPENINFERENCE_DOCUMENT_CONTENT: (
            "Tickets cost 12 euros."
        ),
        semconv.OPENINFERENCE_RETRIEVAL_DOCUMENTS + "0" + semconv.OPENINFERENCE_DOCUMENT_CONTENT: (
            "The museum opens at 9."
        ),
    }
    _insert(
        store,
        [
            # T1: a retrieval (the SDK's JSON output), a grounded and a hallucinated answer,
            # and a judge's own call that is never evaluated.
            _row(T1, "11" * 8, ret, NOW, output=docs),
            _row(T1, "12" * 8, gen, NOW + timedelta(seconds=1), output=DOC),
            _row(
                T1,
                "13" * 8,
                gen,
                NOW + timedelta(seconds=2),
                output="Refunds take 30 days, fee 5%.",
            ),
            _row(
                T1,
                "14" * 8,
                gen,
                NOW + timedelta(seconds=3),
                output="judge verdict",
                attributes={semconv.TRACERAIL_EVALUATION_JUDGE_CALL: "true"},
            ),
            # T2: OpenInference documents; output and input as messages.
            _row(T2, "21" * 8, ret, NOW, attributes=openinference),
            _row(T2, "22" * 8, gen, NOW + timedelta(seconds=1), output=messages, input_=question),
            # T3: no retrieval in the trace: not a candidate.
            _row(T3, "31" * 8, gen, NOW, output="Anything at all."),
            # T4: a retrieval that returned nothing: passed over as "no sources".
            _row(T4, "41" * 8, ret, NOW, output="[]"),
            _row(T4, "42" * 8, gen, NOW + timedelta(seconds=1), output="An answer."),
        ],
    )


def _worker(store: ClickHouseStore, evaluator: Any = None, **options: Any) -> OnlineEvaluator:
    return OnlineEvaluator(
        store,
        evaluator or WordOverlapEvaluator(),
        rate_per_second=1_000.0,
        batch_size=options.pop("batch_size", 2),
        settle_seconds=options.pop("settle_seconds", 0.0),
        **options,
    )


def _hallucination_scores(store: ClickHouseStore) -> list[dict[str, Any]]:
    return store.query(
        "SELECT span_id, value, source, label, evaluator, evaluator_version, comment "
        f"FROM {store.table('scores')} WHERE name = 'hallucination' ORDER BY span_id"
    )


def test_scores_generations_with_sources_once(store: ClickHouseStore) -> None:
    _corpus(store)
    worker = _worker(store)
    # Counted from small columns: the judge's call is included.
    assert queries.count_pending(store, "word-overlap", "1", lookback_hours=24, settle_ms=0) == 5
    worker.drain()

    rows = _hallucination_scores(store)
    assert [r["span_id"] for r in rows] == ["12" * 8, "13" * 8, "22" * 8]
    by_span = {r["span_id"]: r for r in rows}
    assert by_span["12" * 8]["value"] == 0.0 and by_span["12" * 8]["label"] == "grounded"
    assert by_span["13" * 8]["value"] > 0.5 and by_span["13" * 8]["label"] == "hallucinated"
    assert by_span["22" * 8]["value"] == 0.0  # "The museum opens at 9." against its documents
    assert {(r["source"], r["evaluator"], r["evaluator_version"]) for r in rows} == {
        ("auto", "word-overlap", "1")
    }
    progress = worker.snapshot()
    # The judge's call, T3 (no retrieval) and T4 (a retrieval without text) are passed over.
    assert (progress["scored"], progress["skipped"], progress["errors"]) == (3, 3, 0)
    window = Window(NOW - timedelta(hours=1), NOW + timedelta(hours=1))
    fast = hallucination_rate(store, "p", "model", window)
    assert fast == hallucination_rate(store, "p", "model", window, exact=True)
    assert fast[0]["evaluated"] == 3

    # A second pass, and a new worker (a restart: its cursor starts over), add nothing.
    worker.drain()
    again = _worker(store, batch_size=50)
    again.drain()
    assert _hallucination_scores(store) == rows
    assert again.snapshot()["scored"] == 0
    assert queries.count_pending(store, "word-overlap", "1", lookback_hours=24, settle_ms=0) == 2
    assert queries.count_scored(store, "word-overlap", "1") == 3

    # Another evaluator version scores them again, under its own version.
    class Version2(WordOverlapEvaluator):
        version = "2"

    _worker(store, Version2()).drain()
    assert queries.count_scored(store, "word-overlap", "2") == 3
    assert queries.count_scored(store, "word-overlap", "1") == 3


def test_a_generation_that_only_calls_tools_is_not_scored(store: ClickHouseStore) -> None:
    # An agent turn: retrieve, ask for a tool (no text to judge), then answer.
    trace = "a5" * 16
    call = json.dumps([{"role": "assistant", "parts": [_CALL], "finish_reason": "tool_call"}])
    answer = json.dumps([{"role": "assistant", "parts": [{"type": "text", "content": DOC}]}])
    gen = semconv.KIND_GENERATION
    _insert(
        store,
        [
            _row(trace, "51" * 8, semconv.KIND_RETRIEVAL, NOW, output=json.dumps([DOC])),
            _row(trace, "52" * 8, gen, NOW + timedelta(seconds=1), output=call),
            _row(trace, "53" * 8, gen, NOW + timedelta(seconds=2), output=answer),
        ],
    )
    worker = _worker(store)
    worker.drain()
    assert [r["span_id"] for r in _hallucination_scores(store)] == ["53" * 8]
    progress = worker.snapshot()
    assert (progress["scored"], progress["skipped"]) == (1, 1)


def test_an_evaluator_failing_on_one_answer_does_not_stop_the_others(
    store: ClickHouseStore,
) -> None:
    gen, ret = semconv.KIND_GENERATION, semconv.KIND_RETRIEVAL
    _insert(
        store,
        [
            _row(T1, "11" * 8, ret, NOW, output=json.dumps([DOC])),
            _row(T1, "12" * 8, gen, NOW + timedelta(seconds=1), output="boom"),
            _row(T1, "13" * 8, gen, NOW + timedelta(seconds=2), output=DOC),
        ],
    )
    worker = _worker(store, FailingEvaluator())
    worker.drain()
    assert [r["span_id"] for r in _hallucination_scores(store)] == ["13" * 8]
    progress = worker.snapshot()
    assert progress["errors"] == 1 and "evaluator crashed" in progress["last_error"]


def test_gives_way_to_ingest_mid_batch(store: ClickHouseStore) -> None:
    """When ingest gets busy the batch stops after the generation under way; the rest is
    picked up later, nothing twice."""
    _corpus(store)
    ingest_busy = [False]
    worker = _worker(store, batch_size=50, busy=lambda: ingest_busy[0])

    class Watching(WordOverlapEvaluator):
        def evaluate(self, answer: str, sources: Any, *, question: str | None = None) -> Any:
            ingest_busy[0] = True  # ingest wakes up during the first evaluation
            return super().evaluate(answer, sources, question=question)

    worker.evaluator = Watching()
    worker.run_once()
    assert [r["span_id"] for r in _hallucination_scores(store)] == ["12" * 8]
    ingest_busy[0] = False
    worker.evaluator = WordOverlapEvaluator()
    worker.drain()
    assert [r["span_id"] for r in _hallucination_scores(store)] == ["12" * 8, "13" * 8, "22" * 8]


def test_recent_spans_wait_for_the_settle_time(store: ClickHouseStore) -> None:
    _corpus(store)
    worker = _worker(store, settle_seconds=3600.0)
    assert worker.run_once() == 0
    assert _hallucination_scores(store) == []


_CALL = {"type": "tool_call", "id": "call_1", "name": "lookup_order", "arguments": {"id": 7}}


@pytest.mark.parametrize(
    ("output", "expected"),
    [
        ("plain answer", "plain answer"),
        (json.dumps("a JSON string"), "a JSON string"),
        (
            json.dumps([{"role": "assistant", "parts": [{"type": "text", "content": "hi"}]}]),
            "hi",
        ),
        (json.dumps({"choices": [{"message": {"content": "from choices"}}]}), "from choices"),
        ("{not json", "{not json"),
        # Only tool calls: nothing to judge (the answer comes in a later generation).
        (json.dumps([{"role": "assistant", "parts": [_CALL], "finish_reason": "tool_call"}]), ""),
        (json.dumps({"choices": [{"message": {"content": None, "tool_calls": [_CALL]}}]}), ""),
        (
            json.dumps(
                [{"role": "assistant", "parts": [{"type": "text", "content": "ok"}, _CALL]}]
            ),
            "ok",
        ),
    ],
)
def test_answer_text(output: str, expected: str) -> None:
    assert answer_text(output) == expected


def test_question_and_sources_from_stored_text() -> None:
    messages = [{"role": "system", "content": "be brief"}, {"role": "user", "content": "why?"}]
    assert question_text(json.dumps(messages)) == "why?"
    assert question_text("") is None
    docs = queries.Retrieval(0, json.dumps(["a", {"page_content": "b"}, {"x": 1}]), ())
    assert source_texts(docs) == ["a", "b"]
    assert source_texts(queries.Retrieval(0, "not json", ())) == ["not json"]
    assert source_texts(queries.Retrieval(0, "ignored", ("doc 0", "doc 1"))) == ["doc 0", "doc 1"]


# --- through the app: lifecycle and GET /api/v1/evaluators ------------------------------------


def _rag_trace(tracer: Tracer, answer: str) -> None:
    with tracer.start_as_current_span("rag"):
        with tracer.start_as_current_span(
            "retrieve",
            attributes={
                semconv.TRACERAIL_OBSERVATION_KIND: semconv.KIND_RETRIEVAL,
                semconv.TRACERAIL_OUTPUT: json.dumps([{"text": DOC}]),
            },
        ):
            pass
        with tracer.start_as_current_span(
            "chat m",
            attributes={
                semconv.TRACERAIL_OBSERVATION_KIND: semconv.KIND_GENERATION,
                semconv.GEN_AI_REQUEST_MODEL: "m",
                semconv.TRACERAIL_OUTPUT: answer,
            },
        ):
            pass


def _send(base: str, answers: list[str]) -> None:
    body = protobuf_body(record_spans(lambda t: [_rag_trace(t, a) for a in answers]))
    assert httpx.post(f"{base}/v1/traces", content=body, headers=PROTOBUF).status_code == 200


def _wait_for(base: str, done: Any, timeout: float = 120.0) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        online = dict(httpx.get(f"{base}/api/v1/evaluators").json()["online"])
        if done(online) or time.monotonic() > deadline:
            return online
        time.sleep(0.2)


@pytest.fixture
def evaluating(settings: Settings, store: ClickHouseStore) -> Iterator[RunningServer]:
    enabled = settings.model_copy(
        update={
            "online_eval_enabled": True,
            "online_eval_evaluator": SPEC,
            "online_eval_settle_seconds": 0.0,
            "online_eval_interval_seconds": 0.1,
        }
    )
    from tracerail.collector import create_app

    server = serve_in_thread(create_app(enabled, store=store))
    yield server
    server.stop()


def test_app_runs_the_online_evaluator(evaluating: RunningServer) -> None:
    base = evaluating.base_url
    _send(base, [DOC, "Refunds take 30 days."])
    online = _wait_for(base, lambda o: o["scored"] >= 2)
    assert online["enabled"] and online["running"]
    assert (online["evaluator"], online["version"], online["scored"]) == ("word-overlap", "1", 2)
    assert online["errors"] == 0
    body = httpx.get(f"{base}/api/v1/evaluators").json()
    assert "heuristic" in body["available"]


def test_evaluators_endpoint_when_off(collector: RunningServer) -> None:
    body = httpx.get(f"{collector.base_url}/api/v1/evaluators").json()
    assert body["online"] == {"evaluator": "heuristic", "enabled": False, "running": False}


@pytest.mark.slow
@pytest.mark.e2e
def test_restarted_collector_resumes_without_scoring_twice(tmp_path: Path) -> None:
    """Killed (SIGKILL) while scoring, restarted on the same chDB path: every generation ends
    with exactly one score of the evaluator version, and the counts agree."""
    total = 16
    collector = CollectorProcess(
        tmp_path,
        env={
            "TRACERAIL_ONLINE_EVAL_ENABLED": "true",
            "TRACERAIL_ONLINE_EVAL_EVALUATOR": SPEC,
            "TRACERAIL_ONLINE_EVAL_RATE_PER_SECOND": "4",
            "TRACERAIL_ONLINE_EVAL_BATCH_SIZE": "3",
            "TRACERAIL_ONLINE_EVAL_SETTLE_SECONDS": "0",
            "TRACERAIL_ONLINE_EVAL_INTERVAL_SECONDS": "0.2",
            "TRACERAIL_INGEST_WORKERS": "0",
        },
    )
    collector.start()
    try:
        _send(collector.base_url, [f"{DOC} ({i})" for i in range(total)])
        first = _wait_for(collector.base_url, lambda o: o["scored"] >= 2)
        assert first["scored"] >= 2
        collector.kill9()
        collector.start()
        last = _wait_for(
            collector.base_url,
            lambda o: o["pending"] == 0 and o["scored_total"] == total,
        )
        assert (last["pending"], last["scored_total"]) == (0, total), last
    finally:
        collector.stop()
    per_span = query_stopped(
        collector,
        "SELECT count() AS n, uniqExact(span_id) AS spans FROM tracerail.scores "
        "WHERE name = 'hallucination' AND evaluator = 'word-overlap'",
    )
    assert per_span == [[str(total), str(total)]]
    stats = query_stopped(
        collector,
        "SELECT sum(evaluated) FROM tracerail.hallucination_stats WHERE source = 'auto'",
    )
    assert stats == [[str(total)]]

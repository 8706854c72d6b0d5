"""Who produced a score: evaluator name/version/prompt hash and reviewer (migration 6), through
the API, ``tracerail.score`` events, and ``gen_ai.evaluation.result`` events from other tools."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from opentelemetry.trace import Tracer

from tests.support.otlp import protobuf_body, record_spans
from tests.support.server import RunningServer
from tests.support.stores import store_at_version
from tracerail import semconv
from tracerail.collector.score_events import scores_from_columns
from tracerail.collector.scores import Score, SpanInfo, append_score, empty_score_columns
from tracerail.collector.store import migrations
from tracerail.collector.store.hallucination_stats import write_scores
from tracerail.collector.store.metrics import Window, hallucination_rate
from tracerail.collector.store.scores import list_scores

PROTOBUF = {"Content-Type": "application/x-protobuf"}
PROMPT = hashlib.sha256(b"judge prompt v3").hexdigest()
TRACE = "ab" * 16


def test_upgrade_to_v6_keeps_old_scores_and_stores_producers(chdb_dsn: str) -> None:
    """A database at version 5 with scores migrates; old rows read '' for the new columns."""
    with store_at_version(chdb_dsn, 5) as old:
        start = datetime.now(UTC).replace(microsecond=0) - timedelta(days=1)
        info = SpanInfo(int(start.timestamp() * 1e9), semconv.KIND_GENERATION, "", "", "m", "")
        before = empty_score_columns()
        score = Score(semconv.SCORE_HALLUCINATION, 1.0, "boolean", "auto")
        append_score(before, "p", TRACE, "01" * 8, score, info)
        # As version 5 wrote them: without the four new columns.
        for name in ("evaluator", "evaluator_version", "prompt_sha256", "reviewer"):
            del before[name]
        write_scores(old, before)

        applied = old.migrate()
        assert applied[0] == 6 and 6 in {m.version for m in migrations.MIGRATIONS}
        assert old.migrate() == []
        after = empty_score_columns()
        judged = Score(
            semconv.SCORE_HALLUCINATION,
            0.0,
            "boolean",
            "judge",
            evaluator="llm-judge",
            evaluator_version="2",
            prompt_sha256=PROMPT,
        )
        append_score(after, "p", TRACE, "02" * 8, judged, info)
        reviewed = Score(semconv.SCORE_HALLUCINATION, 1.0, "boolean", "human", reviewer="ann")
        append_score(after, "p", TRACE, "02" * 8, reviewed, info)
        write_scores(old, after)

        rows = {(r["span_id"], r["source"]): r for r in list_scores(old, "p", TRACE)}
        assert [rows[("01" * 8, "auto")][k] for k in ("evaluator", "reviewer")] == ["", ""]
        judge = rows[("02" * 8, "judge")]
        assert (judge["evaluator"], judge["evaluator_version"], judge["prompt_sha256"]) == (
            "llm-judge",
            "2",
            PROMPT,
        )
        assert rows[("02" * 8, "human")]["reviewer"] == "ann"
        window = Window(start - timedelta(hours=1), start + timedelta(hours=1))
        fast = hallucination_rate(old, "p", "model", window)
        assert fast == hallucination_rate(old, "p", "model", window, exact=True)
        assert fast[0]["evaluated"] == 2


def _generation(tracer: Tracer, events: list[tuple[str, dict[str, Any]]]) -> tuple[str, str]:
    with tracer.start_as_current_span(
        "chat m",
        attributes={
            semconv.TRACERAIL_OBSERVATION_KIND: semconv.KIND_GENERATION,
            semconv.GEN_AI_REQUEST_MODEL: "m",
        },
    ) as span:
        for name, attributes in events:
            span.add_event(name, attributes)
        context = span.get_span_context()
        return format(context.trace_id, "032x"), format(context.span_id, "016x")


def _ingest(base: str, events: list[tuple[str, dict[str, Any]]]) -> tuple[str, str]:
    ids: list[tuple[str, str]] = []
    body = protobuf_body(record_spans(lambda tracer: ids.append(_generation(tracer, events))))
    assert httpx.post(f"{base}/v1/traces", content=body, headers=PROTOBUF).status_code == 200
    return ids[0]


def _scores(base: str, trace_id: str) -> list[dict[str, Any]]:
    response = httpx.get(f"{base}/api/v1/scores", params={"trace_id": trace_id})
    assert response.status_code == 200
    return list(response.json()["scores"])


def test_api_records_who_scored(collector: RunningServer) -> None:
    base = collector.base_url
    trace_id, span_id = _ingest(base, [])
    score = {"trace_id": trace_id, "span_id": span_id, "name": "hallucination", "value": 0}
    judged = {
        **score,
        "source": "judge",
        "evaluator": "llm-judge",
        "evaluator_version": "2",
        "prompt_sha256": PROMPT.upper(),
    }
    assert httpx.post(f"{base}/api/v1/scores", json=judged).status_code == 201
    human = {**score, "value": 1, "source": "human", "reviewer": "reviewer-7"}
    assert httpx.post(f"{base}/api/v1/scores", json=human).status_code == 201

    rows = {r["source"]: r for r in _scores(base, trace_id)}
    assert rows["judge"]["evaluator"] == "llm-judge"
    assert rows["judge"]["evaluator_version"] == "2"
    assert rows["judge"]["prompt_sha256"] == PROMPT  # stored lowercase
    assert rows["judge"]["reviewer"] == ""
    assert rows["human"]["reviewer"] == "reviewer-7"
    assert rows["human"]["evaluator"] == ""


@pytest.mark.parametrize(
    ("extra", "status", "field"),
    [
        ({"prompt_sha256": "abc"}, 400, "prompt_sha256"),
        ({"evaluator": "x" * 201}, 400, "evaluator"),
        ({"reviewer": "x" * 201}, 400, "reviewer"),
        ({"source": "auto", "reviewer": "ann"}, 422, "reviewer"),
        ({"evaluator_version": "1"}, 422, "evaluator_version"),
    ],
)
def test_api_rejects_bad_producer_fields(
    collector: RunningServer, extra: dict[str, Any], status: int, field: str
) -> None:
    base = collector.base_url
    trace_id, span_id = _ingest(base, [])
    body = {"trace_id": trace_id, "span_id": span_id, "name": "hallucination", "value": 1, **extra}
    response = httpx.post(f"{base}/api/v1/scores", json=body)
    assert response.status_code == status
    payload = response.json()
    assert field in payload["detail"], payload
    assert _scores(base, trace_id) == []  # nothing half written


def test_ingest_stores_score_and_evaluation_events(collector: RunningServer) -> None:
    base = collector.base_url
    events: list[tuple[str, dict[str, Any]]] = [
        (
            semconv.TRACERAIL_SCORE_EVENT,
            {
                semconv.TRACERAIL_SCORE_NAME: "hallucination",
                semconv.TRACERAIL_SCORE_VALUE: 0.25,
                semconv.TRACERAIL_SCORE_SOURCE: "auto",
                semconv.TRACERAIL_EVALUATION_EVALUATOR_NAME: "heuristic",
                semconv.TRACERAIL_EVALUATION_EVALUATOR_VERSION: "2.0",
            },
        ),
        (
            semconv.GEN_AI_EVALUATION_RESULT_EVENT,
            {
                semconv.GEN_AI_EVALUATION_NAME: "Groundedness",
                semconv.GEN_AI_EVALUATION_SCORE_VALUE: 0.75,
                semconv.GEN_AI_EVALUATION_EXPLANATION: "one claim lacks support",
            },
        ),
        (
            semconv.GEN_AI_EVALUATION_RESULT_EVENT,
            {
                semconv.GEN_AI_EVALUATION_NAME: "Relevance",
                semconv.GEN_AI_EVALUATION_SCORE_VALUE: 4.0,
                semconv.TRACERAIL_EVALUATION_EVALUATOR_NAME: "other-tool",
                semconv.TRACERAIL_EVALUATION_PROMPT_SHA256: PROMPT,
            },
        ),
        (  # a failed evaluation carries no result: nothing stored, nothing rejected
            semconv.GEN_AI_EVALUATION_RESULT_EVENT,
            {semconv.GEN_AI_EVALUATION_NAME: "Groundedness", semconv.ERROR_TYPE: "timeout"},
        ),
    ]
    trace_id, _ = _ingest(base, events)
    rows = sorted(_scores(base, trace_id), key=lambda r: (r["name"], r["evaluator"]))
    summary = [
        (r["name"], r["value"], r["source"], r["evaluator"], r["evaluator_version"]) for r in rows
    ]
    assert summary == [
        ("Relevance", 4.0, "auto", "other-tool", ""),
        ("hallucination", 0.25, "auto", "Groundedness", ""),  # 1 - 0.75
        ("hallucination", 0.25, "auto", "heuristic", "2.0"),
    ]
    assert rows[0]["prompt_sha256"] == PROMPT
    assert rows[1]["comment"] == "one claim lacks support"
    assert len({r["score_id"] for r in rows}) == 3


def _event_columns(events: list[tuple[str, dict[str, str]]], kind: str) -> dict[str, list[Any]]:
    return {
        "project": ["p"],
        "trace_id": [TRACE],
        "span_id": ["01" * 8],
        "timestamp": [datetime.now(UTC).timestamp() * 1e9],
        "observation_kind": [kind],
        "service_name": ["svc"],
        "provider": [""],
        "response_model": [""],
        "request_model": ["m"],
        "attributes": [{}],
        "event_names": [[name for name, _ in events]],
        "event_attributes": [[attributes for _, attributes in events]],
    }


def _evaluation(name: str, value: str | None = None, label: str | None = None) -> dict[str, str]:
    out = {semconv.GEN_AI_EVALUATION_NAME: name}
    if value is not None:
        out[semconv.GEN_AI_EVALUATION_SCORE_VALUE] = value
    if label is not None:
        out[semconv.GEN_AI_EVALUATION_SCORE_LABEL] = label
    return out


@pytest.mark.parametrize(
    ("attributes", "expected"),
    [
        (_evaluation("hallucination", "0.9"), ("hallucination", 0.9, "numeric", "")),
        (_evaluation("Hallucination", label="fail"), ("hallucination", 1.0, "boolean", "fail")),
        (_evaluation("groundedness", "1"), ("hallucination", 0.0, "numeric", "")),
        (_evaluation("Faithfulness", "0.4"), ("hallucination", 0.6, "numeric", "")),
        (_evaluation("factual-consistency", "0.5"), ("hallucination", 0.5, "numeric", "")),
        # A 1-5 groundedness scale is not guessed at; its pass/fail label decides.
        (_evaluation("Groundedness", "4", "pass"), ("hallucination", 0.0, "boolean", "pass")),
        (_evaluation("Groundedness", "2"), ("Groundedness", 2.0, "numeric", "")),
        (_evaluation("groundedness", label="maybe"), ("groundedness", 0.0, "categorical", "maybe")),
        (_evaluation("Relevance", "0.3"), ("Relevance", 0.3, "numeric", "")),
        (_evaluation("Tone", label="polite"), ("Tone", 0.0, "categorical", "polite")),
    ],
)
def test_evaluation_result_mapping(
    attributes: dict[str, str], expected: tuple[str, float, str, str]
) -> None:
    out, problems = scores_from_columns(
        _event_columns([(semconv.GEN_AI_EVALUATION_RESULT_EVENT, attributes)], "generation")
    )
    assert problems == []
    (row,) = zip(out["name"], out["value"], out["data_type"], out["label"], strict=True)
    assert row[0] == expected[0]
    assert row[1] == pytest.approx(expected[1])
    assert row[2:] == expected[2:]
    assert out["source"] == ["auto"]
    assert out["evaluator"] == [attributes[semconv.GEN_AI_EVALUATION_NAME]]


@pytest.mark.parametrize(
    ("attributes", "kind", "problem"),
    [
        ({}, "generation", semconv.GEN_AI_EVALUATION_NAME),
        (_evaluation("Relevance"), "generation", "needs a score value or label"),
        (_evaluation("Relevance", "high"), "generation", "is not a number"),
        (_evaluation("groundedness", "0.2"), "tool", "generation spans"),
        (
            {**_evaluation("hallucination", "1"), semconv.TRACERAIL_SCORE_SOURCE: "robot"},
            "generation",
            "source",
        ),
    ],
)
def test_evaluation_result_problems(attributes: dict[str, str], kind: str, problem: str) -> None:
    out, problems = scores_from_columns(
        _event_columns([(semconv.GEN_AI_EVALUATION_RESULT_EVENT, attributes)], kind)
    )
    assert out["score_id"] == []
    (message,) = problems
    assert problem in message


def test_score_event_producer_fields_are_validated() -> None:
    bad_hash = {
        semconv.TRACERAIL_SCORE_NAME: "hallucination",
        semconv.TRACERAIL_SCORE_VALUE: "1",
        semconv.TRACERAIL_SCORE_SOURCE: "auto",
        semconv.TRACERAIL_EVALUATION_PROMPT_SHA256: "not-a-hash",
    }
    reviewed = {
        semconv.TRACERAIL_SCORE_NAME: "hallucination",
        semconv.TRACERAIL_SCORE_VALUE: "0",
        semconv.TRACERAIL_SCORE_REVIEWER: "ann",
    }
    out, problems = scores_from_columns(
        _event_columns(
            [(semconv.TRACERAIL_SCORE_EVENT, bad_hash), (semconv.TRACERAIL_SCORE_EVENT, reviewed)],
            "generation",
        )
    )
    assert len(problems) == 1 and "prompt_sha256" in problems[0]
    assert out["reviewer"] == ["ann"] and out["source"] == ["human"]

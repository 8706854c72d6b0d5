"""A workload with evaluator scores and human labels whose corrected rate is worked out by hand.

model-a: 100 generations scored by ``heuristic`` 1.0 (30 flagged, value 0.9; the rest 0.1).
Humans labelled 40 of them: 8 flagged and hallucinated (tp), 3 flagged but grounded (fp),
2 passed but hallucinated (fn), 27 passed and grounded (tn). So Se = 8/10 = 0.8,
Sp = 27/30 = 0.9, raw 30/100 = 0.30, and the corrected rate is
(0.30 + 0.9 - 1) / (0.8 + 0.9 - 1) = 0.2 / 0.7 = 0.2857.
Span 59 was first flagged and then re-scored 0.1; span 32 was first labelled hallucinated and
then grounded: only the latest score of each producer counts.
``llm-judge`` 3 (with a prompt hash) flagged spans 0-9: 8 labelled hallucinated, 2 grounded,
so 10 labels: not validated.
model-b: 20 generations, 4 flagged; 5 labels, all hallucinated (4 tp, 1 fn): not validated.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Final

import httpx
from opentelemetry.trace import Tracer

from tests.support.otlp import protobuf_body, record_spans
from tests.support.server import RunningServer
from tracerail import semconv
from tracerail.collector.scores import Score, SpanInfo, append_score, empty_score_columns
from tracerail.collector.store.clickhouse import ClickHouseStore
from tracerail.collector.store.hallucination_stats import write_scores

PROJECT: Final = "default"
JUDGE_SHA: Final = "ab" * 32
CORRECTED_A: Final = 0.2 / 0.7
GENERATIONS: Final = {"model-a": 100, "model-b": 20}


@dataclass
class ValidationWorkload:
    at: datetime
    ids: dict[str, list[tuple[str, str]]] = field(default_factory=dict)


def _send(collector: RunningServer, at: datetime) -> dict[str, list[tuple[str, str]]]:
    ids: dict[str, list[tuple[str, str]]] = {}
    start = int(at.timestamp() * 1e9)

    def emit(tracer: Tracer) -> None:
        for model, count in GENERATIONS.items():
            for i in range(count):
                span = tracer.start_span(
                    f"chat {model}",
                    start_time=start + i * 1_000_000,
                    attributes={
                        semconv.TRACERAIL_OBSERVATION_KIND: semconv.KIND_GENERATION,
                        semconv.GEN_AI_OPERATION_NAME: "chat",
                        semconv.GEN_AI_REQUEST_MODEL: model,
                    },
                )
                span.end(end_time=start + i * 1_000_000 + 500_000)
                ctx = span.get_span_context()
                ids.setdefault(model, []).append(
                    (format(ctx.trace_id, "032x"), format(ctx.span_id, "016x"))
                )

    response = httpx.post(
        collector.base_url + "/v1/traces",
        content=protobuf_body(record_spans(emit, service_name="rag-app")),
        headers={"content-type": "application/x-protobuf"},
        timeout=60,
    )
    response.raise_for_status()
    return ids


def _write(
    store: ClickHouseStore,
    workload: ValidationWorkload,
    scores: list[tuple[str, int, float, str, str, str]],
) -> None:
    """Scores (model, generation index, value, source, evaluator, version) in one write."""
    columns = empty_score_columns()
    for model, index, value, source, evaluator, version in scores:
        info = SpanInfo(
            int(workload.at.timestamp() * 1e9), semconv.KIND_GENERATION, "rag-app", "", model, ""
        )
        score = Score(
            semconv.SCORE_HALLUCINATION,
            value,
            "numeric",
            source,
            evaluator=evaluator,
            evaluator_version=version,
            prompt_sha256=JUDGE_SHA if evaluator == "llm-judge" else "",
            reviewer="rev-1" if source == "human" else "",
        )
        trace_id, span_id = workload.ids[model][index]
        append_score(columns, PROJECT, trace_id, span_id, score, info)
    write_scores(store, columns)


def _human(model: str, indexes: range | list[int], value: float) -> list[Any]:
    return [(model, i, value, "human", "", "") for i in indexes]


def _human_labels() -> list[Any]:
    return (
        _human("model-a", range(8), 1.0)  # flagged, hallucinated: tp 8
        + _human("model-a", range(8, 11), 0.0)  # flagged, grounded: fp 3
        + _human("model-a", [30, 31], 1.0)  # passed, hallucinated: fn 2
        + _human("model-a", range(32, 59), 0.0)  # passed, grounded: tn 27
        + _human("model-b", range(5), 1.0)
    )


def _post_labels(
    collector: RunningServer,
    workload: ValidationWorkload,
    labels: list[tuple[str, int, str]],
) -> None:
    """Labels (model, generation index, label) through ``POST /api/v1/review/labels``."""
    body = {
        "reviewer": "rev-1",
        "labels": [
            {
                "trace_id": workload.ids[model][index][0],
                "span_id": workload.ids[model][index][1],
                "label": label,
            }
            for model, index, label in labels
        ],
    }
    response = httpx.post(collector.base_url + "/api/v1/review/labels", json=body, timeout=60)
    assert response.status_code == 201, response.text


def populate(
    collector: RunningServer, store: ClickHouseStore, *, review_api: bool = False
) -> ValidationWorkload:
    """Send the generations (two hours ago) and write the scores described above; with
    ``review_api`` the human labels go through the review queue's API instead, and five
    ``unsure`` labels (which must not count) are added."""
    at = (datetime.now(UTC) - timedelta(hours=2)).replace(minute=0, second=0, microsecond=0)
    workload = ValidationWorkload(at, _send(collector, at))
    _write(store, workload, [("model-a", 59, 0.9, "auto", "heuristic", "1.0")])
    if review_api:
        _post_labels(collector, workload, [("model-a", 32, "hallucinated")])
    else:
        _write(store, workload, _human("model-a", [32], 1.0))
    _write(
        store,
        workload,
        [("model-a", i, 0.9 if i < 30 else 0.1, "auto", "heuristic", "1.0") for i in range(100)]
        + [("model-a", i, 0.8, "judge", "llm-judge", "3") for i in range(10)]
        + [("model-b", i, 0.7 if i < 4 else 0.2, "auto", "heuristic", "1.0") for i in range(20)],
    )
    if review_api:
        labels = [
            (model, index, "hallucinated" if value else "grounded")
            for model, index, value, *_ in _human_labels()
        ]
        _post_labels(
            collector, workload, labels + [("model-a", i, "unsure") for i in range(60, 65)]
        )
    else:
        _write(store, workload, _human_labels())
    return workload


def rates_by_model(collector: RunningServer) -> tuple[dict[str, Any], dict[str, dict[str, Any]]]:
    """``GET /api/v1/metrics/hallucination-rate?group_by=model`` (the API's default range):
    the body, and its groups by model name."""
    body: dict[str, Any] = httpx.get(
        f"{collector.base_url}/api/v1/metrics/hallucination-rate", params={"group_by": "model"}
    ).json()
    return body, {group["group"]: group for group in body["groups"]}

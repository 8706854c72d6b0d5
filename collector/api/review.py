"""The human review queue.

* ``GET /api/v1/review/sample`` — a seeded, stratified random sample of generations (strata:
  model x period), each stratum sized for ``margin`` at ``confidence`` (or ``per_stratum``
  items), with what a reviewer needs: question, sources and answer as stored (redacted), and
  the item's latest review label. The same seed and data give the same sample.
* ``POST /api/v1/review/labels`` — a reviewer's labels (``grounded``, ``hallucinated``,
  ``unsure``, with a note), all checked before any is written; stored as ``human`` scores
  carrying the reviewer's id (see :mod:`tracerail.collector.review`) and recorded in the audit
  ledger, one batch per request.
"""

from __future__ import annotations

import asyncio
import time
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from tracerail import semconv
from tracerail.collector import review
from tracerail.collector.api.deps import BatcherDep, IngestProjectDep, ProjectDep, StoreDep
from tracerail.collector.api.errors import ApiError
from tracerail.collector.api.timerange import time_range
from tracerail.collector.ledger import score_row
from tracerail.collector.scores import InvalidScore, append_score, empty_score_columns, validate
from tracerail.collector.store import review as review_store
from tracerail.collector.store.clickhouse import ClickHouseStore
from tracerail.collector.store.hallucination_stats import write_scores
from tracerail.collector.store.ledger import LedgerWriter

router = APIRouter(prefix="/api/v1/review", tags=["review"])

MAX_PAGE = 500
MAX_LABELS = 1_000
TRACE_ID = r"^[0-9a-fA-F]{32}$"
SPAN_ID = r"^[0-9a-fA-F]{16}$"


def _item(
    row: dict[str, Any],
    content: dict[str, str],
    retrieved: list[str],
    label: dict[str, Any] | None,
    position: int,
) -> dict[str, Any]:
    return {
        "id": position,
        "rank": int(row["rank"]),
        "trace_id": row["trace_id"],
        "span_id": row["span_id"],
        "model": row["model"],
        "period_start": row["period_start"] or None,
        "time": row["start"],
        "question": review.content_text(content.get("input", "")),
        "answer": review.content_text(content.get("output", ""), roles=False),
        "sources": review.review_sources(content.get("record", ""), retrieved),
        "review": label,
    }


def _sample(store: ClickHouseStore, project: str, q: dict[str, Any]) -> dict[str, Any]:
    start, end, seed = q["start"], q["end"], q["seed"]
    where = review_store.Population(
        project, start, end, period=q["period"], population=q["population"], model=q["model"]
    )
    strata = review.allocate(
        review_store.count_strata(store, where),
        margin=q["margin"],
        confidence=q["confidence"],
        p=q["p"],
        per_stratum=q["per_stratum"],
    )
    rows = review_store.sample(
        store, where, strata, seed=seed, offset=q["offset"], limit=q["limit"]
    )
    labelled = review_store.labelled_per_stratum(store, where, strata, seed=seed)
    pairs = [(r["trace_id"], r["span_id"]) for r in rows]
    contents = review_store.contents(store, project, pairs, start, end)
    retrieved = review_store.retrieved(store, project, [t for t, _ in pairs], start, end)
    labels = review_store.review_labels(store, project, [s for _, s in pairs])
    items = [
        _item(
            row,
            contents.get((row["trace_id"], row["span_id"]), {}),
            retrieved.get(row["trace_id"], []),
            labels.get(row["span_id"]),
            q["offset"] + i + 1,
        )
        for i, row in enumerate(rows)
    ]
    total = sum(s.sample_size for s in strata)
    conf, p = q["confidence"], q["p"]
    out_strata = []
    for s in strata:
        done = labelled.get((s.model, s.period_start), 0)
        out_strata.append(
            {
                "model": s.model,
                "period_start": s.period_start or None,
                "population": s.population,
                "sample_size": s.sample_size,
                "labelled": done,
                "margin_when_labelled": review.achieved_margin(
                    s.sample_size, s.population, conf, p
                ),
                "margin_so_far": review.achieved_margin(done, s.population, conf, p),
            }
        )
    after = q["offset"] + len(rows)
    return {
        "design": {
            "seed": q["seed"],
            "margin": q["margin"] if q["per_stratum"] is None else None,
            "confidence": conf,
            "p": p,
            "z": review.z_value(conf),
            "per_stratum": q["per_stratum"],
            "period": q["period"],
            "population": q["population"],
            "model": q["model"],
            "from": start.isoformat().replace("+00:00", "Z"),
            "to": end.isoformat().replace("+00:00", "Z"),
        },
        "strata": out_strata,
        "total": total,
        "labelled": sum(labelled.values()),
        "items": items,
        "next_offset": after if after < total else None,
    }


@router.get("/sample", summary="A seeded, stratified random sample of generations to review")
async def get_sample(
    store: StoreDep,
    project: ProjectDep,
    seed: Annotated[int, Query(ge=0, le=2**63 - 1, description="Same seed, same sample.")] = 1,
    margin: Annotated[
        float,
        Query(
            ge=0.001, le=0.5, description="Half-width of each stratum's interval (0.05 = ±5 pts)."
        ),
    ] = 0.05,
    confidence: Annotated[float, Query(ge=0.5, le=0.999)] = 0.95,
    p: Annotated[
        float, Query(ge=0.01, le=0.99, description="Expected rate; 0.5 is the worst case.")
    ] = 0.5,
    per_stratum: Annotated[
        int | None, Query(ge=1, le=100_000, description="A fixed size instead of margin.")
    ] = None,
    model: Annotated[str | None, Query(min_length=1, max_length=200)] = None,
    start: Annotated[datetime | None, Query(alias="from")] = None,
    end: Annotated[datetime | None, Query(alias="to")] = None,
    period: Annotated[Literal["day", "week", "month", "all"], Query()] = "week",
    population: Annotated[
        Literal["sources", "scored", "all"],
        Query(description="sources: generations with sources; scored: with an auto score."),
    ] = "sources",
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 100,
) -> dict[str, Any]:
    lo, hi = time_range(start, end)
    q = {
        "seed": seed,
        "margin": margin,
        "confidence": confidence,
        "p": p,
        "per_stratum": per_stratum,
        "model": model,
        "start": lo,
        "end": hi,
        "period": period,
        "population": population,
        "offset": offset,
        "limit": limit,
    }
    return await asyncio.to_thread(_sample, store, project, q)


class LabelIn(BaseModel):
    """One label on one generation span."""

    trace_id: str = Field(pattern=TRACE_ID)
    span_id: str = Field(pattern=SPAN_ID)
    label: Literal["grounded", "hallucinated", "unsure"]
    note: str = Field("", max_length=review.MAX_NOTE)


class LabelsIn(BaseModel):
    """A reviewer's labels: all are written, or none."""

    reviewer: str = Field(min_length=1, max_length=review.MAX_REVIEWER)
    labels: list[LabelIn] = Field(min_length=1, max_length=MAX_LABELS)


def _write_labels(
    store: ClickHouseStore, ledger: LedgerWriter, project: str, body: LabelsIn
) -> dict[str, Any]:
    try:
        reviewer = review.check_reviewer(body.reviewer)
    except review.InvalidLabel as exc:
        raise ApiError(422, "invalid_label", str(exc)) from None
    checked = []
    seen: dict[tuple[str, str], int] = {}
    spans = review_store.find_spans(
        store, project, [(x.trace_id.lower(), x.span_id.lower()) for x in body.labels]
    )
    for i, item in enumerate(body.labels):
        trace_id, span_id = item.trace_id.lower(), item.span_id.lower()
        if (trace_id, span_id) in seen:
            raise ApiError(
                422,
                "invalid_label",
                f"labels[{i}].span_id: span {span_id} is already labelled by "
                f"labels[{seen[(trace_id, span_id)]}] of this request",
            )
        seen[(trace_id, span_id)] = i
        span = spans.get((trace_id, span_id))
        if span is None:
            raise ApiError(
                404,
                "unknown_span",
                f"labels[{i}].span_id: span {span_id} of trace {trace_id} is not stored",
            )
        if span.observation_kind != semconv.KIND_GENERATION:
            raise ApiError(
                422,
                "invalid_label",
                f"labels[{i}].span_id: span {span_id} is a {span.observation_kind or 'plain'} "
                "span; review labels are for generation spans",
            )
        stored_as = review.label_score(item.label)
        try:
            score = validate(
                stored_as.name,
                stored_as.value,
                data_type=stored_as.data_type,
                source="human",
                label=stored_as.label,
                comment=item.note or None,
                observation_kind=span.observation_kind,
                reviewer=reviewer,
            )
        except InvalidScore as exc:
            raise ApiError(422, "invalid_label", f"labels[{i}].{exc}") from None
        checked.append((trace_id, span_id, score, span))
    columns = empty_score_columns()
    written = []
    for trace_id, span_id, score, span in checked:
        score_id = append_score(columns, project, trace_id, span_id, score, span)
        written.append((trace_id, span_id, score_id, score))
    write_scores(store, columns)
    now = time.time_ns()
    head = ledger.append(
        [
            score_row(
                project,
                trace_id,
                span_id,
                score_id=score_id,
                score={
                    "name": score.name,
                    "value": score.value,
                    "data_type": score.data_type,
                    "label": score.label,
                    "source": score.source,
                    "reviewer": score.reviewer,
                    "comment": score.comment,
                },
                time_ns=now,
            )
            for trace_id, span_id, score_id, score in written
        ]
    )
    return {
        "written": len(written),
        "reviewer": reviewer,
        "scores": [
            {
                "score_id": score_id,
                "trace_id": trace_id,
                "span_id": span_id,
                "name": score.name,
                "value": score.value,
                "label": score.label,
            }
            for trace_id, span_id, score_id, score in written
        ],
        "ledger": {"seq": head.seq, "chain_hash": head.chain_hash, "batch_id": head.batch_id},
    }


@router.post("/labels", status_code=201, summary="Store a reviewer's labels")
async def post_labels(
    body: LabelsIn, store: StoreDep, batcher: BatcherDep, project: IngestProjectDep
) -> dict[str, Any]:
    """Needs an ``ingest`` key (labels are written data). Every label is checked first: one bad
    label fails the request and nothing is written."""
    return await asyncio.to_thread(_write_labels, store, batcher.ledger, project, body)

"""``POST /api/v1/scores`` (validated: known span, value range per type); ``GET`` by trace."""

from __future__ import annotations

import asyncio
import re
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from tracerail.collector.api.deps import IngestProjectDep, ProjectDep, StoreDep
from tracerail.collector.api.errors import ApiError
from tracerail.collector.scores import (
    MAX_COMMENT,
    MAX_EVALUATOR,
    MAX_LABEL,
    MAX_NAME,
    MAX_REVIEWER,
    InvalidScore,
    append_score,
    empty_score_columns,
    validate,
)
from tracerail.collector.store.hallucination_stats import write_scores
from tracerail.collector.store.scores import find_span, list_scores

router = APIRouter(prefix="/api/v1", tags=["scores"])

TRACE_ID = r"^[0-9a-fA-F]{32}$"
SPAN_ID = r"^[0-9a-fA-F]{16}$"


class ScoreIn(BaseModel):
    """A score for one span."""

    trace_id: str = Field(pattern=TRACE_ID)
    span_id: str = Field(pattern=SPAN_ID)
    name: str = Field(min_length=1, max_length=MAX_NAME)
    value: float
    data_type: Literal["numeric", "boolean", "categorical"] | None = None
    label: str | None = Field(None, max_length=MAX_LABEL)
    comment: str | None = Field(None, max_length=MAX_COMMENT)
    source: Literal["human", "auto", "judge"] = "human"
    evaluator: str | None = Field(
        None, max_length=MAX_EVALUATOR, description="Name of the evaluator that scored"
    )
    evaluator_version: str | None = Field(None, max_length=MAX_EVALUATOR)
    prompt_sha256: str | None = Field(
        None, pattern=r"^[0-9a-fA-F]{64}$", description="SHA-256 of the evaluator's prompt"
    )
    reviewer: str | None = Field(
        None, max_length=MAX_REVIEWER, description="Human reviewer's id (human scores only)"
    )


def _store_score(store: Any, project: str, body: ScoreIn) -> str:
    trace_id, span_id = body.trace_id.lower(), body.span_id.lower()
    span = find_span(store, project, trace_id, span_id)
    if span is None:
        raise ApiError(404, "unknown_span", f"span {span_id} of trace {trace_id} is not stored")
    try:
        score = validate(
            body.name,
            body.value,
            data_type=body.data_type,
            source=body.source,
            label=body.label,
            comment=body.comment,
            observation_kind=span.observation_kind,
            evaluator=body.evaluator,
            evaluator_version=body.evaluator_version,
            prompt_sha256=body.prompt_sha256,
            reviewer=body.reviewer,
        )
    except InvalidScore as exc:
        raise ApiError(422, "invalid_score", str(exc)) from None
    columns = empty_score_columns()
    score_id = append_score(columns, project, trace_id, span_id, score, span)
    write_scores(store, columns)
    return score_id


@router.post("/scores", status_code=201, summary="Score a stored span")
async def create_score(body: ScoreIn, store: StoreDep, project: IngestProjectDep) -> dict[str, Any]:
    """Needs an ``ingest`` key: scoring writes data, which a ``read`` key must not do."""
    score_id = await asyncio.to_thread(_store_score, store, project, body)
    return {
        "score_id": score_id,
        "trace_id": body.trace_id.lower(),
        "span_id": body.span_id.lower(),
    }


@router.get("/scores", summary="Scores of one trace")
async def read_scores(
    store: StoreDep,
    project: ProjectDep,
    trace_id: Annotated[str, Query(description="32 hex characters")],
) -> dict[str, Any]:
    if not re.match(TRACE_ID, trace_id):
        raise ApiError(400, "invalid_parameter", "trace_id: expected 32 hex characters")
    scores = await asyncio.to_thread(list_scores, store, project, trace_id.lower())
    return {"scores": scores, "count": len(scores)}

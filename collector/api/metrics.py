"""``GET /api/v1/metrics/hallucination-rate`` and ``GET /api/v1/metrics/models``."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from functools import partial
from typing import Annotated, Any

from fastapi import APIRouter, Query

from tracerail.collector.api.deps import ProjectDep, StoreDep
from tracerail.collector.api.errors import ApiError
from tracerail.collector.api.timerange import time_range
from tracerail.collector.rates import METHOD, MIN_LABELS, contributing_evaluators
from tracerail.collector.store.metrics import GROUPS, Window, hallucination_rate, model_scorecard
from tracerail.collector.store.timeseries import BUCKETS, overview, timeseries

router = APIRouter(prefix="/api/v1/metrics", tags=["metrics"])

MAX_HOURLY_DAYS = 14

FromQuery = Annotated[
    datetime | None, Query(alias="from", description="ISO 8601 start (default: 30 days ago)")
]
ToQuery = Annotated[datetime | None, Query(description="ISO 8601 end, exclusive (default: now)")]
ThresholdQuery = Annotated[
    float, Query(ge=0.0, le=1.0, description="a score at or above this counts as hallucinated")
]


def _window(start: datetime | None, end: datetime | None) -> Window:
    return Window.around(*time_range(start, end))


def _iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


@router.get(
    "/hallucination-rate",
    summary="Hallucination rate per group: raw, per evaluator, corrected for measured error",
)
async def read_hallucination_rate(
    store: StoreDep,
    project: ProjectDep,
    group_by: Annotated[
        str,
        Query(description="model, provider, service, prompt_template, day or hour; or several"),
    ] = "model",
    from_: FromQuery = None,
    to: ToQuery = None,
    threshold: ThresholdQuery = 0.5,
    validation: Annotated[
        bool,
        Query(
            description="per evaluator: raw rate, sensitivity/specificity against human labels "
            "and the corrected rate (reads the scores themselves; false skips it)"
        ),
    ] = True,
) -> dict[str, Any]:
    window = _window(from_, to)
    keys = [key.strip() for key in group_by.split(",")]
    if len(set(keys)) != len(keys) or any(key not in GROUPS for key in keys):
        raise ApiError(
            400, "invalid_parameter", f"group_by: expected one or more of {', '.join(GROUPS)}"
        )
    groups = await asyncio.to_thread(
        partial(hallucination_rate, validation=validation), store, project, keys, window, threshold
    )
    return {
        "group_by": keys,
        "from": _iso(window.start),
        "to": _iso(window.end),
        "threshold": threshold,
        "groups": groups,
        "correction": {"method": METHOD, "min_labels": MIN_LABELS},
        "evaluators": contributing_evaluators(groups),
    }


@router.get("/models", summary="Model scorecard: calls, latency, tokens, cost, hallucination")
async def read_models(
    store: StoreDep,
    project: ProjectDep,
    from_: FromQuery = None,
    to: ToQuery = None,
    threshold: ThresholdQuery = 0.5,
) -> dict[str, Any]:
    window = _window(from_, to)
    models = await asyncio.to_thread(model_scorecard, store, project, window, threshold)
    return {
        "from": _iso(window.start),
        "to": _iso(window.end),
        "models": models,
        "correction": {"method": METHOD, "min_labels": MIN_LABELS},
        "evaluators": contributing_evaluators(models),
    }


@router.get("/timeseries", summary="Per hour or day: calls, latency, cost, blocks, decisions")
async def read_timeseries(
    store: StoreDep,
    project: ProjectDep,
    from_: FromQuery = None,
    to: ToQuery = None,
    bucket: Annotated[str, Query(description="hour or day")] = "day",
    threshold: ThresholdQuery = 0.5,
) -> dict[str, Any]:
    if bucket not in BUCKETS:
        raise ApiError(400, "invalid_parameter", f"bucket: expected one of {', '.join(BUCKETS)}")
    window = _window(from_, to)
    if bucket == "hour" and window.end - window.start > timedelta(days=MAX_HOURLY_DAYS):
        raise ApiError(
            400,
            "invalid_parameter",
            f"bucket: hour needs a range of at most {MAX_HOURLY_DAYS} days",
        )

    def read() -> tuple[dict[str, Any], list[dict[str, Any]]]:
        return (
            overview(store, project, window, threshold),
            timeseries(store, project, window, bucket, threshold),
        )

    totals, points = await asyncio.to_thread(read)
    return {
        "from": _iso(window.start),
        "to": _iso(window.end),
        "bucket": bucket,
        "overview": totals,
        "points": points,
    }

"""``GET /api/v1/metrics/hallucination-rate``, ``/models``, ``/timeseries`` and ``/dimensions``.

Every figure takes the overview's filter: ``service``, ``model``, ``user`` and ``session``.
Service and model narrow the hourly aggregates; the aggregates carry no user or session, so
with either of those the figures are computed from the spans table (slower on large ranges,
the same numbers). Unknown parameters and malformed values are a 400 naming the parameter.
"""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from functools import partial
from typing import Annotated, Any, Final

from fastapi import APIRouter, Depends, Query, Request

from tracerail.collector.api.audit import check_params, name_value
from tracerail.collector.api.deps import ProjectDep, StoreDep
from tracerail.collector.api.errors import ApiError
from tracerail.collector.api.timerange import time_range
from tracerail.collector.rates import correction_summary
from tracerail.collector.store.filters import OverviewFilter
from tracerail.collector.store.generations import dimensions
from tracerail.collector.store.metrics import (
    GROUPS,
    MetricsQuery,
    Window,
    hallucination_rate,
    model_scorecard,
)
from tracerail.collector.store.timeseries import BUCKETS, overview, timeseries

router = APIRouter(prefix="/api/v1/metrics", tags=["metrics"])

MAX_HOURLY_DAYS = 14
COMMON_PARAMS: Final = ("from", "to", "threshold", "service", "model", "user", "session")

FromQuery = Annotated[
    datetime | None, Query(alias="from", description="ISO 8601 start (default: 30 days ago)")
]
ToQuery = Annotated[datetime | None, Query(description="ISO 8601 end, exclusive (default: now)")]
ThresholdQuery = Annotated[
    float, Query(ge=0.0, le=1.0, description="a score at or above this counts as hallucinated")
]


def _iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def _echo(query: MetricsQuery) -> dict[str, Any]:
    """The query as the response states it."""
    return {
        "from": _iso(query.window.start),
        "to": _iso(query.window.end),
        "threshold": query.threshold,
        "filters": query.filters.as_query(),
    }


def metrics_query(
    from_: FromQuery = None,
    to: ToQuery = None,
    threshold: ThresholdQuery = 0.5,
    service: Annotated[str | None, Query(description="service.name of the generations")] = None,
    model: Annotated[str | None, Query(description="response model, else request model")] = None,
    user: Annotated[
        str | None, Query(description="user id (user.id); figures computed from spans")
    ] = None,
    session: Annotated[
        str | None,
        Query(description="session id (gen_ai.conversation.id); figures computed from spans"),
    ] = None,
) -> MetricsQuery:
    """What every metrics route reads: the validated window, threshold and filter; each
    problem is a 400 naming it."""
    return MetricsQuery(
        window=Window.around(*time_range(from_, to)),
        threshold=threshold,
        filters=OverviewFilter(
            service=name_value("service", service),
            model=name_value("model", model),
            user=name_value("user", user),
            session=name_value("session", session),
        ),
    )


MetricsQueryDep = Annotated[MetricsQuery, Depends(metrics_query)]


@router.get(
    "/hallucination-rate",
    summary="Hallucination rate per group: raw, per evaluator, corrected for measured error",
)
async def read_hallucination_rate(
    request: Request,
    store: StoreDep,
    project: ProjectDep,
    query: MetricsQueryDep,
    group_by: Annotated[
        str,
        Query(description="model, provider, service, prompt_template, day or hour; or several"),
    ] = "model",
    validation: Annotated[
        bool,
        Query(
            description="per evaluator: raw rate, sensitivity/specificity against human labels "
            "and the corrected rate (reads the scores themselves; false skips it)"
        ),
    ] = True,
) -> dict[str, Any]:
    check_params(request, (*COMMON_PARAMS, "group_by", "validation"))
    keys = [key.strip() for key in group_by.split(",")]
    if len(set(keys)) != len(keys) or any(key not in GROUPS for key in keys):
        raise ApiError(
            400, "invalid_parameter", f"group_by: expected one or more of {', '.join(GROUPS)}"
        )
    read = partial(hallucination_rate, validation=validation, filters=query.filters)
    groups = await asyncio.to_thread(read, store, project, keys, query.window, query.threshold)
    return {
        "group_by": keys,
        **_echo(query),
        "groups": groups,
        **correction_summary(groups),
    }


@router.get("/models", summary="Model scorecard: calls, latency, tokens, cost, hallucination")
async def read_models(
    request: Request, store: StoreDep, project: ProjectDep, query: MetricsQueryDep
) -> dict[str, Any]:
    check_params(request, COMMON_PARAMS)
    models = await asyncio.to_thread(model_scorecard, store, project, query)
    return {
        **_echo(query),
        "models": models,
        **correction_summary(models),
    }


@router.get("/timeseries", summary="Per hour or day: calls, latency, cost, blocks, decisions")
async def read_timeseries(
    request: Request,
    store: StoreDep,
    project: ProjectDep,
    query: MetricsQueryDep,
    bucket: Annotated[str, Query(description="hour or day")] = "day",
) -> dict[str, Any]:
    check_params(request, (*COMMON_PARAMS, "bucket"))
    if bucket not in BUCKETS:
        raise ApiError(400, "invalid_parameter", f"bucket: expected one of {', '.join(BUCKETS)}")
    window = query.window
    if bucket == "hour" and window.end - window.start > timedelta(days=MAX_HOURLY_DAYS):
        raise ApiError(
            400,
            "invalid_parameter",
            f"bucket: hour needs a range of at most {MAX_HOURLY_DAYS} days",
        )

    def read() -> tuple[dict[str, Any], list[dict[str, Any]]]:
        return overview(store, project, query), timeseries(store, project, query, bucket)

    totals, points = await asyncio.to_thread(read)
    return {**_echo(query), "bucket": bucket, "overview": totals, "points": points}


@router.get("/dimensions", summary="Services and models with generations in the window")
async def read_dimensions(
    request: Request, store: StoreDep, project: ProjectDep, query: MetricsQueryDep
) -> dict[str, Any]:
    check_params(request, ("from", "to"))  # the choices for the filter, so none applied
    window = query.window
    found = await asyncio.to_thread(dimensions, store, window.params(project))
    return {"from": _iso(window.start), "to": _iso(window.end), **found}

"""``GET /api/v1/guardrails/events`` and ``GET /api/v1/guardrails/summary``."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query

from tracerail.collector.api.deps import ProjectDep, SettingsDep, StoreDep
from tracerail.collector.api.errors import ApiError
from tracerail.collector.api.paging import checked_limit, read_page
from tracerail.collector.api.timerange import ListingWindow
from tracerail.collector.api.traces import TRACE_ID
from tracerail.collector.otlp.guardrails import ACTIONS
from tracerail.collector.store.guardrails import GuardrailFilter, list_events, summary

router = APIRouter(prefix="/api/v1/guardrails", tags=["guardrails"])

TARGETS = ("input", "output")


CheckQuery = Annotated[str | None, Query(description="check name, e.g. pii")]
ActionQuery = Annotated[str | None, Query(description="allow, flag, redact or block")]
TargetQuery = Annotated[str | None, Query(description="input or output")]
EntityQuery = Annotated[str | None, Query(description="entity type, e.g. EMAIL_ADDRESS")]
ModelQuery = Annotated[str | None, Query(description="request model of the guarded span")]


def _filters(
    window: ListingWindow,
    check: CheckQuery = None,
    action: ActionQuery = None,
    target: TargetQuery = None,
    entity_type: EntityQuery = None,
    model: ModelQuery = None,
) -> GuardrailFilter:
    """The filters both endpoints take from the query string; 400 naming a bad one."""
    start_ns, end_ns = window
    if action is not None and action.lower() not in ACTIONS:
        raise ApiError(400, "invalid_parameter", f"action: expected one of {', '.join(ACTIONS)}")
    if target is not None and target.lower() not in TARGETS:
        raise ApiError(400, "invalid_parameter", "target: expected input or output")
    return GuardrailFilter(
        start_ns=start_ns,
        end_ns=end_ns,
        check=check,
        action=action.lower() if action else None,
        target=target.lower() if target else None,
        entity_type=entity_type,
        model=model,
    )


FiltersDep = Annotated[GuardrailFilter, Depends(_filters)]


@router.get("/events", summary="Guardrail decisions matching filters, newest first")
async def read_events(
    store: StoreDep,
    project: ProjectDep,
    settings: SettingsDep,
    filters: FiltersDep,
    trace_id: str | None = None,
    limit: Annotated[int, Query(ge=1)] = 100,
    cursor: str | None = None,
) -> dict[str, Any]:
    checked_limit(limit, settings)
    if trace_id is not None:
        if not TRACE_ID.match(trace_id.lower()):
            raise ApiError(400, "invalid_parameter", "trace_id: expected 32 hex characters")
        filters = replace(filters, trace_id=trace_id.lower())
    events, next_cursor = await read_page(
        lambda: list_events(store, project, filters, limit=limit, cursor=cursor)
    )
    return {"events": events, "next_cursor": next_cursor, "count": len(events)}


@router.get("/summary", summary="Decision counts by day, check and action")
async def read_summary(store: StoreDep, project: ProjectDep, filters: FiltersDep) -> dict[str, Any]:
    groups = await asyncio.to_thread(summary, store, project, filters)
    return {"groups": groups, "total": sum(g["count"] for g in groups)}

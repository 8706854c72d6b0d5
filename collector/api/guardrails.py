"""``GET /api/v1/guardrails/events`` and ``GET /api/v1/guardrails/summary``."""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query

from tracerail.collector.api.deps import ProjectDep, SettingsDep, StoreDep
from tracerail.collector.api.errors import ApiError
from tracerail.collector.api.timerange import optional_window_ns
from tracerail.collector.api.traces import TRACE_ID
from tracerail.collector.otlp.guardrails import ACTIONS
from tracerail.collector.store.guardrails import GuardrailFilter, list_events, summary
from tracerail.collector.store.spans import InvalidCursor

router = APIRouter(prefix="/api/v1/guardrails", tags=["guardrails"])

TARGETS = ("input", "output")


def _filters(
    from_: datetime | None,
    to: datetime | None,
    check: str | None,
    action: str | None,
    target: str | None,
    entity_type: str | None,
    model: str | None,
    trace_id: str | None = None,
) -> GuardrailFilter:
    start_ns, end_ns = optional_window_ns(from_, to)
    if action is not None and action.lower() not in ACTIONS:
        raise ApiError(400, "invalid_parameter", f"action: expected one of {', '.join(ACTIONS)}")
    if target is not None and target.lower() not in TARGETS:
        raise ApiError(400, "invalid_parameter", "target: expected input or output")
    if trace_id is not None and not TRACE_ID.match(trace_id.lower()):
        raise ApiError(400, "invalid_parameter", "trace_id: expected 32 hex characters")
    return GuardrailFilter(
        start_ns=start_ns,
        end_ns=end_ns,
        check=check,
        action=action.lower() if action else None,
        target=target.lower() if target else None,
        entity_type=entity_type,
        model=model,
        trace_id=trace_id.lower() if trace_id else None,
    )


FromQuery = Annotated[datetime | None, Query(alias="from", description="ISO 8601 start")]
ToQuery = Annotated[datetime | None, Query(description="ISO 8601 end (exclusive)")]
CheckQuery = Annotated[str | None, Query(description="check name, e.g. pii")]
ActionQuery = Annotated[str | None, Query(description="allow, flag, redact or block")]
TargetQuery = Annotated[str | None, Query(description="input or output")]
EntityQuery = Annotated[str | None, Query(description="entity type, e.g. EMAIL_ADDRESS")]
ModelQuery = Annotated[str | None, Query(description="request model of the guarded span")]


@router.get("/events", summary="Guardrail decisions matching filters, newest first")
async def read_events(
    store: StoreDep,
    project: ProjectDep,
    settings: SettingsDep,
    from_: FromQuery = None,
    to: ToQuery = None,
    check: CheckQuery = None,
    action: ActionQuery = None,
    target: TargetQuery = None,
    entity_type: EntityQuery = None,
    model: ModelQuery = None,
    trace_id: str | None = None,
    limit: Annotated[int, Query(ge=1)] = 100,
    cursor: str | None = None,
) -> dict[str, Any]:
    if limit > settings.max_page_size:
        raise ApiError(400, "invalid_parameter", f"limit: at most {settings.max_page_size}")
    filters = _filters(from_, to, check, action, target, entity_type, model, trace_id)
    try:
        events, next_cursor = await asyncio.to_thread(
            list_events, store, project, filters, limit=limit, cursor=cursor
        )
    except InvalidCursor as exc:
        raise ApiError(400, "invalid_parameter", f"cursor: {exc}") from None
    return {"events": events, "next_cursor": next_cursor, "count": len(events)}


@router.get("/summary", summary="Decision counts by day, check and action")
async def read_summary(
    store: StoreDep,
    project: ProjectDep,
    from_: FromQuery = None,
    to: ToQuery = None,
    check: CheckQuery = None,
    action: ActionQuery = None,
    target: TargetQuery = None,
    entity_type: EntityQuery = None,
    model: ModelQuery = None,
) -> dict[str, Any]:
    filters = _filters(from_, to, check, action, target, entity_type, model)
    groups = await asyncio.to_thread(summary, store, project, filters)
    return {"groups": groups, "total": sum(g["count"] for g in groups)}

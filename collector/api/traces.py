"""``GET /api/v1/traces/{trace_id}`` and ``GET /api/v1/spans``."""

from __future__ import annotations

import asyncio
import re
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query

from tracerail.collector.api.deps import ProjectDep, SettingsDep, StoreDep
from tracerail.collector.api.errors import ApiError
from tracerail.collector.api.paging import checked_limit, read_page
from tracerail.collector.api.timerange import ListingWindow
from tracerail.collector.store.spans import (
    SpanFilter,
    get_trace,
    list_spans,
    span_tree,
)

router = APIRouter(prefix="/api/v1", tags=["traces"])

TRACE_ID = re.compile(r"^[0-9a-f]{32}$")
STATUSES = ("UNSET", "OK", "ERROR")


@router.get("/traces/{trace_id}", summary="One trace as a span tree")
async def read_trace(
    trace_id: Annotated[str, Path(description="32 lower-case hex characters")],
    store: StoreDep,
    project: ProjectDep,
) -> dict[str, Any]:
    trace_id = trace_id.lower()
    if not TRACE_ID.match(trace_id):
        raise ApiError(400, "invalid_parameter", "trace_id: expected 32 hex characters")
    spans = await asyncio.to_thread(get_trace, store, project, trace_id)
    if not spans:
        raise ApiError(404, "not_found", f"trace {trace_id} not found")
    return {
        "trace_id": trace_id,
        "span_count": len(spans),
        "spans": spans,
        "tree": span_tree(spans),
    }


@router.get("/spans", summary="Spans matching filters, newest first")
async def read_spans(
    store: StoreDep,
    project: ProjectDep,
    settings: SettingsDep,
    window: ListingWindow,
    service: str | None = None,
    model: Annotated[str | None, Query(description="request or response model")] = None,
    status: Annotated[str | None, Query(description="UNSET, OK or ERROR")] = None,
    name: str | None = None,
    kind: Annotated[str | None, Query(description="observation kind, e.g. generation")] = None,
    trace_id: str | None = None,
    user: Annotated[str | None, Query(description="user id (user.id)")] = None,
    session: Annotated[
        str | None, Query(description="session id (gen_ai.conversation.id or session.id)")
    ] = None,
    limit: Annotated[int, Query(ge=1)] = 100,
    cursor: str | None = None,
) -> dict[str, Any]:
    checked_limit(limit, settings)
    start_ns, end_ns = window
    if status is not None and status.upper() not in STATUSES:
        raise ApiError(400, "invalid_parameter", f"status: expected one of {', '.join(STATUSES)}")
    if trace_id is not None and not TRACE_ID.match(trace_id.lower()):
        raise ApiError(400, "invalid_parameter", "trace_id: expected 32 hex characters")
    filters = SpanFilter(
        start_ns=start_ns,
        end_ns=end_ns,
        service=service,
        model=model,
        status=status.upper() if status else None,
        name=name,
        trace_id=trace_id.lower() if trace_id else None,
        observation_kind=kind,
        user_id=user or None,
        session_id=session or None,
    )
    spans, next_cursor = await read_page(
        lambda: list_spans(store, project, filters, limit=limit, cursor=cursor)
    )
    return {"spans": spans, "next_cursor": next_cursor, "count": len(spans)}

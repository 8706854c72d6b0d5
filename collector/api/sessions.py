"""``GET /api/v1/sessions``, ``GET /api/v1/sessions/{session_id}`` and ``GET /api/v1/users``."""

from __future__ import annotations

import asyncio
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query

from tracerail.collector.api.deps import ProjectDep, SettingsDep, StoreDep
from tracerail.collector.api.errors import ApiError
from tracerail.collector.api.paging import checked_limit
from tracerail.collector.api.timerange import ListingWindow
from tracerail.collector.store.sessions import list_sessions, list_users, session_turns

router = APIRouter(prefix="/api/v1", tags=["sessions"])

LimitQuery = Annotated[int, Query(ge=1)]


@router.get("/sessions", summary="Sessions (conversations) with their users and totals")
async def read_sessions(
    store: StoreDep,
    project: ProjectDep,
    settings: SettingsDep,
    window: ListingWindow,
    user: Annotated[str | None, Query(min_length=1, max_length=256)] = None,
    limit: LimitQuery = 100,
) -> dict[str, Any]:
    start_ns, end_ns = window
    rows = await asyncio.to_thread(
        list_sessions,
        store,
        project,
        start_ns,
        end_ns,
        user=user,
        limit=checked_limit(limit, settings),
    )
    return {"sessions": rows, "count": len(rows)}


@router.get("/sessions/{session_id}", summary="One session's turns in order")
async def read_session(
    session_id: Annotated[str, Path(min_length=1, max_length=256)],
    store: StoreDep,
    project: ProjectDep,
    window: ListingWindow,
    threshold: Annotated[float, Query(ge=0.0, le=1.0)] = 0.5,
) -> dict[str, Any]:
    start_ns, end_ns = window
    turns = await asyncio.to_thread(
        session_turns, store, project, session_id, start_ns, end_ns, threshold=threshold
    )
    if not turns:
        raise ApiError(404, "not_found", f"session {session_id} not found")
    users = sorted({t["user_id"] for t in turns if t["user_id"]})
    return {
        "session_id": session_id,
        "users": users,
        "turns": turns,
        "totals": {
            "turns": len(turns),
            "input_tokens": sum(t["input_tokens"] for t in turns),
            "output_tokens": sum(t["output_tokens"] for t in turns),
            "cost_usd": sum(t["cost_usd"] for t in turns),
            "hallucinated": sum(1 for t in turns if t["hallucinated"]),
        },
    }


@router.get("/users", summary="Per-user totals")
async def read_users(
    store: StoreDep,
    project: ProjectDep,
    settings: SettingsDep,
    window: ListingWindow,
    limit: LimitQuery = 100,
) -> dict[str, Any]:
    start_ns, end_ns = window
    rows = await asyncio.to_thread(
        list_users, store, project, start_ns, end_ns, limit=checked_limit(limit, settings)
    )
    return {"users": rows, "count": len(rows)}

"""``/healthz`` (process is up) and ``/readyz`` (storage answers and is migrated)."""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from tracerail.collector.api.deps import StoreDep
from tracerail.collector.api.errors import error_response
from tracerail.version import __version__

router = APIRouter(tags=["health"])


@router.get("/healthz", summary="Liveness")
async def healthz() -> dict[str, Any]:
    return {"status": "ok", "version": __version__}


@router.get("/readyz", summary="Readiness: storage reachable and migrated", response_model=None)
async def readyz(store: StoreDep) -> dict[str, Any] | JSONResponse:
    if not await asyncio.to_thread(store.is_migrated):
        return error_response(503, "not_ready", "storage unreachable or not migrated")
    return {"status": "ready", "storage": "chdb" if store.embedded else "clickhouse"}

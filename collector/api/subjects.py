"""``DELETE /api/v1/subjects/{user_id}``: erase a data subject's rows in this project."""

from __future__ import annotations

import asyncio
from typing import Annotated, Any

from fastapi import APIRouter, Path

from tracerail.collector.api.deps import AdminProjectDep, BatcherDep, StoreDep
from tracerail.collector.api.errors import ApiError
from tracerail.collector.store.erasure import erase_subject

router = APIRouter(prefix="/api/v1/subjects", tags=["erasure"])


@router.delete("/{user_id}", summary="Erase every span of one user (GDPR art. 17)")
async def erase(
    user_id: Annotated[str, Path(min_length=1, max_length=512)],
    store: StoreDep,
    batcher: BatcherDep,
    project: AdminProjectDep,
) -> dict[str, Any]:
    # Spans still in the write-ahead log would come back after the erasure: put them in first.
    await asyncio.to_thread(batcher.replay_once)
    if not batcher.storage_ok:
        raise ApiError(503, "storage_unavailable", "storage is down; retry the erasure later")
    erasure = await asyncio.to_thread(erase_subject, store, project, user_id, "api", batcher.ledger)
    return erasure.as_json()

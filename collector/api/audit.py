"""``GET /api/v1/audit/ledger/head``: the latest chain hash, to anchor somewhere else."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter

from tracerail.collector.api.deps import ProjectDep, StoreDep
from tracerail.collector.store.ledger import read_head

router = APIRouter(prefix="/api/v1/audit", tags=["audit"])


@router.get("/ledger/head", summary="Latest batch of this project's audit ledger chain")
async def ledger_head(store: StoreDep, project: ProjectDep) -> dict[str, Any]:
    head = await asyncio.to_thread(read_head, store, project)
    created = (
        datetime.fromtimestamp(head.created_at_ns / 1e9, tz=UTC).isoformat().replace("+00:00", "Z")
        if head.seq
        else None
    )
    return {
        "project": project,
        "seq": head.seq,
        "chain_hash": head.chain_hash,
        "batch_id": head.batch_id or None,
        "created_at": created,
    }

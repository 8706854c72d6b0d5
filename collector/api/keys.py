"""``/api/v1/keys``: create, list and revoke the API keys of the caller's project (admin)."""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, Field

from tracerail.collector.api.deps import AdminProjectDep, KeyRingDep, StoreDep
from tracerail.collector.api.errors import ApiError
from tracerail.collector.store.keys import Scope, create_key, list_keys, revoke_key

router = APIRouter(prefix="/api/v1/keys", tags=["keys"])


class NewKey(BaseModel):
    scope: Scope = "ingest"
    note: str = Field("", max_length=200)


@router.post("", summary="Create a key for this project (the key is shown only now)")
async def new_key(
    body: NewKey, store: StoreDep, keyring: KeyRingDep, project: AdminProjectDep
) -> dict[str, Any]:
    key, record = await asyncio.to_thread(create_key, store, project, body.scope, body.note)
    keyring.invalidate()
    return {"key": key, **record.public()}


@router.get("", summary="Keys of this project (never their secrets)")
async def keys(store: StoreDep, project: AdminProjectDep) -> dict[str, Any]:
    records = await asyncio.to_thread(list_keys, store, project)
    return {"keys": [r.public() for r in records]}


@router.delete("/{key_id}", summary="Revoke a key of this project")
async def revoke(
    key_id: str, store: StoreDep, keyring: KeyRingDep, project: AdminProjectDep
) -> dict[str, Any]:
    if not await asyncio.to_thread(revoke_key, store, key_id, project):
        raise ApiError(404, "not_found", f"key {key_id[:40]!r} not found")
    keyring.invalidate()
    return {"key_id": key_id, "revoked": True}

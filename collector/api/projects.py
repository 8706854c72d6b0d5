"""``/api/v1/project``: the caller's project and its retention."""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, Field

from tracerail.collector.api.deps import (
    AdminProjectDep,
    KeyRingDep,
    ProjectDep,
    SettingsDep,
    StoreDep,
)
from tracerail.collector.store.projects import get_project, save_project

router = APIRouter(prefix="/api/v1/project", tags=["projects"])


class Retention(BaseModel):
    retention_days: int = Field(ge=1, le=3650)


@router.get("", summary="This project and its retention")
async def read_project(
    store: StoreDep, settings: SettingsDep, project: ProjectDep
) -> dict[str, Any]:
    found = await asyncio.to_thread(get_project, store, project)
    days = found.retention_days if found else settings.retention_days
    return {"name": project, "retention_days": days}


@router.put("/retention", summary="Set how many days new spans of this project are kept")
async def set_retention(
    body: Retention, store: StoreDep, keyring: KeyRingDep, project: AdminProjectDep
) -> dict[str, Any]:
    saved = await asyncio.to_thread(save_project, store, project, body.retention_days)
    keyring.invalidate()
    return {"name": saved.name, "retention_days": saved.retention_days}

"""Request-scoped dependencies, as ``Annotated`` aliases."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from tracerail.collector.ingest import IngestBatcher
from tracerail.collector.prepare import PreparePool
from tracerail.collector.settings import Settings
from tracerail.collector.store.clickhouse import ClickHouseStore


def _settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def _store(request: Request) -> ClickHouseStore:
    store: ClickHouseStore = request.app.state.store
    return store


def _batcher(request: Request) -> IngestBatcher:
    batcher: IngestBatcher = request.app.state.batcher
    return batcher


def _prepare_pool(request: Request) -> PreparePool:
    pool: PreparePool = request.app.state.prepare_pool
    return pool


def _project(request: Request) -> str:
    """The project a request acts for (the configured one until API keys exist)."""
    settings: Settings = request.app.state.settings
    return settings.project


SettingsDep = Annotated[Settings, Depends(_settings)]
StoreDep = Annotated[ClickHouseStore, Depends(_store)]
BatcherDep = Annotated[IngestBatcher, Depends(_batcher)]
PreparePoolDep = Annotated[PreparePool, Depends(_prepare_pool)]
ProjectDep = Annotated[str, Depends(_project)]

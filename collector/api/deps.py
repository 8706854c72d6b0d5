"""Request-scoped dependencies, as ``Annotated`` aliases.

Tenancy: ``ProjectDep`` (a ``read`` key), ``IngestProjectDep`` (an ``ingest`` key) and
``AdminProjectDep`` (an ``admin`` key) authenticate the request's ``Authorization`` header and
give the key's project; an ``admin`` key satisfies every scope. With auth off (loopback, no
keys yet) they give ``Settings.project``. See :mod:`tracerail.collector.auth`.
"""

from __future__ import annotations

from typing import Annotated, cast

from fastapi import Depends, Request

from tracerail.collector.api.errors import ApiError
from tracerail.collector.auth import AuthError, KeyRing, authenticate
from tracerail.collector.ingest import IngestBatcher
from tracerail.collector.settings import Settings
from tracerail.collector.store.clickhouse import ClickHouseStore
from tracerail.collector.store.keys import Scope


def _settings(request: Request) -> Settings:
    return cast(Settings, request.app.state.settings)


def _store(request: Request) -> ClickHouseStore:
    return cast(ClickHouseStore, request.app.state.store)


def _batcher(request: Request) -> IngestBatcher:
    return cast(IngestBatcher, request.app.state.batcher)


def _keyring(request: Request) -> KeyRing:
    return cast(KeyRing, request.app.state.keyring)


def project_for(request: Request, scope: Scope) -> str:
    """The project of the request's key, checked for ``scope``; raises :class:`ApiError`."""
    try:
        return authenticate(
            request.headers.get("authorization"), scope, keyring=request.app.state.keyring
        )
    except AuthError as exc:
        headers = {"WWW-Authenticate": "Bearer"} if exc.status == 401 else None
        if exc.status == 503:
            headers = {"Retry-After": str(request.app.state.settings.retry_after_seconds)}
        raise ApiError(exc.status, exc.error, exc.detail, headers) from None


def _read_project(request: Request) -> str:
    return project_for(request, "read")


def _ingest_project(request: Request) -> str:
    return project_for(request, "ingest")


def _admin_project(request: Request) -> str:
    return project_for(request, "admin")


SettingsDep = Annotated[Settings, Depends(_settings)]
StoreDep = Annotated[ClickHouseStore, Depends(_store)]
BatcherDep = Annotated[IngestBatcher, Depends(_batcher)]
KeyRingDep = Annotated[KeyRing, Depends(_keyring)]
ProjectDep = Annotated[str, Depends(_read_project)]
IngestProjectDep = Annotated[str, Depends(_ingest_project)]
AdminProjectDep = Annotated[str, Depends(_admin_project)]

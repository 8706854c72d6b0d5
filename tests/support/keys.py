"""API keys for tests, created through the real key store."""

from __future__ import annotations

from dataclasses import dataclass

from tracerail.collector.store.clickhouse import ClickHouseStore
from tracerail.collector.store.keys import Scope, create_key, revoke_key


@dataclass(frozen=True)
class Keys:
    """An ingest, read and admin key of one project."""

    project: str
    ingest: str
    read: str
    admin: str


def make_key(store: ClickHouseStore, project: str, scope: Scope) -> str:
    key, _ = create_key(store, project, scope)
    return key


def make_keys(store: ClickHouseStore, project: str) -> Keys:
    return Keys(
        project,
        make_key(store, project, "ingest"),
        make_key(store, project, "read"),
        make_key(store, project, "admin"),
    )


def revoked_key(store: ClickHouseStore, project: str, scope: Scope = "admin") -> str:
    key, record = create_key(store, project, scope)
    assert revoke_key(store, record.key_id)
    return key


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}

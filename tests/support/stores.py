"""A ClickHouse store in a database of its own, dropped afterwards.

chDB allows one data path per process, so tests share it and keep apart by database.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from tracerail.collector.store import migrations
from tracerail.collector.store.clickhouse import ClickHouseStore


@contextmanager
def scratch_store(dsn: str, *, migrate: bool = True) -> Iterator[ClickHouseStore]:
    """A store on a fresh database of ``dsn`` (migrated unless ``migrate=False``); on exit the
    database is dropped and the store closed."""
    store = ClickHouseStore(dsn, database=f"t_{uuid.uuid4().hex[:12]}")
    try:
        if migrate:
            store.migrate()
        yield store
    finally:
        store.client.command(f"DROP DATABASE IF EXISTS `{store.database}`")
        store.close()


@contextmanager
def store_at_version(dsn: str, version: int) -> Iterator[ClickHouseStore]:
    """A scratch store migrated only up to ``version``, as an older release left its database;
    the test then writes rows the old way and runs the remaining migrations itself."""
    with scratch_store(dsn, migrate=False) as store:
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(migrations, "MIGRATIONS", migrations.MIGRATIONS[:version])
            assert store.migrate() == list(range(1, version + 1))
        yield store

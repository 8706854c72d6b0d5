"""Storage: migrations are versioned and idempotent; the DSN picks the engine."""

from __future__ import annotations

import pytest

from tracerail.collector.store import migrations
from tracerail.collector.store.clickhouse import ClickHouseStore


def test_migrate_is_idempotent(store: ClickHouseStore) -> None:
    assert store.applied_versions() == {m.version for m in migrations.MIGRATIONS}
    assert store.migrate() == []
    assert store.is_migrated()
    tables = {
        r["name"]
        for r in store.query(
            "SELECT name FROM system.tables WHERE database = {db:String}", {"db": store.database}
        )
    }
    assert {"spans", "trace_index", "trace_index_mv", "schema_migrations"} <= tables


def test_spans_table_design(store: ClickHouseStore) -> None:
    (row,) = store.query(
        "SELECT sorting_key, partition_key, engine, create_table_query FROM system.tables "
        "WHERE database = {db:String} AND name = 'spans'",
        {"db": store.database},
    )
    assert row["sorting_key"].startswith("project")
    assert row["partition_key"] == "toDate(timestamp)"
    assert row["engine"] == "MergeTree"
    assert "TTL" in row["create_table_query"]
    assert "ttl_only_drop_parts = 1" in row["create_table_query"]
    assert "bloom_filter" in row["create_table_query"]


@pytest.mark.parametrize("dsn", ["postgres://x", "mysql://y", "file:///z"])
def test_unknown_dsn_scheme_is_rejected(dsn: str) -> None:
    with pytest.raises(ValueError, match="chdb://"):
        _ = ClickHouseStore(dsn).client


def test_invalid_database_name_is_rejected() -> None:
    with pytest.raises(ValueError, match="database"):
        ClickHouseStore("chdb:///tmp/x", database="x; DROP")

"""Cluster-mode DDL: rendered from the same schema objects as the single-node DDL.

No ClickHouse cluster (Keeper + several servers) can run here, so every ``ON CLUSTER``
statement is checked by parsing it with the embedded engine (``formatQuery``), by its
structure, and by showing that, with the cluster parts taken out, it is exactly the single-node
statement, which is applied to chDB.
"""

from __future__ import annotations

import re

import pytest

from tracerail.collector.store import migrations
from tracerail.collector.store.clickhouse import ClickHouseStore
from tracerail.collector.store.cluster_ddl import LOCAL_SUFFIX, render_cluster
from tracerail.collector.store.ddl import Column, MaterializedView, Statement, Table, render
from tracerail.collector.store.migrations.m001_spans import SPANS
from tracerail.collector.store.migrations.m005_trace_lookup_hallucination_stats import (
    TRACE_LOOKUP,
    TRACE_LOOKUP_MV,
)

CLUSTER = "tracerail_cluster"
DB = "tracerail"


def formatted(store: ClickHouseStore, sql: str) -> str:
    """The engine's own normalised text of ``sql``; raises if it does not parse."""
    rows = store.query("SELECT formatQuerySingleLine({q:String}) AS f", {"q": sql})
    text: str = rows[0]["f"]
    return text


def all_cluster_statements() -> list[str]:
    bootstrap = ClickHouseStore("chdb:///unused", DB, cluster=CLUSTER).bootstrap_statements()
    return bootstrap + [
        sql for m in migrations.MIGRATIONS for sql in m.cluster_statements(DB, CLUSTER)
    ]


def test_every_cluster_statement_parses_and_is_on_cluster(store: ClickHouseStore) -> None:
    statements = all_cluster_statements()
    assert len(statements) >= 8
    for sql in statements:
        text = formatted(store, sql)
        if text.startswith("INSERT INTO"):  # data statements go through the Distributed table
            assert "ON CLUSTER" not in text
            continue
        assert f"ON CLUSTER {CLUSTER}" in text, sql


def test_tables_become_replicated_local_plus_distributed_by_trace_id(
    store: ClickHouseStore,
) -> None:
    local, dist = (formatted(store, s) for s in render_cluster(SPANS, DB, CLUSTER))
    assert local.startswith(f"CREATE TABLE IF NOT EXISTS {DB}.spans_local ON CLUSTER {CLUSTER}")
    assert (
        "ENGINE = ReplicatedMergeTree('/clickhouse/tables/{shard}/{database}/{table}', "
        "'{replica}')" in local
    )
    assert dist == (
        f"CREATE TABLE IF NOT EXISTS {DB}.spans ON CLUSTER {CLUSTER} AS {DB}.spans_local "
        f"ENGINE = Distributed('{CLUSTER}', '{DB}', 'spans_local', cityHash64(trace_id))"
    )
    _, index_dist = render_cluster(TRACE_LOOKUP, DB, CLUSTER)
    assert "'trace_lookup_local', cityHash64(trace_id))" in index_dist


def test_engine_arguments_follow_the_replication_arguments(store: ClickHouseStore) -> None:
    versioned = Table(
        name="prices",
        columns=(Column("model", "String"), Column("trace_id", "String"), Column("v", "UInt64")),
        order_by="model",
        engine="ReplacingMergeTree",
        engine_args="v",
    )
    local, _ = render_cluster(versioned, DB, CLUSTER)
    assert (
        "ENGINE = ReplicatedReplacingMergeTree('/clickhouse/tables/{shard}/{database}/{table}', "
        "'{replica}', v)" in formatted(store, local)
    )


def test_materialized_view_reads_and_writes_local_tables(store: ClickHouseStore) -> None:
    (view,) = render_cluster(TRACE_LOOKUP_MV, DB, CLUSTER)
    text = formatted(store, view)
    assert f"TO {DB}.trace_lookup_local AS SELECT" in text
    assert f"FROM {DB}.spans_local GROUP BY" in text
    assert f"{DB}.spans " not in text


def _without_cluster_parts(sql: str) -> str:
    """Undo exactly what cluster rendering adds to a local table's DDL."""
    sql = sql.replace(f" ON CLUSTER {CLUSTER}", "").replace(LOCAL_SUFFIX, "")
    sql = re.sub(
        r"ENGINE = Replicated(\w+)\('/clickhouse/tables/\{shard\}/\{database\}/\{table\}', "
        r"'\{replica\}'(?:, )?",
        r"ENGINE = \1(",
        sql,
    )
    return sql.replace("MergeTree()", "MergeTree")  # formatQuery drops empty engine parentheses


@pytest.mark.parametrize(
    "obj",
    [obj for m in migrations.MIGRATIONS for obj in m.objects if not isinstance(obj, Statement)],
    ids=lambda obj: obj.name,
)
def test_cluster_ddl_is_the_applied_single_node_ddl_plus_cluster_parts(
    store: ClickHouseStore, obj: Table | MaterializedView
) -> None:
    """One source: stripping ON CLUSTER/Replicated/_local gives the single-node statement,
    and that statement is what the ``store`` fixture applied to chDB (it exists there)."""
    first = render_cluster(obj, store.database, CLUSTER)[0]
    single = render(obj, store.database)
    assert _without_cluster_parts(formatted(store, first)) == formatted(store, single)
    exists = store.query(
        "SELECT count() AS n FROM system.tables WHERE database = {db:String} AND name = {t:String}",
        {"db": store.database, "t": obj.name},
    )
    assert exists[0]["n"] == (0 if obj.name in REPLACED else 1)


# Created by migration 1, dropped by migration 5 (replaced by trace_lookup).
REPLACED = {"trace_index", "trace_index_mv"}


ADD_COLUMN = Statement(
    "ALTER TABLE {db}.spans ADD COLUMN IF NOT EXISTS `tenant_tier` LowCardinality(String)",
    table="spans",
)
ADD_INDEX = Statement(
    "ALTER TABLE {db}.spans ADD INDEX IF NOT EXISTS idx_name name TYPE set(100) GRANULARITY 4",
    table="spans",
)
NEW_VIEW = Statement(
    "CREATE VIEW IF NOT EXISTS {db}.errors AS SELECT trace_id FROM {db}.spans "
    "WHERE status_code = 'ERROR'"
)


def test_column_alter_goes_to_local_and_distributed_tables(store: ClickHouseStore) -> None:
    local, dist = (formatted(store, s) for s in render_cluster(ADD_COLUMN, DB, CLUSTER))
    assert local.startswith(f"ALTER TABLE {DB}.spans_local ON CLUSTER {CLUSTER} (ADD COLUMN")
    assert dist.startswith(f"ALTER TABLE {DB}.spans ON CLUSTER {CLUSTER} (ADD COLUMN")


def test_index_alter_goes_only_to_the_local_table(store: ClickHouseStore) -> None:
    (local,) = render_cluster(ADD_INDEX, DB, CLUSTER)
    assert formatted(store, local).startswith(
        f"ALTER TABLE {DB}.spans_local ON CLUSTER {CLUSTER} (ADD INDEX"
    )


def test_statement_without_table_only_gains_on_cluster(store: ClickHouseStore) -> None:
    (sql,) = render_cluster(NEW_VIEW, DB, CLUSTER)
    assert formatted(store, sql).startswith(
        f"CREATE VIEW IF NOT EXISTS {DB}.errors ON CLUSTER {CLUSTER} AS SELECT"
    )


@pytest.mark.parametrize("statement", [ADD_COLUMN, ADD_INDEX, NEW_VIEW], ids=str)
def test_example_statements_apply_on_a_single_node(
    store: ClickHouseStore, statement: Statement
) -> None:
    store.client.command(render(statement, store.database))


def test_mixed_alter_is_refused_with_advice() -> None:
    mixed = Statement(
        "ALTER TABLE {db}.spans ADD COLUMN x String, ADD INDEX i x TYPE set(1) GRANULARITY 1",
        table="spans",
    )
    with pytest.raises(ValueError, match="split this ALTER"):
        render_cluster(mixed, DB, CLUSTER)


def test_table_without_a_shard_key_column_is_refused() -> None:
    keys = Table(name="api_keys", columns=(Column("key_hash", "String"),), order_by="key_hash")
    with pytest.raises(ValueError, match="give the Table a shard_key"):
        render_cluster(keys, DB, CLUSTER)


def test_cluster_name_is_validated() -> None:
    with pytest.raises(ValueError, match="invalid cluster name"):
        render_cluster(SPANS, DB, "prod; DROP")
    with pytest.raises(ValueError, match="invalid cluster name"):
        ClickHouseStore("chdb:///unused", DB, cluster="a b")


def test_cluster_store_reads_distributed_and_names_local_tables() -> None:
    clustered = ClickHouseStore("chdb:///unused", DB, cluster=CLUSTER)
    single = ClickHouseStore("chdb:///unused", DB)
    assert clustered.table("spans") == f"`{DB}`.`spans`"  # the Distributed table
    assert clustered.local_table("spans") == f"`{DB}`.`spans_local`"
    assert single.local_table("spans") == single.table("spans")
    migration = migrations.MIGRATIONS[0]
    assert clustered.schema_statements(migration) == migration.cluster_statements(DB, CLUSTER)
    assert single.schema_statements(migration) == migration.statements(DB)


def test_cli_prints_cluster_ddl_that_parses(store: ClickHouseStore) -> None:
    from typer.testing import CliRunner

    from tracerail.collector.cli import app

    result = CliRunner().invoke(
        app, ["collector", "migrate", "--cluster", CLUSTER, "--print-sql"], catch_exceptions=False
    )
    assert result.exit_code == 0
    statements = [s.strip() for s in result.output.split(";\n") if s.strip()]
    statements = [
        "\n".join(line for line in s.splitlines() if not line.startswith("--")) for s in statements
    ]
    assert statements == all_cluster_statements()
    for sql in statements:
        formatted(store, sql)


def test_cluster_store_sessions_skip_unused_shards_and_insert_in_foreground(
    store: ClickHouseStore,
) -> None:
    """Same chDB path as ``store`` (one path per process), opened in cluster mode."""
    clustered = ClickHouseStore(store.dsn, store.database, cluster=CLUSTER)
    try:
        (row,) = clustered.query(
            "SELECT getSetting('optimize_skip_unused_shards') AS skip, "
            "getSetting('distributed_foreground_insert') AS sync"
        )
        assert row == {"skip": True, "sync": True}
    finally:
        clustered.close()

"""Storage: migrations are versioned and idempotent; the DSN picks the engine."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from tests.support.stores import scratch_store, store_at_version
from tracerail import semconv
from tracerail.collector.store import migrations
from tracerail.collector.store.clickhouse import ClickHouseStore
from tracerail.collector.store.spans import get_trace


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
    assert {"spans", "trace_lookup", "trace_lookup_mv", "schema_migrations"} <= tables
    assert not {"trace_index", "trace_index_mv"} & tables  # replaced in migration 5


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


def test_upgrade_to_v5_backfills_trace_lookup_and_hallucination_stats(chdb_dsn: str) -> None:
    """A database at version 4 with spans and scores keeps answering after migration 5."""
    from tracerail.collector.scores import Score, SpanInfo, append_score, empty_score_columns
    from tracerail.collector.store.metrics import Window, hallucination_rate

    with store_at_version(chdb_dsn, 4) as old:
        start = datetime.now(UTC).replace(microsecond=0) - timedelta(days=1)
        old.insert_columns(
            "spans",
            {
                "project": ["p", "p"],
                "timestamp": [start, start + timedelta(seconds=1)],
                "trace_id": ["ab" * 16, "ab" * 16],
                "span_id": ["01" * 8, "02" * 8],
                "observation_kind": [semconv.KIND_GENERATION] * 2,
                "request_model": ["m", "m"],
            },
        )
        scores = empty_score_columns()
        info = SpanInfo(int(start.timestamp() * 1e9), semconv.KIND_GENERATION, "", "", "m", "")
        for span_id, value in (("01" * 8, 1.0), ("02" * 8, 0.0), ("02" * 8, 1.0)):
            score = Score(semconv.SCORE_HALLUCINATION, value, "boolean", "auto")
            append_score(scores, "p", "ab" * 16, span_id, score, info)
        for column in ("evaluator", "evaluator_version", "prompt_sha256", "reviewer"):
            del scores[column]  # added in migration 6
        old.insert_columns("scores", scores)  # as version 4 wrote them: no stats rows

        assert old.migrate() == list(range(5, migrations.latest_version() + 1))
        assert [s["span_id"] for s in get_trace(old, "p", "ab" * 16)] == ["01" * 8, "02" * 8]
        window = Window(start - timedelta(hours=1), start + timedelta(hours=1))
        fast = hallucination_rate(old, "p", "model", window)
        assert fast == hallucination_rate(old, "p", "model", window, exact=True)
        assert fast[0]["evaluated"] == 2


def test_embedded_arrow_inserts_take_chdbs_fast_path(
    store: ClickHouseStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The start-up probe passes here, and inserts go through it, not clickhouse-connect."""
    import pyarrow as pa

    fast = store.arrow_fast_path()
    assert fast is not None

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("the slow path ran")

    monkeypatch.setattr(store.client, "insert_arrow", refuse)
    before = fast.inserts
    rows = pa.table({"name": ["arrow-probe"], "retention_days": pa.array([9], pa.uint16())})
    store.insert_arrow("projects", rows)
    assert fast.inserts == before + 1
    found = store.query(f"SELECT retention_days FROM {store.table('projects')} FINAL")
    assert found == [{"retention_days": 9}]


def test_a_failed_probe_falls_back_to_clickhouse_connect(
    chdb_dsn: str, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    from tracerail.collector.store import chdb_arrow

    def broken(connection: object) -> None:
        raise RuntimeError("no Python() here")

    monkeypatch.setattr(chdb_arrow, "_probe", broken)
    with scratch_store(chdb_dsn) as other:
        with caplog.at_level("WARNING", logger="tracerail.collector"):
            assert other.arrow_fast_path() is None
        assert "no Python() here" in caplog.text
        import pyarrow as pa

        other.insert_arrow("projects", pa.table({"name": ["p"], "retention_days": [3]}))
        assert other.query(f"SELECT count() AS n FROM {other.table('projects')}") == [{"n": 1}]

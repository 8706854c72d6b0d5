"""Migration 1: the ``spans`` table and its trace-id index (replaced in migration 5)."""

from __future__ import annotations

from typing import Final

from tracerail.collector.columns import SPAN_COLUMNS
from tracerail.collector.store.ddl import (
    PROJECT,
    RETENTION_DAYS,
    TRACE_ID_INDEX,
    TS,
    Column,
    MaterializedView,
    Table,
    retention_ttl,
)
from tracerail.collector.store.migrations.migration import Migration

SPANS: Final = Table(
    name="spans",
    columns=tuple(Column(c.name, c.type, c.codec, c.default) for c in SPAN_COLUMNS),
    partition_by="toDate(timestamp)",
    order_by="(project, service_name, toStartOfHour(timestamp), name, timestamp)",
    ttl=retention_ttl("timestamp"),
    indexes=(
        TRACE_ID_INDEX,
        "INDEX idx_request_model request_model TYPE set(256) GRANULARITY 4",
        "INDEX idx_user_id user_id TYPE bloom_filter(0.01) GRANULARITY 4",
        "INDEX idx_session_id session_id TYPE bloom_filter(0.01) GRANULARITY 4",
    ),
    # Inserts of up to ~100k spans are written as compact parts (one file, not a file per
    # column and map stream): about half the insert CPU of wide parts (bench/RESULTS.md).
    # Merges turn them into wide parts once a part exceeds 128 MB.
    settings={
        "index_granularity": "8192",
        "ttl_only_drop_parts": "1",
        "min_bytes_for_wide_part": str(128 * 1024 * 1024),
    },
)

# The trace-id lookup path: (project, trace_id) → time bounds, so a trace read touches only
# the partitions and granules of that trace instead of scanning the spans table.
TRACE_INDEX: Final = Table(
    name="trace_index",
    columns=(
        PROJECT,
        Column("trace_id", "String"),
        Column("start", TS),
        Column("end", TS),
        RETENTION_DAYS,
    ),
    partition_by="toDate(start)",
    order_by="(project, trace_id)",
    ttl=retention_ttl("start"),
    settings={"ttl_only_drop_parts": "1"},
)

# A trace's time bounds, from its spans (also the SELECT of migration 5's trace lookup).
TRACE_BOUNDS_SELECT: Final = (
    "SELECT project, trace_id, min(timestamp) AS start, "
    "max(timestamp + toIntervalNanosecond(duration_ns)) AS end, "
    "max(retention_days) AS retention_days "
    "FROM {db}.spans GROUP BY project, trace_id"
)

TRACE_INDEX_MV: Final = MaterializedView(
    name="trace_index_mv", source="spans", target="trace_index", select=TRACE_BOUNDS_SELECT
)

MIGRATION: Final = Migration(1, "spans and trace index", (SPANS, TRACE_INDEX, TRACE_INDEX_MV))

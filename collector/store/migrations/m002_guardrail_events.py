"""Migration 2: ``guardrail_events``, one row per guardrail decision.

Derived at ingest from ``run_guardrail {check}`` span events (and spans of that name from other
instrumentations). Sorted for the dashboard's questions: a project's decisions over time by
check and action.
"""

from __future__ import annotations

from typing import Final

from tracerail.collector.store.ddl import (
    PROJECT,
    RETENTION_DAYS,
    TS,
    Column,
    Table,
    low,
    retention_ttl,
    zstd,
)
from tracerail.collector.store.migrations.migration import Migration

GUARDRAIL_EVENTS: Final = Table(
    name="guardrail_events",
    columns=(
        PROJECT,
        Column("timestamp", TS, codec="Delta, ZSTD(1)"),
        *zstd("trace_id", "span_id"),
        Column("event_index", "UInt16"),
        *low("service_name", "request_model", "check_name", "check_type", "target", "action"),
        *low("policy_name", "policy_version"),
        Column("latency_ms", "Float64"),
        Column("entity_types", "Array(LowCardinality(String))"),
        Column("entity_counts", "Map(LowCardinality(String), UInt32)"),
        *zstd("reason"),
        *low("error"),
        RETENTION_DAYS,
        Column("ingested_at", "DateTime64(3, 'UTC')", default="now64(3)"),
    ),
    partition_by="toDate(timestamp)",
    order_by="(project, toDate(timestamp), check_name, action, timestamp)",
    ttl=retention_ttl("timestamp"),
    indexes=(
        "INDEX idx_ge_trace_id trace_id TYPE bloom_filter(0.001) GRANULARITY 1",
        "INDEX idx_ge_entity_types entity_types TYPE bloom_filter(0.01) GRANULARITY 4",
        "INDEX idx_ge_request_model request_model TYPE set(256) GRANULARITY 4",
    ),
    settings={"ttl_only_drop_parts": "1"},
)

MIGRATION: Final = Migration(2, "guardrail decisions", (GUARDRAIL_EVENTS,))

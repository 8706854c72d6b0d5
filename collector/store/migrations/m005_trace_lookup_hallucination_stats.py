"""Migration 5: faster trace lookup, pre-aggregated hallucination counts."""

from __future__ import annotations

from dataclasses import replace
from typing import Final

from tracerail import semconv as sc
from tracerail.collector.store.ddl import Column, MaterializedView, Statement, dedup_settings, low
from tracerail.collector.store.hallucination_sql import HALLUCINATION_STATS_SELECT, bucket_sql
from tracerail.collector.store.migrations.m001_spans import TRACE_BOUNDS_SELECT, TRACE_INDEX
from tracerail.collector.store.migrations.m004_scores_ledger_generation_stats import (
    hourly_aggregate,
)
from tracerail.collector.store.migrations.migration import Migration

# Replaces ``trace_index`` (daily partitions: a lookup touched one part per day). Monthly
# partitions and small granules make the (project, trace_id) lookup read one granule per
# month; expired rows are removed by merges instead of whole-part drops.
TRACE_LOOKUP: Final = replace(
    TRACE_INDEX,
    name="trace_lookup",
    partition_by="toYYYYMM(start)",
    settings=dedup_settings(index_granularity="1024"),
)

TRACE_LOOKUP_MV: Final = MaterializedView(
    name="trace_lookup_mv", source="spans", target="trace_lookup", select=TRACE_BOUNDS_SELECT
)

TRACE_LOOKUP_BACKFILL: Final = Statement(
    sql="INSERT INTO {db}.trace_lookup " + TRACE_BOUNDS_SELECT,
    table="trace_lookup",
    data=True,
)

DROP_TRACE_INDEX: Final = (
    Statement("DROP VIEW IF EXISTS {db}.trace_index_mv"),
    Statement("DROP TABLE IF EXISTS {db}.trace_index", table="trace_index"),
)

# Hallucination scores counted per hour, span dimensions, source and value bucket
# (:func:`~tracerail.collector.store.hallucination_sql.bucket_sql`): each scored generation
# contributes +1 for its latest value per source and +1 under source ``any`` (human over judge
# over auto). The view adds +1 (source) and +1 (``any``) for every score row inserted; the
# writer (collector/store/hallucination_stats.py) inserts the corrections first (-1 for a value
# a re-score replaces, and for ``any`` rows that are not the span's preferred score).
HALLUCINATION_STATS: Final = hourly_aggregate(
    "hallucination_stats",
    (*low("source"), Column("bucket", "UInt8"), Column("evaluated", "Int64")),
    engine="SummingMergeTree",
    engine_args="evaluated",
    sort=("source", "bucket"),
)

HALLUCINATION_STATS_MV: Final = MaterializedView(
    name="hallucination_stats_mv",
    source="scores",
    target="hallucination_stats",
    select=(
        "SELECT project, hour, service_name, provider, model, prompt_template, "
        "stat_source AS source, bucket, toInt64(1) AS evaluated FROM ("
        "  SELECT project, span_hour AS hour, service_name, provider, model, prompt_template, "
        f"  arrayJoin([toString(source), 'any']) AS stat_source, {bucket_sql('value')} AS bucket "
        f"  FROM {{db}}.scores WHERE name = '{sc.SCORE_HALLUCINATION}')"
    ),
)

HALLUCINATION_STATS_BACKFILL: Final = Statement(
    sql=(
        "INSERT INTO {db}.hallucination_stats "
        + HALLUCINATION_STATS_SELECT.replace(
            "WHERE name =", "WHERE (SELECT count() FROM {db}.hallucination_stats) = 0 AND name ="
        )
    ),
    table="hallucination_stats",
    data=True,
)

MIGRATION: Final = Migration(
    5,
    "trace lookup by month, pre-aggregated hallucination counts",
    (
        TRACE_LOOKUP,
        TRACE_LOOKUP_MV,
        # Re-run safe: duplicate lookup rows only repeat a trace's time bounds.
        TRACE_LOOKUP_BACKFILL,
        *DROP_TRACE_INDEX,
        HALLUCINATION_STATS,
        # Backfill before the view exists, so scores inserted meanwhile are not counted
        # twice (a score landing in between is missed: `rebuild-stats` repairs that).
        HALLUCINATION_STATS_BACKFILL,
        HALLUCINATION_STATS_MV,
    ),
)

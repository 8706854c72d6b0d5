"""Migration 4: scores, the audit ledger, hourly generation statistics."""

from __future__ import annotations

from typing import Final

from tracerail import semconv as sc
from tracerail.collector.store.ddl import (
    CREATED_AT,
    PROJECT,
    TRACE_ID_INDEX,
    Column,
    MaterializedView,
    Statement,
    Table,
    by_project,
    dedup_settings,
    low,
    strings,
    zstd,
)
from tracerail.collector.store.migrations.migration import Migration

# The span dimensions rates group by, copied from the scored span or grouped in the aggregates.
_SPAN_DIMENSIONS: Final = low("service_name", "provider", "model", "prompt_template")

SCORES: Final = Table(
    name="scores",
    columns=(
        PROJECT,
        *strings("score_id"),
        *zstd("trace_id", "span_id"),
        *low("name"),
        Column("value", "Float64"),
        *low("data_type"),
        *zstd("label"),
        *zstd("comment", level=3),
        *low("source"),
        # The scored span's dimensions, copied in so rates group without joining spans.
        Column("span_hour", "DateTime('UTC')"),
        *low("observation_kind"),
        *_SPAN_DIMENSIONS,
        CREATED_AT,
    ),
    partition_by="toYYYYMM(span_hour)",
    order_by="(project, name, span_hour, span_id, source)",
    indexes=(TRACE_ID_INDEX,),
    # Written with each ingest batch's dedup token (collector/ingest.py): replays add nothing.
    settings=dedup_settings(),
)

# One row per ledger entry: only hashes and identifiers, never prompt or answer text.
# A batch's rows live on the shard of its header (both are sharded by project).
LEDGER_ROWS: Final = by_project(
    "ledger_rows",
    (
        *strings("batch_id"),
        Column("row_index", "UInt32"),
        *low("kind"),
        *zstd("trace_id", "span_id"),
        *zstd("payload", level=3),
        *zstd("row_hash"),
    ),
    "batch_id",
    "row_index",
    indexes=(TRACE_ID_INDEX,),
    settings=dedup_settings(),
)

# One row per ingest batch: the Merkle root of its rows and the hash chaining it to the last.
LEDGER_BATCHES: Final = by_project(
    "ledger_batches",
    (
        Column("seq", "UInt64"),
        *strings("batch_id"),
        Column("created_at", "DateTime64(9, 'UTC')"),
        Column("row_count", "UInt32"),
        *zstd("merkle_root", "prev_hash", "chain_hash"),
    ),
    "seq",
)

# The grouping columns of the hourly generation aggregates (generation and hallucination stats).
HOURLY_GENERATION_DIMENSIONS: Final = (
    PROJECT,
    Column("hour", "DateTime('UTC')"),
    *_SPAN_DIMENSIONS,
)


def hourly_aggregate(
    name: str,
    columns: tuple[Column, ...],
    *,
    engine: str,
    engine_args: str = "",
    sort: tuple[str, ...] = (),
) -> Table:
    """Per-hour figures of generations: :data:`HOURLY_GENERATION_DIMENSIONS`, then ``columns``.

    Sorted by project, hour, model and the other dimensions (then ``sort``), partitioned by
    month, sharded by project and model. Written with the ingest batch's dedup token or by a
    view on such a table, so the dedup window makes a replay count nothing twice.
    """
    return Table(
        name=name,
        columns=(*HOURLY_GENERATION_DIMENSIONS, *columns),
        engine=engine,
        engine_args=engine_args,
        partition_by="toYYYYMM(hour)",
        order_by="(project, hour, model, provider, service_name, prompt_template"
        + "".join(f", {column}" for column in sort)
        + ")",
        shard_key="cityHash64(project, model)",
        settings=dedup_settings(),
    )


def _sums(type_: str, *names: str) -> tuple[Column, ...]:
    return tuple(Column(name, f"SimpleAggregateFunction(sum, {type_})") for name in names)


# Per hour and model: calls, latency, tokens, cost of generation spans (the model scorecard).
GENERATION_STATS: Final = hourly_aggregate(
    "generation_stats",
    (
        *_sums("UInt64", "calls"),
        *_sums("Float64", "latency_ms_sum"),
        Column("latency_ms_q", "AggregateFunction(quantilesTDigest(0.5, 0.95), Float64)"),
        *_sums("UInt64", "input_tokens", "output_tokens"),
        *_sums("Float64", "cost_usd"),
    ),
    engine="AggregatingMergeTree",
)

_GENERATION_STATS_SELECT: Final = (
    "SELECT project, toStartOfHour(timestamp) AS hour, service_name, provider, "
    "if(response_model != '', response_model, request_model) AS model, "
    f"attributes['{sc.TRACERAIL_PROMPT_TEMPLATE_ID}'] AS prompt_template, "
    "toUInt64(count()) AS calls, sum(duration_ns / 1e6) AS latency_ms_sum, "
    "quantilesTDigestState(0.5, 0.95)(duration_ns / 1e6) AS latency_ms_q, "
    "sum(toUInt64(input_tokens)) AS input_tokens, sum(toUInt64(output_tokens)) AS output_tokens, "
    "sum(ifNull(cost_usd, 0)) AS cost_usd "
    "FROM {db}.spans "
    f"WHERE observation_kind = '{sc.KIND_GENERATION}' "
    "GROUP BY project, hour, service_name, provider, model, prompt_template"
)

GENERATION_STATS_MV: Final = MaterializedView(
    name="generation_stats_mv",
    source="spans",
    target="generation_stats",
    select=_GENERATION_STATS_SELECT,
)

# Fill generation_stats from spans stored before migration 4, once (only while it is empty).
GENERATION_STATS_BACKFILL: Final = Statement(
    sql=(
        "INSERT INTO {db}.generation_stats "
        + _GENERATION_STATS_SELECT.replace(
            "WHERE observation_kind",
            "WHERE (SELECT count() FROM {db}.generation_stats) = 0 AND observation_kind",
        )
    ),
    table="generation_stats",
    data=True,
)

MIGRATION: Final = Migration(
    4,
    "scores, audit ledger, generation statistics",
    (
        SCORES,
        LEDGER_ROWS,
        LEDGER_BATCHES,
        GENERATION_STATS,
        GENERATION_STATS_MV,
        GENERATION_STATS_BACKFILL,
    ),
)

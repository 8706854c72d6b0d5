"""The SQL shared by the hallucination counts, their writer and the rate queries.

``hallucination_stats`` (created by migration 5,
:mod:`~tracerail.collector.store.migrations.m005_trace_lookup_hallucination_stats`) counts
hallucination scores per hour, span dimensions, source and value bucket. The expressions here
decide which score counts (the latest per source; under ``any`` the preferred source) and which
bucket a value falls in; the view, the backfill, the writer
(:mod:`~tracerail.collector.store.hallucination_stats`) and the metric queries all use them, so
they agree.
"""

from __future__ import annotations

from typing import Final

from tracerail import semconv as sc

__all__ = [
    "HALLUCINATION_STATS_SELECT",
    "LATEST_COLUMNS",
    "LATEST_SQL",
    "SOURCE_PRIORITY",
    "SOURCE_PRIORITY_SQL",
    "bucket_sql",
]

# Which of a span's scores counts under "any" (highest first), and which one is its latest.
SOURCE_PRIORITY: Final[dict[str, int]] = {"human": 3, "judge": 2, "auto": 1}
SOURCE_PRIORITY_SQL: Final = (
    "multiIf("
    + ", ".join(f"source = '{s}', {p}" for s, p in SOURCE_PRIORITY.items() if p > 1)
    + ", 1)"
)
LATEST_COLUMNS: Final = "created_at, score_id"
LATEST_SQL: Final = f"({LATEST_COLUMNS})"


def bucket_sql(value: str) -> str:
    """SQL for the bucket of Float64 ``value``; equal to ``hallucination_stats.bucket``.

    ``bucket`` is the largest k in 0..100 with k/100 <= value, so "value >= k/100" is exactly
    "bucket >= k".
    """
    k = f"floor({value} * 100)"
    return (
        f"toUInt8(multiIf(({k} + 1) / 100 <= {value}, {k} + 1, {k} / 100 > {value}, {k} - 1, {k}))"
    )


# Every span's current contribution, computed from ``scores`` (the rebuild and the backfill).
HALLUCINATION_STATS_SELECT: Final = (
    "SELECT project, hour, service_name, provider, model, prompt_template, "
    f"pair.1 AS source, {bucket_sql('pair.2')} AS bucket, "
    "toInt64(count()) AS evaluated FROM ("
    "  SELECT project, span_id, any(span_hour) AS hour, any(service_name) AS service_name, "
    "  any(provider) AS provider, any(model) AS model, any(prompt_template) AS prompt_template, "
    "  arrayFilter(p -> p.2 >= 0, ["
    + ", ".join(
        f"('{source}', if(countIf(source = '{source}') > 0, "
        f"argMaxIf(value, {LATEST_SQL}, source = '{source}'), -1.0))"
        for source in sc.SCORE_SOURCES
    )
    + f", ('any', argMax(value, ({SOURCE_PRIORITY_SQL}, {LATEST_COLUMNS})))]) AS pairs "
    f"  FROM {{db}}.scores WHERE name = '{sc.SCORE_HALLUCINATION}' GROUP BY project, span_id"
    ") ARRAY JOIN pairs AS pair "
    "GROUP BY project, hour, service_name, provider, model, prompt_template, source, bucket"
)

"""Review queue reads: generations counted per stratum, the seeded sample, review labels.

The sample is a deterministic function of the seed and the stored data, so nothing is stored
for it: within each stratum (model x period) generations are ranked by
``cityHash64(seed, trace_id, span_id)`` and the first ``n`` of the stratum are taken. The same
seed and data give the same items; generations added later take random places in the ranking,
so a grown stratum keeps most of its earlier items. A generation is labelled when it has a
``human`` ``hallucination`` or ``hallucination_review`` score.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Final

from tracerail import semconv
from tracerail.collector.review import REVIEW_SCORES, Stratum, review_label
from tracerail.collector.scores import SpanInfo
from tracerail.collector.store.clickhouse import ClickHouseStore
from tracerail.collector.store.scores import SPAN_INFO_COLUMNS, span_info

# Strata boundaries in UTC (weeks start on Monday); ``all`` is one period.
PERIOD_SQL: Final = {
    "day": "toStartOfDay(timestamp, 'UTC')",
    "week": "toDateTime(toMonday(timestamp, 'UTC'), 'UTC')",
    "month": "toDateTime(toStartOfMonth(timestamp, 'UTC'), 'UTC')",
    "all": "toDateTime(0, 'UTC')",
}
_MODEL_SQL: Final = "if(response_model != '', response_model, request_model)"
_ISO: Final = "formatDateTime(period, '%Y-%m-%dT%H:%i:%SZ', 'UTC')"
# Where retrieval spans that fed a generation may start relative to the sample window.
_RETRIEVAL_SLACK: Final = timedelta(hours=1)


@dataclass(frozen=True, slots=True)
class Population:
    """The generations a sample is drawn from: a project's window, strata and filters."""

    project: str
    start: datetime
    end: datetime
    period: str = "week"  # day, week, month or all
    population: str = "sources"  # sources, scored or all
    model: str | None = None

    def params(self, **extra: Any) -> dict[str, Any]:
        return {
            "project": self.project,
            "lo": self.start,
            "hi": self.end,
            "model": self.model or "",
            "generation": semconv.KIND_GENERATION,
            "hallucination": semconv.SCORE_HALLUCINATION,
            "source_count": semconv.TRACERAIL_PROVENANCE_SOURCE_COUNT,
            "review_names": list(REVIEW_SCORES),
            **extra,
        }


def _filter_sql(store: ClickHouseStore, population: str) -> str:
    if population == "sources":
        return " AND toUInt32OrZero(attributes[{source_count:String}]) > 0"
    if population == "scored":
        return (
            f" AND span_id IN (SELECT span_id FROM {store.table('scores')} "
            "WHERE project = {project:String} AND name = {hallucination:String} "
            "AND source != 'human' AND span_hour >= toStartOfHour({lo:DateTime('UTC')}) "
            "AND span_hour < {hi:DateTime('UTC')})"
        )
    return ""


def _generations(store: ClickHouseStore, where: Population) -> str:
    """One row per stored generation of the window (a span stored twice counts once)."""
    return (
        "SELECT trace_id, span_id, "
        f"any({_MODEL_SQL}) AS model, any({PERIOD_SQL[where.period]}) AS period, "
        "min(timestamp) AS start "
        f"FROM {store.table('spans')} "
        "WHERE project = {project:String} AND observation_kind = {generation:String} "
        "AND timestamp >= {lo:DateTime('UTC')} AND timestamp < {hi:DateTime('UTC')}"
        + (f" AND {_MODEL_SQL} = {{model:String}}" if where.model is not None else "")
        + _filter_sql(store, where.population)
        + " GROUP BY trace_id, span_id"
    )


def _sampled(store: ClickHouseStore, where: Population) -> str:
    """The sampled generations: the first ``sample_size`` of each stratum in seeded hash order
    (``{sizes}`` by ``{keys}``, a stratum's key being ``model \\x1f period_start``)."""
    period_start = "''" if where.period == "all" else _ISO
    return (
        "SELECT trace_id, span_id, model, period_start, start, rank FROM ("
        f"  SELECT trace_id, span_id, model, {period_start} AS period_start, "
        "  formatDateTime(start, '%Y-%m-%dT%H:%i:%SZ', 'UTC') AS start, "
        "  row_number() OVER (PARTITION BY model, period "
        "    ORDER BY cityHash64({seed:UInt64}, trace_id, span_id), trace_id, span_id) AS rank "
        f"  FROM ({_generations(store, where)})"
        ") WHERE rank <= {sizes:Array(UInt32)}[indexOf({keys:Array(String)}, "
        "concat(model, '\x1f', period_start))]"
    )


def _design(strata: Sequence[Stratum], seed: int) -> dict[str, Any]:
    return {
        "seed": seed,
        "keys": [f"{s.model}\x1f{s.period_start}" for s in strata],
        "sizes": [s.sample_size for s in strata],
    }


def count_strata(store: ClickHouseStore, where: Population) -> list[tuple[str, str, int]]:
    """``(model, period_start, generations)`` per stratum."""
    rows = store.query(
        f"SELECT model, {_ISO} AS period_start, count() AS n FROM ({_generations(store, where)}) "
        "GROUP BY model, period ORDER BY model, period",
        where.params(),
    )
    return [
        (str(r["model"]), "" if where.period == "all" else str(r["period_start"]), int(r["n"]))
        for r in rows
    ]


def sample(
    store: ClickHouseStore,
    where: Population,
    strata: Sequence[Stratum],
    *,
    seed: int,
    offset: int = 0,
    limit: int = 100,
) -> list[dict[str, Any]]:
    """A page of the sample (``limit`` items from ``offset``) by model, period and rank: the
    first ``sample_size`` generations of each stratum in ``cityHash64(seed, trace_id,
    span_id)`` order. Rows: trace_id, span_id, model, period_start, start (ISO 8601), rank."""
    return store.query(
        f"SELECT * FROM ({_sampled(store, where)}) "
        "ORDER BY model, period_start, rank LIMIT {limit:UInt32} OFFSET {offset:UInt32}",
        where.params(**_design(strata, seed), limit=limit, offset=offset),
    )


def labelled_per_stratum(
    store: ClickHouseStore, where: Population, strata: Sequence[Stratum], *, seed: int
) -> dict[tuple[str, str], int]:
    """How many sampled generations of each stratum have a human review label."""
    rows = store.query(
        f"SELECT model, period_start, count() AS n FROM ({_sampled(store, where)}) "
        f"WHERE span_id IN (SELECT span_id FROM {store.table('scores')} "
        "WHERE project = {project:String} AND name IN {review_names:Array(String)} "
        "AND source = 'human' AND span_hour >= toStartOfHour({lo:DateTime('UTC')}) "
        "AND span_hour < {hi:DateTime('UTC')}) "
        "GROUP BY model, period_start",
        where.params(**_design(strata, seed)),
    )
    return {(str(r["model"]), str(r["period_start"])): int(r["n"]) for r in rows}


def contents(
    store: ClickHouseStore,
    project: str,
    items: Sequence[tuple[str, str]],
    start: datetime,
    end: datetime,
) -> dict[tuple[str, str], dict[str, str]]:
    """Stored input, output and provenance record of these ``(trace_id, span_id)``."""
    if not items:
        return {}
    rows = store.query(
        "SELECT trace_id, span_id, any(input) AS input, any(output) AS output, "
        "any(attributes[{record_key:String}]) AS record "
        f"FROM {store.table('spans')} WHERE project = {{project:String}} "
        "AND timestamp >= {lo:DateTime('UTC')} AND timestamp < {hi:DateTime('UTC')} "
        "AND trace_id IN {trace_ids:Array(String)} AND span_id IN {span_ids:Array(String)} "
        "GROUP BY trace_id, span_id",
        {
            "project": project,
            "lo": start,
            "hi": end,
            "record_key": semconv.TRACERAIL_PROVENANCE_RECORD,
            "trace_ids": sorted({t for t, _ in items}),
            "span_ids": sorted({s for _, s in items}),
        },
    )
    return {
        (r["trace_id"], r["span_id"]): {
            "input": r["input"],
            "output": r["output"],
            "record": r["record"],
        }
        for r in rows
    }


def retrieved(
    store: ClickHouseStore, project: str, trace_ids: Sequence[str], start: datetime, end: datetime
) -> dict[str, list[str]]:
    """The stored outputs of retrieval spans in these traces (oldest first), by trace."""
    if not trace_ids:
        return {}
    rows = store.query(
        f"SELECT trace_id, output FROM {store.table('spans')} "
        "WHERE project = {project:String} AND observation_kind = {retrieval:String} "
        "AND timestamp >= {lo:DateTime('UTC')} AND timestamp < {hi:DateTime('UTC')} "
        "AND trace_id IN {ids:Array(String)} AND output != '' "
        "ORDER BY trace_id, timestamp, span_id LIMIT 1 BY trace_id, span_id",
        {
            "project": project,
            "retrieval": semconv.KIND_RETRIEVAL,
            "lo": start - _RETRIEVAL_SLACK,
            "hi": end + _RETRIEVAL_SLACK,
            "ids": sorted(set(trace_ids)),
        },
    )
    out: dict[str, list[str]] = {}
    for row in rows:
        out.setdefault(row["trace_id"], []).append(row["output"])
    return out


def review_labels(
    store: ClickHouseStore, project: str, span_ids: Sequence[str]
) -> dict[str, dict[str, Any]]:
    """The latest human review label of each span (label, reviewer, note, time) and the number
    of review labels it has."""
    if not span_ids:
        return {}
    rows = store.query(
        "SELECT span_id, count() AS labels, "
        "argMax(tuple(name, value, label, reviewer, comment, "
        "formatDateTime(created_at, '%Y-%m-%dT%H:%i:%SZ', 'UTC')), (created_at, score_id)) "
        "AS latest "
        f"FROM {store.table('scores')} WHERE project = {{project:String}} "
        "AND name IN {names:Array(String)} AND source = 'human' "
        "AND span_id IN {ids:Array(String)} GROUP BY span_id",
        {"project": project, "names": list(REVIEW_SCORES), "ids": sorted(set(span_ids))},
    )
    out = {}
    for row in rows:
        name, value, label, reviewer, note, time = row["latest"]
        out[row["span_id"]] = {
            "label": review_label(name, float(value), label),
            "reviewer": reviewer,
            "note": note,
            "time": time,
            "labels": int(row["labels"]),
        }
    return out


def find_spans(
    store: ClickHouseStore, project: str, pairs: Sequence[tuple[str, str]]
) -> dict[tuple[str, str], SpanInfo]:
    """The stored spans among ``(trace_id, span_id)`` pairs, with their dimensions: what
    :func:`~tracerail.collector.store.scores.find_span` gives for one span, in two queries for
    a whole batch (their traces' time bounds from ``trace_lookup``, then the spans)."""
    if not pairs:
        return {}
    trace_ids = sorted({t for t, _ in pairs})
    bounds = store.query(
        "SELECT toUnixTimestamp64Nano(min(start)) AS lo, toUnixTimestamp64Nano(max(end)) AS hi, "
        f"count() AS n FROM {store.table('trace_lookup')} "
        "WHERE project = {project:String} AND trace_id IN {ids:Array(String)}",
        {"project": project, "ids": trace_ids},
    )
    if not bounds or not bounds[0]["n"]:
        return {}
    rows = store.query(
        f"SELECT trace_id, span_id, {SPAN_INFO_COLUMNS} FROM {store.table('spans')} "
        "WHERE project = {project:String} "
        "AND timestamp >= fromUnixTimestamp64Nano({lo:Int64}, 'UTC') "
        "AND timestamp <= fromUnixTimestamp64Nano({hi:Int64}, 'UTC') "
        "AND trace_id IN {ids:Array(String)} AND span_id IN {span_ids:Array(String)} "
        "LIMIT 1 BY trace_id, span_id",
        {
            "project": project,
            "lo": bounds[0]["lo"],
            "hi": bounds[0]["hi"],
            "ids": trace_ids,
            "span_ids": sorted({s for _, s in pairs}),
            "template_key": semconv.TRACERAIL_PROMPT_TEMPLATE_ID,
        },
    )
    wanted = set(pairs)
    return {
        (r["trace_id"], r["span_id"]): span_info(r)
        for r in rows
        if (r["trace_id"], r["span_id"]) in wanted
    }

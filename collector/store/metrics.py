"""Hallucination rate and the model scorecard over a time window.

Generation counts, latency, tokens and cost come from ``generation_stats`` (hourly, filled by
a materialized view on spans); hallucination counts from ``hallucination_stats`` (kept in
step with ``scores`` by store/hallucination_stats.py), or for thresholds off the 0.01 grid
from ``scores`` directly (latest score per span and source; the "any source" figure takes
human over judge over auto). Windows are whole UTC
hours: ``from`` is rounded down, ``to`` up. Generations without a hallucination score are
counted as ``unscored``, never as passes.

Every figure takes an :class:`~.filters.OverviewFilter` (with the window and threshold, a
:class:`MetricsQuery`). Service and model narrow the hourly tables; a user or session (columns
only spans have) switches generation figures to the spans table (:mod:`.generations`) and
hallucination counts to the exact path over ``scores``, restricted to the spans of that user or
session.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Final

from tracerail import semconv
from tracerail.collector.rates import (
    EvaluatorCounts,
    evaluator_figures,
    rank_evaluators,
    wilson_interval,
)
from tracerail.collector.store.clickhouse import ClickHouseStore
from tracerail.collector.store.filters import NO_FILTER, OverviewFilter, and_all
from tracerail.collector.store.generations import GenerationSource, generation_source
from tracerail.collector.store.hallucination_sql import (
    LATEST_COLUMNS,
    LATEST_SQL,
    SOURCE_PRIORITY_SQL,
)
from tracerail.collector.store.hallucination_stats import grid_threshold
from tracerail.collector.store.validation import evaluator_counts

# group_by → its column in scores (GenerationSource.group gives the generation table's).
# Fixed identifiers only.
GROUPS: Final[dict[str, str]] = {
    "model": "model",
    "provider": "provider",
    "service": "service_name",
    "prompt_template": "prompt_template",
    "day": "toString(toDate(span_hour))",
    "hour": "toString(span_hour)",
}


@dataclass(frozen=True, slots=True)
class Window:
    """Whole hours ``[start, end)``."""

    start: datetime
    end: datetime

    @classmethod
    def around(cls, start: datetime, end: datetime) -> Window:
        floor = start.replace(minute=0, second=0, microsecond=0)
        ceil = end.replace(minute=0, second=0, microsecond=0)
        if ceil < end:
            ceil += timedelta(hours=1)
        return cls(floor, ceil)

    def params(self, project: str, filters: OverviewFilter = NO_FILTER) -> dict[str, Any]:
        """``project``, ``lo``, ``hi`` and the filter's values."""
        return {"project": project, "lo": self.start, "hi": self.end, **filters.params()}


@dataclass(frozen=True, slots=True)
class MetricsQuery:
    """What a dashboard or report figure is computed over: the window, the hallucination
    threshold (a score at or above it counts as hallucinated) and the overview filter."""

    window: Window
    threshold: float = 0.5
    filters: OverviewFilter = NO_FILTER

    def params(self, project: str) -> dict[str, Any]:
        """:meth:`Window.params` with this query's filter."""
        return self.window.params(project, self.filters)


_IN_WINDOW = (
    "project = {{project:String}} "
    "AND {col} >= {{lo:DateTime('UTC')}} AND {col} < {{hi:DateTime('UTC')}}"
)


def _rate(evaluated: int, hallucinated: int) -> dict[str, Any]:
    interval = wilson_interval(hallucinated, evaluated)
    return {
        "evaluated": evaluated,
        "hallucinated": hallucinated,
        "rate": hallucinated / evaluated if evaluated else None,
        "ci95": list(interval) if interval else None,
    }


def _exact_score_counts(
    store: ClickHouseStore,
    window: Window,
    project: str,
    group_col: str,
    threshold: float,
    filters: OverviewFilter,
) -> list[dict[str, Any]]:
    """Per group and source (and ``any``): spans scored and spans scored as hallucinated.

    Straight from ``scores``: one pass groups them by span (latest value per source, and
    the preferred source's value); the outer query counts per group.
    """
    where = (
        _IN_WINDOW.format(col="span_hour")
        + " AND name = {name:String}"
        + and_all(filters.scores_conditions(store.table("spans")))
    )
    per_source = []
    counts = []
    for source in semconv.SCORE_SOURCES:
        per_source.append(
            f"countIf(source = '{source}') > 0 AS has_{source}, "
            f"argMaxIf(value, {LATEST_SQL}, source = '{source}') AS v_{source}"
        )
        counts.append(
            f"countIf(has_{source}) AS {source}_n, "
            f"countIf(has_{source} AND v_{source} >= {{threshold:Float64}}) AS {source}_h"
        )
    rows = store.query(
        f"SELECT grp, count() AS any_n, countIf(v_any >= {{threshold:Float64}}) AS any_h, "
        f"{', '.join(counts)} FROM ("
        f"  SELECT span_id, any({group_col}) AS grp, {', '.join(per_source)}, "
        f"  argMax(value, ({SOURCE_PRIORITY_SQL}, {LATEST_COLUMNS})) AS v_any "
        f"  FROM {store.table('scores')} WHERE {where} GROUP BY span_id"
        ") GROUP BY grp",
        {
            **window.params(project, filters),
            "name": semconv.SCORE_HALLUCINATION,
            "threshold": threshold,
        },
    )
    out = []
    for row in rows:
        for source in ("any", *semconv.SCORE_SOURCES):
            if row[f"{source}_n"]:
                out.append(
                    {
                        "grp": row["grp"],
                        "source": source,
                        "evaluated": row[f"{source}_n"],
                        "hallucinated": row[f"{source}_h"],
                    }
                )
    return out


def _stats_score_counts(
    store: ClickHouseStore,
    window: Window,
    project: str,
    group_col: str,
    k: int,
    filters: OverviewFilter,
) -> list[dict[str, Any]]:
    """The same counts from ``hallucination_stats`` for a threshold of ``k / 100``
    (service and model filters only: the table has no user or session)."""
    rows = store.query(
        f"SELECT {group_col} AS grp, source, sum(evaluated) AS n, "
        "sumIf(evaluated, bucket >= {k:UInt8}) AS hallucinated "
        f"FROM {store.table('hallucination_stats')} WHERE {_IN_WINDOW.format(col='hour')}"
        f"{and_all(filters.aggregate_conditions())} GROUP BY grp, source HAVING n > 0",
        {**window.params(project, filters), "k": k},
    )
    return [{**row, "evaluated": row.pop("n")} for row in rows]


GROUP_SEPARATOR: Final = " | "


def group_columns(
    group_by: Sequence[str], source: GenerationSource | None = None
) -> tuple[str, str]:
    """SQL expressions of the group key over the generation table (``source``, default the
    hourly aggregate; it also reads ``hallucination_stats``) and over scores."""
    if not group_by or any(g not in GROUPS for g in group_by):
        raise ValueError(f"group_by: expected some of {', '.join(GROUPS)}")
    table = source or generation_source(NO_FILTER)
    if len(group_by) == 1:
        return table.group(group_by[0]), GROUPS[group_by[0]]
    stats = ", ".join(table.group(g) for g in group_by)
    scores = ", ".join(GROUPS[g] for g in group_by)
    sep = f"'{GROUP_SEPARATOR}'"
    return f"concatWithSeparator({sep}, {stats})", f"concatWithSeparator({sep}, {scores})"


def hallucination_rate(
    store: ClickHouseStore,
    project: str,
    group_by: str | Sequence[str],
    window: Window,
    threshold: float = 0.5,
    *,
    exact: bool = False,
    validation: bool = False,
    filters: OverviewFilter = NO_FILTER,
) -> list[dict[str, Any]]:
    """Per group: generations, evaluated, unscored, hallucinated, rate, Wilson 95% interval.

    ``group_by`` is one key of :data:`GROUPS` or several (e.g. model and day). Counts come
    from ``hallucination_stats`` when ``threshold`` is a multiple of 0.01; otherwise (or with
    ``exact``) from the scores themselves. Both give the same numbers.

    With ``validation``, each group also has ``evaluators`` (every evaluator that scored it,
    with its raw rate, sensitivity and specificity against human labels and its corrected
    rate: collector/rates.py), ``corrected`` (the first of them, or None) and ``validated``.
    ``filters`` narrows every count (a user or session: from spans and the exact path).
    """
    keys = [group_by] if isinstance(group_by, str) else list(group_by)
    source = generation_source(filters)
    stats_col, scores_col = group_columns(keys, source)
    params = window.params(project, filters)
    calls = store.query(
        f"SELECT {stats_col} AS grp, {source.figures} {source.where(store, filters)} GROUP BY grp",
        params,
    )

    def entry_for(name: str, generations: int = 0) -> dict[str, Any]:
        values = name.split(GROUP_SEPARATOR) if len(keys) > 1 else [name]
        return {
            "group": name,
            "keys": dict(zip(keys, values, strict=False)),
            "generations": generations,
            "by_source": {},
        }

    groups = {str(row["grp"]): entry_for(str(row["grp"]), int(row["calls"])) for row in calls}
    k = None if exact or filters.by_span else grid_threshold(threshold)
    score_counts = (
        _exact_score_counts(store, window, project, scores_col, threshold, filters)
        if k is None
        else _stats_score_counts(store, window, project, stats_col, k, filters)
    )
    for row in score_counts:
        name = str(row["grp"])
        entry = groups.setdefault(name, entry_for(name))
        counts = _rate(int(row["evaluated"]), int(row["hallucinated"]))
        if row["source"] == "any":
            entry.update(counts)
        else:
            entry["by_source"][row["source"]] = counts
    if validation:
        _attach_validation(
            groups,
            evaluator_counts(
                store,
                params,
                scores_col,
                threshold,
                and_all(filters.scores_conditions(store.table("spans"))),
            ),
            entry_for,
        )
    result = []
    for entry in sorted(groups.values(), key=lambda e: e["group"]):
        if "evaluated" not in entry:
            entry.update(_rate(0, 0))
        entry["unscored"] = max(entry["generations"] - entry["evaluated"], 0)
        result.append(entry)
    return result


def _attach_validation(
    groups: dict[str, dict[str, Any]],
    counts: dict[str, list[EvaluatorCounts]],
    entry_for: Callable[[str], dict[str, Any]],
) -> None:
    """Add every evaluator's figures, the headline one and ``validated`` to each group."""
    for name in counts:
        groups.setdefault(name, entry_for(name))
    for name, entry in groups.items():
        figures = rank_evaluators([evaluator_figures(c) for c in counts.get(name, [])])
        entry["evaluators"] = figures
        entry["corrected"] = figures[0] if figures else None
        entry["validated"] = bool(figures) and bool(figures[0]["validated"])


def _scorecard_validation(
    corrected: dict[str, Any] | None, evaluators: list[dict[str, Any]]
) -> dict[str, Any]:
    """The scorecard's raw and corrected rate: those of the model's headline evaluator."""
    figures = corrected or {}
    return {
        "raw_hallucination_rate": figures.get("raw_rate"),
        "raw_hallucination_ci95": figures.get("raw_ci95"),
        "corrected_hallucination_rate": figures.get("corrected_rate"),
        "corrected_hallucination_ci95": figures.get("corrected_ci95"),
        "correction_method": figures.get("method"),
        "validated": bool(figures.get("validated")),
        "validation": corrected,
        "evaluators": evaluators,
    }


def model_scorecard(
    store: ClickHouseStore, project: str, query: MetricsQuery
) -> list[dict[str, Any]]:
    """model | calls | avg/p50/p95 latency ms | tokens | cost | hallucination rate, and the
    headline evaluator's raw and corrected rate with its validation (``hallucination_rate``
    with ``validation``), over ``query`` (its window, threshold and filter)."""
    filters = query.filters
    source = generation_source(filters)
    rows = store.query(
        f"SELECT {source.group('model')} AS model_name, {source.figures} "
        f"{source.where(store, filters)} GROUP BY model_name ORDER BY calls DESC, model_name",
        query.params(project),
    )
    by_model = hallucination_rate(
        store, project, "model", query.window, query.threshold, validation=True, filters=filters
    )
    rates = {r["group"]: r for r in by_model}
    card = []
    for row in rows:
        calls = int(row["calls"])
        rate = rates.get(row["model_name"], {})
        card.append(
            {
                "model": row["model_name"],
                "providers": sorted(p for p in row["providers"] if p),
                "calls": calls,
                "avg_latency_ms": row["latency_sum"] / calls if calls else None,
                "p50_latency_ms": float(row["latency_q"][0]),
                "p95_latency_ms": float(row["latency_q"][1]),
                "input_tokens": int(row["input_tokens"]),
                "output_tokens": int(row["output_tokens"]),
                "cost_usd": float(row["cost_usd"]),
                "evaluated": rate.get("evaluated", 0),
                "hallucination_rate": rate.get("rate"),
                "hallucination_ci95": rate.get("ci95"),
                **_scorecard_validation(rate.get("corrected"), rate.get("evaluators", [])),
            }
        )
    return card

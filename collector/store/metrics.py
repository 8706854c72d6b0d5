"""Hallucination rate and the model scorecard over a time window.

Generation counts, latency, tokens and cost come from ``generation_stats`` (hourly, filled by
a materialized view on spans); hallucination counts from ``scores`` (latest score per span and
source; the "any source" figure takes human over judge over auto). Windows are whole UTC
hours: ``from`` is rounded down, ``to`` up. Generations without a hallucination score are
counted as ``unscored``, never as passes.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Final

from tracerail import semconv
from tracerail.collector.store.clickhouse import ClickHouseStore

Z95: Final = 1.959963984540054

# group_by → (column in generation_stats, column in scores). Fixed identifiers only.
GROUPS: Final[dict[str, tuple[str, str]]] = {
    "model": ("model", "model"),
    "provider": ("provider", "provider"),
    "service": ("service_name", "service_name"),
    "prompt_template": ("prompt_template", "prompt_template"),
    "day": ("toString(toDate(hour))", "toString(toDate(span_hour))"),
}
# Precedence when one span has scores from several sources.
SOURCE_PRIORITY: Final = "multiIf(source = 'human', 3, source = 'judge', 2, 1)"


def wilson_interval(successes: int, trials: int, z: float = Z95) -> tuple[float, float] | None:
    """Wilson score interval for a binomial proportion; None when there are no trials."""
    if trials <= 0:
        return None
    p = successes / trials
    denominator = 1 + z * z / trials
    centre = (p + z * z / (2 * trials)) / denominator
    half = z * math.sqrt(p * (1 - p) / trials + z * z / (4 * trials * trials)) / denominator
    return max(0.0, centre - half), min(1.0, centre + half)


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

    def params(self, project: str) -> dict[str, Any]:
        return {"project": project, "lo": self.start, "hi": self.end}


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


def _score_counts(
    store: ClickHouseStore, window: Window, project: str, group_col: str, threshold: float
) -> list[dict[str, Any]]:
    """Per group and source (and ``any``): spans scored and spans scored as hallucinated."""
    where = _IN_WINDOW.format(col="span_hour") + " AND name = {name:String}"
    table = store.table("scores")
    return store.query(
        "SELECT grp, source, count() AS evaluated, "
        "countIf(v >= {threshold:Float64}) AS hallucinated "
        "FROM ("
        f"  SELECT span_id, source, any({group_col}) AS grp, argMax(value, created_at) AS v "
        f"  FROM {table} WHERE {where} GROUP BY span_id, source"
        "  UNION ALL"
        f"  SELECT span_id, 'any' AS source, any({group_col}) AS grp, "
        f"  argMax(value, ({SOURCE_PRIORITY}, created_at)) AS v "
        f"  FROM {table} WHERE {where} GROUP BY span_id"
        ") GROUP BY grp, source ORDER BY grp, source",
        {**window.params(project), "name": semconv.SCORE_HALLUCINATION, "threshold": threshold},
    )


def hallucination_rate(
    store: ClickHouseStore, project: str, group_by: str, window: Window, threshold: float = 0.5
) -> list[dict[str, Any]]:
    """Per group: generations, evaluated, unscored, hallucinated, rate, Wilson 95% interval."""
    stats_col, scores_col = GROUPS[group_by]
    calls = store.query(
        f"SELECT {stats_col} AS grp, sum(calls) AS calls FROM {store.table('generation_stats')} "
        f"WHERE {_IN_WINDOW.format(col='hour')} GROUP BY grp",
        window.params(project),
    )
    groups: dict[str, dict[str, Any]] = {
        str(row["grp"]): {
            "group": str(row["grp"]),
            "generations": int(row["calls"]),
            "by_source": {},
        }
        for row in calls
    }
    for row in _score_counts(store, window, project, scores_col, threshold):
        entry = groups.setdefault(
            str(row["grp"]), {"group": str(row["grp"]), "generations": 0, "by_source": {}}
        )
        counts = _rate(int(row["evaluated"]), int(row["hallucinated"]))
        if row["source"] == "any":
            entry.update(counts)
        else:
            entry["by_source"][row["source"]] = counts
    result = []
    for entry in sorted(groups.values(), key=lambda e: e["group"]):
        if "evaluated" not in entry:
            entry.update(_rate(0, 0))
        entry["unscored"] = max(entry["generations"] - entry["evaluated"], 0)
        result.append(entry)
    return result


def model_scorecard(
    store: ClickHouseStore, project: str, window: Window, threshold: float = 0.5
) -> list[dict[str, Any]]:
    """model | calls | avg/p50/p95 latency ms | tokens | cost | hallucination rate."""
    rows = store.query(
        "SELECT model, groupUniqArray(provider) AS providers, sum(calls) AS calls, "
        "sum(latency_ms_sum) AS latency_sum, "
        "quantilesTDigestMerge(0.5, 0.95)(latency_ms_q) AS latency_q, "
        "sum(input_tokens) AS input_tokens, sum(output_tokens) AS output_tokens, "
        f"sum(cost_usd) AS cost_usd FROM {store.table('generation_stats')} "
        f"WHERE {_IN_WINDOW.format(col='hour')} GROUP BY model ORDER BY calls DESC, model",
        window.params(project),
    )
    rates = {r["group"]: r for r in hallucination_rate(store, project, "model", window, threshold)}
    card = []
    for row in rows:
        calls = int(row["calls"])
        rate = rates.get(row["model"], {})
        card.append(
            {
                "model": row["model"],
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
            }
        )
    return card

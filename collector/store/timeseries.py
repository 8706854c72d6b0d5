"""Per hour or per day: calls, latency p50/p95, cost, blocked requests, guardrail actions and
the hallucination rate with its Wilson interval. Feeds the dashboard's charts and the report.

A *blocked request* is a generation span that ended in ``GuardrailBlocked`` or that has a
guardrail decision with action ``block`` (other instrumentations record the decision without
raising our exception); each span counts once, in the bucket of its first sign of blocking.

Calls, latency and cost come from ``generation_stats`` (hourly, so buckets are whole hours or
days); decisions from ``guardrail_events``; blocked requests from both (above); hallucination
counts from :func:`~.metrics.hallucination_rate`. Each figure is computed over a
:class:`~.metrics.MetricsQuery`, whose :class:`~.filters.OverviewFilter` narrows every figure:
with a user or session, calls, latency and cost are computed from the generation spans
(:mod:`.generations`); decisions match through the span they were made on.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any, Final

from tracerail import semconv
from tracerail.collector.rates import wilson_interval
from tracerail.collector.store.clickhouse import ClickHouseStore
from tracerail.collector.store.filters import and_all
from tracerail.collector.store.generations import BUCKET_SQL, generation_source
from tracerail.collector.store.metrics import MetricsQuery, Window, hallucination_rate
from tracerail.errors import GuardrailBlocked

BUCKETS: Final = ("hour", "day")
BLOCKED_ERROR: Final = GuardrailBlocked.__qualname__
_STEP: Final = {"hour": timedelta(hours=1), "day": timedelta(days=1)}


def _key(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _bucket_starts(window: Window, bucket: str) -> list[datetime]:
    step = _STEP[bucket]
    start = window.start
    if bucket == "day":
        start = start.replace(hour=0)
    out = []
    while start < window.end:
        out.append(start)
        start += step
    return out


def timeseries(
    store: ClickHouseStore, project: str, query: MetricsQuery, bucket: str
) -> list[dict[str, Any]]:
    """One entry per bucket in the query's window (empty buckets included, with zeros)."""
    if bucket not in BUCKETS:
        raise ValueError(f"bucket: expected one of {', '.join(BUCKETS)}")
    window, filters = query.window, query.filters
    params = query.params(project)
    source = generation_source(filters)
    spans_table = store.table("spans")
    on_decisions = and_all(filters.decision_conditions(spans_table))
    in_window = (
        "project = {{project:String}} "
        "AND {col} >= {{lo:DateTime('UTC')}} AND {col} < {{hi:DateTime('UTC')}}"
    )
    series: dict[str, dict[str, Any]] = {
        _key(start): {
            "time": _key(start),
            "calls": 0,
            "cost_usd": 0.0,
            "p50_latency_ms": None,
            "p95_latency_ms": None,
            "blocked": 0,
            "actions": dict.fromkeys(semconv.GUARDRAIL_ACTIONS, 0),
            "evaluated": 0,
            "hallucinated": 0,
            "hallucination_rate": None,
            "hallucination_ci95": None,
        }
        for start in _bucket_starts(window, bucket)
    }
    for row in store.query(
        f"SELECT {source.bucket(bucket)} AS b, {source.figures} {source.where(store, filters)} "
        "GROUP BY b",
        params,
    ):
        entry = series.get(_key(row["b"].replace(tzinfo=UTC)))
        if entry is not None:
            entry.update(
                calls=int(row["calls"]),
                cost_usd=float(row["cost_usd"]),
                p50_latency_ms=float(row["latency_q"][0]),
                p95_latency_ms=float(row["latency_q"][1]),
            )
    b_ts = BUCKET_SQL[bucket].format(col="timestamp")
    for row in store.query(
        f"SELECT {b_ts} AS b, action, count() AS n FROM {store.table('guardrail_events')} "
        f"WHERE {in_window.format(col='timestamp')}{on_decisions} GROUP BY b, action",
        params,
    ):
        entry = series.get(_key(row["b"].replace(tzinfo=UTC)))
        if entry is not None and row["action"] in entry["actions"]:
            entry["actions"][row["action"]] = int(row["n"])
    spans_in = events_in = in_window.format(col="timestamp")
    for row in store.query(
        f"SELECT {BUCKET_SQL[bucket].format(col='t')} AS b, count() AS n FROM ("
        "  SELECT span_id, min(t) AS t FROM ("
        f"    SELECT span_id, timestamp AS t FROM {spans_table} WHERE {spans_in} "
        f"    AND observation_kind = '{semconv.KIND_GENERATION}'"
        f"    {and_all(filters.span_conditions())} "
        "    AND error_type = {blocked:String}"
        "    UNION ALL"
        f"    SELECT span_id, timestamp AS t FROM {store.table('guardrail_events')} "
        f"    WHERE {events_in} AND action = 'block'{on_decisions}"
        "  ) GROUP BY span_id"
        ") GROUP BY b",
        {**params, "blocked": BLOCKED_ERROR},
    ):
        entry = series.get(_key(row["b"].replace(tzinfo=UTC)))
        if entry is not None:
            entry["blocked"] = int(row["n"])
    for group in hallucination_rate(
        store, project, bucket, window, query.threshold, filters=filters
    ):
        start = datetime.fromisoformat(group["group"]).replace(tzinfo=UTC)
        entry = series.get(_key(start))
        if entry is not None:
            entry.update(
                evaluated=group["evaluated"],
                hallucinated=group["hallucinated"],
                hallucination_rate=group["rate"],
                hallucination_ci95=group["ci95"],
            )
    return list(series.values())


def overview(store: ClickHouseStore, project: str, query: MetricsQuery) -> dict[str, Any]:
    """The dashboard's cards over ``query``: calls, cost, blocked requests, hallucination rate
    (with CI)."""
    days = timeseries(store, project, query, "day")
    calls = sum(d["calls"] for d in days)
    evaluated = sum(d["evaluated"] for d in days)
    hallucinated = sum(d["hallucinated"] for d in days)
    interval = wilson_interval(hallucinated, evaluated)
    return {
        "calls": calls,
        "cost_usd": sum(d["cost_usd"] for d in days),
        "blocked": sum(d["blocked"] for d in days),
        "decisions": sum(sum(d["actions"].values()) for d in days),
        "evaluated": evaluated,
        "hallucinated": hallucinated,
        "hallucination_rate": hallucinated / evaluated if evaluated else None,
        "hallucination_ci95": list(interval) if interval else None,
    }

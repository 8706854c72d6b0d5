"""Pre-aggregated hallucination counts (``hallucination_stats``), kept in step with ``scores``.

The exact rate groups every hallucination score by span to find each span's latest value per
source — a pass over all scores in the window. Instead, every score write goes through
:func:`write_scores`, which reads the current latest scores of the spans being scored and
works out how each span's contribution changes (+1 for its new latest value per source and
under ``any``, -1 for the value it replaces). A view on ``scores`` already adds +1 per source
and +1 under ``any`` for every inserted row, so the writer inserts only the difference (none
for the usual first score of a new generation) before the scores, both with the caller's
dedup token. The rate query then sums pre-aggregated rows.
:func:`forget_spans` subtracts erased spans; :func:`rebuild` recomputes the table from
``scores``.

"Latest" is the greatest ``(created_at, score_id)``, in both paths; ``any`` prefers human over
judge over auto. Writes are serialized per store (``scores_lock``). Collectors writing scores
of the same span at the same moment against one server could interleave and miscount; run
``tracerail collector rebuild-stats`` after such an incident (docs/deploy.md).
"""

from __future__ import annotations

import math
import time
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final

from tracerail import semconv
from tracerail.collector.store.clickhouse import ClickHouseStore
from tracerail.collector.store.hallucination_sql import (
    HALLUCINATION_STATS_SELECT,
    LATEST_SQL,
    SOURCE_PRIORITY,
)

ANY: Final = "any"
STATS_COLUMNS: Final = (
    "project",
    "hour",
    "service_name",
    "provider",
    "model",
    "prompt_template",
    "source",
    "bucket",
    "evaluated",
)
_DIMENSIONS: Final = ("span_hour", "service_name", "provider", "model", "prompt_template")

# (project, hour as epoch seconds, service_name, provider, model, prompt_template)
Dims = tuple[str, int, str, str, str, str]
StatKey = tuple[str, int, str, str, str, str, str, int]


def bucket(value: float) -> int:
    """The largest k in 0..100 with ``k / 100 <= value`` (so ``value >= k/100`` ⇔ bucket ≥ k)."""
    k = math.floor(value * 100)
    if (k + 1) / 100 <= value:
        k += 1
    elif k / 100 > value:
        k -= 1
    return max(0, min(100, k))


def grid_threshold(threshold: float) -> int | None:
    """k when ``threshold`` is exactly k/100 for k in 0..100 (the stats can answer it)."""
    k = round(threshold * 100)
    return k if 0 <= k <= 100 and k / 100 == threshold else None


@dataclass(frozen=True, slots=True)
class Latest:
    """One span's latest score from one source."""

    order: tuple[int, str]  # (created_at in ms, score_id)
    value: float
    dims: Dims


SpanState = dict[str, Latest]  # source → latest


def contribution(state: SpanState) -> Counter[StatKey]:
    """The stats rows one span adds: its latest value per source, and under ``any``."""
    out: Counter[StatKey] = Counter()
    for source, latest in state.items():
        out[(*latest.dims, source, bucket(latest.value))] += 1
    if state:
        source, best = max(
            state.items(), key=lambda item: (SOURCE_PRIORITY[item[0]], item[1].order)
        )
        out[(*best.dims, ANY, bucket(best.value))] += 1
    return out


def _hour_seconds(value: Any) -> int:
    if isinstance(value, datetime):
        moment = value if value.tzinfo else value.replace(tzinfo=UTC)
        return int(moment.timestamp())
    return int(value)


def current_states(
    store: ClickHouseStore,
    project: str,
    span_ids: Sequence[str],
    hours: Iterable[int] = (),
    without: Sequence[str] = (),
) -> dict[str, SpanState]:
    """The latest hallucination score per source of each span, leaving out scores ``without``
    (the ids being written: a replayed batch must see the state from before its first try).
    Narrowed to ``hours`` when given."""
    if not span_ids:
        return {}
    hour_list = sorted(set(hours))
    narrow = " AND toUInt32(span_hour) IN {hours:Array(UInt32)}" if hour_list else ""
    narrow += " AND score_id NOT IN {without:Array(String)}" if without else ""
    rows = store.query(
        f"SELECT span_id, source, argMax(value, {LATEST_SQL}) AS value, "
        "max((toUnixTimestamp64Milli(created_at), score_id)) AS latest, "
        "argMax((toUInt32(span_hour), service_name, provider, model, prompt_template), "
        f"{LATEST_SQL}) AS dims "
        f"FROM {store.table('scores')} WHERE project = {{project:String}} "
        f"AND name = {{name:String}}{narrow} AND span_id IN {{ids:Array(String)}} "
        "GROUP BY span_id, source",
        {
            "project": project,
            "name": semconv.SCORE_HALLUCINATION,
            "hours": hour_list,
            "ids": list(span_ids),
            "without": list(without),
        },
    )
    states: dict[str, SpanState] = {}
    for row in rows:
        latest_ms, score_id = row["latest"]
        hour, service, provider, model, template = row["dims"]
        states.setdefault(row["span_id"], {})[row["source"]] = Latest(
            (int(latest_ms), str(score_id)),
            float(row["value"]),
            (project, int(hour), str(service), str(provider), str(model), str(template)),
        )
    return states


def _insert_stats(
    store: ClickHouseStore, delta: Mapping[StatKey, int], settings: Mapping[str, Any] | None
) -> None:
    rows = [(*key, count) for key, count in sorted(delta.items()) if count]
    if not rows:
        return
    columns: dict[str, list[Any]] = {name: [] for name in STATS_COLUMNS}
    for row in rows:
        for name, value in zip(STATS_COLUMNS, row, strict=True):
            columns[name].append(value)
    columns["hour"] = [datetime.fromtimestamp(s, UTC) for s in columns["hour"]]
    store.insert_columns("hallucination_stats", columns, settings=settings)


def _difference(states: Iterable[tuple[SpanState, SpanState]]) -> Counter[StatKey]:
    delta: Counter[StatKey] = Counter()
    for old, new in states:
        delta.update(contribution(new))
        delta.subtract(contribution(old))
    return delta


def write_scores(
    store: ClickHouseStore,
    columns: Mapping[str, Sequence[Any]],
    *,
    settings: Mapping[str, Any] | None = None,
) -> None:
    """Insert score rows (``collector.scores.SCORE_COLUMNS``) and correct the stats.

    Sets ``created_at`` on every row: now, or just after the newest existing score of the
    scored spans, so a new score is always the latest one. Corrections go first, then the
    scores, both with ``settings`` (the batch's dedup token). A retry of the same rows (same
    score ids) leaves them out of the current state, so it computes the same corrections,
    which the token turns into a no-op if they were written before.
    """
    count = len(columns["score_id"])
    if not count:
        return
    with store.scores_lock:
        wanted = [i for i in range(count) if columns["name"][i] == semconv.SCORE_HALLUCINATION]
        by_project: dict[str, list[int]] = {}
        for i in wanted:
            by_project.setdefault(columns["project"][i], []).append(i)
        old: dict[tuple[str, str], SpanState] = {}
        for project, rows in by_project.items():
            found = current_states(
                store,
                project,
                sorted({columns["span_id"][i] for i in rows}),
                {_hour_seconds(columns["span_hour"][i]) for i in rows},
                [columns["score_id"][i] for i in rows],
            )
            for span_id, state in found.items():
                old[(project, span_id)] = state
        newest = max((s.order[0] for state in old.values() for s in state.values()), default=0)
        created_ms = max(time.time_ns() // 1_000_000, newest + 1)
        new = {key: dict(state) for key, state in old.items()}
        from_view: Counter[StatKey] = Counter()
        for i in wanted:
            key = (columns["project"][i], columns["span_id"][i])
            state = new.setdefault(key, {})
            source = columns["source"][i]
            latest = Latest(
                (created_ms, columns["score_id"][i]),
                float(columns["value"][i]),
                (
                    key[0],
                    _hour_seconds(columns["span_hour"][i]),
                    *(str(columns[d][i]) for d in _DIMENSIONS[1:]),
                ),
            )
            if source not in state or latest.order > state[source].order:
                state[source] = latest
            for stat_source in (source, ANY):
                from_view[(*latest.dims, stat_source, bucket(latest.value))] += 1
        correction = _difference((old.get(key, {}), state) for key, state in new.items())
        correction.subtract(from_view)
        _insert_stats(store, correction, settings)
        stamped = dict(columns)
        stamped["created_at"] = [datetime.fromtimestamp(created_ms / 1000, UTC)] * count
        store.insert_columns("scores", stamped, settings=settings)


def forget_spans(store: ClickHouseStore, project: str, span_ids: Sequence[str]) -> None:
    """Subtract these spans' contributions (before their scores are deleted)."""
    with store.scores_lock:
        states = current_states(store, project, span_ids)
        _insert_stats(store, _difference((state, {}) for state in states.values()), None)


def rebuild(store: ClickHouseStore) -> int:
    """Recompute ``hallucination_stats`` from ``scores``; returns the rows written."""
    with store.scores_lock:
        if store.cluster:
            store.command(
                f"TRUNCATE TABLE {store.local_table('hallucination_stats')} "
                f"ON CLUSTER `{store.cluster}`"
            )
        else:
            store.command(f"TRUNCATE TABLE {store.table('hallucination_stats')}")
        select = HALLUCINATION_STATS_SELECT.format(db=f"`{store.database}`")
        store.command(f"INSERT INTO {store.table('hallucination_stats')} {select}")
        return int(store.scalar(f"SELECT count() FROM {store.table('hallucination_stats')}"))

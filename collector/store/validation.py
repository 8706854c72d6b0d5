"""Counts for validating evaluators against human labels (the statistics: collector/rates.py).

Per group and per evaluator — one (source, evaluator name, version, prompt hash) among the
non-``human`` hallucination scores — over the spans scored in the window:

- ``scored``: generations the evaluator scored (its latest score per span);
- ``flagged``: those whose latest score is at or above the threshold;
- the 2x2 agreement with the span's latest ``human`` hallucination score (hallucinated when
  at or above :data:`HUMAN_THRESHOLD`; review queue labels are 0 or 1), on the generations
  that have both.

One pass over ``scores`` without a join: latest value per span and producer, then per span the
human verdict beside every evaluator's value, then counts per group and evaluator.
"""

from __future__ import annotations

from typing import Any, Final

from tracerail import semconv
from tracerail.collector.rates import Agreement, EvaluatorCounts
from tracerail.collector.store.clickhouse import ClickHouseStore
from tracerail.collector.store.schema import LATEST_SQL

HUMAN: Final = "human"
HUMAN_THRESHOLD: Final = 0.5

_FLAGGED = "e.5 >= {threshold:Float64}"
_HUMAN_SAYS = "labelled AND human_value >= {human:Float64}"


def evaluator_counts(
    store: ClickHouseStore, params: dict[str, Any], group_col: str, threshold: float
) -> dict[str, list[EvaluatorCounts]]:
    """Group name → the counts of every evaluator that scored spans of that group.

    ``params`` binds ``project``, ``lo`` and ``hi`` (``Window.params``); ``group_col`` is the
    group's SQL over ``scores`` (a fixed expression from ``metrics.group_columns``).
    """
    rows = store.query(
        "SELECT grp, e.1 AS source, e.2 AS evaluator, e.3 AS evaluator_version, "
        "e.4 AS prompt_sha256, count() AS scored, "
        f"countIf({_FLAGGED}) AS flagged, "
        f"countIf({_HUMAN_SAYS} AND {_FLAGGED}) AS tp, "
        f"countIf({_HUMAN_SAYS} AND NOT ({_FLAGGED})) AS fn, "
        f"countIf(labelled AND NOT ({_HUMAN_SAYS}) AND {_FLAGGED}) AS fp, "
        f"countIf(labelled AND NOT ({_HUMAN_SAYS}) AND NOT ({_FLAGGED})) AS tn "
        "FROM ("
        "  SELECT trace_id, span_id, any(g) AS grp, "
        "  countIf(source = {human_source:String}) > 0 AS labelled, "
        "  argMaxIf(val, at, source = {human_source:String}) AS human_value, "
        "  groupArrayIf((source, evaluator, evaluator_version, prompt_sha256, val), "
        "  source != {human_source:String}) AS evaluations "
        "  FROM ("
        f"    SELECT trace_id, span_id, any({group_col}) AS g, source, evaluator, "
        f"    evaluator_version, prompt_sha256, argMax(value, {LATEST_SQL}) AS val, "
        f"    max({LATEST_SQL}) AS at FROM {store.table('scores')} "
        "    WHERE project = {project:String} AND name = {name:String} "
        "    AND span_hour >= {lo:DateTime('UTC')} AND span_hour < {hi:DateTime('UTC')} "
        "    GROUP BY trace_id, span_id, source, evaluator, evaluator_version, prompt_sha256"
        "  ) GROUP BY trace_id, span_id"
        ") ARRAY JOIN evaluations AS e "
        "GROUP BY grp, source, evaluator, evaluator_version, prompt_sha256 "
        "ORDER BY grp, source, evaluator, evaluator_version, prompt_sha256",
        {
            **params,
            "name": semconv.SCORE_HALLUCINATION,
            "threshold": threshold,
            "human": HUMAN_THRESHOLD,
            "human_source": HUMAN,
        },
    )
    out: dict[str, list[EvaluatorCounts]] = {}
    for row in rows:
        out.setdefault(str(row["grp"]), []).append(
            EvaluatorCounts(
                source=str(row["source"]),
                evaluator=str(row["evaluator"]),
                version=str(row["evaluator_version"]),
                prompt_sha256=str(row["prompt_sha256"]),
                scored=int(row["scored"]),
                flagged=int(row["flagged"]),
                agreement=Agreement(
                    tp=int(row["tp"]), fn=int(row["fn"]), fp=int(row["fp"]), tn=int(row["tn"])
                ),
            )
        )
    return out

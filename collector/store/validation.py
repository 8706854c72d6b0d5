"""Counts for validating evaluators against human labels (the statistics: collector/rates.py).

Per group and per evaluator — one (source, evaluator name, version, prompt hash) among the
non-``human`` hallucination scores — over the spans scored in the window:

- ``scored``: generations the evaluator scored (its latest score per span);
- ``flagged``: those whose latest score is at or above the threshold;
- the 2x2 agreement with the span's latest ``human`` hallucination score (hallucinated when
  at or above :data:`HUMAN_THRESHOLD`; review queue labels are 0 or 1), on the generations
  that have both.

The latest value per span and producer, joined on the span to the latest human label (the
small side: only labelled spans), then counted per group and evaluator. On 1M scores this
costs about what the exact rate does (``hallucination_rate(exact=True)``), not the
pre-aggregated one.
"""

from __future__ import annotations

from typing import Any, Final

from tracerail import semconv
from tracerail.collector.rates import Agreement, EvaluatorCounts
from tracerail.collector.store.clickhouse import ClickHouseStore
from tracerail.collector.store.hallucination_sql import LATEST_SQL

HUMAN: Final = "human"
HUMAN_THRESHOLD: Final = 0.5

_FLAGGED = "latest_value >= {threshold:Float64}"
_HUMAN_SAYS = "labelled = 1 AND human_value >= {human:Float64}"
_LABELLED = "labelled = 1"


def evaluator_counts(
    store: ClickHouseStore,
    params: dict[str, Any],
    group_col: str,
    threshold: float,
    narrow: str = "",
) -> dict[str, list[EvaluatorCounts]]:
    """Group name → the counts of every evaluator that scored spans of that group.

    ``params`` binds ``project``, ``lo`` and ``hi`` (``Window.params``); ``group_col`` is the
    group's SQL over ``scores`` (a fixed expression from ``metrics.group_columns``);
    ``narrow`` is `` AND …`` conditions over ``scores`` (the overview filter's, bound in
    ``params``).
    """
    in_window = (
        "project = {project:String} AND name = {name:String} "
        "AND span_hour >= {lo:DateTime('UTC')} AND span_hour < {hi:DateTime('UTC')}" + narrow
    )
    rows = store.query(
        "SELECT grp, source, evaluator, evaluator_version, prompt_sha256, count() AS scored, "
        f"countIf({_FLAGGED}) AS flagged, "
        f"countIf({_HUMAN_SAYS} AND {_FLAGGED}) AS tp, "
        f"countIf({_HUMAN_SAYS} AND NOT ({_FLAGGED})) AS fn, "
        f"countIf({_LABELLED} AND NOT ({_HUMAN_SAYS}) AND {_FLAGGED}) AS fp, "
        f"countIf({_LABELLED} AND NOT ({_HUMAN_SAYS}) AND NOT ({_FLAGGED})) AS tn "
        "FROM ("
        f"  SELECT span_id, any({group_col}) AS grp, source, evaluator, evaluator_version, "
        f"  prompt_sha256, argMax(value, {LATEST_SQL}) AS latest_value "
        f"  FROM {store.table('scores')} WHERE {in_window} AND source != {{human_source:String}} "
        "  GROUP BY span_id, source, evaluator, evaluator_version, prompt_sha256"
        ") AS scored LEFT JOIN ("
        f"  SELECT span_id, argMax(value, {LATEST_SQL}) AS human_value, toUInt8(1) AS labelled "
        f"  FROM {store.table('scores')} WHERE {in_window} AND source = {{human_source:String}} "
        "  GROUP BY span_id"
        ") AS human USING (span_id) "
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

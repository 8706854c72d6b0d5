"""Queries of the collector's online evaluator (``collector/online_eval.py``).

A generation is *pending* for an evaluator version when it is a generation span with an
answer (``output``), in a trace that has a retrieval span, within the lookback window, ingested
at least ``settle`` seconds ago, not a judge's own call, and without a ``hallucination`` score
from that evaluator name and version. "Already scored" is read from ``scores`` itself, so a
restarted worker (or a second one) never scores a generation twice, and a score the SDK sent
for the same evaluator version counts too.

Candidates come in ``(ingested_at, span_id)`` order after a cursor, so each pass reads only
what is new. Times are the server's (``now64()``): ``ingested_at`` is set by the server.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Final

from tracerail import semconv
from tracerail.collector.scores import SpanInfo
from tracerail.collector.store.clickhouse import ClickHouseStore
from tracerail.collector.store.scores import SPAN_INFO_COLUMNS, span_info

# A spans row's place in ingest order: (ingested_at in ms, span_id).
Cursor = tuple[int, str]
START: Final[Cursor] = (0, "")


@dataclass(frozen=True, slots=True)
class Candidate:
    """One generation waiting for the evaluator, with what the score row copies from it."""

    project: str
    trace_id: str
    span_id: str
    cursor: Cursor
    end_ns: int
    output: str
    input: str
    span: SpanInfo


@dataclass(frozen=True, slots=True)
class Retrieval:
    """One retrieval span of a trace: when it started, its output and retrieved documents."""

    start_ns: int
    output: str
    documents: tuple[str, ...]


def _pending_where(store: ClickHouseStore, *, with_retrieval: bool) -> str:
    """Conditions on small columns only (no output, input or attributes)."""
    since = "now64(9) - toIntervalHour({lookback_hours:UInt32})"
    retrieval = (
        f"AND (project, trace_id) IN (SELECT project, trace_id FROM {store.table('spans')} "
        f"  WHERE observation_kind = {{retrieval:String}} AND timestamp >= {since}) "
        if with_retrieval
        else ""
    )
    return (
        f"timestamp >= {since} "
        "AND ingested_at <= now64(3) - toIntervalMillisecond({settle_ms:UInt32}) "
        f"{retrieval}"
        f"AND (project, span_id) NOT IN (SELECT project, span_id FROM {store.table('scores')} "
        "  WHERE name = {score_name:String} AND evaluator = {evaluator:String} "
        "  AND evaluator_version = {version:String} "
        f"  AND span_hour >= toStartOfHour({since}))"
    )


def _params(evaluator: str, version: str, lookback_hours: int, settle_ms: int) -> dict[str, Any]:
    return {
        "generation": semconv.KIND_GENERATION,
        "retrieval": semconv.KIND_RETRIEVAL,
        "score_name": semconv.SCORE_HALLUCINATION,
        "evaluator": evaluator,
        "version": version,
        "lookback_hours": lookback_hours,
        "settle_ms": settle_ms,
    }


def pending(
    store: ClickHouseStore,
    evaluator: str,
    version: str,
    after: Cursor,
    *,
    limit: int,
    lookback_hours: int,
    settle_ms: int,
) -> list[Candidate]:
    """Up to ``limit`` generations after ``after``, in ingest order, not yet scored by this
    evaluator version.

    Two reads: the next keys in ingest order from small columns only, then the answer, input
    and dimensions of just those spans (sorting every new row's text would cost a pass over
    all of it). A candidate without an answer, or that is a judge's own call, comes back with
    ``output == ""`` so the caller passes over it and the cursor still moves. Whether its trace
    has a retrieval is checked afterwards (:func:`retrievals`).
    """
    params = {
        **_params(evaluator, version, lookback_hours, settle_ms),
        "after_ms": after[0],
        "after_span": after[1],
        "limit": limit,
    }
    keys = store.query(
        "SELECT project, span_id, toUnixTimestamp64Milli(ingested_at) AS ingested_ms "
        f"FROM {store.table('spans')} "
        "PREWHERE observation_kind = {generation:String} "
        "AND ingested_at >= fromUnixTimestamp64Milli({after_ms:Int64}, 'UTC') "
        f"WHERE {_pending_where(store, with_retrieval=False)} "
        "AND (toUnixTimestamp64Milli(ingested_at), span_id) > "
        "({after_ms:Int64}, {after_span:String}) "
        "ORDER BY ingested_ms, span_id LIMIT 1 BY project, span_id LIMIT {limit:UInt32}",
        params,
    )
    if not keys:
        return []
    rows = store.query(
        "SELECT project, trace_id, span_id, duration_ns, output, input, "
        f"attributes[{{judge_key:String}}] AS judge_call, {SPAN_INFO_COLUMNS} "
        f"FROM {store.table('spans')} "
        "PREWHERE observation_kind = {generation:String} "
        "AND ingested_at >= fromUnixTimestamp64Milli({first_ms:Int64}, 'UTC') "
        "AND ingested_at <= fromUnixTimestamp64Milli({last_ms:Int64}, 'UTC') "
        "AND span_id IN {span_ids:Array(String)} "
        "LIMIT 1 BY project, span_id",
        {
            "generation": semconv.KIND_GENERATION,
            "judge_key": semconv.TRACERAIL_EVALUATION_JUDGE_CALL,
            "template_key": semconv.TRACERAIL_PROMPT_TEMPLATE_ID,
            "first_ms": int(keys[0]["ingested_ms"]),
            "last_ms": int(keys[-1]["ingested_ms"]),
            "span_ids": sorted({k["span_id"] for k in keys}),
        },
    )
    found = {(row["project"], row["span_id"]): row for row in rows}
    candidates = []
    for key in keys:
        row = found.get((key["project"], key["span_id"]))
        if row is None:  # erased meanwhile
            continue
        candidates.append(
            Candidate(
                project=row["project"],
                trace_id=row["trace_id"],
                span_id=row["span_id"],
                cursor=(int(key["ingested_ms"]), row["span_id"]),
                end_ns=int(row["start_ns"]) + int(row["duration_ns"]),
                output="" if row["judge_call"] else row["output"],
                input=row["input"],
                span=span_info(row),
            )
        )
    return candidates


def count_pending(
    store: ClickHouseStore, evaluator: str, version: str, *, lookback_hours: int, settle_ms: int
) -> int:
    """How many generations with a retrieval in their trace are not yet scored by this
    evaluator version, from small columns only (so judge calls and generations passed over
    for lack of text are included). Reads the whole lookback window: now and then only."""
    return int(
        store.scalar(
            "SELECT uniqExact(project, span_id) "
            f"FROM {store.table('spans')} WHERE observation_kind = {{generation:String}} "
            f"AND {_pending_where(store, with_retrieval=True)}",
            _params(evaluator, version, lookback_hours, settle_ms),
        )
        or 0
    )


def count_scored(store: ClickHouseStore, evaluator: str, version: str) -> int:
    """Generations holding a hallucination score from this evaluator version (any writer)."""
    return int(
        store.scalar(
            "SELECT uniqExact(project, span_id) "
            f"FROM {store.table('scores')} WHERE name = {{score_name:String}} "
            "AND evaluator = {evaluator:String} AND evaluator_version = {version:String}",
            {"score_name": semconv.SCORE_HALLUCINATION, "evaluator": evaluator, "version": version},
        )
        or 0
    )


def retrievals(
    store: ClickHouseStore,
    candidates: Sequence[Candidate],
    *,
    lookback_hours: int,
) -> dict[tuple[str, str], list[Retrieval]]:
    """The retrieval spans of the candidates' traces, by (project, trace_id), oldest first."""
    if not candidates:
        return {}
    rows = store.query(
        "SELECT project, trace_id, toUnixTimestamp64Nano(timestamp) AS start_ns, output, "
        "arrayMap(pair -> pair.2, arraySort(pair -> pair.1, arrayMap("
        "  key -> (toUInt32OrZero(substring(key, length({docs:String}) + 1, "
        "    position(key, {content:String}) - length({docs:String}) - 1)), attributes[key]), "
        "  arrayFilter(key -> startsWith(key, {docs:String}) AND endsWith(key, {content:String}), "
        "    mapKeys(attributes))))) AS documents "
        f"FROM {store.table('spans')} "
        "WHERE observation_kind = {retrieval:String} "
        "AND timestamp >= now64(9) - toIntervalHour({lookback_hours:UInt32}) "
        "AND project IN {projects:Array(String)} AND trace_id IN {trace_ids:Array(String)} "
        "ORDER BY start_ns",
        {
            "docs": semconv.OPENINFERENCE_RETRIEVAL_DOCUMENTS,
            "content": semconv.OPENINFERENCE_DOCUMENT_CONTENT,
            "retrieval": semconv.KIND_RETRIEVAL,
            "lookback_hours": lookback_hours,
            "projects": sorted({c.project for c in candidates}),
            "trace_ids": sorted({c.trace_id for c in candidates}),
        },
    )
    wanted = {(c.project, c.trace_id) for c in candidates}
    found: dict[tuple[str, str], list[Retrieval]] = {}
    for row in rows:
        key = (row["project"], row["trace_id"])
        if key in wanted:
            found.setdefault(key, []).append(
                Retrieval(int(row["start_ns"]), row["output"], tuple(row["documents"]))
            )
    return found

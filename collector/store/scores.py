"""Score reads and writes: the scored span's dimensions, inserts, and listings."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from tracerail import semconv
from tracerail.collector.scores import SpanInfo
from tracerail.collector.store.clickhouse import ClickHouseStore
from tracerail.collector.store.spans import IN_TRACE, trace_bounds

# The columns of a spans row that :func:`span_info` reads (binds ``template_key``).
SPAN_INFO_COLUMNS = (
    "toUnixTimestamp64Nano(timestamp) AS start_ns, observation_kind, service_name, "
    "provider, if(response_model != '', response_model, request_model) AS model, "
    "attributes[{template_key:String}] AS prompt_template"
)


def find_span(store: ClickHouseStore, project: str, trace_id: str, span_id: str) -> SpanInfo | None:
    """The stored span's dimensions, or None when this project has no such span."""
    params = trace_bounds(store, project, trace_id)
    if params is None:
        return None
    rows = store.query(
        f"SELECT {SPAN_INFO_COLUMNS} "
        f"FROM {store.table('spans')} WHERE {IN_TRACE} AND span_id = {{span_id:String}} LIMIT 1",
        {**params, "span_id": span_id, "template_key": semconv.TRACERAIL_PROMPT_TEMPLATE_ID},
    )
    return span_info(rows[0]) if rows else None


def span_info(row: Mapping[str, Any]) -> SpanInfo:
    """The dimensions a score copies from a row selected with :data:`SPAN_INFO_COLUMNS`."""
    return SpanInfo(
        start_ns=int(row["start_ns"]),
        observation_kind=row["observation_kind"],
        service_name=row["service_name"],
        provider=row["provider"],
        model=row["model"],
        prompt_template=row["prompt_template"],
    )


def list_scores(store: ClickHouseStore, project: str, trace_id: str) -> list[dict[str, Any]]:
    """Every score of one trace, oldest first."""
    return store.query(
        "SELECT score_id, trace_id, span_id, name, value, data_type, label, comment, source, "
        "evaluator, evaluator_version, prompt_sha256, reviewer, "
        "toString(created_at) AS created_at "
        f"FROM {store.table('scores')} "
        "WHERE project = {project:String} AND trace_id = {trace_id:String} "
        "ORDER BY created_at, score_id",
        {"project": project, "trace_id": trace_id},
    )

"""Guardrail decision reads: filtered, cursor-paginated events and per-day counts.

Every value from a request is a bound parameter (``{name:Type}``); only fixed column names
from this module are written into SQL text.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from tracerail.collector.store.clickhouse import ClickHouseStore
from tracerail.collector.store.filters import base_filters
from tracerail.collector.store.spans import InvalidCursor, pack_cursor, unpack_cursor

EVENT_FIELDS = """
    toUnixTimestamp64Nano(timestamp) AS time_ns, trace_id, span_id, event_index, service_name,
    request_model, check_name, check_type, target, action, policy_name, policy_version,
    latency_ms, entity_types, entity_counts, reason, error
"""


@dataclass(frozen=True)
class GuardrailFilter:
    """Filters for guardrail reads; ``None`` means not filtered."""

    start_ns: int | None = None
    end_ns: int | None = None
    check: str | None = None
    action: str | None = None
    target: str | None = None
    entity_type: str | None = None
    model: str | None = None
    trace_id: str | None = None


def _where(project: str, filters: GuardrailFilter) -> tuple[list[str], dict[str, Any]]:
    where, params = base_filters(
        project,
        filters.start_ns,
        filters.end_ns,
        {
            "check_name": filters.check,
            "action": filters.action,
            "target": filters.target,
            "request_model": filters.model,
            "trace_id": filters.trace_id,
        },
    )
    if filters.entity_type is not None:
        where.append("has(entity_types, {entity_type:String})")
        params["entity_type"] = filters.entity_type
    return where, params


def encode_cursor(time_ns: int, span_id: str, event_index: int) -> str:
    return pack_cursor(time_ns, span_id, event_index)


def decode_cursor(cursor: str) -> tuple[int, str, int]:
    """Inverse of :func:`encode_cursor`; raises :class:`InvalidCursor`."""
    time_ns, span_id, index = unpack_cursor(cursor, int, str, int)
    if len(span_id) > 16 or not 0 <= index <= 65_535:
        raise InvalidCursor("cursor is not one this server issued")
    return time_ns, span_id, index


def _iso(ns: int) -> str:
    return datetime.fromtimestamp(ns / 1e9, tz=UTC).isoformat().replace("+00:00", "Z")


def event_json(row: dict[str, Any]) -> dict[str, Any]:
    time_ns = int(row.pop("time_ns"))
    return {
        **row,
        "time": _iso(time_ns),
        "time_unix_nano": time_ns,
        "entity_types": list(row["entity_types"]),
        "entity_counts": dict(row["entity_counts"]),
    }


def list_events(
    store: ClickHouseStore,
    project: str,
    filters: GuardrailFilter,
    *,
    limit: int,
    cursor: str | None = None,
) -> tuple[list[dict[str, Any]], str | None]:
    """Newest decisions first; returns the page and the next cursor."""
    where, params = _where(project, filters)
    params["limit"] = limit + 1
    if cursor is not None:
        c_ns, c_span, c_index = decode_cursor(cursor)
        where.append(
            "(timestamp, span_id, event_index) < (fromUnixTimestamp64Nano({c_ns:Int64}, 'UTC'), "
            "{c_span:String}, {c_index:UInt16})"
        )
        params.update(c_ns=c_ns, c_span=c_span, c_index=c_index)
    rows = store.query(
        f"SELECT {EVENT_FIELDS} FROM {store.table('guardrail_events')} "
        f"WHERE {' AND '.join(where)} "
        "ORDER BY timestamp DESC, span_id DESC, event_index DESC LIMIT {limit:UInt32}",
        params,
    )
    page = [event_json(row) for row in rows[:limit]]
    next_cursor = None
    if len(rows) > limit:
        last = page[-1]
        next_cursor = encode_cursor(last["time_unix_nano"], last["span_id"], last["event_index"])
    return page, next_cursor


def summary(store: ClickHouseStore, project: str, filters: GuardrailFilter) -> list[dict[str, Any]]:
    """Decision counts by day, check and action (with the entity totals of each group)."""
    where, params = _where(project, filters)
    rows = store.query(
        "SELECT toString(toDate(timestamp)) AS day, check_name, action, count() AS decisions, "
        "sumMap(entity_counts) AS entities, avg(latency_ms) AS avg_latency_ms "
        f"FROM {store.table('guardrail_events')} WHERE {' AND '.join(where)} "
        "GROUP BY day, check_name, action ORDER BY day, check_name, action",
        params,
    )
    return [
        {
            "day": row["day"],
            "check": row["check_name"],
            "action": row["action"],
            "count": int(row["decisions"]),
            "entities": {k: int(v) for k, v in dict(row["entities"]).items()},
            "avg_latency_ms": float(row["avg_latency_ms"]),
        }
        for row in rows
    ]

"""Span reads: one trace by id, and filtered, cursor-paginated span listings.

Every value from a request is a bound parameter (``{name:Type}``); only column names chosen
from fixed sets here are written into SQL text.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from tracerail.collector.errors import InvalidInput
from tracerail.collector.store.clickhouse import ClickHouseStore
from tracerail.collector.store.filters import base_filters

SPAN_FIELDS = """
    trace_id, span_id, parent_span_id, name, kind, service_name, scope_name,
    toUnixTimestamp64Nano(timestamp) AS start_ns, duration_ns, status_code, status_message,
    observation_kind, operation, provider, request_model, response_model, user_id, session_id,
    error_type, input_tokens, output_tokens, cached_input_tokens, reasoning_tokens, cost_usd,
    input, output, attributes, resource_attributes,
    arrayMap(t -> toUnixTimestamp64Nano(t), event_timestamps) AS event_ns, event_names,
    event_attributes
"""


class InvalidCursor(InvalidInput):
    """A pagination cursor that this server did not issue."""


@dataclass(frozen=True)
class SpanFilter:
    """Filters for :func:`list_spans`; ``None`` means not filtered."""

    start_ns: int | None = None
    end_ns: int | None = None
    service: str | None = None
    model: str | None = None
    status: str | None = None
    name: str | None = None
    trace_id: str | None = None
    observation_kind: str | None = None
    user_id: str | None = None
    session_id: str | None = None


def pack_cursor(*values: int | str) -> str:
    """An opaque pagination cursor holding ``values`` (URL-safe base64 of a JSON list)."""
    raw = json.dumps(list(values)).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def unpack_cursor(cursor: str, *types: type) -> list[Any]:
    """Inverse of :func:`pack_cursor`, checking each value's type; raises :class:`InvalidCursor`."""
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        values = json.loads(base64.urlsafe_b64decode(padded.encode()))
    except (binascii.Error, ValueError, TypeError, UnicodeDecodeError):
        raise InvalidCursor("cursor is not one this server issued") from None
    if (
        not isinstance(values, list)
        or len(values) != len(types)
        or not all(type(v) is t for v, t in zip(values, types, strict=True))
    ):
        raise InvalidCursor("cursor is not one this server issued")
    return values


def encode_cursor(start_ns: int, span_id: str) -> str:
    return pack_cursor(start_ns, span_id)


def decode_cursor(cursor: str) -> tuple[int, str]:
    """Inverse of :func:`encode_cursor`; raises :class:`InvalidCursor`."""
    start_ns, span_id = unpack_cursor(cursor, int, str)
    if len(span_id) > 16:
        raise InvalidCursor("cursor is not one this server issued")
    return start_ns, span_id


def _iso(ns: int) -> str:
    return datetime.fromtimestamp(ns / 1e9, tz=UTC).isoformat().replace("+00:00", "Z")


def span_json(row: dict[str, Any]) -> dict[str, Any]:
    """A stored span row as the API's JSON shape."""
    start_ns = int(row.pop("start_ns"))
    duration_ns = int(row["duration_ns"])
    events = [
        {"name": name, "time": _iso(int(ns)), "attributes": attrs}
        for ns, name, attrs in zip(
            row.pop("event_ns"), row.pop("event_names"), row.pop("event_attributes"), strict=True
        )
    ]
    return {
        **row,
        "start_time": _iso(start_ns),
        "end_time": _iso(start_ns + duration_ns),
        "start_time_unix_nano": start_ns,
        "duration_ms": duration_ns / 1e6,
        "events": events,
    }


# Narrows a spans read to one trace's time bounds (from trace_lookup): add ``lo``/``hi``.
IN_TRACE = (
    "project = {project:String} AND trace_id = {trace_id:String} "
    "AND timestamp >= fromUnixTimestamp64Nano({lo:Int64}, 'UTC') "
    "AND timestamp <= fromUnixTimestamp64Nano({hi:Int64}, 'UTC')"
)


def trace_bounds(store: ClickHouseStore, project: str, trace_id: str) -> dict[str, Any] | None:
    """Query parameters for :data:`IN_TRACE`, or None when the trace is unknown."""
    bounds = store.query(
        f"SELECT toUnixTimestamp64Nano(min(start)) AS lo, toUnixTimestamp64Nano(max(end)) AS hi, "
        f"count() AS n FROM {store.table('trace_lookup')} "
        "WHERE project = {project:String} AND trace_id = {trace_id:String}",
        {"project": project, "trace_id": trace_id},
    )
    if not bounds or not bounds[0]["n"]:
        return None
    return {"project": project, "trace_id": trace_id, "lo": bounds[0]["lo"], "hi": bounds[0]["hi"]}


def get_trace(store: ClickHouseStore, project: str, trace_id: str) -> list[dict[str, Any]]:
    """All spans of one trace, oldest first; empty when the trace is unknown.

    One statement: the trace's time bounds come from ``trace_lookup`` in a scalar subquery,
    which ClickHouse evaluates before choosing the spans' partitions and granules.
    """
    rows = store.query(
        "WITH (SELECT (min(start), max(end)) "
        f"FROM {store.table('trace_lookup')} "
        "WHERE project = {project:String} AND trace_id = {trace_id:String}) AS bounds "
        f"SELECT {SPAN_FIELDS} FROM {store.table('spans')} "
        "WHERE project = {project:String} AND trace_id = {trace_id:String} "
        "AND timestamp >= bounds.1 AND timestamp <= bounds.2 "
        "ORDER BY timestamp, span_id LIMIT 1 BY span_id",
        {"project": project, "trace_id": trace_id},
    )
    return [span_json(row) for row in rows]


def span_tree(spans: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Nest spans under their parents; spans whose parent is missing become roots."""
    nodes = {s["span_id"]: {**s, "children": []} for s in spans}
    roots: list[dict[str, Any]] = []
    for node in nodes.values():
        parent = nodes.get(node["parent_span_id"])
        (parent["children"] if parent is not None else roots).append(node)
    return roots


def list_spans(
    store: ClickHouseStore,
    project: str,
    filters: SpanFilter,
    *,
    limit: int,
    cursor: str | None = None,
) -> tuple[list[dict[str, Any]], str | None]:
    """Newest spans first matching ``filters``; returns the page and the next cursor."""
    where, params = base_filters(
        project,
        filters.start_ns,
        filters.end_ns,
        {
            "service_name": filters.service,
            "status_code": filters.status,
            "name": filters.name,
            "trace_id": filters.trace_id,
            "observation_kind": filters.observation_kind,
            "user_id": filters.user_id,
            "session_id": filters.session_id,
        },
    )
    params["limit"] = limit + 1
    if filters.model is not None:
        where.append("(request_model = {model:String} OR response_model = {model:String})")
        params["model"] = filters.model
    if cursor is not None:
        cursor_ns, cursor_span = decode_cursor(cursor)
        where.append(
            "(timestamp, span_id) < (fromUnixTimestamp64Nano({cursor_ns:Int64}, 'UTC'), "
            "{cursor_span:String})"
        )
        params.update(cursor_ns=cursor_ns, cursor_span=cursor_span)
    rows = store.query(
        f"SELECT {SPAN_FIELDS} FROM {store.table('spans')} WHERE {' AND '.join(where)} "
        "ORDER BY timestamp DESC, span_id DESC LIMIT {limit:UInt32}",
        params,
    )
    page = [span_json(row) for row in rows[:limit]]
    next_cursor = None
    if len(rows) > limit:
        last = page[-1]
        next_cursor = encode_cursor(last["start_time_unix_nano"], last["span_id"])
    return page, next_cursor

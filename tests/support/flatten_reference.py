"""An independent reference for ``collector/otlp/flatten.py``: one span at a time, written
from the OTLP and ClickHouse specifications, not from flatten's code.

Where flatten walks the protobuf objects column by column, this turns the whole request into
protobuf's JSON mapping once (``MessageToDict``, the OTLP/JSON form: base64 ids, decimal
strings for 64-bit times, enum names for kinds and status codes) and builds one row per span
from those dicts. The columns, and the bound of each integer column, come from the table's
DDL. So a bug in flatten's encoding, parsing or validation is not repeated here. The limits
(``MAX_*``), the attribute → column preferences (``promote``, ``agents``) and the price table
are configuration, imported as they are.
"""

from __future__ import annotations

import base64
import json
import math
from typing import Any

from google.protobuf.json_format import MessageToDict
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from tracerail import semconv
from tracerail.collector.otlp.agents import (
    CANONICAL_NAME,
    NAME_KEYS,
    OPERATION_BY_ROLE,
    ROLE_BY_OPENINFERENCE_KIND,
    ROLE_BY_OPERATION,
    ROLE_BY_TRACELOOP_KIND,
    TOOL_ALIASES,
)
from tracerail.collector.otlp.errors import InvalidSpan
from tracerail.collector.otlp.flatten import MAX_ATTRIBUTES, MAX_EVENTS, MAX_LINKS
from tracerail.collector.otlp.promote import (
    CONTENT_COLUMNS,
    FLOAT_COLUMNS,
    INT_COLUMNS,
    OPENINFERENCE_KINDS,
    STRING_COLUMNS,
)
from tracerail.collector.store.migrations.m001_spans import SPANS
from tracerail.pricing import TokenUsage, cost_usd

# The columns ingest writes: every DDL column without a default filled by ClickHouse itself.
SPAN_COLUMNS: tuple[str, ...] = tuple(
    c.name for c in SPANS.columns if not (c.default or "").startswith("now")
)
# The largest value of each unsigned integer column, read from its DDL type (``UInt32``).
_UINT_BOUNDS: dict[str, int] = {
    c.name: 2 ** int(c.type.removeprefix("UInt")) - 1
    for c in SPANS.columns
    if c.type.startswith("UInt")
}
# OTLP's byte lengths of a trace id and a span id.
_TRACE_ID_BYTES = 16
_SPAN_ID_BYTES = 8

SpanColumns = dict[str, list[Any]]
Json = dict[str, Any]


def _from_json(data: Json) -> Any:
    """An AnyValue in protobuf's JSON mapping → plain data (ints are strings there)."""
    if "stringValue" in data:
        return data["stringValue"]
    if "boolValue" in data:
        return data["boolValue"]
    if "intValue" in data:
        return int(data["intValue"])
    if "doubleValue" in data:
        return float(data["doubleValue"])
    if "bytesValue" in data:
        return data["bytesValue"]  # already base64 in the JSON mapping
    if "arrayValue" in data:
        return [_from_json(v) for v in data["arrayValue"].get("values", [])]
    if "kvlistValue" in data:
        return {
            kv.get("key", ""): _from_json(kv.get("value", {}))
            for kv in data["kvlistValue"].get("values", [])
        }
    return ""


def _text(data: Json) -> str:
    """An AnyValue (JSON mapping) as the text stored in a ``Map(String, String)``."""
    value = _from_json(data)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, (list, dict)):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


def _attributes(key_values: list[Json]) -> dict[str, str]:
    """Key/value list → ``{key: text}``; later duplicates win, as in the OTel SDK."""
    return {kv.get("key", ""): _text(kv.get("value", {})) for kv in key_values}


def _hex_id(message: Json, field: str, size: int, *, required: bool) -> str:
    """A base64 id of the JSON mapping as lowercase hex, checked against OTLP's rules:
    exactly ``size`` bytes and not all zero (an absent optional id is ``""``)."""
    raw = base64.b64decode(message.get(field, ""))
    if not raw and not required:
        return ""
    if len(raw) == size and any(raw):
        return "".join(f"{byte:02x}" for byte in raw)
    name = "".join(f"_{c.lower()}" if c.isupper() else c for c in field)
    raise InvalidSpan(f"{name} must be {size} non-zero bytes, got {len(raw)}")


def _enum_name(value: Any, prefix: str, default: str) -> str:
    """A proto enum in the JSON mapping: its name, or its number when the proto has no name."""
    return value.removeprefix(prefix) if isinstance(value, str) else default


def _refuse_oversized(span: Json, resource_size: int) -> None:
    events = span.get("events", [])
    largest_event = max((len(e.get("attributes", [])) for e in events), default=0)
    sizes = (
        (
            max(len(span.get("attributes", [])), resource_size),
            MAX_ATTRIBUTES,
            "attributes on a span or resource",
        ),
        (len(events), MAX_EVENTS, "events on a span"),
        (len(span.get("links", [])), MAX_LINKS, "links on a span"),
        (largest_event, MAX_ATTRIBUTES, "attributes on an event"),
    )
    for size, limit, what in sizes:
        if size > limit:
            raise InvalidSpan(f"more than {limit} {what}")


def _unsigned(text: str | None, bound: int) -> int:
    """A count in an attribute's text → a whole number in ``[0, bound]``; ``0`` if the text
    is not a finite number (the number is read as a JSON number would be, a double)."""
    try:
        number = float(text) if text is not None else math.nan
    except ValueError:
        return 0
    if not math.isfinite(number):
        return 0
    return min(int(number), bound) if number > 0 else 0


def _finite(text: str | None) -> float | None:
    """A finite float from an attribute's text, or ``None`` (NaN and infinities included)."""
    try:
        number = float(text) if text is not None else math.nan
    except ValueError:
        return None
    return number if math.isfinite(number) else None


def _priced(row: dict[str, Any]) -> float | None:
    """The price-table cost of a span that has tokens and a model, the response model first."""
    usage = TokenUsage(
        input_tokens=row["input_tokens"],
        output_tokens=row["output_tokens"],
        cached_input_tokens=row["cached_input_tokens"],
        reasoning_tokens=row["reasoning_tokens"],
    )
    if usage.input_tokens == 0 and usage.output_tokens == 0:
        return None
    models = [m for m in (row["response_model"], row["request_model"]) if m]
    costs = (cost_usd(model, usage, warn=False) for model in models)
    return next((cost for cost in costs if cost is not None), None)


def _row(span: Json, resource: dict[str, str], scope: Json) -> dict[str, Any]:
    """The columns of one span, in its JSON mapping, apart from project and retention."""
    trace_id = _hex_id(span, "traceId", _TRACE_ID_BYTES, required=True)
    span_id = _hex_id(span, "spanId", _SPAN_ID_BYTES, required=True)
    parent = _hex_id(span, "parentSpanId", _SPAN_ID_BYTES, required=False)
    start = int(span.get("startTimeUnixNano", 0))
    end = int(span.get("endTimeUnixNano", 0))
    if end != 0 and end < start:
        raise InvalidSpan(f"span {span_id}: end time is before start time")
    status = span.get("status", {})
    attributes = _attributes(span.get("attributes", []))
    row: dict[str, Any] = {
        "timestamp": start,
        "duration_ns": end - start if end >= start else 0,
        "trace_id": trace_id,
        "span_id": span_id,
        "parent_span_id": parent,
        "trace_state": span.get("traceState", ""),
        "name": span.get("name", ""),
        "kind": _enum_name(span.get("kind", "SPAN_KIND_UNSPECIFIED"), "SPAN_KIND_", "UNSPECIFIED"),
        "service_name": resource.get(semconv.SERVICE_NAME, "unknown_service"),
        "scope_name": scope.get("name", ""),
        "scope_version": scope.get("version", ""),
        "status_code": _enum_name(status.get("code", "STATUS_CODE_UNSET"), "STATUS_CODE_", "UNSET"),
        "status_message": status.get("message", ""),
    }

    def preferred(keys: tuple[str, ...]) -> str | None:
        return next((attributes[key] for key in keys if key in attributes), None)

    for column, keys in STRING_COLUMNS.items():
        row[column] = preferred(keys) or ""
    for column, keys in INT_COLUMNS.items():
        row[column] = _unsigned(preferred(keys), _UINT_BOUNDS[column])
    for column, keys in FLOAT_COLUMNS.items():
        row[column] = _finite(preferred(keys))
    for column, keys in CONTENT_COLUMNS.items():
        # Moved, not copied: the chosen attribute leaves the map.
        chosen = [key for key in keys if key in attributes][:1]
        row[column] = attributes.pop(chosen[0]) if chosen else ""
    if row["cost_usd"] is None:
        row["cost_usd"] = _priced(row)
        if row["cost_usd"] is not None:
            attributes[semconv.TRACERAIL_COST_SOURCE] = semconv.COST_SOURCE_COLLECTOR
    _agent_or_tool(row, attributes)
    if not row["observation_kind"]:
        openinference = attributes.get(semconv.OPENINFERENCE_SPAN_KIND, "").upper()
        fallback = semconv.KIND_GENERATION if row["request_model"] else ""
        row["observation_kind"] = OPENINFERENCE_KINDS.get(openinference, fallback)
    events = span.get("events", [])
    links = span.get("links", [])
    row["attributes"] = attributes
    row["resource_attributes"] = resource
    row["event_timestamps"] = [int(e.get("timeUnixNano", 0)) for e in events]
    row["event_names"] = [e.get("name", "") for e in events]
    row["event_attributes"] = [_attributes(e.get("attributes", [])) for e in events]
    row["link_trace_ids"] = [base64.b64decode(link.get("traceId", "")).hex() for link in links]
    row["link_span_ids"] = [base64.b64decode(link.get("spanId", "")).hex() for link in links]
    return row


def _agent_or_tool(row: dict[str, Any], attributes: dict[str, str]) -> None:
    """Agent / tool kind, operation and canonical name of one row (tables from agents.py)."""
    role = (
        row["observation_kind"]
        or ROLE_BY_OPERATION.get(row["operation"])
        or ROLE_BY_TRACELOOP_KIND.get(attributes.get(semconv.OPENLLMETRY_SPAN_KIND, "").lower())
        or ROLE_BY_OPENINFERENCE_KIND.get(
            attributes.get(semconv.OPENINFERENCE_SPAN_KIND, "").upper()
        )
        or ""
    )
    row["observation_kind"] = row["observation_kind"] or role
    if role not in CANONICAL_NAME:
        return
    row["operation"] = row["operation"] or OPERATION_BY_ROLE[role]
    traceloop_name = (
        attributes.get(semconv.OPENLLMETRY_ENTITY_NAME)
        if attributes.get(semconv.OPENLLMETRY_SPAN_KIND, "").lower() == role
        else None
    )
    prefix = OPERATION_BY_ROLE[role] + " "
    from_span = row["name"].removeprefix(prefix)
    name = next((attributes[k] for k in NAME_KEYS[role] if attributes.get(k)), None)
    name = name or traceloop_name or from_span
    if name:
        attributes[CANONICAL_NAME[role]] = name
    if role == semconv.KIND_TOOL:
        for alias, key in TOOL_ALIASES:
            if alias in attributes:
                attributes.setdefault(key, attributes[alias])


def flatten(
    request: ExportTraceServiceRequest, *, project: str, retention_days: int
) -> SpanColumns:
    """Rows for every span in ``request``; raises :class:`InvalidSpan` before returning any."""
    rows: list[dict[str, Any]] = []
    for resource_spans in MessageToDict(request).get("resourceSpans", []):
        resource_attributes = resource_spans.get("resource", {}).get("attributes", [])
        resource = _attributes(resource_attributes)
        for scope_spans in resource_spans.get("scopeSpans", []):
            for span in scope_spans.get("spans", []):
                _refuse_oversized(span, len(resource_attributes))
                row = _row(span, resource, scope_spans.get("scope", {}))
                row["project"] = project
                row["retention_days"] = retention_days
                rows.append(row)
    return {name: [row[name] for row in rows] for name in SPAN_COLUMNS}

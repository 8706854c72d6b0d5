"""An independent reference for ``collector/otlp/flatten.py``: one span at a time, written
from the OTLP and ClickHouse specifications, not from flatten's code.

Where flatten reads values with ``WhichOneof`` and a dispatch table, this reads them through
protobuf's own JSON mapping (``MessageToDict``); span kinds and status codes come from the
proto enums' names; the columns come from the table's DDL. So a bug in flatten's encoding is
not repeated here. The limits (``MAX_*``) are configuration, imported as they are.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from google.protobuf.json_format import MessageToDict
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
from opentelemetry.proto.trace.v1.trace_pb2 import Span, Status

from tracerail import semconv
from tracerail.collector.otlp.errors import InvalidSpan
from tracerail.collector.otlp.flatten import MAX_ATTRIBUTES, MAX_EVENTS, MAX_LINKS
from tracerail.collector.otlp.promote import (
    CONTENT_COLUMNS,
    FLOAT_COLUMNS,
    INT_COLUMNS,
    OPENINFERENCE_KINDS,
    STRING_COLUMNS,
)
from tracerail.collector.store.schema import SPANS
from tracerail.pricing import TokenUsage, cost_usd

SPAN_KINDS = tuple(
    Span.SpanKind.Name(number).removeprefix("SPAN_KIND_")
    for number in sorted(Span.SpanKind.values())
)
STATUS_CODES = tuple(
    Status.StatusCode.Name(number).removeprefix("STATUS_CODE_")
    for number in sorted(Status.StatusCode.values())
)
_UINT32_MAX = 2**32 - 1
# The columns ingest writes: every DDL column without a default filled by ClickHouse itself.
SPAN_COLUMNS: tuple[str, ...] = tuple(
    c.name for c in SPANS.columns if not (c.default or "").startswith("now")
)

SpanColumns = dict[str, list[Any]]


def empty_columns() -> SpanColumns:
    return {name: [] for name in SPAN_COLUMNS}


def _from_json(data: dict[str, Any]) -> Any:
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


def any_value_json(value: AnyValue) -> Any:
    """An attribute value as plain JSON data."""
    return _from_json(MessageToDict(value))


def any_value_text(value: AnyValue) -> str:
    """An attribute value as the text stored in a ``Map(String, String)``."""
    data = any_value_json(value)
    if isinstance(data, bool):
        return "true" if data else "false"
    if isinstance(data, float):
        return repr(data)
    if isinstance(data, (list, dict)):
        return json.dumps(data, ensure_ascii=False)
    return str(data)


def attributes_map(key_values: Iterable[KeyValue]) -> dict[str, str]:
    """Key/value list → ``{key: text}``; later duplicates win, as in the OTel SDK."""
    return {kv.key: any_value_text(kv.value) for kv in key_values}


def _first(attributes: dict[str, str], keys: tuple[str, ...]) -> str | None:
    for key in keys:
        value = attributes.get(key)
        if value is not None:
            return value
    return None


def _to_int(text: str | None) -> int:
    if text is None:
        return 0
    try:
        return min(max(int(float(text)), 0), _UINT32_MAX)
    except (ValueError, OverflowError):
        return 0


def _to_float(text: str | None) -> float | None:
    if text is None:
        return None
    try:
        number = float(text)
    except ValueError:
        return None
    return number if number == number and number not in (float("inf"), float("-inf")) else None


def _derived_cost(row: dict[str, Any]) -> float | None:
    """Price a span that has a model and tokens but no cost, from tracerail's price table."""
    if not (row["input_tokens"] or row["output_tokens"]):
        return None
    usage = TokenUsage(
        input_tokens=row["input_tokens"],
        output_tokens=row["output_tokens"],
        cached_input_tokens=row["cached_input_tokens"],
        reasoning_tokens=row["reasoning_tokens"],
    )
    for model in (row["response_model"], row["request_model"]):
        if model:
            cost = cost_usd(model, usage, warn=False)
            if cost is not None:
                return cost
    return None


def _check_id(raw: bytes, size: int, what: str, *, optional: bool = False) -> str:
    if optional and not raw:
        return ""
    if len(raw) != size or raw == bytes(size):
        raise InvalidSpan(f"{what} must be {size} non-zero bytes, got {len(raw)}")
    return raw.hex()


def _check_counts(span: Any, resource_attributes: int) -> None:
    if len(span.attributes) > MAX_ATTRIBUTES or resource_attributes > MAX_ATTRIBUTES:
        raise InvalidSpan(f"more than {MAX_ATTRIBUTES} attributes on a span or resource")
    if len(span.events) > MAX_EVENTS:
        raise InvalidSpan(f"more than {MAX_EVENTS} events on a span")
    if len(span.links) > MAX_LINKS:
        raise InvalidSpan(f"more than {MAX_LINKS} links on a span")
    if any(len(event.attributes) > MAX_ATTRIBUTES for event in span.events):
        raise InvalidSpan(f"more than {MAX_ATTRIBUTES} attributes on an event")


def flatten(
    request: ExportTraceServiceRequest, *, project: str, retention_days: int
) -> SpanColumns:
    """Rows for every span in ``request``; raises :class:`InvalidSpan` before returning any."""
    columns = empty_columns()
    for resource_spans in request.resource_spans:
        resource = attributes_map(resource_spans.resource.attributes)
        service = resource.get(semconv.SERVICE_NAME, "unknown_service")
        for scope_spans in resource_spans.scope_spans:
            scope = scope_spans.scope
            for span in scope_spans.spans:
                _check_counts(span, len(resource_spans.resource.attributes))
                trace_id = _check_id(span.trace_id, 16, "trace_id")
                span_id = _check_id(span.span_id, 8, "span_id")
                parent = _check_id(span.parent_span_id, 8, "parent_span_id", optional=True)
                if span.end_time_unix_nano and span.end_time_unix_nano < span.start_time_unix_nano:
                    raise InvalidSpan(f"span {span_id}: end time is before start time")
                attributes = attributes_map(span.attributes)
                row: dict[str, Any] = {
                    "project": project,
                    "timestamp": span.start_time_unix_nano,
                    "duration_ns": max(span.end_time_unix_nano - span.start_time_unix_nano, 0),
                    "trace_id": trace_id,
                    "span_id": span_id,
                    "parent_span_id": parent,
                    "trace_state": span.trace_state,
                    "name": span.name,
                    "kind": SPAN_KINDS[span.kind]
                    if 0 <= span.kind < len(SPAN_KINDS)
                    else "UNSPECIFIED",
                    "service_name": service,
                    "scope_name": scope.name,
                    "scope_version": scope.version,
                    "status_code": STATUS_CODES[span.status.code]
                    if 0 <= span.status.code < 3
                    else "UNSET",
                    "status_message": span.status.message,
                }
                for column, keys in STRING_COLUMNS.items():
                    row[column] = _first(attributes, keys) or ""
                for column, keys in INT_COLUMNS.items():
                    row[column] = _to_int(_first(attributes, keys))
                for column, keys in FLOAT_COLUMNS.items():
                    row[column] = _to_float(_first(attributes, keys))
                for column, keys in CONTENT_COLUMNS.items():
                    key = next((k for k in keys if k in attributes), None)
                    row[column] = attributes.pop(key) if key else ""
                if row["cost_usd"] is None:
                    row["cost_usd"] = _derived_cost(row)
                    if row["cost_usd"] is not None:
                        attributes[semconv.TRACERAIL_COST_SOURCE] = semconv.COST_SOURCE_COLLECTOR
                if not row["observation_kind"]:
                    oi_kind = attributes.get(semconv.OPENINFERENCE_SPAN_KIND, "").upper()
                    row["observation_kind"] = OPENINFERENCE_KINDS.get(
                        oi_kind, semconv.KIND_GENERATION if row["request_model"] else ""
                    )
                row["attributes"] = attributes
                row["resource_attributes"] = resource
                row["event_timestamps"] = [e.time_unix_nano for e in span.events]
                row["event_names"] = [e.name for e in span.events]
                row["event_attributes"] = [attributes_map(e.attributes) for e in span.events]
                row["link_trace_ids"] = [link.trace_id.hex() for link in span.links]
                row["link_span_ids"] = [link.span_id.hex() for link in span.links]
                row["retention_days"] = retention_days
                for name in SPAN_COLUMNS:
                    columns[name].append(row[name])
    return columns

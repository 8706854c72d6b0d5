"""``ExportTraceServiceRequest`` → column-oriented span rows for the ``spans`` table."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Iterable
from typing import Any

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue

from tracerail import semconv
from tracerail.collector.columns import SPAN_COLUMN_NAMES
from tracerail.collector.otlp.agents import map_agents_and_tools
from tracerail.collector.otlp.errors import InvalidSpan
from tracerail.collector.otlp.promote import (
    CONTENT_COLUMNS,
    FLOAT_COLUMNS,
    INT_COLUMNS,
    OPENINFERENCE_KINDS,
    STRING_COLUMNS,
)
from tracerail.pricing import TokenUsage, cost_usd

SPAN_KINDS = ("UNSPECIFIED", "INTERNAL", "SERVER", "CLIENT", "PRODUCER", "CONSUMER")
STATUS_CODES = ("UNSET", "OK", "ERROR")
_UINT32_MAX = 2**32 - 1
# Far above what OTel SDKs send (128 attributes, 128 events, 128 links by default): refusing
# more keeps one hostile span from turning into megabytes of map entries per row.
MAX_ATTRIBUTES = 4096
MAX_EVENTS = 4096
MAX_LINKS = 4096

# The columns of a ``spans`` row, in table order (defined once, in collector/columns.py).
SPAN_COLUMNS: tuple[str, ...] = SPAN_COLUMN_NAMES

SpanColumns = dict[str, list[Any]]


def empty_columns() -> SpanColumns:
    """One empty list per column of :data:`SPAN_COLUMNS`."""
    return {name: [] for name in SPAN_COLUMNS}


# One encoder object: ``json.dumps(..., ensure_ascii=False)`` builds a new one on every call.
_encode_json = json.JSONEncoder(ensure_ascii=False, separators=(", ", ": ")).encode


def _json_text(value: AnyValue) -> str:
    return _encode_json(any_value_json(value))


_NON_STRING_TEXT: dict[str | None, Callable[[AnyValue], str]] = {
    "bool_value": lambda v: "true" if v.bool_value else "false",
    "int_value": lambda v: str(v.int_value),
    "double_value": lambda v: repr(v.double_value),
    "bytes_value": lambda v: base64.b64encode(v.bytes_value).decode(),
    "array_value": _json_text,
    "kvlist_value": _json_text,
    None: lambda v: "",
}


def any_value_text(value: AnyValue) -> str:
    """An attribute value as the text stored in a ``Map(String, String)``."""
    which = value.WhichOneof("value")
    if which == "string_value":
        return value.string_value
    return _NON_STRING_TEXT[which](value)


def any_value_json(value: AnyValue) -> Any:
    """An attribute value as plain JSON data."""
    which = value.WhichOneof("value")
    if which == "array_value":
        return [any_value_json(v) for v in value.array_value.values]
    if which == "kvlist_value":
        return {kv.key: any_value_json(kv.value) for kv in value.kvlist_value.values}
    if which == "bool_value":
        return value.bool_value
    if which == "int_value":
        return value.int_value
    if which == "double_value":
        return value.double_value
    return any_value_text(value)


def attributes_map(key_values: Iterable[KeyValue]) -> dict[str, str]:
    """Key/value list → ``{key: text}``; later duplicates win, as in the OTel SDK."""
    out: dict[str, str] = {}
    for kv in key_values:
        value = kv.value
        which = value.WhichOneof("value")
        # Most GenAI attributes are strings: read them without another call.
        out[kv.key] = (
            value.string_value if which == "string_value" else _NON_STRING_TEXT[which](value)
        )
    return out


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


_COST_INPUTS = (
    "input_tokens",
    "output_tokens",
    "cached_input_tokens",
    "reasoning_tokens",
    "response_model",
    "request_model",
)


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


def _check_ids(raw: list[bytes], size: int, what: str, *, optional: bool = False) -> list[str]:
    """Hex ids for a whole column; raises :class:`InvalidSpan` naming the first bad one."""
    zero = bytes(size)
    if optional:
        bad = any(r and (len(r) != size or r == zero) for r in raw)
    else:
        bad = any(len(r) != size or r == zero for r in raw)
    if bad:
        for r in raw:
            _check_id(r, size, what, optional=optional)
    return [r.hex() for r in raw]


def _lookup(
    attributes: list[dict[str, str]], keys: tuple[str, ...], present: set[str]
) -> list[str | None]:
    """Per row, the value of the first of ``keys`` the row has (``None`` when it has none)."""
    keys = tuple(k for k in keys if k in present)
    if not keys:
        return [None] * len(attributes)
    if len(keys) == 1:
        key = keys[0]
        return [a.get(key) for a in attributes]
    return [_first(a, keys) for a in attributes]


def _pop_first(
    attributes: list[dict[str, str]], keys: tuple[str, ...], present: set[str]
) -> list[str]:
    """Per row, remove and return the first of ``keys`` the row has (``""`` when none)."""
    keys = tuple(k for k in keys if k in present)
    if not keys:
        return [""] * len(attributes)
    if len(keys) == 1:
        only = keys[0]
        return [a.pop(only, "") for a in attributes]
    out: list[str] = []
    for a in attributes:
        key = next((k for k in keys if k in a), None)
        out.append(a.pop(key) if key else "")
    return out


def flatten(
    request: ExportTraceServiceRequest, *, project: str, retention_days: int
) -> SpanColumns:
    """Rows for every span in ``request``; raises :class:`InvalidSpan` before returning any.

    Built column by column (one comprehension per column over all spans) rather than row by
    row: this is the hot path of ingest (``bench/pipeline.py`` times it).
    """
    spans: list[Any] = []
    resources: list[dict[str, str]] = []
    services: list[str] = []
    scope_names: list[str] = []
    scope_versions: list[str] = []
    for resource_spans in request.resource_spans:
        if len(resource_spans.resource.attributes) > MAX_ATTRIBUTES:
            raise InvalidSpan(f"more than {MAX_ATTRIBUTES} attributes on a span or resource")
        resource = attributes_map(resource_spans.resource.attributes)
        service = resource.get(semconv.SERVICE_NAME, "unknown_service")
        for scope_spans in resource_spans.scope_spans:
            group = scope_spans.spans
            count = len(group)
            if not count:
                continue
            spans.extend(group)
            # The same dict object for every span of a resource: rows never mutate it.
            resources.extend([resource] * count)
            services.extend([service] * count)
            scope_names.extend([scope_spans.scope.name] * count)
            scope_versions.extend([scope_spans.scope.version] * count)
    n = len(spans)
    columns = empty_columns()
    if not n:
        return columns

    if any(
        len(s.attributes) > MAX_ATTRIBUTES or len(s.events) > MAX_EVENTS or len(s.links) > MAX_LINKS
        for s in spans
    ):
        for span in spans:
            _check_counts(span, 0)
    trace_ids = _check_ids([s.trace_id for s in spans], 16, "trace_id")
    span_ids = _check_ids([s.span_id for s in spans], 8, "span_id")
    parents = _check_ids([s.parent_span_id for s in spans], 8, "parent_span_id", optional=True)
    starts = [s.start_time_unix_nano for s in spans]
    ends = [s.end_time_unix_nano for s in spans]
    for index, (start, end) in enumerate(zip(starts, ends, strict=True)):
        if end and end < start:
            raise InvalidSpan(f"span {span_ids[index]}: end time is before start time")
    kinds = [s.kind for s in spans]
    statuses = [s.status for s in spans]
    status_codes = [st.code for st in statuses]

    attributes = [attributes_map(s.attributes) for s in spans]
    present: set[str] = set().union(*attributes)

    columns["project"] = [project] * n
    columns["timestamp"] = starts
    columns["duration_ns"] = [max(e - s, 0) for s, e in zip(starts, ends, strict=True)]
    columns["trace_id"] = trace_ids
    columns["span_id"] = span_ids
    columns["parent_span_id"] = parents
    columns["trace_state"] = [s.trace_state for s in spans]
    columns["name"] = [s.name for s in spans]
    columns["kind"] = [SPAN_KINDS[k] if 0 <= k < len(SPAN_KINDS) else "UNSPECIFIED" for k in kinds]
    columns["service_name"] = services
    columns["scope_name"] = scope_names
    columns["scope_version"] = scope_versions
    columns["status_code"] = [STATUS_CODES[c] if 0 <= c < 3 else "UNSET" for c in status_codes]
    columns["status_message"] = [st.message for st in statuses]
    for column, keys in STRING_COLUMNS.items():
        columns[column] = [v or "" for v in _lookup(attributes, keys, present)]
    for column, keys in INT_COLUMNS.items():
        values = _lookup(attributes, keys, present)
        columns[column] = [0 if v is None else _to_int(v) for v in values]
    for column, keys in FLOAT_COLUMNS.items():
        values = _lookup(attributes, keys, present)
        columns[column] = [None if v is None else _to_float(v) for v in values]
    for column, keys in CONTENT_COLUMNS.items():
        columns[column] = _pop_first(attributes, keys, present)
    costs = columns["cost_usd"]
    inputs, outputs = columns["input_tokens"], columns["output_tokens"]
    for index, cost in enumerate(costs):
        if cost is None and (inputs[index] or outputs[index]):
            row = {name: columns[name][index] for name in _COST_INPUTS}
            costs[index] = _derived_cost(row)
            if costs[index] is not None:
                attributes[index][semconv.TRACERAIL_COST_SOURCE] = semconv.COST_SOURCE_COLLECTOR
    map_agents_and_tools(columns, attributes, present)
    observation = columns["observation_kind"]
    if not all(observation):
        models = columns["request_model"]
        for index, kind in enumerate(observation):
            if not kind:
                oi_kind = attributes[index].get(semconv.OPENINFERENCE_SPAN_KIND, "").upper()
                observation[index] = OPENINFERENCE_KINDS.get(
                    oi_kind, semconv.KIND_GENERATION if models[index] else ""
                )
    columns["attributes"] = attributes
    columns["resource_attributes"] = resources
    events = [s.events for s in spans]
    if any(events):
        event_times: list[list[int]] = []
        event_names: list[list[str]] = []
        event_attributes: list[list[dict[str, str]]] = []
        for span_events in events:
            if span_events:
                items = list(span_events)  # one wrapper per event, reused below
                if any(len(e.attributes) > MAX_ATTRIBUTES for e in items):
                    raise InvalidSpan(f"more than {MAX_ATTRIBUTES} attributes on an event")
                event_times.append([e.time_unix_nano for e in items])
                event_names.append([e.name for e in items])
                event_attributes.append([attributes_map(e.attributes) for e in items])
            else:
                event_times.append([])
                event_names.append([])
                event_attributes.append([])
        columns["event_timestamps"] = event_times
        columns["event_names"] = event_names
        columns["event_attributes"] = event_attributes
    else:
        columns["event_timestamps"] = [[] for _ in range(n)]
        columns["event_names"] = [[] for _ in range(n)]
        columns["event_attributes"] = [[] for _ in range(n)]
    links = [s.links for s in spans]
    if any(links):
        columns["link_trace_ids"] = [[link.trace_id.hex() for link in ls] for ls in links]
        columns["link_span_ids"] = [[link.span_id.hex() for link in ls] for ls in links]
    else:
        columns["link_trace_ids"] = [[] for _ in range(n)]
        columns["link_span_ids"] = [[] for _ in range(n)]
    columns["retention_days"] = [retention_days] * n
    return columns

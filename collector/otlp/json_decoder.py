"""OTLP/JSON → protobuf messages.

OTLP/JSON differs from protobuf's canonical JSON mapping: trace and span ids are hex strings
(``json_format`` would read them as base64 and silently produce wrong ids), enums may be
integers, 64-bit integers may be strings, and unknown fields must be ignored. This decoder
builds the messages field by field and rejects wrong types with a message naming the field.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
from opentelemetry.proto.trace.v1.trace_pb2 import Span, Status

from tracerail.collector.otlp.errors import DecodeError

MAX_JSON_DEPTH = 64
_SPAN_KINDS = dict(Span.SpanKind.items())
_STATUS_CODES = dict(Status.StatusCode.items())


def _obj(value: Any, where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise DecodeError(f"{where}: expected an object")
    return value


def _list(value: Any, where: str) -> list[Any]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise DecodeError(f"{where}: expected an array")
    return value


def _objects(data: Any, where: str) -> Iterator[tuple[str, dict[str, Any]]]:
    """Each element of the array ``data`` found at ``where``, as (its path, the object).

    A missing array is empty; an array or element of the wrong type raises :class:`DecodeError`
    naming its path (``where[i]`` for an element).
    """
    for i, item in enumerate(_list(data, where)):
        item_where = f"{where}[{i}]"
        yield item_where, _obj(item, item_where)


def _str(value: Any, where: str) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        raise DecodeError(f"{where}: expected a string")
    return value


def _integer(value: Any, where: str, low: int, high: int) -> int:
    """An OTLP/JSON integer (a number, or a string for 64-bit values) in ``[low, high)``."""
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise DecodeError(f"{where}: expected an integer")
    try:
        number = int(value)
    except ValueError:
        raise DecodeError(f"{where}: expected an integer, got {value!r:.40}") from None
    if not low <= number < high:
        raise DecodeError(f"{where}: out of range")
    return number


def _uint(value: Any, where: str, bits: int = 64) -> int:
    return 0 if value is None else _integer(value, where, 0, 2**bits)


def _int64(value: Any, where: str) -> int:
    return _integer(value, where, -(2**63), 2**63)


def _hex_id(value: Any, where: str, size: int) -> bytes:
    text = _str(value, where)
    if text == "":
        return b""
    try:
        raw = bytes.fromhex(text)
    except ValueError:
        raise DecodeError(f"{where}: expected {size * 2} hex characters") from None
    if len(raw) != size:
        raise DecodeError(f"{where}: expected {size * 2} hex characters, got {len(text)}")
    return raw


def _enum(value: Any, where: str, names: dict[str, int]) -> int:
    if value is None:
        return 0
    if isinstance(value, str) and value in names:
        return names[value]
    if isinstance(value, int) and not isinstance(value, bool) and value in names.values():
        return value
    raise DecodeError(f"{where}: unknown value {value!r:.40}")


def _any_value(out: AnyValue, data: Any, where: str, depth: int) -> None:
    if depth > MAX_JSON_DEPTH:
        raise DecodeError(f"{where}: nested too deeply")
    value = _obj(data, where)
    if "stringValue" in value:
        out.string_value = _str(value["stringValue"], f"{where}.stringValue")
    elif "boolValue" in value:
        if not isinstance(value["boolValue"], bool):
            raise DecodeError(f"{where}.boolValue: expected a boolean")
        out.bool_value = value["boolValue"]
    elif "intValue" in value:
        out.int_value = _int64(value["intValue"], f"{where}.intValue")
    elif "doubleValue" in value:
        number = value["doubleValue"]
        if isinstance(number, bool) or not isinstance(number, int | float | str):
            raise DecodeError(f"{where}.doubleValue: expected a number")
        try:
            out.double_value = float(number)
        except ValueError:
            raise DecodeError(f"{where}.doubleValue: expected a number") from None
    elif "arrayValue" in value:
        array = _obj(value["arrayValue"], f"{where}.arrayValue")
        out.array_value.SetInParent()
        for i, item in enumerate(_list(array.get("values"), f"{where}.arrayValue.values")):
            _any_value(
                out.array_value.values.add(), item, f"{where}.arrayValue.values[{i}]", depth + 1
            )
    elif "kvlistValue" in value:
        kvlist = _obj(value["kvlistValue"], f"{where}.kvlistValue")
        out.kvlist_value.SetInParent()
        _key_values(
            out.kvlist_value.values, kvlist.get("values"), f"{where}.kvlistValue", depth + 1
        )
    elif "bytesValue" in value:
        import base64
        import binascii

        try:
            out.bytes_value = base64.b64decode(_str(value["bytesValue"], where), validate=True)
        except (binascii.Error, ValueError):
            raise DecodeError(f"{where}.bytesValue: expected base64") from None


def _key_values(out: Any, data: Any, where: str, depth: int = 0) -> None:
    for entry_where, entry in _objects(data, f"{where}.attributes"):
        kv: KeyValue = out.add()
        kv.key = _str(entry.get("key"), f"{entry_where}.key")
        if entry.get("value") is not None:
            _any_value(kv.value, entry["value"], f"{entry_where}.value", depth + 1)


def _span(out: Span, span: dict[str, Any], where: str) -> None:
    out.trace_id = _hex_id(span.get("traceId"), f"{where}.traceId", 16)
    out.span_id = _hex_id(span.get("spanId"), f"{where}.spanId", 8)
    out.parent_span_id = _hex_id(span.get("parentSpanId"), f"{where}.parentSpanId", 8)
    out.trace_state = _str(span.get("traceState"), f"{where}.traceState")
    out.flags = _uint(span.get("flags"), f"{where}.flags", 32)
    out.name = _str(span.get("name"), f"{where}.name")
    out.kind = _enum(span.get("kind"), f"{where}.kind", _SPAN_KINDS)  # type: ignore[assignment]
    out.start_time_unix_nano = _uint(span.get("startTimeUnixNano"), f"{where}.startTimeUnixNano")
    out.end_time_unix_nano = _uint(span.get("endTimeUnixNano"), f"{where}.endTimeUnixNano")
    _key_values(out.attributes, span.get("attributes"), where)
    out.dropped_attributes_count = _uint(span.get("droppedAttributesCount"), where, 32)
    for event_where, event in _objects(span.get("events"), f"{where}.events"):
        out_event = out.events.add()
        out_event.time_unix_nano = _uint(event.get("timeUnixNano"), f"{event_where}.timeUnixNano")
        out_event.name = _str(event.get("name"), f"{event_where}.name")
        _key_values(out_event.attributes, event.get("attributes"), event_where)
    for link_where, link in _objects(span.get("links"), f"{where}.links"):
        out_link = out.links.add()
        out_link.trace_id = _hex_id(link.get("traceId"), f"{link_where}.traceId", 16)
        out_link.span_id = _hex_id(link.get("spanId"), f"{link_where}.spanId", 8)
        out_link.trace_state = _str(link.get("traceState"), f"{link_where}.traceState")
        _key_values(out_link.attributes, link.get("attributes"), link_where)
    if span.get("status") is not None:
        status = _obj(span["status"], f"{where}.status")
        out.status.message = _str(status.get("message"), f"{where}.status.message")
        out.status.code = _enum(status.get("code"), f"{where}.status.code", _STATUS_CODES)  # type: ignore[assignment]


def decode_json(body: bytes) -> ExportTraceServiceRequest:
    """Decode an OTLP/JSON ``ExportTraceServiceRequest``; raises :class:`DecodeError`."""
    try:
        data = json.loads(body)
    except UnicodeDecodeError:
        raise DecodeError("body is not valid UTF-8") from None
    except RecursionError:
        raise DecodeError("JSON nested too deeply") from None
    except ValueError as exc:
        raise DecodeError(f"invalid JSON: {exc}") from None
    try:
        return _request(data)
    except UnicodeEncodeError:  # "\ud800" escapes decode to lone surrogates, not UTF-8 text
        raise DecodeError("string is not valid Unicode (lone surrogate escape)") from None


def _request(data: Any) -> ExportTraceServiceRequest:
    request = ExportTraceServiceRequest()
    root = _obj(data, "body")
    for where, rs in _objects(root.get("resourceSpans"), "resourceSpans"):
        out_rs = request.resource_spans.add()
        out_rs.schema_url = _str(rs.get("schemaUrl"), f"{where}.schemaUrl")
        if rs.get("resource") is not None:
            resource = _obj(rs["resource"], f"{where}.resource")
            _key_values(out_rs.resource.attributes, resource.get("attributes"), f"{where}.resource")
        for scope_where, ss in _objects(rs.get("scopeSpans"), f"{where}.scopeSpans"):
            out_ss = out_rs.scope_spans.add()
            out_ss.schema_url = _str(ss.get("schemaUrl"), f"{scope_where}.schemaUrl")
            if ss.get("scope") is not None:
                scope = _obj(ss["scope"], f"{scope_where}.scope")
                out_ss.scope.name = _str(scope.get("name"), f"{scope_where}.scope.name")
                out_ss.scope.version = _str(scope.get("version"), f"{scope_where}.scope.version")
            for span_where, span in _objects(ss.get("spans"), f"{scope_where}.spans"):
                _span(out_ss.spans.add(), span, span_where)
    return request

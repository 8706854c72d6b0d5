"""A corpus of malformed collector requests: each must get a 4xx JSON error."""

from __future__ import annotations

import copy
import gzip
import json
import random
import time
import zlib
from dataclasses import dataclass, field

from google.protobuf.message import DecodeError
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.trace import Tracer

from tests.support.otlp import protobuf_body, record_spans

PROTOBUF = "application/x-protobuf"
JSON = "application/json"


@dataclass(frozen=True)
class Case:
    name: str
    body: bytes = b""
    content_type: str | None = PROTOBUF
    method: str = "POST"
    path: str = "/v1/traces"
    headers: dict[str, str] = field(default_factory=dict)
    params: dict[str, str] = field(default_factory=dict)

    def request_headers(self) -> dict[str, str]:
        headers = dict(self.headers)
        if self.content_type is not None:
            headers["Content-Type"] = self.content_type
        return headers


def _valid_request() -> ExportTraceServiceRequest:
    def emit(tracer: Tracer) -> None:
        with tracer.start_as_current_span("parent", attributes={"a": "b", "n": 3}):
            with tracer.start_as_current_span("child-span-name"):
                pass

    request = ExportTraceServiceRequest()
    request.ParseFromString(protobuf_body(record_spans(emit)))
    return request


def _not_protobuf(data: bytes) -> bool:
    try:
        ExportTraceServiceRequest().ParseFromString(data)
    except DecodeError:
        return True
    return False


def _span_json(**override: object) -> dict[str, object]:
    start = time.time_ns()  # relative to now: a fixed date would age past retention
    span: dict[str, object] = {
        "traceId": "0af7651916cd43dd8448eb211c80319c",
        "spanId": "b7ad6b7169203331",
        "name": "n",
        "kind": 1,
        "startTimeUnixNano": str(start),
        "endTimeUnixNano": str(start + 10**9),
    }
    span.update(override)
    return span


def _envelope(spans: list[object]) -> dict[str, object]:
    return {
        "resourceSpans": [
            {
                "resource": {
                    "attributes": [{"key": "service.name", "value": {"stringValue": "s"}}]
                },
                "scopeSpans": [{"scope": {"name": "x"}, "spans": spans}],
            }
        ]
    }


def _json(data: object) -> bytes:
    return json.dumps(data).encode()


def protobuf_cases() -> list[Case]:
    valid = _valid_request()
    raw = valid.SerializeToString()
    cases = [
        Case(f"truncated protobuf at {cut}/{len(raw)}", raw[:cut])
        for cut in sorted({1, 2, 3, 5, 8, 13, 21, 34, 55, 89, *range(100, len(raw) - 1, 17)})
        if cut < len(raw) and _not_protobuf(raw[:cut])
    ][:30]
    rng = random.Random(7)
    garbage = 0
    while garbage < 12:
        data = bytes(rng.randrange(256) for _ in range(rng.randrange(1, 400)))
        if _not_protobuf(data):
            cases.append(Case(f"random garbage #{garbage}", data))
            garbage += 1
    cases += [
        Case("wire type 7", b"\x0f\x01\x02"),
        Case("field number 0", b"\x02\x00"),
        Case("overlong varint", b"\x08" + b"\xff" * 11),
        Case("length beyond end", b"\x0a\xff\xff\xff\x0f\x00"),
        Case("nested length beyond end", b"\x0a\x04\x12\x10abc"),
    ]
    # Same length, so every enclosing length prefix stays right: only the UTF-8 is wrong.
    invalid_utf8 = raw.replace(b"child-span-name", b"\xff\xfe\xfdld-span-name")
    assert invalid_utf8 != raw
    cases.append(Case("invalid UTF-8 in span name", invalid_utf8))

    def mutated(label: str, change: object) -> Case:
        request = copy.deepcopy(valid)
        span = request.resource_spans[0].scope_spans[0].spans[0]
        change(span)  # type: ignore[operator]
        return Case(label, request.SerializeToString())

    cases += [
        mutated("trace id of 8 bytes", lambda s: setattr(s, "trace_id", b"\x01" * 8)),
        mutated("trace id all zero", lambda s: setattr(s, "trace_id", bytes(16))),
        mutated("trace id missing", lambda s: s.ClearField("trace_id")),
        mutated("span id of 16 bytes", lambda s: setattr(s, "span_id", b"\x01" * 16)),
        mutated("span id all zero", lambda s: setattr(s, "span_id", bytes(8))),
        mutated("parent id of 3 bytes", lambda s: setattr(s, "parent_span_id", b"\x01\x02\x03")),
        mutated("end before start", lambda s: setattr(s, "end_time_unix_nano", 1)),
        mutated(
            "10 000 attributes",
            lambda s: [
                s.attributes.add(key=f"k{i}").value.__setattr__("int_value", i)
                for i in range(10_000)
            ],
        ),
        mutated("10 000 events", lambda s: [s.events.add(name="e") for _ in range(10_000)]),
        mutated(
            "10 000 links",
            lambda s: [
                s.links.add(trace_id=b"\x01" * 16, span_id=b"\x02" * 8) for _ in range(10_000)
            ],
        ),
    ]
    # Second span bad: the first must not be stored either.
    request = copy.deepcopy(valid)
    request.resource_spans[0].scope_spans[0].spans[1].span_id = b"\x00" * 8
    cases.append(Case("valid span followed by an invalid one", request.SerializeToString()))

    bomb = gzip.compress(bytes(64 * 1024 * 1024), compresslevel=1)
    cases += [
        Case("gzip bomb 64 MB", bomb, headers={"Content-Encoding": "gzip"}),
        Case(
            "deflate bomb 64 MB",
            zlib.compress(bytes(64 * 1024 * 1024), 1),
            headers={"Content-Encoding": "deflate"},
        ),
        Case(
            "gzip of garbage", gzip.compress(b"\x0f\x01\x02"), headers={"Content-Encoding": "gzip"}
        ),
        Case("not gzip at all", raw, headers={"Content-Encoding": "gzip"}),
        Case("truncated gzip", gzip.compress(raw)[:-12], headers={"Content-Encoding": "gzip"}),
        Case(
            "gzip inside gzip",
            gzip.compress(gzip.compress(raw)),
            headers={"Content-Encoding": "gzip"},
        ),
        Case("unsupported encoding br", raw, headers={"Content-Encoding": "br"}),
        Case("unsupported encoding zstd", raw, headers={"Content-Encoding": "zstd"}),
        Case("content type text/plain", raw, content_type="text/plain"),
        Case("no content type", raw, content_type=None),
        Case("multipart content type", raw, content_type="multipart/form-data; boundary=x"),
        Case("protobuf sent as JSON", raw, content_type=JSON),
    ]
    return cases


def json_cases() -> list[Case]:
    wrong_types: list[tuple[str, object]] = [
        ("traceId", 123),
        ("traceId", "zz" * 16),
        ("traceId", "0af7"),
        ("traceId", []),
        ("spanId", {"x": 1}),
        ("spanId", "b7ad6b71692033"),
        ("parentSpanId", "xyz"),
        ("name", 5),
        ("name", ["a"]),
        ("kind", "SPAN_KIND_WHATEVER"),
        ("kind", 99),
        ("kind", True),
        ("startTimeUnixNano", "yesterday"),
        ("startTimeUnixNano", -5),
        ("startTimeUnixNano", 1.5),
        ("endTimeUnixNano", "2" * 30),
        ("attributes", {"a": "b"}),
        ("attributes", [{"key": 1, "value": {"stringValue": "x"}}]),
        ("attributes", [{"key": "k", "value": {"intValue": "twelve"}}]),
        ("attributes", [{"key": "k", "value": {"boolValue": "yes"}}]),
        ("attributes", [{"key": "k", "value": {"doubleValue": "pi"}}]),
        ("attributes", [{"key": "k", "value": {"arrayValue": {"values": "x"}}}]),
        ("attributes", [{"key": "k", "value": "plain"}]),
        ("events", "none"),
        ("events", [{"name": 1}]),
        ("events", [{"timeUnixNano": "soon"}]),
        ("links", [{"traceId": "nothex", "spanId": "b7ad6b7169203331"}]),
        ("status", "OK"),
        ("status", {"code": "STATUS_CODE_MAYBE"}),
        ("traceState", 7),
    ]
    cases = [
        Case(f"JSON {key}={value!r:.30}", _json(_envelope([_span_json(**{key: value})])), JSON)
        for key, value in wrong_types
    ]
    nested: object = {"stringValue": "leaf"}
    for _ in range(200):
        nested = {"kvlistValue": {"values": [{"key": "k", "value": nested}]}}
    cases += [
        Case("JSON top level array", b"[]", JSON),
        Case("JSON top level string", b'"x"', JSON),
        Case("JSON top level number", b"1", JSON),
        Case("JSON null", b"null", JSON),
        Case("JSON empty body", b"", JSON),
        Case("JSON trailing garbage", b"{}}", JSON),
        Case("JSON NaN", b'{"resourceSpans": NaN}', JSON),
        Case("JSON resourceSpans object", _json({"resourceSpans": {}}), JSON),
        Case("JSON scopeSpans string", _json({"resourceSpans": [{"scopeSpans": "x"}]}), JSON),
        Case("JSON spans of numbers", _json(_envelope([1, 2, 3])), JSON),
        Case("JSON invalid UTF-8", b'{"resourceSpans": [{"x": "\xff\xfe"}]}', JSON),
        Case("JSON lone surrogate escapes", _json(_envelope([_span_json(name="\ud800")])), JSON),
        Case("JSON deeply nested arrays", b"[" * 100_000 + b"]" * 100_000, JSON),
        Case("JSON deeply nested objects", b'{"a":' * 50_000 + b"1" + b"}" * 50_000, JSON),
        Case(
            "JSON attribute nested 200 deep",
            _json(_envelope([_span_json(attributes=[{"key": "k", "value": nested}])])),
            JSON,
        ),
        Case(
            "JSON 10 000 attributes",
            _json(
                _envelope(
                    [
                        _span_json(
                            attributes=[
                                {"key": f"k{i}", "value": {"intValue": i}} for i in range(10_000)
                            ]
                        )
                    ]
                )
            ),
            JSON,
        ),
        Case(
            "JSON valid span then invalid one",
            _json(_envelope([_span_json(), _span_json(spanId="0000000000000000")])),
            JSON,
        ),
    ]
    return cases


def query_cases() -> list[Case]:
    spans = "/api/v1/spans"
    bad_params = [
        {"limit": "0"},
        {"limit": "-1"},
        {"limit": "abc"},
        {"limit": "1000000000"},
        {"limit": "1e3"},
        {"from": "not-a-date"},
        {"from": "2026-01-01T00:00:00"},
        {"from": "2026-01-02T00:00:00Z", "to": "2026-01-01T00:00:00Z"},
        {"status": "MAYBE"},
        {"trace_id": "xyz"},
        {"cursor": "!!!"},
        {"cursor": "eyJ4IjogMX0"},
    ]
    cases = [
        Case(f"GET spans {params}", method="GET", path=spans, params=params, content_type=None)
        for params in bad_params
    ]
    cases += [
        Case("GET bad trace id", method="GET", path="/api/v1/traces/xyz", content_type=None),
        Case(
            "GET trace id too long",
            method="GET",
            path="/api/v1/traces/" + "a" * 64,
            content_type=None,
        ),
        Case(
            "GET unknown trace", method="GET", path="/api/v1/traces/" + "a" * 32, content_type=None
        ),
        Case("GET on the ingest route", method="GET", path="/v1/traces", content_type=None),
        Case("POST on the spans route", path=spans, content_type=JSON, body=b"{}"),
        Case("unknown route", method="GET", path="/api/v1/nothing", content_type=None),
        Case(
            "retention not a number",
            method="PUT",
            path="/api/v1/project/retention",
            content_type=JSON,
            body=b'{"retention_days": "x"}',
        ),
        Case(
            "retention invalid JSON",
            method="PUT",
            path="/api/v1/project/retention",
            content_type=JSON,
            body=b'{"retention_days":',
        ),
        Case(
            "key with unknown scope",
            path="/api/v1/keys",
            content_type=JSON,
            body=b'{"scope": "root"}',
        ),
        Case("key body not an object", path="/api/v1/keys", content_type=JSON, body=b"[1]"),
        Case(
            "revoke unknown key",
            method="DELETE",
            path="/api/v1/keys/" + "0" * 16,
            content_type=None,
        ),
        Case(
            "erase user id too long",
            method="DELETE",
            path="/api/v1/subjects/" + "u" * 600,
            content_type=None,
        ),
    ]
    return cases


def corpus() -> list[Case]:
    return protobuf_cases() + json_cases() + query_cases()

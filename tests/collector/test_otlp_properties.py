"""Property tests of the OTLP decoders (``collector/otlp/``) with hypothesis."""

from __future__ import annotations

import base64
import gzip
import json
from typing import Any

from google.protobuf.json_format import MessageToDict
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from tracerail.collector.otlp.decode import decode_request
from tracerail.collector.otlp.errors import DecodeError
from tracerail.collector.otlp.flatten import SPAN_COLUMNS, flatten
from tracerail.collector.otlp.json_decoder import decode_json

BOUNDED = settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
PROTOBUF = "application/x-protobuf"

text = st.text(st.characters(blacklist_categories=("Cs",)), max_size=20)
ids16 = st.binary(min_size=16, max_size=16).filter(any)
ids8 = st.binary(min_size=8, max_size=8).filter(any)
u64 = st.integers(min_value=0, max_value=2**63 - 1)

scalars = st.one_of(
    text.map(lambda v: ("string_value", v)),
    st.booleans().map(lambda v: ("bool_value", v)),
    st.integers(min_value=-(2**63), max_value=2**63 - 1).map(lambda v: ("int_value", v)),
    st.floats(allow_nan=False, allow_infinity=False).map(lambda v: ("double_value", v)),
    st.binary(max_size=16).map(lambda v: ("bytes_value", v)),
)
attributes = st.dictionaries(text, scalars, max_size=5)


@st.composite
def requests(draw: st.DrawFn) -> ExportTraceServiceRequest:
    request = ExportTraceServiceRequest()
    for _ in range(draw(st.integers(0, 2))):
        rs = request.resource_spans.add()
        _fill(rs.resource.attributes, draw(attributes))
        for _ in range(draw(st.integers(0, 2))):
            ss = rs.scope_spans.add()
            ss.scope.name = draw(text)
            for _ in range(draw(st.integers(0, 3))):
                span = ss.spans.add()
                span.trace_id = draw(ids16)
                span.span_id = draw(ids8)
                if draw(st.booleans()):
                    span.parent_span_id = draw(ids8)
                span.name = draw(text)
                span.kind = draw(st.integers(0, 5))
                start = draw(u64)
                span.start_time_unix_nano = start
                span.end_time_unix_nano = start + draw(st.integers(0, 10**12))
                span.status.code = draw(st.integers(0, 2))
                _fill(span.attributes, draw(attributes))
                for _ in range(draw(st.integers(0, 2))):
                    event = span.events.add()
                    event.name = draw(text)
                    event.time_unix_nano = draw(u64)
                    _fill(event.attributes, draw(attributes))
                if draw(st.booleans()):
                    link = span.links.add()
                    link.trace_id = draw(ids16)
                    link.span_id = draw(ids8)
    return request


def _fill(target: Any, values: dict[str, tuple[str, Any]]) -> None:
    for key, (field, value) in values.items():
        kv = target.add()
        kv.key = key
        setattr(kv.value, field, value)


def _to_otlp_json(request: ExportTraceServiceRequest) -> bytes:
    """OTLP/JSON as an exporter writes it: protobuf JSON mapping, but ids in hex."""
    data = MessageToDict(request)

    def fix(node: Any) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                if key in ("traceId", "spanId", "parentSpanId") and isinstance(value, str):
                    node[key] = base64.b64decode(value).hex()
                else:
                    fix(value)
        elif isinstance(node, list):
            for item in node:
                fix(item)

    fix(data)
    return json.dumps(data).encode()


@BOUNDED
@given(requests(), st.booleans())
def test_protobuf_round_trips(request: ExportTraceServiceRequest, gzipped: bool) -> None:
    raw = request.SerializeToString()
    body = gzip.compress(raw) if gzipped else raw
    decoded = decode_request(body, PROTOBUF, "gzip" if gzipped else None)
    assert decoded == request


@BOUNDED
@given(requests())
def test_json_decoder_agrees_with_protobuf(request: ExportTraceServiceRequest) -> None:
    assert decode_json(_to_otlp_json(request)) == request


@BOUNDED
@given(requests())
def test_flatten_gives_one_row_per_span_in_every_column(request: ExportTraceServiceRequest) -> None:
    columns = flatten(request, project="p", retention_days=30)
    spans = [span for rs in request.resource_spans for ss in rs.scope_spans for span in ss.spans]
    assert set(columns) == set(SPAN_COLUMNS)
    assert {len(values) for values in columns.values()} <= {len(spans)}
    assert columns["span_id"] == [s.span_id.hex() for s in spans]
    assert columns["trace_id"] == [s.trace_id.hex() for s in spans]


@BOUNDED
@given(st.binary(max_size=2048), st.sampled_from([PROTOBUF, "application/json"]), st.booleans())
def test_arbitrary_bytes_only_ever_raise_decode_error(
    body: bytes, content_type: str, gzipped: bool
) -> None:
    payload = gzip.compress(body) if gzipped else body
    try:
        request = decode_request(payload, content_type, "gzip" if gzipped else None)
    except DecodeError as exc:
        assert 400 <= exc.status < 500 and exc.detail
        return
    try:
        flatten(request, project="p", retention_days=30)
    except DecodeError as exc:
        assert exc.status == 400


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | text,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(text, children, max_size=4),
    max_leaves=30,
)
otlp_keys = st.sampled_from(
    [
        "resourceSpans",
        "scopeSpans",
        "spans",
        "traceId",
        "spanId",
        "attributes",
        "key",
        "value",
        "stringValue",
        "intValue",
        "kvlistValue",
        "arrayValue",
        "values",
        "events",
        "links",
        "kind",
        "startTimeUnixNano",
        "status",
        "code",
        "resource",
        "scope",
        "name",
    ]
)
otlp_shaped = st.recursive(
    st.none() | st.booleans() | st.integers() | text | st.just("0af7651916cd43dd8448eb211c80319c"),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(otlp_keys, children, max_size=4)
    ),
    max_leaves=40,
)


@BOUNDED
@given(st.one_of(json_values, otlp_shaped))
def test_arbitrary_json_only_ever_raises_decode_error(data: Any) -> None:
    try:
        request = decode_json(json.dumps(data).encode())
    except DecodeError as exc:
        assert exc.status == 400 and exc.detail
        return
    try:
        flatten(request, project="p", retention_days=30)
    except DecodeError as exc:
        assert exc.status == 400

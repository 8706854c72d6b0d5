"""OTLP decoding: protobuf from the real exporter encoder, OTLP/JSON with hex ids, errors."""

from __future__ import annotations

import gzip
import json
import zlib
from pathlib import Path

import pytest
from opentelemetry.trace import SpanKind, Status, StatusCode, Tracer

from tests.support.otlp import protobuf_body, record_spans
from tracerail.collector.otlp.decode import decode_request, decompress
from tracerail.collector.otlp.errors import (
    BodyTooLarge,
    DecodeError,
    InvalidSpan,
    UnsupportedContentType,
)
from tracerail.collector.otlp.flatten import SPAN_COLUMNS, flatten

DATA = Path(__file__).resolve().parent.parent / "data" / "otlp"
PB = "application/x-protobuf"


def _emit(tracer: Tracer) -> None:
    with tracer.start_as_current_span("parent", kind=SpanKind.SERVER) as parent:
        parent.set_attribute("user.id", "u-1")
        with tracer.start_as_current_span("chat gpt-4o", kind=SpanKind.CLIENT) as child:
            child.set_attribute("gen_ai.system", "openai")
            child.set_attribute("gen_ai.request.model", "gpt-4o")
            child.set_attribute("gen_ai.usage.prompt_tokens", 11)
            child.set_attribute("gen_ai.usage.completion_tokens", 7)
            child.set_attribute("gen_ai.input.messages", '[{"role":"user"}]')
            child.set_attribute("tags", ["a", "b"])
            child.add_event("note", {"k": "v"})
            child.set_status(Status(StatusCode.ERROR, "oops"))


def test_protobuf_from_real_encoder_round_trips() -> None:
    spans = record_spans(_emit, service_name="svc")
    request = decode_request(protobuf_body(spans), PB)
    columns = flatten(request, project="p", retention_days=7)
    assert set(columns) == set(SPAN_COLUMNS)
    rows = [
        dict(zip(columns, values, strict=True)) for values in zip(*columns.values(), strict=True)
    ]
    by_name = {row["name"]: row for row in rows}
    child, parent = by_name["chat gpt-4o"], by_name["parent"]
    assert child["trace_id"] == format(spans[0].context.trace_id, "032x")
    assert child["parent_span_id"] == parent["span_id"]
    assert parent["parent_span_id"] == ""
    assert child["kind"] == "CLIENT" and parent["kind"] == "SERVER"
    assert child["service_name"] == "svc"
    assert child["provider"] == "openai"  # legacy gen_ai.system
    assert (child["input_tokens"], child["output_tokens"]) == (11, 7)  # legacy token names
    assert child["observation_kind"] == "generation"
    assert child["input"] == '[{"role":"user"}]'
    assert "gen_ai.input.messages" not in child["attributes"]
    assert child["attributes"]["tags"] == '["a", "b"]'
    assert child["status_code"] == "ERROR" and child["status_message"] == "oops"
    assert child["event_names"] == ["note"] and child["event_attributes"] == [{"k": "v"}]
    assert parent["user_id"] == "u-1"
    assert child["retention_days"] == 7 and child["project"] == "p"
    assert child["duration_ns"] == spans[0].end_time - spans[0].start_time  # type: ignore[operator]


def test_gzip_and_deflate_bodies() -> None:
    raw = protobuf_body(record_spans(_emit))
    plain = decode_request(raw, PB)
    assert decode_request(gzip.compress(raw), PB, "gzip") == plain
    assert decode_request(zlib.compress(raw), PB, "deflate") == plain


def test_json_decoder_reads_hex_ids_and_all_value_types() -> None:
    body = (DATA / "trace.json").read_bytes()
    request = decode_request(body, "application/json; charset=utf-8")
    span = request.resource_spans[0].scope_spans[0].spans[0]
    assert span.trace_id.hex() == "5b8efff798038103d269b633813fc60c"
    assert span.span_id.hex() == "eee19b7ec3c1b174"
    assert span.parent_span_id.hex() == "eee19b7ec3c1b173"
    assert span.kind == 3
    assert span.status.code == 2
    assert span.links[0].trace_id.hex() == "5b8efff798038103d269b633813fc60d"
    (row_columns) = flatten(request, project="p", retention_days=30)
    row = {name: values[0] for name, values in row_columns.items()}
    assert row["service_name"] == "json-service"
    assert row["resource_attributes"]["host.cores"] == "2"
    assert (row["request_model"], row["input_tokens"], row["output_tokens"]) == ("gpt-4o", 120, 30)
    assert row["cost_usd"] == pytest.approx(0.0015)
    assert row["attributes"]["flag"] == "true"
    assert json.loads(row["attributes"]["list"]) == ["a", 1]
    assert json.loads(row["attributes"]["map"]) == {"k": "v"}
    assert row["timestamp"] == 1544712660000000000
    assert row["duration_ns"] == 1_000_000_000
    assert row["scope_name"] == "my.library"


def test_json_and_protobuf_decode_to_the_same_message() -> None:
    spans = record_spans(_emit)
    from_pb = decode_request(protobuf_body(spans), PB)
    # Re-express the protobuf message as OTLP/JSON (hex ids) and decode it again.
    from google.protobuf.json_format import MessageToDict

    data = MessageToDict(from_pb)
    for rs in data["resourceSpans"]:
        for ss in rs["scopeSpans"]:
            for span in ss["spans"]:
                for key in ("traceId", "spanId", "parentSpanId"):
                    if key in span:
                        import base64

                        span[key] = base64.b64decode(span[key]).hex()
    from_json = decode_request(json.dumps(data).encode(), "application/json")
    assert from_json == from_pb


@pytest.mark.parametrize(
    ("body", "content_type", "encoding", "error"),
    [
        (b"{}", "text/plain", None, UnsupportedContentType),
        (b"{}", None, None, UnsupportedContentType),
        (b"{}", "application/json", "br", UnsupportedContentType),
        (b"\x0a\xff\xff", PB, None, DecodeError),
        (b"not json", "application/json", None, DecodeError),
        (b"\xff\xfe", "application/json", None, DecodeError),
        (b"[]", "application/json", None, DecodeError),
        (b'{"resourceSpans": {}}', "application/json", None, DecodeError),
        (b"not gzip", PB, "gzip", DecodeError),
        (gzip.compress(b"x" * 10)[:-6], PB, "gzip", DecodeError),
        (
            b'{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"zz"}]}]}]}',
            "application/json",
            None,
            DecodeError,
        ),
        (
            b'{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"abcd"}]}]}]}',
            "application/json",
            None,
            DecodeError,
        ),
        (
            b'{"resourceSpans":[{"scopeSpans":[{"spans":[{"kind":"SPAN_KIND_NOPE"}]}]}]}',
            "application/json",
            None,
            DecodeError,
        ),
        (
            b'{"resourceSpans":[{"scopeSpans":[{"spans":[{"startTimeUnixNano":"-5"}]}]}]}',
            "application/json",
            None,
            DecodeError,
        ),
        (
            b'{"resourceSpans":[{"scopeSpans":[{"spans":[{"attributes":[{"key":"a","value":{"boolValue":"yes"}}]}]}]}]}',
            "application/json",
            None,
            DecodeError,
        ),
        (b"[" * 100_000 + b"]" * 100_000, "application/json", None, DecodeError),
    ],
)
def test_bad_bodies_raise_decode_errors(
    body: bytes, content_type: str | None, encoding: str | None, error: type[DecodeError]
) -> None:
    with pytest.raises(error) as info:
        decode_request(body, content_type, encoding)
    assert info.value.detail


def test_size_limits_before_and_after_decompression() -> None:
    with pytest.raises(BodyTooLarge):
        decode_request(b"x" * 2048, PB, max_bytes=1024)
    bomb = gzip.compress(b"\0" * 10_000_000)
    assert len(bomb) < 20_000
    with pytest.raises(BodyTooLarge):
        decompress(bomb, "gzip", 1_000_000)


@pytest.mark.parametrize("field", ["traceId", "spanId"])
def test_missing_or_zero_ids_are_invalid_spans(field: str) -> None:
    span = {
        "traceId": "5b8efff798038103d269b633813fc60c",
        "spanId": "eee19b7ec3c1b174",
        "name": "x",
    }
    span[field] = "0" * len(span[field])
    body = json.dumps({"resourceSpans": [{"scopeSpans": [{"spans": [span]}]}]}).encode()
    request = decode_request(body, "application/json")
    with pytest.raises(InvalidSpan):
        flatten(request, project="p", retention_days=1)

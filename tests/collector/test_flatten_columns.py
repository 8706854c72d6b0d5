"""The column-wise ``flatten`` and the Arrow table built from it keep the row-wise semantics.

``tests/support/flatten_reference.py`` is an independent row-at-a-time implementation (it reads
the request in protobuf's JSON mapping); ``flatten`` must give identical columns for every
input, including the validation errors.
"""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa
import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
from opentelemetry.proto.trace.v1.trace_pb2 import Span
from opentelemetry.trace import Link, SpanKind, Status, StatusCode, Tracer

from tests.support import flatten_reference
from tests.support.otlp import protobuf_body, record_spans
from tests.support.workload import record_template
from tracerail.collector.otlp.decode import decode_request
from tracerail.collector.otlp.errors import InvalidSpan
from tracerail.collector.otlp.flatten import (
    MAX_ATTRIBUTES,
    MAX_EVENTS,
    MAX_LINKS,
    SPAN_COLUMNS,
    flatten,
)
from tracerail.collector.store.arrow import spans_table

DATA = Path(__file__).resolve().parent.parent / "data" / "otlp"


def _every_kind_of_value(tracer: Tracer) -> None:
    with tracer.start_as_current_span("root", kind=SpanKind.SERVER) as root:
        root.set_attribute("openinference.span.kind", "RETRIEVER")
        root.set_attribute("flag", True)
        root.set_attribute("ratio", 0.1 + 0.2)
        root.set_attribute("empty", "")
        root.set_attribute("ints", [1, 2, 3])
        root.set_attribute("words", ['quote"d', "üñí", "back\\slash"])
        root.set_attribute("gen_ai.usage.input_tokens", 10**12)  # clamped to UInt32
        root.set_attribute("tracerail.cost.usd", float("nan"))  # not a cost
        with tracer.start_as_current_span(
            "chat m", kind=SpanKind.CLIENT, links=[Link(root.get_span_context())]
        ) as child:
            child.set_attribute("gen_ai.system", "legacy")
            child.set_attribute("llm.model_name", "m")
            child.set_attribute("input.value", "in")
            child.set_attribute("gen_ai.prompt", "shadowed by input.value")
            child.set_attribute("gen_ai.usage.prompt_tokens", "12")
            child.add_event("e1", {"n": 1, "b": False})
            child.add_event("e2")
            child.set_status(Status(StatusCode.ERROR, "bad"))
        with tracer.start_as_current_span("chat gpt-4o") as priced:  # cost from the price table
            priced.set_attribute("gen_ai.request.model", "gpt-4o")
            priced.set_attribute("gen_ai.usage.input_tokens", 1000)
            priced.set_attribute("gen_ai.usage.output_tokens", 10)
        with tracer.start_as_current_span("chat o3") as cached:  # the response model's price
            cached.set_attribute("gen_ai.request.model", "gpt-4o")
            cached.set_attribute("gen_ai.response.model", "o3")
            cached.set_attribute("gen_ai.usage.input_tokens", 1000)
            cached.set_attribute("gen_ai.usage.output_tokens", 100)
            cached.set_attribute("gen_ai.usage.cache_read.input_tokens", 800)
        with tracer.start_as_current_span("embed") as output_only:  # output tokens alone
            output_only.set_attribute("gen_ai.request.model", "gpt-4o-mini")
            output_only.set_attribute("gen_ai.usage.output_tokens", "7.9")
        with tracer.start_as_current_span("plain"):
            pass


def _requests() -> list[ExportTraceServiceRequest]:
    requests = [record_template(300)]
    other = ExportTraceServiceRequest()
    other.ParseFromString(protobuf_body(record_spans(_every_kind_of_value, "svc-a")))
    more = ExportTraceServiceRequest()
    more.ParseFromString(protobuf_body(record_spans(_every_kind_of_value, "svc-b")))
    other.resource_spans.extend(more.resource_spans)  # two resources in one request
    requests.append(other)
    for path in sorted(DATA.glob("*.json")):
        try:
            requests.append(decode_request(path.read_bytes(), "application/json"))
        except InvalidSpan:
            continue
    return requests


@pytest.mark.parametrize("index", range(len(_requests())))
def test_column_wise_flatten_equals_the_row_wise_reference(index: int) -> None:
    request = _requests()[index]
    ours = flatten(request, project="p", retention_days=9)
    assert ours == flatten_reference.flatten(request, project="p", retention_days=9)
    if index == 1:
        for priced in ("chat gpt-4o", "chat o3", "embed"):
            assert ours["cost_usd"][ours["name"].index(priced)] is not None


@pytest.mark.parametrize(
    ("field", "value"),
    [("trace_id", b"\0" * 16), ("span_id", b"\1" * 7), ("parent_span_id", b"\0" * 8)],
)
def test_bad_ids_are_rejected_like_the_reference(field: str, value: bytes) -> None:
    request = record_template(20)
    spans = request.resource_spans[0].scope_spans[0].spans
    setattr(spans[len(spans) // 2], field, value)
    with pytest.raises(InvalidSpan) as ours:
        flatten(request, project="p", retention_days=1)
    with pytest.raises(InvalidSpan) as reference:
        flatten_reference.flatten(request, project="p", retention_days=1)
    assert str(ours.value) == str(reference.value)


def _grow(request: ExportTraceServiceRequest, what: str) -> None:
    """One more attribute, event or link than ``flatten`` accepts, on a span or resource."""
    resource_spans = request.resource_spans[0]
    span = resource_spans.scope_spans[0].spans[0]
    many = [KeyValue(key=f"k{i}", value=AnyValue(int_value=i)) for i in range(MAX_ATTRIBUTES + 1)]
    if what == "span":
        span.attributes.extend(many)
    elif what == "resource":
        resource_spans.resource.attributes.extend(many)
    elif what == "event":
        span.events.add(name="crowded").attributes.extend(many)
    elif what == "events":
        span.events.extend(Span.Event(name=f"e{i}") for i in range(MAX_EVENTS + 1))
    else:
        link = Span.Link(trace_id=span.trace_id, span_id=span.span_id)
        span.links.extend([link] * (MAX_LINKS + 1))


@pytest.mark.parametrize("what", ["span", "resource", "event", "events", "links"])
def test_oversized_spans_are_rejected_like_the_reference(what: str) -> None:
    request = record_template(5)
    _grow(request, what)
    with pytest.raises(InvalidSpan, match="more than") as ours:
        flatten(request, project="p", retention_days=1)
    with pytest.raises(InvalidSpan) as reference:
        flatten_reference.flatten(request, project="p", retention_days=1)
    assert str(ours.value) == str(reference.value)


def test_end_before_start_is_rejected() -> None:
    request = record_template(10)
    span = request.resource_spans[0].scope_spans[0].spans[3]
    span.end_time_unix_nano = span.start_time_unix_nano - 1
    with pytest.raises(InvalidSpan, match="end time is before start time"):
        flatten(request, project="p", retention_days=1)


def test_arrow_table_holds_the_same_rows_with_explicit_types() -> None:
    request = ExportTraceServiceRequest()
    request.ParseFromString(protobuf_body(record_spans(_every_kind_of_value)))
    columns = flatten(request, project="p", retention_days=9)
    table = spans_table(columns)
    assert table.column_names == list(SPAN_COLUMNS)
    rows = table.to_pylist()
    child = next(row for row in rows if row["name"] == "chat m")
    expected = {name: columns[name][columns["name"].index("chat m")] for name in SPAN_COLUMNS}
    assert dict(child["attributes"]) == expected["attributes"]
    assert [dict(m) for m in child["event_attributes"]] == expected["event_attributes"]
    assert child["link_span_ids"] == expected["link_span_ids"]
    assert child["timestamp"].value == expected["timestamp"]  # type: ignore[union-attr]
    assert child["cost_usd"] is None
    assert json.loads(dict(rows[-1]["attributes"])["words"]) == ['quote"d', "üñí", "back\\slash"]
    empty = spans_table(flatten(ExportTraceServiceRequest(), project="p", retention_days=1))
    assert empty.num_rows == 0
    assert empty.schema == table.schema  # empty lists keep their types
    assert table.schema.field("event_attributes").type == pa.list_(
        pa.map_(pa.string(), pa.string())
    )

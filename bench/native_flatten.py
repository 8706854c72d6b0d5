"""Probe for issue 8: ClickHouse parsing OTLP protobuf itself, against Python.

    .venv/bin/python bench/native_flatten.py [--requests 10]

The same export requests (the ``bench/ingest.py`` workload, 1 000 spans each) are turned into
span columns, CPU per 1 000 spans:

* Python, as ingest does today: ``flatten`` (column-wise, over the upb-decoded request) and
  ``spans_table`` (Arrow);
* chDB, minimal: the requests' protobuf bytes concatenated (which parse as one request), read by
  ClickHouse's ``ProtobufSingle`` input format with the reduced OTLP schema of
  ``bench/native_sql.py`` and flattened in SQL (ids to hex, attribute maps, a few promoted
  columns, events) into a ``Null`` table. Not equivalent: ``AnyValue`` read as proto3
  scalars, no pricing, no validation;
* chDB, exact (``bench/native_sql.py``): SQL that gives the same Arrow table as ``flatten``,
  checked here against it (and its text of doubles against ``repr`` and ``json.dumps`` on
  60 000 doubles); once per request (as an ingest worker would run it) and once over
  all requests concatenated (as an insert of a logged segment could).
"""

from __future__ import annotations

import argparse
import gzip
import json
import math
import random
import struct
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

import chdb  # noqa: E402
import pyarrow as pa  # noqa: E402

from bench.native_sql import SCHEMA, NativeFlattener  # noqa: E402
from bench.workload import make_bodies, record_template  # noqa: E402
from tracerail.collector.otlp.decode import decode_request  # noqa: E402
from tracerail.collector.otlp.flatten import flatten  # noqa: E402
from tracerail.collector.store.arrow import spans_table  # noqa: E402

KV = (
    "Array(Tuple(key String, value Tuple(string_value String, bool_value Bool, "
    "int_value Int64, double_value Float64)))"
)
SPAN = (
    "Tuple(trace_id String, span_id String, trace_state String, parent_span_id String, "
    "name String, kind Int32, start_time_unix_nano UInt64, end_time_unix_nano UInt64, "
    f"attributes {KV}, events Array(Tuple(time_unix_nano UInt64, name String, attributes {KV})), "
    "links Array(Tuple(trace_id String, span_id String)), status Tuple(message String, code Int32))"
)
STRUCTURE = (
    f"resource_spans Array(Tuple(resource Tuple(attributes {KV}), scope_spans Array(Tuple("
    f"scope Tuple(name String, version String), spans Array({SPAN})))))"
)
VALUE = (
    "if(kv.value.bool_value, 'true', if(kv.value.int_value != 0, toString(kv.value.int_value), "
    "if(kv.value.double_value != 0, toString(kv.value.double_value), kv.value.string_value)))"
)
ATTRIBUTES = "mapFromArrays(arrayMap(kv -> kv.key, {0}), arrayMap(kv -> " + VALUE + ", {0}))"
COLUMNS = """
  hex(sp.trace_id) AS trace_id, hex(sp.span_id) AS span_id,
  hex(sp.parent_span_id) AS parent_span_id, sp.name AS name, sp.kind AS kind,
  fromUnixTimestamp64Nano(toInt64(sp.start_time_unix_nano)) AS timestamp,
  sp.end_time_unix_nano - sp.start_time_unix_nano AS duration_ns,
  {span_attributes} AS attributes,
  {resource_attributes}['service.name'] AS service_name,
  attributes['gen_ai.request.model'] AS request_model,
  toUInt32OrZero(attributes['gen_ai.usage.input_tokens']) AS input_tokens,
  toUInt32OrZero(attributes['gen_ai.usage.output_tokens']) AS output_tokens,
  attributes['gen_ai.input.messages'] AS input, attributes['gen_ai.output.messages'] AS output,
  arrayMap(e -> fromUnixTimestamp64Nano(toInt64(e.time_unix_nano)), sp.events) AS event_timestamps,
  arrayMap(e -> e.name, sp.events) AS event_names,
  arrayMap(e -> {event_attributes}, sp.events) AS event_attributes,
  sp.status.code AS status_code
""".format(
    span_attributes=ATTRIBUTES.format("sp.attributes"),
    resource_attributes=ATTRIBUTES.format("rs.resource.attributes"),
    event_attributes=ATTRIBUTES.format("e.attributes"),
)
SINK = """CREATE TABLE sink (trace_id String, span_id String, parent_span_id String, name String,
  kind Int32, timestamp DateTime64(9), duration_ns UInt64, attributes Map(String, String),
  service_name String, request_model String, input_tokens UInt32, output_tokens UInt32,
  input String, output String, event_timestamps Array(DateTime64(9)), event_names Array(String),
  event_attributes Array(Map(String, String)), status_code Int32) ENGINE = Null"""


def best_cpu_ms(run: object, rounds: int = 5) -> float:
    best = float("inf")
    for _ in range(rounds):
        started = time.process_time()
        run()  # type: ignore[operator]
        best = min(best, (time.process_time() - started) * 1000)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=int, default=10, help="1 000-span requests")
    args = parser.parse_args()
    bodies = [b.data for b in make_bodies(record_template(1000), args.requests)]
    requests = [decode_request(b, "application/x-protobuf", "gzip") for b in bodies]
    spans = sum(len(s.spans) for r in requests for rs in r.resource_spans for s in rs.scope_spans)
    per_k = 1000 / spans

    def python() -> None:
        for request in requests:
            spans_table(flatten(request, project="p", retention_days=30))

    with tempfile.TemporaryDirectory() as tmp:
        schema = Path(tmp) / "otlp_min.proto"
        schema.write_text(SCHEMA)
        data = Path(tmp) / "requests.bin"
        data.write_bytes(b"".join(gzip.decompress(b) for b in bodies))
        session = chdb.connect(":memory:")  # the server bench/native_sql.py connects to too
        session.query(SINK)
        select = (
            f"SELECT {COLUMNS} FROM (SELECT rs, arrayJoin(ss.spans) AS sp FROM (SELECT rs, "
            f"arrayJoin(rs.scope_spans) AS ss FROM (SELECT arrayJoin(resource_spans) AS rs "
            f"FROM file('{data}', 'ProtobufSingle', '{STRUCTURE}')))) "
            f"SETTINGS format_schema = '{schema}:ExportTraceServiceRequest'"
        )
        counted = session.query(
            f"SELECT count(), sum(length(attributes)), sum(length(event_names)) FROM ({select})",
            "CSV",
        )
        print(f"{spans} spans in {args.requests} requests; chDB read: {str(counted).strip()}")
        python_ms = best_cpu_ms(python) * per_k
        native_ms = best_cpu_ms(lambda: session.query(f"INSERT INTO sink {select}")) * per_k
        session.close()
    exact_one_ms, exact_all_ms = exact(requests, per_k)
    print("CPU per 1 000 spans")
    print(f"  Python flatten + Arrow table                {python_ms:6.1f} ms   (best of 5)")
    print(f"  chDB minimal SQL flatten (not equivalent)   {native_ms:6.1f} ms   (best of 5)")
    print(f"  chDB exact SQL flatten, one request a query {exact_one_ms:6.1f} ms   (mean)")
    print(f"  chDB exact SQL flatten, all in one query    {exact_all_ms:6.1f} ms   (best of 3)")
    print(
        f"  ratio Python / minimal {python_ms / native_ms:.1f}x, / exact in one query "
        f"{python_ms / exact_all_ms:.1f}x"
    )


def exact(requests: list[Any], per_k: float) -> tuple[float, float]:
    """CPU per 1 000 spans of ``bench/native_sql.py``, per request and batched; checks equality."""
    payloads = [r.SerializeToString(deterministic=True) for r in requests]
    expected = [spans_table(flatten(r, project="p", retention_days=30)) for r in requests]
    flattener = NativeFlattener()
    try:
        check_doubles(flattener)
        print(f"exact query: {len(flattener.sql):,} characters")
        started = time.process_time()
        tables = [flattener.spans(p, project="p", retention_days=30) for p in payloads]
        one_ms = (time.process_time() - started) * 1000 * per_k
        if not all(t is not None and t.equals(e) for t, e in zip(tables, expected, strict=True)):
            sys.exit("exact SQL flatten differs from flatten on this workload")
        joined = b"".join(payloads)
        all_ms = best_cpu_ms(
            lambda: flattener.spans(joined, project="p", retention_days=30), rounds=3
        )
        together = flattener.spans(joined, project="p", retention_days=30)
        if together is None or not together.equals(pa.concat_tables(expected)):
            sys.exit("exact SQL flatten of the joined requests differs from flatten")
    finally:
        flattener.close()
    print(f"exact SQL flatten equals flatten on all {len(requests)} requests, and joined")
    return one_ms, all_ms * per_k


def check_doubles(flattener: NativeFlattener) -> None:
    """The query writes doubles as ``repr`` and ``json.dumps`` do: edges, random bit patterns,
    rounded decimals and 1e-30..1e30; exits on the first difference."""
    rng = random.Random(7)
    values = [0.0, -0.0, 1.0, 1e16, 1e15, 1e-4, 9.999999999999999e-05, 1e-5, 0.1 + 0.2, 5e-324]
    values += [1.7976931348623157e308, 1e22, 3.75e-05, float("nan"), float("inf")]
    while len(values) < 20_000:
        value = struct.unpack("d", struct.pack("Q", rng.getrandbits(64)))[0]
        if math.isfinite(value):
            values.append(value)
    for _ in range(20_000):
        values.append(round(rng.uniform(-1e6, 1e6), rng.randint(0, 12)))
        values.append(rng.uniform(0, 1) * 10 ** rng.randint(-30, 30))
    texts, jsons = flattener.double_texts(values)
    for value, text, as_json in zip(values, texts, jsons, strict=True):
        if text != repr(value) or as_json != json.dumps(value):
            sys.exit(f"exact SQL writes {value!r} as {text!r} / {as_json!r}")
    print(f"exact SQL writes all {len(values):,} doubles as repr and json.dumps do")


if __name__ == "__main__":
    main()

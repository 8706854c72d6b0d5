"""Probe for issue 8: walking the OTLP protobuf in compiled code instead of through upb.

    .venv/bin/pip install cython          # only this probe needs it
    .venv/bin/python bench/wire_walk.py [--requests 20]

``flatten`` spends part of its time reading the upb message from Python (attribute maps as
``attributes_map`` writes them, ids, names, times, events, status) and the rest in its column
logic. ``bench/wire_walk_ext.pyx`` (compiled here with Cython's ``pyximport``) reads the same
fields straight from the request bytes. Both walks are checked equal on the ``bench/ingest.py``
workload, then timed, CPU per 1 000 spans, next to the whole ``flatten`` + Arrow table.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (  # noqa: E402
    ExportTraceServiceRequest,
)

from bench.native_flatten import best_cpu_ms  # noqa: E402
from bench.workload import make_bodies, record_template  # noqa: E402
from tracerail.collector.otlp.decode import decompress  # noqa: E402
from tracerail.collector.otlp.flatten import attributes_map, flatten  # noqa: E402
from tracerail.collector.store.arrow import spans_table  # noqa: E402


def upb_walk(raw: bytes) -> tuple[list[tuple[Any, ...]], list[dict[str, str]]]:
    """The same data read the way ``flatten`` reads it: upb parse, then Python."""
    request = ExportTraceServiceRequest.FromString(raw)
    spans: list[tuple[Any, ...]] = []
    resources: list[dict[str, str]] = []
    for resource_spans in request.resource_spans:
        resource = attributes_map(resource_spans.resource.attributes)
        for scope_spans in resource_spans.scope_spans:
            for s in scope_spans.spans:
                events = [
                    (e.time_unix_nano, e.name, attributes_map(e.attributes)) for e in s.events
                ]
                spans.append(
                    (s.trace_id, s.span_id, s.parent_span_id, s.trace_state, s.name, s.kind,
                     s.start_time_unix_nano, s.end_time_unix_nano, attributes_map(s.attributes),
                     events, len(s.links), s.status.code, s.status.message)
                )  # fmt: skip
                resources.append(resource)
    return spans, resources


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=int, default=20, help="1 000-span requests")
    args = parser.parse_args()
    try:
        import pyximport
    except ImportError:
        sys.exit("this probe needs Cython: .venv/bin/pip install cython")
    with tempfile.TemporaryDirectory() as build:
        pyximport.install(build_dir=build, language_level=3)
        from bench import wire_walk_ext as wire_walk  # type: ignore[attr-defined]

        raws = [
            decompress(b.data, "gzip", 1 << 26)
            for b in make_bodies(record_template(1000), args.requests)
        ]
        requests = [ExportTraceServiceRequest.FromString(r) for r in raws]
        spans = sum(
            len(s.spans) for r in requests for rs in r.resource_spans for s in rs.scope_spans
        )
        for raw in raws:
            if wire_walk.walk(raw) != upb_walk(raw):
                sys.exit("the compiled walk differs from the upb walk on this workload")
        print(f"compiled walk equals the upb walk on all {len(raws)} requests")
        per_k = 1000 / spans
        upb_ms = best_cpu_ms(lambda: [upb_walk(r) for r in raws]) * per_k
        compiled_ms = best_cpu_ms(lambda: [wire_walk.walk(r) for r in raws]) * per_k
        flatten_ms = (
            best_cpu_ms(
                lambda: [spans_table(flatten(q, project="p", retention_days=1)) for q in requests]
            )
            * per_k
        )
    print("CPU per 1 000 spans, best of 5")
    print(f"  upb parse + Python walk           {upb_ms:6.1f} ms")
    print(
        f"  compiled walk of the wire format  {compiled_ms:6.1f} ms   ({upb_ms / compiled_ms:.1f}x)"
    )
    print(f"  for scale: flatten + Arrow table  {flatten_ms:6.1f} ms   (after a upb parse)")


if __name__ == "__main__":
    main()

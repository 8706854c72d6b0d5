"""atheris (libFuzzer) target for the OTLP decoders: any bytes → DecodeError or rows.

Run by hand for longer: ``python tests/fuzz/atheris_otlp.py -atheris_runs=1000000``.
"""

from __future__ import annotations

import sys

import atheris

# Third-party modules first, uninstrumented: instrumenting them all takes most of a minute.
import clickhouse_connect  # noqa: F401
import fastapi  # noqa: F401
import opentelemetry.proto.collector.trace.v1.trace_service_pb2  # noqa: F401
import pydantic_settings  # noqa: F401

with atheris.instrument_imports():
    from tracerail.collector.otlp.decode import decode_request
    from tracerail.collector.otlp.errors import DecodeError
    from tracerail.collector.otlp.flatten import flatten

CONTENT_TYPES = ("application/x-protobuf", "application/json")
ENCODINGS = (None, "gzip", "deflate")


def test_one_input(data: bytes) -> None:
    provider = atheris.FuzzedDataProvider(data)
    content_type = CONTENT_TYPES[provider.ConsumeIntInRange(0, 1)]
    encoding = ENCODINGS[provider.ConsumeIntInRange(0, 2)]
    body = provider.ConsumeBytes(provider.remaining_bytes())
    try:
        request = decode_request(body, content_type, encoding, max_bytes=1 << 20)
        flatten(request, project="fuzz", retention_days=30)
    except DecodeError:
        pass


if __name__ == "__main__":
    atheris.Setup(sys.argv, test_one_input)
    atheris.Fuzz()

"""Request bytes + headers → ``ExportTraceServiceRequest``: content type, gzip, size limits."""

from __future__ import annotations

import zlib

from google.protobuf.message import DecodeError as ProtobufDecodeError
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from tracerail.collector.otlp.errors import BodyTooLarge, DecodeError, UnsupportedContentType
from tracerail.collector.otlp.json_decoder import decode_json

PROTOBUF = "application/x-protobuf"
JSON = "application/json"


def media_type(content_type: str | None) -> str:
    """The bare media type of a Content-Type header, lower-cased."""
    return (content_type or "").split(";", 1)[0].strip().lower()


def decompress(body: bytes, content_encoding: str | None, max_bytes: int) -> bytes:
    """Undo ``gzip``/``deflate`` encoding, refusing output larger than ``max_bytes``."""
    encoding = (content_encoding or "identity").strip().lower()
    if encoding in ("", "identity"):
        return body
    if encoding not in ("gzip", "deflate"):
        raise UnsupportedContentType(f"unsupported Content-Encoding {encoding!r}")
    wbits = 16 + zlib.MAX_WBITS if encoding == "gzip" else zlib.MAX_WBITS
    inflater = zlib.decompressobj(wbits)
    try:
        out = inflater.decompress(body, max_bytes + 1)
    except zlib.error as exc:
        raise DecodeError(f"invalid {encoding} body: {exc}") from None
    if len(out) > max_bytes or inflater.unconsumed_tail:
        raise BodyTooLarge(f"decompressed body exceeds {max_bytes} bytes")
    if not inflater.eof:
        raise DecodeError(f"truncated {encoding} body")
    return out


def decode_request(
    body: bytes,
    content_type: str | None,
    content_encoding: str | None = None,
    *,
    max_bytes: int = 16 * 1024 * 1024,
) -> ExportTraceServiceRequest:
    """Decode an OTLP/HTTP traces request body (protobuf or JSON, optionally compressed)."""
    kind = media_type(content_type)
    if kind not in (PROTOBUF, JSON):
        raise UnsupportedContentType(
            f"Content-Type {kind or '(none)'!r} is not supported; use {PROTOBUF} or {JSON}"
        )
    if len(body) > max_bytes:
        raise BodyTooLarge(f"body exceeds {max_bytes} bytes")
    raw = decompress(body, content_encoding, max_bytes)
    if kind == JSON:
        return decode_json(raw)
    request = ExportTraceServiceRequest()
    try:
        request.ParseFromString(raw)
    except (ProtobufDecodeError, RecursionError) as exc:
        raise DecodeError(f"invalid protobuf: {exc}") from None
    return request


def encode_response(content_type: str) -> tuple[bytes, str]:
    """An empty (full success) export response in the request's encoding."""
    if content_type == JSON:
        return b"{}", JSON
    from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
        ExportTraceServiceResponse,
    )

    return ExportTraceServiceResponse().SerializeToString(), PROTOBUF

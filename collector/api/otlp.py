"""``POST /v1/traces``: OTLP/HTTP (protobuf or JSON, optionally gzip)."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from tracerail.collector.accept import accept
from tracerail.collector.api.deps import BatcherDep, IngestProjectDep, KeyRingDep, SettingsDep
from tracerail.collector.api.errors import ApiError
from tracerail.collector.ingest import IngestBusy, IngestUnavailable
from tracerail.collector.otlp.decode import encode_response, media_type
from tracerail.collector.otlp.errors import BodyTooLarge, DecodeError

router = APIRouter(tags=["ingest"])


async def read_body(request: Request, limit: int) -> bytes:
    """The request body, refusing more than ``limit`` bytes without reading it all."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise BodyTooLarge(f"body of {declared} bytes exceeds the limit of {limit} bytes")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise BodyTooLarge(f"body exceeds the limit of {limit} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


@router.post("/v1/traces", summary="Receive OTLP/HTTP trace data")
async def receive_traces(
    request: Request,
    settings: SettingsDep,
    batcher: BatcherDep,
    keyring: KeyRingDep,
    project: IngestProjectDep,
) -> Response:
    retry = {"Retry-After": str(settings.retry_after_seconds)}
    try:
        await accept(
            batcher,
            lambda: read_body(request, settings.max_body_bytes),
            content_type=request.headers.get("content-type"),
            content_encoding=request.headers.get("content-encoding"),
            project=project,
            retention_days=keyring.retention_days,
        )
    except DecodeError as exc:
        raise ApiError(exc.status, exc.error, exc.detail) from None
    except IngestBusy as exc:
        raise ApiError(429, "too_busy", str(exc), retry) from None
    except IngestUnavailable as exc:
        raise ApiError(503, "storage_unavailable", str(exc), retry) from None
    payload, response_type = encode_response(media_type(request.headers.get("content-type")))
    return Response(payload, media_type=response_type)

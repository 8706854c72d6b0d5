"""``POST /v1/traces``: OTLP/HTTP (protobuf or JSON, optionally gzip)."""

from __future__ import annotations

import asyncio

from fastapi import APIRouter, Request, Response

from tracerail.collector.api.deps import BatcherDep, IngestProjectDep, KeyRingDep, SettingsDep
from tracerail.collector.api.errors import ApiError
from tracerail.collector.auth import KeyRing
from tracerail.collector.ingest import (
    Batch,
    IngestBatcher,
    IngestBusy,
    IngestUnavailable,
    prepare_batch,
)
from tracerail.collector.otlp.decode import encode_response, media_type
from tracerail.collector.otlp.errors import BodyTooLarge, DecodeError
from tracerail.collector.settings import Settings

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


async def _read_and_prepare(
    request: Request, settings: Settings, batcher: IngestBatcher, keyring: KeyRing, project: str
) -> Batch:
    """Body → batch, at most ``max_inflight_requests`` at a time (429 beyond)."""
    retry = {"Retry-After": str(settings.retry_after_seconds)}
    if (
        batcher.backlog_spans >= settings.max_queue_spans
        or batcher.decoding >= settings.max_inflight_requests
    ):
        # Refused before the body is read, so memory stays bounded under overload.
        raise ApiError(429, "too_busy", "ingest is at capacity; retry later", retry)
    batcher.decoding += 1
    try:
        body = await read_body(request, settings.max_body_bytes)
        retention = await asyncio.to_thread(keyring.retention_days, project)
        return await prepare_batch(
            batcher,
            body,
            content_type=request.headers.get("content-type"),
            content_encoding=request.headers.get("content-encoding"),
            max_bytes=settings.max_body_bytes,
            project=project,
            retention_days=retention,
        )
    finally:
        batcher.decoding -= 1


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
        batch = await _read_and_prepare(request, settings, batcher, keyring, project)
        await batcher.submit(batch)
    except DecodeError as exc:
        raise ApiError(exc.status, exc.error, exc.detail) from None
    except IngestBusy as exc:
        raise ApiError(429, "too_busy", str(exc), retry) from None
    except IngestUnavailable as exc:
        raise ApiError(503, "storage_unavailable", str(exc), retry) from None
    payload, response_type = encode_response(media_type(request.headers.get("content-type")))
    return Response(payload, media_type=response_type)

"""The one ingest path of every transport: admit, read, prepare and submit an export request.

OTLP/HTTP (:mod:`~tracerail.collector.api.otlp`) and OTLP/gRPC
(:mod:`~tracerail.collector.api.otlp_grpc`) call :func:`accept` and only map its exceptions to
status codes, so admission, preparation and durability are the same for both.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from tracerail.collector.ingest import IngestBatcher, IngestBusy, IngestUnavailable
from tracerail.collector.prepare import Export, WorkerLost

__all__ = ["accept"]


async def accept(
    batcher: IngestBatcher,
    read_body: Callable[[], Awaitable[bytes]],
    *,
    content_type: str | None,
    content_encoding: str | None = None,
    project: str,
    retention_days: Callable[[str], int],
) -> int:
    """Admit, read, prepare and submit one export request; returns its span count.

    The one ingest path of every transport (OTLP/HTTP, OTLP/gRPC); they only map its
    exceptions to status codes. Admission comes first, before the body is read, so memory
    stays bounded under overload: :class:`IngestBusy` when ``max_queue_spans`` are waiting or
    ``max_inflight_requests`` requests are being read and prepared. Then
    :class:`~tracerail.collector.otlp.errors.DecodeError` for an undecodable body or invalid
    spans (nothing is written), :class:`IngestBusy` when the queue fills meanwhile, and
    :class:`IngestUnavailable` when a worker died or storage is down and the WAL is full.
    """
    if (
        batcher.backlog_spans >= batcher.limits.max_queue_spans
        or batcher.decoding >= batcher.limits.max_inflight_requests
    ):
        raise IngestBusy("ingest is at capacity; retry later")
    batcher.decoding += 1
    try:
        body = await read_body()
        retention = await asyncio.to_thread(retention_days, project)
        export = Export(
            body,
            content_type,
            project,
            retention,
            max_bytes=batcher.limits.max_body_bytes,
            content_encoding=content_encoding,
        )
        try:
            batch = await batcher.pool.prepare_body(export)
        except WorkerLost as exc:
            raise IngestUnavailable(str(exc)) from None
    finally:
        batcher.decoding -= 1
    await batcher.submit(batch)
    return batch.rows

"""Ingest: decoded rows → batched, durable insert → acknowledgement.

Requests hand their rows to :class:`IngestBatcher` and wait. A single writer task takes
everything queued at that moment and inserts it in one statement (group commit), so batches
grow with load without adding latency when idle. A request is acknowledged only after the
insert holding its rows succeeded; if it fails, every request in that batch gets the error.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field

import pyarrow as pa
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from tracerail.collector.ledger import by_project
from tracerail.collector.prepare import Prepared, prepare_request
from tracerail.collector.scores import empty_score_columns
from tracerail.collector.store.clickhouse import ClickHouseStore
from tracerail.collector.store.ledger import LedgerWriter

logger = logging.getLogger("tracerail.collector")


class IngestUnavailable(RuntimeError):
    """Storage refused the batch; the client should retry later."""


@dataclass
class _Pending:
    prepared: Prepared
    done: asyncio.Future[None] = field(
        default_factory=lambda: asyncio.get_running_loop().create_future()
    )


class IngestBatcher:
    """Group-commit writer for the spans table."""

    def __init__(self, store: ClickHouseStore, *, max_batch_rows: int = 20_000) -> None:
        self.store = store
        self.ledger = LedgerWriter(store)
        self.max_batch_rows = max_batch_rows
        self._queue: asyncio.Queue[_Pending] | None = None
        self._task: asyncio.Task[None] | None = None
        self.spans_written = 0
        self.batches_written = 0

    async def start(self) -> None:
        self._queue = asyncio.Queue()
        self._task = asyncio.create_task(self._run(), name="tracerail-ingest-writer")

    async def stop(self) -> None:
        """Write what is queued, then stop the writer."""
        if self._task is None or self._queue is None:
            return
        await self._queue.join()
        self._task.cancel()
        try:
            await self._task
        except asyncio.CancelledError:
            pass
        self._task = None

    async def submit(self, prepared: Prepared) -> None:
        """Queue rows and wait until they are stored; raises :class:`IngestUnavailable`."""
        if prepared.rows == 0:
            return
        if self._queue is None:
            raise IngestUnavailable("ingest is not running")
        pending = _Pending(prepared)
        await self._queue.put(pending)
        await pending.done

    async def _run(self) -> None:
        assert self._queue is not None
        queue = self._queue
        while True:
            batch = [await queue.get()]
            size = batch[0].prepared.rows
            while size < self.max_batch_rows and not queue.empty():
                item = queue.get_nowait()
                batch.append(item)
                size += item.prepared.rows
            try:
                await asyncio.to_thread(self._write, batch)
            except Exception as exc:
                logger.exception("insert of %d spans failed", size)
                for item in batch:
                    if not item.done.done():
                        item.done.set_exception(IngestUnavailable(f"storage write failed: {exc}"))
            else:
                self.spans_written += size
                self.batches_written += 1
                for item in batch:
                    if not item.done.done():
                        item.done.set_result(None)
            finally:
                for _ in batch:
                    queue.task_done()

    def _write(self, batch: list[_Pending]) -> None:
        # Derived rows were made with the columns (see prepare.py), before anything is
        # written: score rows from ``tracerail.score`` events, and the ledger batch (per
        # project) of provenance records and guardrail decisions. The ledger header goes
        # last, so a batch is in the chain only once everything before it is stored.
        table = pa.concat_tables([item.prepared.table for item in batch])
        ledger_rows = [row for item in batch for row in item.prepared.ledger_rows]
        scores = empty_score_columns()
        for item in batch:
            for problem in item.prepared.score_problems:
                logger.warning("score event dropped: %s", problem)
            for name, values in item.prepared.scores.items():
                scores[name].extend(values)
        self.store.insert_arrow("spans", table)
        # Spans first: a failure after this point makes the client retry, and duplicate span
        # rows are collapsed on read, while decisions are only written once spans are stored.
        decisions = pa.concat_tables([item.prepared.guardrails for item in batch])
        if decisions.num_rows:
            self.store.insert_arrow("guardrail_events", decisions)
        if scores["score_id"]:
            self.store.insert_columns("scores", scores)
        for rows in by_project(ledger_rows).values():
            self.ledger.append(rows)


async def accept(
    batcher: IngestBatcher,
    request: ExportTraceServiceRequest,
    *,
    project: str,
    retention_days: int,
) -> int:
    """Validate, flatten and durably store one decoded export request; returns span count.

    Every transport (OTLP/HTTP, OTLP/gRPC) goes through here. Raises
    :class:`~tracerail.collector.otlp.errors.DecodeError` for invalid spans before anything is
    written, and :class:`IngestUnavailable` when storage refuses the batch.
    """
    prepared = await asyncio.to_thread(
        prepare_request, request, project=project, retention_days=retention_days
    )
    await batcher.submit(prepared)
    return prepared.rows

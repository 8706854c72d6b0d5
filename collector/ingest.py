"""Ingest: decoded request → bounded queue → idempotent insert or fsynced WAL → acknowledgement.

The acknowledgement rule (keep it when optimizing this path): a request is answered 200 only
after its spans are either inserted into ClickHouse or appended to the write-ahead log and
``fsync``-ed. Everything else answers 429/503 with ``Retry-After`` and stores nothing.

* Idempotency: each request becomes one :class:`Batch` whose ``batch_id`` is the SHA-256 of its
  project and deterministic protobuf bytes. The batch is inserted as one statement with
  ``insert_deduplication_token = batch_id`` (and the dependent trace-index view deduplicated
  too), so a WAL replay of an already inserted batch, or the exporter re-sending a request whose
  answer it never got, does not store a span twice. Batches are therefore not merged into one
  insert: a merged insert would carry one token for a set of requests that a retry does not
  reproduce.
* Group commit: one writer task takes everything queued, inserts batch by batch in one worker
  thread; on the first failure storage is marked down and the rest of the group goes to the
  WAL in one ``write`` + ``fsync``.
* While storage is down every group goes straight to the WAL. A replay task retries every
  ``replay_interval_seconds``: it (re)applies migrations, inserts the WAL oldest first and marks
  storage up when the log is empty. It also runs once at start.
* Bounds: more than ``max_queue_spans`` waiting → :class:`IngestBusy` (429); WAL full while
  storage is down → :class:`IngestUnavailable` (503). Shutdown drains the queue first.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import threading
from dataclasses import dataclass, field

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from tracerail.collector.ledger import by_project, rows_from_columns
from tracerail.collector.otlp.flatten import SpanColumns, flatten
from tracerail.collector.otlp.guardrails import guardrail_columns
from tracerail.collector.scores import scores_from_columns
from tracerail.collector.store.arrow import spans_table
from tracerail.collector.store.clickhouse import ClickHouseStore
from tracerail.collector.store.hallucination_stats import write_scores
from tracerail.collector.store.ledger import LedgerWriter
from tracerail.collector.wal import WalFull, WalRecord, WriteAheadLog

logger = logging.getLogger("tracerail.collector")


class IngestUnavailable(RuntimeError):
    """Storage is down and the WAL cannot take more (or ingest is stopping): answer 503."""


class IngestBusy(RuntimeError):
    """Too many spans are waiting for a write: answer 429."""


def dedup_settings(batch_id: str) -> dict[str, object]:
    """Insert settings that make a repeated insert of ``batch_id`` a no-op."""
    return {
        "insert_deduplicate": 1,
        "insert_deduplication_token": batch_id,
        "deduplicate_blocks_in_dependent_materialized_views": 1,
    }


@dataclass
class Batch:
    """The spans of one export request, ready to insert or log."""

    batch_id: str
    project: str
    retention_days: int
    payload: bytes
    columns: SpanColumns
    rows: int

    def record(self) -> WalRecord:
        return WalRecord(self.batch_id, self.project, self.retention_days, self.rows, self.payload)


def batch_id(project: str, payload: bytes) -> str:
    return hashlib.sha256(project.encode() + b"\0" + payload).hexdigest()


def prepare(request: ExportTraceServiceRequest, *, project: str, retention_days: int) -> Batch:
    """Validate and flatten; raises :class:`~tracerail.collector.otlp.errors.InvalidSpan`."""
    columns = flatten(request, project=project, retention_days=retention_days)
    payload = request.SerializeToString(deterministic=True)
    return Batch(
        batch_id(project, payload),
        project,
        retention_days,
        payload,
        columns,
        len(columns["span_id"]),
    )


def _from_record(record: WalRecord) -> Batch:
    request = ExportTraceServiceRequest()
    request.ParseFromString(record.payload)
    return prepare(request, project=record.project, retention_days=record.retention_days)


@dataclass
class _Pending:
    batch: Batch
    done: asyncio.Future[None] = field(
        default_factory=lambda: asyncio.get_running_loop().create_future()
    )


@dataclass
class IngestStats:
    spans_inserted: int = 0
    spans_logged: int = 0
    spans_replayed: int = 0
    batches_rejected_busy: int = 0
    batches_rejected_unavailable: int = 0


class IngestBatcher:
    """Bounded, idempotent, WAL-backed writer for the spans table."""

    def __init__(
        self,
        store: ClickHouseStore,
        wal: WriteAheadLog,
        *,
        max_batch_rows: int = 20_000,
        max_queue_spans: int = 200_000,
        replay_interval: float = 1.0,
    ) -> None:
        self.store = store
        self.ledger = LedgerWriter(store)
        self.wal = wal
        self.max_batch_rows = max_batch_rows
        self.max_queue_spans = max_queue_spans
        self.replay_interval = replay_interval
        self.storage_ok = True
        self.stats = IngestStats()
        self.queued_spans = 0
        self.decoding = 0  # requests being read and decoded (counted by the HTTP route)
        self._queue: asyncio.Queue[_Pending] | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._stopping = False
        self._replay_lock = threading.Lock()

    async def start(self) -> None:
        self._queue = asyncio.Queue()
        self._stopping = False
        self._tasks = [
            asyncio.create_task(self._run(), name="tracerail-ingest-writer"),
            asyncio.create_task(self._replay_loop(), name="tracerail-wal-replay"),
        ]

    async def stop(self) -> None:
        """Refuse new work, write (or log) everything queued, then stop."""
        if self._queue is None:
            return
        self._stopping = True
        await self._queue.join()
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            try:
                await task
            except asyncio.CancelledError:
                pass
        self._tasks = []
        self._queue = None
        self.wal.close()

    async def submit(self, batch: Batch) -> None:
        """Queue a batch and wait until it is durable; raises IngestBusy / IngestUnavailable."""
        if batch.rows == 0:
            return
        if self._queue is None or self._stopping:
            raise IngestUnavailable("ingest is not running")
        if self.queued_spans > 0 and self.queued_spans + batch.rows > self.max_queue_spans:
            self.stats.batches_rejected_busy += 1
            raise IngestBusy(f"{self.queued_spans} spans are waiting to be written")
        pending = _Pending(batch)
        self.queued_spans += batch.rows  # released by the writer once the batch is handled
        await self._queue.put(pending)
        await pending.done

    async def _run(self) -> None:
        assert self._queue is not None
        queue = self._queue
        while True:
            group = [await queue.get()]
            size = group[0].batch.rows
            while size < self.max_batch_rows and not queue.empty():
                item = queue.get_nowait()
                group.append(item)
                size += item.batch.rows
            try:
                outcomes = await asyncio.to_thread(self._write_group, [p.batch for p in group])
            except Exception as exc:  # never let the writer die
                logger.exception("ingest writer failed")
                outcomes = [exc] * len(group)
            for item, outcome in zip(group, outcomes, strict=True):
                self.queued_spans -= item.batch.rows
                if not item.done.done():
                    if outcome is None:
                        item.done.set_result(None)
                    else:
                        item.done.set_exception(outcome)
                queue.task_done()

    def insert(self, batch: Batch) -> None:
        """Idempotent inserts of one batch and the rows derived from it.

        Derived rows come from the flattened columns before anything is written: guardrail
        decisions, score rows from ``tracerail.score`` events, and the batch's ledger rows.
        Spans go first; every insert carries the batch id as its dedup token (the ledger
        skips a batch id it already holds), so a retry or replay after a failure half-way
        completes the batch without writing anything twice.
        """
        ledger_rows = rows_from_columns(batch.columns)
        scores, problems = scores_from_columns(batch.columns)
        for problem in problems:
            logger.warning("score event dropped: %s", problem)
        token = dedup_settings(batch.batch_id)
        self.store.insert_arrow("spans", spans_table(batch.columns), settings=token)
        decisions = guardrail_columns(batch.columns)
        if decisions["check_name"]:
            self.store.insert_columns("guardrail_events", decisions, settings=token)
        write_scores(self.store, scores, settings=token)
        for rows in by_project(ledger_rows).values():
            self.ledger.append(rows, batch_id=batch.batch_id)

    def _write_group(self, batches: list[Batch]) -> list[Exception | None]:
        outcomes: list[Exception | None] = [None] * len(batches)
        first_unwritten = 0
        if self.storage_ok:
            for index, batch in enumerate(batches):
                try:
                    self.insert(batch)
                except Exception as exc:
                    logger.warning("storage insert failed, logging to the WAL instead: %s", exc)
                    self.storage_ok = False
                    break
                self.stats.spans_inserted += batch.rows
                first_unwritten = index + 1
        rest = batches[first_unwritten:]
        if not rest:
            return outcomes
        try:
            self.wal.append([b.record() for b in rest])
        except (WalFull, OSError) as exc:
            self.stats.batches_rejected_unavailable += len(rest)
            error = IngestUnavailable(f"storage is unavailable and {exc}")
            for index in range(first_unwritten, len(batches)):
                outcomes[index] = error
            return outcomes
        self.stats.spans_logged += sum(b.rows for b in rest)
        return outcomes

    async def _replay_loop(self) -> None:
        while True:
            if not self.storage_ok or not self.wal.is_empty():
                try:
                    await asyncio.to_thread(self.replay_once)
                except Exception:
                    logger.exception("WAL replay failed")
            await asyncio.sleep(self.replay_interval)

    def replay_once(self) -> int:
        """Insert the WAL into storage, oldest first; returns spans replayed.

        Marks storage up when the whole log went in, down at the first failure.
        """
        with self._replay_lock:
            replayed = 0
            try:
                if not self.store.is_migrated():
                    self.store.migrate()
                for segment in self.wal.closed_segments():
                    for record in self.wal.read(segment):
                        batch = _from_record(record)
                        self.insert(batch)
                        replayed += batch.rows
                    self.wal.remove(segment)
            except Exception as exc:
                if self.storage_ok:
                    logger.warning("storage unavailable: %s", exc)
                self.storage_ok = False
                return replayed
            finally:
                self.stats.spans_replayed += replayed
            if not self.storage_ok:
                logger.info("storage is back; WAL replayed (%d spans)", replayed)
            self.storage_ok = True
            return replayed


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
    written, :class:`IngestBusy` when the queue is full and :class:`IngestUnavailable` when
    storage is down and the WAL is full.
    """
    batch = await asyncio.to_thread(
        prepare, request, project=project, retention_days=retention_days
    )
    await batcher.submit(batch)
    return batch.rows

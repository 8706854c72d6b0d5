"""Ingest: request → batch (worker) → bounded queue → idempotent insert or fsynced WAL → answer.

The acknowledgement rule (keep it when optimizing this path): a request is answered 200 only
after its spans are either inserted into ClickHouse or appended to the write-ahead log and
``fsync``-ed. Everything else answers 429/503 with ``Retry-After`` and stores nothing.

* Preparation: request bytes become a :class:`Batch` (decode, flatten, Arrow tables, guardrail,
  score and ledger rows, deterministic payload and id) in the worker processes of a
  :class:`~tracerail.collector.prepare.PreparePool` (or a thread with ``ingest_workers = 0``);
  the collector process reads requests, inserts and fsyncs the WAL.
* Idempotency: each request's ``batch_id`` is the SHA-256 of its project and deterministic
  protobuf bytes. Every insert of a batch carries its id as ``insert_deduplication_token`` (and
  the dependent views are deduplicated too), and the ledger skips a batch id it holds, so a
  WAL replay of an already (or half) inserted batch stores nothing twice.
* Group commit: one writer task takes everything queued and merges consecutive requests of one
  project and retention (up to ``max_batch_rows`` rows) into one batch, written with one
  statement per table: each statement costs ~10 ms of fixed chDB work, so one per request
  capped ingest at a few thousand spans/s. A merged batch's id hashes its members' ids; if its
  insert fails, storage is marked down and it goes to the WAL as one record with that id (one
  ``write`` + ``fsync`` for the rest of the group), so the replay reproduces the token.
* Re-sent requests (the exporter never got the answer): a request whose id is queued waits for
  the first copy's outcome; one already durable is acknowledged without a write. The last
  :data:`RECENT_BATCH_IDS` request ids are kept in memory and in a file in the WAL directory
  (:mod:`~tracerail.collector.recent_ids`), so this holds across a restart too. While a merged
  batch is inserted its members' records sit in an intent file; after a crash, start-up
  re-inserts them under the same token (completing a half-done insert exactly once) before
  accepting requests, and remembers their ids.
* While storage is down every group goes straight to the WAL. A replay task retries every
  ``replay_interval_seconds``: it (re)applies migrations, inserts the WAL oldest first and marks
  storage up when the log is empty. It also runs once at start.
* Bounds: more than ``max_queue_spans`` waiting → :class:`IngestBusy` (429); WAL full while
  storage is down → :class:`IngestUnavailable` (503). Shutdown drains the queue first.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from tracerail.collector.prepare import (
    Batch,
    PreparePool,
    WorkerLost,
    batch_id,
    merge,
    prepare,
)
from tracerail.collector.recent_ids import RecentIds
from tracerail.collector.store.clickhouse import ClickHouseStore
from tracerail.collector.store.hallucination_stats import write_scores
from tracerail.collector.store.ledger import LedgerWriter
from tracerail.collector.wal import WalFull, WriteAheadLog, replace_durably

__all__ = [
    "Batch",
    "IngestBatcher",
    "IngestBusy",
    "IngestUnavailable",
    "accept",
    "batch_id",
    "dedup_settings",
    "prepare",
    "prepare_batch",
]

logger = logging.getLogger("tracerail.collector")

# Request ids remembered as durable (inserted or logged), so that a request re-sent by its
# exporter is acknowledged without a second write even when its first copy went into a
# merged insert (~4 MB in memory, 2.6 MB of file at most; minutes of requests at 50k spans/s).
RECENT_BATCH_IDS = 20_000


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
        pool: PreparePool | None = None,
    ) -> None:
        self.store = store
        self.pool = pool or PreparePool(0)
        self.ledger = LedgerWriter(store)
        self.wal = wal
        self.max_batch_rows = max_batch_rows
        self.max_queue_spans = max_queue_spans
        self.replay_interval = replay_interval
        self.storage_ok = True
        self.stats = IngestStats()
        self.queued_spans = 0
        self.decoding = 0  # requests being read and prepared (counted by the HTTP route)
        self._queue: asyncio.Queue[_Pending] | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._stopping = False
        self._replay_lock = threading.Lock()
        self._durable = RecentIds(wal.directory / "recent-request-ids", RECENT_BATCH_IDS)
        self._waiting: dict[str, _Pending] = {}

    async def start(self) -> None:
        await self.pool.start()
        await asyncio.to_thread(self.recover)
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
        await asyncio.to_thread(self.pool.close)

    async def submit(self, batch: Batch) -> None:
        """Queue a batch and wait until it is durable; raises IngestBusy / IngestUnavailable."""
        if batch.rows == 0:
            return
        if self._queue is None or self._stopping:
            raise IngestUnavailable("ingest is not running")
        if batch.batch_id in self._durable:  # a re-sent request that is already stored
            return
        waiting = self._waiting.get(batch.batch_id)
        if waiting is not None:  # the same request is queued: its outcome is this one's
            await asyncio.shield(waiting.done)
            return
        if self.queued_spans > 0 and self.queued_spans + batch.rows > self.max_queue_spans:
            self.stats.batches_rejected_busy += 1
            raise IngestBusy(f"{self.queued_spans} spans are waiting to be written")
        pending = _Pending(batch)
        self.queued_spans += batch.rows  # released by the writer once the batch is handled
        self._waiting[batch.batch_id] = pending
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
                del self._waiting[item.batch.batch_id]
                if not item.done.done():
                    if outcome is None:
                        item.done.set_result(None)
                    else:
                        item.done.set_exception(outcome)
                queue.task_done()

    def insert(self, batch: Batch) -> None:
        """Idempotent inserts of one batch and the rows derived from it.

        Derived rows were made with the batch (:func:`~tracerail.collector.prepare.prepare`):
        guardrail decisions, score rows from ``tracerail.score`` events, and the batch's
        ledger rows. Spans go first; every insert carries the batch id as its dedup token (the
        ledger skips a batch id it already holds), so a retry or replay after a failure
        half-way completes the batch without writing anything twice.
        """
        scores = batch.scores
        for problem in batch.score_problems:
            logger.warning("score event dropped: %s", problem)
        token = dedup_settings(batch.batch_id)
        self.store.insert_arrow("spans", batch.spans, settings=token)
        if batch.guardrails.num_rows:
            self.store.insert_arrow("guardrail_events", batch.guardrails, settings=token)
        write_scores(self.store, scores, settings=token)
        if batch.ledger["row_hash"]:
            self.ledger.append_columns(batch.project, batch.ledger, batch_id=batch.batch_id)

    def _merged(self, batches: list[Batch]) -> list[tuple[int, int, Batch]]:
        """Consecutive batches of one project and retention merged up to ``max_batch_rows``
        rows: ``(first index, end index, merged batch)`` per run."""
        runs: list[tuple[int, int, Batch]] = []
        start, rows = 0, 0
        for index, batch in enumerate(batches):
            head = batches[start]
            same = (batch.project, batch.retention_days) == (head.project, head.retention_days)
            if index > start and (not same or rows + batch.rows > self.max_batch_rows):
                runs.append((start, index, merge(batches[start:index])))
                start, rows = index, 0
            rows += batch.rows
        runs.append((start, len(batches), merge(batches[start:])))
        return runs

    @property
    def intent_path(self) -> Path:
        """The members of the merged batch being inserted (see :meth:`recover`)."""
        return self.wal.directory / "merge-in-flight"

    def write_intent(self, members: Sequence[Batch]) -> None:
        """Keep the records of a merged batch's members on disk while it is being inserted."""
        replace_durably(self.intent_path, b"".join(m.record().encode() for m in members))

    def recover(self) -> None:
        """Complete the merged insert a crash interrupted (called by :meth:`start`).

        Re-merges the members left in :attr:`intent_path` (same id, so the rows that went in
        are deduplicated), inserts or logs it, and remembers the members' ids, so their
        exporters' re-sends are acknowledged without a write. The intent file is fsynced
        before the insert starts, so this holds after a machine crash too.
        """
        if not self.intent_path.exists():
            return
        members = list(self.pool.prepare_records(self.wal.read(self.intent_path)))
        if members:
            merged = merge(members)
            try:
                if not self.storage_ok:
                    raise IngestUnavailable("storage is down")
                self.insert(merged)
            except Exception as exc:
                logger.warning("completing an interrupted insert failed, logging it: %s", exc)
                self.storage_ok = False
                self.wal.append([merged.record()])
            self._durable.add(m.batch_id for m in members)
        self.intent_path.unlink()

    def _insert_run(self, members: Sequence[Batch], merged: Batch) -> None:
        # Also for a request alone in its run: inserted under its own token, its re-send after
        # a crash could be merged with other requests (another token) and stored twice, unless
        # start-up completes it from the intent and remembers its id (found by test_kill9).
        self.write_intent(members)
        self.insert(merged)
        self._durable.add(m.batch_id for m in members)
        self.intent_path.unlink()

    def _write_group(self, batches: list[Batch]) -> list[Exception | None]:
        """Insert the group as few merged batches; what fails goes to the WAL as merged
        records (so their replay carries the same dedup tokens)."""
        outcomes: list[Exception | None] = [None] * len(batches)
        runs = self._merged(batches)
        first_unwritten = 0
        if self.storage_ok:
            for index, (start, end, batch) in enumerate(runs):
                try:
                    self._insert_run(batches[start:end], batch)
                except Exception as exc:
                    logger.warning("storage insert failed, logging to the WAL instead: %s", exc)
                    self.storage_ok = False
                    break
                self.stats.spans_inserted += batch.rows
                first_unwritten = index + 1
        inserted = runs[first_unwritten - 1][1] if first_unwritten else 0
        self._durable.add(b.batch_id for b in batches[:inserted])
        rest = runs[first_unwritten:]
        if not rest:
            return outcomes
        try:
            self.wal.append([batch.record() for _, _, batch in rest])
        except (WalFull, OSError) as exc:
            self.stats.batches_rejected_unavailable += sum(end - start for start, end, _ in rest)
            error = IngestUnavailable(f"storage is unavailable and {exc}")
            for start, end, _ in rest:
                for index in range(start, end):
                    outcomes[index] = error
            return outcomes
        self.stats.spans_logged += sum(batch.rows for _, _, batch in rest)
        self._durable.add(b.batch_id for b in batches[rest[0][0] :])
        self.intent_path.unlink(missing_ok=True)  # the WAL holds the interrupted batch now
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
                    for batch in self.pool.prepare_records(self.wal.read(segment)):
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


async def prepare_batch(
    batcher: IngestBatcher,
    body: bytes,
    *,
    content_type: str | None,
    content_encoding: str | None = None,
    max_bytes: int,
    project: str,
    retention_days: int,
) -> Batch:
    """Decode, validate and flatten one export request body into a :class:`Batch`.

    Runs in the batcher's :class:`~tracerail.collector.prepare.PreparePool` (worker processes
    or a thread). Raises :class:`~tracerail.collector.otlp.errors.DecodeError` for an
    undecodable body or invalid spans, :class:`IngestUnavailable` if a worker process died.
    """
    try:
        return await batcher.pool.prepare_body(
            body,
            content_type,
            content_encoding,
            max_bytes=max_bytes,
            project=project,
            retention_days=retention_days,
        )
    except WorkerLost as exc:
        raise IngestUnavailable(str(exc)) from None


async def accept(
    batcher: IngestBatcher,
    body: bytes,
    *,
    content_type: str | None,
    content_encoding: str | None = None,
    max_bytes: int,
    project: str,
    retention_days: int,
) -> int:
    """:func:`prepare_batch` then :meth:`IngestBatcher.submit`; returns the span count.

    Every transport (OTLP/HTTP, OTLP/gRPC) goes through these two. Nothing is written for a
    body that raises :class:`~tracerail.collector.otlp.errors.DecodeError`;
    :class:`IngestBusy` when the queue is full and :class:`IngestUnavailable` when storage is
    down and the WAL is full.
    """
    batch = await prepare_batch(
        batcher,
        body,
        content_type=content_type,
        content_encoding=content_encoding,
        max_bytes=max_bytes,
        project=project,
        retention_days=retention_days,
    )
    await batcher.submit(batch)
    return batch.rows

"""Ingest: request → batch (worker) → bounded queue → fsynced WAL → answer; bulk inserts.

The acknowledgement rule (keep it when optimizing this path): a request is answered 200 only
after its spans are either inserted into ClickHouse or appended to the write-ahead log and
``fsync``-ed. Everything else answers 429/503 with ``Retry-After`` and stores nothing.

* Preparation: request bytes become a :class:`Batch` (decode, flatten, Arrow tables, guardrail,
  score and ledger rows, deterministic payload and id) in the worker processes of a
  :class:`~tracerail.collector.prepare.PreparePool` (or a thread with ``ingest_workers = 0``);
  the collector process reads requests, logs and inserts.
* Log first: one writer task takes everything queued and appends it to the WAL with one
  ``fsync`` (group commit); the batches stay in memory for the next insert. An insert task
  writes what was logged in bulk: when ``max_batch_rows`` rows are waiting, the oldest has
  waited ``flush_interval_seconds``, or someone waits for it. Inserts are few and large
  because each statement costs ~10 ms of fixed chDB work and every small part costs merges
  later (bench/RESULTS.md: half the CPU per span at 40 000 rows per insert than at 10 000).
* When inserts keep up (nothing logged is waiting and no insert is running), a request is
  answered after its insert, so a client reads what it just sent; under load it is answered
  once logged, and is readable after the next insert (within ``flush_interval_seconds``).
* Exactly once: an insert run takes the closed WAL segments oldest first and inserts each as
  runs of consecutive batches (:meth:`IngestBatcher.merged_runs`), then deletes the segment.
  A run's id hashes its members' request ids and is the dedup token of every statement (the
  dependent views are deduplicated too; the ledger skips a batch id it holds). A crash or a
  storage failure half-way leaves the segment, and its replay forms the same runs with the
  same ids, so what went in is not stored twice.
* Re-sent requests (the exporter never got the answer): a request whose id is queued waits for
  the first copy's outcome; one already logged is acknowledged without a write. The last
  :data:`RECENT_BATCH_IDS` request ids are kept in memory and in a file in the WAL directory
  (:mod:`~tracerail.collector.recent_ids`), so this holds across a restart too; start-up
  also remembers the ids of every record left in the WAL.
* While storage is down, requests are logged and answered; the insert task retries every
  ``replay_interval_seconds`` (re-applying migrations), preparing segments again from the log.
  It also inserts at start what an earlier run left in the log.
* Bounds: more than ``max_queue_spans`` queued or logged-but-not-inserted in memory →
  :class:`IngestBusy` (429); WAL full → :class:`IngestUnavailable` (503). Shutdown logs the
  queue and inserts the log first.

These limits and intervals are an :class:`IngestLimits`, the settings of the same names.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import TYPE_CHECKING, cast

from tracerail.collector.errors import Unavailable
from tracerail.collector.insert import dedup_settings, insert_batch, merged_runs
from tracerail.collector.prepare import Batch, Export, PreparePool, batch_id, prepare
from tracerail.collector.recent_ids import RecentIds
from tracerail.collector.store.clickhouse import ClickHouseStore
from tracerail.collector.store.ledger import LedgerWriter
from tracerail.collector.wal import WalFull, WriteAheadLog

if TYPE_CHECKING:
    from tracerail.collector.settings import Settings

__all__ = [
    "Batch",
    "Export",
    "IngestBatcher",
    "IngestBusy",
    "IngestLimits",
    "IngestUnavailable",
    "batch_id",
    "dedup_settings",
    "prepare",
]

logger = logging.getLogger("tracerail.collector")

# Request ids remembered as durable (inserted or logged), so that a request re-sent by its
# exporter is acknowledged without a second write even when its first copy went into a
# merged insert (~4 MB in memory, 2.6 MB of file at most; minutes of requests at 50k spans/s).
RECENT_BATCH_IDS = 20_000


class IngestUnavailable(Unavailable):
    """Storage is down and the WAL cannot take more (or ingest is stopping): answer 503."""


class IngestBusy(Unavailable):
    """Too many spans are waiting for a write: answer 429."""


@dataclass
class _Pending:
    """A queued request; ``done`` gives, once it is logged, the insert to wait for (or None)."""

    batch: Batch
    done: asyncio.Future[asyncio.Future[None] | None] = field(
        default_factory=lambda: asyncio.get_running_loop().create_future()
    )


@dataclass
class IngestStats:
    spans_inserted: int = 0
    spans_logged: int = 0
    spans_replayed: int = 0
    batches_rejected_busy: int = 0
    batches_rejected_unavailable: int = 0


@dataclass(frozen=True, slots=True)
class IngestLimits:
    """How much ingest holds and how often it writes: the settings of the same names."""

    max_batch_rows: int = 50_000  # span rows in one insert; more waiting starts an insert
    max_queue_spans: int = 100_000  # held in memory (queued or not yet inserted) before 429
    flush_interval_seconds: float = 1.0  # longest a logged span waits for its insert
    replay_interval_seconds: float = 1.0  # how often a non-empty WAL or down storage is retried
    max_inflight_requests: int = 64  # bodies read and prepared at once before 429
    max_body_bytes: int = 16 * 1024 * 1024  # largest body, before and after decompression

    @classmethod
    def from_settings(cls, settings: Settings) -> IngestLimits:
        """The limits a collector's settings configure."""
        return cls(**{limit.name: getattr(settings, limit.name) for limit in fields(cls)})


class IngestBatcher:
    """Bounded, idempotent ingest: requests are logged to the WAL, then inserted in bulk."""

    def __init__(
        self,
        store: ClickHouseStore,
        wal: WriteAheadLog,
        limits: IngestLimits | None = None,
        *,
        pool: PreparePool | None = None,
    ) -> None:
        self.store = store
        self.pool = pool or PreparePool(0)
        self.ledger = LedgerWriter(store)
        self.wal = wal
        self.limits = limits or IngestLimits()
        self.storage_ok = True
        self.stats = IngestStats()
        self.queued_spans = 0
        self.decoding = 0  # requests being read and prepared (counted by accept)
        self._queue: asyncio.Queue[_Pending] | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._stopping = False
        self._durable = RecentIds(wal.directory / "recent-request-ids", RECENT_BATCH_IDS)
        self._waiting: dict[str, _Pending] = {}
        # Logged, not yet inserted: per WAL segment, its batches in log order (None where the
        # batch was not kept in memory, so the segment is prepared again from the log).
        self._log_lock = threading.Lock()
        self._flush_lock = threading.Lock()
        self._unflushed: dict[Path, list[Batch | None]] = {}
        self.unflushed_spans = 0
        self._oldest_unflushed: float | None = None
        self._flushing = False
        self._flush_waiters: list[asyncio.Future[None]] = []
        self._wake = asyncio.Event()
        self._last_attempt = 0.0

    @property
    def backlog_spans(self) -> int:
        """Spans accepted but not yet inserted that are held in memory (bounded for 429)."""
        return self.queued_spans + self.unflushed_spans

    async def start(self) -> None:
        await self.pool.start()
        await asyncio.to_thread(self._remember_logged_ids)
        self._queue = asyncio.Queue()
        self._wake = asyncio.Event()
        self._stopping = False
        self._tasks = [
            asyncio.create_task(self._run(), name="tracerail-ingest-writer"),
            asyncio.create_task(self._flush_loop(), name="tracerail-ingest-flush"),
        ]

    async def stop(self) -> None:
        """Refuse new work, log everything queued, insert what the log holds, then stop."""
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
        try:
            await asyncio.to_thread(self.replay_once)  # what stays in the WAL is replayed at start
        finally:
            for waiter in self._flush_waiters:
                if not waiter.done():
                    waiter.set_result(None)
            self._flush_waiters = []
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
            inserted = await asyncio.shield(waiting.done)
        else:
            backlog = self.backlog_spans
            if backlog > 0 and backlog + batch.rows > self.limits.max_queue_spans:
                self.stats.batches_rejected_busy += 1
                raise IngestBusy(f"{backlog} spans are waiting to be written")
            pending = _Pending(batch)
            self.queued_spans += batch.rows  # released by the writer once the batch is logged
            self._waiting[batch.batch_id] = pending
            await self._queue.put(pending)
            inserted = await pending.done
        if inserted is not None:
            await asyncio.shield(inserted)

    async def _run(self) -> None:
        assert self._queue is not None
        queue = self._queue
        while True:
            group = [await queue.get()]
            while not queue.empty():
                group.append(queue.get_nowait())
            caught_up = self.storage_ok and self.unflushed_spans == 0 and not self._flushing
            try:
                outcomes = await asyncio.to_thread(self._log_group, [p.batch for p in group])
            except Exception as exc:  # never let the writer die
                logger.exception("ingest writer failed")
                outcomes = [exc] * len(group)
            # Inserts keep up: answer after the insert, so a client reads what it just sent.
            # Otherwise answer now (the WAL holds the batch) and let the inserts grow.
            inserted = self._request_flush() if caught_up else None
            for item, outcome in zip(group, outcomes, strict=True):
                self.queued_spans -= item.batch.rows
                del self._waiting[item.batch.batch_id]
                if not item.done.done():
                    if outcome is None:
                        item.done.set_result(inserted)
                    else:
                        item.done.set_exception(outcome)
                queue.task_done()
            self._wake.set()

    def _request_flush(self) -> asyncio.Future[None]:
        waiter = asyncio.get_running_loop().create_future()
        self._flush_waiters.append(waiter)
        return waiter

    def _log_group(self, batches: list[Batch]) -> list[Exception | None]:
        """Append the group to the WAL with one fsync; keep the batches for the next insert."""
        try:
            with self._log_lock:
                segment = self.wal.append([batch.record() for batch in batches])
                # Remembered before an insert can take the segment (and after the append: an
                # id remembered but not logged would acknowledge a re-send that is stored
                # nowhere). A crash between the two is covered by _remember_logged_ids.
                self._durable.add(batch.batch_id for batch in batches)
                kept = self._unflushed.setdefault(segment, [])
                for batch in batches:
                    kept.append(batch if self.storage_ok else None)
                    if self.storage_ok:
                        self.unflushed_spans += batch.rows
                if self._oldest_unflushed is None:
                    self._oldest_unflushed = time.monotonic()
        except (WalFull, OSError) as exc:
            self.stats.batches_rejected_unavailable += len(batches)
            return [IngestUnavailable(f"the write-ahead log cannot take it: {exc}")] * len(batches)
        self.stats.spans_logged += sum(batch.rows for batch in batches)
        return [None] * len(batches)

    def _remember_logged_ids(self) -> None:
        """Remember the request ids of every record in the WAL (at start, before requests are
        taken): a crash right after an append, before its ids were remembered, must not let
        the exporter's re-send be logged and stored a second time (found by test_kill9)."""
        for segment in self.wal.closed_segments():
            self._durable.add(record.batch_id for record in self.wal.read(segment))

    def _flush_due(self) -> bool:
        if self._flush_waiters:
            return True
        now = time.monotonic()
        if not self.storage_ok:
            return now - self._last_attempt >= self.limits.replay_interval_seconds
        if self.unflushed_spans >= self.limits.max_batch_rows:
            return True
        if self._oldest_unflushed is not None:
            return now - self._oldest_unflushed >= self.limits.flush_interval_seconds
        # Logged by an earlier run, or not kept in memory: retried every replay interval.
        return (
            not self.wal.is_empty()
            and now - self._last_attempt >= self.limits.replay_interval_seconds
        )

    async def _flush_loop(self) -> None:
        while True:
            while not self._flush_due():
                self._wake.clear()
                tick = asyncio.get_running_loop().call_later(0.05, self._wake.set)
                try:
                    await self._wake.wait()
                finally:
                    tick.cancel()
            waiters, self._flush_waiters = self._flush_waiters, []
            self._flushing = True
            try:
                await asyncio.to_thread(self.replay_once)
            except Exception:
                logger.exception("ingest insert failed")
            finally:
                self._flushing = False
                for waiter in waiters:
                    if not waiter.done():
                        waiter.set_result(None)

    def insert(self, batch: Batch) -> None:
        """Idempotent inserts of one batch (:func:`~tracerail.collector.insert.insert_batch`)."""
        insert_batch(self.store, self.ledger, batch)

    def merged_runs(self, batches: Iterable[Batch]) -> Iterator[Batch]:
        """The insert runs of ``batches`` (:func:`~tracerail.collector.insert.merged_runs`)."""
        return merged_runs(batches, self.limits.max_batch_rows)

    def replay_once(self) -> int:
        """Insert everything logged so far, oldest segment first; returns spans inserted.

        Closes the segment being written, so new requests go to a fresh one meanwhile. A
        segment's batches come from memory when all of them were kept, else from the log. Its
        runs (:meth:`merged_runs`) are inserted, then the segment is deleted; a crash or a
        failure in between repeats the same runs with the same tokens later. Marks storage up
        when every segment went in, down at the first failure (the batches kept in memory are
        then dropped: the log has them).
        """
        with self._flush_lock:
            with self._log_lock:
                self._last_attempt = time.monotonic()
                segments = self.wal.closed_segments()
                kept, self._unflushed = self._unflushed, {}
                self._oldest_unflushed = None
            kept_rows = sum(b.rows for batches in kept.values() for b in batches if b is not None)
            inserted = 0
            try:
                if not self.storage_ok and not self.store.is_migrated():
                    self.store.migrate()
                for segment in segments:
                    batches = kept.pop(segment, [None])
                    in_memory = None not in batches
                    source: Iterable[Batch] = (
                        cast(list[Batch], batches)
                        if in_memory
                        else self.pool.prepare_records(self.wal.read(segment))
                    )
                    rows = 0
                    for merged in self.merged_runs(source):
                        self.insert(merged)
                        rows += merged.rows
                    self.wal.remove(segment)
                    inserted += rows
                    self.stats.spans_inserted += rows
                    if not in_memory:
                        self.stats.spans_replayed += rows
            except Exception as exc:
                if self.storage_ok:
                    logger.warning("storage unavailable, ingest goes to the WAL: %s", exc)
                self.storage_ok = False
                return inserted
            finally:
                with self._log_lock:  # inserted, or dropped from memory (the log has them)
                    self.unflushed_spans -= kept_rows
            if not self.storage_ok:
                logger.info("storage is back; WAL inserted (%d spans)", inserted)
            self.storage_ok = True
            return inserted

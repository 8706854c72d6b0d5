"""Request bytes → :class:`Batch`, in worker processes: everything but the writes.

Turning an OTLP body into insertable data is pure Python and holds the GIL (~35 ms of CPU per
1 000 spans: decode, flatten, Arrow, guardrail/score/ledger rows, the deterministic payload
and its hash), so in one process it competes with HTTP handling and the inserts for one core.
A :class:`PreparePool` with ``workers > 0`` runs :func:`prepare_body` in worker processes
started through a clean ``forkserver`` (never forked from the process that holds chDB) and
hands back a :class:`Batch`; the collector process only reads requests, inserts and fsyncs
the WAL. With ``workers = 0`` the same functions run in a thread of the collector process.

What crosses the process boundary is chosen for cheap pickling (measured per 1 000 spans):
the spans and guardrail decisions as Arrow tables (~0.6 ms both ways; the flattened column
lists would cost ~6 ms), ledger rows as column lists (~0.3 ms; ``LedgerRow`` objects ~4 ms),
the payload as bytes. Exceptions (:class:`~tracerail.collector.otlp.errors.DecodeError` and
its subclasses) are pickled back and raised in the caller unchanged.
"""

from __future__ import annotations

import asyncio
import hashlib
import multiprocessing
import os
import threading
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from typing import Any

import pyarrow as pa
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from tracerail.collector import lifeline
from tracerail.collector.errors import Unavailable
from tracerail.collector.ledger import LedgerColumns, row_columns, rows_from_columns
from tracerail.collector.otlp.decode import PROTOBUF, decode_request
from tracerail.collector.otlp.flatten import flatten
from tracerail.collector.otlp.guardrails import guardrail_columns
from tracerail.collector.score_events import scores_from_columns
from tracerail.collector.store.arrow import GUARDRAIL_TYPES, spans_table, typed_table
from tracerail.collector.wal import WalRecord


@dataclass
class Batch:
    """The spans of one export request and every row derived from them, ready to insert or log.

    ``scores`` are score-table columns (one list per column, from ``tracerail.score`` events);
    ``score_problems`` say why invalid score events were dropped; ``ledger`` holds the
    batch's ledger rows (canonical payloads and row hashes; chaining happens at insert).
    """

    batch_id: str
    project: str
    retention_days: int
    payload: bytes
    rows: int
    spans: pa.Table
    guardrails: pa.Table
    scores: dict[str, list[Any]]
    score_problems: list[str]
    ledger: LedgerColumns

    def record(self) -> WalRecord:
        return WalRecord(self.batch_id, self.project, self.retention_days, self.rows, self.payload)


def batch_id(project: str, payload: bytes) -> str:
    return hashlib.sha256(project.encode() + b"\0" + payload).hexdigest()


def prepare(request: ExportTraceServiceRequest, *, project: str, retention_days: int) -> Batch:
    """Validate, flatten and derive rows; raises ``InvalidSpan`` before anything else."""
    columns = flatten(request, project=project, retention_days=retention_days)
    payload = request.SerializeToString(deterministic=True)
    scores, problems = scores_from_columns(columns)
    return Batch(
        batch_id=batch_id(project, payload),
        project=project,
        retention_days=retention_days,
        payload=payload,
        rows=len(columns["span_id"]),
        spans=spans_table(columns),
        guardrails=typed_table(guardrail_columns(columns), GUARDRAIL_TYPES),
        scores=scores,
        score_problems=problems,
        ledger=row_columns(rows_from_columns(columns)),
    )


def merge(batches: Sequence[Batch]) -> Batch:
    """Batches of one project and retention as one batch: the batch of their joined payloads.

    Joined serialized messages parse as one message with the repeated fields appended, so
    :func:`prepare_record` of the merged WAL record gives exactly these rows in this order, and
    the record carries the merged ``batch_id`` (a hash of the members' ids), so its replay is
    deduplicated against the merged insert.
    """
    if len(batches) == 1:
        return batches[0]
    first = batches[0]
    if any((b.project, b.retention_days) != (first.project, first.retention_days) for b in batches):
        raise ValueError("only batches of one project and retention merge")
    members = hashlib.sha256(b"merged\0" + "\0".join(b.batch_id for b in batches).encode())
    return Batch(
        batch_id=members.hexdigest(),
        project=first.project,
        retention_days=first.retention_days,
        payload=b"".join(b.payload for b in batches),
        rows=sum(b.rows for b in batches),
        # One chunk, as a replay's table has: ClickHouse derives a token per inserted block,
        # and a chunked table is read as several blocks.
        spans=pa.concat_tables([b.spans for b in batches]).combine_chunks(),
        guardrails=pa.concat_tables([b.guardrails for b in batches]).combine_chunks(),
        scores={name: [v for b in batches for v in b.scores[name]] for name in first.scores},
        score_problems=[p for b in batches for p in b.score_problems],
        ledger={name: [v for b in batches for v in b.ledger[name]] for name in first.ledger},
    )


@dataclass(frozen=True, slots=True)
class Export:
    """One OTLP export request as received: its body, how to read it, and for which project."""

    body: bytes
    content_type: str | None
    project: str
    retention_days: int
    max_bytes: int
    content_encoding: str | None = None


def prepare_body(export: Export) -> Batch:
    """Decode an OTLP traces body and :func:`prepare` it; raises ``DecodeError`` subclasses."""
    request = decode_request(
        export.body, export.content_type, export.content_encoding, max_bytes=export.max_bytes
    )
    return prepare(request, project=export.project, retention_days=export.retention_days)


def prepare_record(record: WalRecord) -> Batch:
    """The batch a WAL record was logged from (same id, same rows)."""
    export = Export(
        record.payload,
        PROTOBUF,
        record.project,
        record.retention_days,
        max_bytes=max(len(record.payload), 1),
    )
    batch = prepare_body(export)
    batch.batch_id = record.batch_id  # a merged batch's id is not the hash of its payload
    return batch


class WorkerLost(Unavailable):
    """A worker process died while preparing (the pool is restarted): answer 503."""


def _ready() -> int:
    return os.getpid()


@dataclass(frozen=True)
class _Job:
    executor: ProcessPoolExecutor
    future: Future[Any]


# Imported by the forkserver before it forks any worker: the lifeline module sets the
# forkserver's parent-death signal, this module is what every worker runs.
FORKSERVER_PRELOAD = (lifeline.MODULE, __name__)


class PreparePool:
    """Where :func:`prepare_body` runs: worker processes, or a thread when ``workers`` is 0."""

    def __init__(self, workers: int) -> None:
        self.workers = workers
        self._executor: ProcessPoolExecutor | None = None
        self._lifelines: dict[int, lifeline.Lifeline] = {}  # by id() of their executor
        self._lock = threading.Lock()
        if workers > 0:
            self._executor = self._new_executor()

    def _new_executor(self) -> ProcessPoolExecutor:
        """Workers that die with the collector however it dies (see :mod:`.lifeline`)."""
        context = multiprocessing.get_context("forkserver")
        context.set_forkserver_preload(list(FORKSERVER_PRELOAD))
        lifeline.ensure_forkserver()
        line = lifeline.Lifeline()
        executor = ProcessPoolExecutor(
            max_workers=self.workers,
            mp_context=context,
            initializer=lifeline.worker_initializer,
            initargs=(line.reader,),
        )
        self._lifelines[id(executor)] = line
        return executor

    def _shutdown(self, executor: ProcessPoolExecutor, *, wait: bool) -> None:
        executor.shutdown(wait=wait, cancel_futures=True)
        line = self._lifelines.pop(id(executor), None)
        if line is not None:
            line.close()  # ends any of its workers still running

    async def start(self) -> None:
        """Start the worker processes now, so the first request does not wait for them."""
        if self._executor is not None:
            jobs = [self._submit(_ready) for _ in range(self.workers)]
            await asyncio.gather(*(asyncio.wrap_future(job.future) for job in jobs))

    def _submit(self, fn: Any, *args: Any, **kwargs: Any) -> _Job:
        with self._lock:
            if self._executor is None:
                raise WorkerLost("the prepare pool is closed")
            executor = self._executor
            try:
                return _Job(executor, executor.submit(fn, *args, **kwargs))
            except BrokenProcessPool:
                self._restart(executor)
                executor = self._executor
                return _Job(executor, executor.submit(fn, *args, **kwargs))

    def _restart(self, broken: ProcessPoolExecutor) -> None:
        """Replace ``broken`` (once, however many of its futures report it)."""
        if self._executor is broken:
            self._executor = self._new_executor()
            self._shutdown(broken, wait=False)

    def _result(self, job: _Job) -> Any:
        """The job's result, raising :class:`WorkerLost` (and restarting) if its pool broke."""
        try:
            return job.future.result()
        except BrokenProcessPool:
            with self._lock:
                self._restart(job.executor)
            raise WorkerLost("an ingest worker process exited; retry") from None

    async def prepare_body(self, export: Export) -> Batch:
        """:func:`prepare_body` in a worker (or a thread); its exceptions are raised here."""
        if self._executor is None:
            return await asyncio.to_thread(prepare_body, export)
        job = self._submit(prepare_body, export)
        await asyncio.wait([asyncio.wrap_future(job.future)])
        result: Batch = self._result(job)
        return result

    def prepare_records(self, records: Iterable[WalRecord]) -> Iterator[Batch]:
        """The batches of ``records`` in order (blocking; for the WAL replay thread).

        With workers, up to ``2 * workers`` records are prepared ahead of the one yielded.
        """
        if self._executor is None:
            yield from map(prepare_record, records)
            return
        ahead: list[_Job] = []
        try:
            for record in records:
                ahead.append(self._submit(prepare_record, record))
                if len(ahead) > 2 * self.workers:
                    yield self._result(ahead.pop(0))
            while ahead:
                yield self._result(ahead.pop(0))
        finally:
            for job in ahead:
                job.future.cancel()

    def close(self) -> None:
        with self._lock:
            executor, self._executor = self._executor, None
        if executor is not None:
            self._shutdown(executor, wait=True)

"""Decode → flatten → Arrow, off the event loop and, with workers, on other CPU cores.

Turning an OTLP body into rows is pure Python and holds the GIL (~25 ms per 1 000 spans), so
in one process it competes with HTTP handling and the insert for one core. A
:class:`PreparePool` with ``workers > 0`` runs it in worker processes (started through a
clean ``forkserver``, never forked from the process that holds chDB) and hands back the Arrow
table and the derived rows; the collector process only reads requests and inserts.
With ``workers = 0`` the same functions run in a thread.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import os
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from tracerail.collector.ledger import LedgerRow, rows_from_columns
from tracerail.collector.otlp.decode import decode_request
from tracerail.collector.otlp.flatten import flatten
from tracerail.collector.otlp.guardrails import empty_guardrail_columns, guardrail_columns
from tracerail.collector.scores import empty_score_columns, scores_from_columns
from tracerail.collector.store.arrow import GUARDRAIL_TYPES, spans_table, typed_table


@dataclass(frozen=True)
class Prepared:
    """One request's spans as an Arrow table and the rows derived from its flattened columns:
    guardrail decisions, audit-ledger rows and score rows (plus why invalid scores were
    dropped).

    The flattened columns themselves stay where they were made: crossing the process boundary
    they would cost more than building the Arrow table. Rows derived from spans are derived in
    :func:`prepare_request`, next to ``flatten``.
    """

    table: pa.Table
    guardrails: pa.Table = field(
        default_factory=lambda: typed_table(empty_guardrail_columns(), GUARDRAIL_TYPES)
    )
    ledger_rows: list[LedgerRow] = field(default_factory=list)
    scores: dict[str, list[Any]] = field(default_factory=empty_score_columns)
    score_problems: list[str] = field(default_factory=list)

    @property
    def rows(self) -> int:
        rows: int = self.table.num_rows
        return rows


def prepare_request(
    request: ExportTraceServiceRequest, *, project: str, retention_days: int
) -> Prepared:
    """Validate and flatten a decoded request; raises ``InvalidSpan`` before anything else."""
    columns = flatten(request, project=project, retention_days=retention_days)
    # Derived rows come from the flattened columns before anything is written (row by row,
    # so per request and concatenated is the same as over a merged batch).
    scores, problems = scores_from_columns(columns)
    return Prepared(
        spans_table(columns),
        typed_table(guardrail_columns(columns), GUARDRAIL_TYPES),
        rows_from_columns(columns),
        scores,
        problems,
    )


def prepare_body(
    body: bytes,
    content_type: str | None,
    content_encoding: str | None,
    *,
    max_bytes: int,
    project: str,
    retention_days: int,
) -> Prepared:
    """Decode an OTLP/HTTP body and prepare it; raises ``DecodeError`` subclasses."""
    request = decode_request(body, content_type, content_encoding, max_bytes=max_bytes)
    return prepare_request(request, project=project, retention_days=retention_days)


def default_workers() -> int:
    """One worker process per core beyond the first (at most 4)."""
    return max(0, min((os.cpu_count() or 1) - 1, 4))


class PreparePool:
    """Where :func:`prepare_body` runs: worker processes, or a thread when ``workers`` is 0."""

    def __init__(self, workers: int) -> None:
        self.workers = workers
        self._executor: ProcessPoolExecutor | None = None
        if workers > 0:
            context = multiprocessing.get_context("forkserver")
            context.set_forkserver_preload([__name__])
            self._executor = ProcessPoolExecutor(max_workers=workers, mp_context=context)

    async def start(self) -> None:
        """Start the worker processes now, so the first request does not wait for them."""
        if self._executor is not None:
            await asyncio.wrap_future(self._executor.submit(default_workers))

    async def prepare_body(
        self,
        body: bytes,
        content_type: str | None,
        content_encoding: str | None,
        *,
        max_bytes: int,
        project: str,
        retention_days: int,
    ) -> Prepared:
        """:func:`prepare_body` in a worker; its exceptions are raised here."""
        args = (body, content_type, content_encoding)
        kwargs = {"max_bytes": max_bytes, "project": project, "retention_days": retention_days}
        if self._executor is None:
            return await asyncio.to_thread(prepare_body, *args, **kwargs)  # type: ignore[arg-type]
        future = self._executor.submit(prepare_body, *args, **kwargs)  # type: ignore[arg-type]
        return await asyncio.wrap_future(future)

    def close(self) -> None:
        if self._executor is not None:
            self._executor.shutdown(wait=True, cancel_futures=True)
            self._executor = None

"""How a prepared batch goes into storage: idempotent inserts, in runs that replay the same.

The ingest batcher (:mod:`~tracerail.collector.ingest`) decides *when* to insert; this module
is *what* an insert does. Every statement of a batch carries the batch id as its dedup token
(:func:`dedup_settings`), and :func:`merged_runs` cuts the same batches into the same runs
with the same ids every time, so an insert repeated after a crash or a storage failure
half-way stores nothing twice.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator

from tracerail.collector.prepare import Batch, merge
from tracerail.collector.store.clickhouse import ClickHouseStore
from tracerail.collector.store.hallucination_stats import write_scores
from tracerail.collector.store.ledger import LedgerWriter

__all__ = ["dedup_settings", "insert_batch", "merged_runs"]

logger = logging.getLogger("tracerail.collector")


def dedup_settings(batch_id: str) -> dict[str, object]:
    """Insert settings that make a repeated insert of ``batch_id`` a no-op."""
    return {
        "insert_deduplicate": 1,
        "insert_deduplication_token": batch_id,
        "deduplicate_blocks_in_dependent_materialized_views": 1,
    }


def insert_batch(store: ClickHouseStore, ledger: LedgerWriter, batch: Batch) -> None:
    """Idempotent inserts of one batch and the rows derived from it.

    Derived rows were made with the batch (:func:`~tracerail.collector.prepare.prepare`):
    guardrail decisions, score rows from ``tracerail.score`` events, and the batch's
    ledger rows. Spans go first; every insert carries the batch id as its dedup token (the
    ledger skips a batch id it already holds), so a retry or replay after a failure
    half-way completes the batch without writing anything twice.
    """
    for problem in batch.score_problems:
        logger.warning("score event dropped: %s", problem)
    token = dedup_settings(batch.batch_id)
    store.insert_arrow("spans", batch.spans, settings=token)
    if batch.guardrails.num_rows:
        store.insert_arrow("guardrail_events", batch.guardrails, settings=token)
    write_scores(store, batch.scores, settings=token)
    if batch.ledger["row_hash"]:
        ledger.append_columns(batch.project, batch.ledger, batch_id=batch.batch_id)


def merged_runs(batches: Iterable[Batch], max_rows: int) -> Iterator[Batch]:
    """Consecutive batches of one project and retention merged up to ``max_rows`` rows (a
    larger batch goes alone). The same batches in the same order always give the same runs,
    hence the same ids: that is what makes a replay exactly-once."""
    run: list[Batch] = []
    rows = 0
    for batch in batches:
        if run:
            head = run[0]
            same = (batch.project, batch.retention_days) == (head.project, head.retention_days)
            if not same or rows + batch.rows > max_rows:
                yield merge(run)
                run, rows = [], 0
        run.append(batch)
        rows += batch.rows
    if run:
        yield merge(run)

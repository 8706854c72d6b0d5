"""Erasure of a data subject: delete their rows, keep only hashes of what happened.

Tables holding per-user rows register as ``(table, user column)`` (:data:`ERASABLE`); tables
holding rows about spans (scores, guardrail decisions) as :data:`SPAN_TABLES`, erased by the
subject's span ids. Every table has a ``project`` column. Rows are removed with a synchronous
mutation (``ALTER TABLE … DELETE``), which rewrites the affected parts, so the content is gone
from disk once it returns — not just hidden.

Each erasure is recorded in ``erasures`` (SHA-256 of the subject id only), and, when a ledger
writer is given, as one ``erasure`` ledger row per erased span: the ledger keeps its hashes
and chain, so verification still passes after the spans it covered are gone. The hourly
generation aggregates of the erased spans' hours are recounted from the remaining spans
(:func:`recount_generation_hours`), so every figure of the report drops with them.
"""

from __future__ import annotations

import hashlib
import time
import uuid
from dataclasses import asdict, dataclass
from typing import Any

from tracerail import semconv
from tracerail.collector.ledger import erasure_row
from tracerail.collector.store.clickhouse import ClickHouseStore
from tracerail.collector.store.hallucination_stats import forget_spans
from tracerail.collector.store.ledger import LedgerWriter
from tracerail.collector.store.migrations.m004_scores_ledger_generation_stats import (
    GENERATION_STATS_MV,
)

# (table, column holding the user id). Add tables of other features here.
ERASABLE: list[tuple[str, str]] = [("spans", "user_id")]
# Tables whose rows are about one span (``span_id`` column): erased with the subject's spans.
SPAN_TABLES: list[str] = ["scores", "guardrail_events"]

_IDENTIFIER_OK = frozenset("abcdefghijklmnopqrstuvwxyz0123456789_")


def register_erasable(table: str, user_column: str) -> None:
    """Make erasure also delete ``table`` rows whose ``user_column`` is the subject."""
    for name in (table, user_column):
        if not name or not set(name) <= _IDENTIFIER_OK:
            raise ValueError(f"not a plain identifier: {name!r}")
    if (table, user_column) not in ERASABLE:
        ERASABLE.append((table, user_column))


def subject_hash(user_id: str) -> str:
    return hashlib.sha256(user_id.encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class Erasure:
    erasure_id: str
    project: str
    subject_sha256: str
    rows_deleted: dict[str, int]

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


def _delete(store: ClickHouseStore, table: str, where: str, params: dict[str, Any]) -> int:
    """Delete the rows matching ``where`` (a fixed template) for good; returns how many."""
    count = int(store.scalar(f"SELECT count() FROM {store.table(table)} WHERE {where}", params))
    if count:
        store.command(
            f"ALTER TABLE {store.table(table)} DELETE WHERE {where}",
            params,
            settings={"mutations_sync": 2},
        )
    return count


def recount_generation_hours(store: ClickHouseStore, project: str, hours: list[int]) -> None:
    """Recompute ``project``'s hourly generation aggregates (``generation_stats``: calls,
    latency, tokens, cost) for ``hours`` (epoch seconds) from the spans that remain, the way
    its view computes them, so the report's daily and scorecard totals drop with the erased
    spans as its span counts do.

    A span of one of those hours stored between the two statements is counted twice (the
    view adds it, and so does the recount); erasures are rare and mostly of past hours.
    """
    params: dict[str, Any] = {"project": project, "hours": hours}
    _delete(
        store,
        "generation_stats",
        "project = {project:String} AND has({hours:Array(UInt32)}, toUInt32(hour))",
        params,
    )
    select = GENERATION_STATS_MV.select.format(db=f"`{store.database}`")
    scoped = select.replace(
        "WHERE observation_kind",
        "WHERE project = {project:String} "
        "AND has({hours:Array(UInt32)}, toUInt32(toStartOfHour(timestamp))) AND observation_kind",
    )
    if scoped == select:
        raise RuntimeError("generation_stats' view no longer has the expected WHERE clause")
    # An identical block inserted before (by the view) must not be taken for a replay.
    store.command(
        f"INSERT INTO {store.table('generation_stats')} {scoped}",
        params,
        settings={"insert_deduplicate": 0},
    )


def erase_subject(
    store: ClickHouseStore,
    project: str,
    user_id: str,
    requested_by: str = "",
    ledger: LedgerWriter | None = None,
) -> Erasure:
    """Delete every row of ``user_id`` in ``project`` and record the erasure.

    Pass the collector's own ``ledger`` writer (it caches the chain head); a fresh one is
    right only where nothing else appends (the CLI against a stopped embedded collector).
    """
    params: dict[str, Any] = {"project": project, "user_id": user_id}
    spans = store.query(
        "SELECT DISTINCT trace_id, span_id, toUInt32(toStartOfHour(timestamp)) AS hour, "
        f"observation_kind = '{semconv.KIND_GENERATION}' AS generation "
        f"FROM {store.table('spans')} "
        "WHERE project = {project:String} AND user_id = {user_id:String}",
        params,
    )
    deleted: dict[str, int] = {}
    params["span_ids"] = [row["span_id"] for row in spans]
    if spans:
        forget_spans(store, project, params["span_ids"])
    for table in SPAN_TABLES if spans else ():
        where = "project = {project:String} AND has({span_ids:Array(String)}, span_id)"
        deleted[table] = _delete(store, table, where, params)
    for table, column in ERASABLE:
        where = f"project = {{project:String}} AND `{column}` = {{user_id:String}}"
        deleted[table] = _delete(store, table, where, params)
    hours = sorted({int(row["hour"]) for row in spans if row["generation"]})
    if hours:
        recount_generation_hours(store, project, hours)
    erasure = Erasure(uuid.uuid4().hex, project, subject_hash(user_id), deleted)
    if spans:
        (ledger or LedgerWriter(store)).append(
            [
                erasure_row(
                    project,
                    row["trace_id"],
                    row["span_id"],
                    erased_at_ns=time.time_ns(),
                    reason=f"data subject erasure {erasure.erasure_id}",
                )
                for row in spans
            ]
        )
    store.insert_row(
        "erasures",
        {
            "erasure_id": erasure.erasure_id,
            "project": project,
            "subject_sha256": erasure.subject_sha256,
            "requested_by": requested_by,
            "rows_deleted": deleted,
        },
    )
    return erasure


def list_erasures(store: ClickHouseStore, project: str) -> list[dict[str, Any]]:
    """Recorded erasures of ``project``, oldest first (for the audit ledger)."""
    return store.query(
        "SELECT erasure_id, project, subject_sha256, requested_at, requested_by, rows_deleted "
        f"FROM {store.table('erasures')} WHERE project = {{project:String}} "
        "ORDER BY requested_at, erasure_id",
        {"project": project},
    )

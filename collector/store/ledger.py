"""Ledger storage: append batches, read the chain head, verify rows, roots and chain.

Write order makes the batch header the commit marker: rows first, header last. Rows whose
batch has no header (a write that failed half-way) are reported as uncommitted, not as
tampering. One process appends per project (it keeps the head in memory, read once from
storage); run one collector per project's ingest when using the ledger.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

from tracerail.collector.ledger import (
    GENESIS,
    BatchHeader,
    LedgerColumns,
    LedgerRow,
    merkle_root,
    row_columns,
    row_hash,
)
from tracerail.collector.store.clickhouse import ClickHouseStore

_VERIFY_CHUNK = 500


@dataclass(frozen=True, slots=True)
class Head:
    """The latest batch of a project's chain (seq 0 and :data:`GENESIS` when empty)."""

    project: str
    seq: int
    chain_hash: str
    batch_id: str = ""
    created_at_ns: int = 0


class LedgerWriter:
    """Appends one ledger batch per project per ingest write, chaining to the last."""

    def __init__(self, store: ClickHouseStore) -> None:
        self.store = store
        self._heads: dict[str, Head] = {}
        self._lock = threading.Lock()
        self._append_lock = threading.Lock()  # the ingest writer and the WAL replay both append

    def head(self, project: str) -> Head:
        with self._lock:
            if project not in self._heads:
                self._heads[project] = read_head(self.store, project)
            return self._heads[project]

    def append(self, rows: Sequence[LedgerRow], batch_id: str | None = None) -> Head:
        """Store ``rows`` (one project) as the next batch of that project's chain.

        With ``batch_id`` (an ingest batch's idempotency id) the append is idempotent: a batch
        id already in the chain is skipped, and its rows insert is deduplicated by that id, so
        a replay after a failure between rows and header completes the batch exactly once.
        """
        return self.append_columns(rows[0].project, row_columns(rows), batch_id)

    def append_columns(
        self, project: str, rows: LedgerColumns, batch_id: str | None = None
    ) -> Head:
        """:meth:`append` for rows already split into columns (see :func:`row_columns`)."""
        with self._append_lock:
            if batch_id is not None and has_batch(self.store, project, batch_id):
                return self.head(project)
            return self._append(rows, project, batch_id or uuid.uuid4().hex, batch_id is not None)

    def _append(self, rows: LedgerColumns, project: str, batch_id: str, dedup: bool) -> Head:
        previous = self.head(project)
        hashes = rows["row_hash"]
        header = BatchHeader(
            project=project,
            seq=previous.seq + 1,
            batch_id=batch_id,
            created_at_ns=time.time_ns(),
            row_count=len(hashes),
            merkle_root=merkle_root(hashes),
        )
        chain = header.chain_hash(previous.chain_hash)
        self.store.insert_columns(
            "ledger_rows",
            {
                "project": [project] * len(hashes),
                "batch_id": [header.batch_id] * len(hashes),
                "row_index": list(range(len(hashes))),
                **rows,
            },
            settings={"insert_deduplication_token": batch_id} if dedup else None,
        )
        self.store.insert_row(
            "ledger_batches",
            {
                "project": project,
                "seq": header.seq,
                "batch_id": header.batch_id,
                "created_at": header.created_at_ns,
                "row_count": header.row_count,
                "merkle_root": header.merkle_root,
                "prev_hash": previous.chain_hash,
                "chain_hash": chain,
            },
        )
        head = Head(project, header.seq, chain, header.batch_id, header.created_at_ns)
        with self._lock:
            self._heads[project] = head
        return head


def has_batch(store: ClickHouseStore, project: str, batch_id: str) -> bool:
    """True when ``batch_id`` is already a committed batch of ``project``'s chain."""
    return bool(
        store.scalar(
            f"SELECT count() FROM {store.table('ledger_batches')} "
            "WHERE project = {project:String} AND batch_id = {batch_id:String}",
            {"project": project, "batch_id": batch_id},
        )
    )


def read_head(store: ClickHouseStore, project: str) -> Head:
    rows = store.query(
        f"SELECT seq, chain_hash, batch_id, toUnixTimestamp64Nano(created_at) AS created_ns "
        f"FROM {store.table('ledger_batches')} WHERE project = {{project:String}} "
        "ORDER BY seq DESC LIMIT 1",
        {"project": project},
    )
    if not rows:
        return Head(project, 0, GENESIS)
    row = rows[0]
    return Head(
        project, int(row["seq"]), row["chain_hash"], row["batch_id"], int(row["created_ns"])
    )


@dataclass
class Break:
    """The first place a project's ledger stops verifying."""

    project: str
    seq: int
    batch_id: str
    reason: str


@dataclass
class VerifyReport:
    """What ``verify`` checked and the first break it found (if any)."""

    projects: list[str] = field(default_factory=list)
    batches_checked: int = 0
    rows_checked: int = 0
    uncommitted_rows: int = 0
    first_break: Break | None = None
    heads: dict[str, str] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.first_break is None

    def as_dict(self) -> dict[str, Any]:
        return {"ok": self.ok, **asdict(self)}


def _projects(store: ClickHouseStore, project: str | None) -> list[str]:
    if project is not None:
        return [project]
    rows = store.query(
        f"SELECT DISTINCT project FROM {store.table('ledger_batches')} ORDER BY project"
    )
    return [str(r["project"]) for r in rows]


def _batches(
    store: ClickHouseStore, project: str, after_seq: int, lo: datetime | None, hi: datetime | None
) -> list[dict[str, Any]]:
    where = ["project = {project:String}", "seq > {after:UInt64}"]
    params: dict[str, Any] = {"project": project, "after": after_seq, "limit": _VERIFY_CHUNK}
    if lo is not None:
        where.append("created_at >= {lo:DateTime64(9, 'UTC')}")
        params["lo"] = lo
    if hi is not None:
        where.append("created_at < {hi:DateTime64(9, 'UTC')}")
        params["hi"] = hi
    return store.query(
        f"SELECT seq, batch_id, toUnixTimestamp64Nano(created_at) AS created_ns, row_count, "
        f"merkle_root, prev_hash, chain_hash FROM {store.table('ledger_batches')} "
        f"WHERE {' AND '.join(where)} ORDER BY seq LIMIT {{limit:UInt32}}",
        params,
    )


def _rows(
    store: ClickHouseStore, project: str, batch_ids: list[str]
) -> dict[str, list[dict[str, Any]]]:
    rows = store.query(
        f"SELECT batch_id, row_index, payload, row_hash FROM {store.table('ledger_rows')} "
        "WHERE project = {project:String} AND batch_id IN {ids:Array(String)} "
        "ORDER BY batch_id, row_index",
        {"project": project, "ids": batch_ids},
    )
    grouped: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        grouped.setdefault(row["batch_id"], []).append(row)
    return grouped


def _check_batch(batch: dict[str, Any], rows: list[dict[str, Any]], project: str) -> str | None:
    """Why this batch fails verification, or None."""
    if len(rows) != int(batch["row_count"]):
        return f"batch holds {len(rows)} rows, header says {batch['row_count']}"
    for expected, row in enumerate(rows):
        if int(row["row_index"]) != expected:
            return f"row {expected} is missing or out of order"
        if row_hash(row["payload"]) != row["row_hash"]:
            return f"row {expected}: payload does not match its hash"
    root = merkle_root([r["row_hash"] for r in rows])
    if root != batch["merkle_root"]:
        return "Merkle root does not match the rows"
    header = BatchHeader(
        project,
        int(batch["seq"]),
        batch["batch_id"],
        int(batch["created_ns"]),
        int(batch["row_count"]),
        root,
    )
    if header.chain_hash(batch["prev_hash"]) != batch["chain_hash"]:
        return "chain hash does not match the batch header"
    return None


def _start(store: ClickHouseStore, project: str, lo: datetime | None) -> tuple[int, str]:
    """Sequence number and chain hash just before the window starts."""
    if lo is None:
        return 0, GENESIS
    rows = store.query(
        f"SELECT seq, chain_hash FROM {store.table('ledger_batches')} "
        "WHERE project = {project:String} AND created_at < {lo:DateTime64(9, 'UTC')} "
        "ORDER BY seq DESC LIMIT 1",
        {"project": project, "lo": lo},
    )
    return (int(rows[0]["seq"]), rows[0]["chain_hash"]) if rows else (0, GENESIS)


def verify(
    store: ClickHouseStore,
    *,
    project: str | None = None,
    start: datetime | None = None,
    end: datetime | None = None,
) -> VerifyReport:
    """Recompute every row hash, Merkle root and chain link; stop at the first break."""
    report = VerifyReport(projects=_projects(store, project))
    for name in report.projects:
        prev_seq, prev_hash = _start(store, name, start)
        while True:
            batches = _batches(store, name, prev_seq, start, end)
            if not batches:
                break
            rows = _rows(store, name, [b["batch_id"] for b in batches])
            for batch in batches:
                seq = int(batch["seq"])
                reason: str | None = None
                if seq != prev_seq + 1:
                    reason = f"expected batch {prev_seq + 1} here, found batch {seq}"
                elif batch["prev_hash"] != prev_hash:
                    reason = "does not link to the previous batch (reordered or replaced)"
                else:
                    reason = _check_batch(batch, rows.get(batch["batch_id"], []), name)
                if reason is not None:
                    report.first_break = Break(name, seq, batch["batch_id"], reason)
                    return report
                report.batches_checked += 1
                report.rows_checked += int(batch["row_count"])
                prev_seq, prev_hash = seq, batch["chain_hash"]
        report.heads[name] = prev_hash
        report.uncommitted_rows += _uncommitted(store, name)
    return report


def _uncommitted(store: ClickHouseStore, project: str) -> int:
    return int(
        store.scalar(
            f"SELECT count() FROM {store.table('ledger_rows')} WHERE project = {{project:String}} "
            f"AND batch_id NOT IN (SELECT batch_id FROM {store.table('ledger_batches')} "
            "WHERE project = {project:String})",
            {"project": project},
        )
    )

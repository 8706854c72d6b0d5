"""The ``ledger_checkpoints`` table, and what `audit verify` compares checkpoints against."""

from __future__ import annotations

from collections.abc import Iterable

from tracerail.collector.store.clickhouse import ClickHouseStore
from tracerail.evidence import Checkpoint

_FIELDS = (
    "project",
    "seq",
    "chain_hash",
    "batch_id",
    "batch_created_at_ns",
    "signed_at_ns",
    "key_id",
    "signature",
)


def ledger_projects(store: ClickHouseStore) -> list[str]:
    rows = store.query(
        f"SELECT DISTINCT project FROM {store.table('ledger_batches')} ORDER BY project"
    )
    return [str(r["project"]) for r in rows]


def insert(store: ClickHouseStore, checkpoint: Checkpoint) -> None:
    store.insert_row("ledger_checkpoints", {name: getattr(checkpoint, name) for name in _FIELDS})


def read(
    store: ClickHouseStore,
    project: str | None = None,
    *,
    min_seq: int = 0,
    max_seq: int | None = None,
) -> list[Checkpoint]:
    """Stored checkpoints (one project or all), by project, seq and signing time."""
    rows = store.query(
        f"SELECT {', '.join(_FIELDS)} FROM {store.table('ledger_checkpoints')} "
        "WHERE ({project:String} = '' OR project = {project:String}) "
        "AND seq >= {lo:UInt64} AND seq <= {hi:UInt64} "
        "ORDER BY project, seq, signed_at_ns",
        {"project": project or "", "lo": min_seq, "hi": max_seq if max_seq is not None else 2**63},
    )
    return [
        Checkpoint(**{**row, "seq": int(row["seq"]), "project": str(row["project"])})
        for row in rows
    ]


def chain_at(
    store: ClickHouseStore, checkpoints: Iterable[Checkpoint]
) -> tuple[dict[str, dict[int, str]], dict[str, int]]:
    """The chain hash the ledger holds now at each checkpoint's seq, and each project's head."""
    wanted: dict[str, set[int]] = {}
    for cp in checkpoints:
        wanted.setdefault(cp.project, set()).add(cp.seq)
    chain: dict[str, dict[int, str]] = {}
    heads: dict[str, int] = {}
    table = store.table("ledger_batches")
    for project, seqs in wanted.items():
        rows = store.query(
            f"SELECT seq, chain_hash FROM {table} WHERE project = {{project:String}} "
            "AND seq IN {seqs:Array(UInt64)}",
            {"project": project, "seqs": sorted(seqs)},
        )
        chain[project] = {int(r["seq"]): str(r["chain_hash"]) for r in rows}
        (head,) = store.query(
            f"SELECT max(seq) AS head FROM {table} WHERE project = {{project:String}}",
            {"project": project},
        )
        heads[project] = int(head["head"] or 0)
    return chain, heads

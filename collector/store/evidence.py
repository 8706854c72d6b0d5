"""What an evidence pack reads from the ledger: the batches of a period, their headers and
rows, in sequence order (parameterized queries only)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any

from tracerail.collector.store.clickhouse import ClickHouseStore

_CHUNK_BATCHES = 200


def window_seqs(
    store: ClickHouseStore, project: str, start: datetime, end: datetime
) -> tuple[int, int] | None:
    """First and last batch written in ``[start, end)``; None when there is none."""
    (row,) = store.query(
        f"SELECT count() AS n, min(seq) AS first, max(seq) AS last "
        f"FROM {store.table('ledger_batches')} WHERE project = {{project:String}} "
        "AND created_at >= {lo:DateTime64(9, 'UTC')} AND created_at < {hi:DateTime64(9, 'UTC')}",
        {"project": project, "lo": start, "hi": end},
    )
    return (int(row["first"]), int(row["last"])) if int(row["n"]) else None


def batch_headers(
    store: ClickHouseStore, project: str, first: int, last: int
) -> list[dict[str, Any]]:
    return store.query(
        "SELECT seq, batch_id, toUnixTimestamp64Nano(created_at) AS created_at_ns, row_count, "
        f"merkle_root, prev_hash, chain_hash FROM {store.table('ledger_batches')} "
        "WHERE project = {project:String} AND seq >= {first:UInt64} AND seq <= {last:UInt64} "
        "ORDER BY seq",
        {"project": project, "first": first, "last": last},
    )


def batch_rows(
    store: ClickHouseStore, project: str, headers: list[dict[str, Any]]
) -> Iterator[tuple[dict[str, Any], list[dict[str, Any]]]]:
    """Each header with its rows in row_index order, reading a few hundred batches at a time."""
    for i in range(0, len(headers), _CHUNK_BATCHES):
        chunk = headers[i : i + _CHUNK_BATCHES]
        rows = store.query(
            "SELECT batch_id, row_index, kind, trace_id, span_id, payload, row_hash "
            f"FROM {store.table('ledger_rows')} WHERE project = {{project:String}} "
            "AND batch_id IN {ids:Array(String)} ORDER BY batch_id, row_index",
            {"project": project, "ids": [h["batch_id"] for h in chunk]},
        )
        grouped: dict[str, list[dict[str, Any]]] = {}
        for row in rows:
            grouped.setdefault(row["batch_id"], []).append(row)
        for header in chunk:
            yield header, grouped.get(header["batch_id"], [])

"""The audit timeline: generations, blocked requests, guardrail decisions and scores as one
time-ordered list, with keyset pagination, totals and a streaming iterator for exports.

The query (:class:`~.audit_query.AuditFilter`) and each kind's SELECT live in
:mod:`.audit_query`; here the parts are merged with ``UNION ALL`` and the page is the first
``limit`` rows of the merge in ``(time, row_id)`` order. Each part is itself cut to ``limit``
rows, so a page never sorts more than four pages' worth of rows.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from tracerail.collector.store.audit_query import (
    COLUMNS,
    KINDS,
    ORDERS,
    AuditFilter,
    iso,
    timeline_params,
    timeline_parts,
)
from tracerail.collector.store.clickhouse import ClickHouseStore
from tracerail.collector.store.spans import InvalidCursor, pack_cursor, unpack_cursor

__all__ = [
    "COLUMNS",
    "KINDS",
    "ORDERS",
    "AuditFilter",
    "count_timeline",
    "decode_audit_cursor",
    "iso",
    "iter_timeline",
    "list_timeline",
]


def decode_audit_cursor(cursor: str, order: str) -> tuple[int, str]:
    """The ``(time_ns, row_id)`` a cursor continues after; raises :class:`InvalidCursor`."""
    time_ns, row_id, cursor_order = unpack_cursor(cursor, int, str, str)
    if len(row_id) > 64 or cursor_order != order:
        raise InvalidCursor("cursor is not one this server issued for this sort order")
    return time_ns, row_id


def _row_json(row: dict[str, Any]) -> dict[str, Any]:
    time_ns = int(row["time_ns"])
    return {
        "time": iso(time_ns),
        "time_unix_nano": time_ns,
        "kind": row["row_kind"],
        "trace_id": row["trace_id"],
        "span_id": row["span_id"],
        "service": row["service"],
        "user_id": row["user_id"],
        "session_id": row["session_id"],
        "model": row["model"],
        "check": row["check_name"],
        "target": row["target_type"],
        "action": row["action_type"],
        "entity_types": list(row["entity_list"]),
        "name": row["item_name"],
        "value": row["item_value"],
        "detail": row["detail"],
        "input": row["input"],
        "output": row["output"],
        "row_id": row["row_id"],
    }


def list_timeline(
    store: ClickHouseStore,
    project: str,
    f: AuditFilter,
    *,
    limit: int,
    cursor: str | None = None,
) -> tuple[list[dict[str, Any]], str | None]:
    """One page of the timeline and the cursor of the next (None on the last page)."""
    parts = timeline_parts(store, f)
    if not parts:
        return [], None
    params = timeline_params(project, f)
    params["limit"] = limit + 1
    direction = "DESC" if f.order == "desc" else "ASC"
    compare = "<" if f.order == "desc" else ">"
    if cursor is not None:
        params["c_ns"], params["c_row"] = decode_audit_cursor(cursor, f.order)
    selects = []
    for index, part in enumerate(parts):
        where = list(part.where)
        if cursor is not None:
            where.append(
                f"({part.time_col}, row_id) {compare} "
                "(fromUnixTimestamp64Nano({c_ns:Int64}, 'UTC'), {c_row:String})"
            )
        selects.append(
            f"SELECT *, {index} AS part FROM (SELECT {part.select} FROM {part.table} "
            f"WHERE {' AND '.join(where)} "
            f"ORDER BY time_ns {direction}, row_id {direction} LIMIT {{limit:UInt32}})"
        )
    rows = store.query(
        f"SELECT * FROM ({' UNION ALL '.join(selects)}) "
        f"ORDER BY time_ns {direction}, row_id {direction}, part",
        params,
    )
    page, more = _merge(rows, limit, len(parts))
    next_cursor = None
    if more and page:
        last = page[-1]
        next_cursor = pack_cursor(last["time_unix_nano"], last["row_id"], f.order)
    return page, next_cursor


def _merge(rows: list[dict[str, Any]], limit: int, parts: int) -> tuple[list[dict[str, Any]], bool]:
    """The page from the merged, ordered rows of all parts, and whether more may follow.

    Stored rows can repeat (a client retrying an export whose acknowledgement was lost); they
    are dropped here rather than with ``LIMIT 1 BY`` in SQL, which would cost a full sort of
    every matching row per page. A part that returned its whole quota (``limit + 1`` rows) may
    hold more: the page stops at that part's last row so nothing of it is skipped.
    """
    last_index: dict[int, int] = {}
    taken: dict[int, int] = {}
    for i, row in enumerate(rows):
        last_index[row["part"]] = i
        taken[row["part"]] = taken.get(row["part"], 0) + 1
    capped = [last_index[p] for p in range(parts) if taken.get(p, 0) > limit]
    safe = rows[: min(capped) + 1] if capped else rows
    seen: set[tuple[int, str]] = set()
    page: list[dict[str, Any]] = []
    for row in safe:
        key = (row["part"], row["row_id"])
        if key not in seen:
            seen.add(key)
            page.append(_row_json(row))
    return page[:limit], bool(capped) or len(page) > limit


def count_timeline(store: ClickHouseStore, project: str, f: AuditFilter) -> dict[str, int]:
    """Rows matching ``f`` per kind (every kind present, zero when none)."""
    totals = dict.fromkeys(f.kinds, 0)
    parts = timeline_parts(store, f)
    if not parts:
        return totals
    selects = [
        f"SELECT row_kind FROM (SELECT {part.select} FROM {part.table} "
        f"WHERE {' AND '.join(part.where)} {part.dedupe})"
        for part in parts
    ]
    rows = store.query(
        f"SELECT row_kind, count() AS n FROM ({' UNION ALL '.join(selects)}) GROUP BY row_kind",
        timeline_params(project, f),
    )
    for row in rows:
        if row["row_kind"] in totals:
            totals[row["row_kind"]] = int(row["n"])
    return totals


def iter_timeline(
    store: ClickHouseStore, project: str, f: AuditFilter, *, page_size: int = 1_000
) -> Iterator[dict[str, Any]]:
    """Every matching row, a page at a time (for streamed exports)."""
    cursor: str | None = None
    while True:
        page, cursor = list_timeline(store, project, f, limit=page_size, cursor=cursor)
        yield from page
        if cursor is None:
            return

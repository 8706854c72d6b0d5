"""How ``tracerail audit search`` shows what it finds: a table of the first events, or every
matching row streamed as CSV or JSON Lines."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from typing import IO, Any, Final

from tracerail.collector.cli import common

TABLE_COLUMNS: Final = ("time", "kind", "model", "user_id", "check", "action", "entity_types")
DETAIL_WIDTH: Final = 60
PIPE_WIDTH: Final = 220


def _lines(response: Any) -> Iterator[str]:
    for raw in response:
        yield raw.decode("utf-8")


def export(
    endpoint: str,
    params: dict[str, Any],
    api_key: str | None,
    fmt: str,
    out: IO[str],
    show_progress: bool,
) -> int:
    """Stream an export into ``out`` with a progress bar on stderr; returns rows written."""
    response = common.call_api(endpoint, "/api/v1/audit/export", {**params, "format": fmt}, api_key)
    with response:
        lines = _lines(response)
        first = next(lines, "")
        out.write(first)
        header = json.loads(first[2:] if fmt == "csv" else first) if first else {}
        if fmt == "csv":
            out.write(next(lines, ""))  # column names
        rows = 0
        with common.progress_bar(
            "exporting", header.get("total"), show_progress, min_items=0
        ) as advance:
            for line in lines:
                out.write(line)
                rows += 1
                if advance is not None and rows % 200 == 0:
                    advance(rows)
    return rows


def table(endpoint: str, params: dict[str, Any], api_key: str | None, limit: int) -> None:
    """Print up to ``limit`` matching events as a table, then how many matched in all."""
    from rich.console import Console
    from rich.table import Table

    events: list[dict[str, Any]] = []
    cursor = None
    body: dict[str, Any] = {}
    while len(events) < limit:
        page_params = {**params, "limit": min(limit - len(events), 500), "cursor": cursor}
        with common.call_api(endpoint, "/api/v1/audit/events", page_params, api_key) as response:
            body = json.load(response)
        events.extend(body["events"])
        cursor = body["next_cursor"]
        if cursor is None:
            break
    grid = Table(show_lines=False, header_style="bold")
    for column in (*TABLE_COLUMNS, "detail", "trace_id"):
        grid.add_column(column, overflow="fold")
    for event in events:
        detail = (
            event["detail"] if event["value"] is None else f"{event['value']:g} {event['detail']}"
        )
        grid.add_row(
            event["time"][:19].replace("T", " "),
            event["kind"],
            event["model"],
            event["user_id"],
            event["check"] or event["name"],
            event["action"],
            ", ".join(event["entity_types"]),
            detail[:DETAIL_WIDTH],
            event["trace_id"],
        )
    # Piped or captured output gets a wide, unfolded table (a terminal uses its own width).
    console = Console() if sys.stdout.isatty() else Console(width=PIPE_WIDTH)
    console.print(grid)
    totals = ", ".join(f"{k} {v}" for k, v in body.get("totals", {}).items())
    console.print(f"{len(events)} of {body.get('total', 0)} matching events ({totals})")

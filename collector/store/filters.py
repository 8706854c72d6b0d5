"""WHERE clauses shared by the listing queries: project, time window, equality filters.

Only column names chosen by the caller from fixed sets are written into SQL; every value is a
bound ``{name:Type}`` parameter.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def base_filters(
    project: str,
    start_ns: int | None,
    end_ns: int | None,
    equals: Mapping[str, str | None],
    *,
    time_column: str = "timestamp",
) -> tuple[list[str], dict[str, Any]]:
    """``project = …``, ``[start, end)`` on ``time_column`` and ``column = value`` per set value."""
    where = ["project = {project:String}"]
    params: dict[str, Any] = {"project": project}
    if start_ns is not None:
        where.append(f"{time_column} >= fromUnixTimestamp64Nano({{start_ns:Int64}}, 'UTC')")
        params["start_ns"] = start_ns
    if end_ns is not None:
        where.append(f"{time_column} < fromUnixTimestamp64Nano({{end_ns:Int64}}, 'UTC')")
        params["end_ns"] = end_ns
    for column, value in equals.items():
        if value is not None:
            where.append(f"{column} = {{{column}:String}}")
            params[column] = value
    return where, params

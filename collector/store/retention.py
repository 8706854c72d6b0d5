"""Retention at read time: a row past its project's retention is neither returned nor counted.

ClickHouse removes expired rows with the tables' ``TTL`` only when it merges parts, so for a
while after a span expires it would still be read. Every read of :class:`ClickHouseStore`
therefore carries ``additional_table_filters`` that hide expired rows *as of the store's
clock*:

* tables with a ``TTL`` (spans, guardrail decisions, the trace lookup) get the TTL
  expression itself: ``<ttl> > now``, evaluated with each row's own ``retention_days``;
* tables of per-span or per-hour counts (``scores``, ``hallucination_stats``,
  ``generation_stats``) have no retention column; they get the project's *current* retention
  (from ``projects``) against their hour column. A project without a row is not filtered.

The clock is the store's (``time.time`` unless given), never ClickHouse's ``now()``: tests
move it, and a year-ahead run (``make test-future``) shifts Python's clock, which the
in-process chDB's own clock does not follow.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Final

from tracerail.collector.store.ddl import Table

# Count tables without a TTL: table name → its hour column.
HOURLY_TABLES: Final[Mapping[str, str]] = {
    "scores": "span_hour",
    "hallucination_stats": "hour",
    "generation_stats": "hour",
}
# "No retention" for a project missing from ``projects``: the filter lets its rows through.
# Not 100 years: DateTime ends in 2106, so 2026 + 36 500 days wraps round to 1990 and hid
# every row of such a project. 20 000 days (~55 years) stays inside the DateTime range.
_UNLIMITED_DAYS: Final = 20_000


def _quote(text: str) -> str:
    """``text`` as a ClickHouse single-quoted string literal."""
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


def _project_days(project_days: Mapping[str, int]) -> str:
    """An SQL expression giving the retention in days of the row's ``project``."""
    if not project_days:
        return str(_UNLIMITED_DAYS)
    branches = ", ".join(
        f"project = {_quote(name)}, {int(days)}" for name, days in sorted(project_days.items())
    )
    return f"multiIf({branches}, {_UNLIMITED_DAYS})"


def table_filters(
    tables: Sequence[Table], now_s: int, project_days: Mapping[str, int]
) -> dict[str, str]:
    """Unqualified table name → the predicate that keeps only rows inside retention."""
    now = f"toDateTime({int(now_s)}, 'UTC')"
    filters = {table.name: f"{table.ttl} > {now}" for table in tables if table.ttl}
    days = _project_days(project_days)
    for name, column in HOURLY_TABLES.items():
        filters[name] = f"toDateTime({column}) + toIntervalDay({days}) > {now}"
    return filters


def setting_value(qualified: Mapping[str, str]) -> str:
    """The ``additional_table_filters`` setting for qualified table name → predicate."""
    pairs = ", ".join(
        f"{_quote(name)}: {_quote(predicate)}" for name, predicate in qualified.items()
    )
    return "{" + pairs + "}"

"""The DDL model: schema objects as data, rendered to single-node DDL.

A :class:`Table` (MergeTree family), :class:`MaterializedView` or :class:`Statement` describes
one object once; :func:`render` gives its single-node DDL and
:func:`~tracerail.collector.store.cluster_ddl.render_cluster` its ``ON CLUSTER`` variant from
the same description. The migrations (:mod:`tracerail.collector.store.migrations`) are lists of
these objects.

The helpers at the bottom spell the shapes the tables share (``LowCardinality`` columns, ZSTD
text, the retention TTL, the dedup window) once.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Final

from tracerail.collector.columns import TS

__all__ = [
    "CREATED_AT",
    "DEDUP_WINDOW",
    "LOW",
    "PROJECT",
    "RETENTION_DAYS",
    "TRACE_ID_INDEX",
    "TS",
    "Column",
    "MaterializedView",
    "SchemaObject",
    "Statement",
    "Table",
    "by_project",
    "create_database",
    "create_table",
    "create_view",
    "dedup_settings",
    "low",
    "render",
    "retention_ttl",
    "strings",
    "zstd",
]


@dataclass(frozen=True)
class Column:
    """One column: name, ClickHouse type, and optionally a codec and a default expression."""

    name: str
    type: str
    codec: str | None = None
    default: str | None = None

    def render(self) -> str:
        """The column as it stands in ``CREATE TABLE`` or ``ADD COLUMN``."""
        parts = [f"`{self.name}`", self.type]
        if self.default:
            parts.append(f"DEFAULT {self.default}")
        if self.codec:
            parts.append(f"CODEC({self.codec})")
        return " ".join(parts)


@dataclass(frozen=True)
class Table:
    """One MergeTree-family table.

    ``shard_key`` is the ``Distributed`` sharding expression in cluster mode; it must name at
    least one of the table's columns.
    """

    name: str
    columns: tuple[Column, ...]
    order_by: str
    partition_by: str | None = None
    ttl: str | None = None
    engine: str = "MergeTree"
    engine_args: str = ""
    indexes: tuple[str, ...] = ()
    settings: dict[str, str] = field(default_factory=dict)
    shard_key: str = "cityHash64(trace_id)"

    def column_names(self) -> list[str]:
        """The names of the columns, in table order."""
        return [c.name for c in self.columns]


@dataclass(frozen=True)
class MaterializedView:
    """A materialized view that writes ``select`` (over ``source``) into ``target``."""

    name: str
    source: str
    target: str
    select: str


@dataclass(frozen=True)
class Statement:
    """Any other DDL (e.g. ``ALTER TABLE {db}.spans ...``); ``{db}`` is the quoted database."""

    sql: str
    table: str | None = None
    # DML (e.g. a backfill INSERT ... SELECT): in cluster mode it runs once, without
    # ON CLUSTER, through the Distributed table, which routes rows to their shards.
    data: bool = False


SchemaObject = Table | MaterializedView | Statement


def create_table(table: Table, database: str) -> str:
    """``CREATE TABLE IF NOT EXISTS`` for one node."""
    body = ",\n  ".join([c.render() for c in table.columns] + list(table.indexes))
    lines = [
        f"CREATE TABLE IF NOT EXISTS `{database}`.`{table.name}` (\n  {body}\n)",
        f"ENGINE = {table.engine}({table.engine_args})",
    ]
    if table.partition_by:
        lines.append(f"PARTITION BY {table.partition_by}")
    lines.append(f"ORDER BY {table.order_by}")
    if table.ttl:
        lines.append(f"TTL {table.ttl}")
    if table.settings:
        lines.append("SETTINGS " + ", ".join(f"{k} = {v}" for k, v in table.settings.items()))
    return "\n".join(lines)


def create_view(view: MaterializedView, database: str) -> str:
    """``CREATE MATERIALIZED VIEW IF NOT EXISTS`` for one node."""
    return (
        f"CREATE MATERIALIZED VIEW IF NOT EXISTS `{database}`.`{view.name}` "
        f"TO `{database}`.`{view.target}` AS {view.select.format(db=f'`{database}`')}"
    )


def create_database(database: str) -> str:
    """``CREATE DATABASE IF NOT EXISTS`` for one node."""
    return f"CREATE DATABASE IF NOT EXISTS `{database}`"


def render(obj: SchemaObject, database: str) -> str:
    """Single-node DDL for any schema object."""
    if isinstance(obj, Table):
        return create_table(obj, database)
    if isinstance(obj, MaterializedView):
        return create_view(obj, database)
    return obj.sql.format(db=f"`{database}`")


# --- shapes the tables share ------------------------------------------------------------------

LOW: Final = "LowCardinality(String)"

# Idempotent ingest: every insert carries an ``insert_deduplication_token`` derived from its
# content (see collector/ingest.py). MergeTree remembers the last N tokens per table; tables fed
# by the same batches (and the targets of their views) need the same window or a replay would
# count twice.
DEDUP_WINDOW: Final = 10_000

# Project first in every sort key.
PROJECT: Final = Column("project", LOW)
# A row's own retention, which its TTL reads (:func:`retention_ttl`).
RETENTION_DAYS: Final = Column("retention_days", "UInt16", default="30")
# When a row was written (set by ClickHouse).
CREATED_AT: Final = Column("created_at", "DateTime64(3, 'UTC')", default="now64(3)")
# The trace-id lookup of a table sorted by something else.
TRACE_ID_INDEX: Final = "INDEX idx_trace_id trace_id TYPE bloom_filter(0.001) GRANULARITY 1"


def low(*names: str) -> tuple[Column, ...]:
    """``LowCardinality(String)`` columns, in the order given."""
    return tuple(Column(name, LOW) for name in names)


def strings(*names: str) -> tuple[Column, ...]:
    """Plain ``String`` columns, in the order given."""
    return tuple(Column(name, "String") for name in names)


def zstd(*names: str, level: int = 1) -> tuple[Column, ...]:
    """``String`` columns compressed with ``ZSTD(level)`` (ids, hashes, free text)."""
    return tuple(Column(name, "String", codec=f"ZSTD({level})") for name in names)


def retention_ttl(time_column: str) -> str:
    """The TTL of a table whose rows carry their own ``retention_days``."""
    return f"toDateTime({time_column}) + toIntervalDay(retention_days)"


def dedup_settings(**extra: str) -> dict[str, str]:
    """Table settings with the ingest dedup window (after ``extra``)."""
    return {**extra, "non_replicated_deduplication_window": str(DEDUP_WINDOW)}


def by_project(
    name: str,
    columns: tuple[Column, ...],
    *sort: str,
    indexes: tuple[str, ...] = (),
    settings: dict[str, str] | None = None,
) -> Table:
    """A table of :data:`PROJECT` and ``columns``, sorted by ``(project, *sort)`` and sharded
    by project (a project's rows live on one shard)."""
    return Table(
        name=name,
        columns=(PROJECT, *columns),
        order_by=f"({', '.join(('project', *sort))})",
        indexes=indexes,
        settings=settings or {},
        shard_key="cityHash64(project)",
    )

"""One schema version: the objects it creates or changes, rendered per deployment mode."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from tracerail.collector.store.cluster_ddl import render_cluster
from tracerail.collector.store.ddl import Column, SchemaObject, Table, render

__all__ = ["MIGRATIONS_TABLE", "Migration"]


@dataclass(frozen=True)
class Migration:
    """One schema version: the objects it creates or changes, rendered per deployment mode."""

    version: int
    name: str
    objects: tuple[SchemaObject, ...]

    def statements(self, database: str) -> list[str]:
        """The single-node DDL of this migration."""
        return [render(obj, database) for obj in self.objects]

    def cluster_statements(self, database: str, cluster: str) -> list[str]:
        """The ``ON CLUSTER`` DDL of this migration, from the same objects."""
        return [sql for obj in self.objects for sql in render_cluster(obj, database, cluster)]


# Where applied versions are recorded; created before any migration runs.
MIGRATIONS_TABLE: Final = Table(
    name="schema_migrations",
    columns=(
        Column("version", "UInt32"),
        Column("name", "String"),
        Column("applied_at", "DateTime64(3, 'UTC')", default="now64(3)"),
    ),
    order_by="version",
    engine="ReplacingMergeTree",
    shard_key="version",
)

"""Migration 3: projects, API keys, erasures; the dedup window for idempotent ingest.

Projects and keys are small, mutable-by-replacement tables: a change inserts a new row version
and reads use ``FINAL``.
"""

from __future__ import annotations

from typing import Final

from tracerail.collector.store.ddl import (
    CREATED_AT,
    DEDUP_WINDOW,
    LOW,
    Column,
    Statement,
    Table,
    strings,
)
from tracerail.collector.store.migrations.migration import Migration

# The row version of a ReplacingMergeTree table.
_UPDATED_AT = Column("updated_at", "DateTime64(6, 'UTC')", default="now64(6)")


def _replacing(name: str, *columns: Column) -> Table:
    """A table keyed (and sharded) by its first column, whose latest ``updated_at`` wins."""
    key = columns[0].name
    return Table(
        name=name,
        columns=(*columns, _UPDATED_AT),
        order_by=key,
        engine="ReplacingMergeTree",
        engine_args=_UPDATED_AT.name,
        shard_key=f"cityHash64({key})",
    )


PROJECTS: Final = _replacing(
    "projects",
    *strings("name"),
    Column("retention_days", "UInt16"),
    CREATED_AT,
)

# Keys are stored only as a salted SHA-256 of their secret part; ``key_id`` is the public half.
API_KEYS: Final = _replacing(
    "api_keys",
    *strings("key_id", "project"),
    Column("scope", LOW),
    *strings("salt", "secret_sha256", "note"),
    CREATED_AT,
    Column("revoked", "UInt8", default="0"),
)

# One row per erasure of a data subject. Only a hash of the subject id is kept, so the record
# itself holds no personal data; the audit ledger can include these rows as events.
ERASURES: Final = Table(
    name="erasures",
    columns=(
        *strings("erasure_id", "project", "subject_sha256"),
        Column("requested_at", "DateTime64(3, 'UTC')", default="now64(3)"),
        *strings("requested_by"),
        Column("rows_deleted", "Map(LowCardinality(String), UInt64)"),
    ),
    order_by="(project, requested_at, erasure_id)",
    shard_key="cityHash64(project)",
)

# Idempotent ingest for the tables of migrations 1 and 2; tables of later migrations (scores,
# generation_stats, ...) set the window at creation.
SET_DEDUP_WINDOW: Final = tuple(
    Statement(
        f"ALTER TABLE {{db}}.`{table}` MODIFY SETTING "
        f"non_replicated_deduplication_window = {DEDUP_WINDOW}",
        table=table,
    )
    for table in ("spans", "trace_index", "guardrail_events")
)

MIGRATION: Final = Migration(
    3,
    "projects, api keys, erasures, idempotent ingest",
    (PROJECTS, API_KEYS, ERASURES, *SET_DEDUP_WINDOW),
)

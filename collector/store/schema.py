"""Table definitions as data, rendered to DDL.

Every table is described once (:class:`Table`); :func:`create_statements` renders it for a
single node. Cluster rendering (``ON CLUSTER``, replicated engines, ``Distributed`` tables)
reads the same descriptions, so the two variants cannot drift apart.
"""

from __future__ import annotations

from dataclasses import dataclass, field

STRING_MAP = "Map(LowCardinality(String), String)"
TS = "DateTime64(9, 'UTC')"


@dataclass(frozen=True)
class Column:
    name: str
    type: str
    codec: str | None = None
    default: str | None = None

    def render(self) -> str:
        parts = [f"`{self.name}`", self.type]
        if self.default:
            parts.append(f"DEFAULT {self.default}")
        if self.codec:
            parts.append(f"CODEC({self.codec})")
        return " ".join(parts)


@dataclass(frozen=True)
class Table:
    """One MergeTree-family table."""

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
        return [c.name for c in self.columns]


@dataclass(frozen=True)
class MaterializedView:
    """A materialized view that writes ``select`` (over ``source``) into ``target``."""

    name: str
    source: str
    target: str
    select: str


SPANS = Table(
    name="spans",
    columns=(
        Column("project", "LowCardinality(String)"),
        Column("timestamp", TS, codec="Delta, ZSTD(1)"),
        Column("duration_ns", "UInt64", codec="ZSTD(1)"),
        Column("trace_id", "String", codec="ZSTD(1)"),
        Column("span_id", "String", codec="ZSTD(1)"),
        Column("parent_span_id", "String", codec="ZSTD(1)"),
        Column("trace_state", "String", codec="ZSTD(1)"),
        Column("name", "LowCardinality(String)"),
        Column("kind", "LowCardinality(String)"),
        Column("service_name", "LowCardinality(String)"),
        Column("scope_name", "LowCardinality(String)"),
        Column("scope_version", "LowCardinality(String)"),
        Column("status_code", "LowCardinality(String)"),
        Column("status_message", "String", codec="ZSTD(1)"),
        Column("observation_kind", "LowCardinality(String)"),
        Column("operation", "LowCardinality(String)"),
        Column("provider", "LowCardinality(String)"),
        Column("request_model", "LowCardinality(String)"),
        Column("response_model", "LowCardinality(String)"),
        Column("user_id", "String", codec="ZSTD(1)"),
        Column("session_id", "String", codec="ZSTD(1)"),
        Column("error_type", "LowCardinality(String)"),
        Column("input_tokens", "UInt32"),
        Column("output_tokens", "UInt32"),
        Column("cached_input_tokens", "UInt32"),
        Column("reasoning_tokens", "UInt32"),
        Column("cost_usd", "Nullable(Float64)"),
        Column("input", "String", codec="ZSTD(3)"),
        Column("output", "String", codec="ZSTD(3)"),
        Column("attributes", STRING_MAP, codec="ZSTD(1)"),
        Column("resource_attributes", STRING_MAP, codec="ZSTD(1)"),
        Column("event_timestamps", f"Array({TS})", codec="ZSTD(1)"),
        Column("event_names", "Array(LowCardinality(String))", codec="ZSTD(1)"),
        Column("event_attributes", f"Array({STRING_MAP})", codec="ZSTD(1)"),
        Column("link_trace_ids", "Array(String)", codec="ZSTD(1)"),
        Column("link_span_ids", "Array(String)", codec="ZSTD(1)"),
        Column("retention_days", "UInt16", default="30"),
        Column("ingested_at", "DateTime64(3, 'UTC')", default="now64(3)"),
    ),
    partition_by="toDate(timestamp)",
    order_by="(project, service_name, toStartOfHour(timestamp), name, timestamp)",
    ttl="toDateTime(timestamp) + toIntervalDay(retention_days)",
    indexes=(
        "INDEX idx_trace_id trace_id TYPE bloom_filter(0.001) GRANULARITY 1",
        "INDEX idx_request_model request_model TYPE set(256) GRANULARITY 4",
        "INDEX idx_user_id user_id TYPE bloom_filter(0.01) GRANULARITY 4",
        "INDEX idx_session_id session_id TYPE bloom_filter(0.01) GRANULARITY 4",
    ),
    settings={"index_granularity": "8192", "ttl_only_drop_parts": "1"},
)

# The trace-id lookup path: (project, trace_id) → time bounds, so a trace read touches only
# the partitions and granules of that trace instead of scanning the spans table.
TRACE_INDEX = Table(
    name="trace_index",
    columns=(
        Column("project", "LowCardinality(String)"),
        Column("trace_id", "String"),
        Column("start", TS),
        Column("end", TS),
        Column("retention_days", "UInt16", default="30"),
    ),
    partition_by="toDate(start)",
    order_by="(project, trace_id)",
    ttl="toDateTime(start) + toIntervalDay(retention_days)",
    settings={"ttl_only_drop_parts": "1"},
)

TRACE_INDEX_MV = MaterializedView(
    name="trace_index_mv",
    source="spans",
    target="trace_index",
    select=(
        "SELECT project, trace_id, min(timestamp) AS start, "
        "max(timestamp + toIntervalNanosecond(duration_ns)) AS end, "
        "max(retention_days) AS retention_days "
        "FROM {db}.spans GROUP BY project, trace_id"
    ),
)


# --- projects, API keys and erasures (migration 3) -----------------------------------------
# Small, mutable-by-replacement tables: a change inserts a new row version and reads use FINAL.
PROJECTS = Table(
    name="projects",
    columns=(
        Column("name", "String"),
        Column("retention_days", "UInt16"),
        Column("created_at", "DateTime64(3, 'UTC')", default="now64(3)"),
        Column("updated_at", "DateTime64(6, 'UTC')", default="now64(6)"),
    ),
    order_by="name",
    engine="ReplacingMergeTree",
    engine_args="updated_at",
    shard_key="cityHash64(name)",
)

# Keys are stored only as a salted SHA-256 of their secret part; ``key_id`` is the public half.
API_KEYS = Table(
    name="api_keys",
    columns=(
        Column("key_id", "String"),
        Column("project", "String"),
        Column("scope", "LowCardinality(String)"),
        Column("salt", "String"),
        Column("secret_sha256", "String"),
        Column("note", "String"),
        Column("created_at", "DateTime64(3, 'UTC')", default="now64(3)"),
        Column("revoked", "UInt8", default="0"),
        Column("updated_at", "DateTime64(6, 'UTC')", default="now64(6)"),
    ),
    order_by="key_id",
    engine="ReplacingMergeTree",
    engine_args="updated_at",
    shard_key="cityHash64(key_id)",
)

# One row per erasure of a data subject. Only a hash of the subject id is kept, so the record
# itself holds no personal data; the audit ledger (issue 5) can include these rows as events.
ERASURES = Table(
    name="erasures",
    columns=(
        Column("erasure_id", "String"),
        Column("project", "String"),
        Column("subject_sha256", "String"),
        Column("requested_at", "DateTime64(3, 'UTC')", default="now64(3)"),
        Column("requested_by", "String"),
        Column("rows_deleted", "Map(LowCardinality(String), UInt64)"),
    ),
    order_by="(project, requested_at, erasure_id)",
    shard_key="cityHash64(project)",
)

# Idempotent ingest: every insert carries an ``insert_deduplication_token`` derived from its
# content (see collector/ingest.py). MergeTree remembers the last N tokens per table; the
# trace index needs the same window or its materialized view would count replays twice.
DEDUP_WINDOW = 10_000


@dataclass(frozen=True)
class Statement:
    """Any other DDL (e.g. ``ALTER TABLE {db}.spans ...``); ``{db}`` is the quoted database."""

    sql: str
    table: str | None = None


MIGRATIONS_TABLE = Table(
    name="schema_migrations",
    columns=(
        Column("version", "UInt32"),
        Column("name", "String"),
        Column("applied_at", "DateTime64(3, 'UTC')", default="now64(3)"),
    ),
    order_by="version",
    engine="ReplacingMergeTree",
)


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
    return f"CREATE DATABASE IF NOT EXISTS `{database}`"


def render(obj: Table | MaterializedView | Statement, database: str) -> str:
    """Single-node DDL for any schema object."""
    if isinstance(obj, Table):
        return create_table(obj, database)
    if isinstance(obj, MaterializedView):
        return create_view(obj, database)
    return obj.sql.format(db=f"`{database}`")

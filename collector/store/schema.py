"""Table definitions as data, rendered to DDL.

Every table is described once (:class:`Table`); :func:`render` renders it for a
single node. Cluster rendering (``ON CLUSTER``, replicated engines, ``Distributed`` tables)
reads the same descriptions, so the two variants cannot drift apart.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace

from tracerail import semconv as sc
from tracerail.collector.columns import SPAN_COLUMNS, TS

_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")


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
    columns=tuple(Column(c.name, c.type, c.codec, c.default) for c in SPAN_COLUMNS),
    partition_by="toDate(timestamp)",
    order_by="(project, service_name, toStartOfHour(timestamp), name, timestamp)",
    ttl="toDateTime(timestamp) + toIntervalDay(retention_days)",
    indexes=(
        "INDEX idx_trace_id trace_id TYPE bloom_filter(0.001) GRANULARITY 1",
        "INDEX idx_request_model request_model TYPE set(256) GRANULARITY 4",
        "INDEX idx_user_id user_id TYPE bloom_filter(0.01) GRANULARITY 4",
        "INDEX idx_session_id session_id TYPE bloom_filter(0.01) GRANULARITY 4",
    ),
    # Inserts of up to ~100k spans are written as compact parts (one file, not a file per
    # column and map stream): about half the insert CPU of wide parts (bench/RESULTS.md).
    # Merges turn them into wide parts once a part exceeds 128 MB.
    settings={
        "index_granularity": "8192",
        "ttl_only_drop_parts": "1",
        "min_bytes_for_wide_part": str(128 * 1024 * 1024),
    },
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


# One row per guardrail decision, derived at ingest from ``run_guardrail {check}`` span events
# (and spans of that name from other instrumentations). Sorted for the dashboard's questions:
# a project's decisions over time by check and action.
GUARDRAIL_EVENTS = Table(
    name="guardrail_events",
    columns=(
        Column("project", "LowCardinality(String)"),
        Column("timestamp", TS, codec="Delta, ZSTD(1)"),
        Column("trace_id", "String", codec="ZSTD(1)"),
        Column("span_id", "String", codec="ZSTD(1)"),
        Column("event_index", "UInt16"),
        Column("service_name", "LowCardinality(String)"),
        Column("request_model", "LowCardinality(String)"),
        Column("check_name", "LowCardinality(String)"),
        Column("check_type", "LowCardinality(String)"),
        Column("target", "LowCardinality(String)"),
        Column("action", "LowCardinality(String)"),
        Column("policy_name", "LowCardinality(String)"),
        Column("policy_version", "LowCardinality(String)"),
        Column("latency_ms", "Float64"),
        Column("entity_types", "Array(LowCardinality(String))"),
        Column("entity_counts", "Map(LowCardinality(String), UInt32)"),
        Column("reason", "String", codec="ZSTD(1)"),
        Column("error", "LowCardinality(String)"),
        Column("retention_days", "UInt16", default="30"),
        Column("ingested_at", "DateTime64(3, 'UTC')", default="now64(3)"),
    ),
    partition_by="toDate(timestamp)",
    order_by="(project, toDate(timestamp), check_name, action, timestamp)",
    ttl="toDateTime(timestamp) + toIntervalDay(retention_days)",
    indexes=(
        "INDEX idx_ge_trace_id trace_id TYPE bloom_filter(0.001) GRANULARITY 1",
        "INDEX idx_ge_entity_types entity_types TYPE bloom_filter(0.01) GRANULARITY 4",
        "INDEX idx_ge_request_model request_model TYPE set(256) GRANULARITY 4",
    ),
    settings={"ttl_only_drop_parts": "1"},
)


@dataclass(frozen=True)
class Statement:
    """Any other DDL (e.g. ``ALTER TABLE {db}.spans ...``); ``{db}`` is the quoted database."""

    sql: str
    table: str | None = None
    # DML (e.g. a backfill INSERT ... SELECT): in cluster mode it runs once, without
    # ON CLUSTER, through the Distributed table, which routes rows to their shards.
    data: bool = False


MIGRATIONS_TABLE = Table(
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


# --- cluster mode -------------------------------------------------------------------------------
# Each logical table becomes a Replicated*MergeTree table ``<name>_local`` on every node plus a
# ``Distributed`` table ``<name>`` over it, so readers and writers keep using the logical name
# (``ClickHouseStore.table(name)``) and reach every shard. Materialized views attach to the
# local tables, so what they derive stays on the shard of its source rows.

LOCAL_SUFFIX = "_local"
REPLICA_PATH = "/clickhouse/tables/{shard}/{database}/{table}"
REPLICA_NAME = "{replica}"

# ``{db}.name`` / ``{db}.`name``` inside a view's SELECT or a Statement.
_DB_REF = re.compile(r"\{db\}\.`?([A-Za-z_][A-Za-z0-9_]*)`?")
# ALTER actions a Distributed table must mirror (it has columns, but no indexes, TTL, ...).
_COLUMN_ACTION = re.compile(r"\b(?:ADD|DROP|MODIFY|RENAME|COMMENT|CLEAR)\s+COLUMN\b", re.I)
_OTHER_ACTION = re.compile(
    r"\b(?:(?:ADD|DROP|MATERIALIZE|CLEAR)\s+(?:INDEX|PROJECTION|CONSTRAINT|STATISTICS?)"
    r"|MODIFY\s+(?:TTL|SETTING|ORDER\s+BY|SAMPLE\s+BY|QUERY)|REMOVE\s+TTL|MATERIALIZE\s+TTL"
    r"|UPDATE|DELETE|FREEZE|DETACH|ATTACH)\b",
    re.I,
)


def local_name(name: str) -> str:
    """The shard-local table behind the Distributed table ``name``."""
    return name + LOCAL_SUFFIX


def _quote_cluster(cluster: str) -> str:
    if not _IDENTIFIER.match(cluster):
        raise ValueError(f"invalid cluster name {cluster!r}")
    return f"`{cluster}`"


def _on_cluster_after_first_ref(sql: str, cluster: str) -> str:
    """Insert ``ON CLUSTER`` after the statement's first ``{db}.name`` (where ClickHouse wants
    it for CREATE/ALTER/DROP/TRUNCATE/OPTIMIZE); RENAME takes it at the end."""
    if sql.lstrip().upper().startswith("RENAME"):
        return f"{sql.rstrip().rstrip(';')} ON CLUSTER {cluster}"
    match = _DB_REF.search(sql)
    if match is None:
        raise ValueError(f"cannot place ON CLUSTER: no {{db}}.<name> in {sql!r}")
    return f"{sql[: match.end()]} ON CLUSTER {cluster}{sql[match.end() :]}"


def _replicated_table(table: Table, database: str, cluster: str) -> str:
    args = ", ".join(a for a in (f"'{REPLICA_PATH}'", f"'{REPLICA_NAME}'", table.engine_args) if a)
    local = replace(
        table,
        name=local_name(table.name),
        engine="Replicated" + table.engine,
        engine_args=args,
    )
    head, rest = create_table(local, database).split("\n", 1)
    return f"{head.removesuffix(' (')} ON CLUSTER {cluster} (\n{rest}"


def _distributed_table(table: Table, database: str, cluster: str) -> str:
    columns = {c.name for c in table.columns}
    used = set(re.findall(r"[A-Za-z_][A-Za-z0-9_]*", table.shard_key))
    if not used & columns:
        raise ValueError(
            f"table {table.name!r}: shard_key {table.shard_key!r} names none of its columns; "
            "give the Table a shard_key"
        )
    return (
        f"CREATE TABLE IF NOT EXISTS `{database}`.`{table.name}` ON CLUSTER {cluster} "
        f"AS `{database}`.`{local_name(table.name)}` "
        f"ENGINE = Distributed('{cluster.strip('`')}', '{database}', '{local_name(table.name)}', "
        f"{table.shard_key})"
    )


def _cluster_view(view: MaterializedView, database: str, cluster: str) -> str:
    select = _DB_REF.sub(lambda m: f"{{db}}.`{local_name(m[1])}`", view.select)
    return (
        f"CREATE MATERIALIZED VIEW IF NOT EXISTS `{database}`.`{view.name}` ON CLUSTER {cluster} "
        f"TO `{database}`.`{local_name(view.target)}` AS {select.format(db=f'`{database}`')}"
    )


def _cluster_statement(statement: Statement, database: str, cluster: str) -> list[str]:
    if statement.data:
        return [statement.sql.format(db=f"`{database}`")]
    sql = _on_cluster_after_first_ref(statement.sql, cluster)
    if statement.table is None:
        return [sql.format(db=f"`{database}`")]

    def on(name: str) -> str:
        return _DB_REF.sub(
            lambda m: f"{{db}}.`{name}`" if m[1] == statement.table else m[0], sql
        ).format(db=f"`{database}`")

    local = on(local_name(statement.table))
    is_alter = statement.sql.lstrip().upper().startswith("ALTER")
    columns, other = _COLUMN_ACTION.search(statement.sql), _OTHER_ACTION.search(statement.sql)
    if is_alter and columns and other:
        raise ValueError(
            "split this ALTER: column changes go to the local and the Distributed table, "
            f"other changes only to the local one: {statement.sql!r}"
        )
    if is_alter and not columns:
        return [local]
    # Column changes, DROP and TRUNCATE of the logical table: local first, then Distributed.
    return [local, on(statement.table)]


def render_cluster(
    obj: Table | MaterializedView | Statement, database: str, cluster: str
) -> list[str]:
    """Cluster DDL (``ON CLUSTER``) for any schema object, from the same description as
    :func:`render`.

    * :class:`Table` → ``Replicated<engine>`` table ``<name>_local`` (Keeper path
      :data:`REPLICA_PATH`, replica :data:`REPLICA_NAME`) and a ``Distributed`` table ``<name>``
      sharded by ``Table.shard_key``.
    * :class:`MaterializedView` → the view on the local tables (every ``{db}.x`` in its SELECT
      and its target become ``x_local``).
    * :class:`Statement` → ``ON CLUSTER`` after its first ``{db}.name``; when ``table`` is set,
      that name becomes the local table, and column ALTERs, DROP and TRUNCATE are repeated on the
      Distributed table.
    """
    quoted = _quote_cluster(cluster)
    if isinstance(obj, Table):
        return [
            _replicated_table(obj, database, quoted),
            _distributed_table(obj, database, quoted),
        ]
    if isinstance(obj, MaterializedView):
        return [_cluster_view(obj, database, quoted)]
    return _cluster_statement(obj, database, quoted)


def create_database_cluster(database: str, cluster: str) -> str:
    return f"{create_database(database)} ON CLUSTER {_quote_cluster(cluster)}"


# --- migration 4: scores, the audit ledger, generation statistics ----------------------------

SCORES = Table(
    name="scores",
    columns=(
        Column("project", "LowCardinality(String)"),
        Column("score_id", "String"),
        Column("trace_id", "String", codec="ZSTD(1)"),
        Column("span_id", "String", codec="ZSTD(1)"),
        Column("name", "LowCardinality(String)"),
        Column("value", "Float64"),
        Column("data_type", "LowCardinality(String)"),
        Column("label", "String", codec="ZSTD(1)"),
        Column("comment", "String", codec="ZSTD(3)"),
        Column("source", "LowCardinality(String)"),
        # The scored span's dimensions, copied in so rates group without joining spans.
        Column("span_hour", "DateTime('UTC')"),
        Column("observation_kind", "LowCardinality(String)"),
        Column("service_name", "LowCardinality(String)"),
        Column("provider", "LowCardinality(String)"),
        Column("model", "LowCardinality(String)"),
        Column("prompt_template", "LowCardinality(String)"),
        Column("created_at", "DateTime64(3, 'UTC')", default="now64(3)"),
    ),
    partition_by="toYYYYMM(span_hour)",
    order_by="(project, name, span_hour, span_id, source)",
    indexes=("INDEX idx_trace_id trace_id TYPE bloom_filter(0.001) GRANULARITY 1",),
    # Written with each ingest batch's dedup token (collector/ingest.py): replays add nothing.
    settings={"non_replicated_deduplication_window": str(DEDUP_WINDOW)},
)

# One row per ledger entry: only hashes and identifiers, never prompt or answer text.
LEDGER_ROWS = Table(
    name="ledger_rows",
    columns=(
        Column("project", "LowCardinality(String)"),
        Column("batch_id", "String"),
        Column("row_index", "UInt32"),
        Column("kind", "LowCardinality(String)"),
        Column("trace_id", "String", codec="ZSTD(1)"),
        Column("span_id", "String", codec="ZSTD(1)"),
        Column("payload", "String", codec="ZSTD(3)"),
        Column("row_hash", "String", codec="ZSTD(1)"),
    ),
    order_by="(project, batch_id, row_index)",
    shard_key="cityHash64(project)",  # a batch's rows live on the shard of its header
    settings={"non_replicated_deduplication_window": str(DEDUP_WINDOW)},
    indexes=("INDEX idx_trace_id trace_id TYPE bloom_filter(0.001) GRANULARITY 1",),
)

# One row per ingest batch: the Merkle root of its rows and the hash chaining it to the last.
LEDGER_BATCHES = Table(
    name="ledger_batches",
    columns=(
        Column("project", "LowCardinality(String)"),
        Column("seq", "UInt64"),
        Column("batch_id", "String"),
        Column("created_at", "DateTime64(9, 'UTC')"),
        Column("row_count", "UInt32"),
        Column("merkle_root", "String", codec="ZSTD(1)"),
        Column("prev_hash", "String", codec="ZSTD(1)"),
        Column("chain_hash", "String", codec="ZSTD(1)"),
    ),
    order_by="(project, seq)",
    shard_key="cityHash64(project)",
)

# Signed statements of a project's chain head (tracerail.evidence.checkpoint), one per signing;
# also appended to an external sink, which is what makes them worth more than the chain itself.
LEDGER_CHECKPOINTS = Table(
    name="ledger_checkpoints",
    columns=(
        Column("project", "LowCardinality(String)"),
        Column("seq", "UInt64"),
        Column("chain_hash", "String", codec="ZSTD(1)"),
        Column("batch_id", "String"),
        Column("batch_created_at_ns", "Int64"),
        Column("signed_at_ns", "Int64"),
        Column("key_id", "LowCardinality(String)"),
        Column("signature", "String", codec="ZSTD(1)"),
    ),
    order_by="(project, seq, signed_at_ns)",
    shard_key="cityHash64(project)",
)

# The grouping columns of the hourly generation aggregates (generation and hallucination stats).
_HOURLY_GENERATION_DIMENSIONS = (
    Column("project", "LowCardinality(String)"),
    Column("hour", "DateTime('UTC')"),
    Column("service_name", "LowCardinality(String)"),
    Column("provider", "LowCardinality(String)"),
    Column("model", "LowCardinality(String)"),
    Column("prompt_template", "LowCardinality(String)"),
)

# Per hour and model: calls, latency, tokens, cost of generation spans (the model scorecard).
GENERATION_STATS = Table(
    name="generation_stats",
    columns=(
        *_HOURLY_GENERATION_DIMENSIONS,
        Column("calls", "SimpleAggregateFunction(sum, UInt64)"),
        Column("latency_ms_sum", "SimpleAggregateFunction(sum, Float64)"),
        Column("latency_ms_q", "AggregateFunction(quantilesTDigest(0.5, 0.95), Float64)"),
        Column("input_tokens", "SimpleAggregateFunction(sum, UInt64)"),
        Column("output_tokens", "SimpleAggregateFunction(sum, UInt64)"),
        Column("cost_usd", "SimpleAggregateFunction(sum, Float64)"),
    ),
    engine="AggregatingMergeTree",
    partition_by="toYYYYMM(hour)",
    order_by="(project, hour, model, provider, service_name, prompt_template)",
    shard_key="cityHash64(project, model)",
    # Fed by a view on spans: a replayed spans insert must not count its generations twice.
    settings={"non_replicated_deduplication_window": str(DEDUP_WINDOW)},
)

_GENERATION_STATS_SELECT = (
    "SELECT project, toStartOfHour(timestamp) AS hour, service_name, provider, "
    "if(response_model != '', response_model, request_model) AS model, "
    f"attributes['{sc.TRACERAIL_PROMPT_TEMPLATE_ID}'] AS prompt_template, "
    "toUInt64(count()) AS calls, sum(duration_ns / 1e6) AS latency_ms_sum, "
    "quantilesTDigestState(0.5, 0.95)(duration_ns / 1e6) AS latency_ms_q, "
    "sum(toUInt64(input_tokens)) AS input_tokens, sum(toUInt64(output_tokens)) AS output_tokens, "
    "sum(ifNull(cost_usd, 0)) AS cost_usd "
    "FROM {db}.spans "
    f"WHERE observation_kind = '{sc.KIND_GENERATION}' "
    "GROUP BY project, hour, service_name, provider, model, prompt_template"
)

GENERATION_STATS_MV = MaterializedView(
    name="generation_stats_mv",
    source="spans",
    target="generation_stats",
    select=_GENERATION_STATS_SELECT,
)

# Fill generation_stats from spans stored before migration 4, once (only while it is empty).
GENERATION_STATS_BACKFILL = Statement(
    sql=(
        "INSERT INTO {db}.generation_stats "
        + _GENERATION_STATS_SELECT.replace(
            "WHERE observation_kind",
            "WHERE (SELECT count() FROM {db}.generation_stats) = 0 AND observation_kind",
        )
    ),
    table="generation_stats",
    data=True,
)


# --- migration 5: faster trace lookup, pre-aggregated hallucination counts -------------------

# Replaces ``trace_index`` (daily partitions: a lookup touched one part per day). Monthly
# partitions and small granules make the (project, trace_id) lookup read one granule per
# month; expired rows are removed by merges instead of whole-part drops.
TRACE_LOOKUP = Table(
    name="trace_lookup",
    columns=TRACE_INDEX.columns,
    partition_by="toYYYYMM(start)",
    order_by="(project, trace_id)",
    ttl="toDateTime(start) + toIntervalDay(retention_days)",
    settings={
        "index_granularity": "1024",
        "non_replicated_deduplication_window": str(DEDUP_WINDOW),
    },
)

TRACE_LOOKUP_MV = MaterializedView(
    name="trace_lookup_mv",
    source="spans",
    target="trace_lookup",
    select=TRACE_INDEX_MV.select,
)

TRACE_LOOKUP_BACKFILL = Statement(
    sql="INSERT INTO {db}.trace_lookup " + TRACE_INDEX_MV.select,
    table="trace_lookup",
    data=True,
)

DROP_TRACE_INDEX = (
    Statement("DROP VIEW IF EXISTS {db}.trace_index_mv"),
    Statement("DROP TABLE IF EXISTS {db}.trace_index", table="trace_index"),
)

# Hallucination scores counted per hour, span dimensions, source and value bucket: each
# scored generation contributes +1 for its latest value per source and +1 under source
# ``any`` (human over judge over auto). A view adds +1 (source) and +1 (``any``) for every
# score row inserted; the writer (collector/store/hallucination_stats.py) inserts the
# corrections first (-1 for a value a re-score replaces, and for ``any`` rows that are not the
# span's preferred score). ``bucket`` is the largest k in 0..100 with k/100 <= value, so
# "value >= k/100" is exactly "bucket >= k".
HALLUCINATION_STATS = Table(
    name="hallucination_stats",
    columns=(
        *_HOURLY_GENERATION_DIMENSIONS,
        Column("source", "LowCardinality(String)"),
        Column("bucket", "UInt8"),
        Column("evaluated", "Int64"),
    ),
    engine="SummingMergeTree",
    engine_args="evaluated",
    partition_by="toYYYYMM(hour)",
    order_by="(project, hour, model, provider, service_name, prompt_template, source, bucket)",
    shard_key="cityHash64(project, model)",
    # Written with the score batch's dedup token: a replayed batch adds nothing.
    settings={"non_replicated_deduplication_window": str(DEDUP_WINDOW)},
)


# Which of a span's scores counts under "any" (highest first), and which one is its latest.
SOURCE_PRIORITY: dict[str, int] = {"human": 3, "judge": 2, "auto": 1}
SOURCE_PRIORITY_SQL = (
    "multiIf("
    + ", ".join(f"source = '{s}', {p}" for s, p in SOURCE_PRIORITY.items() if p > 1)
    + ", 1)"
)
LATEST_COLUMNS = "created_at, score_id"
LATEST_SQL = f"({LATEST_COLUMNS})"


def bucket_sql(value: str) -> str:
    """SQL for the bucket of Float64 ``value``; equal to ``hallucination_stats.bucket``."""
    k = f"floor({value} * 100)"
    return (
        f"toUInt8(multiIf(({k} + 1) / 100 <= {value}, {k} + 1, {k} / 100 > {value}, {k} - 1, {k}))"
    )


# Every span's current contribution, computed from ``scores`` (the rebuild and the backfill).
HALLUCINATION_STATS_SELECT = (
    "SELECT project, hour, service_name, provider, model, prompt_template, "
    f"pair.1 AS source, {bucket_sql('pair.2')} AS bucket, "
    "toInt64(count()) AS evaluated FROM ("
    "  SELECT project, span_id, any(span_hour) AS hour, any(service_name) AS service_name, "
    "  any(provider) AS provider, any(model) AS model, any(prompt_template) AS prompt_template, "
    "  arrayFilter(p -> p.2 >= 0, ["
    + ", ".join(
        f"('{source}', if(countIf(source = '{source}') > 0, "
        f"argMaxIf(value, {LATEST_SQL}, source = '{source}'), -1.0))"
        for source in sc.SCORE_SOURCES
    )
    + f", ('any', argMax(value, ({SOURCE_PRIORITY_SQL}, {LATEST_COLUMNS})))]) AS pairs "
    f"  FROM {{db}}.scores WHERE name = '{sc.SCORE_HALLUCINATION}' GROUP BY project, span_id"
    ") ARRAY JOIN pairs AS pair "
    "GROUP BY project, hour, service_name, provider, model, prompt_template, source, bucket"
)

HALLUCINATION_STATS_MV = MaterializedView(
    name="hallucination_stats_mv",
    source="scores",
    target="hallucination_stats",
    select=(
        "SELECT project, hour, service_name, provider, model, prompt_template, "
        "stat_source AS source, bucket, toInt64(1) AS evaluated FROM ("
        "  SELECT project, span_hour AS hour, service_name, provider, model, prompt_template, "
        f"  arrayJoin([toString(source), 'any']) AS stat_source, {bucket_sql('value')} AS bucket "
        f"  FROM {{db}}.scores WHERE name = '{sc.SCORE_HALLUCINATION}')"
    ),
)

HALLUCINATION_STATS_BACKFILL = Statement(
    sql=(
        "INSERT INTO {db}.hallucination_stats "
        + HALLUCINATION_STATS_SELECT.replace(
            "WHERE name =", "WHERE (SELECT count() FROM {db}.hallucination_stats) = 0 AND name ="
        )
    ),
    table="hallucination_stats",
    data=True,
)


# --- migration 6: who produced a score ------------------------------------------------------

# Added to ``scores`` (after ``prompt_template``): the evaluator's name and version and its
# prompt's SHA-256 (empty for evaluators without a prompt), and a human reviewer's id. All
# default to '' so rows written before the migration (and by older collectors) stay valid.
SCORE_PROVENANCE_COLUMNS = (
    Column("evaluator", "LowCardinality(String)", default="''"),
    Column("evaluator_version", "LowCardinality(String)", default="''"),
    Column("prompt_sha256", "String", default="''"),
    Column("reviewer", "String", default="''"),
)

ADD_SCORE_PROVENANCE = tuple(
    Statement(
        f"ALTER TABLE {{db}}.scores ADD COLUMN IF NOT EXISTS {column.render()} AFTER `{after}`",
        table="scores",
    )
    for column, after in zip(
        SCORE_PROVENANCE_COLUMNS,
        ("prompt_template", *(c.name for c in SCORE_PROVENANCE_COLUMNS[:-1])),
        strict=True,
    )
)

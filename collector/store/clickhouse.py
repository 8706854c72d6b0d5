"""``ClickHouseStore``: one clickhouse-connect client, embedded chDB or a server.

The DSN picks the engine: ``chdb:///path`` runs ClickHouse in-process, ``http(s)://host:8123``
talks to a server. Everything else is the same code path. chDB allows one data path per
process, so a process holds one store.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import clickhouse_connect
import pyarrow as pa
from clickhouse_connect.driver.client import Client
from clickhouse_connect.driver.query import QueryResult

from tracerail.collector.errors import Unavailable
from tracerail.collector.store import ddl, migrations, retention
from tracerail.collector.store.chdb_arrow import ChdbArrowInserter, open_fast_path
from tracerail.collector.store.cluster_ddl import (
    create_database_cluster,
    local_name,
    render_cluster,
)

logger = logging.getLogger("tracerail.collector")

_DATABASE_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")


class StoreError(Unavailable):
    """Storage is unreachable or refused an operation."""


# Cluster mode: a query with ``trace_id = ...`` reads only the shard that holds the trace
# (tables are sharded by ``cityHash64(trace_id)``), and an insert into a Distributed table
# returns only after every shard has the rows, so acknowledged spans are stored, not queued.
CLUSTER_SETTINGS: dict[str, Any] = {
    "optimize_skip_unused_shards": 1,
    "distributed_foreground_insert": 1,
}


_UNPROBED = object()


def _chdb_path(dsn: str) -> str:
    parsed = urlparse(dsn)
    return parsed.path or parsed.netloc


def _connect(dsn: str, settings: Mapping[str, Any] | None = None) -> Client:
    parsed = urlparse(dsn)
    if parsed.scheme == "chdb":
        path = _chdb_path(dsn)
        if path:
            Path(path).mkdir(parents=True, exist_ok=True)
        return clickhouse_connect.get_client(dsn=dsn, settings=dict(settings or {}))
    if parsed.scheme in ("http", "https", "clickhouse", "clickhouses"):
        return clickhouse_connect.get_client(dsn=dsn, compress="lz4", settings=dict(settings or {}))
    raise ValueError(f"storage DSN must start with chdb://, http:// or https://, got {dsn!r}")


_RETENTION_CACHE_SECONDS = 5.0
# Tables whose TTL is the retention, as the latest migration defines them.
_RETENTION_TABLES = tuple(
    {
        obj.name: obj
        for migration in migrations.MIGRATIONS
        for obj in migration.objects
        if isinstance(obj, ddl.Table) and obj.ttl
    }.values()
)


class ClickHouseStore:
    """Connection, migrations and parameterized reads/writes over one client.

    With ``cluster`` set, the schema is created ``ON CLUSTER`` (see
    :func:`~tracerail.collector.store.cluster_ddl.render_cluster`): :meth:`table` names the
    ``Distributed`` table, so every read and write spans all shards, and :meth:`local_table`
    names the shard-local replicated table behind it.
    """

    def __init__(
        self,
        dsn: str,
        database: str = "tracerail",
        *,
        cluster: str | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if not _DATABASE_NAME.match(database):
            raise ValueError(f"invalid database name {database!r}")
        if cluster is not None and not _DATABASE_NAME.match(cluster):
            raise ValueError(f"invalid cluster name {cluster!r}")
        self.dsn = dsn
        self.database = database
        self.cluster = cluster
        self.embedded = urlparse(dsn).scheme == "chdb"
        self._client: Client | None = None
        self._lock = threading.Lock()
        # Score writes read the current scores before writing (store/hallucination_stats.py).
        self.scores_lock = threading.Lock()
        # "Now" for retention at read time (store/retention.py): seconds since the epoch.
        self.clock = clock
        self._retentions: tuple[float, dict[str, int]] | None = None
        self._arrow: ChdbArrowInserter | object | None = _UNPROBED

    # --- connection --------------------------------------------------------------------------
    @property
    def client(self) -> Client:
        if self._client is None:
            with self._lock:
                if self._client is None:
                    try:
                        self._client = _connect(
                            self.dsn, CLUSTER_SETTINGS if self.cluster else None
                        )
                    except ValueError:
                        raise
                    except Exception as exc:
                        raise StoreError(f"cannot connect to {self._safe_dsn()}: {exc}") from exc
        return self._client

    def _safe_dsn(self) -> str:
        parsed = urlparse(self.dsn)
        if parsed.password:
            return self.dsn.replace(parsed.password, "***")
        return self.dsn

    def table(self, name: str) -> str:
        """Fully qualified, quoted table name (the Distributed table in cluster mode)."""
        return f"`{self.database}`.`{name}`"

    def local_table(self, name: str) -> str:
        """The shard-local table behind ``name`` (``name`` itself on a single node)."""
        return self.table(local_name(name) if self.cluster else name)

    def ping(self) -> bool:
        """True when storage answers a trivial query."""
        try:
            self.client.query("SELECT 1")
            return True
        except Exception:
            logger.warning("storage ping failed", exc_info=True)
            return False

    def close(self) -> None:
        arrow, self._arrow = self._arrow, _UNPROBED
        if isinstance(arrow, ChdbArrowInserter):
            arrow.close()
        client, self._client = self._client, None
        if client is not None:
            client.close()

    # --- schema --------------------------------------------------------------------------------
    def applied_versions(self) -> set[int]:
        result = self.client.query(f"SELECT version FROM {self.table('schema_migrations')} FINAL")
        return {int(row[0]) for row in result.result_rows}

    def schema_statements(self, migration: migrations.Migration) -> list[str]:
        """The DDL of ``migration`` for this store's mode (single node or cluster)."""
        if self.cluster:
            return migration.cluster_statements(self.database, self.cluster)
        return migration.statements(self.database)

    def bootstrap_statements(self) -> list[str]:
        """Database and ``schema_migrations`` table, before any migration."""
        if self.cluster:
            return [
                create_database_cluster(self.database, self.cluster),
                *render_cluster(migrations.MIGRATIONS_TABLE, self.database, self.cluster),
            ]
        return [
            ddl.create_database(self.database),
            ddl.create_table(migrations.MIGRATIONS_TABLE, self.database),
        ]

    def migrate(self) -> list[int]:
        """Apply pending migrations; returns the versions applied now."""
        for statement in self.bootstrap_statements():
            self.client.command(statement)
        done: list[int] = []
        for migration in migrations.pending(self.applied_versions()):
            logger.info("applying migration %d: %s", migration.version, migration.name)
            for statement in self.schema_statements(migration):
                self.client.command(statement)
            self.client.insert(
                self.table("schema_migrations"),
                [[migration.version, migration.name]],
                column_names=["version", "name"],
            )
            done.append(migration.version)
        return done

    def is_migrated(self) -> bool:
        try:
            return migrations.latest_version() in self.applied_versions()
        except Exception:
            return False

    # --- reads and writes -------------------------------------------------------------------
    def insert_columns(
        self,
        table: str,
        columns: Mapping[str, Sequence[Any]],
        *,
        settings: Mapping[str, Any] | None = None,
    ) -> None:
        """Insert column-oriented data in one statement (with per-insert ``settings``)."""
        names = list(columns)
        self.client.insert(
            self.table(table),
            [columns[name] for name in names],
            column_names=names,
            column_oriented=True,
            settings=dict(settings) if settings else None,
        )

    def insert_row(self, table: str, row: Mapping[str, Any]) -> None:
        """Insert one row, given as column name → value (columns left out take their default)."""
        self.insert_columns(table, {name: [value] for name, value in row.items()})

    def command(
        self,
        sql: str,
        parameters: Mapping[str, Any] | None = None,
        settings: Mapping[str, Any] | None = None,
    ) -> None:
        """Run a parameterized statement that returns no rows (DDL, ``ALTER … DELETE``)."""
        self.client.command(
            sql, parameters=dict(parameters or {}), settings=dict(settings) if settings else None
        )

    def insert_arrow(
        self, table: str, data: pa.Table, *, settings: Mapping[str, Any] | None = None
    ) -> None:
        """Insert an Arrow table in one statement (columns by name).

        Embedded chDB takes the fast path of :mod:`~tracerail.collector.store.chdb_arrow` when
        its start-up probe passed; a server (or a failed probe) gets clickhouse-connect's
        ``insert_arrow``.
        """
        fast = self.arrow_fast_path()
        if fast is not None:
            fast.insert(self.table(table), data, settings)
            return
        self.client.insert_arrow(
            self.table(table), data, settings=dict(settings) if settings else None
        )

    def arrow_fast_path(self) -> ChdbArrowInserter | None:
        """The chDB Arrow inserter (opened and probed once), or ``None`` on a server."""
        if not self.embedded:
            return None
        if self._arrow is _UNPROBED:
            self.client  # noqa: B018 - opens the data path (and takes the lock) first
            with self._lock:
                if self._arrow is _UNPROBED:
                    self._arrow = open_fast_path(_chdb_path(self.dsn))
        return self._arrow if isinstance(self._arrow, ChdbArrowInserter) else None

    def project_retentions(self) -> dict[str, int]:
        """Project → retention in days, read at most every few seconds."""
        cached = self._retentions
        if cached is not None and time.monotonic() - cached[0] < _RETENTION_CACHE_SECONDS:
            return cached[1]
        try:
            result = self.client.query(
                f"SELECT name, retention_days FROM {self.table('projects')} FINAL"
            )
            days = {str(name): int(value) for name, value in result.result_rows}
        except Exception:  # not migrated yet: nothing to filter by
            days = {}
        self._retentions = (time.monotonic(), days)
        return days

    def forget_retentions(self) -> None:
        """Drop the cached project retentions (after a project's retention changed)."""
        self._retentions = None

    def read_settings(self) -> dict[str, Any]:
        """Settings of every read: hide rows past retention as of :attr:`clock`."""
        filters = retention.table_filters(
            _RETENTION_TABLES, int(self.clock()), self.project_retentions()
        )
        qualified = {f"{self.database}.{name}": sql for name, sql in filters.items()}
        return {"additional_table_filters": retention.setting_value(qualified)}

    def query(self, sql: str, parameters: Mapping[str, Any] | None = None) -> list[dict[str, Any]]:
        """Run a parameterized SELECT (``{name:Type}`` bindings); rows as dicts.

        Rows past their retention are left out (:mod:`~tracerail.collector.store.retention`).
        """
        result = self._select(sql, parameters)
        names = result.column_names
        return [dict(zip(names, row, strict=True)) for row in result.result_rows]

    def scalar(self, sql: str, parameters: Mapping[str, Any] | None = None) -> Any:
        """The one value a parameterized SELECT such as ``SELECT count() …`` returns.

        That is the first column of the first row, or None when there is no row. Retention
        applies as in :meth:`query`.
        """
        row = self._select(sql, parameters).first_row
        return None if row is None else row[0]

    def _select(self, sql: str, parameters: Mapping[str, Any] | None) -> QueryResult:
        return self.client.query(
            sql, parameters=dict(parameters or {}), settings=self.read_settings()
        )

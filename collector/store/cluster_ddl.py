"""Cluster rendering: the ``ON CLUSTER`` DDL of the schema objects in :mod:`.ddl`.

Each logical table becomes a Replicated*MergeTree table ``<name>_local`` on every node plus a
``Distributed`` table ``<name>`` over it, so readers and writers keep using the logical name
(``ClickHouseStore.table(name)``) and reach every shard. Materialized views attach to the
local tables, so what they derive stays on the shard of its source rows. The single-node and
the cluster variant read the same descriptions, so they cannot drift apart.
"""

from __future__ import annotations

import re
from dataclasses import replace

from tracerail.collector.store.ddl import (
    MaterializedView,
    SchemaObject,
    Statement,
    Table,
    create_database,
    create_table,
)

__all__ = [
    "LOCAL_SUFFIX",
    "REPLICA_NAME",
    "REPLICA_PATH",
    "create_database_cluster",
    "local_name",
    "render_cluster",
]

_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")

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


def render_cluster(obj: SchemaObject, database: str, cluster: str) -> list[str]:
    """Cluster DDL (``ON CLUSTER``) for any schema object, from the same description as
    :func:`~tracerail.collector.store.ddl.render`.

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
    """``CREATE DATABASE IF NOT EXISTS ... ON CLUSTER``."""
    return f"{create_database(database)} ON CLUSTER {_quote_cluster(cluster)}"

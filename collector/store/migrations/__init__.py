"""Versioned, idempotent schema migrations, one module each.

Applied versions are recorded in ``schema_migrations``
(:data:`~tracerail.collector.store.migrations.migration.MIGRATIONS_TABLE`);
:meth:`ClickHouseStore.migrate <tracerail.collector.store.clickhouse.ClickHouseStore.migrate>`
applies the :func:`pending` ones in version order. Statements are ``IF NOT EXISTS`` (or
otherwise safe to repeat), so a half-applied migration can be run again.

Adding a migration is adding one module to this package:

* name it ``mNNN_<what>.py``, ``NNN`` the next version, zero-padded (``m008_agents.py``);
* define the tables, views and statements it creates or changes with the DDL model of
  :mod:`tracerail.collector.store.ddl` (its helpers spell the shared column and setting shapes),
  and ``MIGRATION = Migration(NNN, "what it does", (objects, ...))``;
* never edit an applied migration: databases already at that version will not run it again.
  Change a table with a new migration (e.g. a :class:`~.ddl.Statement` ``ALTER TABLE``).

The module is found by its name; its ``MIGRATION.version`` must be ``NNN`` and versions must run
1, 2, 3, ... without gaps. The same objects render the single-node DDL and the ``ON CLUSTER``
DDL (:func:`~tracerail.collector.store.cluster_ddl.render_cluster`), so nothing else needs
writing for cluster mode.
"""

from __future__ import annotations

import importlib
import pkgutil
import re
from collections.abc import Iterable

from tracerail.collector.store.migrations.migration import MIGRATIONS_TABLE, Migration

__all__ = [
    "MIGRATIONS",
    "MIGRATIONS_TABLE",
    "Migration",
    "discover",
    "latest_version",
    "pending",
]

_MODULE = re.compile(r"^m(\d{3})_\w+$")


def discover(package: str, path: Iterable[str]) -> tuple[Migration, ...]:
    """The ``MIGRATION`` of every ``mNNN_*`` module of ``package`` (found in ``path``), in
    version order; :class:`ImportError` when a version is missing, repeated or not ``NNN``."""
    found: list[Migration] = []
    for info in pkgutil.iter_modules(path):
        match = _MODULE.match(info.name)
        if match is None:
            continue
        module = importlib.import_module(f"{package}.{info.name}")
        migration = getattr(module, "MIGRATION", None)
        if not isinstance(migration, Migration) or migration.version != int(match[1]):
            raise ImportError(
                f"{module.__name__} must define MIGRATION = Migration({int(match[1])}, ...)"
            )
        found.append(migration)
    found.sort(key=lambda m: m.version)
    versions = [m.version for m in found]
    if versions != list(range(1, len(found) + 1)):
        raise ImportError(f"migration versions must run 1, 2, 3, ... without gaps: {versions}")
    return tuple(found)


MIGRATIONS: tuple[Migration, ...] = discover(__name__, __path__)


def pending(applied: set[int]) -> list[Migration]:
    """Migrations not yet applied, in version order."""
    return [m for m in MIGRATIONS if m.version not in applied]


def latest_version() -> int:
    """The version the newest migration brings the schema to."""
    return max(m.version for m in MIGRATIONS)

"""Versioned, idempotent schema migrations.

Each migration has a version and a list of statements; applied versions are recorded in
``schema_migrations``. Statements are ``IF NOT EXISTS`` so a half-applied migration can be run
again safely.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

from tracerail.collector.store import schema

logger = logging.getLogger("tracerail.collector")


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    statements: Callable[[str], list[str]]


MIGRATIONS: tuple[Migration, ...] = (
    Migration(
        1,
        "spans and trace index",
        lambda db: [
            schema.create_table(schema.SPANS, db),
            schema.create_table(schema.TRACE_INDEX, db),
            schema.create_view(schema.TRACE_INDEX_MV, db),
        ],
    ),
)


def pending(applied: set[int]) -> list[Migration]:
    """Migrations not yet applied, in version order."""
    return [m for m in MIGRATIONS if m.version not in applied]


def latest_version() -> int:
    return max(m.version for m in MIGRATIONS)

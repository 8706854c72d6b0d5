"""Versioned, idempotent schema migrations.

Each migration has a version and a list of statements; applied versions are recorded in
``schema_migrations``. Statements are ``IF NOT EXISTS`` so a half-applied migration can be run
again safely.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from tracerail.collector.store import schema
from tracerail.collector.store.schema import MaterializedView, Statement, Table

logger = logging.getLogger("tracerail.collector")


SchemaObject = Table | MaterializedView | Statement


@dataclass(frozen=True)
class Migration:
    """One schema version: the objects it creates or changes, rendered per deployment mode."""

    version: int
    name: str
    objects: tuple[SchemaObject, ...]

    def statements(self, database: str) -> list[str]:
        """The single-node DDL of this migration."""
        return [schema.render(obj, database) for obj in self.objects]

    def cluster_statements(self, database: str, cluster: str) -> list[str]:
        """The ``ON CLUSTER`` DDL of this migration, from the same objects."""
        return [
            sql for obj in self.objects for sql in schema.render_cluster(obj, database, cluster)
        ]


MIGRATIONS: tuple[Migration, ...] = (
    Migration(
        1,
        "spans and trace index",
        (schema.SPANS, schema.TRACE_INDEX, schema.TRACE_INDEX_MV),
    ),
    Migration(2, "guardrail decisions", (schema.GUARDRAIL_EVENTS,)),
    Migration(
        3,
        "projects, api keys, erasures, idempotent ingest",
        (
            schema.PROJECTS,
            schema.API_KEYS,
            schema.ERASURES,
            # Tables of later migrations (scores, generation_stats) set it at creation.
            *(
                schema.Statement(
                    f"ALTER TABLE {{db}}.`{table}` MODIFY SETTING "
                    f"non_replicated_deduplication_window = {schema.DEDUP_WINDOW}",
                    table=table,
                )
                for table in ("spans", "trace_index", "guardrail_events")
            ),
        ),
    ),
    Migration(
        4,
        "scores, audit ledger, generation statistics",
        (
            schema.SCORES,
            schema.LEDGER_ROWS,
            schema.LEDGER_BATCHES,
            schema.GENERATION_STATS,
            schema.GENERATION_STATS_MV,
            schema.GENERATION_STATS_BACKFILL,
        ),
    ),
    Migration(
        5,
        "trace lookup by month, pre-aggregated hallucination counts",
        (
            schema.TRACE_LOOKUP,
            schema.TRACE_LOOKUP_MV,
            # Re-run safe: duplicate lookup rows only repeat a trace's time bounds.
            schema.TRACE_LOOKUP_BACKFILL,
            *schema.DROP_TRACE_INDEX,
            schema.HALLUCINATION_STATS,
            # Backfill before the view exists, so scores inserted meanwhile are not counted
            # twice (a score landing in between is missed: `rebuild-stats` repairs that).
            schema.HALLUCINATION_STATS_BACKFILL,
            schema.HALLUCINATION_STATS_MV,
        ),
    ),
    Migration(
        6,
        "scores: evaluator name, version, prompt hash and reviewer",
        schema.ADD_SCORE_PROVENANCE,
    ),
    Migration(7, "signed ledger checkpoints", (schema.LEDGER_CHECKPOINTS,)),
)


def pending(applied: set[int]) -> list[Migration]:
    """Migrations not yet applied, in version order."""
    return [m for m in MIGRATIONS if m.version not in applied]


def latest_version() -> int:
    return max(m.version for m in MIGRATIONS)

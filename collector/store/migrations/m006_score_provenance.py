"""Migration 6: who produced a score.

Added to ``scores`` (after ``prompt_template``): the evaluator's name and version and its
prompt's SHA-256 (empty for evaluators without a prompt), and a human reviewer's id. All default
to '' so rows written before the migration (and by older collectors) stay valid.
"""

from __future__ import annotations

from typing import Final

from tracerail.collector.store.ddl import LOW, Column, Statement
from tracerail.collector.store.migrations.migration import Migration

SCORE_PROVENANCE_COLUMNS: Final = (
    Column("evaluator", LOW, default="''"),
    Column("evaluator_version", LOW, default="''"),
    Column("prompt_sha256", "String", default="''"),
    Column("reviewer", "String", default="''"),
)

ADD_SCORE_PROVENANCE: Final = tuple(
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

MIGRATION: Final = Migration(
    6, "scores: evaluator name, version, prompt hash and reviewer", ADD_SCORE_PROVENANCE
)

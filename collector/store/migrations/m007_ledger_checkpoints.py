"""Migration 7: signed ledger checkpoints.

Signed statements of a project's chain head (:mod:`tracerail.evidence.checkpoint`), one per
signing; also appended to an external sink, which is what makes them worth more than the chain
itself.
"""

from __future__ import annotations

from typing import Final

from tracerail.collector.store.ddl import Column, by_project, low, strings, zstd
from tracerail.collector.store.migrations.migration import Migration

LEDGER_CHECKPOINTS: Final = by_project(
    "ledger_checkpoints",
    (
        Column("seq", "UInt64"),
        *zstd("chain_hash"),
        *strings("batch_id"),
        *(Column(name, "Int64") for name in ("batch_created_at_ns", "signed_at_ns")),
        *low("key_id"),
        *zstd("signature"),
    ),
    "seq",
    "signed_at_ns",
)

MIGRATION: Final = Migration(7, "signed ledger checkpoints", (LEDGER_CHECKPOINTS,))

"""Erasure of a data subject: delete their rows, keep only a hash of the request.

Tables holding per-user rows register here as ``(table, user column)``; every table must have
a ``project`` column. Rows are removed with a synchronous mutation (``ALTER TABLE … DELETE``),
which rewrites the affected parts, so the content is gone from disk once it returns — not just
hidden. Each erasure is recorded in ``erasures`` with a SHA-256 of the subject id only.

Ledger hook (issue 5): the audit ledger must include ``erasures`` rows as events of their own
(``list_erasures``), so verifying the ledger still passes after the spans it covered are gone.
"""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass
from typing import Any

from tracerail.collector.store.clickhouse import ClickHouseStore

# (table, column holding the user id). Add tables of other features (e.g. scores) here.
ERASABLE: list[tuple[str, str]] = [("spans", "user_id")]

_IDENTIFIER_OK = frozenset("abcdefghijklmnopqrstuvwxyz0123456789_")


def register_erasable(table: str, user_column: str) -> None:
    """Make erasure also delete ``table`` rows whose ``user_column`` is the subject."""
    for name in (table, user_column):
        if not name or not set(name) <= _IDENTIFIER_OK:
            raise ValueError(f"not a plain identifier: {name!r}")
    if (table, user_column) not in ERASABLE:
        ERASABLE.append((table, user_column))


def subject_hash(user_id: str) -> str:
    return hashlib.sha256(user_id.encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class Erasure:
    erasure_id: str
    project: str
    subject_sha256: str
    rows_deleted: dict[str, int]

    def as_json(self) -> dict[str, Any]:
        return {
            "erasure_id": self.erasure_id,
            "project": self.project,
            "subject_sha256": self.subject_sha256,
            "rows_deleted": self.rows_deleted,
        }


def erase_subject(
    store: ClickHouseStore, project: str, user_id: str, requested_by: str = ""
) -> Erasure:
    """Delete every row of ``user_id`` in ``project`` and record the erasure."""
    params = {"project": project, "user_id": user_id}
    deleted: dict[str, int] = {}
    for table, column in ERASABLE:
        where = f"project = {{project:String}} AND `{column}` = {{user_id:String}}"
        rows = store.query(f"SELECT count() AS n FROM {store.table(table)} WHERE {where}", params)
        deleted[table] = int(rows[0]["n"])
        if deleted[table]:
            store.command(
                f"ALTER TABLE {store.table(table)} DELETE WHERE {where}",
                params,
                settings={"mutations_sync": 2},
            )
    erasure = Erasure(uuid.uuid4().hex, project, subject_hash(user_id), deleted)
    store.insert_columns(
        "erasures",
        {
            "erasure_id": [erasure.erasure_id],
            "project": [project],
            "subject_sha256": [erasure.subject_sha256],
            "requested_by": [requested_by],
            "rows_deleted": [deleted],
        },
    )
    return erasure


def list_erasures(store: ClickHouseStore, project: str) -> list[dict[str, Any]]:
    """Recorded erasures of ``project``, oldest first (for the audit ledger)."""
    return store.query(
        "SELECT erasure_id, project, subject_sha256, requested_at, requested_by, rows_deleted "
        f"FROM {store.table('erasures')} WHERE project = {{project:String}} "
        "ORDER BY requested_at, erasure_id",
        {"project": project},
    )

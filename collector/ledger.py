"""The tamper-evident audit ledger: canonical row hashes, Merkle roots and a hash chain.

Pure functions, no storage. The ledger is append-only and keeps only hashes and identifiers:

* a **row** is one audited fact — a generation's provenance, one guardrail decision, (added
  later) an erasure or a human review score — as canonical JSON (sorted keys, no spaces,
  UTF-8) whose SHA-256 is the row hash;
* a **batch** is the rows of one ingest write: their Merkle root (RFC 6962 tree hashing, so
  a leaf can never pass for a node) in row order;
* the **chain**: ``chain_hash = SHA-256(prev_hash ‖ canonical batch header)``, linking each
  batch to the previous batch of the same project (the first links to :data:`GENESIS`).

Changing, dropping or reordering any row or batch changes a hash that verification recomputes.
The hashing itself lives in :mod:`tracerail.evidence.hashing`, so the offline verifier needs no
collector.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

from tracerail import semconv
from tracerail.evidence.hashing import GENESIS as GENESIS
from tracerail.evidence.hashing import BatchHeader as BatchHeader
from tracerail.evidence.hashing import canonical as canonical
from tracerail.evidence.hashing import merkle_root as merkle_root
from tracerail.evidence.hashing import row_hash as row_hash
from tracerail.evidence.hashing import sha256_hex as sha256_hex

KIND_PROVENANCE: Final = "provenance"
KIND_GUARDRAIL: Final = "guardrail"
KIND_ERASURE: Final = "erasure"
KIND_SCORE: Final = "score"
ROW_KINDS: Final = (KIND_PROVENANCE, KIND_GUARDRAIL, KIND_ERASURE, KIND_SCORE)

_GUARDRAIL_PREFIX = semconv.GUARDRAIL_SPAN_PREFIX + " "


@dataclass(frozen=True, slots=True)
class LedgerRow:
    """One ledger entry: its kind, the span it is about, canonical payload and hash."""

    project: str
    kind: str
    trace_id: str
    span_id: str
    payload: str
    row_hash: str

    @classmethod
    def of(
        cls, project: str, kind: str, trace_id: str, span_id: str, body: Mapping[str, Any]
    ) -> LedgerRow:
        payload = canonical(
            {**body, "kind": kind, "project": project, "trace_id": trace_id, "span_id": span_id}
        )
        return cls(project, kind, trace_id, span_id, payload, row_hash(payload))


def erasure_row(
    project: str, trace_id: str, span_id: str, *, erased_at_ns: int, reason: str
) -> LedgerRow:
    """The ledger row recording that a span's content was erased (the hashes stay)."""
    return LedgerRow.of(
        project, KIND_ERASURE, trace_id, span_id, {"erased_at_ns": erased_at_ns, "reason": reason}
    )


def score_row(
    project: str,
    trace_id: str,
    span_id: str,
    *,
    score_id: str,
    score: Mapping[str, Any],
    time_ns: int,
) -> LedgerRow:
    """The ledger row recording a score written through the API (a reviewer's label): its id,
    name, value, type, label, source and reviewer; the comment only as a hash."""
    comment = str(score.get("comment") or "")
    body = {key: score.get(key) for key in ("name", "value", "data_type", "label", "source")}
    body |= {
        "score_id": score_id,
        "reviewer": score.get("reviewer") or None,
        "comment_sha256": _text_hash(comment),
        "time_ns": time_ns,
    }
    return LedgerRow.of(project, KIND_SCORE, trace_id, span_id, body)


def _text_hash(text: str) -> str | None:
    return row_hash(text) if text else None


def _record(attributes: Mapping[str, str]) -> Any:
    raw = attributes.get(semconv.TRACERAIL_PROVENANCE_RECORD)
    if raw is None:
        return None
    try:
        return json.loads(raw)
    except ValueError:
        return {"unparsed_sha256": row_hash(raw)}


def _guardrail_body(attributes: Mapping[str, str], name: str, time_ns: int) -> dict[str, Any]:
    return {
        "name": name,
        "time_ns": time_ns,
        "component": attributes.get(semconv.GEN_AI_GUARDRAIL_COMPONENT_NAME),
        "target": attributes.get(semconv.GEN_AI_GUARDRAIL_TARGET_TYPE),
        "verdict": attributes.get(semconv.GEN_AI_GUARDRAIL_VERDICT_TYPE),
        "action": attributes.get(semconv.TRACERAIL_GUARDRAIL_ACTION),
        "policy_version": attributes.get(semconv.TRACERAIL_GUARDRAIL_POLICY_VERSION),
    }


def rows_from_columns(columns: Mapping[str, Sequence[Any]]) -> list[LedgerRow]:
    """Ledger rows for a batch of flattened spans, in one pass over the columns.

    One ``provenance`` row per generation span (the SDK's record, the prompt/answer hashes,
    and hashes of the stored input/output columns) and one ``guardrail`` row per
    ``run_guardrail …`` event or span.
    """
    rows: list[LedgerRow] = []
    kinds = columns["observation_kind"]
    names = columns["name"]
    events = columns["event_names"]
    for i in range(len(kinds)):
        is_generation = kinds[i] == semconv.KIND_GENERATION
        span_is_guardrail = names[i].startswith(_GUARDRAIL_PREFIX)
        event_hits = [j for j, e in enumerate(events[i]) if e.startswith(_GUARDRAIL_PREFIX)]
        if not (is_generation or span_is_guardrail or event_hits):
            continue
        project, trace_id, span_id = (
            columns["project"][i],
            columns["trace_id"][i],
            columns["span_id"][i],
        )
        attributes: Mapping[str, str] = columns["attributes"][i]
        if is_generation:
            body = {
                "time_ns": int(columns["timestamp"][i]),
                "service": columns["service_name"][i],
                "provider": columns["provider"][i],
                "request_model": columns["request_model"][i],
                "response_model": columns["response_model"][i],
                "status": columns["status_code"][i],
                "record": _record(attributes),
                "prompt_sha256": attributes.get(semconv.TRACERAIL_PROVENANCE_PROMPT_SHA256),
                "answer_sha256": attributes.get(semconv.TRACERAIL_PROVENANCE_ANSWER_SHA256),
                "stored_input_sha256": _text_hash(columns["input"][i]),
                "stored_output_sha256": _text_hash(columns["output"][i]),
            }
            rows.append(LedgerRow.of(project, KIND_PROVENANCE, trace_id, span_id, body))
        if span_is_guardrail:
            body = _guardrail_body(attributes, names[i], int(columns["timestamp"][i]))
            rows.append(LedgerRow.of(project, KIND_GUARDRAIL, trace_id, span_id, body))
        for j in event_hits:
            event_attributes = columns["event_attributes"][i][j]
            time_ns = int(columns["event_timestamps"][i][j])
            body = {**_guardrail_body(event_attributes, events[i][j], time_ns), "event_index": j}
            rows.append(LedgerRow.of(project, KIND_GUARDRAIL, trace_id, span_id, body))
    return rows


# One batch's ledger rows column by column (what crosses from an ingest worker process:
# pickling ~1 000 ``LedgerRow`` objects costs ~2 ms, these lists ~0.1 ms).
LedgerColumns = dict[str, list[str]]
LEDGER_COLUMNS: Final = ("kind", "trace_id", "span_id", "payload", "row_hash")


def row_columns(rows: Sequence[LedgerRow]) -> LedgerColumns:
    """``rows`` (all of one project) as one list per field of :data:`LEDGER_COLUMNS`."""
    return {name: [getattr(row, name) for row in rows] for name in LEDGER_COLUMNS}


def by_project(rows: Iterable[LedgerRow]) -> dict[str, list[LedgerRow]]:
    grouped: dict[str, list[LedgerRow]] = {}
    for row in rows:
        grouped.setdefault(row.project, []).append(row)
    return grouped

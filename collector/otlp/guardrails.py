"""Flattened span rows → one guardrail-decision row per ``run_guardrail {check}`` event.

Decisions arrive as span events (tracerail's SDK) or as spans of that name (other
instrumentations); both become rows of ``guardrail_events``. Pure function, no I/O.
"""

from __future__ import annotations

import json
from typing import Any

from tracerail import semconv
from tracerail.collector.otlp.flatten import SpanColumns

GUARDRAIL_COLUMNS: tuple[str, ...] = (
    "project",
    "timestamp",
    "trace_id",
    "span_id",
    "event_index",
    "service_name",
    "request_model",
    "check_name",
    "check_type",
    "target",
    "action",
    "policy_name",
    "policy_version",
    "latency_ms",
    "entity_types",
    "entity_counts",
    "reason",
    "error",
    "retention_days",
)
ACTIONS = semconv.GUARDRAIL_ACTIONS
_PREFIX = semconv.GUARDRAIL_SPAN_PREFIX + " "
_UINT32_MAX = 2**32 - 1

GuardrailColumns = dict[str, list[Any]]


def empty_guardrail_columns() -> GuardrailColumns:
    return {name: [] for name in GUARDRAIL_COLUMNS}


def _json(text: str | None) -> Any:
    if not text:
        return None
    try:
        return json.loads(text)
    except ValueError:
        return None


def _entity_types(text: str | None) -> list[str]:
    value = _json(text)
    if isinstance(value, list):
        return [str(v) for v in value if isinstance(v, str | int | float)][:100]
    return [text] if text and not text.startswith("[") else []


def _entity_counts(text: str | None) -> dict[str, int]:
    value = _json(text)
    if not isinstance(value, dict):
        return {}
    counts: dict[str, int] = {}
    for key, count in list(value.items())[:100]:
        if isinstance(count, int | float) and not isinstance(count, bool):
            counts[str(key)] = min(max(int(count), 0), _UINT32_MAX)
    return counts


def _entities(types_text: str | None, counts_text: str | None) -> tuple[list[str], dict[str, int]]:
    """Entity types (named or counted) and counts of a decision."""
    types = _entity_types(types_text)
    counts = _entity_counts(counts_text)
    return sorted(set(types) | set(counts)), counts


def _latency(text: str | None) -> float:
    try:
        number = float(text) if text else 0.0
    except ValueError:
        return 0.0
    return number if number == number and 0 <= number < float("inf") else 0.0


# Parsed entity attributes of one batch: a batch repeats a few values thousands of times.
# Per call, so it holds nothing beyond the batch; the results are shared between rows.
_EntityMemo = dict[tuple[str | None, str | None], tuple[list[str], dict[str, int]]]


def _row(
    name: str,
    attrs: dict[str, str],
    spans: SpanColumns,
    i: int,
    ts: int,
    index: int,
    memo: _EntityMemo,
) -> dict[str, Any]:
    action = (
        attrs.get(semconv.TRACERAIL_GUARDRAIL_ACTION)
        or attrs.get(semconv.GEN_AI_GUARDRAIL_VERDICT_TYPE)
        or ""
    ).lower()
    check = attrs.get(semconv.GEN_AI_GUARDRAIL_COMPONENT_NAME) or name[len(_PREFIX) :].strip()
    texts = (
        attrs.get(semconv.TRACERAIL_GUARDRAIL_ENTITY_TYPES),
        attrs.get(semconv.TRACERAIL_GUARDRAIL_ENTITY_COUNTS),
    )
    entities = memo.get(texts)
    if entities is None:
        entities = memo[texts] = _entities(*texts)
    types, counts = entities
    return {
        "project": spans["project"][i],
        "timestamp": ts,
        "trace_id": spans["trace_id"][i],
        "span_id": spans["span_id"][i],
        "event_index": min(index, 65_535),
        "service_name": spans["service_name"][i],
        "request_model": spans["request_model"][i],
        "check_name": check[:200],
        "check_type": attrs.get(semconv.TRACERAIL_GUARDRAIL_CHECK_TYPE, check)[:200],
        "target": attrs.get(semconv.GEN_AI_GUARDRAIL_TARGET_TYPE, "")[:50],
        "action": action[:50],
        "policy_name": attrs.get(semconv.TRACERAIL_GUARDRAIL_POLICY_NAME, "")[:200],
        "policy_version": attrs.get(semconv.TRACERAIL_GUARDRAIL_POLICY_VERSION, "")[:100],
        "latency_ms": _latency(attrs.get(semconv.TRACERAIL_GUARDRAIL_LATENCY_MS)),
        "entity_types": types,
        "entity_counts": counts,
        "reason": attrs.get(semconv.TRACERAIL_GUARDRAIL_REASON, "")[:2000],
        "error": attrs.get(semconv.TRACERAIL_GUARDRAIL_ERROR, "")[:200],
        "retention_days": spans["retention_days"][i],
    }


def guardrail_columns(spans: SpanColumns) -> GuardrailColumns:
    """Decision rows for every guardrail event (or guardrail span) in flattened ``spans``."""
    columns = empty_guardrail_columns()
    rows: list[dict[str, Any]] = []
    memo: _EntityMemo = {}
    for i, names in enumerate(spans["event_names"]):
        for j, name in enumerate(names):
            if name.startswith(_PREFIX):
                attrs = spans["event_attributes"][i][j]
                time_ns = spans["event_timestamps"][i][j]
                rows.append(_row(name, attrs, spans, i, time_ns, j, memo))
        span_name = spans["name"][i]
        if span_name.startswith(_PREFIX):
            attrs, time_ns = spans["attributes"][i], spans["timestamp"][i]
            rows.append(_row(span_name, attrs, spans, i, time_ns, 65_535, memo))
    for name in GUARDRAIL_COLUMNS:
        columns[name] = [row[name] for row in rows]
    return columns

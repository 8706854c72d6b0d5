"""Flattened span rows → one guardrail-decision row per ``run_guardrail {check}`` event.

Decisions arrive as span events (tracerail's SDK) or as spans of that name (other
instrumentations); both become rows of ``guardrail_events``. Pure function, no I/O.
"""

from __future__ import annotations

import functools
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
ACTIONS = ("allow", "flag", "redact", "block")
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


@functools.lru_cache(maxsize=4096)
def _entities(types_text: str | None, counts_text: str | None) -> tuple[list[str], dict[str, int]]:
    """Entity types (named or counted) and counts of a decision. Cached: a batch repeats a few
    values thousands of times. The results are shared, so callers must not change them."""
    types = _entity_types(types_text)
    counts = _entity_counts(counts_text)
    return sorted(set(types) | set(counts)), counts


def _latency(text: str | None) -> float:
    try:
        number = float(text) if text else 0.0
    except ValueError:
        return 0.0
    return number if number == number and 0 <= number < float("inf") else 0.0


def _row(
    name: str, attrs: dict[str, str], spans: SpanColumns, i: int, ts: int, index: int
) -> dict[str, Any]:
    action = (
        attrs.get(semconv.TRACERAIL_GUARDRAIL_ACTION)
        or attrs.get(semconv.GEN_AI_GUARDRAIL_VERDICT_TYPE)
        or ""
    ).lower()
    check = attrs.get(semconv.GEN_AI_GUARDRAIL_COMPONENT_NAME) or name[len(_PREFIX) :].strip()
    types, counts = _entities(
        attrs.get(semconv.TRACERAIL_GUARDRAIL_ENTITY_TYPES),
        attrs.get(semconv.TRACERAIL_GUARDRAIL_ENTITY_COUNTS),
    )
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
    for i, names in enumerate(spans["event_names"]):
        for j, name in enumerate(names):
            if name.startswith(_PREFIX):
                attrs = spans["event_attributes"][i][j]
                rows.append(_row(name, attrs, spans, i, spans["event_timestamps"][i][j], j))
        span_name = spans["name"][i]
        if span_name.startswith(_PREFIX):
            rows.append(
                _row(span_name, spans["attributes"][i], spans, i, spans["timestamp"][i], 65_535)
            )
    for name in GUARDRAIL_COLUMNS:
        columns[name] = [row[name] for row in rows]
    return columns

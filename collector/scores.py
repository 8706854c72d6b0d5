"""Scores: validation rules and rows, from the API or from ``tracerail.score`` span events.

Rules per score: ``source`` is human, auto or judge; ``boolean`` values are 0 or 1;
``numeric`` values are finite; ``categorical`` scores need a label; a score named
``hallucination`` is boolean or numeric in 0..1 and must be about a generation span.
"""

from __future__ import annotations

import hashlib
import math
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final

from tracerail import semconv

MAX_NAME = 200
MAX_LABEL = 200
MAX_COMMENT = 4_000

# Score names with a fixed value range (inclusive).
RANGES: Final[dict[str, tuple[float, float]]] = {semconv.SCORE_HALLUCINATION: (0.0, 1.0)}

SCORE_COLUMNS: Final = (
    "project",
    "score_id",
    "trace_id",
    "span_id",
    "name",
    "value",
    "data_type",
    "label",
    "comment",
    "source",
    "span_hour",
    "observation_kind",
    "service_name",
    "provider",
    "model",
    "prompt_template",
)


class InvalidScore(ValueError):
    """A score breaking a rule; the message names the field."""


@dataclass(frozen=True, slots=True)
class SpanInfo:
    """The dimensions of the scored span copied onto its score rows."""

    start_ns: int
    observation_kind: str
    service_name: str
    provider: str
    model: str
    prompt_template: str


@dataclass(frozen=True, slots=True)
class Score:
    name: str
    value: float
    data_type: str
    source: str
    label: str = ""
    comment: str = ""


def validate(
    name: str,
    value: float,
    *,
    data_type: str | None,
    source: str,
    label: str | None = None,
    comment: str | None = None,
    observation_kind: str | None = None,
) -> Score:
    """A checked :class:`Score`; raises :class:`InvalidScore` naming the broken rule."""
    name = name.strip()
    if not name or len(name) > MAX_NAME:
        raise InvalidScore(f"name: must be 1 to {MAX_NAME} characters")
    if source not in semconv.SCORE_SOURCES:
        raise InvalidScore(f"source: expected one of {', '.join(semconv.SCORE_SOURCES)}")
    kind = data_type or "numeric"
    if kind not in semconv.SCORE_DATA_TYPES:
        raise InvalidScore(f"data_type: expected one of {', '.join(semconv.SCORE_DATA_TYPES)}")
    if not math.isfinite(value):
        raise InvalidScore("value: must be a finite number")
    if kind == "boolean" and value not in (0.0, 1.0):
        raise InvalidScore("value: a boolean score is 0 or 1")
    if kind == "categorical" and not label:
        raise InvalidScore("label: a categorical score needs a label")
    if name in RANGES:
        low, high = RANGES[name]
        if kind == "categorical":
            raise InvalidScore(f"data_type: {name} is boolean or numeric")
        if not low <= value <= high:
            raise InvalidScore(f"value: {name} must be between {low:g} and {high:g}")
        if name == semconv.SCORE_HALLUCINATION and observation_kind not in (
            None,
            semconv.KIND_GENERATION,
        ):
            raise InvalidScore(f"span_id: {name} scores are for generation spans")
    if label is not None and len(label) > MAX_LABEL:
        raise InvalidScore(f"label: at most {MAX_LABEL} characters")
    if comment is not None and len(comment) > MAX_COMMENT:
        raise InvalidScore(f"comment: at most {MAX_COMMENT} characters")
    return Score(name, float(value), kind, source, label or "", comment or "")


def empty_score_columns() -> dict[str, list[Any]]:
    return {name: [] for name in SCORE_COLUMNS}


def _hour(ns: int) -> datetime:
    moment = datetime.fromtimestamp(ns // 1_000_000_000, tz=UTC)
    return moment.replace(minute=0, second=0, microsecond=0)


def append_score(
    columns: dict[str, list[Any]],
    project: str,
    trace_id: str,
    span_id: str,
    score: Score,
    span: SpanInfo,
    score_id: str | None = None,
) -> str:
    """Add one score row to ``columns``; returns its id (new unless ``score_id`` is given)."""
    score_id = score_id or uuid.uuid4().hex
    row = {
        "project": project,
        "score_id": score_id,
        "trace_id": trace_id,
        "span_id": span_id,
        "name": score.name,
        "value": score.value,
        "data_type": score.data_type,
        "label": score.label,
        "comment": score.comment,
        "source": score.source,
        "span_hour": _hour(span.start_ns),
        "observation_kind": span.observation_kind,
        "service_name": span.service_name,
        "provider": span.provider,
        "model": span.model,
        "prompt_template": span.prompt_template,
    }
    for key in SCORE_COLUMNS:
        columns[key].append(row[key])
    return score_id


def _event_score(attributes: Mapping[str, str], observation_kind: str) -> Score:
    raw_value = attributes.get(semconv.TRACERAIL_SCORE_VALUE, "")
    try:
        value = float(raw_value)
    except ValueError:
        raise InvalidScore(f"value: {raw_value!r} is not a number") from None
    return validate(
        attributes.get(semconv.TRACERAIL_SCORE_NAME, ""),
        value,
        data_type=attributes.get(semconv.TRACERAIL_SCORE_DATA_TYPE),
        source=attributes.get(semconv.TRACERAIL_SCORE_SOURCE, "human"),
        label=attributes.get(semconv.TRACERAIL_SCORE_LABEL),
        comment=attributes.get(semconv.TRACERAIL_SCORE_COMMENT),
        observation_kind=observation_kind,
    )


def event_score_id(trace_id: str, span_id: str, event_index: int) -> str:
    """The id of the score carried by a span's event: the same on every replay of the span."""
    return hashlib.sha256(f"{trace_id}:{span_id}:{event_index}".encode()).hexdigest()[:32]


def scores_from_columns(
    columns: Mapping[str, Sequence[Any]],
) -> tuple[dict[str, list[Any]], list[str]]:
    """Score rows for every valid ``tracerail.score`` event; and problems with invalid ones."""
    out = empty_score_columns()
    problems: list[str] = []
    for i, names in enumerate(columns["event_names"]):
        if semconv.TRACERAIL_SCORE_EVENT not in names:
            continue
        attributes: Mapping[str, str] = columns["attributes"][i]
        span = SpanInfo(
            start_ns=int(columns["timestamp"][i]),
            observation_kind=columns["observation_kind"][i],
            service_name=columns["service_name"][i],
            provider=columns["provider"][i],
            model=columns["response_model"][i] or columns["request_model"][i],
            prompt_template=attributes.get(semconv.TRACERAIL_PROMPT_TEMPLATE_ID, ""),
        )
        for j, event in enumerate(names):
            if event != semconv.TRACERAIL_SCORE_EVENT:
                continue
            try:
                score = _event_score(columns["event_attributes"][i][j], span.observation_kind)
            except InvalidScore as exc:
                problems.append(f"span {columns['span_id'][i]}: {exc}")
                continue
            append_score(
                out,
                columns["project"][i],
                columns["trace_id"][i],
                columns["span_id"][i],
                score,
                span,
                event_score_id(columns["trace_id"][i], columns["span_id"][i], j),
            )
    return out, problems

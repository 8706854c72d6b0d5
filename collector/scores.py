"""Scores: validation rules and rows, for the API, span events and the online evaluator.

Rules per score: ``source`` is human, auto or judge; ``boolean`` values are 0 or 1;
``numeric`` values are finite; ``categorical`` scores need a label; a score named
``hallucination`` is boolean or numeric in 0..1 and must be about a generation span.
"""

from __future__ import annotations

import math
import re
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final

from tracerail import semconv
from tracerail.collector.errors import InvalidInput

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
    "evaluator",
    "evaluator_version",
    "prompt_sha256",
    "reviewer",
)

MAX_EVALUATOR = 200
MAX_REVIEWER = 200
_SHA256 = re.compile(r"^[0-9a-f]{64}$")


class InvalidScore(InvalidInput):
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
    evaluator: str = ""
    evaluator_version: str = ""
    prompt_sha256: str = ""
    reviewer: str = ""


def validate(
    name: str,
    value: float,
    *,
    data_type: str | None,
    source: str,
    label: str | None = None,
    comment: str | None = None,
    observation_kind: str | None = None,
    evaluator: str | None = None,
    evaluator_version: str | None = None,
    prompt_sha256: str | None = None,
    reviewer: str | None = None,
) -> Score:
    """A checked :class:`Score`; raises :class:`InvalidScore` naming the broken rule.

    Who produced it: ``evaluator`` and ``evaluator_version`` (at most 200 characters each; a
    version needs a name), ``prompt_sha256`` (64 hex digits, stored lowercase) and
    ``reviewer`` (a human reviewer's id, only on ``human`` scores).
    """
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
    evaluator = (evaluator or "").strip()
    evaluator_version = (evaluator_version or "").strip()
    prompt_sha256 = (prompt_sha256 or "").strip().lower()
    reviewer = (reviewer or "").strip()
    if len(evaluator) > MAX_EVALUATOR:
        raise InvalidScore(f"evaluator: at most {MAX_EVALUATOR} characters")
    if len(evaluator_version) > MAX_EVALUATOR:
        raise InvalidScore(f"evaluator_version: at most {MAX_EVALUATOR} characters")
    if evaluator_version and not evaluator:
        raise InvalidScore("evaluator_version: needs an evaluator name")
    if prompt_sha256 and not _SHA256.match(prompt_sha256):
        raise InvalidScore("prompt_sha256: expected 64 hex digits (a SHA-256)")
    if len(reviewer) > MAX_REVIEWER:
        raise InvalidScore(f"reviewer: at most {MAX_REVIEWER} characters")
    if reviewer and source != "human":
        raise InvalidScore("reviewer: only human scores have a reviewer")
    return Score(
        name,
        float(value),
        kind,
        source,
        label or "",
        comment or "",
        evaluator,
        evaluator_version,
        prompt_sha256,
        reviewer,
    )


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
        "evaluator": score.evaluator,
        "evaluator_version": score.evaluator_version,
        "prompt_sha256": score.prompt_sha256,
        "reviewer": score.reviewer,
    }
    for key in SCORE_COLUMNS:
        columns[key].append(row[key])
    return score_id

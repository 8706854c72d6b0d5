"""Scores: validation rules and rows, from the API or from ``tracerail.score`` span events.

Rules per score: ``source`` is human, auto or judge; ``boolean`` values are 0 or 1;
``numeric`` values are finite; ``categorical`` scores need a label; a score named
``hallucination`` is boolean or numeric in 0..1 and must be about a generation span.
"""

from __future__ import annotations

import hashlib
import math
import re
import uuid
from collections.abc import Mapping, Sequence
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
        **_producer(attributes),
    )


def _producer(attributes: Mapping[str, str]) -> dict[str, str | None]:
    """Who produced an event's score: evaluator name, version, prompt hash, reviewer."""
    return {
        "evaluator": attributes.get(semconv.TRACERAIL_EVALUATION_EVALUATOR_NAME),
        "evaluator_version": attributes.get(semconv.TRACERAIL_EVALUATION_EVALUATOR_VERSION),
        "prompt_sha256": attributes.get(semconv.TRACERAIL_EVALUATION_PROMPT_SHA256),
        "reviewer": attributes.get(semconv.TRACERAIL_SCORE_REVIEWER),
    }


# ``gen_ai.evaluation.result`` events from other tools: which evaluation names are stored as
# the ``hallucination`` score (1 = hallucinated). Names are compared lowercased, with spaces
# and dashes as underscores. Hallucination names keep their value; groundedness-style names
# (1 = grounded) are inverted. Only values in 0..1 are mapped (a 1-5 scale is not guessed
# at); otherwise a pass/fail style label decides (0 or 1), and failing both the result is
# stored under its own name.
HALLUCINATION_EVALUATIONS: Final = frozenset(
    {"hallucination", "hallucinated", "hallucination_score", "is_hallucination"}
)
GROUNDEDNESS_EVALUATIONS: Final = frozenset(
    {
        "groundedness",
        "grounded",
        "grounding",
        "faithfulness",
        "factual_consistency",
        "factuality",
        "context_adherence",
    }
)
GROUNDED_LABELS: Final = frozenset(
    {"grounded", "pass", "passed", "faithful", "supported", "consistent", "factual"}
)
HALLUCINATED_LABELS: Final = frozenset(
    {
        "hallucinated",
        "hallucination",
        "fail",
        "failed",
        "ungrounded",
        "unfaithful",
        "unsupported",
        "inconsistent",
    }
)


def _number(raw: str | None) -> float | None:
    if raw is None or not raw.strip():
        return None
    try:
        value = float(raw)
    except ValueError:
        raise InvalidScore(
            f"{semconv.GEN_AI_EVALUATION_SCORE_VALUE}: {raw!r} is not a number"
        ) from None
    return value if math.isfinite(value) else None


def _as_hallucination(name: str, value: float | None, label: str) -> float | None:
    """The ``hallucination`` value of an evaluation result, or None when it is not one."""
    key = re.sub(r"[\s-]+", "_", name.strip().lower())
    if key not in HALLUCINATION_EVALUATIONS and key not in GROUNDEDNESS_EVALUATIONS:
        return None
    if value is not None and 0.0 <= value <= 1.0:
        return value if key in HALLUCINATION_EVALUATIONS else 1.0 - value
    verdict = label.strip().lower()
    if verdict in GROUNDED_LABELS:
        return 0.0
    if verdict in HALLUCINATED_LABELS:
        return 1.0
    return None


def _evaluation_score(attributes: Mapping[str, str], observation_kind: str) -> Score | None:
    """The score of a ``gen_ai.evaluation.result`` event (None for a failed evaluation).

    Source ``auto`` unless ``tracerail.score.source`` says otherwise; the evaluator is
    ``tracerail.evaluation.evaluator.name`` or else the evaluation's own name; the explanation
    becomes the comment and long texts are cut to the column limits.
    """
    if attributes.get(semconv.ERROR_TYPE):
        return None
    name = attributes.get(semconv.GEN_AI_EVALUATION_NAME, "").strip()
    if not name:
        raise InvalidScore(f"{semconv.GEN_AI_EVALUATION_NAME}: missing")
    value = _number(attributes.get(semconv.GEN_AI_EVALUATION_SCORE_VALUE))
    label = attributes.get(semconv.GEN_AI_EVALUATION_SCORE_LABEL, "")[:MAX_LABEL]
    comment = attributes.get(semconv.GEN_AI_EVALUATION_EXPLANATION, "")[:MAX_COMMENT]
    producer = _producer(attributes)
    producer["evaluator"] = producer["evaluator"] or name[:MAX_EVALUATOR]
    common: dict[str, Any] = {
        "source": attributes.get(semconv.TRACERAIL_SCORE_SOURCE, "auto"),
        "label": label,
        "comment": comment,
        "observation_kind": observation_kind,
        **producer,
    }
    hallucination = _as_hallucination(name, value, label)
    if hallucination is not None:
        kind = "numeric" if value is not None and 0.0 <= value <= 1.0 else "boolean"
        return validate(semconv.SCORE_HALLUCINATION, hallucination, data_type=kind, **common)
    if value is not None:
        return validate(name[:MAX_NAME], value, data_type="numeric", **common)
    if label:
        return validate(name[:MAX_NAME], 0.0, data_type="categorical", **common)
    raise InvalidScore(
        f"{name}: a {semconv.GEN_AI_EVALUATION_RESULT_EVENT} needs a score value or label"
    )


def _score_of_event(event: str, attributes: Mapping[str, str], kind: str) -> Score | None:
    if event == semconv.TRACERAIL_SCORE_EVENT:
        return _event_score(attributes, kind)
    return _evaluation_score(attributes, kind)


_SCORE_EVENTS: Final = frozenset(
    {semconv.TRACERAIL_SCORE_EVENT, semconv.GEN_AI_EVALUATION_RESULT_EVENT}
)


def event_score_id(trace_id: str, span_id: str, event_index: int) -> str:
    """The id of the score carried by a span's event: the same on every replay of the span."""
    return hashlib.sha256(f"{trace_id}:{span_id}:{event_index}".encode()).hexdigest()[:32]


def scores_from_columns(
    columns: Mapping[str, Sequence[Any]],
) -> tuple[dict[str, list[Any]], list[str]]:
    """Score rows for every valid ``tracerail.score`` and ``gen_ai.evaluation.result`` event;
    and problems with invalid ones."""
    out = empty_score_columns()
    problems: list[str] = []
    for i, names in enumerate(columns["event_names"]):
        if (
            semconv.TRACERAIL_SCORE_EVENT not in names
            and semconv.GEN_AI_EVALUATION_RESULT_EVENT not in names
        ):
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
            if event not in _SCORE_EVENTS:
                continue
            try:
                score = _score_of_event(
                    event, columns["event_attributes"][i][j], span.observation_kind
                )
            except InvalidScore as exc:
                problems.append(f"span {columns['span_id'][i]}: {exc}")
                continue
            if score is None:
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

"""Score rows from span events: ``tracerail.score`` and ``gen_ai.evaluation.result``.

Run at ingest (:func:`~tracerail.collector.prepare.prepare`) over the flattened columns. Each
event becomes a :class:`~tracerail.collector.scores.Score` checked by the same
:func:`~tracerail.collector.scores.validate` as a score posted to the API; an invalid event is
dropped and named in the problems returned, the span is stored all the same. Score ids are
derived from (trace, span, event index), so a replayed span gives the same ids.
"""

from __future__ import annotations

import hashlib
import math
import re
from collections.abc import Mapping, Sequence
from typing import Any, Final

from tracerail import semconv
from tracerail.collector.scores import (
    MAX_COMMENT,
    MAX_EVALUATOR,
    MAX_LABEL,
    MAX_NAME,
    InvalidScore,
    Score,
    SpanInfo,
    append_score,
    empty_score_columns,
    validate,
)

__all__ = ["event_score_id", "scores_from_columns"]


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

"""``tracerail.score(...)``: attach a score (feedback, evaluation) to a span.

Without ids the score goes on the current span as a ``tracerail.score`` event, which the
collector stores as a score row when the span arrives. With ``trace_id``/``span_id`` (a span
that has already ended) it is sent to the collector's ``POST /api/v1/scores`` right away.
Like all telemetry, failures are logged and reported as ``False``, never raised.
"""

from __future__ import annotations

import logging
import math
from typing import Any

from opentelemetry import trace

from tracerail import semconv
from tracerail.http import CollectorHTTPError, request
from tracerail.runtime import get_config

logger = logging.getLogger("tracerail")

SCORES_PATH = "/api/v1/scores"


def _data_type(value: float | bool, data_type: str | None) -> str:
    if data_type is not None:
        return data_type
    return "boolean" if isinstance(value, bool) else "numeric"


def score_event_attributes(
    name: str,
    value: float | bool,
    *,
    source: str = "human",
    label: str | None = None,
    comment: str | None = None,
    data_type: str | None = None,
) -> dict[str, Any]:
    """The attributes of a ``tracerail.score`` span event."""
    attributes: dict[str, Any] = {
        semconv.TRACERAIL_SCORE_NAME: name,
        semconv.TRACERAIL_SCORE_VALUE: float(value),
        semconv.TRACERAIL_SCORE_DATA_TYPE: _data_type(value, data_type),
        semconv.TRACERAIL_SCORE_SOURCE: source,
    }
    if label is not None:
        attributes[semconv.TRACERAIL_SCORE_LABEL] = label
    if comment is not None:
        attributes[semconv.TRACERAIL_SCORE_COMMENT] = comment
    return attributes


def _problem(name: str, value: object, source: str, data_type: str | None) -> str | None:
    if not name:
        return "name must not be empty"
    if source not in semconv.SCORE_SOURCES:
        return f"source must be one of {', '.join(semconv.SCORE_SOURCES)}, got {source!r}"
    if data_type is not None and data_type not in semconv.SCORE_DATA_TYPES:
        return f"data_type must be one of {', '.join(semconv.SCORE_DATA_TYPES)}"
    if not isinstance(value, int | float) or not math.isfinite(float(value)):
        return f"value must be a finite number or bool, got {value!r}"
    return None


def score(
    name: str,
    value: float | bool,
    *,
    trace_id: str | None = None,
    span_id: str | None = None,
    label: str | None = None,
    comment: str | None = None,
    source: str = "human",
    data_type: str | None = None,
) -> bool:
    """Score a span; by default the current one. Returns whether the score was recorded.

    ``source`` is ``"human"``, ``"auto"`` or ``"judge"``. A score named ``hallucination``
    (boolean, or 0..1) is what the collector's hallucination rate counts.
    """
    problem = _problem(name, value, source, data_type)
    if problem is not None:
        logger.warning("tracerail.score(%r) ignored: %s", name, problem)
        return False
    attributes = score_event_attributes(
        name, value, source=source, label=label, comment=comment, data_type=data_type
    )
    if trace_id is None and span_id is None:
        span = trace.get_current_span()
        if not span.is_recording():
            logger.warning("tracerail.score(%r) ignored: no recording span is current", name)
            return False
        span.add_event(semconv.TRACERAIL_SCORE_EVENT, attributes)
        return True
    if trace_id is None or span_id is None:
        logger.warning("tracerail.score(%r) ignored: give both trace_id and span_id", name)
        return False
    body = score_body(trace_id, span_id, name, value, label, comment, source, attributes)
    status, detail = post_score(body)
    if status == 0:
        logger.warning("tracerail.score(%r) not sent: %s", name, detail)
    elif not 200 <= status < 300:
        logger.warning("tracerail.score(%r) refused (%d): %s", name, status, detail)
    return 200 <= status < 300


def score_body(
    trace_id: str,
    span_id: str,
    name: str,
    value: float | bool,
    label: str | None,
    comment: str | None,
    source: str,
    attributes: dict[str, Any],
    *,
    evaluator: str | None = None,
    evaluator_version: str | None = None,
    prompt_sha256: str | None = None,
) -> dict[str, Any]:
    """The JSON body of ``POST /api/v1/scores``.

    ``evaluator``, ``evaluator_version`` and ``prompt_sha256`` (who produced the score) are
    included only when set, so a collector that does not know them is sent nothing new.
    """
    body: dict[str, Any] = {
        "trace_id": trace_id,
        "span_id": span_id,
        "name": name,
        "value": float(value),
        "data_type": attributes[semconv.TRACERAIL_SCORE_DATA_TYPE],
        "label": label,
        "comment": comment,
        "source": source,
    }
    producer = {
        "evaluator": evaluator,
        "evaluator_version": evaluator_version,
        "prompt_sha256": prompt_sha256,
    }
    body.update({key: value for key, value in producer.items() if value})
    return body


def post_score(body: dict[str, Any], *, timeout: float = 10.0) -> tuple[int, str]:
    """POST ``body`` to the collector's scores API: (HTTP status, detail); status 0 when no
    answer came (connection refused, timeout). Never raises."""
    config = get_config()
    try:
        with request(
            config.endpoint, SCORES_PATH, body=body, api_key=config.api_key, timeout=timeout
        ) as response:
            return int(response.status), ""
    except CollectorHTTPError as exc:
        return exc.status, str(exc) if exc.status else exc.detail

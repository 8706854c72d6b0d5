"""Evaluators: score an answer against the sources it was given (groundedness).

One small interface (:class:`Evaluator`), implementations one per module, loaded lazily by
name so that heavy dependencies (``transformers`` for ``nli``, a model client for
``llm-judge``) are imported only when used:

* ``heuristic`` — offline, no model; the default.
* ``nli`` — an NLI / factual-consistency model through ``transformers`` (extra ``[nli]``).
* ``llm-judge`` — the user's own OpenAI or Anthropic client as a judge.

Every :class:`Evaluation` carries the evaluator's name and version (and, for prompted
evaluators, the SHA-256 of the prompt), and those are recorded on every score written from it.
"""

from __future__ import annotations

from tracerail.guardrails.evaluators.base import (
    DEFAULT_EVALUATOR,
    DEFAULT_THRESHOLD,
    LABEL_GROUNDED,
    LABEL_HALLUCINATED,
    ClaimVerdict,
    Evaluation,
    Evaluator,
    EvaluatorError,
    evaluator_names,
    get_evaluator,
    register_evaluator,
)

__all__ = [
    "DEFAULT_EVALUATOR",
    "DEFAULT_THRESHOLD",
    "LABEL_GROUNDED",
    "LABEL_HALLUCINATED",
    "ClaimVerdict",
    "Evaluation",
    "Evaluator",
    "EvaluatorError",
    "evaluator_names",
    "get_evaluator",
    "register_evaluator",
]

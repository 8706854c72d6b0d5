"""A small real evaluator for tests of code that runs evaluators (not the evaluators' own
tests): the share of the answer's words that occur in no source."""

from __future__ import annotations

import re
from collections.abc import Sequence

from tracerail.guardrails.evaluators import (
    DEFAULT_THRESHOLD,
    LABEL_GROUNDED,
    LABEL_HALLUCINATED,
    Evaluation,
)

_WORD = re.compile(r"\w+")


class WordOverlapEvaluator:
    """Hallucination score = share of the answer's distinct words missing from the sources."""

    name = "word-overlap"
    version = "1"

    def __init__(self, threshold: float = DEFAULT_THRESHOLD) -> None:
        self.threshold = threshold
        self.calls = 0

    def evaluate(
        self, answer: str, sources: Sequence[str], *, question: str | None = None
    ) -> Evaluation:
        self.calls += 1
        words = set(_WORD.findall(answer.lower()))
        known = set(_WORD.findall(" ".join(sources).lower()))
        missing = sorted(words - known)
        score = len(missing) / len(words) if words else 0.0
        label = LABEL_HALLUCINATED if score >= self.threshold else LABEL_GROUNDED
        return Evaluation(
            score=score,
            label=label,
            explanation=f"{len(missing)} of {len(words)} words not in the sources",
            evaluator=self.name,
            version=self.version,
        )


class FailingEvaluator(WordOverlapEvaluator):
    """Raises on answers containing ``boom`` (an evaluator failing on one input)."""

    name = "failing"

    def evaluate(
        self, answer: str, sources: Sequence[str], *, question: str | None = None
    ) -> Evaluation:
        if "boom" in answer:
            raise RuntimeError("evaluator crashed")
        return super().evaluate(answer, sources, question=question)

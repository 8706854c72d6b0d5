"""Small real evaluators for tests of code that runs evaluators (not the evaluators' own
tests): the share of the answer's words that occur in no source, and scores by keyword."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

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

    def __init__(self, threshold: float = DEFAULT_THRESHOLD, *, fail_on: str = "") -> None:
        self.threshold = threshold
        self.fail_on = fail_on
        self.calls = 0

    def evaluate(
        self, answer: str, sources: Sequence[str], *, question: str | None = None
    ) -> Evaluation:
        self.calls += 1
        if self.fail_on and self.fail_on in answer:
            raise RuntimeError("evaluator crashed")
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

    def __init__(self) -> None:
        super().__init__(fail_on="boom")


@dataclass
class KeywordEvaluator:
    """Scores an answer by the first keyword of ``scores`` it contains (``default`` when none),
    labelled hallucinated from 0.5; raises ``RuntimeError(failure)`` on answers containing
    ``fail_on``."""

    name: str
    version: str
    scores: Mapping[str, float]
    default: float
    fail_on: str = "boom"
    failure: str = "evaluator crashed"

    def evaluate(
        self, answer: str, sources: Sequence[str], *, question: str | None = None
    ) -> Evaluation:
        if self.fail_on in answer:
            raise RuntimeError(self.failure)
        score = next((s for word, s in self.scores.items() if word in answer), self.default)
        label = LABEL_HALLUCINATED if score >= 0.5 else LABEL_GROUNDED
        return Evaluation(score, label, "", self.name, self.version)

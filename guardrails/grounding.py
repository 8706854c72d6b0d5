"""Groundedness: is each claim of an answer supported by the sources given for the call?

:func:`assess_grounding` is the product's ``auto`` score and the engine of the ``grounding``
guardrail. Since 0.2 it is a thin wrapper around the ``heuristic`` evaluator
(:mod:`tracerail.guardrails.evaluators.heuristic`): claims (sentences, with their offsets)
checked for quantities and names missing from the sources (normalised numbers, units, dates),
WordNet-aware word coverage over the best two source sentences, and contradiction cues
(antonyms, negation, overgeneralisation); abstentions ("the sources don't say") count as
supported. A claim's support is in 0..1; the answer's hallucination score is
``1 - min(support)`` over its claims (0 when there are no claims), so one unsupported
sentence is enough to flag the answer.

:data:`Judge` is the hook for anything smarter (an LLM, a cross-encoder): a callable given
the answer and sources that returns a :class:`JudgeVerdict`; its result is recorded as a
``judge`` score next to this check's ``auto`` score.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

__all__ = [
    "DEFAULT_SUPPORT_THRESHOLD",
    "Claim",
    "GroundingResult",
    "Judge",
    "JudgeVerdict",
    "assess_grounding",
    "split_claims",
]

DEFAULT_SUPPORT_THRESHOLD = 0.5

# A sentence ends at . ! ? followed by white space and an upper-case letter, digit or quote.
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[\"'(\[A-Z0-9])")
_ABBREVIATIONS = re.compile(r"\b(?:Mr|Mrs|Ms|Dr|Prof|St|Inc|Ltd|Co|vs|e\.g|i\.e|etc|No)\.$")


@dataclass(frozen=True, slots=True)
class Claim:
    """One sentence of the answer, where it is, and how well the sources support it."""

    text: str
    start: int
    end: int
    support: float
    missing_facts: tuple[str, ...] = ()
    negation_mismatch: bool = False

    def supported(self, threshold: float = DEFAULT_SUPPORT_THRESHOLD) -> bool:
        return self.support >= threshold


@dataclass(frozen=True, slots=True)
class GroundingResult:
    """Every claim with its support, the unsupported ones, and the answer's score."""

    claims: tuple[Claim, ...]
    threshold: float
    hallucination_score: float

    @property
    def unsupported(self) -> tuple[Claim, ...]:
        return tuple(c for c in self.claims if not c.supported(self.threshold))

    @property
    def hallucinated(self) -> bool:
        return bool(self.unsupported)


@dataclass(frozen=True, slots=True)
class JudgeVerdict:
    """What a judge returns: a hallucination score in 0..1 and an optional explanation."""

    hallucination_score: float
    label: str | None = None
    comment: str | None = None


Judge = Callable[[str, Sequence[str]], JudgeVerdict]
"""A pluggable judge: ``judge(answer, sources) -> JudgeVerdict``."""


def split_claims(text: str) -> list[tuple[str, int, int]]:
    """Sentences of ``text`` with their ``[start, end)`` offsets, surrounding space trimmed."""
    pieces: list[tuple[str, int, int]] = []
    start = 0
    for match in _SENTENCE_END.finditer(text):
        if _ABBREVIATIONS.search(text[start : match.start()]):
            continue
        pieces.append((text[start : match.start()], start, match.start()))
        start = match.end()
    pieces.append((text[start:], start, len(text)))
    claims = []
    for piece, lo, _hi in pieces:
        stripped = piece.strip()
        if not stripped:
            continue
        offset = lo + piece.index(stripped)
        claims.append((stripped, offset, offset + len(stripped)))
    return claims


def assess_grounding(
    answer: str,
    sources: Sequence[str],
    *,
    threshold: float = DEFAULT_SUPPORT_THRESHOLD,
) -> GroundingResult:
    """Score how well ``sources`` support each claim of ``answer`` (the ``heuristic`` evaluator).

    With no sources every claim is unsupported (score 1.0): there is nothing to ground in.
    """
    from tracerail.guardrails.evaluators.heuristic import check_claims

    claims = tuple(
        Claim(
            c.text,
            c.start,
            c.end,
            c.support,
            missing_facts=c.missing_facts,
            negation_mismatch="negat" in c.contradiction,
        )
        for c in check_claims(answer, sources)
    )
    score = 1.0 - min((c.support for c in claims), default=1.0)
    return GroundingResult(claims, threshold, round(score, 4))

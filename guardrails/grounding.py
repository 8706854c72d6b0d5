"""Groundedness: is each claim of an answer supported by the sources given for the call?

A pure, offline heuristic with no model and no Presidio. The answer is split into claims
(sentences, with their character offsets). Each claim is compared with every source sentence:

* **content overlap** — the share of the claim's content words (lower-cased, stop words
  dropped, light suffix stemming) found in the best-matching source window;
* **hard facts** — every number, year, percentage and capitalised name in the claim must
  appear somewhere in the sources;
* **negation** — a claim that negates what its best-matching source sentence states (or the
  reverse) is unsupported.

A claim's support is its overlap, or 0 when a hard fact is missing or the negation differs.
The hallucination score of the answer is ``1 - min(support)`` over its claims (0 when there
are no claims), so one unsupported sentence is enough to flag the answer.

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

_STOP_WORDS = frozenset(
    """
    a an the and or but if then than so of to in on at by for with from into onto over under
    about as is are was were be been being am do does did doing have has had having it its
    it's this that these those there here which who whom whose what when where why how all
    any both each few more most other some such only own same too very can will just should
    would could may might must shall also i me my we our you your he him his she her they them
    their one per via up down out off again further once while during before after above below
    between through because until against s t now new yes
    """.split()
)
_NEGATIONS = frozenset({"not", "no", "never", "none", "nobody", "nothing", "neither", "nor"})
_NEGATED_CONTRACTION = re.compile(r"\b\w+n't\b|\bcannot\b", re.IGNORECASE)
_WORD = re.compile(r"[A-Za-z][A-Za-z'\-]*|\d[\d,]*(?:\.\d+)?%?")
_NUMBER = re.compile(r"(?<![\w.])\d[\d,]*(?:\.\d+)?")
_CAPITALISED = re.compile(r"\b[A-Z][a-zA-Z\-]+\b")
# A sentence ends at . ! ? followed by white space and an upper-case letter, digit or quote.
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[\"'(\[A-Z0-9])")
_ABBREVIATIONS = re.compile(r"\b(?:Mr|Mrs|Ms|Dr|Prof|St|Inc|Ltd|Co|vs|e\.g|i\.e|etc|No)\.$")
_NUMBER_WORDS = {
    "zero": "0",
    "two": "2",
    "three": "3",
    "four": "4",
    "five": "5",
    "six": "6",
    "seven": "7",
    "eight": "8",
    "nine": "9",
    "ten": "10",
    "eleven": "11",
    "twelve": "12",
    "twenty": "20",
    "thirty": "30",
    "fifty": "50",
    "hundred": "100",
    "dozen": "12",
}
_SUFFIXES = ("ations", "ation", "ings", "ing", "edly", "ies", "ied", "ed", "es", "ly", "s")


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


def _stem(word: str) -> str:
    word = word.lower().strip("'-")
    if word.endswith("'s"):
        word = word[:-2]
    for suffix in _SUFFIXES:
        if len(word) > len(suffix) + 2 and word.endswith(suffix):
            return word[: -len(suffix)]
    return word


def _normalise_number(token: str) -> str:
    text = token.replace(",", "").rstrip("%")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text


def _content_stems(text: str) -> set[str]:
    stems = set()
    for token in _WORD.findall(text):
        lower = token.lower()
        if lower in _STOP_WORDS or lower in _NEGATIONS:
            continue
        if lower[0].isdigit():
            stems.add(_normalise_number(lower))
        else:
            stems.add(_NUMBER_WORDS.get(lower) or _stem(lower))
    return stems


def _numbers(text: str) -> set[str]:
    found = {_normalise_number(n) for n in _NUMBER.findall(text)}
    for token in _WORD.findall(text):
        number = _NUMBER_WORDS.get(token.lower())
        if number is not None:
            found.add(number)
    return found


def _names(text: str) -> set[str]:
    """Capitalised words that are not stop words (names, places, products, months)."""
    return {
        _stem(word)
        for word in _CAPITALISED.findall(text)
        if word.lower() not in _STOP_WORDS and word.lower() not in _NEGATIONS
    }


def _negated(text: str) -> bool:
    words = {w.lower() for w in _WORD.findall(text)}
    return bool(words & _NEGATIONS) or bool(_NEGATED_CONTRACTION.search(text))


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


@dataclass(frozen=True, slots=True)
class _SourceIndex:
    sentences: tuple[tuple[str, frozenset[str]], ...]
    all_stems: frozenset[str]
    numbers: frozenset[str]

    @classmethod
    def build(cls, sources: Sequence[str]) -> _SourceIndex:
        sentences = []
        numbers: set[str] = set()
        for source in sources:
            numbers |= _numbers(source)
            for text, _lo, _hi in split_claims(source):
                sentences.append((text, frozenset(_content_stems(text))))
        stems = frozenset().union(*(s for _, s in sentences)) if sentences else frozenset()
        return cls(tuple(sentences), stems, frozenset(numbers))

    def best_window(self, stems: set[str]) -> tuple[str, frozenset[str]]:
        """The source sentence, joined with its neighbours, that covers most of ``stems``."""
        best_text, best_stems, best_hits = "", frozenset[str](), -1
        for i, (_text, _s) in enumerate(self.sentences):
            window = self.sentences[max(i - 1, 0) : i + 2]
            window_stems = frozenset().union(*(s for _, s in window))
            hits = len(stems & self.sentences[i][1]) * 2 + len(stems & window_stems)
            if hits > best_hits:
                best_text = self.sentences[i][0]
                best_stems, best_hits = window_stems, hits
        return best_text, best_stems


def _assess_claim(text: str, start: int, end: int, index: _SourceIndex) -> Claim:
    stems = _content_stems(text)
    if not stems:
        return Claim(text, start, end, 1.0)
    best_text, window = index.best_window(stems)
    overlap = len(stems & window) / len(stems)
    missing = sorted(
        (_numbers(text) - index.numbers) | {n for n in _names(text) if n not in index.all_stems}
    )
    mismatch = bool(best_text) and _negated(text) != _negated(best_text)
    support = 0.0 if missing or mismatch else overlap
    return Claim(text, start, end, round(support, 4), tuple(missing), mismatch)


def assess_grounding(
    answer: str,
    sources: Sequence[str],
    *,
    threshold: float = DEFAULT_SUPPORT_THRESHOLD,
) -> GroundingResult:
    """Score how well ``sources`` support each claim of ``answer``.

    With no sources every claim is unsupported (score 1.0): there is nothing to ground in.
    """
    index = _SourceIndex.build([s for s in sources if s])
    claims = tuple(
        _assess_claim(text, lo, hi, index)
        if index.sentences
        else Claim(text, lo, hi, 0.0, missing_facts=())
        for text, lo, hi in split_claims(answer)
    )
    score = 1.0 - min((c.support for c in claims), default=1.0)
    return GroundingResult(claims, threshold, round(score, 4))

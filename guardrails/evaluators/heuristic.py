"""The ``heuristic`` groundedness evaluator: offline, no model, a few milliseconds per answer.

Each claim (sentence, or line of a list) of the answer is checked against the sources:

* **abstention** — a claim that says the sources do not cover the question ("the terms don't
  mention exchanges, so I can't confirm") is grounded by construction;
* **quantities** — every number, amount, duration, percentage, fraction, clock time and date
  of the claim, normalised by :mod:`.numbers`, must be the one stated by the source sentence
  about the same thing (the sentence sharing most words with the quantity's neighbourhood),
  or be worked out from the sources' (or the question's) figures in one arithmetic step; a
  figure the sources give for something else does not count;
* **names** — capitalised words (not at the start of a sentence), months and weekdays that
  the sources do not use;
* **coverage** — the share of the claim's content words (WordNet lemmas, :mod:`.lexicon`)
  found in the two source sentences that best cover it (a word counts when a source word has
  the same lemma, shares a sense or a derivation, or a 5-letter stem; words of the question
  count too). On realistic answers coverage separates only its low end (additions): grounded
  answers paraphrase, hallucinations often copy the sources' words;
* **contradiction cues** — a clause that matches a source clause with the negation flipped;
  a claim noun that is another thing of the same kind as a word of its aligned sentence
  (WordNet hypernyms: kidney for liver); an antonym of an aligned word; a universal ("any",
  "every", "whole") that its aligned sentences do not use (overgeneralisation).

A claim's rule support (reported per claim, and the reason shown) is 0 when a quantity or a
name is missing; otherwise 0.5 + coverage / 2 when coverage reaches :data:`COVERAGE_FLOOR`
(less below it), times 0.3 on a contradiction cue.

Since 2.1 the answer's hallucination score is not ``1 - min(support)`` but the probability of
a small logistic model: every claim carries its signals (:data:`CLAIM_SIGNALS`: the cues above
one by one, the share of its figures the sources or its aligned sentence do not state, word
coverage plain and weighted by IDF over the source sentences, words found in no source,
negation against the aligned sentence, a restriction or hedge of that sentence dropped, a
"yes" against a negated or restricted sentence, the rule support), aggregated per answer
(:func:`answer_features`) and weighted by coefficients fitted on the dev split
(:mod:`.heuristic_model`, refitted by ``tools/fit_heuristic.py``). Figures on the labelled
set: ``docs/provenance-and-audit.md``.
"""

from __future__ import annotations

import functools
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

from tracerail.guardrails.evaluators import heuristic_model as _model
from tracerail.guardrails.evaluators.base import (
    DEFAULT_THRESHOLD,
    ClaimVerdict,
    Evaluation,
    EvaluatorError,
    label_for,
)
from tracerail.guardrails.evaluators.lexicon import Lexicon, get_lexicon
from tracerail.guardrails.evaluators.numbers import QUANTITY_WORDS as _QUANTITY_WORDS
from tracerail.guardrails.evaluators.numbers import UNIT_WORDS as _UNIT_WORDS
from tracerail.guardrails.evaluators.numbers import NumberPool, Quantity, quantities

__all__ = [
    "ANSWER_FEATURES",
    "CLAIM_SIGNALS",
    "ClaimCheck",
    "HeuristicEvaluator",
    "answer_features",
    "check_claims",
    "hallucination_probability",
]

NAME: Final = "heuristic"
VERSION: Final = "2.1"

_STOP_WORDS: Final = frozenset(
    """
    a an the and or but if then than so of to in on at by for with from into onto over under
    about as is are was were be been being am do does did doing have has had having it its
    it's this that these those there here which who whom whose what when where why how both
    each few more most other some such own same too very can will just should would could may
    might must shall also i me my we our you your he him his she her they them their per via
    up down out off again further once while during before after above below between through
    because until against s t now yes get gets got you'll you're you've you'd it'll there's
    that's i'm i've let lets like just even still really only well much many way thing things
    one ones another else etc us make makes made go goes going come comes
    """.split()
)
_NEGATIONS: Final = frozenset(
    {"not", "no", "never", "none", "nobody", "nothing", "neither", "nor", "without", "cannot"}
)
_UNIVERSALS: Final = frozenset(
    {"any", "every", "everyone", "everybody", "all", "always", "whatever", "whichever",
     "whoever", "anyone", "anybody", "regardless", "everywhere", "anywhere", "whenever",
     "whole", "entire", "unlimited"}
)  # fmt: skip
# "every month", "at all", "all of it" are not generalisations
_NOT_UNIVERSAL = re.compile(
    r"\b(?:every|each|all|any)\s+(?:day|week|month|year|night|hour|minute|time|other|single)s?\b"
    r"|\bat\s+all\b|\ball\s+of\s+(?:it|them|this|that)\b"
    r"|\b(?:every|each)\s+(?:\d|a\b|an\b|one|two|three|four|five|six|seven|eight|nine|ten|twelve"
    r"|few|couple)"
    r"|\ball\s+the\s+way\b|\ball\s+(?:fully|together|in)\b",
    re.IGNORECASE,
)
_WORD = re.compile(r"[A-Za-z][A-Za-z'\-]*")
_CAPITALISED = re.compile(r"(?<![.!?:\-\n]\s)(?<![\n(\"])(?<!^)\b[A-Z][A-Za-z0-9\-]*[A-Za-z0-9]\b")
_ABSTENTION = re.compile(
    r"\b(?:(?:doesn't|does not|don't|do not|didn't|isn't|is not|aren't|are not)\s+"
    r"(?:say|mention|specify|state|cover|address|include|set out|list|give|tell|talk about|"
    r"covered|mentioned|specified|stated|addressed|included|listed)"
    r"|(?:can't|cannot|can not|unable to|not able to)\s+(?:confirm|say|tell|answer|find|give|"
    r"determine|see)"
    r"|(?:no|nothing|not any)\s+(?:information|mention|details?|data)\b"
    r"|nothing\s+(?:about|on|in|here)\b|not\s+(?:covered|mentioned|specified|stated)"
    r"|(?:don't|do not)\s+(?:see|find|have)\s+(?:any|anything))",
    re.IGNORECASE,
)
_CONTRACTION_NEGATION = re.compile(r"\b\w+n't\b", re.IGNORECASE)
_MONTHS_DAYS: Final = frozenset(
    "january february march april may june july august september october november december "
    "jan feb mar apr jun jul aug sep sept oct nov dec "
    "monday tuesday wednesday thursday friday saturday sunday".split()
)
# units, number words, months and weekdays: different figures are the numbers check's business
_MEASURE_WORDS: Final = _QUANTITY_WORDS | _UNIT_WORDS | _MONTHS_DAYS
_MONTH_NAMES: Final = "jan feb mar apr may jun jul aug sep oct nov dec".split()
# A leading "No." / "Not yet." answers the question; it is not a negated claim.
_LEADING_ANSWER = re.compile(
    r"^\s*(?:no|not\s+(?:yet|necessarily|quite|really|always))\b[,.:;!]?", re.IGNORECASE
)
_BOUND_NEGATION = re.compile(r"\bno\s+(?:later|more|less|fewer|earlier|sooner)\s+than\b", re.I)
_STEM: Final = 5
_ALIGN: Final = 2  # source sentences a claim may draw on
_CONTRADICTION_FACTOR: Final = 0.3
#: Coverage below which a claim counts as unsupported (tuned on the dev split).
COVERAGE_FLOOR: Final = 0.2
_ANTONYM_ALIGNMENT: Final = 0.6
_SHORT: Final = 1  # claims with this many content words or fewer are not judged on coverage
_FLIP_SHARED: Final = 3
_PAIR_CLAUSE = re.compile(
    r"[;:,()]|\s(?:and|but|while|whereas|versus|vs\.?|against|compared\s+with)\s", re.IGNORECASE
)
_CLAUSE = re.compile(r"[;:,()]|\s(?:but|while|whereas)\s", re.IGNORECASE)
_CONTEXT: Final = 40  # characters either side of a quantity that say what it counts
_RESTRICTIONS: Final = frozenset(
    {"only", "except", "unless", "solely", "exclusively", "excluding", "provided"}
)
_HEDGES: Final = frozenset(
    {"may", "might", "can", "could", "up", "about", "around", "approximately", "roughly",
     "usually", "typically", "generally", "some", "most", "often", "sometimes", "normally"}
)  # fmt: skip
_YES = re.compile(r"^\s*(?:yes|yep|sure|absolutely|of course|definitely)\b", re.IGNORECASE)
_CUE_SIGNALS: Final = ("antonym", "sibling", "negation_flip", "universal")
#: The per-claim signals, in the order of :attr:`ClaimCheck.signals`.
CLAIM_SIGNALS: Final = (
    "abstention",
    "quantity_wrong",
    "quantity_unfound",
    "quantity_unaligned",
    "quantity_not_stated",
    "swapped",
    "names_missing",
    "coverage",
    "best_sentence",
    "short",
    "novel_words",
    "novel_share",
    "uncovered_idf",
    *_CUE_SIGNALS,
    "yes_against_limit",
    "negation_mismatch",
    "restriction_dropped",
    "restriction_added",
    "hedge_dropped",
    "rule_support",
)


@dataclass(frozen=True, slots=True)
class ClaimCheck:
    """What the heuristic found for one claim."""

    text: str
    start: int
    end: int
    support: float
    source_index: int | None
    missing_facts: tuple[str, ...] = ()
    contradiction: str = ""
    abstention: bool = False
    #: the claim's signals, in the order of :data:`CLAIM_SIGNALS` (empty without sources)
    signals: tuple[float, ...] = ()

    @property
    def reason(self) -> str:
        if self.abstention:
            return "abstains"
        if self.missing_facts:
            return "not in sources: " + ", ".join(self.missing_facts)
        if self.contradiction:
            return self.contradiction
        return f"coverage {self.support:.2f}"


@dataclass(slots=True)
class _Sentence:
    source_index: int
    lemmas: frozenset[str]
    stems: frozenset[str]
    concepts: frozenset[int]
    negated: bool
    numbers: NumberPool
    universal: bool
    text: str = ""


@functools.lru_cache(maxsize=1024)
def _words(text: str) -> tuple[str, ...]:
    """Lower-case words of ``text``, memoised within one :func:`check_claims` call (the same
    sentences are read by several cues; the cache is cleared when the call ends)."""
    return tuple(w.lower().strip("'-") for w in _WORD.findall(text))


def _negated(text: str) -> bool:
    text = _BOUND_NEGATION.sub(" ", _LEADING_ANSWER.sub(" ", text))
    return bool(_NEGATIONS.intersection(_words(text))) or bool(_CONTRACTION_NEGATION.search(text))


def _clauses(text: str, lexicon: Lexicon) -> list[tuple[frozenset[str], bool]]:
    """The clauses of a sentence with two or more content words: lemmas, negated or not."""
    out = []
    for clause in _CLAUSE.split(_LEADING_ANSWER.sub(" ", text)):
        lemmas = frozenset(_content(_words(clause), lexicon))
        if len(lemmas) >= 2:
            out.append((lemmas, _negated(clause)))
    return out


def _flipped_clause(text: str, src: _Sources) -> str:
    """A clause of the claim that says what a source clause says, with the negation flipped
    ("substituted players can return" / "substituted players may not return")."""
    for lemmas, negated in _clauses(text, src.lexicon):
        best, best_negated = 0, negated
        for source_lemmas, source_negated in src.clauses:
            shared = len(lemmas & source_lemmas)
            if shared > best or (shared == best and source_negated == negated):
                best, best_negated = shared, source_negated
        if best >= _FLIP_SHARED and best >= len(lemmas) / 2 and best_negated != negated:
            return "negation flipped" if negated else "the source negates it"
    return ""


def _universal(text: str) -> bool:
    return bool(_UNIVERSALS.intersection(_words(_NOT_UNIVERSAL.sub(" ", text))))


def _content(words: Sequence[str], lexicon: Lexicon) -> list[str]:
    out = []
    for word in words:
        word = word.removesuffix("'s")
        if len(word) < 2 or word in _STOP_WORDS or word in _NEGATIONS or word in _UNIVERSALS:
            continue
        out.append(lexicon.lemma(word))
    return out


class _Sources:
    def __init__(self, sources: Sequence[str], lexicon: Lexicon) -> None:
        from tracerail.guardrails.grounding import split_claims

        self.lexicon = lexicon
        self.sentences: list[_Sentence] = []
        self.words: set[str] = set()
        self.clauses: list[tuple[frozenset[str], bool]] = []
        for index, source in enumerate(sources):
            for text, _lo, _hi in split_claims(source):
                words = _words(text)
                self.words.update(words)
                lemmas = frozenset(_content(words, lexicon))
                self.words.update(lemmas)
                self.clauses.extend(_clauses(text, lexicon))
                concepts = frozenset(c for lemma in lemmas for c in lexicon.concepts(lemma))
                self.sentences.append(
                    _Sentence(
                        index,
                        lemmas,
                        frozenset(lemma[:_STEM] for lemma in lemmas),
                        concepts,
                        _negated(text),
                        NumberPool([text]),
                        _universal(text),
                        text,
                    )
                )
        self.numbers = NumberPool.merge([s.numbers for s in self.sentences])
        # months and weekdays the sources name, by their first three letters
        self.calendar = {
            w[:3] for w in self.words if w in _MONTHS_DAYS or w.removesuffix("s") in _MONTHS_DAYS
        }
        self.calendar.update(
            _MONTH_NAMES[int(v) // 100 - 1]
            for v in self.numbers.by_dim.get("date", ())
            if 1 <= int(v) // 100 <= 12
        )
        self.question: frozenset[str] = frozenset()
        self._where: dict[str, frozenset[int]] = {}

    def where(self, lemma: str) -> frozenset[int]:
        """Indices of the sentences where ``lemma`` is found (same lemma, a shared sense, or
        the same 5-letter stem); memoised per call."""
        known = self._where.get(lemma)
        if known is not None:
            return known
        concepts = self.lexicon.concepts(lemma)
        stem = lemma[:_STEM] if len(lemma) >= _STEM else None
        known = frozenset(
            i
            for i, sentence in enumerate(self.sentences)
            if lemma in sentence.lemmas
            or (stem is not None and stem in sentence.stems)
            or (concepts and not sentence.concepts.isdisjoint(concepts))
        )
        self._where[lemma] = known
        return known


def _quantity_ok(text: str, q: Quantity, src: _Sources) -> bool | None:
    """A quantity must be stated by the source sentence about the same thing (the one sharing
    most words with the quantity's neighbourhood), or follow from the sources by arithmetic;
    a number the sources give for something else is not support ("23 kg" for the hold bag
    is not the cabin bag's limit). ``None``: not found, but not contradicted either."""
    near = text[max(0, q.start - _CONTEXT) : q.start] + " " + text[q.end : q.end + _CONTEXT]
    context = set(_content([w for w in _words(near) if w not in _QUANTITY_WORDS], src.lexicon))
    overlaps = [0] * len(src.sentences)
    for lemma in context:
        for i in src.where(lemma):
            overlaps[i] += 1
    best = max(overlaps, default=0)
    if best and any(
        s.numbers.supports(q, arithmetic=False)
        for s, n in zip(src.sentences, overlaps, strict=True)
        if n == best
    ):
        return True
    if best and any(
        s.numbers.by_dim.get(q.dim) and not s.numbers.supports(q)
        for s, n in zip(src.sentences, overlaps, strict=True)
        if n == best
    ):
        # the sentence about the same thing gives another value: wrong, unless worked out
        return src.numbers.derives(q)
    return True if src.numbers.supports(q) else None


def _pair_clauses(text: str, lexicon: Lexicon) -> list[tuple[int, int, frozenset[str]]]:
    """Clauses as (start, end, content lemmas), split also at "and", "versus", "while"."""
    out, start = [], 0
    for match in [*_PAIR_CLAUSE.finditer(text), None]:
        end = match.start() if match else len(text)
        words = [w for w in _words(text[start:end]) if w not in _QUANTITY_WORDS]
        out.append((start, end, frozenset(_content(words, lexicon))))
        start = match.end() if match else len(text)
    return out


def _clause_of(clauses: list[tuple[int, int, frozenset[str]]], at: int) -> int:
    return next((i for i, (lo, hi, _l) in enumerate(clauses) if lo <= at < hi), -1)


def _swapped(text: str, found: list[Quantity], src: _Sources) -> str:
    """Two figures of the claim that one source sentence gives the other way round ("6% on
    the drug and 21% on placebo" for "21% on the drug and 6% on placebo")."""
    if len(found) < 2:
        return ""
    claim_clauses = _pair_clauses(text, src.lexicon)
    for a_i, qa in enumerate(found):
        for qb in found[a_i + 1 :]:
            if qa.dim != qb.dim or qa.value == qb.value:
                continue
            ca = _clause_of(claim_clauses, qa.start)
            cb = _clause_of(claim_clauses, qb.start)
            if ca == cb:
                continue
            la, lb = claim_clauses[ca][2], claim_clauses[cb][2]
            for sentence in src.sentences:
                if not (
                    sentence.numbers.supports(qa, arithmetic=False)
                    and sentence.numbers.supports(qb, arithmetic=False)
                ):
                    continue
                clauses = _pair_clauses(sentence.text, src.lexicon)
                at = {q.value: q.start for q in sentence.numbers.found if q.dim == qa.dim}
                if qa.value not in at or qb.value not in at:
                    continue
                sa = clauses[_clause_of(clauses, at[qa.value])][2]
                sb = clauses[_clause_of(clauses, at[qb.value])][2]
                if sa == sb:
                    continue
                straight = len(la & sa) + len(lb & sb)
                crossed = len(la & sb) + len(lb & sa)
                if crossed > straight:
                    return f"swapped: {text[qa.start : qa.end]} / {text[qb.start : qb.end]}"
    return ""


def _check_claim(text: str, start: int, end: int, src: _Sources) -> ClaimCheck:
    signals = dict.fromkeys(CLAIM_SIGNALS, 0.0)
    if _ABSTENTION.search(text):
        signals["abstention"] = signals["coverage"] = signals["best_sentence"] = 1.0
        signals["rule_support"] = 1.0
        return ClaimCheck(text, start, end, 1.0, None, abstention=True, signals=_vector(signals))
    found = quantities(text)
    verdicts = [_quantity_ok(text, q, src) for q in found]
    if None in verdicts and True in verdicts:
        # a total or a difference of the claim's own supported figures ("12 x €39 = €468")
        pool = src.numbers.extended([q for q, ok in zip(found, verdicts, strict=True) if ok])
        verdicts = [
            ok if ok is not None else (pool.supports(q) or None)
            for q, ok in zip(found, verdicts, strict=True)
        ]
    missing = [text[q.start : q.end] for q, ok in zip(found, verdicts, strict=True) if not ok]
    signals["quantity_wrong"] = float(sum(ok is False for ok in verdicts))
    signals["quantity_unfound"] = float(sum(ok is None for ok in verdicts))
    swapped = "" if missing else _swapped(text, found, src)
    signals["swapped"] = float(bool(swapped))
    n_quantities_missing = len(missing)
    for match in _CAPITALISED.finditer(text):
        name = match.group(0).lower()
        if name in _MONTHS_DAYS or name.removesuffix("s") in _MONTHS_DAYS:
            if name[:3] not in src.calendar:
                missing.append(match.group(0))  # "April to October" for "March to November"
            continue
        if name not in src.words and name not in _STOP_WORDS and name not in _UNIT_WORDS:
            if src.lexicon.lemma(name) not in src.words:
                missing.append(match.group(0))
    signals["names_missing"] = float(len(missing) - n_quantities_missing)
    words = _words(text)
    lemmas = list(dict.fromkeys(_content(words, src.lexicon)))
    if not lemmas:
        support = 0.0 if missing else 1.0
        signals["coverage"] = signals["best_sentence"] = 1.0
        signals["short"], signals["rule_support"] = 1.0, support
        return ClaimCheck(text, start, end, support, None, tuple(missing), signals=_vector(signals))
    # align: the sentence covering most, then the one adding most
    found_in = [
        {i for i, lemma in enumerate(lemmas) if n in src.where(lemma)}
        for n in range(len(src.sentences))
    ]
    chosen: list[int] = []
    covered: set[int] = set()
    for _ in range(min(_ALIGN, len(found_in))):
        best = max(
            (i for i in range(len(found_in)) if i not in chosen),
            key=lambda i: len(found_in[i] - covered),
        )
        if chosen and not found_in[best] - covered:
            break
        chosen.append(best)
        covered |= found_in[best]
    in_question = {i for i, lemma in enumerate(lemmas) if lemma in src.question}
    best_sentence = len(found_in[chosen[0]] | in_question) / len(lemmas) if chosen else 0.0
    covered |= in_question
    coverage = len(covered) / len(lemmas)
    short = len(lemmas) <= _SHORT or text.endswith(":")
    if short:
        # "Not yet.", "Three weeks.": an answer to the question; "In short:" introduces one
        coverage = best_sentence = 1.0
    # content words found in no source sentence and not in the question (additions)
    novel = [
        lemma
        for i, lemma in enumerate(lemmas)
        if i not in covered and lemma not in _MEASURE_WORDS and not src.where(lemma)
    ]
    # uncovered content words weighted by their rarity across the source sentences (IDF):
    # a word no sentence uses weighs most, one every sentence uses nothing
    n = len(src.sentences)
    weights = [math.log((n + 1) / (len(src.where(lemma)) + 1)) + 1.0 for lemma in lemmas]
    uncovered_weight = sum(w for i, w in enumerate(weights) if i not in covered)
    signals.update(
        uncovered_idf=0.0 if short else uncovered_weight / sum(weights),
        coverage=coverage,
        best_sentence=best_sentence,
        short=float(short),
        novel_words=float(len(novel)),
        novel_share=len(novel) / len(lemmas),
    )
    if found:
        # figures the aligned sentences do not state as such, and figures the sources give
        # nowhere as such (only worked out by arithmetic, or not at all)
        aligned = [src.sentences[i].numbers for i in chosen]
        signals["quantity_unaligned"] = sum(
            not any(pool.supports(q, arithmetic=False) for pool in aligned) for q in found
        ) / len(found)
        signals["quantity_not_stated"] = sum(
            not src.numbers.supports(q, arithmetic=False) for q in found
        ) / len(found)
    source_index = src.sentences[chosen[0]].source_index if chosen else None
    cues = _contradiction_cues(text, lemmas, covered, chosen, src)
    for name in _CUE_SIGNALS:
        signals[name] = float(bool(cues.get(name)))
    signals.update(_scope_signals(text, words, chosen, src))
    contradiction = swapped or next((cues[n] for n in _CUE_SIGNALS if cues.get(n)), "")
    # Grounded answers paraphrase heavily, hallucinations often copy the source's words: word
    # coverage separates only its low end (additions): above the floor a claim is supported
    # (0.5..1, graded by coverage), below it unsupported.
    if coverage >= COVERAGE_FLOOR:
        support = 0.5 + 0.5 * coverage
    else:
        support = 0.5 * coverage / COVERAGE_FLOOR
    if missing:
        support = 0.0
    elif contradiction:
        support *= _CONTRADICTION_FACTOR
    signals["rule_support"] = support
    return ClaimCheck(
        text,
        start,
        end,
        round(support, 4),
        source_index,
        tuple(missing),
        contradiction,
        signals=_vector(signals),
    )


def _contradiction_cues(
    text: str,
    lemmas: list[str],
    covered: set[int],
    chosen: list[int],
    src: _Sources,
) -> dict[str, str]:
    """Every contradiction cue of the claim that fires, by signal name, with its reason."""
    aligned = [src.sentences[i] for i in chosen]
    if not aligned:
        return {}
    cues: dict[str, str] = {}
    aligned_lemmas = frozenset().union(*(s.lemmas for s in aligned))
    well_aligned = len(covered) >= _ANTONYM_ALIGNMENT * len(lemmas)
    for i, lemma in enumerate(lemmas):
        if i in covered or not well_aligned or "antonym" in cues:
            continue
        for other in aligned_lemmas:
            if src.lexicon.opposed(lemma, other):
                cues["antonym"] = f"antonym: {lemma} / {other}"
                break
    claim_lemmas = set(lemmas)
    for i, lemma in enumerate(lemmas):
        if i in covered or lemma in src.question or lemma in _MEASURE_WORDS or "sibling" in cues:
            continue
        for other in aligned_lemmas - claim_lemmas - _MEASURE_WORDS:
            if src.lexicon.siblings(lemma, other):
                cues["sibling"] = f"another thing of the same kind: {lemma} for {other}"
                break
    flipped = _flipped_clause(text, src)
    if flipped:
        cues["negation_flip"] = flipped
    if _universal(text) and not any(s.universal for s in aligned):
        cues["universal"] = "generalises beyond the sources"
    return cues


def _scope_signals(
    text: str, words: Sequence[str], chosen: list[int], src: _Sources
) -> dict[str, float]:
    """Negation and restriction of the claim against its best-aligned sentence: the claim
    negated where the sentence is not (or the reverse); a restriction ("only", "except",
    "unless") of the sentence that the claim drops, or one the claim adds."""
    if not chosen:
        return {}
    best = src.sentences[chosen[0]]
    claim_restricted = bool(_RESTRICTIONS.intersection(words))
    source_restricted = bool(_RESTRICTIONS.intersection(_words(best.text)))
    aligned = [src.sentences[i] for i in chosen]
    return {
        # "Yes, ..." where the aligned sentences negate or restrict
        "yes_against_limit": float(
            bool(_YES.match(text))
            and any(s.negated or _RESTRICTIONS.intersection(_words(s.text)) for s in aligned)
        ),
        "negation_mismatch": float(_negated(text) != best.negated),
        "restriction_dropped": float(source_restricted and not claim_restricted),
        "restriction_added": float(claim_restricted and not source_restricted),
        "hedge_dropped": float(
            bool(_HEDGES.intersection(_words(best.text))) and not _HEDGES.intersection(words)
        ),
    }


def _vector(signals: dict[str, float]) -> tuple[float, ...]:
    return tuple(signals[name] for name in CLAIM_SIGNALS)


def _lines(text: str, start: int, _end: int) -> list[tuple[str, int, int]]:
    """A claim split at line breaks (bullet lists), each line trimmed, with its offsets."""
    out = []
    offset = 0
    for line in text.split("\n"):
        stripped = line.strip(" \t\r-*\u2022")
        if stripped:
            at = start + offset + line.index(stripped)
            out.append((stripped, at, at + len(stripped)))
        offset += len(line) + 1
    return out


def check_claims(
    answer: str, sources: Sequence[str], question: str | None = None
) -> list[ClaimCheck]:
    """Every claim of ``answer`` checked against ``sources`` (see the module docstring).

    Words of the ``question`` count as covered: restating the question is not a hallucination.
    """
    from tracerail.guardrails.grounding import split_claims

    texts = [s for s in sources if s and s.strip()]
    claims = [line for claim in split_claims(answer) for line in _lines(*claim)]
    if not texts:
        return [ClaimCheck(text, lo, hi, 0.0, None) for text, lo, hi in claims]
    try:
        src = _Sources(texts, get_lexicon())
        if question:
            src.question = frozenset(_content(_words(question), src.lexicon))
            src.numbers = src.numbers.extended(quantities(question))  # the user's own figures
        return [_check_claim(text, lo, hi, src) for text, lo, hi in claims]
    finally:
        _words.cache_clear()  # no answer or source text outlives the call


_MIN_SIGNALS: Final = ("coverage", "best_sentence", "rule_support")
#: The answer's features, aggregated over its claims (see :func:`answer_features`).
ANSWER_FEATURES: Final = (
    *(f"max_{name}" for name in CLAIM_SIGNALS),
    *(f"min_{name}" for name in _MIN_SIGNALS),
    "mean_coverage",
)


def answer_features(checks: Sequence[ClaimCheck]) -> tuple[float, ...]:
    """The answer's feature vector (:data:`ANSWER_FEATURES`): each claim signal's maximum
    over the claims, the minimum of coverage, best-sentence coverage and rule support, and mean
    coverage. Sizes (claims, words, figures) are left out on purpose: in the labelled set they
    separate the labels by how the answers were written, not by what they say. Every check
    must carry its signals."""
    columns = list(zip(*(c.signals for c in checks), strict=True))
    by_name = dict(zip(CLAIM_SIGNALS, columns, strict=True))
    return (
        *(max(column) for column in columns),
        *(min(by_name[name]) for name in _MIN_SIGNALS),
        sum(by_name["coverage"]) / len(checks),
    )


def hallucination_probability(features: Sequence[float]) -> float:
    """The fitted logistic model (:mod:`.heuristic_model`) applied to an answer's features."""
    z = _model.BIAS
    for x, mean, scale, weight in zip(
        features, _model.MEANS, _model.SCALES, _model.WEIGHTS, strict=True
    ):
        z += weight * (x - mean) / scale
    if z < -40.0:
        return 0.0
    return 1.0 / (1.0 + math.exp(-z))


class HeuristicEvaluator:
    """Offline groundedness: claims, quantities, names, WordNet coverage, contradiction cues,
    combined by a fitted logistic model (the score is its probability)."""

    name = NAME
    version = VERSION

    def __init__(self, threshold: float = DEFAULT_THRESHOLD) -> None:
        if not 0.0 <= threshold <= 1.0:
            raise EvaluatorError("heuristic: threshold must be between 0 and 1")
        self.threshold = threshold

    def evaluate(
        self, answer: str, sources: Sequence[str], *, question: str | None = None
    ) -> Evaluation:
        checks = check_claims(answer, sources, question)
        if not checks:
            score = 0.0
        elif all(c.signals for c in checks):
            score = round(hallucination_probability(answer_features(checks)), 4)
        else:  # no sources: nothing is supported
            score = round(1.0 - min(c.support for c in checks), 4)
        weakest = min(checks, key=lambda c: c.support, default=None)
        if weakest is None:
            explanation = "no claims"
        elif not [s for s in sources if s and s.strip()]:
            explanation = "no sources to ground in"
        else:
            explanation = f"weakest claim ({weakest.reason}): {weakest.text[:120]}"
        label = label_for(score, self.threshold)
        return Evaluation(
            score=score,
            label=label,
            explanation=explanation,
            evaluator=self.name,
            version=self.version,
            claims=tuple(
                ClaimVerdict(c.start, c.end, c.support, c.source_index, c.reason) for c in checks
            ),
        )

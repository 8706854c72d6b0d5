"""Rates and their intervals: pure functions, no IO.

- :func:`wilson_interval`: the Wilson score interval of a binomial proportion.
- :func:`corrected_rate`: an evaluator's raw hallucination rate corrected for the error it was
  measured to make against human labels on the same generations.

The correction is the Rogan-Gladen estimator (Rogan & Gladen 1978)::

    corrected = (raw + Sp - 1) / (Se + Sp - 1), clipped to [0, 1]

where ``Se`` (sensitivity) is the share of human-hallucinated generations the evaluator flags
and ``Sp`` (specificity) the share of human-grounded generations it passes. It is undefined
when ``Se + Sp <= 1``: such an evaluator is no better than chance, and its rate says nothing.

Its interval carries the uncertainty of all three proportions (:data:`METHOD`): each of raw, Se
and Sp is drawn :data:`DRAWS` times from its Jeffreys ``Beta(x + 1/2, n - x + 1/2)``
distribution with a seeded generator (a :class:`Simulation` holds the draws, seed and level),
the estimator is applied to each draw, and the 2.5th and 97.5th percentiles are the interval
(Greiner & Gardner 2000 describe this simulation for apparent-to-true prevalence). A draw with
``Se + Sp <= 1`` has no corrected value; it counts as 0 for the lower percentile and as 1 for
the upper one, so such draws only widen the interval. :func:`delta_interval` is the closed form
for cross-checking: the Rogan-Gladen (delta-method) variance, Greenland 1996, over
Agresti-Coull-adjusted proportions as Lang & Reiczigel 2014 propose.

An evaluator counts as validated with at least :data:`MIN_LABELS` human labels, among them
at least one of each kind; below that, its figures are shown but no corrected rate.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from typing import Any, Final

__all__ = [
    "DRAWS",
    "METHOD",
    "MIN_LABELS",
    "SIMULATION",
    "Z95",
    "Agreement",
    "CorrectedRate",
    "EvaluatorCounts",
    "Proportion",
    "Simulation",
    "contributing_evaluators",
    "corrected_rate",
    "correction_summary",
    "delta_interval",
    "evaluator_figures",
    "rank_evaluators",
    "rogan_gladen",
    "simulated_interval",
    "wilson_interval",
]

Z95: Final = 1.959963984540054
MIN_LABELS: Final = 30
DRAWS: Final = 2_000
SEED: Final = 17
METHOD: Final = (
    "Rogan-Gladen estimator; 95% interval from 2000 seeded draws of raw rate, sensitivity "
    "and specificity from Jeffreys Beta distributions (percentile interval)"
)


def wilson_interval(successes: int, trials: int, z: float = Z95) -> tuple[float, float] | None:
    """Wilson score interval for a binomial proportion; None when there are no trials."""
    if trials <= 0:
        return None
    p = successes / trials
    denominator = 1 + z * z / trials
    centre = (p + z * z / (2 * trials)) / denominator
    half = z * math.sqrt(p * (1 - p) / trials + z * z / (4 * trials * trials)) / denominator
    return max(0.0, centre - half), min(1.0, centre + half)


@dataclass(frozen=True, slots=True)
class Agreement:
    """Human label x evaluator verdict on the same generations (positive = hallucinated)."""

    tp: int  # human hallucinated, evaluator hallucinated
    fn: int  # human hallucinated, evaluator grounded
    fp: int  # human grounded, evaluator hallucinated
    tn: int  # human grounded, evaluator grounded

    def __post_init__(self) -> None:
        if min(self.tp, self.fn, self.fp, self.tn) < 0:
            raise ValueError("agreement counts must not be negative")

    @property
    def labels(self) -> int:
        return self.tp + self.fn + self.fp + self.tn

    @property
    def positives(self) -> int:
        return self.tp + self.fn

    @property
    def negatives(self) -> int:
        return self.tn + self.fp


@dataclass(frozen=True, slots=True)
class Proportion:
    """``successes / trials`` with its Wilson 95% interval (None without trials)."""

    successes: int
    trials: int

    @property
    def value(self) -> float | None:
        return self.successes / self.trials if self.trials else None

    @property
    def ci95(self) -> tuple[float, float] | None:
        return wilson_interval(self.successes, self.trials)

    def as_dict(self) -> dict[str, Any]:
        interval = self.ci95
        return {
            "value": self.value,
            "ci95": list(interval) if interval else None,
            "successes": self.successes,
            "trials": self.trials,
        }


def rogan_gladen(raw: float, sensitivity: float, specificity: float) -> float | None:
    """``(raw + Sp - 1) / (Se + Sp - 1)`` clipped to [0, 1]; None when ``Se + Sp <= 1``."""
    youden = sensitivity + specificity - 1
    if youden <= 0:
        return None
    return min(1.0, max(0.0, (raw + specificity - 1) / youden))


def _quantile(ordered: list[float], q: float) -> float:
    """Linear interpolation between order statistics (numpy's default)."""
    position = q * (len(ordered) - 1)
    low = math.floor(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def _jeffreys(rng: random.Random, successes: int, trials: int) -> float:
    return rng.betavariate(successes + 0.5, trials - successes + 0.5)


@dataclass(frozen=True, slots=True)
class Simulation:
    """The seeded simulation behind a corrected rate's interval (:data:`METHOD`): how many
    draws, the generator's seed and the interval's coverage. The same settings and counts
    always give the same interval."""

    draws: int = DRAWS
    seed: int = SEED
    level: float = 0.95

    def __post_init__(self) -> None:
        if self.draws <= 0:
            raise ValueError("draws must be positive")
        if not 0 < self.level < 1:
            raise ValueError("level must be between 0 and 1")


SIMULATION: Final = Simulation()


def simulated_interval(
    raw: Proportion,
    sensitivity: Proportion,
    specificity: Proportion,
    simulation: Simulation = SIMULATION,
) -> tuple[float, float]:
    """The percentile interval of :data:`METHOD`; the same for the same arguments."""
    if min(raw.trials, sensitivity.trials, specificity.trials) <= 0:
        raise ValueError("every proportion needs at least one trial")
    rng = random.Random(simulation.seed)
    low_values: list[float] = []
    high_values: list[float] = []
    for _ in range(simulation.draws):
        p = _jeffreys(rng, raw.successes, raw.trials)
        se = _jeffreys(rng, sensitivity.successes, sensitivity.trials)
        sp = _jeffreys(rng, specificity.successes, specificity.trials)
        value = rogan_gladen(p, se, sp)
        low_values.append(0.0 if value is None else value)
        high_values.append(1.0 if value is None else value)
    tail = (1 - simulation.level) / 2
    return _quantile(sorted(low_values), tail), _quantile(sorted(high_values), 1 - tail)


def delta_interval(
    raw: Proportion, sensitivity: Proportion, specificity: Proportion, z: float = Z95
) -> tuple[float, float] | None:
    """Closed-form interval: Rogan-Gladen's delta-method variance over proportions with
    ``z²/2`` successes and failures added to each (Agresti-Coull; Lang & Reiczigel 2014).
    None when the adjusted ``Se + Sp <= 1``."""

    def adjusted(x: Proportion) -> tuple[float, float]:
        trials = x.trials + z * z
        return (x.successes + z * z / 2) / trials, trials

    p, n = adjusted(raw)
    se, n_se = adjusted(sensitivity)
    sp, n_sp = adjusted(specificity)
    youden = se + sp - 1
    if youden <= 0:
        return None
    centre = (p + sp - 1) / youden
    variance = (
        p * (1 - p) / n
        + centre**2 * se * (1 - se) / n_se
        + (1 - centre) ** 2 * sp * (1 - sp) / n_sp
    ) / youden**2
    half = z * math.sqrt(variance)
    return max(0.0, centre - half), min(1.0, centre + half)


@dataclass(frozen=True, slots=True)
class CorrectedRate:
    """An evaluator's raw rate, its measured error, and the rate corrected for that error.

    ``corrected``/``ci95`` are None unless ``validated`` and ``Se + Sp > 1``; ``reason``
    then says why in plain words (empty when there is a corrected rate).
    """

    raw: Proportion
    sensitivity: Proportion
    specificity: Proportion
    agreement: Agreement
    validated: bool
    reason: str
    corrected: float | None
    ci95: tuple[float, float] | None
    method: str = METHOD
    min_labels: int = MIN_LABELS

    def as_dict(self) -> dict[str, Any]:
        return {
            "raw_rate": self.raw.value,
            "raw_ci95": list(self.raw.ci95) if self.raw.ci95 else None,
            "scored": self.raw.trials,
            "flagged": self.raw.successes,
            "validated": self.validated,
            "reason": self.reason or None,
            "labels": self.agreement.labels,
            "min_labels": self.min_labels,
            "sensitivity": self.sensitivity.value,
            "sensitivity_ci95": list(self.sensitivity.ci95) if self.sensitivity.ci95 else None,
            "specificity": self.specificity.value,
            "specificity_ci95": list(self.specificity.ci95) if self.specificity.ci95 else None,
            "agreement": {
                "tp": self.agreement.tp,
                "fn": self.agreement.fn,
                "fp": self.agreement.fp,
                "tn": self.agreement.tn,
            },
            "corrected_rate": self.corrected,
            "corrected_ci95": list(self.ci95) if self.ci95 else None,
            "method": self.method if self.corrected is not None else None,
        }


def _why_not_validated(scored: int, agreement: Agreement, min_labels: int) -> str:
    if scored == 0:
        return "not validated: the evaluator scored no generations"
    if agreement.labels < min_labels:
        return (
            f"not validated: {agreement.labels} human label(s) on this evaluator's "
            f"generations; at least {min_labels} are needed"
        )
    if agreement.positives == 0:
        return "not validated: no human label says hallucinated, so sensitivity is unknown"
    if agreement.negatives == 0:
        return "not validated: no human label says grounded, so specificity is unknown"
    return ""


def corrected_rate(
    flagged: int,
    scored: int,
    agreement: Agreement,
    *,
    min_labels: int = MIN_LABELS,
    simulation: Simulation = SIMULATION,
) -> CorrectedRate:
    """The corrected rate of an evaluator that flagged ``flagged`` of ``scored`` generations
    and agreed with human labels as in ``agreement``; validated with ``min_labels`` human
    labels, its interval from ``simulation``."""
    if not 0 <= flagged <= scored:
        raise ValueError("flagged must be between 0 and scored")
    raw = Proportion(flagged, scored)
    sensitivity = Proportion(agreement.tp, agreement.positives)
    specificity = Proportion(agreement.tn, agreement.negatives)
    reason = _why_not_validated(scored, agreement, min_labels)
    validated = not reason
    corrected = ci95 = None
    if validated:
        assert raw.value is not None and sensitivity.value is not None
        assert specificity.value is not None
        corrected = rogan_gladen(raw.value, sensitivity.value, specificity.value)
        if corrected is None:
            reason = (
                "cannot be corrected: sensitivity + specificity is at most 1, "
                "so the evaluator does no better than chance"
            )
        else:
            ci95 = simulated_interval(raw, sensitivity, specificity, simulation)
    return CorrectedRate(
        raw, sensitivity, specificity, agreement, validated, reason, corrected, ci95
    )


@dataclass(frozen=True, slots=True)
class EvaluatorCounts:
    """What the store counts for one evaluator in one group: generations it scored, those it
    flagged, and its :class:`Agreement` with human labels on the same generations."""

    source: str
    evaluator: str
    version: str
    prompt_sha256: str
    scored: int
    flagged: int
    agreement: Agreement

    @property
    def name(self) -> str:
        """The evaluator's name, or for scores written without one, ``"(unnamed <source>)"``."""
        return self.evaluator or f"(unnamed {self.source})"


def evaluator_figures(counts: EvaluatorCounts, **options: Any) -> dict[str, Any]:
    """One evaluator's identity and every figure of :class:`CorrectedRate`, as JSON."""
    result = corrected_rate(counts.flagged, counts.scored, counts.agreement, **options)
    return {
        "evaluator": counts.name,
        "version": counts.version,
        "prompt_sha256": counts.prompt_sha256,
        "source": counts.source,
        **result.as_dict(),
    }


def rank_evaluators(figures: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Evaluators in the order a group presents them; the first is the group's headline.

    One with a corrected rate comes first, then validated ones, then the one that scored the
    most generations; ties by name, version and prompt hash.
    """
    return sorted(
        figures,
        key=lambda f: (
            f["corrected_rate"] is None,
            not f["validated"],
            -f["scored"],
            f["evaluator"],
            f["version"],
            f["prompt_sha256"],
        ),
    )


def contributing_evaluators(groups: list[dict[str, Any]]) -> list[dict[str, str]]:
    """Every evaluator (name, version, prompt hash, source) that scored any of ``groups``
    (rows with an ``evaluators`` list of :func:`evaluator_figures`)."""
    seen = {
        (f["evaluator"], f["version"], f["prompt_sha256"], f["source"])
        for group in groups
        for f in group.get("evaluators", [])
    }
    return [
        {"evaluator": name, "version": version, "prompt_sha256": sha, "source": source}
        for name, version, sha, source in sorted(seen)
    ]


def correction_summary(groups: list[dict[str, Any]]) -> dict[str, Any]:
    """What every answer with corrected rates states beside ``groups``: ``correction`` (the
    :data:`METHOD` and :data:`MIN_LABELS`) and ``evaluators`` (:func:`contributing_evaluators`)."""
    return {
        "correction": {"method": METHOD, "min_labels": MIN_LABELS},
        "evaluators": contributing_evaluators(groups),
    }

"""The ``heuristic`` evaluator's signals (2.1) on hand-checkable cases, and its fitted model."""

from __future__ import annotations

import importlib.util
import math
from pathlib import Path

import pytest

from tracerail.guardrails.evaluators import heuristic_model
from tracerail.guardrails.evaluators.heuristic import (
    ANSWER_FEATURES,
    CLAIM_SIGNALS,
    HeuristicEvaluator,
    answer_features,
    check_claims,
    hallucination_probability,
)

SOURCES = [
    "Mopping is only supported on hard floors.",
    "The R7 runs for up to 140 minutes in Eco mode.",
    "Pets are not allowed in the rooms.",
]


def _signals(answer: str, question: str | None = None) -> dict[str, float]:
    (check,) = check_claims(answer, SOURCES, question)
    return dict(zip(CLAIM_SIGNALS, check.signals, strict=True))


def test_every_claim_carries_every_signal() -> None:
    checks = check_claims("It runs 140 minutes. Pets are welcome.", SOURCES)
    assert [len(c.signals) for c in checks] == [len(CLAIM_SIGNALS)] * 2
    assert len(answer_features(checks)) == len(ANSWER_FEATURES)


def test_negation_against_the_aligned_sentence() -> None:
    assert _signals("Mopping is not supported on hard floors.")["negation_mismatch"] == 1.0
    assert _signals("Mopping is supported on hard floors only.")["negation_mismatch"] == 0.0


def test_a_dropped_restriction() -> None:
    assert _signals("Mopping is supported on hard floors.")["restriction_dropped"] == 1.0
    assert _signals("Mopping works only on hard floors.")["restriction_dropped"] == 0.0


def test_a_dropped_hedge() -> None:
    # "up to 140 minutes" restated as a flat "140 minutes"
    assert _signals("The R7 runs for 140 minutes in Eco mode.")["hedge_dropped"] == 1.0


def test_yes_against_a_negated_source() -> None:
    assert _signals("Yes, pets are allowed in the rooms.")["yes_against_limit"] == 1.0
    assert _signals("Pets are allowed in the rooms.")["yes_against_limit"] == 0.0


def test_figures_the_sources_do_not_state() -> None:
    assert _signals("It runs for 150 minutes in Eco mode.")["quantity_not_stated"] == 1.0
    # 140 minutes restated in hours and minutes is stated, and by the aligned sentence
    restated = _signals("In Eco mode it runs for 2 hours 20 minutes.")
    assert restated["quantity_not_stated"] == 0.0
    assert restated["quantity_unaligned"] == 0.0


def test_uncovered_words_weighted_by_rarity() -> None:
    covered = _signals("Mopping is only supported on hard floors.")
    added = _signals("Mopping is only supported on hard floors and marble staircases.")
    assert covered["uncovered_idf"] == 0.0
    assert 0.0 < added["uncovered_idf"] < 1.0
    assert added["novel_words"] == 2.0  # marble, staircase: in no source sentence


def test_abstention_signal() -> None:
    signals = _signals("The sources don't mention the warranty.")
    assert signals["abstention"] == 1.0
    assert signals["rule_support"] == 1.0


def test_answer_features_aggregate_over_claims() -> None:
    checks = check_claims("It runs 140 minutes in Eco mode. Pets are allowed.", SOURCES)
    features = dict(zip(ANSWER_FEATURES, answer_features(checks), strict=True))
    coverages = [dict(zip(CLAIM_SIGNALS, c.signals, strict=True))["coverage"] for c in checks]
    assert features["min_coverage"] == min(coverages)
    assert features["max_coverage"] == max(coverages)
    assert features["mean_coverage"] == pytest.approx(sum(coverages) / 2)


def test_the_model_is_the_logistic_of_its_constants() -> None:
    assert heuristic_model.FEATURES == ANSWER_FEATURES
    assert len(heuristic_model.WEIGHTS) == len(heuristic_model.MEANS) == len(ANSWER_FEATURES)
    at_means = hallucination_probability(heuristic_model.MEANS)
    assert at_means == pytest.approx(1 / (1 + math.exp(-heuristic_model.BIAS)))
    result = HeuristicEvaluator().evaluate("Pets are allowed in the rooms.", SOURCES)
    checks = check_claims("Pets are allowed in the rooms.", SOURCES)
    assert result.score == round(hallucination_probability(answer_features(checks)), 4)
    assert result.version == "2.1"


def _fit_tool():  # type: ignore[no-untyped-def]
    path = Path(__file__).resolve().parents[3] / "tools" / "fit_heuristic.py"
    spec = importlib.util.spec_from_file_location("fit_heuristic", path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_fit_is_deterministic_and_separates_a_separable_toy_set() -> None:
    import numpy as np
    tool = _fit_tool()
    x = np.array([[0.0, 1.0], [0.1, 0.9], [0.9, 0.2], [1.0, 0.0], [0.2, 1.0], [0.8, 0.1]])
    y = np.array([0.0, 0.0, 1.0, 1.0, 0.0, 1.0])
    first, second = tool.fit(x, y, 1.0), tool.fit(x, y, 1.0)
    assert all((a == b).all() for a, b in zip(first, second, strict=True))
    p = tool.predict(first, x)
    assert ((p >= 0.5) == (y == 1)).all()
    assert tool.balanced_accuracy(y, p) == 1.0
    assert tool.auroc(y, p) == 1.0
    # grouped folds: every scenario falls in exactly one fold
    folds = tool.folds(["a", "a", "b", "c", "c", "d"], 2, 17)
    assert folds[0] == folds[1] and folds[3] == folds[4]

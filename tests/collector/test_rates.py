"""collector/rates.py: Wilson, sensitivity/specificity and the Rogan-Gladen corrected rate,
checked against arithmetic done by hand (written out next to each case)."""

from __future__ import annotations

import random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tracerail.collector.rates import (
    MIN_LABELS,
    Agreement,
    Proportion,
    Simulation,
    corrected_rate,
    delta_interval,
    rogan_gladen,
    simulated_interval,
    wilson_interval,
)


def test_wilson_interval_by_hand() -> None:
    # 8 of 10, z = 1.96: z^2 = 3.8415; denominator 1 + 3.8415/10 = 1.38415;
    # centre (0.8 + 3.8415/20) / 1.38415 = 0.99207 / 1.38415 = 0.71674;
    # half 1.96 * sqrt(0.8*0.2/10 + 3.8415/400) / 1.38415 = 1.96 * 0.16001 / 1.38415 = 0.22658
    low, high = wilson_interval(8, 10)  # type: ignore[misc]
    assert low == pytest.approx(0.49016, abs=1e-4)
    assert high == pytest.approx(0.94332, abs=1e-4)
    assert wilson_interval(0, 0) is None


@pytest.mark.parametrize(
    ("raw", "se", "sp", "expected"),
    [
        # (0.30 + 0.9 - 1) / (0.8 + 0.9 - 1) = 0.2 / 0.7 = 0.285714...
        (0.30, 0.8, 0.9, 0.2 / 0.7),
        # (0.10 + 0.95 - 1) / (0.9 + 0.95 - 1) = 0.05 / 0.85 = 0.0588235...
        (0.10, 0.9, 0.95, 0.05 / 0.85),
        # a perfect evaluator changes nothing: (0.25 + 1 - 1) / (1 + 1 - 1) = 0.25
        (0.25, 1.0, 1.0, 0.25),
        # below the false-positive floor: (0.02 + 0.9 - 1) / 0.7 = -0.114... clipped to 0
        (0.02, 0.8, 0.9, 0.0),
        # above the sensitivity ceiling: (0.95 + 0.9 - 1) / 0.7 = 1.214... clipped to 1
        (0.95, 0.8, 0.9, 1.0),
    ],
)
def test_rogan_gladen_by_hand(raw: float, se: float, sp: float, expected: float) -> None:
    assert rogan_gladen(raw, se, sp) == pytest.approx(expected)


UNIT = st.floats(0.0, 1.0)


@given(truth=UNIT, se=UNIT, sp=UNIT)
def test_rogan_gladen_inverts_the_evaluators_error(truth: float, se: float, sp: float) -> None:
    # an evaluator with Se and Sp reports raw = Se * truth + (1 - Sp) * (1 - truth);
    # the estimator undoes exactly that whenever Se + Sp > 1
    raw = se * truth + (1 - sp) * (1 - truth)
    corrected = rogan_gladen(raw, se, sp)
    if se + sp <= 1:
        assert corrected is None
    elif se + sp - 1 > 1e-6:  # below that, float rounding in raw is amplified past any bound
        assert corrected == pytest.approx(truth, abs=1e-9 / (se + sp - 1))


@pytest.mark.parametrize(("se", "sp"), [(0.5, 0.5), (0.3, 0.6), (0.0, 0.0)])
def test_rogan_gladen_undefined_at_chance_or_worse(se: float, sp: float) -> None:
    # Se + Sp - 1 = 0, -0.1, -1: no better than a coin
    assert rogan_gladen(0.3, se, sp) is None


def test_corrected_rate_by_hand() -> None:
    # 30 of 100 flagged; 40 human labels: 10 hallucinated (8 flagged), 30 grounded (27 passed)
    # Se = 8/10 = 0.8, Sp = 27/30 = 0.9; corrected (0.30 + 0.9 - 1) / (0.8 + 0.9 - 1) = 0.2857
    result = corrected_rate(30, 100, Agreement(tp=8, fn=2, fp=3, tn=27))
    assert result.validated and result.reason == ""
    assert result.raw.value == pytest.approx(0.30)
    assert result.sensitivity.value == pytest.approx(0.8)
    assert result.specificity.value == pytest.approx(0.9)
    assert result.corrected == pytest.approx(0.2857142857)
    # Se's interval is Wilson(8, 10) (worked out above); Sp's is Wilson(27, 30)
    assert result.sensitivity.ci95 == pytest.approx((0.49016, 0.94332), abs=1e-4)
    assert result.specificity.ci95 == wilson_interval(27, 30)
    low, high = result.ci95  # type: ignore[misc]
    assert low < result.corrected < high
    # Se rests on 10 labels: the corrected interval is wider than the raw rate's Wilson one
    raw_low, raw_high = wilson_interval(30, 100)  # type: ignore[misc]
    assert high - low > raw_high - raw_low
    body = result.as_dict()
    assert body["corrected_rate"] == result.corrected
    assert body["agreement"] == {"tp": 8, "fn": 2, "fp": 3, "tn": 27}
    assert body["labels"] == 40 and body["min_labels"] == MIN_LABELS
    assert "Rogan-Gladen" in body["method"]


def test_second_case_by_hand() -> None:
    # 10 of 100 flagged; 60 labels: 20 hallucinated (18 flagged), 40 grounded (38 passed)
    # Se = 18/20 = 0.9, Sp = 38/40 = 0.95; (0.10 + 0.95 - 1) / (0.9 + 0.95 - 1) = 0.0588
    result = corrected_rate(10, 100, Agreement(tp=18, fn=2, fp=2, tn=38))
    assert result.corrected == pytest.approx(0.05 / 0.85)


def test_at_chance_is_validated_but_not_corrected() -> None:
    # Se = 10/20 = 0.5, Sp = 10/20 = 0.5: Se + Sp - 1 = 0
    result = corrected_rate(50, 100, Agreement(tp=10, fn=10, fp=10, tn=10))
    assert result.validated
    assert result.corrected is None and result.ci95 is None
    assert "no better than chance" in result.reason
    assert result.as_dict()["method"] is None


def test_too_few_labels_is_not_validated() -> None:
    # 29 labels, one short of the rule
    result = corrected_rate(30, 100, Agreement(tp=8, fn=2, fp=2, tn=17))
    assert not result.validated
    assert result.reason.startswith("not validated: 29 human label(s)")
    assert result.corrected is None and result.ci95 is None
    # the figures that exist are still shown: Se = 8/10
    assert result.sensitivity.value == pytest.approx(0.8)
    # 30 labels are enough
    assert corrected_rate(30, 100, Agreement(tp=8, fn=2, fp=2, tn=18)).validated


def test_zero_labels_and_zero_scores() -> None:
    none = corrected_rate(3, 10, Agreement(0, 0, 0, 0))
    assert not none.validated and "0 human label(s)" in none.reason
    assert none.sensitivity.value is None and none.sensitivity.ci95 is None
    empty = corrected_rate(0, 0, Agreement(0, 0, 0, 0))
    assert not empty.validated and "scored no generations" in empty.reason
    assert empty.raw.value is None
    assert empty.as_dict()["raw_ci95"] is None


def test_all_labels_of_one_kind_is_not_validated() -> None:
    # 30 labels, all hallucinated: specificity has no denominator
    result = corrected_rate(30, 100, Agreement(tp=30, fn=0, fp=0, tn=0))
    assert not result.validated and "specificity is unknown" in result.reason
    result = corrected_rate(30, 100, Agreement(tp=0, fn=0, fp=5, tn=25))
    assert not result.validated and "sensitivity is unknown" in result.reason


def test_all_positive_evaluator_and_perfect_agreement() -> None:
    # the evaluator flags everything: Se = 1, Sp = 0/30 = 0, Se + Sp - 1 = 0
    result = corrected_rate(100, 100, Agreement(tp=10, fn=0, fp=30, tn=0))
    assert result.corrected is None
    # perfect agreement: Se = Sp = 1, corrected = raw = 0.25, interval still carries the
    # uncertainty of Se and Sp measured on 10 and 30 labels
    perfect = corrected_rate(25, 100, Agreement(tp=10, fn=0, fp=0, tn=30))
    assert perfect.corrected == pytest.approx(0.25)
    assert perfect.ci95 is not None and perfect.ci95[0] < 0.25 < perfect.ci95[1]


def test_invalid_counts() -> None:
    with pytest.raises(ValueError):
        corrected_rate(5, 4, Agreement(0, 0, 0, 0))
    with pytest.raises(ValueError):
        Agreement(-1, 0, 0, 0)


def test_simulated_interval_is_deterministic_for_a_seed() -> None:
    args = (Proportion(30, 100), Proportion(8, 10), Proportion(27, 30))
    first = simulated_interval(*args, Simulation(seed=5))
    assert simulated_interval(*args, Simulation(seed=5)) == first
    assert simulated_interval(*args, Simulation(seed=6)) != first
    assert corrected_rate(30, 100, Agreement(8, 2, 3, 27)).ci95 == (
        corrected_rate(30, 100, Agreement(8, 2, 3, 27)).ci95
    )


def test_simulation_settings_are_checked() -> None:
    with pytest.raises(ValueError, match="draws"):
        Simulation(draws=0)
    with pytest.raises(ValueError, match="level"):
        Simulation(level=1.0)


def test_simulated_and_delta_intervals_agree_on_large_samples() -> None:
    # raw 300/1000, Se 160/200 = 0.8, Sp 720/800 = 0.9: corrected 0.2857 as above.
    # Delta-method variance with the unadjusted proportions:
    # [0.3*0.7/1000 + 0.2857^2 * 0.8*0.2/200 + 0.7143^2 * 0.9*0.1/800] / 0.7^2
    # = [0.00021 + 0.0000653 + 0.0000574] / 0.49 = 0.000680; sd 0.0261; half-width 0.0511
    args = (Proportion(300, 1000), Proportion(160, 200), Proportion(720, 800))
    simulated = simulated_interval(*args)
    delta = delta_interval(*args)
    assert delta is not None
    for interval in (simulated, delta):
        assert interval[0] == pytest.approx(0.2857 - 0.0511, abs=0.01)
        assert interval[1] == pytest.approx(0.2857 + 0.0511, abs=0.01)


def test_undefined_draws_only_widen_the_interval() -> None:
    # Se 4/6, Sp 20/30: Se + Sp - 1 = 0.33, but many draws fall at or below chance
    args = (Proportion(40, 100), Proportion(4, 6), Proportion(20, 30))
    low, high = simulated_interval(*args)
    assert 0.0 <= low < rogan_gladen(0.4, 4 / 6, 20 / 30) < high <= 1.0  # type: ignore[operator]
    assert high == 1.0


def test_coverage_of_the_true_rate_in_simulated_datasets() -> None:
    """Datasets drawn from a known truth: the interval holds the true rate in most of them.

    200 datasets: 400 generations with true rate 0.2, an evaluator with Se 0.85 and Sp 0.9
    (so its raw rate is 0.2*0.85 + 0.8*0.1 = 0.25), humans label a random 60 of them.
    A 95% interval should miss about 10 of 200; the raw rate's Wilson interval misses most.
    """
    rng = random.Random(2026)
    truth, se, sp = 0.2, 0.85, 0.9
    covered = raw_covered = 0
    datasets = 200
    for _ in range(datasets):
        items = []
        for _ in range(400):
            hallucinated = rng.random() < truth
            flagged = rng.random() < (se if hallucinated else 1 - sp)
            items.append((hallucinated, flagged))
        labelled = rng.sample(items, 60)
        agreement = Agreement(
            tp=sum(h and f for h, f in labelled),
            fn=sum(h and not f for h, f in labelled),
            fp=sum(f and not h for h, f in labelled),
            tn=sum(not h and not f for h, f in labelled),
        )
        result = corrected_rate(
            sum(f for _, f in items), 400, agreement, simulation=Simulation(draws=1_000)
        )
        if result.ci95 is not None and result.ci95[0] <= truth <= result.ci95[1]:
            covered += 1
        raw_low, raw_high = result.raw.ci95  # type: ignore[misc]
        raw_covered += raw_low <= truth <= raw_high
    assert covered >= 0.88 * datasets
    assert raw_covered < 0.5 * datasets

"""Quantity normalisation: the same amount written differently is the same quantity."""

from __future__ import annotations

import pytest

from tracerail.guardrails.evaluators.numbers import NumberPool, Quantity, quantities


def _one(text: str) -> tuple[str, float]:
    (q,) = quantities(text)
    return q.dim, round(q.value, 6)


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("3 hours 30 minutes", "210 minutes"),
        ("3 h 40 min", "220 minutes"),
        ("two hours and twenty minutes", "140 min"),
        ("an hour and a quarter", "75 minutes"),
        ("an hour and a half", "90 minutes"),
        ("three quarters of an hour", "45 minutes"),
        ("a quarter of an hour", "15 minutes"),
        ("eight weeks", "56 days"),
        ("0.01%", "one part in ten thousand"),
        ("two-fifths", "40%"),
        ("one in five", "20 per cent"),
        ("4 out of every 100", "4%"),
        ("half a gigabyte", "500 MB"),
        ("3 pm", "15:00"),
        ("March 1st, 2026", "2026-03-01"),
        ("1 March 2026", "01/03/2026"),
        ("31 January 2026", "2026-01-31"),
        ("twenty-five", "25"),
        ("two hundred", "200"),
        ("£1,250", "1250 pounds"),
        ("86 °F", "30 °C"),
        ("half past five", "5:30"),
        ("quarter to nine in the evening", "20:45"),
        ("a five-hour window", "5 hours"),
    ],
)
def test_equivalent_writings_normalise_to_the_same_quantity(a: str, b: str) -> None:
    dim_a, value_a = _one(a)
    dim_b, value_b = _one(b)
    assert dim_a == dim_b
    assert value_a == pytest.approx(value_b, rel=1e-3)


@pytest.mark.parametrize(
    "text",
    ["once a month", "a single key", "one of them", "£0.53 a day", "the second option"],
)
def test_articles_and_rates_are_not_extra_quantities(text: str) -> None:
    assert [q.dim for q in quantities(text) if q.dim == "time"] == []
    assert all(q.value != 1.0 for q in quantities(text))


def test_hedges_and_spans() -> None:
    text = "It takes about 230 minutes."
    (q,) = quantities(text)
    assert q.approx
    assert text[q.start : q.end] == "230 minutes"
    assert not quantities("It takes 230 minutes.")[0].approx


def test_years_and_counts() -> None:
    assert _one("completed in 1889") == ("year", 1889.0)
    assert _one("five bags") == ("count", 5.0)


def test_pool_accepts_restatements_and_rejects_changed_figures() -> None:
    pool = NumberPool(["A full recharge takes 3 hours 30 minutes.", "It costs $39 a month."])
    (restated,) = quantities("210 minutes")
    (wrong,) = quantities("230 minutes")
    (hedged_wrong,) = quantities("about 230 minutes")
    assert pool.supports(restated)
    assert not pool.supports(wrong)
    assert not pool.supports(hedged_wrong)  # 9.5% off is more than rounding
    (hedged_close,) = quantities("about 212 minutes")
    assert pool.supports(hedged_close)


def test_pool_accepts_one_arithmetic_step_only_when_asked() -> None:
    pool = NumberPool(["Twelve monthly payments of €39."])
    total = Quantity("eur", 468.0)
    assert pool.supports(total)
    assert not pool.supports(total, arithmetic=False)
    assert not pool.supports(Quantity("eur", 478.0))


def test_pool_dates_need_the_same_day_and_year() -> None:
    pool = NumberPool(["Available from 1 March 2026."])
    assert pool.supports(quantities("from March 1st, 2026")[0])
    assert pool.supports(quantities("from 1 March")[0])
    assert not pool.supports(quantities("from 1 March 2025")[0])
    assert not pool.supports(quantities("from 2 March 2026")[0])


def test_extended_pool_derives_from_the_claims_own_figures() -> None:
    pool = NumberPool(["The deposit equals one month's rent of $2,350."])
    (rent,) = quantities("$2,350")
    extended = pool.extended([rent, Quantity("usd", 100.0)])
    assert extended.supports(Quantity("usd", 2450.0))
    assert not pool.supports(Quantity("usd", 2450.0))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("10 to 15 minutes", [("time", 600.0), ("time", 900.0)]),
        ("2\u20134 business days", [("time", 172800.0), ("time", 345600.0)]),
        ("40 x 30 x 15 cm", [("length", 0.4), ("length", 0.3), ("length", 0.15)]),
    ],
)
def test_ranges_and_dimensions_share_their_unit(
    text: str, expected: list[tuple[str, float]]
) -> None:
    assert [(q.dim, pytest.approx(q.value)) for q in quantities(text)] == expected


def test_a_fraction_of_a_source_figure_is_one_step() -> None:
    pool = NumberPool(["The MAX line marks two-thirds of the 6-litre pot."])
    assert pool.supports(quantities("four litres")[0])

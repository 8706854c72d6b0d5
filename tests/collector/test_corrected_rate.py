"""The store's evaluator counts and the corrected rate they give, in the store, the model
scorecard and the API; the workload and its hand-worked figures: tests/support/
corrected_rate_data.py (Se 0.8, Sp 0.9, raw 0.30 → (0.30 + 0.9 - 1) / 0.7 = 0.2857)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from tests.support.corrected_rate_data import (
    CORRECTED_A,
    JUDGE_SHA,
    PROJECT,
    ValidationWorkload,
    populate,
    rates_by_model,
)
from tests.support.server import RunningServer
from tracerail.collector.rates import MIN_LABELS, wilson_interval
from tracerail.collector.store.clickhouse import ClickHouseStore
from tracerail.collector.store.metrics import (
    MetricsQuery,
    Window,
    hallucination_rate,
    model_scorecard,
)

WINDOW = Window.around(datetime.now(UTC) - timedelta(days=1), datetime.now(UTC))
HEURISTIC = {"evaluator": "heuristic", "version": "1.0", "prompt_sha256": "", "source": "auto"}
JUDGE = {"evaluator": "llm-judge", "version": "3", "prompt_sha256": JUDGE_SHA, "source": "judge"}


@pytest.fixture
def workload(collector: RunningServer, store: ClickHouseStore) -> Iterator[ValidationWorkload]:
    yield populate(collector, store)


def _by_model(store: ClickHouseStore, **options: Any) -> dict[str, dict[str, Any]]:
    rows = hallucination_rate(store, PROJECT, "model", WINDOW, **options)
    return {g["group"]: g for g in rows}


def test_counts_and_corrected_rate_per_model(
    workload: ValidationWorkload, store: ClickHouseStore
) -> None:
    groups = _by_model(store, validation=True)
    a = groups["model-a"]
    assert [
        {k: e[k] for k in ("evaluator", "version", "prompt_sha256", "source")}
        for e in a["evaluators"]
    ] == [HEURISTIC, JUDGE]
    heuristic, judge = a["evaluators"]
    assert a["corrected"] == heuristic and a["validated"] is True
    assert (heuristic["scored"], heuristic["flagged"]) == (100, 30)
    assert heuristic["agreement"] == {"tp": 8, "fn": 2, "fp": 3, "tn": 27}
    assert heuristic["labels"] == 40
    assert heuristic["raw_rate"] == pytest.approx(0.30)
    assert heuristic["sensitivity"] == pytest.approx(0.8)
    assert heuristic["specificity"] == pytest.approx(0.9)
    assert heuristic["sensitivity_ci95"] == pytest.approx(list(wilson_interval(8, 10)))
    assert heuristic["specificity_ci95"] == pytest.approx(list(wilson_interval(27, 30)))
    # (0.30 + 0.9 - 1) / (0.8 + 0.9 - 1) = 0.2857
    assert heuristic["corrected_rate"] == pytest.approx(CORRECTED_A)
    low, high = heuristic["corrected_ci95"]
    assert low < CORRECTED_A < high
    assert "Rogan-Gladen" in heuristic["method"]
    # the judge flagged spans 0-9: 8 labelled hallucinated, 2 grounded
    assert judge["agreement"] == {"tp": 8, "fn": 0, "fp": 2, "tn": 0}
    assert judge["validated"] is False
    assert judge["reason"] == (
        f"not validated: 10 human label(s) on this evaluator's generations; "
        f"at least {MIN_LABELS} are needed"
    )
    assert judge["corrected_rate"] is None and judge["method"] is None
    # the mixed "any" rate is as before: every generation scored
    assert (a["generations"], a["evaluated"], a["unscored"]) == (100, 100, 0)
    b = groups["model-b"]
    assert b["validated"] is False
    assert b["corrected"]["reason"].startswith("not validated: 5 human label(s)")
    # 4 flagged of 20; the 5 labels all say hallucinated: 4 tp, 1 fn
    assert b["corrected"]["agreement"] == {"tp": 4, "fn": 1, "fp": 0, "tn": 0}


def test_without_validation_the_rate_is_as_before(
    workload: ValidationWorkload, store: ClickHouseStore
) -> None:
    plain = _by_model(store)["model-a"]
    assert not {"evaluators", "corrected", "validated"} & set(plain)
    assert plain["evaluated"] == 100


def test_groups_by_model_and_day(workload: ValidationWorkload, store: ClickHouseStore) -> None:
    groups = hallucination_rate(store, PROJECT, ["model", "day"], WINDOW, validation=True)
    day = workload.at.date().isoformat()
    (a,) = [g for g in groups if g["keys"] == {"model": "model-a", "day": day}]
    assert a["corrected"]["corrected_rate"] == pytest.approx(CORRECTED_A)


def test_scorecard_carries_raw_and_corrected(
    workload: ValidationWorkload, store: ClickHouseStore
) -> None:
    card = {m["model"]: m for m in model_scorecard(store, PROJECT, MetricsQuery(WINDOW))}
    a, b = card["model-a"], card["model-b"]
    assert a["calls"] == 100
    assert a["raw_hallucination_rate"] == pytest.approx(0.30)
    assert a["corrected_hallucination_rate"] == pytest.approx(CORRECTED_A)
    assert a["corrected_hallucination_ci95"] == a["validation"]["corrected_ci95"]
    assert "Rogan-Gladen" in a["correction_method"]
    assert a["validated"] is True and a["validation"]["labels"] == 40
    assert len(a["evaluators"]) == 2
    # existing fields stay: the "any" rate takes human labels over the evaluator
    assert a["evaluated"] == 100 and a["hallucination_ci95"] is not None
    assert b["validated"] is False and b["corrected_hallucination_rate"] is None
    assert b["raw_hallucination_rate"] == pytest.approx(4 / 20)


def test_api_returns_the_corrected_rate(
    collector: RunningServer, workload: ValidationWorkload, store: ClickHouseStore
) -> None:
    body, groups = rates_by_model(collector)
    heuristic = groups["model-a"]["corrected"]
    assert heuristic["corrected_rate"] == pytest.approx(CORRECTED_A)
    # the same seeded interval as the store function gives
    direct = _by_model(store, validation=True)["model-a"]["corrected"]
    assert heuristic["corrected_ci95"] == direct["corrected_ci95"]
    assert groups["model-b"]["validated"] is False
    assert body["correction"]["min_labels"] == MIN_LABELS
    assert "Rogan-Gladen" in body["correction"]["method"]
    assert body["evaluators"] == [HEURISTIC, JUDGE]

    url = f"{collector.base_url}/api/v1/metrics/hallucination-rate"
    skipped = httpx.get(url, params={"validation": "false"}).json()
    assert skipped["evaluators"] == [] and "corrected" not in skipped["groups"][0]
    bad = httpx.get(url, params={"validation": "maybe"})
    assert 400 <= bad.status_code < 500 and "validation" in bad.text

    models = httpx.get(f"{collector.base_url}/api/v1/metrics/models").json()
    card = {m["model"]: m for m in models["models"]}
    assert card["model-a"]["corrected_hallucination_rate"] == pytest.approx(CORRECTED_A)
    assert models["evaluators"] == [HEURISTIC, JUDGE]


def _pct(value: float) -> str:
    """The report's and the dashboard's percentage format."""
    return f"{value * 100:.1f}%"


def test_compliance_report_shows_raw_corrected_and_validation(
    collector: RunningServer, workload: ValidationWorkload
) -> None:
    url = f"{collector.base_url}/api/v1/reports/compliance"
    report = httpx.get(url, params={"format": "json"}, timeout=120).json()
    card = report["model_scorecard"]
    a = next(m for m in card["models"] if m["model"] == "model-a")
    assert a["corrected_hallucination_rate"] == pytest.approx(CORRECTED_A)
    assert a["validation"]["labels"] == 40
    assert card["evaluators"] == [HEURISTIC, JUDGE]
    assert "Rogan-Gladen" in card["correction"]["method"]
    terms = {d["term"] for d in report["definitions"]}
    assert {"Corrected rate", "Not validated", "Sensitivity / specificity"} <= terms

    html = httpx.get(url, params={"format": "html"}, timeout=120).text
    table = html[html.index('id="corrected-rate-table"') : html.index('id="evaluators"')]
    row_a = table[table.index('data-model="model-a"') : table.index('data-model="model-b"')]
    low, high = a["corrected_hallucination_ci95"]
    # raw 30.0%, Se 80.0%, Sp 90.0%, corrected 28.6% with its interval
    for shown in ("30.0%", "80.0%", "90.0%", _pct(CORRECTED_A), f"{_pct(low)} to {_pct(high)}"):
        assert shown in row_a, shown
    # every evaluator of the model has its row, the headline one first
    judge_row = row_a[row_a.index('data-evaluator="llm-judge"') :]
    assert row_a.index('data-evaluator="heuristic"') < row_a.index('data-evaluator="llm-judge"')
    assert "not validated" in judge_row and "10 human label(s)" in judge_row
    row_b = table[table.index('data-model="model-b"') :]
    assert "not validated" in row_b and "5 human label(s)" in row_b
    evaluators = html[html.index('id="evaluators"') :]
    assert "llm-judge" in evaluators and JUDGE_SHA in evaluators and "heuristic" in evaluators


def test_labels_from_the_review_queue_count_and_unsure_does_not(
    collector: RunningServer, store: ClickHouseStore
) -> None:
    populate(collector, store, review_api=True)
    a = _by_model(store, validation=True)["model-a"]["corrected"]
    # the same 40 decisive labels as written directly; the 5 "unsure" ones are not labels
    assert a["agreement"] == {"tp": 8, "fn": 2, "fp": 3, "tn": 27}
    assert a["corrected_rate"] == pytest.approx(CORRECTED_A)

"""The dashboard's corrected hallucination rate in real headless Chromium (Debian ``chromium``
driven by Playwright): the figures shown are the API's, and "not validated" is said plainly.
Workload and hand-worked figures: tests/support/corrected_rate_data.py."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.support.browser import dashboard_page
from tests.support.corrected_rate_data import CORRECTED_A, JUDGE_SHA, populate
from tests.support.server import RunningServer
from tracerail.collector.store.clickhouse import ClickHouseStore

pytestmark = [pytest.mark.browser, pytest.mark.e2e, pytest.mark.slow]


@pytest.fixture
def browser_page(collector: RunningServer) -> Iterator[tuple[Any, list[str]]]:
    with dashboard_page(collector.base_url, width=1280, height=900) as opened:
        yield opened


def _pct(value: float) -> str:
    """The dashboard's format: one decimal, percent."""
    return f"{value * 100:.1f}%"


def _with_ci(value: float, ci: list[float]) -> str:
    return f"{_pct(value)} ({_pct(ci[0])} \u2013 {_pct(ci[1])})"


def test_dashboard_shows_the_apis_raw_and_corrected_rates(
    collector: RunningServer, store: ClickHouseStore, browser_page: tuple[Any, list[str]]
) -> None:
    populate(collector, store)
    page, problems = browser_page
    page.goto(collector.base_url + "/")
    row_a = page.locator('#corrected-rates-rows tr[data-group="model-a"]')
    row_a.wait_for()
    # the same range the page asks for (last 7 days, its default)
    api = httpx.get(
        f"{collector.base_url}/api/v1/metrics/hallucination-rate", params={"group_by": "model"}
    ).json()
    groups = {g["group"]: g for g in api["groups"]}
    a = groups["model-a"]["corrected"]
    assert a["corrected_rate"] == pytest.approx(CORRECTED_A)
    assert row_a.locator("td.evaluator").inner_text() == "heuristic 1.0"
    assert row_a.locator("td.raw").inner_text() == _with_ci(a["raw_rate"], a["raw_ci95"])
    assert row_a.locator("td.labels").inner_text() == "40"
    assert row_a.locator("td.se").inner_text() == _with_ci(a["sensitivity"], a["sensitivity_ci95"])
    assert row_a.locator("td.sp").inner_text() == _with_ci(a["specificity"], a["specificity_ci95"])
    corrected = row_a.locator("td.corrected").inner_text()
    assert corrected == _with_ci(a["corrected_rate"], a["corrected_ci95"])
    assert corrected.startswith("28.6% (")

    row_b = page.locator('#corrected-rates-rows tr[data-group="model-b"]')
    b = groups["model-b"]["corrected"]
    assert row_b.locator("td.raw").inner_text() == _with_ci(b["raw_rate"], b["raw_ci95"])
    text_b = row_b.locator("td.corrected").inner_text()
    assert "not validated" in text_b and "5 human label(s)" in text_b
    assert "Rogan-Gladen" in page.locator("#corrected-rates-method").inner_text()
    evaluators = page.locator("#corrected-rates-evaluators").inner_text()
    assert "heuristic 1.0" in evaluators
    assert f"llm-judge 3 (prompt sha256 {JUDGE_SHA})" in evaluators
    assert problems == []

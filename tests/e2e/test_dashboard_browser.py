"""The dashboard in real headless Chromium (Debian ``chromium`` driven by Playwright) against
the real collector, with data sent through the SDK. Screenshots go to a temp dir (printed)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

import tracerail
from tests.support.audit_data import Workload, populate
from tests.support.browser import dashboard_page, screenshot_dir
from tests.support.keys import make_keys
from tests.support.server import RunningServer
from tracerail.collector.store.clickhouse import ClickHouseStore

pytestmark = [pytest.mark.browser, pytest.mark.e2e, pytest.mark.slow]


@pytest.fixture(scope="module")
def shots() -> Path:
    return screenshot_dir("dashboard")


@pytest.fixture
def workload(collector: RunningServer) -> Iterator[Workload]:
    yield populate(collector)
    tracerail.shutdown()


@pytest.fixture
def page(collector: RunningServer) -> Iterator[tuple[Any, list[str]]]:
    with dashboard_page(
        collector.base_url, width=1280, height=900, accept_downloads=True
    ) as opened:
        yield opened


def test_dashboard_end_to_end(
    collector: RunningServer,
    store: ClickHouseStore,
    workload: Workload,
    page: tuple[Any, list[str]],
    shots: Path,
    tmp_path: Path,
) -> None:
    p, problems = page
    p.goto(collector.base_url + "/")
    # Overview: cards filled from the API, every chart drawn with data.
    p.wait_for_function("document.querySelector('#card-calls').textContent === '6'")
    assert p.text_content("#card-blocked") == "1"
    assert p.text_content("#card-hallucination") == "50.0%"
    assert "n=2" in (p.text_content("#card-hallucination-ci") or "")
    assert p.locator("#chart-volume rect.bar").count() >= 2  # calls and blocked
    assert p.locator("#chart-latency circle.point").count() >= 2
    assert p.locator("#chart-hallucination rect.band").count() >= 1
    assert p.locator("#chart-actions rect.bar").count() >= 3  # allow, flag, redact, block
    p.screenshot(path=str(shots / "1-overview.png"), full_page=True)

    # Trace explorer: search generations, open one as a span tree.
    p.click("nav button[data-tab=traces]")
    p.fill("#trace-search [name=model]", "m-b")
    p.click("#trace-search button[type=submit]")
    p.wait_for_function(
        "document.querySelectorAll('#trace-results tbody tr[data-trace]').length === 2"
    )
    email_trace, email_span = workload.spans["email"]
    p.click(f"#trace-results tr[data-trace='{email_trace}']")
    p.wait_for_selector(f"#trace-tree [data-span='{email_span}']")
    span_box = p.locator(f"#trace-tree [data-span='{email_span}']")
    badges = span_box.locator(".decision").all_text_contents()
    assert any("pii (input): redact" in b and "EMAIL_ADDRESS" in b for b in badges), badges
    assert "Provenance" in (span_box.locator(".prov").text_content() or "")
    assert "qa v2" in (span_box.locator(".prov").text_content() or "")
    p.screenshot(path=str(shots / "2-trace.png"), full_page=True)

    # Audit timeline: allow decisions only when asked; filters change the results.
    p.click("nav button[data-tab=audit]")
    p.wait_for_function("document.querySelector('#audit-totals').textContent.includes('matching')")
    events = f"{collector.base_url}/api/v1/audit/events"
    hidden = httpx.get(events, params={"limit": 1000}).json()
    assert hidden["total"] < 50 and not [e for e in hidden["events"] if e["action"] == "allow"]
    assert p.locator("#audit-results tbody tr").count() == hidden["total"]
    actions = p.locator("#audit-results tbody tr td:nth-child(6)").all_text_contents()
    assert "allow" not in actions
    p.check("#audit-filters [name=include_allow]")
    p.click("#audit-filters button[type=submit]")
    p.wait_for_function("document.querySelectorAll('#audit-results tbody tr').length === 50")
    assert not p.locator("#audit-more").is_hidden()  # the first page of 51
    p.uncheck("#audit-filters [name=include_allow]")
    p.select_option("#audit-filters [name=action]", "block")
    p.click("#audit-filters button[type=submit]")
    p.wait_for_function("document.querySelectorAll('#audit-results tbody tr').length === 2")
    kinds = p.locator("#audit-results tbody tr td:nth-child(2)").all_text_contents()
    assert sorted(kinds) == ["blocked", "guardrail"]
    assert p.locator("#audit-more").is_hidden()
    p.screenshot(path=str(shots / "3-audit.png"), full_page=True)

    # Report download: the HTML report arrives as a file.
    p.click("nav button[data-tab=report]")
    with p.expect_download() as info:
        p.click("#report-download")
    download = info.value
    target = tmp_path / download.suggested_filename
    download.save_as(target)
    today = time.strftime("%Y-%m-%d", time.gmtime())
    assert target.name.startswith("compliance-default-") and target.suffix == ".html"
    assert target.stem.endswith(f"-to-{today}")  # the last day covered, not the exclusive end
    assert "Compliance report" in target.read_text()
    p.wait_for_function(
        "document.querySelector('#report-status').textContent.includes('Downloaded')"
    )
    p.screenshot(path=str(shots / "4-report.png"), full_page=True)

    # Once keys exist, auth is on: the page shows the 401, then works with the user's key,
    # which goes along as a bearer token on every API call.
    assert problems == []  # no console errors, page errors or failed requests so far
    keys = make_keys(store, "default")
    deadline = time.monotonic() + 30
    while httpx.get(collector.base_url + "/api/v1/metrics/timeseries").status_code != 401:
        assert time.monotonic() < deadline, "auth did not turn on after keys were created"
        time.sleep(0.2)
    p.click("nav button[data-tab=overview]")
    p.wait_for_selector("#error:not([hidden])")
    assert "401" in (p.text_content("#error") or "")
    problems.clear()  # the 401s above were expected (the browser logs failed loads)
    sent: list[str | None] = []
    p.on(
        "request",
        lambda r: sent.append(r.headers.get("authorization")) if "/api/v1/" in r.url else None,
    )
    p.fill("#api-key", keys.read)
    p.press("#api-key", "Enter")
    p.wait_for_function("document.querySelector('#error').hidden")
    p.wait_for_function("document.querySelector('#card-calls').textContent === '6'")
    assert sent and all(h == f"Bearer {keys.read}" for h in sent)
    p.screenshot(path=str(shots / "5-with-key.png"), full_page=True)
    assert problems == []

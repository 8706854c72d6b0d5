"""The dashboard's Review page in real headless Chromium (Debian ``chromium`` driven by
Playwright) against the real collector: load the sample, label an item, and find the label
stored as a human score with the reviewer's id, in the audit timeline and in the audit ledger.
Screenshots go to a temp dir (printed)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.support.browser import dashboard_page, screenshot_dir
from tests.support.review_data import ReviewWorkload, populate
from tests.support.server import RunningServer
from tracerail.collector.store.clickhouse import ClickHouseStore
from tracerail.collector.store.ledger import verify

pytestmark = [pytest.mark.browser, pytest.mark.e2e, pytest.mark.slow]


@pytest.fixture
def page(collector: RunningServer) -> Iterator[tuple[Any, list[str]]]:
    with dashboard_page(collector.base_url) as opened:
        yield opened


def test_review_page_labels_an_item(
    collector: RunningServer, store: ClickHouseStore, page: tuple[Any, list[str]]
) -> None:
    workload: ReviewWorkload = populate(collector)
    shots = screenshot_dir("review")
    p, problems = page
    p.goto(collector.base_url + "/")
    p.click("nav button[data-tab=review]")
    p.fill("#review-form [name=per_stratum]", "2")
    p.select_option("#review-form [name=period]", "day")
    p.click("#review-load")
    # 3 strata (m-a on two days, m-b on one) x 2 items.
    p.wait_for_function("document.querySelectorAll('#review-items .review-item').length === 6")
    assert p.locator("#review-summary tbody tr").count() == 3
    first = p.locator("#review-items .review-item").first
    span_id = first.get_attribute("data-span")
    trace_id = first.get_attribute("data-trace")
    assert span_id and trace_id
    sent = {s for spans in workload.generations.values() for _, s in spans}
    assert span_id in sent
    # Question | sources | answer side by side, as stored (the placeholder, not a name).
    assert "<PERSON_1>" in (first.locator("pre.question").text_content() or "")
    assert (first.locator(".sources .source p").first.text_content() or "").startswith("Policy ")
    assert (first.locator("pre.answer").text_content() or "").startswith("Within ")
    assert first.locator(".review-status").text_content() == "not labelled"
    p.screenshot(path=str(shots / "1-review-queue.png"), full_page=True)

    # Labelling without a reviewer id is refused in the page; nothing is sent.
    first.locator("button[data-label=hallucinated]").click()
    p.wait_for_selector("#error:not([hidden])")
    assert "reviewer id" in (p.text_content("#error") or "")

    p.fill("#review-form [name=reviewer]", "rita")
    first.locator("textarea[name=note]").fill("says 30 days; the source says 10")
    # The label is one POST; wait for its answer (a busy machine can take a while to write the
    # score and its ledger batch) and show its body if it is refused.
    with p.expect_response(
        lambda r: r.url.endswith("/api/v1/review/labels") and r.request.method == "POST",
        timeout=60_000,
    ) as answer:
        first.locator("button[data-label=hallucinated]").click()
    assert answer.value.status == 201, answer.value.text()
    p.wait_for_function(
        f"document.querySelector(\"[data-span='{span_id}'] .review-status\")"
        ".textContent.startsWith('hallucinated · rita')"
    )
    assert "hallucinated" in (first.get_attribute("class") or "")
    p.screenshot(path=str(shots / "2-labelled.png"), full_page=True)
    assert [x for x in problems if "reviewer id" not in x] == []

    # Stored through the API: a human hallucination score of 1 with the reviewer's id.
    scores = httpx.get(
        collector.base_url + "/api/v1/scores", params={"trace_id": trace_id}, timeout=30
    ).json()["scores"]
    human = [s for s in scores if s["span_id"] == span_id and s["source"] == "human"]
    assert [(s["name"], s["value"], s["label"]) for s in human] == [
        ("hallucination", 1.0, "hallucinated")
    ]
    assert human[0]["comment"] == "says 30 days; the source says 10"
    assert human[0]["reviewer"] == "rita"
    # In the audit timeline, as a score event on that generation.
    events = httpx.get(
        collector.base_url + "/api/v1/audit/events",
        params={"kind": "score", "trace_id": trace_id},
        timeout=30,
    ).json()["events"]
    assert [e["span_id"] for e in events] == [span_id]
    # And in the audit ledger: a score row naming the reviewer; the chain verifies.
    rows = store.query(
        f"SELECT payload FROM {store.table('ledger_rows')} "
        "WHERE kind = 'score' AND span_id = {span_id:String}",
        {"span_id": span_id},
    )
    assert len(rows) == 1
    payload = json.loads(rows[0]["payload"])
    assert (payload["reviewer"], payload["label"], payload["value"]) == (
        "rita",
        "hallucinated",
        1.0,
    )
    assert verify(store).ok

    # Reloading the sample shows the stored label and counts it.
    p.click("#review-load")
    p.wait_for_function(
        "document.querySelector('#review-summary').textContent.includes('1 labelled')"
    )
    status = p.locator(f"[data-span='{span_id}'] .review-status").text_content()
    assert status == "hallucinated · rita · “says 30 days; the source says 10”"
    p.screenshot(path=str(shots / "3-reloaded.png"), full_page=True)

"""The trace explorer (waterfall + span detail, ``#trace/<id>/<span>`` URLs) in real headless
Chromium, against the real collector fed by the ``make run`` support bot (a subprocess)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support.browser import dashboard_page, screenshot_dir
from tests.support.demo import run_support_bot
from tests.support.server import RunningServer

pytestmark = [pytest.mark.browser, pytest.mark.e2e, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def shots() -> Path:
    return screenshot_dir("explorer")


@pytest.fixture
def bot_traffic(collector: RunningServer) -> dict[str, Any]:
    """The demo's support bot against the collector: the redacted and the blocked trace."""
    return run_support_bot(collector.base_url)


@pytest.fixture
def page(collector: RunningServer) -> Iterator[tuple[Any, list[str]]]:
    with dashboard_page(collector.base_url) as opened:
        yield opened


def _kv(p: Any, table: str, key: str) -> str:
    return str(p.locator(f"#span-detail .{table} tr[data-key='{key}'] td").text_content())


def test_trace_waterfall_and_span_detail(
    collector: RunningServer,
    bot_traffic: dict[str, Any],
    page: tuple[Any, list[str]],
    shots: Path,
) -> None:
    p, problems = page
    api = httpx.Client(base_url=collector.base_url, timeout=30)
    redact = bot_traffic["redact"]
    trace_id, span_id = redact["trace_id"], redact["span_id"]
    trace = api.get(f"/api/v1/traces/{trace_id}").json()
    spans = {s["span_id"]: s for s in trace["spans"]}
    generation = spans[span_id]
    assert generation["observation_kind"] == "generation"
    human = {
        "trace_id": trace_id,
        "span_id": span_id,
        "name": "hallucination",
        "value": 0,
        "label": "grounded",
        "source": "human",
        "reviewer": "rev-1",
    }
    assert api.post("/api/v1/scores", json=human).status_code == 201

    # A URL for the span: the Traces tab opens on it with the span selected.
    p.goto(f"{collector.base_url}/#trace/{trace_id}/{span_id}")
    p.wait_for_selector(f"#waterfall .wf-row.selected[data-span='{span_id}']")
    assert p.locator("#tab-traces").is_visible()

    # Waterfall: one row per span, offsets and durations equal the API's.
    rows = p.locator("#waterfall .wf-row[data-span]")
    assert rows.count() == trace["span_count"] == len(spans)
    t0 = min(s["start_time_unix_nano"] for s in spans.values())
    for i in range(rows.count()):
        row = rows.nth(i)
        span = spans[str(row.get_attribute("data-span"))]
        offset = float(str(row.get_attribute("data-offset-ms")))
        assert abs(offset - (span["start_time_unix_nano"] - t0) / 1e6) < 0.002
        assert abs(float(str(row.get_attribute("data-duration-ms"))) - span["duration_ms"]) < 0.002
        # drawn to scale: the bar's left edge is the offset's share of the trace
        style = str(row.locator(".wf-bar").get_attribute("style"))
        left = float(style.split("left:")[1].split("%")[0])
        total = float(str(p.locator("#waterfall").get_attribute("data-total-ms")))
        # offset and total are shown rounded to 0.001 ms: their share is exact to that much
        assert abs(left - offset / total * 100) <= 0.001 / total * 100 + 1e-9

    # Span detail: model, request parameters, usage as the API has them.
    assert _kv(p, "span-kv", "response model") == generation["response_model"]
    root = next(s for s in spans.values() if not s["parent_span_id"])
    assert root["user_id"] and root["session_id"]  # the turn span carries them
    assert _kv(p, "params-kv", "temperature") == "0.2"
    assert _kv(p, "params-kv", "max_tokens") == "300"
    assert _kv(p, "usage-kv", "input tokens") == str(generation["input_tokens"])
    assert _kv(p, "usage-kv", "output tokens") == str(generation["output_tokens"])
    if generation["cost_usd"] is not None:
        assert _kv(p, "usage-kv", "cost (USD)") == f"{generation['cost_usd']:.8f}"
    # Messages as stored, so redacted.
    shown_input = str(p.locator("#span-detail pre.input").text_content())
    assert "maria.garcia@example.com" not in shown_input and "Maria Garcia" not in shown_input
    assert "<EMAIL_ADDRESS" in shown_input or "<EMAIL" in shown_input
    # Guardrail decisions: entity types, action and policy version.
    guard = p.locator("#guard-table .guard-row").all_text_contents()
    pii = [row for row in guard if row.startswith("pii") and "redact" in row]
    assert pii and "PERSON" in pii[0] and "EMAIL_ADDRESS" in pii[0]
    assert redact["policy_version"] in pii[0]
    # Scores: the one just posted, with its source and reviewer.
    score_rows = p.locator("#score-table .score-row").all_text_contents()
    assert any("human" in r and "rev-1" in r for r in score_rows)
    p.screenshot(path=str(shots / "trace-generation-detail.png"), full_page=True)

    # Clicking the retrieval span changes the URL and shows its sources.
    retrieval = next(s for s in spans.values() if s["observation_kind"] == "retrieval")
    p.locator(f"#waterfall .wf-row[data-span='{retrieval['span_id']}']").click()
    p.wait_for_selector(f"#waterfall .wf-row.selected[data-span='{retrieval['span_id']}']")
    assert p.evaluate("location.hash") == f"#trace/{trace_id}/{retrieval['span_id']}"
    sources = p.locator("#source-table .source-row").all_text_contents()
    retrieved = json.loads(retrieval["output"])
    assert len(sources) == len(retrieved) >= 1
    assert sources[0].startswith(retrieved[0]["id"] + retrieved[0]["title"])
    p.screenshot(path=str(shots / "trace-retrieval-detail.png"), full_page=True)

    # The blocked injection: its generation is an error with a block decision.
    block = bot_traffic["block"]
    p.goto(f"{collector.base_url}/#trace/{block['trace_id']}/{block['span_id']}")
    p.wait_for_selector(f"#waterfall .wf-row.selected[data-span='{block['span_id']}']")
    assert "error" in str(
        p.locator(f"#waterfall .wf-row[data-span='{block['span_id']}']").get_attribute("class")
    )
    guard = p.locator("#guard-table .guard-row").all_text_contents()
    assert any(r.startswith("injection") and "block" in r for r in guard)
    p.screenshot(path=str(shots / "trace-blocked.png"), full_page=True)
    api.close()
    assert not problems, problems

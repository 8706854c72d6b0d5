"""The Sessions and Users pages in real headless Chromium against the real collector fed by the
``make run`` support bot; the numbers shown must equal the API's."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support.browser import dashboard_page, screenshot_dir
from tests.support.demo import run_support_bot
from tests.support.server import RunningServer
from tracerail import semconv

pytestmark = [pytest.mark.browser, pytest.mark.e2e, pytest.mark.slow]


@pytest.fixture(scope="module")
def shots() -> Path:
    return screenshot_dir("sessions")


@pytest.fixture
def page(collector: RunningServer) -> Iterator[tuple[Any, list[str]]]:
    with dashboard_page(collector.base_url) as opened:
        yield opened


def _cells(row: Any, cls: str) -> str:
    return str(row.locator(f"td.{cls}").text_content())


def test_session_and_users_pages(
    collector: RunningServer, page: tuple[Any, list[str]], shots: Path
) -> None:
    run_support_bot(collector.base_url)
    p, problems = page
    api = httpx.Client(base_url=collector.base_url, timeout=30)

    # A URL per session: its turns in order, as the API has them.
    session = api.get("/api/v1/sessions/conv-bob-1").json()
    p.goto(f"{collector.base_url}/#session/conv-bob-1")
    p.wait_for_selector("#session-turns tbody tr[data-trace]")
    rows = p.locator("#session-turns tbody tr[data-trace]")
    assert rows.count() == len(session["turns"]) == session["totals"]["turns"]
    for i, turn in enumerate(session["turns"]):
        row = rows.nth(i)
        assert row.get_attribute("data-trace") == turn["trace_id"]
        assert _cells(row, "in-tokens") == str(turn["input_tokens"])
        assert _cells(row, "out-tokens") == str(turn["output_tokens"])
        assert _cells(row, "cost") == f"{turn['cost_usd']:.8f}"
        assert _cells(row, "latency") == f"{turn['latency_ms']:.1f}"
    first = rows.nth(0)
    assert "redact" in _cells(first, "actions")
    question = _cells(first, "question")
    assert "shipping" in question and "maria.garcia@example.com" not in question
    p.screenshot(path=str(shots / "session.png"), full_page=True)

    # A turn opens its trace; the last turn ("thanks") was streamed: time to first token.
    last = session["turns"][-1]["trace_id"]
    rows.nth(len(session["turns"]) - 1).click()
    p.wait_for_selector("#waterfall .wf-row[data-span]")
    assert p.evaluate("location.hash") == f"#trace/{last}"
    trace = api.get(f"/api/v1/traces/{last}").json()
    generation = next(s for s in trace["spans"] if s["observation_kind"] == "generation")
    ttft = generation["attributes"][semconv.TRACERAIL_STREAM_TTFT_MS]
    p.wait_for_selector(f"#waterfall .wf-row.selected[data-span='{generation['span_id']}']")
    shown = p.locator("#span-detail .usage-kv tr[data-key='time to first token (ms)'] td")
    assert shown.text_content() == ttft

    # Users: per-user totals equal the API's.
    users = {u["user_id"]: u for u in api.get("/api/v1/users").json()["users"]}
    p.locator("nav button[data-tab='users']").click()
    p.wait_for_selector("#user-results tbody tr[data-user]")
    shown = p.locator("#user-results tbody tr[data-user]")
    assert shown.count() == len(users) == 10
    for i in range(shown.count()):
        row = shown.nth(i)
        u = users[str(row.get_attribute("data-user"))]
        assert _cells(row, "sessions") == str(u["sessions"])
        assert _cells(row, "turns") == str(u["turns"])
        assert _cells(row, "in-tokens") == str(u["input_tokens"])
        assert _cells(row, "cost") == f"{u['cost_usd']:.8f}"
    assert "block 1" in _cells(p.locator("#user-results tr[data-user='erin']"), "actions")
    p.screenshot(path=str(shots / "users.png"), full_page=True)

    # A user's row lists that user's sessions.
    p.locator("#user-results tr[data-user='bob']").click()
    p.wait_for_selector("#tab-sessions:not([hidden])")
    p.wait_for_function(
        "document.querySelectorAll('#session-results tbody tr[data-session]').length === 2"
    )
    listed = p.locator("#session-results tbody tr[data-session]")
    assert sorted(str(listed.nth(i).get_attribute("data-session")) for i in range(2)) == [
        "conv-bob-1",
        "conv-bob-2",
    ]
    api.close()
    assert not problems, problems

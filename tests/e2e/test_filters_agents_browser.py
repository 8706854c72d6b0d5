"""Overview filters, the audit log's hidden ``allow`` decisions and the agent → tool →
generation structure of a trace, in real headless Chromium against the real collector; every
number shown equals the API's for the same query. Screenshots go to a temp dir (printed)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest
from opentelemetry.trace import SpanKind, Tracer

from tests.support.browser import dashboard_page, screenshot_dir
from tests.support.demo import run_support_bot
from tests.support.otlp import protobuf_body, record_spans
from tests.support.server import RunningServer
from tracerail import semconv

pytestmark = [pytest.mark.browser, pytest.mark.e2e, pytest.mark.slow]

AGENT, TOOL, MODEL, CALL_ID = "support-agent", "lookup_order", "gpt-4o-mini", "call_7"


SHOTS = "filters"  # screenshots: a temp dir per test, printed


def _cards_show(p: Any, api: httpx.Client, **filters: str) -> dict[str, Any]:
    """Wait until the cards show the API's overview for ``filters``; check each card."""
    o: dict[str, Any] = api.get("/api/v1/metrics/timeseries", params=filters).json()["overview"]
    p.wait_for_function(
        "want => document.querySelector('#card-calls').textContent === want", arg=str(o["calls"])
    )
    assert p.text_content("#card-cost") == f"${o['cost_usd']:.4f}"
    assert p.text_content("#card-blocked") == str(o["blocked"])
    return o


def test_overview_filters_and_audit_allow(collector: RunningServer) -> None:
    run_support_bot(collector.base_url)
    api = httpx.Client(base_url=collector.base_url, timeout=60)
    with dashboard_page(collector.base_url) as (p, problems):
        _overview_and_audit(collector.base_url, api, p, problems, screenshot_dir(SHOTS))


def _overview_and_audit(
    base_url: str, api: httpx.Client, p: Any, problems: list[str], shots: Path
) -> None:
    # The filter lives in the URL: opening it shows that user's figures.
    p.goto(f"{base_url}/#overview?user=bob")
    bob = _cards_show(p, api, user="bob")
    assert p.input_value("#overview-filters [name=user]") == "bob"
    assert "user bob" in (p.text_content("#overview-filter-note") or "")
    p.screenshot(path=str(shots / "1-overview-user.png"), full_page=True)

    # A model chosen from the select (filled from the data) replaces it; the URL follows.
    models = api.get("/api/v1/metrics/dimensions").json()["models"]
    options = p.locator("#overview-filters [name=model] option").all_text_contents()
    assert options == ["all models", *models]
    p.fill("#overview-filters [name=user]", "")
    p.select_option("#overview-filters [name=model]", models[-1])
    p.click("#overview-filters button[type=submit]")
    p.wait_for_function("location.hash.includes('model=')")
    assert "user=" not in p.evaluate("location.hash")
    by_model = _cards_show(p, api, model=models[-1])
    rows = p.locator("#corrected-rates-rows tr[data-group]").all()
    assert [r.get_attribute("data-group") for r in rows] in ([], [models[-1]])
    p.screenshot(path=str(shots / "2-overview-model.png"), full_page=True)

    p.click("#overview-clear")
    p.wait_for_function("location.hash === '#overview'")
    everything = _cards_show(p, api)
    assert bob["calls"] < everything["calls"] and by_model["calls"] <= everything["calls"]
    assert p.locator("#overview-filter-note").is_hidden()

    # Audit log: no allow decisions unless asked; the totals equal the API's either way.
    events = "/api/v1/audit/events"
    hidden = api.get(events, params={"limit": 1}).json()
    shown = api.get(events, params={"limit": 1, "include_allow": "true"}).json()
    assert shown["totals"]["guardrail"] > hidden["totals"]["guardrail"]
    p.click("nav button[data-tab=audit]")
    p.wait_for_function(
        "want => document.querySelector('#audit-totals').textContent.startsWith(want)",
        arg=f"{hidden['total']} matching",
    )
    actions = p.locator("#audit-results tbody tr td:nth-child(6)").all_text_contents()
    assert actions and "allow" not in actions
    p.screenshot(path=str(shots / "3-audit-default.png"), full_page=True)
    p.check("#audit-filters [name=include_allow]")
    p.click("#audit-filters button[type=submit]")
    p.wait_for_function(
        "want => document.querySelector('#audit-totals').textContent.startsWith(want)",
        arg=f"{shown['total']} matching",
    )
    assert "allow" in p.locator("#audit-results tbody tr td:nth-child(6)").all_text_contents()
    p.screenshot(path=str(shots / "4-audit-with-allow.png"), full_page=True)
    assert problems == []


def _agent_tool_generation(tracer: Tracer) -> None:
    """An agent that calls a tool that calls a model, named as the GenAI conventions say."""
    agent_attrs = {
        semconv.GEN_AI_OPERATION_NAME: semconv.OPERATION_INVOKE_AGENT,
        semconv.GEN_AI_AGENT_NAME: AGENT,
        semconv.GEN_AI_AGENT_DESCRIPTION: "answers order questions",
    }
    tool_attrs = {
        semconv.GEN_AI_OPERATION_NAME: semconv.OPERATION_EXECUTE_TOOL,
        semconv.GEN_AI_TOOL_NAME: TOOL,
        semconv.GEN_AI_TOOL_TYPE: semconv.TOOL_TYPE_FUNCTION,
        semconv.GEN_AI_TOOL_CALL_ID: CALL_ID,
    }
    chat_attrs = {
        semconv.GEN_AI_OPERATION_NAME: semconv.OPERATION_CHAT,
        semconv.GEN_AI_PROVIDER_NAME: semconv.PROVIDER_OPENAI,
        semconv.GEN_AI_REQUEST_MODEL: MODEL,
        semconv.GEN_AI_USAGE_INPUT_TOKENS: 12,
        semconv.GEN_AI_USAGE_OUTPUT_TOKENS: 5,
    }
    with (
        tracer.start_as_current_span(f"invoke_agent {AGENT}", attributes=agent_attrs),
        tracer.start_as_current_span(f"execute_tool {TOOL}", attributes=tool_attrs),
        tracer.start_as_current_span(f"chat {MODEL}", kind=SpanKind.CLIENT, attributes=chat_attrs),
    ):
        pass


def test_trace_view_shows_agent_tool_generation(collector: RunningServer) -> None:
    spans = record_spans(_agent_tool_generation, service_name="agent-app")
    httpx.post(
        f"{collector.base_url}/v1/traces",
        content=protobuf_body(spans),
        headers={"Content-Type": "application/x-protobuf"},
    ).raise_for_status()
    trace_id = format(spans[0].context.trace_id, "032x")
    tool_span = next(s for s in spans if s.name.startswith("execute_tool"))
    tool_id = format(tool_span.context.span_id, "016x")
    with dashboard_page(collector.base_url) as (p, problems):
        _agent_tool_generation_shown(collector.base_url, p, problems, trace_id, tool_id)


def _agent_tool_generation_shown(
    base_url: str, p: Any, problems: list[str], trace_id: str, tool_id: str
) -> None:
    shots = screenshot_dir(SHOTS)

    p.goto(f"{base_url}/#trace/{trace_id}")
    p.wait_for_selector("#waterfall .wf-row[data-role='generation']")
    rows = p.locator("#waterfall .wf-row[data-span]").all()
    shown = [
        (
            r.get_attribute("data-role"),
            int(r.get_attribute("data-depth") or -1),
            r.locator(".role").text_content(),
            r.locator(".role-name").text_content(),
        )
        for r in rows
    ]
    # The nesting reads at a glance: agent, its tool one level in, the model call below that.
    assert shown == [
        ("agent", 0, "◆ agent", AGENT),
        ("tool", 1, "⚙ tool", TOOL),
        ("generation", 2, "✦ generation", MODEL),
    ]
    trace = httpx.get(f"{base_url}/api/v1/traces/{trace_id}").json()
    stored = {s["span_id"]: s for s in trace["spans"]}
    assert stored[tool_id]["operation"] == semconv.OPERATION_EXECUTE_TOOL

    # The span panel names the role and lists the tool's attributes as stored.
    p.goto(f"{base_url}/#trace/{trace_id}/{tool_id}")
    p.wait_for_selector(f"#waterfall .wf-row.selected[data-span='{tool_id}']")
    assert p.text_content("#span-detail .span-role .role") == "⚙ tool"
    assert p.text_content("#span-detail .span-role b") == TOOL
    agent_kv = "#span-detail .agent-kv tr[data-key='{}'] td"
    for key in (semconv.GEN_AI_TOOL_NAME, semconv.GEN_AI_TOOL_CALL_ID, semconv.GEN_AI_TOOL_TYPE):
        assert p.text_content(agent_kv.format(key)) == stored[tool_id]["attributes"][key]
    assert p.text_content(agent_kv.format(semconv.GEN_AI_TOOL_CALL_ID)) == CALL_ID
    assert p.text_content("#span-detail .span-kv tr[data-key='operation'] td") == "execute_tool"
    p.screenshot(path=str(shots / "5-agent-tool-generation.png"), full_page=True)
    assert problems == []

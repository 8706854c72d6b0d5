"""The ``make run`` support bot's turns as stored: an agent span over the retrieval, a tool the
model called through the OpenAI tools API, and the chat calls, with the agent's and the tool's
recorded arguments redacted like the prompts."""

from __future__ import annotations

import json
import runpy
from typing import Any

import httpx
import pytest

from tests.support.demo import ROOT, run_support_bot
from tests.support.server import RunningServer
from tracerail import semconv

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

NAME, EMAIL = "Maria Garcia", "maria.garcia@example.com"


def _order_lookups() -> int:
    """How many of the bot's scripted turns call the order tool (read from the bot itself)."""
    bot = runpy.run_path(str(ROOT / "examples" / "support_bot.py"), run_name="support_bot")
    return sum(t.order_lookup for _, _, turns in bot["conversations"]() for t in turns)


def test_the_redacted_customers_turn_is_agent_tool_generation(collector: RunningServer) -> None:
    run_support_bot(collector.base_url)
    api = httpx.Client(base_url=collector.base_url, timeout=30)
    tools = api.get("/api/v1/spans", params={"kind": "tool", "limit": 500}).json()["spans"]
    # the customer whose order had not arrived, and every escalation, looked their order up
    assert len(tools) == _order_lookups() == 7
    traces = [api.get(f"/api/v1/traces/{t['trace_id']}").json() for t in tools]
    (trace,) = [t for t in traces if "my e-mail is" in json.dumps(t)]
    spans: list[dict[str, Any]] = trace["spans"]
    assert NAME not in json.dumps(trace) and EMAIL not in json.dumps(trace)

    (agent,) = [s for s in spans if s["observation_kind"] == "agent"]
    assert agent["name"] == "invoke_agent support_agent"
    assert agent["operation"] == "invoke_agent"
    assert agent["attributes"][semconv.GEN_AI_AGENT_NAME] == "support_agent"
    recorded = json.loads(agent["input"])  # the question is recorded, redacted
    assert "<EMAIL_1>" in recorded["question"] and "shipping" in recorded["question"]

    (tool,) = [s for s in spans if s["observation_kind"] == "tool"]
    assert tool["name"] == "execute_tool lookup_order"
    assert tool["operation"] == "execute_tool"
    assert tool["attributes"][semconv.GEN_AI_TOOL_NAME] == "lookup_order"
    assert tool["parent_span_id"] == agent["span_id"]
    arguments = json.loads(tool["input"])
    assert arguments["customer"] == agent["user_id"]
    assert "<EMAIL" in arguments["query"]  # the model saw (and asked with) the redacted text
    assert json.loads(tool["output"])["status"] == "in transit"

    generations = sorted(
        (s for s in spans if s["observation_kind"] == "generation"),
        key=lambda s: s["start_time_unix_nano"],
    )
    assert len(generations) == 2
    assert all(g["parent_span_id"] == agent["span_id"] for g in generations)
    asked, answered = generations
    # the model asked for the tool; the call id it gave is the tool span's
    assert "tool_calls" in json.loads(asked["attributes"][semconv.GEN_AI_RESPONSE_FINISH_REASONS])
    assert tool["attributes"][semconv.GEN_AI_TOOL_CALL_ID] in asked["output"]
    assert asked["start_time_unix_nano"] < tool["start_time_unix_nano"]
    assert tool["start_time_unix_nano"] < answered["start_time_unix_nano"]
    assert "lookup_order" in answered["input"]  # the tool result went back to the model
    api.close()

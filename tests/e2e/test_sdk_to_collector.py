"""SDK → real OTLP exporter → collector under uvicorn → chDB → HTTP query API."""

from __future__ import annotations

import httpx
import pytest

import tracerail
from tests.support.server import RunningServer

pytestmark = pytest.mark.e2e


@pytest.fixture(autouse=True)
def _reset_sdk() -> object:
    yield
    tracerail.shutdown()


def test_observed_call_is_queryable_with_attributes(collector: RunningServer) -> None:
    tracerail.init(endpoint=collector.base_url, service_name="e2e-app")

    @tracerail.observe(kind="generation", name="chat test-model")
    def answer(question: str, *, temperature: float) -> dict[str, object]:
        return {"text": f"answer to {question}", "temperature": temperature}

    @tracerail.observe(kind="agent")
    def agent(question: str) -> dict[str, object]:
        return answer(question, temperature=0.2)

    agent("what is tracerail?")
    assert tracerail.flush()

    listed = httpx.get(f"{collector.base_url}/api/v1/spans", params={"kind": "generation"}).json()
    assert listed["count"] == 1
    span = listed["spans"][0]
    assert span["name"] == "chat test-model"
    assert span["service_name"] == "e2e-app"
    assert span["kind"] == "CLIENT"
    assert span["input"] == '{"question": "what is tracerail?", "temperature": 0.2}'
    assert span["output"] == '{"text": "answer to what is tracerail?", "temperature": 0.2}'
    assert span["attributes"]["tracerail.code.function"].endswith("answer")

    tree = httpx.get(f"{collector.base_url}/api/v1/traces/{span['trace_id']}").json()
    assert tree["span_count"] == 2
    (root,) = tree["tree"]
    assert root["name"] == "invoke_agent agent"
    assert root["observation_kind"] == "agent"
    assert [child["span_id"] for child in root["children"]] == [span["span_id"]]


def test_error_span_is_stored_with_status_and_type(collector: RunningServer) -> None:
    tracerail.init(endpoint=collector.base_url, service_name="e2e-app")

    @tracerail.observe
    def broken() -> None:
        raise KeyError("missing")

    with pytest.raises(KeyError):
        broken()
    assert tracerail.flush()
    spans = httpx.get(f"{collector.base_url}/api/v1/spans", params={"status": "ERROR"}).json()
    assert [s["name"] for s in spans["spans"]] == ["broken"]
    assert spans["spans"][0]["error_type"] == "KeyError"
    assert spans["spans"][0]["events"][0]["name"] == "exception"

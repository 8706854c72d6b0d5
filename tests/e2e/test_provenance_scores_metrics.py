"""SDK → collector: provenance in the ledger, scores (events, API, the SDK's background
evaluator), hallucination metrics."""

from __future__ import annotations

import math
from typing import Any

import httpx
import pytest
from opentelemetry import trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from typer.testing import CliRunner

import tracerail
from tests.support.server import RunningServer
from tracerail import semconv
from tracerail.collector.cli import app
from tracerail.collector.store.clickhouse import ClickHouseStore
from tracerail.collector.store.ledger import verify
from tracerail.collector.store.metrics import wilson_interval
from tracerail.provenance import Source

pytestmark = pytest.mark.e2e

DOC = "Refunds are issued within 14 days of a return being received."


def _init(collector: RunningServer) -> None:
    # A private provider: never the process-global one, which other tests' init() would reuse.
    provider = TracerProvider(resource=Resource.create({semconv.SERVICE_NAME: "bot"}))
    tracerail.init(endpoint=collector.base_url, service_name="bot", tracer_provider=provider)


@pytest.fixture(autouse=True)
def _reset_sdk() -> Any:
    yield
    tracerail.shutdown()


def _generate(model: str, answer: str, *, sources: bool, template: str = "qa") -> tuple[str, str]:
    ids: list[str] = []

    @tracerail.observe(kind="generation", name=f"chat {model}")
    def generate(question: str) -> str:
        span = trace.get_current_span()
        span.set_attribute(semconv.GEN_AI_REQUEST_MODEL, model)
        span.set_attribute(semconv.GEN_AI_PROVIDER_NAME, "acme")
        tracerail.prompt(template, 1, {"question": question})
        if sources:
            tracerail.sources([Source(id="kb-1", text=DOC)])
        context = span.get_span_context()
        ids.extend([format(context.trace_id, "032x"), format(context.span_id, "016x")])
        return answer

    generate("How long do refunds take?")
    return ids[0], ids[1]


def _populate(collector: RunningServer) -> dict[str, tuple[str, str]]:
    _init(collector)
    spans = {
        "a_grounded": _generate("m-a", "Refunds are issued within 14 days.", sources=True),
        "a_wrong": _generate("m-a", "Refunds are issued within 60 days.", sources=True),
        "a_plain1": _generate("m-a", "Hello.", sources=False),
        "a_plain2": _generate("m-a", "Hello again.", sources=False, template="chitchat"),
    }

    @tracerail.observe(kind="generation", name="chat m-b")
    def generate_b() -> str:
        trace.get_current_span().set_attribute(semconv.GEN_AI_REQUEST_MODEL, "m-b")
        tracerail.score("hallucination", True, comment="made up a policy")
        return "We refund in 2 hours."

    generate_b()
    assert tracerail.flush()
    return spans


def _post(collector: RunningServer, **body: Any) -> httpx.Response:
    return httpx.post(f"{collector.base_url}/api/v1/scores", json=body)


def test_hallucination_rate_counts_sources_and_unscored(
    collector: RunningServer, store: ClickHouseStore
) -> None:
    spans = _populate(collector)
    trace_id, span_id = spans["a_wrong"]
    # The SDK's background evaluator scored it after the call (tracerail.flush() waited for
    # it), through the scores API, naming itself: an auto score with evaluator and version.
    (auto,) = httpx.get(
        f"{collector.base_url}/api/v1/scores", params={"trace_id": trace_id}
    ).json()["scores"]
    assert (auto["span_id"], auto["name"], auto["source"]) == (span_id, "hallucination", "auto")
    assert (auto["label"], auto["evaluator"]) == ("hallucinated", "heuristic")
    assert auto["evaluator_version"] and auto["prompt_sha256"] == ""
    # A human confirms the auto verdict later, through the SDK's HTTP path.
    assert tracerail.score("hallucination", 1.0, trace_id=trace_id, span_id=span_id, source="human")
    body = httpx.get(
        f"{collector.base_url}/api/v1/metrics/hallucination-rate", params={"group_by": "model"}
    ).json()
    groups = {g["group"]: g for g in body["groups"]}
    a, b = groups["m-a"], groups["m-b"]
    assert (a["generations"], a["evaluated"], a["unscored"], a["hallucinated"]) == (4, 2, 2, 1)
    assert a["rate"] == 0.5
    assert a["ci95"] == pytest.approx(list(wilson_interval(1, 2)))
    assert a["by_source"]["auto"] == {
        "evaluated": 2,
        "hallucinated": 1,
        "rate": 0.5,
        "ci95": pytest.approx(list(wilson_interval(1, 2))),
    }
    assert a["by_source"]["human"]["evaluated"] == 1
    assert (b["generations"], b["evaluated"], b["hallucinated"], b["unscored"]) == (1, 1, 1, 0)

    by_template = httpx.get(
        f"{collector.base_url}/api/v1/metrics/hallucination-rate",
        params={"group_by": "prompt_template"},
    ).json()
    templates = {g["group"]: g for g in by_template["groups"]}
    assert templates["chitchat"]["generations"] == 1
    assert templates["chitchat"]["evaluated"] == 0
    assert templates["chitchat"]["rate"] is None

    by_model_day = httpx.get(
        f"{collector.base_url}/api/v1/metrics/hallucination-rate",
        params={"group_by": "model,day"},
    ).json()
    (a_today,) = [g for g in by_model_day["groups"] if g["keys"]["model"] == "m-a"]
    assert a_today["generations"] == 4
    assert a_today["hallucinated"] == 1
    assert len(a_today["keys"]["day"]) == 10  # YYYY-MM-DD

    card = httpx.get(f"{collector.base_url}/api/v1/metrics/models").json()["models"]
    row = next(m for m in card if m["model"] == "m-a")
    assert row["calls"] == 4
    assert row["providers"] == ["acme"]
    assert row["hallucination_rate"] == 0.5
    assert row["p95_latency_ms"] >= row["p50_latency_ms"] >= 0


def test_ledger_records_every_generation_and_verifies(
    collector: RunningServer, store: ClickHouseStore
) -> None:
    spans = _populate(collector)
    head = httpx.get(f"{collector.base_url}/api/v1/audit/ledger/head").json()
    assert head["seq"] >= 1
    assert len(head["chain_hash"]) == 64
    report = verify(store)
    assert report.ok
    # One provenance row per generation plus one per guardrail decision (the default policy
    # runs on every generation's input and output).
    kinds = store.query(
        f"SELECT kind, count() AS n FROM {store.table('ledger_rows')} GROUP BY kind"
    )
    by_kind = {row["kind"]: row["n"] for row in kinds}
    assert by_kind["provenance"] == 5
    decisions = store.query(f"SELECT count() AS n FROM {store.table('guardrail_events')}")
    assert by_kind["guardrail"] == decisions[0]["n"] > 0
    assert report.rows_checked == sum(by_kind.values())
    assert report.heads == {"default": head["chain_hash"]}
    _, span_id = spans["a_grounded"]
    payload = store.query(
        f"SELECT payload FROM {store.table('ledger_rows')} WHERE span_id = {{s:String}}",
        {"s": span_id},
    )[0]["payload"]
    assert '"template_id":"qa"' in payload
    assert "Refunds are issued" not in payload


def test_provenance_cli_checks_answer_against_stored_record(collector: RunningServer) -> None:
    spans = _populate(collector)
    trace_id, span_id = spans["a_grounded"]
    runner = CliRunner()
    base = ["provenance", "verify", "--endpoint", collector.base_url]
    ids = ["--trace-id", trace_id, "--span-id", span_id]
    good = runner.invoke(app, [*base, *ids, "--text", "Refunds are issued within 14 days."])
    assert good.exit_code == 0, good.output
    assert "match" in good.output
    bad = runner.invoke(app, [*base, *ids, "--text", "Refunds are issued within 15 days."])
    assert bad.exit_code == 1
    assert "MISMATCH" in bad.output


@pytest.mark.parametrize(
    ("change", "status", "error"),
    [
        ({"value": 1.5}, 422, "invalid_score"),
        ({"value": 0.5, "data_type": "boolean"}, 422, "invalid_score"),
        ({"data_type": "categorical"}, 422, "invalid_score"),
        ({"span_id": "0" * 15 + "1"}, 404, "unknown_span"),
        ({"trace_id": "xyz"}, 400, "invalid_parameter"),
        ({"source": "robot"}, 400, "invalid_parameter"),
        ({"value": math.inf}, 422, "invalid_score"),
    ],
)
def test_invalid_scores_are_refused(
    collector: RunningServer, change: dict[str, Any], status: int, error: str
) -> None:
    trace_id, span_id = _populate(collector)["a_plain1"]
    body = {"trace_id": trace_id, "span_id": span_id, "name": "hallucination", "value": 0.0}
    if change.get("value") == math.inf:
        response = httpx.post(
            f"{collector.base_url}/api/v1/scores",
            content=f'{{"trace_id":"{trace_id}","span_id":"{span_id}","name":"x","value":Infinity}}',
            headers={"content-type": "application/json"},
        )
    else:
        response = _post(collector, **{**body, **change})
    assert response.status_code == status, response.text
    assert response.json()["error"] == error
    listed = httpx.get(f"{collector.base_url}/api/v1/scores", params={"trace_id": trace_id})
    assert listed.json()["count"] == 0  # nothing half-written
    assert httpx.get(f"{collector.base_url}/healthz").status_code == 200


def test_hallucination_score_needs_a_generation_span(collector: RunningServer) -> None:
    _init(collector)
    ids: list[str] = []

    @tracerail.observe(kind="tool")
    def tool() -> None:
        context = trace.get_current_span().get_span_context()
        ids.extend([format(context.trace_id, "032x"), format(context.span_id, "016x")])

    tool()
    assert tracerail.flush()
    refused = _post(collector, trace_id=ids[0], span_id=ids[1], name="hallucination", value=1)
    assert refused.status_code == 422
    assert "generation" in refused.json()["detail"]
    accepted = _post(collector, trace_id=ids[0], span_id=ids[1], name="useful", value=4)
    assert accepted.status_code == 201
    assert len(accepted.json()["score_id"]) == 32


@pytest.mark.parametrize(
    "params",
    [
        {"group_by": "colour"},
        {"group_by": "model,model"},
        {"from": "2026-01-02T00:00:00Z", "to": "2026-01-01T00:00:00Z"},
        {"from": "2026-01-01T00:00:00"},
        {"threshold": "2"},
    ],
)
def test_bad_metrics_parameters_are_400(collector: RunningServer, params: dict[str, str]) -> None:
    response = httpx.get(f"{collector.base_url}/api/v1/metrics/hallucination-rate", params=params)
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_parameter"

"""The overview's filters (``service``, ``model``, ``user``, ``session``) on every metrics
route, against the ``make run`` support bot's traffic in the real collector: each filtered
figure equals the same figure counted from the stored spans, and bad filters are 400s."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.support.demo import all_spans, run_support_bot
from tests.support.server import RunningServer
from tracerail import semconv

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


def _decisions(span: dict[str, Any]) -> int:
    prefix = semconv.GUARDRAIL_SPAN_PREFIX + " "
    return sum(1 for e in span["events"] if e["name"].startswith(prefix))


def _model(span: dict[str, Any]) -> str:
    return str(span["response_model"] or span["request_model"])


def _overview(api: httpx.Client, **filters: str) -> dict[str, Any]:
    response = api.get("/api/v1/metrics/timeseries", params={"bucket": "day", **filters})
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    assert body["filters"] == {k: filters.get(k) for k in ("service", "model", "user", "session")}
    return body


def _expected(spans: list[dict[str, Any]]) -> dict[str, Any]:
    generations = [s for s in spans if s["observation_kind"] == semconv.KIND_GENERATION]
    return {
        "calls": len(generations),
        "cost_usd": sum(s["cost_usd"] or 0 for s in generations),
        "decisions": sum(_decisions(s) for s in spans),
    }


def _check(api: httpx.Client, spans: list[dict[str, Any]], **filters: str) -> dict[str, Any]:
    body = _overview(api, **filters)
    o, want = body["overview"], _expected(spans)
    assert o["calls"] == want["calls"] == sum(p["calls"] for p in body["points"]), filters
    assert o["cost_usd"] == pytest.approx(want["cost_usd"]), filters
    assert o["decisions"] == want["decisions"], filters
    card = api.get("/api/v1/metrics/models", params=filters).json()
    assert card["filters"] == body["filters"]
    assert sum(m["calls"] for m in card["models"]) == o["calls"], filters
    assert sum(m["evaluated"] for m in card["models"]) == o["evaluated"], filters
    rates = api.get("/api/v1/metrics/hallucination-rate", params=filters).json()
    assert sum(g["generations"] for g in rates["groups"]) == o["calls"], filters
    assert sum(g["evaluated"] for g in rates["groups"]) == o["evaluated"], filters
    return o


def test_each_filter_narrows_every_figure(collector: RunningServer) -> None:
    run_support_bot(collector.base_url)
    api = httpx.Client(base_url=collector.base_url, timeout=60)
    spans = all_spans(api)
    generations = [s for s in spans if s["observation_kind"] == semconv.KIND_GENERATION]
    # Human hallucination labels on three users' first answers, one of them hallucinated.
    labelled = [next(g for g in generations if g["user_id"] == u) for u in ("bob", "erin", "alice")]
    for span, value in zip(labelled, (1, 0, 0), strict=True):
        score = {
            "trace_id": span["trace_id"],
            "span_id": span["span_id"],
            "name": semconv.SCORE_HALLUCINATION,
            "value": value,
            "source": "human",
            "reviewer": "rev-1",
        }
        assert api.post("/api/v1/scores", json=score).status_code == 201
    everything = _check(api, spans)
    assert everything["calls"] > 0 and everything["decisions"] > 0
    assert (everything["evaluated"], everything["hallucinated"]) == (3, 1)

    dims = api.get("/api/v1/metrics/dimensions").json()
    assert dims["models"] == sorted({_model(s) for s in generations})
    assert dims["services"] == sorted({s["service_name"] for s in generations})
    for model in dims["models"]:
        mine = [s for s in spans if _model(s) == model]
        _check(api, mine, model=model)
    for service in dims["services"]:
        _check(api, [s for s in spans if s["service_name"] == service], service=service)

    # User and session come from spans (the hourly tables do not have them): the per-user
    # figures add up to the whole, and each equals the count over that user's spans.
    users = sorted({s["user_id"] for s in spans})
    per_user = [_check(api, [s for s in spans if s["user_id"] == u], user=u) for u in users]
    for key in ("calls", "decisions", "evaluated", "hallucinated", "blocked"):
        assert sum(o[key] for o in per_user) == everything[key], key
    erin = _check(api, [s for s in spans if s["user_id"] == "erin"], user="erin")
    assert (erin["blocked"], erin["evaluated"], erin["hallucinated"]) == (1, 1, 0)
    bob = _check(api, [s for s in spans if s["user_id"] == "bob"], user="bob")
    assert (bob["evaluated"], bob["hallucinated"], bob["hallucination_rate"]) == (1, 1, 1.0)

    session = "conv-bob-1"
    conversation = _check(api, [s for s in spans if s["session_id"] == session], session=session)
    turns = api.get(f"/api/v1/sessions/{session}").json()["totals"]
    assert conversation["cost_usd"] == pytest.approx(turns["cost_usd"])
    model = _model(next(s for s in generations if s["session_id"] == session))
    both = [s for s in spans if s["session_id"] == session and _model(s) == model]
    _check(api, both, session=session, model=model)
    # A filter nothing matches is zero everywhere, not an error.
    nobody = _check(api, [], user="nobody-at-all")
    assert nobody["hallucination_rate"] is None and nobody["blocked"] == 0


@pytest.mark.parametrize(
    ("params", "named"),
    [
        ({"user": ""}, "user"),
        ({"service": "a'b"}, "service"),
        ({"model": "x" * 201}, "model"),
        ({"session": "s;DROP TABLE spans"}, "session"),
        ({"servce": "support-bot"}, "servce"),
        ({"user": ["a", "b"]}, "user"),
    ],
)
def test_bad_filters_are_a_400_naming_them(
    collector: RunningServer, params: dict[str, Any], named: str
) -> None:
    for route in ("timeseries", "models", "hallucination-rate"):
        response = httpx.get(f"{collector.base_url}/api/v1/metrics/{route}", params=params)
        assert response.status_code == 400, (route, response.text)
        assert response.headers["content-type"].startswith("application/json")
        assert named in response.json()["detail"], (route, response.text)

"""Sessions and users in the query API, from the ``make run`` support bot's traffic
(``tracerail.user`` / ``tracerail.session`` in the bot, the real collector)."""

from __future__ import annotations

import httpx
import pytest

from tests.support.demo import all_spans, run_support_bot
from tests.support.server import RunningServer

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


def test_sessions_and_users(collector: RunningServer) -> None:
    found = run_support_bot(collector.base_url)
    api = httpx.Client(base_url=collector.base_url, timeout=30)
    spans = all_spans(api)
    # every span of a turn carries the user and the conversation
    assert spans and all(s["user_id"] and s["session_id"] for s in spans)

    users = {u["user_id"]: u for u in api.get("/api/v1/users").json()["users"]}
    assert len(users) == 10
    for user_id, row in users.items():
        mine = [s for s in spans if s["user_id"] == user_id]
        assert row["spans"] == len(mine)
        assert row["turns"] == len({s["trace_id"] for s in mine})
        assert row["sessions"] == len({s["session_id"] for s in mine}) == 2
        assert row["input_tokens"] == sum(s["input_tokens"] for s in mine)
        assert row["cost_usd"] == pytest.approx(sum(s["cost_usd"] or 0 for s in mine))
    assert users["bob"]["guardrail_actions"].get("redact", 0) >= 1
    assert users["erin"]["guardrail_actions"] == {"block": 1}

    bob = api.get("/api/v1/sessions", params={"user": "bob"}).json()["sessions"]
    assert sorted(s["session_id"] for s in bob) == ["conv-bob-1", "conv-bob-2"]

    session = api.get("/api/v1/sessions/conv-bob-1").json()
    turns = session["turns"]
    starts = [t["start_time_unix_nano"] for t in turns]
    assert starts == sorted(starts) and [t["turn"] for t in turns] == [1, 2, 3, 4]
    assert session["users"] == ["bob"]
    assert turns[0]["trace_id"] == found["redact"]["trace_id"] or any(
        t["trace_id"] == found["redact"]["trace_id"] for t in turns
    )
    assert turns[0]["guardrail_actions"].get("redact", 0) >= 1  # the name and e-mail
    assert "maria.garcia@example.com" not in str(turns[0]["input"])
    for turn in turns:
        mine = [s for s in spans if s["trace_id"] == turn["trace_id"]]
        assert turn["input_tokens"] == sum(s["input_tokens"] for s in mine)
        assert turn["cost_usd"] == pytest.approx(sum(s["cost_usd"] or 0 for s in mine))
        assert turn["hallucinated"] is None  # nothing scored yet

    # A human label makes the turn's hallucination flag.
    generation = next(
        s
        for s in spans
        if s["trace_id"] == turns[1]["trace_id"] and s["observation_kind"] == "generation"
    )
    label = {
        "trace_id": generation["trace_id"],
        "span_id": generation["span_id"],
        "name": "hallucination",
        "value": 1,
        "source": "human",
        "reviewer": "rev-1",
    }
    assert api.post("/api/v1/scores", json=label).status_code == 201
    again = api.get("/api/v1/sessions/conv-bob-1").json()
    assert again["turns"][1]["hallucinated"] is True
    assert again["turns"][1]["hallucination_by"] == "human"
    assert again["totals"]["hallucinated"] == 1

    # session and user are filters of the spans listing too
    listed = api.get("/api/v1/spans", params={"session": "conv-bob-1", "limit": 1000}).json()
    assert sorted(s["span_id"] for s in listed["spans"]) == sorted(
        s["span_id"] for s in spans if s["session_id"] == "conv-bob-1"
    )
    listed = api.get("/api/v1/spans", params={"user": "bob", "limit": 1000}).json()
    assert {s["user_id"] for s in listed["spans"]} == {"bob"}
    assert listed["count"] == users["bob"]["spans"]

    erin = api.get("/api/v1/sessions/conv-erin-1").json()["turns"]
    assert [t["guardrail_actions"] for t in erin if t["errors"]] == [{"block": 1}]
    assert api.get("/api/v1/sessions/no-such-session").status_code == 404
    api.close()

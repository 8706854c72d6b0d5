"""The audit timeline (``/api/v1/audit/events``) and its streamed export, over data sent
through the real SDK: kinds, every filter, sorting, pagination, totals, export headers, and
400s for bad input."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

import tracerail
from tests.support.audit_data import Workload, populate
from tests.support.server import RunningServer

pytestmark = pytest.mark.e2e


@pytest.fixture
def workload(collector: RunningServer) -> Iterator[Workload]:
    yield populate(collector)
    tracerail.shutdown()


def _events(collector: RunningServer, **params: Any) -> dict[str, Any]:
    params.setdefault("include_allow", "true")  # these tests check the complete timeline
    response = httpx.get(f"{collector.base_url}/api/v1/audit/events", params=params, timeout=60)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def _all_pages(collector: RunningServer, **params: Any) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    cursor = None
    while True:
        body = _events(collector, **params, **({"cursor": cursor} if cursor else {}))
        rows.extend(body["events"])
        cursor = body["next_cursor"]
        if cursor is None:
            return rows


def test_timeline_holds_every_kind_with_totals(
    collector: RunningServer, workload: Workload
) -> None:
    body = _events(collector, limit=1000)
    decisions = httpx.get(
        f"{collector.base_url}/api/v1/guardrails/events", params={"limit": 1000}
    ).json()["count"]
    assert body["totals"] == {
        "generation": workload.generations - workload.blocked,
        "blocked": workload.blocked,
        "guardrail": decisions,
        "score": workload.scores + 2,  # + the automatic groundedness scores of the two answers
    }
    assert body["total"] == sum(body["totals"].values()) == body["count"] == len(body["events"])
    times = [e["time_unix_nano"] for e in body["events"]]
    assert times == sorted(times, reverse=True)
    blocked = [e for e in body["events"] if e["kind"] == "blocked"]
    block_decisions = [
        e for e in body["events"] if e["kind"] == "guardrail" and e["action"] == "block"
    ]
    # The blocked call never ran, so its span id is known only from the decision that blocked it.
    assert [e["span_id"] for e in blocked] == [d["span_id"] for d in block_decisions]
    assert "blocked" not in workload.spans
    assert blocked[0]["action"] == "block" and "injection" in blocked[0]["detail"]
    (email,) = [
        e
        for e in body["events"]
        if e["span_id"] == workload.spans["email"][1] and e["kind"] == "generation"
    ]
    assert email["user_id"] == "bob" and email["session_id"] == "s2" and email["model"] == "m-b"
    assert "bob@example.com" not in email["input"] and "<EMAIL_1>" in email["input"]
    human = [e for e in body["events"] if e["kind"] == "score" and e["detail"].startswith("human")]
    assert sorted(e["value"] for e in human) == [0.0, 1.0]
    ascending = _events(collector, limit=1000, order="asc")["events"]
    assert [e["time_unix_nano"] for e in ascending] == sorted(times)


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"user_id": "bob"}, {"generation": 2, "blocked": 0, "guardrail": 16, "score": 0}),
        ({"session_id": "s3", "kind": "blocked,generation"}, {"generation": 1, "blocked": 1}),
        ({"model": "m-b", "kind": "generation,score"}, {"generation": 2, "score": 0}),
        (
            {"check": "pii", "action": "redact"},
            {"generation": 0, "blocked": 0, "guardrail": 1, "score": 0},
        ),
        (
            {"entity_type": "AWS_ACCESS_KEY"},
            {"generation": 0, "blocked": 0, "guardrail": 1, "score": 0},
        ),
        ({"action": "block"}, {"generation": 0, "blocked": 1, "guardrail": 1, "score": 0}),
        ({"kind": "score", "service": "support-bot"}, {"score": 4}),
        (
            {"service": "another-service"},
            {"generation": 0, "blocked": 0, "guardrail": 0, "score": 0},
        ),
        # Free text searches the stored (redacted) content: the raw address is not there...
        ({"q": "bob@example.com"}, {"generation": 0, "blocked": 0, "guardrail": 0, "score": 0}),
        # ...its placeholder is, and decisions on that span match through it.
        ({"q": "<EMAIL_1>", "kind": "generation,guardrail"}, {"generation": 1, "guardrail": 8}),
        ({"q": "REFUNDS take", "kind": "generation"}, {"generation": 1}),
        # An injection attempt in free text is only text: nothing matches, nothing breaks.
        ({"q": "' OR 1=1 --"}, {"generation": 0, "blocked": 0, "guardrail": 0, "score": 0}),
    ],
)
def test_filters(
    collector: RunningServer, workload: Workload, params: dict[str, str], expected: dict[str, int]
) -> None:
    body = _events(collector, limit=1000, **params)
    assert body["totals"] == expected
    assert body["count"] == sum(expected.values())
    if "user_id" in params:
        bob = {workload.spans["email"][1], workload.spans["secret"][1]}
        assert {e["span_id"] for e in body["events"]} == bob


def test_trace_filter_and_pagination(collector: RunningServer, workload: Workload) -> None:
    trace_id, _ = workload.spans["refund_wrong"]
    body = _events(collector, trace_id=trace_id.upper())
    assert {e["trace_id"] for e in body["events"]} == {trace_id}
    assert body["totals"]["generation"] == 1 and body["totals"]["score"] == 2

    everything = _events(collector, limit=1000)["events"]
    for order in ("desc", "asc"):
        paged = _all_pages(collector, limit=7, order=order)
        # Every row exactly once: the pages together are the unpaged result.
        assert sorted(map(json.dumps, paged)) == sorted(map(json.dumps, everything))
        times = [e["time_unix_nano"] for e in paged]
        assert times == sorted(times, reverse=order == "desc")


def _export(collector: RunningServer, **params: Any) -> httpx.Response:
    return httpx.get(f"{collector.base_url}/api/v1/audit/export", params=params, timeout=60)


def test_exports_carry_query_and_ledger_head(
    collector: RunningServer, workload: Workload, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tracerail.collector.api import audit

    monkeypatch.setattr(audit, "EXPORT_PAGE", 5)  # many pages: the export keeps paging
    head = httpx.get(f"{collector.base_url}/api/v1/audit/ledger/head").json()
    expected = _events(collector, limit=1000, user_id="bob")

    response = _export(collector, format="jsonl", user_id="bob")
    assert response.headers["content-type"].startswith("application/x-ndjson")
    assert "attachment" in response.headers["content-disposition"]
    first, *lines = response.text.splitlines()
    header = json.loads(first)
    assert header["ledger_head"]["chain_hash"] == head["chain_hash"]
    assert header["ledger_head"]["seq"] == head["seq"]
    assert header["query"]["user_id"] == "bob"
    assert header["total"] == expected["total"] == len(lines)
    rows = [json.loads(line) for line in lines]
    assert [(r["kind"], r["span_id"], r["time"]) for r in rows] == [
        (e["kind"], e["span_id"], e["time"]) for e in expected["events"]
    ]
    assert list(rows[0]) == header["columns"]

    response = _export(collector, format="csv", user_id="bob")
    assert response.headers["content-type"].startswith("text/csv")
    first, rest = response.text.split("\n", 1)
    assert first.startswith("# ")
    assert json.loads(first[2:])["ledger_head"]["chain_hash"] == head["chain_hash"]
    table = list(csv.DictReader(io.StringIO(rest)))
    assert len(table) == expected["total"]
    redacted = [r for r in table if r["kind"] == "guardrail" and r["action"] == "redact"]
    assert sorted(r["entity_types"] for r in redacted) == ["AWS_ACCESS_KEY", "EMAIL_ADDRESS"]


def _iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


NOW = datetime.now(UTC)
INJECTIONS = ("' OR '1'='1", "x'); DROP TABLE spans; --", 'a" OR 1=1', "m/**/OR/**/1", "x\\'")
BAD_REQUESTS: list[tuple[str, dict[str, Any], str]] = [
    ("events", {"from": "yesterday"}, "from"),
    ("events", {"to": "2026-13-45T00:00:00Z"}, "to"),
    ("events", {"from": "2026-01-01T00:00:00"}, "from"),
    ("events", {"from": _iso(NOW), "to": _iso(NOW - timedelta(days=1))}, "from"),
    ("events", {"from": _iso(NOW - timedelta(days=400)), "to": _iso(NOW)}, "from"),
    ("events", {"colour": "blue"}, "colour"),
    ("events", {"model": ["a", "b"]}, "model"),
    ("events", {"limit": 10_000_000}, "limit"),
    ("events", {"limit": 0}, "limit"),
    ("events", {"limit": "many"}, "limit"),
    ("events", {"cursor": "not-a-cursor"}, "cursor"),
    ("events", {"cursor": "W1sxXV0"}, "cursor"),
    ("events", {"cursor": "x" * 600}, "cursor"),
    ("events", {"kind": "everything"}, "kind"),
    ("events", {"action": "explode"}, "action"),
    ("events", {"order": "sideways"}, "order"),
    ("events", {"trace_id": "xyz"}, "trace_id"),
    ("events", {"q": "x" * 201}, "q"),
    ("events", {"q": "line\nbreak"}, "q"),
    ("export", {"format": "xlsx"}, "format"),
    ("export", {"limit": 5}, "limit"),
] + [
    (path, {name: value}, name)
    for path in ("events", "export")
    for name in (
        "service",
        "user_id",
        "session_id",
        "model",
        "check",
        "entity_type",
        "kind",
        "action",
        "trace_id",
        "order",
    )
    for value in INJECTIONS
]


def test_bad_input_is_a_json_400_naming_the_parameter(collector: RunningServer) -> None:
    for path, params, name in BAD_REQUESTS:
        response = httpx.get(f"{collector.base_url}/api/v1/audit/{path}", params=params)
        assert response.status_code == 400, (path, params, response.text)
        body = response.json()
        assert body["error"] in ("invalid_parameter", "unknown_parameter"), body
        assert body["detail"].startswith(name) or f"{name}:" in body["detail"], (params, body)
    other = httpx.get(f"{collector.base_url}/api/v1/audit/events", params={"project": "other"})
    assert other.status_code == 403 and other.json()["detail"].startswith("project")
    # A cursor is tied to its sort order.
    desc_cursor = "W10"  # base64 of an empty list: not issued by this server
    assert (
        httpx.get(
            f"{collector.base_url}/api/v1/audit/events", params={"cursor": desc_cursor}
        ).status_code
        == 400
    )
    assert _events(collector)["total"] == 0  # still up, nothing written


def _retried_spans(tracer: Any) -> None:
    from tracerail import semconv

    for i in range(6):
        with tracer.start_as_current_span(f"chat m{i}") as span:
            span.set_attribute(semconv.TRACERAIL_OBSERVATION_KIND, semconv.KIND_GENERATION)
            span.set_attribute(semconv.GEN_AI_REQUEST_MODEL, f"m{i}")
            for check in ("pii", "secrets"):
                span.add_event(
                    f"{semconv.GUARDRAIL_SPAN_PREFIX} {check}",
                    {
                        semconv.GEN_AI_GUARDRAIL_COMPONENT_NAME: check,
                        semconv.GEN_AI_GUARDRAIL_TARGET_TYPE: "input",
                        semconv.TRACERAIL_GUARDRAIL_ACTION: "allow",
                    },
                )


def test_a_retried_export_is_listed_once(collector: RunningServer) -> None:
    from tests.support.otlp import protobuf_body, record_spans

    body = protobuf_body(record_spans(_retried_spans))
    for _ in range(2):  # the acknowledgement was lost; the client sends the same spans again
        httpx.post(
            f"{collector.base_url}/v1/traces",
            content=body,
            headers={"Content-Type": "application/x-protobuf"},
        ).raise_for_status()
    totals = _events(collector)["totals"]
    assert (totals["generation"], totals["guardrail"]) == (6, 12)
    for limit in (1, 4, 5, 1000):
        rows = _all_pages(collector, limit=limit)
        assert len(rows) == 18 == len({json.dumps(r) for r in rows}), limit


def test_allow_decisions_hidden_unless_asked(collector: RunningServer, workload: Workload) -> None:
    """The events page leaves ``allow`` decisions out by default; the export keeps them."""
    url = f"{collector.base_url}/api/v1/audit/events"
    everything = _events(collector, limit=1000)
    allow = [e for e in everything["events"] if e["kind"] == "guardrail" and e["action"] == "allow"]
    assert allow, "the workload has allow decisions"
    default = httpx.get(url, params={"limit": 1000}, timeout=60).json()
    assert not [e for e in default["events"] if e["action"] == "allow"]
    assert default["totals"]["guardrail"] == everything["totals"]["guardrail"] - len(allow)
    assert default["total"] == everything["total"] - len(allow) == default["count"]
    assert default["query"]["include_allow"] is False
    # Asking for allow decisions by action shows them without the flag.
    asked = httpx.get(url, params={"limit": 1000, "action": "allow"}, timeout=60).json()
    assert asked["totals"]["guardrail"] == len(allow)
    # An export is complete unless told otherwise, and says which in its header.
    first, *lines = _export(collector, format="jsonl").text.splitlines()
    assert json.loads(first)["query"]["include_allow"] is True
    assert len(lines) == everything["total"]
    first, *lines = _export(collector, format="jsonl", include_allow="false").text.splitlines()
    assert json.loads(first)["query"]["include_allow"] is False
    assert len(lines) == default["total"]
    bad = httpx.get(url, params={"include_allow": "sometimes"}, timeout=60)
    assert bad.status_code == 400 and "include_allow" in bad.text, bad.text

"""Per-project retention through the spans TTL; erasure of a data subject."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from opentelemetry.trace import Tracer
from typer.testing import CliRunner

from tests.support.keys import Keys, bearer, make_keys
from tests.support.otlp import protobuf_body, record_spans
from tests.support.server import RunningServer, serve_in_thread
from tracerail import semconv
from tracerail.collector import create_app
from tracerail.collector.settings import Settings
from tracerail.collector.store.clickhouse import ClickHouseStore
from tracerail.collector.store.erasure import list_erasures, subject_hash
from tracerail.collector.store.ledger import verify

PROTOBUF = {"Content-Type": "application/x-protobuf"}
DAY_NS = 86_400 * 10**9


def _body(user: str, count: int = 2, *, days_ago: int = 0, secret: str = "") -> bytes:
    start = time.time_ns() - days_ago * DAY_NS

    def emit(tracer: Tracer) -> None:
        for index in range(count):
            span = tracer.start_span(
                f"call-{user}-{index}",
                start_time=start,
                attributes={semconv.USER_ID: user, semconv.TRACERAIL_INPUT: f"{secret} {user}"},
            )
            span.end(end_time=start + 1000)

    return protobuf_body(record_spans(emit))


def _post(base: str, keys: Keys, body: bytes) -> None:
    response = httpx.post(
        f"{base}/v1/traces", content=body, headers={**PROTOBUF, **bearer(keys.ingest)}
    )
    assert response.status_code == 200, response.text


def _rows(store: ClickHouseStore, where: str = "1") -> list[dict[str, object]]:
    return store.query(
        f"SELECT project, user_id, input, retention_days FROM {store.table('spans')} "
        f"WHERE {where} ORDER BY project, user_id"
    )


@pytest.fixture
def server(settings: Settings, store: ClickHouseStore) -> Iterator[RunningServer]:
    running = serve_in_thread(create_app(settings, store=store))
    yield running
    running.stop()


def test_retention_is_set_per_project_and_applied_by_ttl(
    settings: Settings, store: ClickHouseStore, server: RunningServer
) -> None:
    short, long = make_keys(store, "short"), make_keys(store, "long")
    base = server.base_url
    set_to = httpx.put(
        f"{base}/api/v1/project/retention",
        json={"retention_days": 7},
        headers=bearer(short.admin),
    )
    assert set_to.json() == {"name": "short", "retention_days": 7}
    got = httpx.get(f"{base}/api/v1/project", headers=bearer(short.read)).json()
    assert got["retention_days"] == 7
    bad = httpx.put(
        f"{base}/api/v1/project/retention",
        json={"retention_days": 0},
        headers=bearer(short.admin),
    )
    assert bad.status_code == 400
    _post(base, short, _body("recent"))
    _post(base, short, _body("old", days_ago=10))
    _post(base, long, _body("old", days_ago=10))
    store.command(f"OPTIMIZE TABLE {store.table('spans')} FINAL")  # TTL is applied on merges
    kept = {(r["project"], r["user_id"], r["retention_days"]) for r in _rows(store)}
    # 10-day-old spans outlive a 30-day retention but not a 7-day one.
    assert kept == {("short", "recent", 7), ("long", "old", settings.retention_days)}


def test_erasure_removes_only_the_subject_in_the_callers_project(
    store: ClickHouseStore, server: RunningServer
) -> None:
    alpha, beta = make_keys(store, "alpha"), make_keys(store, "beta")
    base = server.base_url
    _post(base, alpha, _body("u1", secret="s3cret-alpha"))
    _post(base, alpha, _body("u2"))
    _post(base, beta, _body("u1"))
    erased = httpx.delete(f"{base}/api/v1/subjects/u1", headers=bearer(alpha.admin))
    assert erased.status_code == 200, erased.text
    result = erased.json()
    assert result["rows_deleted"] == {"spans": 2, "scores": 0, "guardrail_events": 0}
    assert result["subject_sha256"] == subject_hash("u1")
    listed = httpx.get(f"{base}/api/v1/spans", headers=bearer(alpha.read)).json()
    assert {s["user_id"] for s in listed["spans"]} == {"u2"}
    assert [(r["project"], r["user_id"]) for r in _rows(store)] == [
        ("alpha", "u2"),
        ("alpha", "u2"),
        ("beta", "u1"),
        ("beta", "u1"),
    ]
    # The content is gone from the parts on disk, not only hidden.
    assert _rows(store, "positionCaseInsensitive(input, 's3cret-alpha') > 0") == []
    # The ledger records the erasure per span and still verifies.
    erased = store.query(
        f"SELECT span_id FROM {store.table('ledger_rows')} "
        "WHERE project = 'alpha' AND kind = 'erasure'"
    )
    assert len(erased) == 2
    assert verify(store, project="alpha").ok
    (record,) = list_erasures(store, "alpha")
    assert record["subject_sha256"] == subject_hash("u1")
    assert "u1" not in json.dumps(record, default=str).replace(subject_hash("u1"), "")


def test_cli_erase(store: ClickHouseStore, chdb_dsn: str, server: RunningServer) -> None:
    from tracerail.collector.cli import app

    _post(server.base_url, make_keys(store, "gamma"), _body("u9", count=3))
    env = {"TRACERAIL_STORAGE": chdb_dsn, "TRACERAIL_DATABASE": store.database}
    result = CliRunner().invoke(app, ["erase", "--user", "u9", "--project", "gamma"], env=env)
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["rows_deleted"]["spans"] == 3
    assert _rows(store) == []
    assert len(list_erasures(store, "gamma")) == 1


def _store_generation(store: ClickHouseStore, project: str, span_id: str, days_ago: float) -> None:
    """A generation span ``days_ago`` days before the store's clock, with a hallucination score."""
    from tracerail.collector.scores import Score, SpanInfo, append_score, empty_score_columns
    from tracerail.collector.store.hallucination_stats import write_scores

    start_ns = int((store.clock() - days_ago * 86_400) * 1e9)
    store.insert_columns(
        "spans",
        {
            "project": [project],
            "timestamp": [datetime.fromtimestamp(start_ns / 1e9, UTC)],
            "trace_id": [span_id * 2],
            "span_id": [span_id],
            "observation_kind": [semconv.KIND_GENERATION],
            "request_model": ["m"],
            "retention_days": [7],
        },
    )
    scores = empty_score_columns()
    info = SpanInfo(start_ns, semconv.KIND_GENERATION, "", "", "m", "")
    score = Score(semconv.SCORE_HALLUCINATION, 1.0, "boolean", "auto")
    append_score(scores, project, span_id * 2, span_id, score, info)
    write_scores(store, scores)


def _seen(store: ClickHouseStore, project: str) -> tuple[set[str], int, int]:
    """Span ids returned by a trace read and by the span listing; generations counted."""
    from tracerail.collector.store.metrics import Window, hallucination_rate
    from tracerail.collector.store.spans import SpanFilter, get_trace, list_spans

    traced = {
        s["span_id"] for trace in ("ab" * 16, "cd" * 16) for s in get_trace(store, project, trace)
    }
    listed, _ = list_spans(store, project, SpanFilter(), limit=100)
    assert {s["span_id"] for s in listed} == traced
    now = datetime.fromtimestamp(store.clock(), UTC)
    window = Window(now - timedelta(days=60), now + timedelta(days=1))
    fast = hallucination_rate(store, project, "model", window)
    exact = hallucination_rate(store, project, "model", window, exact=True)
    assert fast == exact
    return traced, sum(g["evaluated"] for g in fast), sum(g["hallucinated"] for g in fast)


def test_a_span_past_its_projects_retention_is_neither_returned_nor_counted(
    store: ClickHouseStore,
) -> None:
    """Retention holds at read time, as of the store's clock, whether or not TTL merged yet."""
    from tracerail.collector.store.projects import save_project

    save_project(store, "p", 7)
    _store_generation(store, "p", "ab" * 8, days_ago=5)  # inside the 7 days
    _store_generation(store, "p", "cd" * 8, days_ago=9)  # past them
    assert _seen(store, "p") == ({"ab" * 8}, 1, 1)

    # Three days later the 5-day-old span is 8 days old: past retention too.
    real = store.clock
    store.clock = lambda: real() + 3 * 86_400
    assert _seen(store, "p") == (set(), 0, 0)
    store.clock = real
    assert _seen(store, "p") == ({"ab" * 8}, 1, 1)

"""``hallucination_stats`` gives exactly the counts the scores themselves give."""

from __future__ import annotations

import math
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tracerail import semconv
from tracerail.collector.ingest import dedup_settings
from tracerail.collector.scores import Score, SpanInfo, append_score, empty_score_columns
from tracerail.collector.store.clickhouse import ClickHouseStore
from tracerail.collector.store.erasure import erase_subject
from tracerail.collector.store.hallucination_sql import bucket_sql
from tracerail.collector.store.hallucination_stats import (
    bucket,
    grid_threshold,
    rebuild,
    write_scores,
)
from tracerail.collector.store.metrics import Window, hallucination_rate

HOUR_NS = 3_600 * 10**9
# Relative to now: spans older than the default retention (30 days) are not counted.
BASE = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) - timedelta(days=3)
WINDOW = Window(BASE - timedelta(days=1), BASE + timedelta(days=3))
THRESHOLDS = (0.0, 0.29, 0.5, 0.57, 1.0)
SOURCES = st.sampled_from(semconv.SCORE_SOURCES)
VALUES = st.one_of(
    st.sampled_from([0.0, 1.0, 0.29, 0.5, 0.57, math.nextafter(0.29, 0.0)]),
    st.floats(0.0, 1.0),
)
# A write: scores for some of 6 spans; each (span, source, value).
WRITES = st.lists(st.lists(st.tuples(st.integers(0, 5), SOURCES, VALUES), max_size=6), max_size=6)


def _span(index: int) -> tuple[str, SpanInfo]:
    """Span ``index``: two models, spread over two days."""
    start_ns = int(BASE.timestamp() * 1e9) + (index % 3) * 20 * HOUR_NS
    info = SpanInfo(start_ns, semconv.KIND_GENERATION, "svc", "openai", f"model-{index % 2}", "")
    return f"{index:016x}", info


def _columns(project: str, scores: list[tuple[int, str, float]]) -> dict[str, list[Any]]:
    columns = empty_score_columns()
    for index, source, value in scores:
        span_id, info = _span(index)
        score = Score(semconv.SCORE_HALLUCINATION, value, "numeric", source)
        append_score(columns, project, "ab" * 16, span_id, score, info)
    return columns


def _both(store: ClickHouseStore, project: str, group_by: list[str], threshold: float) -> Any:
    fast = hallucination_rate(store, project, group_by, WINDOW, threshold)
    exact = hallucination_rate(store, project, group_by, WINDOW, threshold, exact=True)
    return fast, exact


@given(st.floats(0.0, 1.0), st.integers(0, 100))
def test_bucket_at_least_k_is_value_at_least_k_hundredths(value: float, k: int) -> None:
    assert (bucket(value) >= k) == (value >= k / 100)
    for near in (math.nextafter(k / 100, 0.0), k / 100, math.nextafter(k / 100, 2.0)):
        if 0.0 <= near <= 1.0:
            assert (bucket(near) >= k) == (near >= k / 100)


def test_grid_thresholds() -> None:
    assert [grid_threshold(t) for t in (0.0, 0.29, 0.5, 1.0)] == [0, 29, 50, 100]
    assert grid_threshold(0.295) is None
    assert grid_threshold(1.5) is None


def test_sql_bucket_equals_python_bucket(store: ClickHouseStore) -> None:
    values = [k / 100 for k in range(101)]
    values += [math.nextafter(v, 0.0) for v in values[1:]] + [0.123456789, 0.999999, 1e-300]
    rows = store.query(
        f"SELECT {bucket_sql('v')} AS b FROM (SELECT arrayJoin({{vs:Array(Float64)}}) AS v)",
        {"vs": values},
    )
    assert [r["b"] for r in rows] == [bucket(v) for v in values]


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(writes=WRITES)
def test_stats_equal_the_exact_count_after_any_sequence_of_writes(
    store: ClickHouseStore, writes: list[list[tuple[int, str, float]]]
) -> None:
    project = f"p{uuid.uuid4().hex[:8]}"
    for write in writes:
        write_scores(store, _columns(project, write))
    for threshold in THRESHOLDS:
        for group_by in (["model"], ["model", "day"], ["hour"]):
            fast, exact = _both(store, project, group_by, threshold)
            assert fast == exact, (threshold, group_by)


def test_a_rescore_replaces_the_old_value(store: ClickHouseStore) -> None:
    write_scores(store, _columns("p", [(0, "auto", 1.0), (1, "auto", 0.0)]))
    write_scores(store, _columns("p", [(0, "auto", 0.0), (0, "human", 1.0)]))
    (model0,) = [
        g for g in hallucination_rate(store, "p", "model", WINDOW) if g["group"] == "model-0"
    ]
    assert model0["evaluated"] == 1
    assert model0["hallucinated"] == 1  # human 1.0 wins over auto 0.0 under "any"
    assert model0["by_source"]["auto"]["hallucinated"] == 0
    assert model0["by_source"]["human"]["hallucinated"] == 1


def test_a_replayed_write_counts_once(store: ClickHouseStore) -> None:
    columns = _columns("p", [(0, "auto", 1.0), (2, "judge", 0.7)])
    token = dedup_settings("batch-1")
    write_scores(store, columns, settings=token)
    write_scores(store, columns, settings=token)
    fast, exact = _both(store, "p", ["model"], 0.5)
    assert fast == exact
    assert sum(g["evaluated"] for g in fast) == 2


def test_rebuild_and_backfill_recompute_the_same_table(store: ClickHouseStore) -> None:
    write_scores(store, _columns("p", [(i, s, (i + 1) / 7) for i in range(6) for s in ("auto",)]))
    write_scores(store, _columns("p", [(1, "human", 0.0), (3, "judge", 1.0), (1, "auto", 0.9)]))
    before = _both(store, "p", ["model", "hour"], 0.5)[0]
    table = store.table("hallucination_stats")
    incremental = store.query(
        "SELECT hour, model, source, bucket, sum(evaluated) AS n "
        f"FROM {table} GROUP BY ALL HAVING n != 0 ORDER BY ALL"
    )
    assert rebuild(store) > 0
    rebuilt = store.query(
        f"SELECT hour, model, source, bucket, evaluated AS n FROM {table} ORDER BY ALL"
    )
    assert rebuilt == incremental
    assert _both(store, "p", ["model", "hour"], 0.5)[0] == before


def test_erasure_removes_the_subjects_scores_from_the_counts(store: ClickHouseStore) -> None:
    spans: dict[str, list[Any]] = {k: [] for k in ("project", "timestamp", "trace_id", "span_id")}
    spans |= {"user_id": [], "observation_kind": [], "request_model": []}
    for index in range(4):
        span_id, info = _span(index)
        for key, value in zip(
            spans,
            (
                "p",
                datetime.fromtimestamp(info.start_ns / 1e9, UTC),
                "ab" * 16,
                span_id,
                "alice" if index < 2 else "bob",
                semconv.KIND_GENERATION,
                info.model,
            ),
            strict=True,
        ):
            spans[key].append(value)
    store.insert_columns("spans", spans)
    write_scores(store, _columns("p", [(i, "auto", 1.0) for i in range(4)]))
    erase_subject(store, "p", "alice")
    fast, exact = _both(store, "p", ["model"], 0.5)
    assert fast == exact
    assert sum(g["evaluated"] for g in fast) == 2


@pytest.mark.parametrize("threshold", [0.295, 0.5])
def test_off_grid_thresholds_use_the_scores(store: ClickHouseStore, threshold: float) -> None:
    write_scores(store, _columns("p", [(0, "auto", 0.296), (1, "auto", 0.294)]))
    hallucinated = sum(
        g["hallucinated"] for g in hallucination_rate(store, "p", "model", WINDOW, threshold)
    )
    assert hallucinated == (1 if threshold == 0.295 else 0)


def test_cli_rebuild_repairs_drifted_counts(store: ClickHouseStore, chdb_dsn: str) -> None:
    from typer.testing import CliRunner

    from tracerail.collector.cli import app

    write_scores(store, _columns("p", [(0, "auto", 1.0), (1, "human", 0.0)]))
    rescore = _columns("p", [(0, "auto", 0.0)])
    store.insert_columns("scores", rescore)  # a re-score written around write_scores (a race)
    fast, exact = _both(store, "p", ["model"], 0.5)
    assert fast != exact
    env = {"TRACERAIL_STORAGE": chdb_dsn, "TRACERAIL_DATABASE": store.database}
    result = CliRunner().invoke(app, ["collector", "rebuild-stats"], env=env)
    assert result.exit_code == 0, result.output
    assert "hallucination_stats:" in result.output
    fast, exact = _both(store, "p", ["model"], 0.5)
    assert fast == exact


def test_a_retry_after_failing_between_corrections_and_scores_counts_once(
    store: ClickHouseStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_scores(store, _columns("p", [(0, "auto", 1.0), (1, "judge", 0.2)]))
    batch = _columns("p", [(0, "auto", 0.0), (0, "human", 0.4), (1, "auto", 0.9)])
    token = dedup_settings("batch-2")
    real_insert = store.insert_columns

    def storage_fails_on_scores(table: str, *args: Any, **kwargs: Any) -> None:
        if table == "scores":
            raise ConnectionError("storage went away")
        real_insert(table, *args, **kwargs)

    count = f"SELECT count() AS n FROM {store.table('hallucination_stats')}"
    before = store.query(count)[0]["n"]
    monkeypatch.setattr(store, "insert_columns", storage_fails_on_scores)
    with pytest.raises(ConnectionError):
        write_scores(store, batch, settings=token)
    assert store.query(count)[0]["n"] > before  # corrections went in before the failure
    monkeypatch.setattr(store, "insert_columns", real_insert)
    write_scores(store, batch, settings=token)  # the WAL replay of the same batch
    fast, exact = _both(store, "p", ["model"], 0.5)
    assert fast == exact
    assert sum(g["evaluated"] for g in exact) == 2

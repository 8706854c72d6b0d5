"""Group commit: queued requests merged into one insert, still idempotent per request."""

from __future__ import annotations

import asyncio
import gzip
import threading
from pathlib import Path

import pyarrow as pa
import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from tests.support.workload import make_bodies, record_template
from tracerail.collector.ingest import IngestBatcher, IngestLimits, dedup_settings, prepare
from tracerail.collector.prepare import Batch, merge, prepare_record
from tracerail.collector.recent_ids import RecentIds
from tracerail.collector.store.clickhouse import ClickHouseStore
from tracerail.collector.wal import WriteAheadLog


def _batches(count: int, spans: int = 40, project: str = "p") -> list[Batch]:
    out = []
    for body in make_bodies(record_template(spans), count):
        request = ExportTraceServiceRequest()
        request.ParseFromString(gzip.decompress(body.data))
        out.append(prepare(request, project=project, retention_days=30))
    return out


def _counts(store: ClickHouseStore) -> dict[str, int]:
    counts = {}
    for table in ("spans", "trace_lookup", "guardrail_events", "ledger_rows", "ledger_batches"):
        counts[table] = store.query(f"SELECT count() AS n FROM {store.table(table)}")[0]["n"]
    counts["distinct spans"] = store.query(
        f"SELECT uniqExact(span_id) AS n FROM {store.table('spans')}"
    )[0]["n"]
    return counts


def test_a_merged_wal_record_replays_to_the_same_rows_and_id() -> None:
    batches = _batches(3)
    merged = merge(batches)
    replayed = prepare_record(merged.record())
    assert replayed.batch_id == merged.batch_id
    assert replayed.rows == sum(b.rows for b in batches) == merged.spans.num_rows
    assert replayed.spans.equals(merged.spans)
    assert replayed.guardrails.equals(merged.guardrails)
    assert replayed.ledger == merged.ledger
    assert merged.guardrails.num_rows > 0 and merged.ledger["row_hash"]
    assert merge(batches[:1]) is batches[0]  # a request alone keeps its own id
    with pytest.raises(ValueError):
        merge([batches[0], _batches(1, project="q")[0]])


def test_queued_requests_go_in_as_one_insert_and_resends_are_not_written(
    store: ClickHouseStore, tmp_path: Path
) -> None:
    batches = _batches(6)
    batcher = IngestBatcher(store, WriteAheadLog(tmp_path / "wal", 1 << 26))

    async def run() -> None:
        await batcher.start()
        try:
            # Queued together (with two copies of one request): one writer pass.
            await asyncio.gather(*(batcher.submit(b) for b in [*batches, batches[2]]))
            await batcher.submit(batches[4])  # re-sent after it was stored
        finally:
            await batcher.stop()

    asyncio.run(run())
    total = sum(b.rows for b in batches)
    assert batcher.stats.spans_inserted == total
    counts = _counts(store)
    assert counts["spans"] == counts["distinct spans"] == total
    assert counts["ledger_batches"] < len(batches)  # merged: fewer ledger batches than requests


def test_replay_of_a_half_written_merged_batch_stores_nothing_twice(
    store: ClickHouseStore, tmp_path: Path
) -> None:
    """Spans of a merged insert went in, then storage failed: the WAL record completes it."""
    merged = merge(_batches(4))
    store.insert_arrow("spans", merged.spans, settings=dedup_settings(merged.batch_id))
    wal = WriteAheadLog(tmp_path / "wal", 1 << 26)
    wal.append([merged.record()])
    batcher = IngestBatcher(store, wal)
    assert batcher.replay_once() == merged.rows
    assert batcher.replay_once() == 0
    counts = _counts(store)
    assert counts["spans"] == counts["distinct spans"] == merged.rows
    assert counts["guardrail_events"] == merged.guardrails.num_rows
    assert counts["ledger_rows"] == len(merged.ledger["row_hash"])
    assert counts["ledger_batches"] == 1


def test_runs_split_by_project_and_size(store: ClickHouseStore, tmp_path: Path) -> None:
    batcher = IngestBatcher(
        store, WriteAheadLog(tmp_path / "wal", 1 << 26), IngestLimits(max_batch_rows=100)
    )
    p, q = _batches(3), _batches(1, project="q")
    runs = list(batcher.merged_runs([*p[:2], *q, p[2]]))
    assert [r.batch_id for r in runs] == [
        merge(p[:2]).batch_id,
        q[0].batch_id,
        p[2].batch_id,
    ]
    assert runs[0].rows == p[0].rows + p[1].rows <= 100
    assert pa.concat_tables([r.spans for r in runs]).num_rows == 3 * p[0].rows + q[0].rows
    small = IngestBatcher(
        store, WriteAheadLog(tmp_path / "wal2", 1 << 26), IngestLimits(max_batch_rows=1)
    )
    assert len(list(small.merged_runs(p))) == 3  # a request larger than the cap goes alone


def test_a_request_resent_after_a_restart_is_not_stored_again(
    store: ClickHouseStore, tmp_path: Path
) -> None:
    batches = _batches(3)

    async def send(items: list[Batch]) -> IngestBatcher:
        batcher = IngestBatcher(store, WriteAheadLog(tmp_path / "wal", 1 << 26))
        await batcher.start()
        try:
            await asyncio.gather(*(batcher.submit(b) for b in items))
        finally:
            await batcher.stop()
        return batcher

    asyncio.run(send(batches))  # merged into one insert
    restarted = asyncio.run(send([batches[1]]))  # the exporter never got the first answer
    assert restarted.stats.spans_inserted == 0
    counts = _counts(store)
    assert counts["spans"] == counts["distinct spans"] == sum(b.rows for b in batches)


def test_recent_ids_keep_the_newest_and_survive_reopening(tmp_path: Path) -> None:
    path = tmp_path / "ids"
    ids = [f"{n:064x}" for n in range(25)]
    recent = RecentIds(path, capacity=10)
    for start in range(0, 25, 5):
        recent.add(ids[start : start + 5])
    assert len(recent) == 10 and ids[24] in recent and ids[14] not in recent
    assert len(path.read_text().splitlines()) <= 20  # rewritten, not grown without bound
    with path.open("a") as out:
        out.write("torn")  # a crash in the middle of an append
    reopened = RecentIds(path, capacity=10)
    assert [i for i in ids if i in reopened] == ids[15:]
    reopened.add([f"{99:064x}"])
    assert f"{99:064x}" in RecentIds(path, capacity=10)


class _Killed(BaseException):
    """Stands for kill -9 in the middle of an insert (nothing after it runs)."""


def _killed_after_spans(monkeypatch: pytest.MonkeyPatch, batcher: IngestBatcher) -> None:
    def spans_then_killed(batch: Batch) -> None:
        batcher.store.insert_arrow("spans", batch.spans, settings=dedup_settings(batch.batch_id))
        raise _Killed

    monkeypatch.setattr(batcher, "insert", spans_then_killed)


def _restart_and_resend(store: ClickHouseStore, wal: Path, batches: list[Batch]) -> IngestBatcher:
    async def run() -> IngestBatcher:
        batcher = IngestBatcher(store, WriteAheadLog(wal, 1 << 26))
        await batcher.start()
        try:
            await asyncio.gather(*(batcher.submit(b) for b in batches))  # the exporters retry
        finally:
            await batcher.stop()
        return batcher

    return asyncio.run(run())


def test_start_completes_a_merged_insert_a_crash_interrupted(
    store: ClickHouseStore, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """kill -9 after the spans statement of a merged insert, after the answers went out."""
    members = _batches(3)
    merged = merge(members)
    crashed = IngestBatcher(store, WriteAheadLog(tmp_path / "wal", 1 << 26))
    assert crashed._log_group(members) == [None] * 3  # logged: the exporters got 200
    _killed_after_spans(monkeypatch, crashed)
    with pytest.raises(_Killed):
        crashed.replay_once()

    restarted = _restart_and_resend(store, tmp_path / "wal", members)
    assert restarted.stats.spans_logged == 0  # the re-sends were recognised
    assert restarted.stats.spans_replayed == merged.rows  # the same run, the same token
    assert restarted.wal.is_empty()
    counts = _counts(store)
    assert counts["spans"] == counts["distinct spans"] == merged.rows
    traces = store.query(f"SELECT uniqExact(trace_id) AS n FROM {store.table('spans')}")
    assert counts["trace_lookup"] == traces[0]["n"]  # the view's rows were not doubled either
    assert counts["guardrail_events"] == merged.guardrails.num_rows
    assert counts["ledger_rows"] == len(merged.ledger["row_hash"])
    assert counts["ledger_batches"] == 1


def test_a_lone_request_interrupted_then_resent_with_others_is_stored_once(
    store: ClickHouseStore, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A request inserted alone carries its own token; re-sent after a crash together with
    others, it must not be merged with them under another token."""
    lone, *others = _batches(3)
    crashed = IngestBatcher(store, WriteAheadLog(tmp_path / "wal", 1 << 26))
    crashed._log_group([lone])
    _killed_after_spans(monkeypatch, crashed)
    with pytest.raises(_Killed):
        crashed.replay_once()

    _restart_and_resend(store, tmp_path / "wal", [*others, lone])
    counts = _counts(store)
    assert counts["spans"] == counts["distinct spans"] == lone.rows + sum(b.rows for b in others)


def test_a_request_logged_just_before_a_crash_and_resent_is_stored_once(
    store: ClickHouseStore, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """kill -9 after the WAL append, before the request's id was remembered (and before the
    answer): the exporter re-sends it; the WAL copy is the one that gets stored."""
    first, resent = _batches(2)
    crashed = IngestBatcher(store, WriteAheadLog(tmp_path / "wal", 1 << 26))

    def killed(ids: object) -> None:
        raise _Killed

    monkeypatch.setattr(crashed._durable, "add", killed)
    with pytest.raises(_Killed):
        crashed._log_group([resent])

    restarted = _restart_and_resend(store, tmp_path / "wal", [first, resent])
    assert restarted.stats.spans_logged == first.rows  # the re-send was recognised
    counts = _counts(store)
    assert counts["spans"] == counts["distinct spans"] == first.rows + resent.rows


def test_caught_up_requests_are_answered_after_their_insert(
    store: ClickHouseStore, tmp_path: Path
) -> None:
    """Nothing waiting: the answer comes after the insert, so the sender reads its spans."""
    first, second = _batches(2)
    batcher = IngestBatcher(
        store, WriteAheadLog(tmp_path / "wal", 1 << 26), IngestLimits(flush_interval_seconds=60)
    )

    async def run() -> list[int]:
        await batcher.start()
        seen = []
        try:
            for batch in (first, second):
                await batcher.submit(batch)
                seen.append(_counts(store)["spans"])
        finally:
            await batcher.stop()
        return seen

    assert asyncio.run(run()) == [first.rows, first.rows + second.rows]


def test_under_load_requests_are_answered_once_logged_and_inserted_in_bulk(
    store: ClickHouseStore, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """While an insert runs, later requests are answered from the WAL and go in together."""
    first, *later = _batches(4)
    batcher = IngestBatcher(
        store, WriteAheadLog(tmp_path / "wal", 1 << 26), IngestLimits(flush_interval_seconds=60)
    )
    release = threading.Event()
    inserted: list[int] = []
    real_insert = batcher.insert

    def slow_insert(batch: Batch) -> None:
        release.wait(timeout=60)
        real_insert(batch)
        inserted.append(batch.rows)

    monkeypatch.setattr(batcher, "insert", slow_insert)

    async def run() -> None:
        await batcher.start()
        try:
            held = asyncio.ensure_future(batcher.submit(first))  # caught up: waits for its insert
            while not batcher._flushing:
                await asyncio.sleep(0.01)
            await asyncio.gather(*(batcher.submit(b) for b in later))  # answered once logged
            assert not held.done() and inserted == []
            # In memory until inserted: the running insert and the three waiting for the next.
            assert batcher.unflushed_spans == first.rows + sum(b.rows for b in later)
            release.set()
            await held
        finally:
            await batcher.stop()

    asyncio.run(run())
    assert inserted == [first.rows, sum(b.rows for b in later)]  # the later three: one insert
    counts = _counts(store)
    assert counts["spans"] == counts["distinct spans"] == first.rows + sum(b.rows for b in later)

"""The audit ledger: rows from ingested spans, hashes, chain, and tamper detection."""

from __future__ import annotations

from typing import Any

import pytest
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.trace import SpanKind, Tracer
from typer.testing import CliRunner

from tests.support.otlp import record_spans
from tracerail import semconv
from tracerail.collector.cli import app
from tracerail.collector.ledger import (
    GENESIS,
    KIND_GUARDRAIL,
    KIND_PROVENANCE,
    erasure_row,
    merkle_root,
    row_hash,
    rows_from_columns,
)
from tracerail.collector.otlp.flatten import flatten
from tracerail.collector.store.clickhouse import ClickHouseStore
from tracerail.collector.store.ledger import LedgerWriter, read_head, verify


def _emit(tracer: Tracer, n: int) -> None:
    for i in range(n):
        with tracer.start_as_current_span("chat m", kind=SpanKind.CLIENT) as span:
            span.set_attribute(semconv.TRACERAIL_OBSERVATION_KIND, semconv.KIND_GENERATION)
            span.set_attribute(semconv.GEN_AI_REQUEST_MODEL, "gpt-x")
            span.set_attribute(semconv.TRACERAIL_PROVENANCE_ANSWER_SHA256, f"{i:064x}")
            span.set_attribute(semconv.TRACERAIL_OUTPUT, f"answer {i}")
            span.add_event(
                f"{semconv.GUARDRAIL_SPAN_PREFIX} pii",
                {
                    semconv.GEN_AI_GUARDRAIL_COMPONENT_NAME: "pii",
                    semconv.GEN_AI_GUARDRAIL_TARGET_TYPE: "output",
                    semconv.GEN_AI_GUARDRAIL_VERDICT_TYPE: "redact",
                    semconv.TRACERAIL_GUARDRAIL_POLICY_VERSION: "p-7",
                },
            )
        with tracer.start_as_current_span("plain step"):
            pass


def _columns(n: int) -> dict[str, list[Any]]:
    spans = record_spans(lambda tracer: _emit(tracer, n))
    return flatten(encode_spans(spans), project="p1", retention_days=30)


def _fill(store: ClickHouseStore, batches: int = 3, per_batch: int = 2) -> LedgerWriter:
    writer = LedgerWriter(store)
    for _ in range(batches):
        writer.append(rows_from_columns(_columns(per_batch)))
    return writer


def _mutate(store: ClickHouseStore, sql: str) -> None:
    store.client.command(sql.format(db=f"`{store.database}`") + " SETTINGS mutations_sync = 2")


def test_rows_cover_generations_and_guardrail_events_only() -> None:
    rows = rows_from_columns(_columns(2))
    assert [r.kind for r in rows] == [
        KIND_PROVENANCE,
        KIND_GUARDRAIL,
        KIND_PROVENANCE,
        KIND_GUARDRAIL,
    ]
    assert all(r.row_hash == row_hash(r.payload) for r in rows)
    assert '"verdict":"redact"' in rows[1].payload
    assert '"policy_version":"p-7"' in rows[1].payload
    assert "answer 0" not in rows[0].payload  # hashes only, never the stored text
    assert '"answer_sha256":"' + f"{0:064x}" in rows[0].payload


def test_merkle_root_rfc6962_shape() -> None:
    leaves = [row_hash(str(i)) for i in range(3)]
    assert merkle_root(leaves) != merkle_root(list(reversed(leaves)))
    assert merkle_root(leaves) != merkle_root(leaves[:2])
    assert len(merkle_root([])) == 64


def test_untouched_ledger_verifies_and_head_matches(store: ClickHouseStore) -> None:
    writer = _fill(store)
    report = verify(store)
    assert report.ok, report.first_break
    assert (report.batches_checked, report.rows_checked) == (3, 12)
    head = read_head(store, "p1")
    assert head.seq == 3
    assert report.heads == {"p1": head.chain_hash} == {"p1": writer.head("p1").chain_hash}
    assert head.chain_hash != GENESIS


def test_erasure_rows_append_to_the_chain(store: ClickHouseStore) -> None:
    writer = _fill(store, batches=1)
    writer.append([erasure_row("p1", "ab" * 16, "cd" * 8, erased_at_ns=1, reason="gdpr art. 17")])
    assert verify(store).ok
    assert read_head(store, "p1").seq == 2


@pytest.mark.parametrize(
    ("mutation", "seq", "reason"),
    [
        pytest.param(
            "ALTER TABLE {db}.ledger_rows UPDATE payload = replace(payload, 'redact', 'allow') "
            "WHERE batch_id = (SELECT batch_id FROM {db}.ledger_batches WHERE seq = 2) "
            "AND row_index = 1",
            2,
            "payload does not match",
            id="tampered-row",
        ),
        pytest.param(
            "ALTER TABLE {db}.ledger_rows DELETE "
            "WHERE batch_id = (SELECT batch_id FROM {db}.ledger_batches WHERE seq = 2) "
            "AND row_index = 0",
            2,
            "3 rows, header says 4",
            id="deleted-row",
        ),
    ],
)
def test_changed_row_is_detected(
    store: ClickHouseStore, mutation: str, seq: int, reason: str
) -> None:
    _fill(store)
    _mutate(store, mutation)
    report = verify(store)
    assert report.first_break is not None
    assert report.first_break.seq == seq
    assert reason in report.first_break.reason
    assert report.batches_checked == seq - 1


def test_tampered_row_with_recomputed_hash_breaks_the_merkle_root(store: ClickHouseStore) -> None:
    _fill(store)
    _mutate(
        store,
        "ALTER TABLE {db}.ledger_rows UPDATE payload = replace(payload, 'redact', 'allow'), "
        "row_hash = lower(hex(SHA256(replace(payload, 'redact', 'allow')))) "
        "WHERE batch_id = (SELECT batch_id FROM {db}.ledger_batches WHERE seq = 3) "
        "AND row_index = 3",
    )
    report = verify(store)
    assert report.first_break is not None
    assert (report.first_break.seq, report.first_break.reason) == (
        3,
        "Merkle root does not match the rows",
    )


def test_reordered_batches_are_detected(store: ClickHouseStore) -> None:
    _fill(store)
    table = store.table("ledger_batches")
    rows = store.query(f"SELECT * FROM {table} ORDER BY seq")
    swapped = {2: 3, 3: 2}
    _mutate(store, "ALTER TABLE {db}.ledger_batches DELETE WHERE seq IN (2, 3)")
    moved = [{**r, "seq": swapped[r["seq"]]} for r in rows if r["seq"] in swapped]
    store.insert_columns("ledger_batches", {k: [r[k] for r in moved] for k in moved[0]})
    report = verify(store)
    assert report.first_break is not None
    assert report.first_break.seq == 2
    assert "does not link to the previous batch" in report.first_break.reason


def test_deleted_batch_is_detected(store: ClickHouseStore) -> None:
    _fill(store)
    _mutate(store, "ALTER TABLE {db}.ledger_batches DELETE WHERE seq = 2")
    report = verify(store)
    assert report.first_break is not None
    assert report.first_break.reason == "expected batch 2 here, found batch 3"
    assert report.uncommitted_rows == 0  # stops at the break before counting


def test_window_verifies_from_the_middle_of_the_chain(store: ClickHouseStore) -> None:
    _fill(store)
    second = store.query(f"SELECT created_at FROM {store.table('ledger_batches')} WHERE seq = 2")[
        0
    ]["created_at"]
    report = verify(store, project="p1", start=second)
    assert report.ok
    assert report.batches_checked == 2


def _cli(store: ClickHouseStore, *args: str) -> Any:
    return CliRunner().invoke(
        app, ["audit", "verify", "--storage", store.dsn, "--database", store.database, *args]
    )


def test_cli_exits_zero_on_intact_and_one_on_tampered_ledger(store: ClickHouseStore) -> None:
    _fill(store)
    head = read_head(store, "p1").chain_hash
    ok = _cli(store, "--project", "p1", "--expect-head", head)
    assert ok.exit_code == 0, ok.output
    assert "checked 3 batches, 12 rows" in ok.output
    assert "ledger verified" in ok.output
    assert _cli(store, "--expect-head", "f" * 64).exit_code == 1
    _mutate(store, "ALTER TABLE {db}.ledger_rows DELETE WHERE row_index = 2")
    bad = _cli(store)
    assert bad.exit_code == 1
    assert "TAMPERED: project p1 batch 1" in bad.output


@pytest.mark.parametrize("args", [["--from", "not-a-date"]])
def test_cli_rejects_bad_options(store: ClickHouseStore, args: list[str]) -> None:
    assert _cli(store, *args).exit_code == 2

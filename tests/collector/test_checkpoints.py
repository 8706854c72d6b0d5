"""Signed ledger checkpoints: `audit checkpoint`, `audit verify` against the table and the sink,
and the tampering the hash chain alone cannot show (a rebuilt chain, a rolled-back chain)."""

from __future__ import annotations

import base64
import json
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from pydantic import SecretStr
from typer.testing import CliRunner

from tests.collector.test_ledger import _fill, _mutate
from tests.support.server import RunningServer, serve_in_thread
from tracerail.collector import create_app
from tracerail.collector.checkpoints import (
    Checkpointer,
    DirectorySink,
    Ed25519Signer,
    checkpoint_now,
)
from tracerail.collector.cli import app
from tracerail.collector.ledger import BatchHeader, merkle_root, row_hash
from tracerail.collector.settings import Settings
from tracerail.collector.store import checkpoints as stored
from tracerail.collector.store.clickhouse import ClickHouseStore
from tracerail.collector.store.ledger import LedgerWriter, verify
from tracerail.evidence import KeyRing


@pytest.fixture
def key_file(tmp_path: Path) -> Path:
    path = tmp_path / "signing.pem"
    result = CliRunner().invoke(app, ["audit", "keygen", "-o", str(path)])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["private_key_file"] == str(path)
    assert path.stat().st_mode & 0o777 == 0o600
    return path


def keyed_settings(settings: Settings, signer: Ed25519Signer, sink: Path, **more: Any) -> Settings:
    """``settings`` with ``signer``'s key (as the environment would give it) and ``sink``."""
    key = SecretStr(base64.b64encode(signer.seed()).decode())
    return settings.model_copy(update={"checkpoint_key": key, "checkpoint_dir": sink, **more})


def _run(store: ClickHouseStore, sink: Path, *args: str) -> Any:
    return CliRunner().invoke(
        app,
        [
            "audit",
            *args,
            "--storage",
            store.dsn,
            "--database",
            store.database,
            "--checkpoint-dir",
            str(sink),
        ],
    )


def _checkpoint(store: ClickHouseStore, sink: Path, key_file: Path) -> None:
    result = _run(store, sink, "checkpoint", "--key-file", str(key_file))
    assert result.exit_code == 0, result.output
    assert "1 checkpoint(s) written" in result.output


def _rebuild(store: ClickHouseStore) -> None:
    """What an operator with write access can do: rewrite a row and re-hash everything after."""
    db = f"`{store.database}`"
    rows = store.query(f"SELECT * FROM {db}.ledger_rows ORDER BY batch_id, row_index")
    batches = store.query(
        f"SELECT *, toUnixTimestamp64Nano(created_at) AS ns FROM {db}.ledger_batches ORDER BY seq"
    )
    seq2 = batches[1]["batch_id"]
    for row in rows:
        if row["batch_id"] == seq2 and row["row_index"] == 1:
            row["payload"] = row["payload"].replace("redact", "allow")
            row["row_hash"] = row_hash(row["payload"])
    prev = batches[0]["prev_hash"]
    for batch in batches:
        hashes = [r["row_hash"] for r in rows if r["batch_id"] == batch["batch_id"]]
        batch["merkle_root"] = merkle_root(hashes)
        header = BatchHeader(
            "p1", batch["seq"], batch["batch_id"], batch["ns"], len(hashes), batch["merkle_root"]
        )
        batch["prev_hash"], batch["chain_hash"] = prev, header.chain_hash(prev)
        prev = batch["chain_hash"]
        batch["created_at"] = batch.pop("ns")  # nanoseconds (the datetime has microseconds)
    for table, data in (("ledger_rows", rows), ("ledger_batches", batches)):
        store.client.command(f"TRUNCATE TABLE {db}.{table}")
        store.insert_columns(table, {k: [r[k] for r in data] for k in data[0]})


def test_verify_passes_on_a_chain_that_grew_after_the_checkpoint(
    store: ClickHouseStore, tmp_path: Path, key_file: Path
) -> None:
    writer = _fill(store)
    _checkpoint(store, tmp_path / "sink", key_file)
    _fill(store, batches=1)  # a new writer reads the head: batch 4
    assert writer.head("p1").seq == 3
    files = list((tmp_path / "sink").glob(f"{store.database}/p1/*.json"))
    assert len(files) == 1
    ring = KeyRing.load(tmp_path / "sink" / store.database / "keys.json")
    assert [k.key_id for k in ring.keys] == [Ed25519Signer.from_text(key_file.read_text()).key_id]
    result = _run(store, tmp_path / "sink", "verify")
    assert result.exit_code == 0, result.output
    assert "checked 1 signed checkpoint(s)" in result.output
    assert "ledger verified" in result.output


def test_rebuilt_chain_passes_the_hash_chain_but_fails_the_checkpoint(
    store: ClickHouseStore, tmp_path: Path, key_file: Path
) -> None:
    _fill(store)
    _checkpoint(store, tmp_path / "sink", key_file)
    _rebuild(store)
    assert verify(store).ok  # the chain alone cannot tell
    result = _run(store, tmp_path / "sink", "verify")
    assert result.exit_code == 1
    assert "TAMPERED: REBUILT: project p1 checkpoint of batch 3" in result.output


def test_rolled_back_chain_is_named(store: ClickHouseStore, tmp_path: Path, key_file: Path) -> None:
    _fill(store)
    _checkpoint(store, tmp_path / "sink", key_file)
    last = store.query(f"SELECT batch_id FROM {store.table('ledger_batches')} WHERE seq = 3")
    _mutate(store, "ALTER TABLE {db}.ledger_batches DELETE WHERE seq = 3")
    _mutate(
        store, f"ALTER TABLE {{db}}.ledger_rows DELETE WHERE batch_id = '{last[0]['batch_id']}'"
    )
    _mutate(store, "ALTER TABLE {db}.ledger_checkpoints DELETE WHERE 1")  # the sink still has it
    assert verify(store).ok
    result = _run(store, tmp_path / "sink", "verify", "--json")
    assert result.exit_code == 1
    body = json.loads(result.output)
    assert [p["kind"] for p in body["checkpoints"]["problems"]] == ["rolled back"]
    assert "the chain ends at batch 2" in body["checkpoints"]["problems"][0]["detail"]
    assert any("not in the database" in n for n in body["checkpoints"]["notes"])


def test_edited_checkpoint_fails_its_signature(
    store: ClickHouseStore, tmp_path: Path, key_file: Path
) -> None:
    _fill(store)
    _checkpoint(store, tmp_path / "sink", key_file)
    _mutate(store, "ALTER TABLE {db}.ledger_checkpoints DELETE WHERE 1")
    (path,) = (tmp_path / "sink").glob("*/p1/*.json")
    data = json.loads(path.read_text())
    path.chmod(0o644)
    path.write_text(json.dumps({**data, "seq": 2}))
    result = _run(store, tmp_path / "sink", "verify")
    assert result.exit_code == 1
    assert "TAMPERED: BAD SIGNATURE: project p1 checkpoint of batch 2" in result.output


def test_rotated_keys_each_verify_in_their_own_period(
    store: ClickHouseStore, tmp_path: Path
) -> None:
    _fill(store, batches=1)
    sink = DirectorySink(tmp_path / "sink" / store.database)
    first, second = Ed25519Signer.generate(), Ed25519Signer.generate()
    checkpoint_now(store, first, sink)
    _fill(store, batches=1)
    checkpoint_now(store, second, sink)
    ring = KeyRing.load(sink.keyring_path)
    assert [k.key_id for k in ring.keys] == [first.key_id, second.key_id]
    assert ring.keys[0].valid_until_ns == ring.keys[1].valid_from_ns
    assert _run(store, tmp_path / "sink", "verify").exit_code == 0
    # The retired key signing again: refused by the ring the sink kept (its period is over).
    done = checkpoint_now(store, first, DirectorySink(tmp_path / "elsewhere"))
    stored.insert(store, done[0])
    result = _run(store, tmp_path / "sink", "verify")
    assert result.exit_code == 1
    assert "KEY NOT VALID WHEN SIGNED" in result.output


def test_schedule_signs_heads_in_the_background(store: ClickHouseStore, tmp_path: Path) -> None:
    _fill(store, batches=1)
    sink = DirectorySink(tmp_path / "sink")
    worker = Checkpointer(store, Ed25519Signer.generate(), sink, interval=0.05)
    worker.start()
    try:
        deadline = time.monotonic() + 60
        while not list(sink.read()) and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        worker.stop()
    assert [cp.seq for _, cp in sink.read() if not isinstance(cp, str)][:1] == [1]
    assert stored.read(store, "p1")[0].seq == 1


def test_checkpoint_without_a_key_is_refused(store: ClickHouseStore, tmp_path: Path) -> None:
    result = _run(store, tmp_path / "sink", "checkpoint")
    assert result.exit_code == 2
    assert "no signing key" in result.output


@pytest.mark.e2e
def test_a_running_collector_signs_on_demand_through_the_api(
    collector: RunningServer, settings: Settings, store: ClickHouseStore, tmp_path: Path
) -> None:
    refused = httpx.post(f"{collector.base_url}/api/v1/audit/checkpoint", timeout=60)
    assert refused.status_code == 409
    assert "checkpoint_key_file" in refused.json()["detail"]
    _fill(store, batches=1)  # p1 has a ledger too: only the request's project is signed
    _fill_project(store, "default")
    signer = Ed25519Signer.generate()
    keyed = keyed_settings(settings, signer, tmp_path / "sink", checkpoint_interval_seconds=0)
    server = serve_in_thread(create_app(keyed, store=store))
    try:
        result = CliRunner().invoke(app, ["audit", "checkpoint", "--endpoint", server.base_url])
    finally:
        server.stop()
    assert result.exit_code == 0, result.output
    assert "1 checkpoint(s) written" in result.output
    (path,) = (tmp_path / "sink").glob("*/default/*.json")
    assert json.loads(path.read_text())["key_id"] == signer.key_id


def _fill_project(store: ClickHouseStore, project: str) -> None:
    from tracerail.collector.ledger import erasure_row

    LedgerWriter(store).append(
        [erasure_row(project, "ab" * 16, "cd" * 8, erased_at_ns=time.time_ns(), reason="test")]
    )

"""Evidence packs end to end: the real SDK sends a workload to the collector, the head is
signed, `audit export-pack` writes the pack, `audit verify-pack` checks it offline (also in a
process where the collector, clickhouse_connect and chdb cannot be imported), and each kind of
edit to the pack is detected and named."""

from __future__ import annotations

import io
import json
import subprocess
import sys
import time
import zipfile
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from typer.testing import CliRunner

import tracerail
from tests.support.audit_data import Workload, populate
from tests.support.server import RunningServer
from tracerail.collector.cli import app
from tracerail.collector.store.clickhouse import ClickHouseStore
from tracerail.evidence import pack as fmt
from tracerail.evidence.pack import verify_pack

pytestmark = pytest.mark.e2e

BLOCKER = """
import sys
class Block:
    def find_spec(self, name, path=None, target=None):
        if name.split('.')[0] in ('clickhouse_connect', 'chdb', 'fastapi') or name.startswith(
            'tracerail.collector'
        ):
            raise ImportError(f'{name} is blocked: verify-pack must run without the collector')
sys.meta_path.insert(0, Block())
sys.argv = ['tracerail', 'audit', 'verify-pack', *sys.argv[1:]]
from tracerail._cli import main
main()
"""


def _cli(store: ClickHouseStore, sink: Path, *args: str) -> Any:
    common = ["--storage", store.dsn, "--database", store.database, "--checkpoint-dir", str(sink)]
    return CliRunner().invoke(app, ["audit", *args, *common])


def _wait_for_ledger(store: ClickHouseStore, generations: int) -> None:
    deadline = time.monotonic() + 60
    query = f"SELECT count() AS n FROM {store.table('ledger_rows')} WHERE kind = 'provenance'"
    while store.query(query)[0]["n"] < generations and time.monotonic() < deadline:
        time.sleep(0.1)
    assert store.query(query)[0]["n"] == generations


def _sign(store: ClickHouseStore, sink: Path, key: Path) -> None:
    if not key.exists():
        assert CliRunner().invoke(app, ["audit", "keygen", "-o", str(key)]).exit_code == 0
    signed = _cli(store, sink, "checkpoint", "--key-file", str(key))
    assert signed.exit_code == 0, signed.output


def _export(store: ClickHouseStore, sink: Path, out: Path) -> None:
    now = datetime.now(UTC)
    exported = _cli(
        store,
        sink,
        "export-pack",
        "--project",
        "default",
        "--from",
        (now - timedelta(hours=1)).isoformat(),
        "--to",
        (now + timedelta(hours=1)).isoformat(),
        "-o",
        str(out),
    )
    assert exported.exit_code == 0, exported.output


@pytest.fixture
def pack(
    collector: RunningServer, store: ClickHouseStore, tmp_path: Path
) -> Iterator[tuple[Path, Workload]]:
    workload = populate(collector)
    tracerail.shutdown()
    _wait_for_ledger(store, workload.generations)
    _sign(store, tmp_path / "sink", tmp_path / "k.pem")
    _export(store, tmp_path / "sink", tmp_path / "pack.zip")
    yield tmp_path / "pack.zip", workload


def test_erasure_after_a_checkpoint_keeps_chain_and_pack_verifying(
    collector: RunningServer, store: ClickHouseStore, tmp_path: Path
) -> None:
    workload = populate(collector)
    tracerail.shutdown()
    _wait_for_ledger(store, workload.generations)
    sink, key = tmp_path / "sink", tmp_path / "k.pem"
    _sign(store, sink, key)
    assert _totals(collector) == (workload.generations,) * 3
    erased = httpx.delete(f"{collector.base_url}/api/v1/subjects/bob", timeout=60)
    assert erased.status_code == 200, erased.text
    # Every figure drops by bob's two calls: the span counts and the hourly aggregates.
    assert _totals(collector) == (workload.generations - 2,) * 3
    verified = _cli(store, sink, "verify")
    assert verified.exit_code == 0, verified.output  # the chain still extends the checkpoint
    _sign(store, sink, key)
    _export(store, sink, tmp_path / "pack.zip")
    report = verify_pack(tmp_path / "pack.zip")
    assert report.ok, report.findings
    assert report.recomputed["volume.calls"] == workload.generations - 2  # bob's two calls
    assert report.recomputed["model_scorecard.total_calls"] == workload.generations - 2
    days = [v for k, v in report.recomputed.items() if k.startswith("volume.by_day")]
    assert sum(days) == workload.generations - 2
    with zipfile.ZipFile(tmp_path / "pack.zip") as archive:
        rows = [json.loads(line) for line in archive.read(fmt.ROWS).decode().splitlines()]
    erasures = [r for r in rows if r["kind"] == "erasure"]
    assert len(erasures) == 2
    assert all("bob" not in r["payload"] for r in erasures)  # the subject is not in the ledger


def _totals(collector: RunningServer) -> tuple[int, int, int]:
    """The compliance report's calls: volume, the sum of its days, the model scorecard."""
    now = datetime.now(UTC)
    period = {"from": (now - timedelta(days=2)).isoformat(), "to": now.isoformat()}
    answer = httpx.get(f"{collector.base_url}/api/v1/reports/compliance", params=period, timeout=60)
    assert answer.status_code == 200, answer.text
    report = answer.json()
    volume = report["volume"]
    by_day = sum(day["calls"] for day in volume["by_day"])
    return volume["calls"], by_day, report["model_scorecard"]["total_calls"]


def _edit(pack: Path, name: str, change: Callable[[bytes], bytes]) -> Path:
    edited = pack.with_name(f"edited-{name}.zip")
    with zipfile.ZipFile(pack) as src, zipfile.ZipFile(edited, "w") as dst:
        for item in src.namelist():
            data = src.read(item)
            dst.writestr(item, change(data) if item == name else data)
    return edited


def _lines(change: Callable[[list[dict[str, Any]]], None]) -> Callable[[bytes], bytes]:
    def apply(data: bytes) -> bytes:
        items = [json.loads(line) for line in io.BytesIO(data).read().decode().splitlines()]
        change(items)
        return "".join(json.dumps(i) + "\n" for i in items).encode()

    return apply


def _first_of_batch_with(items: list[dict[str, Any]], size: int) -> int:
    """Index of the first row of a batch holding at least ``size`` rows."""
    counts: dict[int, int] = {}
    for item in items:
        counts[item["seq"]] = counts.get(item["seq"], 0) + 1
    seq = next(s for s, n in counts.items() if n >= size)
    return next(i for i, item in enumerate(items) if item["seq"] == seq)


def _change_row(items: list[dict[str, Any]]) -> None:
    items[0]["payload"] = items[0]["payload"].replace('"status":', '"status_was":')


def _change_row_and_hash(items: list[dict[str, Any]]) -> None:
    from tracerail.evidence import row_hash

    _change_row(items)
    items[0]["row_hash"] = row_hash(items[0]["payload"])


def _remove_row(items: list[dict[str, Any]]) -> None:
    del items[-1]


def _reorder_rows(items: list[dict[str, Any]]) -> None:
    i = _first_of_batch_with(items, 2)
    items[i], items[i + 1] = items[i + 1], items[i]


def _swap_contents(items: list[dict[str, Any]]) -> None:
    """Two rows swap places but keep the row_index of the place they moved to."""
    i = _first_of_batch_with(items, 2)
    a, b = items[i], items[i + 1]
    a["row_index"], b["row_index"] = b["row_index"], a["row_index"]
    items[i], items[i + 1] = b, a


def _change_proof(items: list[dict[str, Any]]) -> None:
    target = next(item for item in items if item["path"])
    target["path"][0] = "ab" * 32


def _change_checkpoint(items: list[dict[str, Any]]) -> None:
    items[-1]["chain_hash"] = "cd" * 32


def _change_figure(data: bytes) -> bytes:
    report = json.loads(data)
    report["volume"]["calls"] += 1
    return json.dumps(report).encode()


def test_untouched_pack_verifies_with_counts_recomputed(pack: tuple[Path, Workload]) -> None:
    path, workload = pack
    report = verify_pack(path)
    assert report.ok, report.findings
    assert report.recomputed["volume.calls"] == workload.generations
    assert report.checkpoints == 1
    assert report.rows >= workload.generations


def test_verify_pack_runs_without_the_collector(pack: tuple[Path, Workload]) -> None:
    path, _ = pack
    ok = subprocess.run(
        [sys.executable, "-c", BLOCKER, str(path)], capture_output=True, text=True, timeout=120
    )
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert "evidence pack verified" in ok.stdout
    edited = _edit(path, fmt.ROWS, _lines(_change_row))
    bad = subprocess.run(
        [sys.executable, "-c", BLOCKER, str(edited)], capture_output=True, text=True, timeout=120
    )
    assert bad.returncode == 1, bad.stdout + bad.stderr
    assert "TAMPERED: ROW CHANGED" in bad.stdout


def test_without_cryptography_verify_pack_says_what_to_install(
    pack: tuple[Path, Workload],
) -> None:
    path, _ = pack
    blocker = BLOCKER.replace("('clickhouse_connect', 'chdb', 'fastapi')", "('cryptography',)")
    done = subprocess.run(
        [sys.executable, "-c", blocker, str(path)], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 2, done.stdout + done.stderr
    assert "pip install 'tracerail[evidence]'" in done.stderr


@pytest.mark.parametrize(
    ("name", "change", "kind"),
    [
        (fmt.ROWS, _lines(_change_row), fmt.ROW_CHANGED),
        (fmt.ROWS, _lines(_change_row_and_hash), fmt.ROW_CHANGED),
        (fmt.ROWS, _lines(_remove_row), fmt.ROW_REMOVED),
        (fmt.ROWS, _lines(_reorder_rows), fmt.ROWS_REORDERED),
        (fmt.ROWS, _lines(_swap_contents), fmt.ROWS_REORDERED),
        (fmt.PROOFS, _lines(_change_proof), fmt.PROOF_CHANGED),
        (fmt.CHECKPOINTS, _lines(_change_checkpoint), fmt.CHECKPOINT_CHANGED),
        (fmt.REPORT, _change_figure, fmt.REPORT_CHANGED),
    ],
    ids=[
        "row-changed",
        "row-changed-hash-recomputed",
        "row-removed",
        "rows-reordered",
        "rows-swapped-in-place",
        "proof",
        "checkpoint",
        "report-figure",
    ],
)
def test_each_kind_of_edit_is_named(
    pack: tuple[Path, Workload], name: str, change: Callable[[bytes], bytes], kind: str
) -> None:
    path, _ = pack
    report = verify_pack(_edit(path, name, change))
    assert not report.ok
    assert kind in report.kinds(), report.findings
    if name != fmt.CHECKPOINTS:
        # Rows, proofs and figures are wrong; the signature over the chain still holds.
        assert fmt.CHECKPOINT_CHANGED not in report.kinds()

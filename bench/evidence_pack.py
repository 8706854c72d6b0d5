"""Evidence pack benchmark: `audit export-pack` and `audit verify-pack` over N ledger rows.

    .venv/bin/python bench/evidence_pack.py --rows 1000000      # ~1 000 rows per batch

Fills a fresh embedded chDB with N ledger rows (guardrail-decision rows of ~350 bytes, the
shape ingest writes, chained in batches of --batch-rows), signs the head, then times the export
(rows, proofs, headers, checkpoint, compliance report → zip) and the offline verification of
that zip by the `tracerail audit verify-pack` command in its own process. Prints the times, the
pack size, the verifier's peak memory (GNU time) and whether the pack verified.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from tracerail.collector.checkpoints import DirectorySink, Ed25519Signer, checkpoint_now  # noqa: E402
from tracerail.collector.evidence_pack import export_pack  # noqa: E402
from tracerail.collector.ledger import KIND_GUARDRAIL, LedgerRow  # noqa: E402
from tracerail.collector.settings import Settings  # noqa: E402
from tracerail.collector.store.clickhouse import ClickHouseStore  # noqa: E402
from tracerail.collector.store.ledger import LedgerWriter  # noqa: E402


def fill(store: ClickHouseStore, rows: int, per_batch: int) -> float:
    writer = LedgerWriter(store)
    started = time.perf_counter()
    now = time.time_ns()
    for first in range(0, rows, per_batch):
        batch = [
            LedgerRow.of(
                "bench",
                KIND_GUARDRAIL,
                f"{i:032x}",
                f"{i:016x}",
                {
                    "name": "run_guardrail pii",
                    "time_ns": now + i,
                    "component": "pii",
                    "target": "output",
                    "verdict": "redact",
                    "action": "redact",
                    "policy_version": "policy-2026-12",
                    "event_index": 0,
                },
            )
            for i in range(first, min(first + per_batch, rows))
        ]
        writer.append(batch)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--batch-rows", type=int, default=1_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="tracerail-bench-pack-") as tmp:
        root = Path(tmp)
        settings = Settings(storage=f"chdb://{root / 'chdb'}", database="bench")
        store = ClickHouseStore(settings.storage, settings.database)
        store.migrate()
        fill_s = fill(store, args.rows, args.batch_rows)
        print(f"fill: {args.rows:,} rows in {fill_s:.1f} s", flush=True)
        checkpoint_now(store, Ed25519Signer.generate(), DirectorySink(settings.checkpoint_path()))
        now = datetime.now(UTC)
        out = root / "pack.zip"
        started = time.perf_counter()
        manifest = export_pack(
            store, settings, "bench", now - timedelta(hours=2), now + timedelta(hours=1), out
        )
        export_s = time.perf_counter() - started
        store.close()
        print(
            f"export-pack: {manifest['rows']:,} rows, {manifest['batches']:,} batches in "
            f"{export_s:.1f} s; pack {out.stat().st_size / 1e6:.0f} MB",
            flush=True,
        )
        # The way an auditor runs it: the CLI in its own process (peak memory of that process).
        started = time.perf_counter()
        done = subprocess.run(
            [
                "/usr/bin/time",
                "-f",
                "peak-kb %M",
                sys.executable,
                "-m",
                "tracerail",
                "audit",
                "verify-pack",
                str(out),
                "--quiet",
            ],
            capture_output=True,
            text=True,
            check=False,
        )
        verify_s = time.perf_counter() - started
        peak_mb = int(done.stderr.rsplit("peak-kb ", 1)[-1]) / 1024
        print(
            f"verify-pack (CLI process): {manifest['rows']:,} rows in {verify_s:.1f} s "
            f"({manifest['rows'] / verify_s:,.0f} rows/s), peak RSS {peak_mb:.0f} MB, "
            f"exit {done.returncode}: {done.stdout.strip().splitlines()[-1]}"
        )


if __name__ == "__main__":
    main()

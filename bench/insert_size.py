"""CPU per 1 000 spans of storing prepared batches, by rows per insert, merges included.

    .venv/bin/python bench/insert_size.py [--requests 200] [--sizes 10,40]

Prepares ``--requests`` requests of the ``bench/ingest.py`` workload (1 000 spans each) once,
then for each size (requests merged per insert) starts a fresh process with its own embedded
chDB, inserts them through ``IngestBatcher.insert`` and waits until background merges stop.
CPU is per thread of that process (``/proc/self/task``), grouped by thread name: ``python``
(the inserting thread), ``ThreadPool`` (chDB's insert work), ``MergeMutate`` (merges). This
is why ingest inserts in bulk (``collector/ingest.py``): small parts are merged again later.
"""

from __future__ import annotations

import argparse
import pickle
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from bench.ingest import thread_cpu  # noqa: E402


def prepare(requests: int, path: Path) -> None:
    from bench.workload import make_bodies, record_template
    from tracerail.collector.prepare import Export, prepare_body

    batches = [
        prepare_body(
            Export(b.data, "application/x-protobuf", "p", 30, 1 << 26, content_encoding="gzip")
        )
        for b in make_bodies(record_template(1000), requests)
    ]
    path.write_bytes(pickle.dumps(batches, 5))


def measure(path: Path, group: int) -> None:
    from tracerail.collector.ingest import IngestBatcher
    from tracerail.collector.prepare import merge
    from tracerail.collector.store.clickhouse import ClickHouseStore
    from tracerail.collector.wal import WriteAheadLog

    batches = pickle.loads(path.read_bytes())
    workdir = Path(tempfile.mkdtemp(prefix="tracerail-insert-size-"))
    store = ClickHouseStore(f"chdb://{workdir}/db", database="bench")
    store.migrate()
    batcher = IngestBatcher(store, WriteAheadLog(workdir / "wal", 1 << 30))
    spans = sum(b.rows for b in batches)
    before, started = thread_cpu(), time.perf_counter()
    for start in range(0, len(batches), group):
        batcher.insert(merge(batches[start : start + group]))
    wall = time.perf_counter() - started
    quiet = 0
    while quiet < 3 and time.perf_counter() - started < 300:  # merges settle
        running = store.client.query("SELECT count() FROM system.merges").result_rows[0][0]
        quiet = quiet + 1 if running == 0 else 0
        time.sleep(1)
    after = thread_cpu()
    per_k = 1_000_000 / spans  # seconds → ms per 1 000 spans
    total = sum(after.values()) - sum(before.values())
    merges = after["MergeMutate"] - before.get("MergeMutate", 0)
    by_thread = ", ".join(
        f"{name} {(after[name] - before.get(name, 0)) * per_k:.1f}"
        for name in sorted(after, key=lambda n: before.get(n, 0) - after[n])
        if (after[name] - before.get(name, 0)) * per_k >= 0.5
    )
    print(
        f"  {group * 1000:>7,} rows/insert  CPU {total * per_k:6.1f} ms/1k  "
        f"merges {merges * per_k:5.1f}  wall {wall * per_k:5.1f} ms/1k  ({by_thread})",
        flush=True,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=int, default=200, help="1 000-span requests")
    parser.add_argument("--sizes", default="10,40", help="requests merged per insert")
    parser.add_argument("--measure", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--batches", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:
        measure(args.batches, args.measure)
        return
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "batches.pickle"
        print(f"preparing {args.requests} requests of 1 000 spans", flush=True)
        prepare(args.requests, path)
        print("CPU per 1 000 spans stored, insert + the merges that followed")
        for size in (int(s) for s in args.sizes.split(",")):
            subprocess.run(
                [sys.executable, __file__, "--measure", str(size), "--batches", str(path)],
                check=True,
            )


if __name__ == "__main__":
    main()

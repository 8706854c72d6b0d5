"""CPU cost of the ingest pipeline per 1 000 spans, by stage, and against an earlier revision.

    .venv/bin/python bench/pipeline.py [--requests 40] [--batch 1000] [--group 10]
        [--against REV] [--rounds 5]

On pre-encoded requests (the workload of ``bench/ingest.py``), into an embedded chDB:

* the stages of the current path: decode → column-wise ``flatten`` → Arrow table →
  ledger/score/guardrail rows → ``prepare_body`` as a whole;
* the whole pipeline including ``ClickHouseStore.insert_arrow`` (best of ``--rounds``);
* the split the ingest workers make (``collector/prepare.py``): the worker's share
  (``prepare_body``), what crossing the process boundary costs (pickling the ``Batch`` both
  ways), and the writer's share: ``IngestBatcher.insert`` with one request per insert (what a
  lone request costs) against ``--group`` requests merged into one insert (the group commit);
* ``--against REV`` (default: ``BEFORE_REFACTOR``, the last commit before issue 21 reshaped
  ingest): ``prepare_body`` + ``IngestBatcher.insert`` of that revision and of this tree's
  HEAD in alternating fresh processes on the same requests (``bench/revisions.py``), medians
  and the ratio head / base; ``--against none`` skips it.

CPU is process time (all threads, chDB's included), so a busy shared machine changes it far
less than wall time; the single-core ceiling is 1 000 / (CPU ms per 1 000 spans) x 1 000.
"""

from __future__ import annotations

import argparse
import pickle
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

import pyarrow as pa  # noqa: E402

from bench.revisions import compare, print_comparison  # noqa: E402
from bench.workload import make_bodies, record_template  # noqa: E402
from tracerail.collector.ingest import IngestBatcher  # noqa: E402
from tracerail.collector.ledger import rows_from_columns  # noqa: E402
from tracerail.collector.otlp.decode import decode_request  # noqa: E402
from tracerail.collector.otlp.flatten import flatten  # noqa: E402
from tracerail.collector.otlp.guardrails import guardrail_columns  # noqa: E402
from tracerail.collector.prepare import Batch, Export, merge, prepare_body  # noqa: E402
from tracerail.collector.score_events import scores_from_columns  # noqa: E402
from tracerail.collector.store.arrow import GUARDRAIL_TYPES, spans_table, typed_table  # noqa: E402
from tracerail.collector.store.clickhouse import ClickHouseStore  # noqa: E402
from tracerail.collector.wal import WriteAheadLog  # noqa: E402

PB = "application/x-protobuf"
# Every round inserts the same requests again: keep the spans table's dedup window out of it
# (run with ``--rounds 1`` where it is not honoured: chDB 4.4 deduplicated round 2 anyway).
NO_DEDUP = {"insert_deduplicate": 0}


def current(store: ClickHouseStore, bodies: list[bytes], group: int) -> None:
    for start in range(0, len(bodies), group):
        tables = []
        for body in bodies[start : start + group]:
            request = decode_request(body, PB, "gzip")
            columns = flatten(request, project="p", retention_days=30)
            rows_from_columns(columns)  # ledger and score rows, as ingest derives them
            scores_from_columns(columns)
            tables.append(spans_table(columns))
        store.insert_arrow("spans", pa.concat_tables(tables), settings=NO_DEDUP)


def writer_costs(
    stores: dict[str, ClickHouseStore], workdir: Path, bodies: list[bytes], group: int, spans: int
) -> None:
    """Worker share, boundary crossing and writer share of the ingest, CPU ms per 1 000 spans."""

    def prep() -> list[Batch]:
        return [
            prepare_body(Export(b, PB, "p", 30, max_bytes=1 << 26, content_encoding="gzip"))
            for b in bodies
        ]

    per_k = 1000 / (spans * len(bodies))
    cpu, _ = cpu_ms(prep)
    batches = prep()
    print(f"\nworker / writer split (CPU ms per 1 000 spans, {len(bodies)} requests)")
    print(f"  {'worker: prepare_body':<44} {cpu * per_k:7.1f}")
    dumped: list[bytes] = []
    cpu, _ = cpu_ms(lambda: dumped.extend(pickle.dumps(b, 5) for b in batches))
    cpu_back, _ = cpu_ms(lambda: [pickle.loads(d) for d in dumped])
    size = sum(map(len, dumped)) / len(dumped) / 1024
    print(f"  {'crossing: pickle (worker)':<44} {cpu * per_k:7.1f}   ({size:,.0f} KiB/request)")
    print(f"  {'crossing: unpickle (writer)':<44} {cpu_back * per_k:7.1f}")
    store = stores["writer"] = ClickHouseStore(f"chdb://{workdir}", database="bench_writer")
    store.migrate()
    batcher = IngestBatcher(store, WriteAheadLog(workdir / "wal", 1 << 30))
    half = len(batches) // 2
    for label, run in (
        (
            "writer: one request per insert",
            lambda: [batcher.insert(b) for b in batches[:half]],
        ),
        (
            f"writer: {group} requests merged per insert",
            lambda: [
                batcher.insert(merge(batches[i : i + group]))
                for i in range(half, len(batches), group)
            ],
        ),
    ):
        cpu, wall = cpu_ms(run)
        print(f"  {label:<44} {cpu * per_k * 2:7.1f}   wall {wall * per_k * 2:6.1f}")


def cpu_ms(run: Callable[[], object]) -> tuple[float, float]:
    cpu, wall = time.process_time(), time.perf_counter()
    run()
    return (time.process_time() - cpu) * 1000, (time.perf_counter() - wall) * 1000


# The last commit before issue 21 reshaped ingest (one accept, columns defined once, the chDB
# adapter, the module splits): what "no ingest slow-down" is measured against.
BEFORE_REFACTOR = "66235c8"


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--requests", type=int, default=40)
    parser.add_argument("--batch", type=int, default=1000, help="spans per request")
    parser.add_argument("--group", type=int, default=10, help="requests per insert")
    parser.add_argument("--rounds", type=int, default=5, help="rounds (per side with --against)")
    parser.add_argument(
        "--against", default=BEFORE_REFACTOR, help="git revision to compare with, or 'none'"
    )
    args = parser.parse_args()

    template = record_template(args.batch)
    bodies = [b.data for b in make_bodies(template, args.requests)]
    spans = sum(len(ss.spans) for rs in template.resource_spans for ss in rs.scope_spans)
    total = spans * args.requests
    workdir = Path(tempfile.mkdtemp(prefix="tracerail-pipeline-"))
    stores: dict[str, ClickHouseStore] = {}
    try:
        store = stores["current"] = ClickHouseStore(f"chdb://{workdir}", database="bench_current")
        store.migrate()
        best: tuple[float, float] | None = None
        for _ in range(args.rounds):
            cpu, wall = cpu_ms(lambda: current(store, bodies, args.group))
            if best is None or cpu < best[0]:
                best = (cpu, wall)

        # Where the current path's CPU goes, per 1 000 spans.
        request = decode_request(bodies[0], PB, "gzip")
        columns = flatten(request, project="p", retention_days=30)
        stages = {
            "decode (gunzip + protobuf)": lambda: decode_request(bodies[0], PB, "gzip"),
            "flatten (column-wise)": lambda: flatten(request, project="p", retention_days=30),
            "Arrow table": lambda: spans_table(columns),
            "ledger + score rows": lambda: (
                rows_from_columns(columns),
                scores_from_columns(columns),
            ),
            "guardrail decision rows": lambda: typed_table(
                guardrail_columns(columns), GUARDRAIL_TYPES
            ),
            "payload (deterministic protobuf)": lambda: request.SerializeToString(
                deterministic=True
            ),
            "whole prepare_body": lambda: prepare_body(
                Export(bodies[0], PB, "p", 30, max_bytes=1 << 26, content_encoding="gzip")
            ),
        }
        print(f"{total} spans in {args.requests} requests of {spans}, {args.group} per insert")
        print("\nstage (median of 9, CPU ms per 1 000 spans)")
        for label, stage in stages.items():
            samples = sorted(cpu_ms(stage)[0] for _ in range(9))
            print(f"  {label:<32} {samples[4] * 1000 / spans:7.1f}")
        assert best is not None
        per_k = best[0] * 1000 / total
        print("\nwhole pipeline incl. insert (best of rounds)")
        print(
            f"  CPU {per_k:6.1f} ms/1k spans  wall {best[1] * 1000 / total:6.1f} ms/1k"
            f"  single-core ceiling {1_000_000 / per_k:8,.0f} spans/s"
        )
        count = store.query(f"SELECT uniqExact(span_id) AS n FROM {store.table('spans')}")
        assert count[0]["n"] == total, count
        writer_costs(stores, workdir, bodies, args.group, spans)
    finally:
        for opened in stores.values():
            opened.close()
        shutil.rmtree(workdir, ignore_errors=True)
    if args.against != "none":
        print(f"\nagainst {args.against} (alternating fresh processes, bench/revisions.py)")
        samples = compare(args.against, "HEAD", bodies, args.group, args.rounds)
        print_comparison(samples, total)


if __name__ == "__main__":
    main()

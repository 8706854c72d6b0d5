"""Ingest CPU per 1 000 spans: the code at one git revision against another, in the same run.

    .venv/bin/python bench/revisions.py --base REV [--head HEAD] [--rounds 5] [--requests 40]

Each revision's ``sdk/``, ``collector/`` and ``guardrails/`` are exported with ``git archive``
into a temporary directory laid out as the ``tracerail`` package, so both sides are imported
the same way (never the editable install). Rounds alternate base and head, each in a fresh
Python process with its own embedded chDB, on the same pre-encoded OTLP requests (the workload
of ``bench/ingest.py``). A round measures the collector's two halves of ingest, in process CPU
time (all threads, chDB's included, so a busy machine moves it less than wall time):

* prepare: ``prepare_body`` per request (gunzip, protobuf decode, flatten, Arrow tables,
  ledger/score/guardrail rows) — what the ingest workers do;
* insert: ``IngestBatcher.insert`` of ``--group`` requests merged into one batch (WAL-free: the
  writer's share, spans + ledger + decisions into chDB).

It prints the median of each side and the ratio head / base (below 1 = head is cheaper).
"""

from __future__ import annotations

import argparse
import json
import pickle
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from bench.workload import make_bodies, record_template  # noqa: E402

# Runs in the child with only the exported tree on sys.path. It adapts to the one signature
# that changed across the compared revisions (prepare_body took keyword arguments before
# ``prepare.Export`` replaced them).
ROUND = r"""
import json, pickle, sys, tempfile, time
from pathlib import Path
import tracerail
from tracerail.collector import prepare as p
from tracerail.collector.ingest import IngestBatcher
from tracerail.collector.store.clickhouse import ClickHouseStore
from tracerail.collector.wal import WriteAheadLog

bodies, group = pickle.loads(Path(sys.argv[1]).read_bytes()), int(sys.argv[2])
PB = "application/x-protobuf"
if hasattr(p, "Export"):
    def prep(body):
        export = p.Export(body, PB, "p", 30, max_bytes=1 << 26, content_encoding="gzip")
        return p.prepare_body(export)
else:
    def prep(body):
        return p.prepare_body(body, PB, "gzip", max_bytes=1 << 26, project="p", retention_days=30)
work = Path(tempfile.mkdtemp(prefix="tracerail-rev-"))
store = ClickHouseStore(f"chdb://{work}/db")
store.migrate()
batcher = IngestBatcher(store, WriteAheadLog(work / "wal", 1 << 30))
prep(bodies[0])  # warm imports and caches outside the measurement
t0 = time.process_time()
batches = [prep(b) for b in bodies]
t1 = time.process_time()
for i in range(0, len(batches), group):
    batcher.insert(p.merge(batches[i : i + group]))
t2 = time.process_time()
print(json.dumps({"prepare": (t1 - t0) * 1000, "insert": (t2 - t1) * 1000,
                  "package": tracerail.__file__}))
"""


def export_tree(repo: Path, rev: str, into: Path) -> Path:
    """``git archive`` of ``rev`` laid out as an importable ``tracerail``; returns the root."""
    tree = into / "tree"
    tree.mkdir(parents=True)
    archive = subprocess.run(
        ["git", "-C", str(repo), "archive", rev, "sdk", "collector", "guardrails"],
        check=True,
        capture_output=True,
    ).stdout
    subprocess.run(["tar", "-x", "-C", str(tree)], input=archive, check=True)
    for sub in ("collector", "guardrails"):
        (tree / "sdk" / sub).symlink_to(tree / sub, target_is_directory=True)
    root = into / "root"
    root.mkdir()
    (root / "tracerail").symlink_to(tree / "sdk", target_is_directory=True)
    return root


def one_round(root: Path, bodies_file: Path, group: int) -> dict[str, float]:
    out = subprocess.run(
        [sys.executable, "-c", ROUND, str(bodies_file), str(group)],
        check=True,
        capture_output=True,
        text=True,
        env={"PYTHONPATH": str(root), "PATH": "/usr/bin:/bin", "HOME": str(root)},
        cwd=root,
    ).stdout
    result: dict[str, float] = json.loads(out.strip().splitlines()[-1])
    if not str(result["package"]).startswith(str(root)):
        raise SystemExit(f"imported {result['package']}, not the exported tree under {root}")
    return result


def compare(
    base: str, head: str, bodies: list[bytes], group: int, rounds: int
) -> dict[str, list[dict[str, float]]]:
    """CPU ms of each round of each side: ``{"base": [...], "head": [...]}``, alternating."""
    with tempfile.TemporaryDirectory(prefix="tracerail-revisions-") as tmp:
        work = Path(tmp)
        bodies_file = work / "bodies.pickle"
        bodies_file.write_bytes(pickle.dumps(bodies))
        roots = {
            side: export_tree(HERE.parent, rev, work / side)
            for side, rev in (("base", base), ("head", head))
        }
        samples: dict[str, list[dict[str, float]]] = {"base": [], "head": []}
        for n in range(rounds):
            for side in ("base", "head") if n % 2 == 0 else ("head", "base"):
                samples[side].append(one_round(roots[side], bodies_file, group))
                print(f"  round {n + 1}/{rounds} {side}: done", file=sys.stderr)
    return samples


def print_comparison(samples: dict[str, list[dict[str, float]]], spans: int) -> None:
    """Median CPU ms per 1 000 spans of each side and part, and the ratio head / base."""
    print(f"  CPU ms per 1 000 spans, median of {len(samples['head'])} rounds per side")
    print(f"  {'':<10} {'base':>8} {'head':>8} {'head/base':>10}")
    for part in ("prepare", "insert", "total"):
        med = {
            side: statistics.median(
                (r["prepare"] + r["insert"]) if part == "total" else r[part] for r in rows
            )
            * 1000
            / spans
            for side, rows in samples.items()
        }
        ratio = med["head"] / med["base"]
        print(f"  {part:<10} {med['base']:8.1f} {med['head']:8.1f} {ratio:10.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--base", required=True, help="the revision to compare against")
    parser.add_argument("--head", default="HEAD", help="the revision under test (default HEAD)")
    parser.add_argument("--rounds", type=int, default=5, help="rounds per side (default 5)")
    parser.add_argument("--requests", type=int, default=40, help="requests per round")
    parser.add_argument("--batch", type=int, default=1000, help="spans per request")
    parser.add_argument("--group", type=int, default=10, help="requests per insert")
    args = parser.parse_args()

    template = record_template(args.batch)
    bodies = [b.data for b in make_bodies(template, args.requests)]
    spans = sum(len(ss.spans) for rs in template.resource_spans for ss in rs.scope_spans)
    samples = compare(args.base, args.head, bodies, args.group, args.rounds)
    print(
        f"{spans * args.requests} spans per round ({args.requests} requests of {spans}, "
        f"{args.group} per insert); base = {args.base}, head = {args.head}"
    )
    print_comparison(samples, spans * args.requests)


if __name__ == "__main__":
    main()

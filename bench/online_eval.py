"""Online evaluator benchmark: generations scored per second while ingest runs, against the
evaluator alone; and ingest with the evaluator running against ingest alone.

    .venv/bin/python bench/online_eval.py                 # heuristic, default limit 20/s, 15 s
    .venv/bin/python bench/online_eval.py --window 10 --rate 1000   # the evaluator's capacity

Two collector processes on loopback (``tracerail collector serve``, embedded chDB, fresh data
each), the load of ``bench/ingest.py`` (its traces are RAG-like: a retrieval span with text and
generations with output messages, so every generation is a candidate):

1. ingest alone: online evaluator off; N senders for ``--window`` seconds → spans/s acked;
2. ingest + online evaluator: on (``--evaluator``, ``--rate`` per second, ``--batch-size``),
   the same load → spans/s acked, and generations scored per second during the window
   (``scored`` of ``GET /api/v1/evaluators`` before and after);
3. evaluator alone: right after the load window of 2, with the backlog it left, for
   ``--window`` seconds → generations scored per second.

Repeated ``--repeat`` times (fresh data each round); printed per round and as medians: both
ratios (ingest with / without the evaluator; evaluator with / without ingest), and the load
average (other work on a shared machine takes CPU from both, and varies a lot).
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import requests

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from bench.ingest import Result, send_load  # noqa: E402
from bench.workload import Body, make_bodies, record_template  # noqa: E402
from tests.support.subprocess_collector import CollectorProcess  # noqa: E402


@contextmanager
def collector(port: int, env: dict[str, str]) -> Iterator[None]:
    """A collector on ``port`` with fresh data; stopped (SIGTERM) and its data removed after."""
    workdir = Path(tempfile.mkdtemp(prefix="tracerail-bench-eval-"))
    process = CollectorProcess(workdir, port=port, env=env)
    try:
        process.start(timeout=120)
        yield
    finally:
        process.stop()
        shutil.rmtree(workdir, ignore_errors=True)


def online(port: int) -> dict[str, Any]:
    body = requests.get(f"http://127.0.0.1:{port}/api/v1/evaluators", timeout=30).json()
    return dict(body["online"])


def ingest(port: int, bodies: list[Body], senders: int, window: float) -> Result:
    result = Result("ingest", window)
    started = time.monotonic()
    send_load(f"http://127.0.0.1:{port}/v1/traces", bodies, senders, window, result)
    result.window_s = time.monotonic() - started
    return result


def run_once(
    args: argparse.Namespace, bodies: list[list[Body]], evaluator_env: dict[str, str], port: int
) -> dict[str, float]:
    """One round: ingest alone, then ingest + evaluator, then the evaluator alone."""
    with collector(port, {"TRACERAIL_ONLINE_EVAL_ENABLED": "false"}):
        alone = ingest(port, bodies[0], args.senders, args.window)
    with collector(port + 1, evaluator_env):
        before, t0 = online(port + 1), time.monotonic()
        with_eval = ingest(port + 1, bodies[1], args.senders, args.window)
        during, t1 = online(port + 1), time.monotonic()
        time.sleep(args.window)  # no more requests: the evaluator works on the backlog
        after, t2 = online(port + 1), time.monotonic()
    return {
        "ingest_alone": alone.rate,
        "ingest_with_eval": with_eval.rate,
        "eval_during": (during["scored"] - before["scored"]) / (t1 - t0),
        "eval_alone": (after["scored"] - during["scored"]) / (t2 - t1),
        "errors": float(after["errors"]),
        "load": os.getloadavg()[0],
    }


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--window", type=float, default=15.0, help="seconds per measurement")
    parser.add_argument("--repeat", type=int, default=3, help="rounds; medians are reported")
    parser.add_argument("--senders", type=int, default=4)
    parser.add_argument("--batch", type=int, default=1000, help="spans per request")
    parser.add_argument("--evaluator", default="heuristic")
    parser.add_argument("--rate", type=float, default=20.0, help="evaluator rate limit (1/s)")
    parser.add_argument("--batch-size", type=int, default=32, help="evaluator batch size")
    parser.add_argument("--port", type=int, default=24418)
    parser.add_argument(
        "--bodies", type=int, default=0, help="requests per run (default: 20k spans/s of load)"
    )
    args = parser.parse_args()

    count = args.bodies or int(args.window * 20_000 / args.batch) + args.senders
    print(f"==> recording a {args.batch}-span template, encoding {count} requests x2", flush=True)
    template = record_template(args.batch)
    evaluator_env = {
        "TRACERAIL_ONLINE_EVAL_ENABLED": "true",
        "TRACERAIL_ONLINE_EVAL_EVALUATOR": args.evaluator,
        "TRACERAIL_ONLINE_EVAL_RATE_PER_SECOND": str(args.rate),
        "TRACERAIL_ONLINE_EVAL_BATCH_SIZE": str(args.batch_size),
        "TRACERAIL_ONLINE_EVAL_SETTLE_SECONDS": "0.5",
        "TRACERAIL_ONLINE_EVAL_INTERVAL_SECONDS": "0.2",
    }
    rounds = []
    for i in range(args.repeat):
        bodies = [
            make_bodies(template, count, seed=31 + 2 * i),
            make_bodies(template, count, 32 + 2 * i),
        ]
        print(
            f"==> round {i + 1}/{args.repeat}: {args.senders} senders, "
            f"{args.window:.0f} s windows, "
            f"{args.evaluator} limited to {args.rate:g}/s",
            flush=True,
        )
        result = run_once(args, bodies, evaluator_env, args.port + 10 * i)
        rounds.append(result)
        print(
            "    ingest alone {ingest_alone:,.0f} spans/s, with evaluator {ingest_with_eval:,.0f}; "
            "evaluator {eval_alone:.1f} generations/s alone, {eval_during:.1f} while ingesting; "
            "errors {errors:.0f}; load {load:.1f}".format(**result),
            flush=True,
        )

    def median(key: str) -> float:
        return statistics.median(r[key] for r in rounds)

    print(f"==> medians of {len(rounds)} rounds")
    print(f"    ingest alone                 {median('ingest_alone'):10,.0f} spans/s")
    print(f"    ingest + online evaluator    {median('ingest_with_eval'):10,.0f} spans/s")
    ratios = [r["ingest_with_eval"] / r["ingest_alone"] for r in rounds]
    print(f"    ratio (with / alone)         {statistics.median(ratios):10.2f}")
    print(f"    evaluator alone              {median('eval_alone'):10.1f} generations/s")
    print(f"    evaluator while ingesting    {median('eval_during'):10.1f} generations/s")
    if median("eval_alone"):
        print(
            f"    ratio (ingesting / alone)    {median('eval_during') / median('eval_alone'):10.2f}"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

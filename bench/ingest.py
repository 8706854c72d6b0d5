"""Ingest benchmark: tracerail's collector vs Arize Phoenix on the same load, same machine.

    .venv/bin/python bench/ingest.py                       # tracerail (chDB) + Phoenix
    .venv/bin/python bench/ingest.py --targets tracerail   # only tracerail
    .venv/bin/python bench/ingest.py --targets tracerail --workers 0,1,2  # worker counts
    TRACERAIL_BENCH_CLICKHOUSE=http://host:8123 .venv/bin/python bench/ingest.py  # + server mode

Each target runs as its own process on loopback. N sender threads post pre-encoded OTLP/HTTP
requests (protobuf, gzip — byte-identical to what ``OTLPSpanExporter`` sends; encoding happens
before the timed window so the load generator does not eat the collector's CPU) for a fixed
window, retrying 429/503 after ``Retry-After`` like the exporter. Reported: acknowledged
spans/s, p50/p99 request latency, the target's CPU use and peak RSS, and afterwards whether
every acknowledged span is stored exactly once, and the 1-minute load average when each
result was taken (other work on the machine takes CPU from the target). Phoenix is installed
in its own virtual environment (``bench/.phoenix-venv``) on first use.
"""

from __future__ import annotations

import argparse
import collections
import os
import shutil
import signal
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import requests

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from bench.workload import Body, make_bodies, record_template  # noqa: E402
from tests.support.subprocess_collector import CollectorProcess  # noqa: E402

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


@dataclass
class Result:
    target: str
    window_s: float
    acked_spans: int = 0
    acked_requests: int = 0
    refused: int = 0  # 429/503 answers (retried)
    failed_requests: int = 0
    latencies_ms: list[float] = field(default_factory=list)
    cpu_percent: float = 0.0
    peak_rss_mb: float = 0.0
    stored: int | None = None
    distinct: int | None = None
    drain_s: float = 0.0
    threads: dict[str, float] = field(default_factory=dict)  # % of a core by thread name
    load: float = field(default_factory=lambda: os.getloadavg()[0])

    @property
    def rate(self) -> float:
        return self.acked_spans / self.window_s

    @property
    def stored_rate(self) -> float:
        """Spans stored per second of window plus the time the target needed afterwards to
        store what it had acknowledged (what it sustains, not what it buffers)."""
        return (self.stored or 0) / (self.window_s + self.drain_s)

    def quantile(self, q: float) -> float:
        if not self.latencies_ms:
            return float("nan")
        data = sorted(self.latencies_ms)
        return data[min(len(data) - 1, int(q * len(data)))]

    @property
    def exactly_once(self) -> bool:
        return self.stored == self.distinct == self.acked_spans

    def thread_line(self) -> str:
        """Where the target's CPU went during the window (``ThreadPool``: chDB inserts,
        ``MergeMutate``: chDB merges, ``python``: the collector's own threads)."""
        busy = sorted(((p, n) for n, p in self.threads.items() if p >= 1), reverse=True)
        return "cpu by thread: " + ", ".join(f"{name} {percent:.0f}%" for percent, name in busy)

    def line(self) -> str:
        check = (
            "exactly once"
            if self.exactly_once
            else f"stored {self.stored} distinct {self.distinct} acked {self.acked_spans}"
        )
        return (
            f"{self.target:<18} {self.rate:>10,.0f} spans/s  p50 {self.quantile(0.5):7.1f} ms  "
            f"p99 {self.quantile(0.99):7.1f} ms  cpu {self.cpu_percent:5.0f}%  "
            f"rss {self.peak_rss_mb:6.0f} MB  429/503 {self.refused:>5}  load {self.load:4.1f}  "
            f"drain {self.drain_s:4.1f} s  stored {self.stored_rate:>7,.0f}/s  {check}"
        )


def thread_cpu(pid: int | str = "self", role: str = "") -> collections.Counter[str]:
    """CPU seconds of a process's threads, summed by thread name (prefixed with ``role``)."""
    out: collections.Counter[str] = collections.Counter()
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            stat = (task / "stat").read_text()
        except OSError:
            continue
        name = stat[stat.index("(") + 1 : stat.rindex(")")]
        fields = stat.rsplit(")", 1)[1].split()
        out[role + name] += (int(fields[11]) + int(fields[12])) / CLOCK_TICKS
    return out


class ProcessSampler(threading.Thread):
    """CPU time and peak memory of a process and its child processes (worker pools), from /proc.

    Peak memory is the largest sum of the tree's resident sets seen at 5 Hz, and at least
    the main process's own high-water mark (VmHWM).
    """

    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self.pid = pid
        self.peak_kb = 0
        self.stop_event = threading.Event()

    def tree(self) -> list[int]:
        parents: dict[int, int] = {}
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit():
                try:
                    fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
                except OSError:
                    continue
                parents[int(entry.name)] = int(fields[1])
        found = [self.pid]
        for pid in found:
            found.extend(child for child, parent in parents.items() if parent == pid)
        return found

    def thread_cpu(self) -> collections.Counter[str]:
        """CPU seconds by thread name over the tree; worker processes' threads as ``worker:``."""
        out: collections.Counter[str] = collections.Counter()
        for pid in self.tree():
            try:
                out += thread_cpu(pid, "" if pid == self.pid else "worker:")
            except OSError:
                continue
        return out

    def cpu_seconds(self) -> float:
        total = 0
        for pid in self.tree():
            try:
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            total += int(fields[11]) + int(fields[12])
        return total / CLOCK_TICKS

    def _memory_kb(self, pid: int, key: str) -> int:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(key):
                return int(line.split()[1])
        return 0

    def run(self) -> None:
        while not self.stop_event.is_set():
            try:
                own_peak = self._memory_kb(self.pid, "VmHWM:")
            except OSError:
                return
            resident = 0
            for pid in self.tree():
                try:
                    resident += self._memory_kb(pid, "VmRSS:")
                except OSError:
                    continue
            self.peak_kb = max(self.peak_kb, own_peak, resident)
            time.sleep(0.2)


def wait_http(
    url: str, timeout: float = 120.0, process: subprocess.Popen[bytes] | None = None
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"server exited with {process.returncode} before {url} answered")
        try:
            if requests.get(url, timeout=2).status_code == 200:
                return
        except requests.RequestException:
            pass
        time.sleep(0.3)
    raise RuntimeError(f"{url} not ready after {timeout}s")


def send_load(url: str, bodies: list[Body], senders: int, window: float, result: Result) -> None:
    """Post bodies from ``senders`` threads until the window closes; count acknowledged spans."""
    lock = threading.Lock()
    next_index = [0]
    deadline = time.monotonic() + window
    headers = {"Content-Type": "application/x-protobuf", "Content-Encoding": "gzip"}

    def worker() -> None:
        session = requests.Session()
        while time.monotonic() < deadline:
            with lock:
                if next_index[0] >= len(bodies):
                    return
                body = bodies[next_index[0]]
                next_index[0] += 1
            for _attempt in range(20):
                started = time.perf_counter()
                try:
                    response = session.post(url, data=body.data, headers=headers, timeout=60)
                except requests.RequestException:
                    with lock:
                        result.failed_requests += 1
                    break
                elapsed = (time.perf_counter() - started) * 1000
                if response.status_code == 200:
                    with lock:
                        result.acked_spans += body.spans
                        result.acked_requests += 1
                        result.latencies_ms.append(elapsed)
                    break
                if response.status_code in (429, 503):
                    with lock:
                        result.refused += 1
                    time.sleep(min(float(response.headers.get("Retry-After", "1")), 2.0))
                    continue
                with lock:
                    result.failed_requests += 1
                break

    threads = [threading.Thread(target=worker) for _ in range(senders)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if next_index[0] >= len(bodies):
        print(
            f"  warning: all {len(bodies)} pre-encoded bodies were used before the window closed;"
            " raise --bodies",
            flush=True,
        )


def run_tracerail(
    name: str,
    storage: str | None,
    bodies: list[Body],
    senders: int,
    window: float,
    port: int,
    workers: int | None = None,
) -> Result:
    workdir = Path(tempfile.mkdtemp(prefix="tracerail-bench-"))
    dsn = storage or f"chdb://{workdir / 'chdb'}"
    database = f"bench_{int(time.time())}"
    env = {"TRACERAIL_DATABASE": database}
    if workers is not None:
        env["TRACERAIL_INGEST_WORKERS"] = str(workers)
    # OTLP/HTTP only (gRPC port 0: 4317 may be taken on a shared machine), no auth.
    collector = CollectorProcess(workdir, port=port, storage=dsn, env=env)
    result = Result(name, window)
    try:
        collector.start(timeout=120)
        process = collector.process
        assert process is not None
        sampler = ProcessSampler(process.pid)
        sampler.start()
        cpu_before, threads_before = sampler.cpu_seconds(), sampler.thread_cpu()
        started = time.monotonic()
        send_load(f"http://127.0.0.1:{port}/v1/traces", bodies, senders, window, result)
        result.window_s = time.monotonic() - started
        result.cpu_percent = 100 * (sampler.cpu_seconds() - cpu_before) / result.window_s
        threads = sampler.thread_cpu()
        threads.subtract(threads_before)
        result.threads = {name: 100 * cpu / result.window_s for name, cpu in threads.items()}
        result.load = os.getloadavg()[0]
        sampler.stop_event.set()
        result.peak_rss_mb = sampler.peak_kb / 1024
    finally:
        stopping = time.monotonic()
        if collector.process is not None and collector.process.poll() is None:
            # a graceful stop inserts everything acknowledged: give it as long as it needs
            collector.process.send_signal(signal.SIGTERM)
            collector.process.wait(timeout=120)
        result.drain_s = time.monotonic() - stopping
    # Count in a child process: an embedded chDB opened here would keep running background
    # merges in the directory that is deleted next (and chDB allows one path per process).
    count = (
        "import sys, clickhouse_connect\n"
        "client = clickhouse_connect.get_client(dsn=sys.argv[1])\n"
        "row = client.query(f'SELECT count(), uniqExact(span_id) FROM `{sys.argv[2]}`.spans')"
        ".result_rows[0]\n"
        "if len(sys.argv) > 3: client.command(f'DROP DATABASE IF EXISTS `{sys.argv[2]}`')\n"
        "print(row[0], row[1])\n"
    )
    args = [sys.executable, "-c", count, dsn, database] + ([] if storage is None else ["drop"])
    output = subprocess.run(args, check=True, capture_output=True, text=True).stdout.split()
    result.stored, result.distinct = int(output[-2]), int(output[-1])
    if storage is None:
        shutil.rmtree(workdir, ignore_errors=True)
    return result


def phoenix_python(venv: Path) -> Path:
    python = venv / "bin" / "python"
    if not (venv / "bin" / "phoenix").exists():
        print(f"==> installing arize-phoenix into {venv} (first run only)", flush=True)
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        subprocess.run([str(python), "-m", "pip", "install", "-q", "arize-phoenix"], check=True)
    return python


def acked_total(result: Result) -> int:
    return result.acked_spans


def run_phoenix(venv: Path, bodies: list[Body], senders: int, window: float, port: int) -> Result:
    phoenix_python(venv)
    workdir = Path(tempfile.mkdtemp(prefix="phoenix-bench-"))
    env = {
        **os.environ,
        "PHOENIX_WORKING_DIR": str(workdir),
        "PHOENIX_PORT": str(port),
        "PHOENIX_HOST": "127.0.0.1",
        "PHOENIX_GRPC_PORT": str(port + 1),
        "PHOENIX_TELEMETRY_ENABLED": "false",
    }
    log = Path(tempfile.gettempdir()) / f"phoenix-bench-{port}.log"
    print(f"    (Phoenix's output: {log})", flush=True)
    with log.open("wb") as output:
        process = subprocess.Popen(
            [str(venv / "bin" / "phoenix"), "serve"],
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    result = Result("phoenix (sqlite)", window)
    try:
        wait_http(f"http://127.0.0.1:{port}/healthz")
        sampler = ProcessSampler(process.pid)
        sampler.start()
        cpu_before = sampler.cpu_seconds()
        started = time.monotonic()
        send_load(f"http://127.0.0.1:{port}/v1/traces", bodies, senders, window, result)
        result.window_s = time.monotonic() - started
        result.cpu_percent = 100 * (sampler.cpu_seconds() - cpu_before) / result.window_s
        result.load = os.getloadavg()[0]
        # Phoenix acknowledges before it writes; wait for its queue to drain and count.
        drain_started = time.monotonic()
        database = workdir / "phoenix.db"
        last, unchanged = -1, 0
        while time.monotonic() - drain_started < 300:
            time.sleep(2)
            with sqlite3.connect(database) as conn:
                stored = conn.execute(
                    "SELECT count(*), count(DISTINCT span_id) FROM spans"
                ).fetchone()
            # Done when the count has not moved for 30 s (Phoenix parses in bulk between
            # commits, so two equal samples 2 s apart do not mean it has finished).
            unchanged = unchanged + 1 if stored[0] == last else 0
            if stored[0] == acked_total(result) or unchanged >= 15:
                break
            last = stored[0]
        result.drain_s = time.monotonic() - drain_started
        result.stored, result.distinct = int(stored[0]), int(stored[1])
        sampler.stop_event.set()
        result.peak_rss_mb = sampler.peak_kb / 1024
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            process.kill()
        shutil.rmtree(workdir, ignore_errors=True)
    return result


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--targets", default="tracerail,phoenix", help="comma list: tracerail, phoenix"
    )
    parser.add_argument("--window", type=float, default=20.0, help="seconds of load per target")
    parser.add_argument("--senders", type=int, default=4, help="concurrent exporters")
    parser.add_argument(
        "--batch", type=int, default=1000, help="spans per request (exporter default 512)"
    )
    parser.add_argument(
        "--bodies",
        type=int,
        default=0,
        help="pre-encoded requests (default: enough for 100k spans/s)",
    )
    parser.add_argument(
        "--workers",
        default="",
        help="comma list of TRACERAIL_INGEST_WORKERS values, one tracerail run each "
        "(default: the collector's default)",
    )
    parser.add_argument("--port", type=int, default=24318)
    parser.add_argument("--phoenix-venv", type=Path, default=HERE / ".phoenix-venv")
    args = parser.parse_args()

    targets = [t.strip() for t in args.targets.split(",") if t.strip()]
    count = args.bodies or int(args.window * 100_000 / args.batch) + args.senders
    print(f"==> recording a {args.batch}-span template and encoding {count} requests", flush=True)
    template = record_template(args.batch)
    bodies = make_bodies(template, count)
    spans = bodies[0].spans
    print(
        f"    {spans} spans/request, "
        f"{statistics.mean(len(b.data) for b in bodies) / 1024:.0f} KiB gzip'd",
        flush=True,
    )

    results: list[Result] = []
    worker_counts = [int(w) for w in args.workers.split(",") if w.strip()] or [None]
    if "tracerail" in targets:
        for run, workers in enumerate(worker_counts):
            label = "tracerail (chDB)" + ("" if workers is None else f" w={workers}")
            print(
                f"==> {label}: embedded chDB, {args.senders} senders, {args.window:.0f}s",
                flush=True,
            )
            fresh = bodies if run == 0 else make_bodies(template, count, seed=20 + run)
            results.append(
                run_tracerail(
                    label, None, fresh, args.senders, args.window, args.port + 20 * run, workers
                )
            )
            print("   ", results[-1].line(), flush=True)
            print("       ", results[-1].thread_line(), flush=True)
        server = os.environ.get("TRACERAIL_BENCH_CLICKHOUSE")
        if server:
            fresh = make_bodies(template, count, seed=12)
            results.append(
                run_tracerail(
                    "tracerail (server)", server, fresh, args.senders, args.window, args.port + 2
                )
            )
            print("   ", results[-1].line(), flush=True)
    if "phoenix" in targets:
        print(
            f"==> Arize Phoenix, same load, {args.senders} senders, {args.window:.0f}s", flush=True
        )
        fresh = make_bodies(template, count, seed=13)
        results.append(
            run_phoenix(args.phoenix_venv, fresh, args.senders, args.window, args.port + 10)
        )
        print(
            "   ",
            results[-1].line(),
            f"(drained {results[-1].drain_s:.0f}s after the window)",
            flush=True,
        )

    print("\n==> results")
    for result in results:
        print("   ", result.line())
    ours = max(
        (r for r in results if r.target.startswith("tracerail (chDB)")),
        key=lambda r: r.rate,
        default=None,
    )
    phoenix = next((r for r in results if r.target.startswith("phoenix")), None)
    if ours and phoenix and phoenix.rate > 0:
        print(f"\n    best tracerail run: {ours.target}")
        print(f"    tracerail / phoenix acknowledged rate: {ours.rate / phoenix.rate:.1f}x")
        if phoenix.stored_rate > 0:
            print(
                "    tracerail / phoenix stored rate (each incl. its drain after the window): "
                f"{ours.stored_rate / phoenix.stored_rate:.1f}x"
            )
    return 0 if all(r.exactly_once for r in results if r.target.startswith("tracerail")) else 1


if __name__ == "__main__":
    raise SystemExit(main())

"""A real collector in a child process (``tracerail collector serve``), for fault tests.

chDB allows one data path per process, so the test process never opens the child's data: it
asks a short-lived helper process (:func:`query_stopped`) once the collector has stopped.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import psutil

from tests.support.server import free_port


@dataclass
class CollectorProcess:
    data_dir: Path
    port: int = field(default_factory=free_port)
    storage: str | None = None
    env: dict[str, str] = field(default_factory=dict)
    new_session: bool = False  # its own process group, to signal the group without the tests
    process: subprocess.Popen[bytes] | None = None
    log: Path | None = None
    base_url: str = field(init=False)
    chdb_dsn: str = field(init=False)  # its embedded ClickHouse, in the data directory

    def __post_init__(self) -> None:
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.chdb_dsn = f"chdb://{self.data_dir / 'chdb'}"

    def start(self, *, ready_path: str = "/readyz", timeout: float = 90.0) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        env = {
            **os.environ,
            "TRACERAIL_WAL_DIR": str(self.data_dir / "wal"),
            "TRACERAIL_AUTH": "off",
            **self.env,
        }
        self.log = self.data_dir / f"collector-{int(time.time() * 1000)}.log"
        with self.log.open("wb") as log:
            self.process = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "tracerail",
                    "collector",
                    "serve",
                    "--host",
                    "127.0.0.1",
                    "--port",
                    str(self.port),
                    "--grpc-port",
                    "0",  # OTLP/gRPC is not under test here; never depend on 4317 being free
                    "--storage",
                    self.storage or self.chdb_dsn,
                    "--log-level",
                    "warning",
                ],
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=self.new_session,
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"collector exited: {self.log.read_text()[-3000:]}")
            try:
                if httpx.get(self.base_url + ready_path, timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"collector not ready: {self.log.read_text()[-3000:]}")

    def descendants(self) -> list[psutil.Process]:
        """The collector's processes below it (forkserver, ingest workers, ...), right now."""
        assert self.process is not None
        return psutil.Process(self.process.pid).children(recursive=True)

    def kill9(self) -> list[psutil.Process]:
        """``kill -9`` the collector; returns its descendants as they were just before."""
        assert self.process is not None
        below = self.descendants()
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=30)
        return below

    def stop(self) -> None:
        """Graceful stop (SIGTERM): uvicorn finishes requests, ingest drains."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=30)

    def rss_bytes(self) -> int:
        assert self.process is not None
        return int(psutil.Process(self.process.pid).memory_info().rss)


def still_running(processes: list[psutil.Process], timeout: float) -> list[psutil.Process]:
    """Those of ``processes`` still running after up to ``timeout`` seconds (zombies have ended)."""
    deadline = time.monotonic() + timeout
    while True:
        running = []
        for process in processes:
            try:
                if process.is_running() and process.status() != psutil.STATUS_ZOMBIE:
                    running.append(process)
            except psutil.NoSuchProcess:
                pass
        if not running or time.monotonic() >= deadline:
            return running
        time.sleep(0.1)


_QUERY = """
import json, sys
import clickhouse_connect
client = clickhouse_connect.get_client(dsn=sys.argv[1])
result = client.query(sys.argv[2])
print(json.dumps([list(map(str, row)) for row in result.result_rows]))
"""


def query_stopped(collector: CollectorProcess, sql: str) -> list[list[str]]:
    """Run ``sql`` on a stopped collector's chDB data in a helper process."""
    assert collector.process is None or collector.process.poll() is not None
    result = subprocess.run(
        [sys.executable, "-c", _QUERY, collector.chdb_dsn, sql],
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    rows: list[list[str]] = json.loads(result.stdout.strip().splitlines()[-1])
    return rows

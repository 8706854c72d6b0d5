"""``make run``: start the collector on embedded storage, send demo traffic, show the traces.

The collector keeps running (Ctrl-C stops it) so you can keep querying it; pass ``--exit`` to
stop after the demo.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

HERE = Path(__file__).resolve().parent


def wait_ready(base: str, process: subprocess.Popen[bytes], timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"collector exited with code {process.returncode}; see the log above")
        try:
            with urllib.request.urlopen(f"{base}/readyz", timeout=2) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(0.3)
    raise SystemExit(f"collector not ready after {timeout:.0f}s")


def get_json(url: str) -> dict[str, object]:
    with urllib.request.urlopen(url, timeout=10) as response:
        result: dict[str, object] = json.load(response)
        return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, default=4318)
    parser.add_argument(
        "--grpc-port", type=int, default=4317, help="OTLP/gRPC port; 0 turns it off"
    )
    parser.add_argument("--data-dir", default=str(HERE.parent / ".tracerail-data"))
    parser.add_argument("--exit", action="store_true", help="stop the collector after the demo")
    args = parser.parse_args()

    base = f"http://127.0.0.1:{args.port}"
    storage = f"chdb://{Path(args.data_dir).resolve() / 'chdb'}"
    print(f"==> starting the collector on {base} (storage {storage})", flush=True)
    collector = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tracerail",
            "collector",
            "serve",
            "--port",
            str(args.port),
            "--grpc-port",
            str(args.grpc_port),
            "--storage",
            storage,
            "--log-level",
            "warning",
        ],
    )
    try:
        wait_ready(base, collector)
        print("==> running examples/quickstart.py against it", flush=True)
        env = {**os.environ, "TRACERAIL_ENDPOINT": base}
        subprocess.run([sys.executable, str(HERE / "quickstart.py")], check=True, env=env)

        spans = get_json(f"{base}/api/v1/spans?limit=20")["spans"]
        assert isinstance(spans, list)
        print(f"\n==> the collector stored {len(spans)} recent spans:")
        for span in spans[:10]:
            tokens = (
                f"{span['input_tokens']}+{span['output_tokens']} tok"
                if span["input_tokens"]
                else ""
            )
            cost = f"${span['cost_usd']:.8f}" if span.get("cost_usd") is not None else ""
            print(
                f"  {span['trace_id']}  {span['name']:<18} {span['observation_kind']:<10}"
                f" {span['duration_ms']:7.2f} ms  {tokens:<12} {cost}"
            )
        trace_id = spans[0]["trace_id"] if spans else "<trace id>"
        print(
            f"""
==> query them:
  curl '{base}/api/v1/spans?limit=10'
  curl '{base}/api/v1/spans?kind=generation&service=quickstart'
  curl '{base}/api/v1/traces/{trace_id}'
  API docs: {base}/docs
""",
            flush=True,
        )
        if args.exit or os.environ.get("TRACERAIL_DEMO_EXIT") == "1":
            return 0
        print("collector running; Ctrl-C to stop", flush=True)
        collector.wait()
    except KeyboardInterrupt:
        pass
    finally:
        collector.terminate()
        try:
            collector.wait(timeout=20)
        except subprocess.TimeoutExpired:
            collector.kill()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

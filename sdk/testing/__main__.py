"""``python -m tracerail.testing [--port N]``: serve the local model API until interrupted."""

from __future__ import annotations

import argparse
import threading

from tracerail.testing.server import LocalModelServer


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args()
    with LocalModelServer(port=args.port) as server:
        print(f"local model API on {server.url} (OpenAI base_url {server.openai_base_url})")
        print(f"PORT {server.port}", flush=True)
        try:
            threading.Event().wait()
        except KeyboardInterrupt:
            pass


if __name__ == "__main__":
    main()

"""Run the ``make run`` support bot (``examples/support_bot.py``) against a test collector."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx

from tracerail import semconv

ROOT = Path(__file__).resolve().parents[2]


def all_spans(api: httpx.Client) -> list[dict[str, Any]]:
    """Every stored span as ``GET /api/v1/spans`` lists them, all pages."""
    spans: list[dict[str, Any]] = []
    cursor = None
    while True:
        params: dict[str, Any] = {"limit": 1000, **({"cursor": cursor} if cursor else {})}
        page = api.get("/api/v1/spans", params=params).json()
        spans += page["spans"]
        cursor = page["next_cursor"]
        if not cursor:
            return spans


def run_support_bot(base_url: str) -> dict[str, Any]:
    """Send the bot's traffic; the newest redact and block decisions once both are stored."""
    env = {**os.environ, semconv.ENV_ENDPOINT: base_url}
    subprocess.run(
        [sys.executable, str(ROOT / "examples" / "support_bot.py")],
        check=True,
        env=env,
        capture_output=True,
        timeout=180,
    )
    found: dict[str, Any] = {}
    with httpx.Client(base_url=base_url, timeout=30) as client:
        for _ in range(100):  # the last spans may still be on their way into storage
            for action in ("redact", "block"):
                events = client.get("/api/v1/guardrails/events", params={"action": action})
                if events.json()["events"]:
                    found[action] = events.json()["events"][0]
            if len(found) == 2:
                break
            time.sleep(0.2)
    assert set(found) == {"redact", "block"}, found
    return found

"""The ``tracerail`` command and the ``make run`` demo, as real subprocesses."""

from __future__ import annotations

import functools
import json
import signal
import subprocess
import sys
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from tests.support.server import free_port

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.e2e


def _tracerail(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "tracerail", *args], capture_output=True, text=True, timeout=timeout
    )


def test_help_lists_commands() -> None:
    result = _tracerail("--help")
    assert result.returncode == 0
    assert "collector" in result.stdout
    serve = _tracerail("collector", "serve", "--help")
    assert serve.returncode == 0
    for option in ("--host", "--port", "--storage"):
        assert option in serve.stdout


def test_migrate_command_is_idempotent(tmp_path: Path) -> None:
    storage = f"chdb://{tmp_path / 'chdb'}"
    first = _tracerail("collector", "migrate", "--storage", storage)
    assert first.returncode == 0, first.stderr
    assert "applied migrations: 1" in first.stdout
    second = _tracerail("collector", "migrate", "--storage", storage)
    assert second.returncode == 0, second.stderr
    assert "up to date" in second.stdout


@pytest.mark.slow
def test_make_run_demo_tells_the_story(tmp_path: Path) -> None:
    """What ``make run`` runs, read back through the API while its collector is still up.

    The support bot's traffic must leave something true on every page: conversations of
    several users, a redacted name and e-mail, a blocked injection, answers scored by the
    default evaluator, human labels from the review API and a corrected rate from them.
    """
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    demo = subprocess.Popen(
        [
            sys.executable,
            str(ROOT / "examples" / "run_demo.py"),
            "--port",
            str(port),
            "--grpc-port",
            "0",
            "--data-dir",
            str(tmp_path),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    lines: list[str] = []
    try:
        assert demo.stdout is not None
        for line in demo.stdout:  # the demo prints this once everything is in place
            lines.append(line)
            if "collector running; Ctrl-C to stop" in line:
                break
        out = "".join(lines)
        assert demo.poll() is None, out
        _check_story(base, out)
    finally:
        demo.send_signal(signal.SIGINT)  # the demo stops its collector in ``finally``
        try:
            demo.wait(timeout=60)
        except subprocess.TimeoutExpired:
            demo.kill()
            demo.wait()
    assert demo.returncode == 0, "".join(lines)


def _check_story(base: str, out: str) -> None:
    get = functools.partial(_get, base)
    assert f"open the dashboard: {base}/" in out
    for page in ("Overview", "Traces", "Sessions and Users", "Audit log", "Review"):
        assert page in out

    generations = get("/api/v1/spans", kind="generation", service="support-bot", limit=500)
    spans = generations["spans"]
    users = {s["user_id"] for s in get("/api/v1/spans", limit=500)["spans"] if s.get("user_id")}
    sessions = {
        s["session_id"] for s in get("/api/v1/spans", limit=500)["spans"] if s.get("session_id")
    }
    assert len(spans) >= 40
    assert len(users) >= 5 and len(sessions) > len(users), (users, sessions)
    assert {"retrieval", "agent"} <= {
        s["observation_kind"] for s in get("/api/v1/spans", limit=500)["spans"]
    }

    redacted = get("/api/v1/guardrails/events", action="redact")["events"]
    assert {"PERSON", "EMAIL_ADDRESS"} <= {t for e in redacted for t in e["entity_types"]}
    trace = get(f"/api/v1/traces/{redacted[0]['trace_id']}")
    stored = json.dumps(trace)
    assert "maria.garcia@example.com" not in stored and "Maria Garcia" not in stored
    assert redacted[0]["trace_id"] in out

    (tool,) = get("/api/v1/spans", kind="tool", limit=1)["spans"]  # the agent's order lookup
    assert tool["trace_id"] in out

    blocked = get("/api/v1/guardrails/events", action="block")["events"]
    assert [e["check_name"] for e in blocked] == ["injection"]
    assert blocked[0]["trace_id"] in out

    online = get("/api/v1/evaluators")["online"]
    assert online["evaluator"] == "heuristic" and online["pending"] == 0

    rates = get("/api/v1/metrics/hallucination-rate", group_by="model")["groups"]
    validated = [g["corrected"] for g in rates if g.get("corrected") and g["validated"]]
    assert validated, rates
    best = validated[0]
    assert best["evaluator"] == "heuristic" and best["source"] == "auto"
    assert best["scored"] >= 30 and best["labels"] >= 30
    # The scripted answers are a mix: both kinds were scored and labelled.
    agreement = best["agreement"]
    assert agreement["tp"] + agreement["fn"] > 0 and agreement["tn"] + agreement["fp"] > 0
    assert best["corrected_rate"] is not None
    low, high = best["corrected_ci95"]
    assert low <= best["corrected_rate"] <= high
    assert f"corrected rate {best['corrected_rate']:.2f}" in out

    queue = get("/api/v1/review/sample", population="scored", period="all", per_stratum=1000)
    assert queue["labelled"] >= 30
    assert all(item["review"] is not None for item in queue["items"])

    # The redacted customer's answer was scored by the evaluator and labelled by the reviewer.
    scores = get("/api/v1/scores", trace_id=redacted[0]["trace_id"])["scores"]
    by_source = {s["source"]: s for s in scores if s["name"] == "hallucination"}
    assert by_source["auto"]["evaluator"] == "heuristic"
    assert by_source["human"]["reviewer"] == "demo-reviewer"


def _get(base: str, path: str, **params: object) -> Any:
    query = "?" + urllib.parse.urlencode(params) if params else ""
    with urllib.request.urlopen(base + path + query, timeout=30) as response:
        return json.load(response)

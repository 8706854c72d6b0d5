"""``make run``: start the collector on embedded storage, send it a support bot's traffic, and
show what tracerail makes of it.

The bot (``examples/support_bot.py``) talks to a scripted local model through the instrumented
OpenAI client: several users in multi-turn conversations, answers from retrieved help articles
(some grounded, some not), a prompt with a name and an e-mail address (redacted), a prompt
injection (blocked). The collector's online evaluator scores the answers with the default
evaluator; the demo then plays a reviewer who labels every scored answer truthfully through the
review API, so the hallucination rate is shown raw and corrected for the evaluator's error.

The collector keeps running (Ctrl-C stops it) so you can keep querying it; pass ``--exit`` to
stop after the demo.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

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


# The collector's online evaluator scores the bot's answers with the default evaluator as they
# arrive; a demo's few dozen answers are scored within seconds at this rate.
COLLECTOR_ENV = {
    "TRACERAIL_ONLINE_EVAL_ENABLED": "true",
    "TRACERAIL_ONLINE_EVAL_RATE_PER_SECOND": "200",
    "TRACERAIL_ONLINE_EVAL_INTERVAL_SECONDS": "0.3",
}
REVIEWER = "demo-reviewer"


def post_json(url: str, body: dict[str, object]) -> dict[str, object]:
    request = urllib.request.Request(
        url,
        data=json.dumps(body).encode(),
        headers={"content-type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        result: dict[str, object] = json.load(response)
        return result


def wait_scored(base: str, timeout: float = 90.0) -> dict[str, object]:
    """Wait until the online evaluator has scored what it can; its progress.

    It is done when nothing is pending, or when all that is left are answers it failed on
    (it passes over those until a restart); then the failure is reported.
    """
    deadline = time.monotonic() + timeout
    online: dict[str, Any] = {}
    while time.monotonic() < deadline:
        online = dict(get_json(f"{base}/api/v1/evaluators")["online"])  # type: ignore[call-overload]
        pending, errors = int(online.get("pending") or 0), int(online.get("errors") or 0)
        if int(online.get("scored") or 0) > 0 and pending == 0:
            return online
        if errors and pending <= errors:
            raise SystemExit(f"the online evaluator failed: {online.get('last_error')}")
        time.sleep(0.5)
    raise SystemExit(f"the online evaluator did not finish in {timeout:.0f}s: {online}")


def _ci(pair: object) -> str:
    if isinstance(pair, list) and len(pair) == 2:
        return f"[{pair[0]:.2f}, {pair[1]:.2f}]"
    return "[-]"


def tell_story(base: str) -> dict[str, object]:
    """Score, review and read back what the bot's traffic shows; the numbers to point at."""
    from support_bot import TRUE_LABELS, conversations

    online = wait_scored(base)
    print(
        f"\n==> the online evaluator ({online['evaluator']} {online['version']}) has scored "
        "every answer that had sources",
        flush=True,
    )
    # Play the reviewer: draw every scored answer from the review queue and label it with the
    # truth the demo script knows (tracerail review import does the same from a file). The
    # scores are written in batches: wait until the queue holds every answer the bot gave from
    # an article.
    expected = sum(1 for _, _, turns in conversations() for turn in turns if turn.article)
    queue = f"{base}/api/v1/review/sample?population=scored&period=all&per_stratum=1000&limit=500"
    deadline = time.monotonic() + 60
    sample = get_json(queue)
    while int(sample["total"]) < expected and time.monotonic() < deadline:  # type: ignore[call-overload]
        time.sleep(0.5)
        sample = get_json(queue)
    items = sample["items"]
    assert isinstance(items, list)
    labels = [
        {"trace_id": i["trace_id"], "span_id": i["span_id"], "label": TRUE_LABELS[i["answer"]]}
        for i in items
        if i["answer"] in TRUE_LABELS
    ]
    written = post_json(f"{base}/api/v1/review/labels", {"reviewer": REVIEWER, "labels": labels})
    print(f"==> {REVIEWER} labelled {written['written']} of them through the review API")

    rates = get_json(f"{base}/api/v1/metrics/hallucination-rate?group_by=model")
    groups = rates["groups"]
    assert isinstance(groups, list)
    for group in groups:
        best = group.get("corrected")
        if not best:
            continue
        corrected = best.get("corrected_rate")
        print(
            f"    {group['group']}: {best['scored']} answers scored, raw rate"
            f" {best['raw_rate']:.2f} {_ci(best['raw_ci95'])}, {best['labels']} human labels,"
            f" sensitivity {best['sensitivity']:.2f}, specificity {best['specificity']:.2f},"
            + (
                f" corrected rate {corrected:.2f} {_ci(best['corrected_ci95'])}"
                if corrected is not None
                else f" {best.get('reason') or 'no corrected rate'}"
            )
        )
    decisions = {}
    for action in ("redact", "block", "flag"):
        found = get_json(f"{base}/api/v1/guardrails/events?action={action}&limit=20")["events"]
        assert isinstance(found, list)
        decisions[action] = found
        if found:
            checks = sorted({str(e.get("check_name") or "") for e in found} - {""})
            entities = sorted({str(t) for e in found for t in e.get("entity_types") or []})
            print(
                f"==> guardrail {action}: {len(found)} decision(s) by {', '.join(checks)}"
                + (f" (entities {', '.join(entities)})" if entities else "")
            )
    tools = get_json(f"{base}/api/v1/spans?kind=tool&limit=1")["spans"]
    assert isinstance(tools, list)
    return {"decisions": decisions, "rates": rates, "tool_trace": _first_trace(tools)}


def _first_trace(events: object) -> str | None:
    if isinstance(events, list) and events:
        trace_id = events[0].get("trace_id")
        return str(trace_id) if trace_id else None
    return None


def print_pages(base: str, story: dict[str, object]) -> None:
    decisions = story["decisions"]
    assert isinstance(decisions, dict)
    redacted = _first_trace(decisions.get("redact"))
    blocked = _first_trace(decisions.get("block"))
    tool = story.get("tool_trace")
    print(
        f"""
==> open the dashboard: {base}/
  1. Overview: calls, tokens and cost per model; the hallucination rate raw and corrected for
     the evaluator's measured error, with intervals, from the human labels.
  2. Traces: every support turn (agent -> tool, retrieval, chat) as a waterfall; click a span
     for its messages, tokens, cost, guardrail decisions, sources and scores. For example
       the customer whose name and e-mail were redacted: {base}/#trace/{redacted or "-"}
       the prompt injection that was blocked:            {base}/#trace/{blocked or "-"}
       the model calling the lookup_order tool:          {base}/#trace/{tool or "-"}
  3. Sessions and Users: each conversation's turns in order (cost, tokens, latency, guardrail
     actions, hallucination flag), e.g. {base}/#session/conv-bob-1; per-user totals.
  4. Audit log: the redact and block decisions, with entity types and the policy version.
  5. Review: the answers side by side with their sources, and the labels just given.
  API: {base}/docs    e.g. curl '{base}/api/v1/metrics/hallucination-rate'
""",
        flush=True,
    )


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, default=4318)
    parser.add_argument(
        "--grpc-port", type=int, default=4317, help="OTLP/gRPC port; 0 turns it off"
    )
    parser.add_argument("--data-dir", default=str(HERE.parent / ".tracerail-data"))
    parser.add_argument("--exit", action="store_true", help="stop the collector after the demo")
    args = parser.parse_args()
    # Ctrl-C, kill and a closed terminal all stop the collector too (the ``finally`` below),
    # even when started in the background (where SIGINT is inherited as ignored).
    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, _interrupt)

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
        env={**os.environ, **COLLECTOR_ENV},
    )
    try:
        wait_ready(base, collector)
        print(
            "==> running examples/support_bot.py against it (scripted model, offline)", flush=True
        )
        env = {**os.environ, "TRACERAIL_ENDPOINT": base}
        subprocess.run([sys.executable, str(HERE / "support_bot.py")], check=True, env=env)
        story = tell_story(base)
        print_pages(base, story)
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

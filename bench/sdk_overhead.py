"""Per-call overhead of ``@observe`` and of an instrumented OpenAI client, in one run.

Baseline: a bare OpenTelemetry span (``start_as_current_span``) on the same kind of
TracerProvider with the same BatchSpanProcessor and exporter (one that discards, so the
exporter's cost is not measured). Guardrails are off for the client (``guardrails=False``).
Prints per-call microseconds and ratios; the best of many interleaved rounds is used. The
"text captured" row records a question and an answer, which first pass the default policy's
``redact`` checks (PII, secrets): the cost of recording content without raw PII.

    .venv/bin/python bench/sdk_overhead.py [--calls 1000] [--rounds 30] [--client-calls 50]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from collections.abc import Callable, Sequence

import openai
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter, SpanExportResult

import tracerail


class DiscardExporter(SpanExporter):
    """Accepts every batch and drops it."""

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        return SpanExportResult.SUCCESS


def best_per_call_us(
    fns: dict[str, Callable[[], object]], calls: int, rounds: int
) -> dict[str, float]:
    """Run each function ``calls`` times per round, interleaved over ``rounds``; the best round
    per function (noise on a shared machine only ever adds time)."""
    best = dict.fromkeys(fns, float("inf"))
    for _ in range(rounds):
        for name, fn in fns.items():
            start = time.perf_counter()
            for _ in range(calls):
                fn()
            best[name] = min(best[name], (time.perf_counter() - start) / calls * 1e6)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--calls", type=int, default=1_000)
    parser.add_argument("--client-calls", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=30)
    args = parser.parse_args()

    bare_provider = TracerProvider()
    bare_provider.add_span_processor(BatchSpanProcessor(DiscardExporter()))
    bare_tracer = bare_provider.get_tracer("bench")

    def noop() -> None:
        return None

    def bare_span() -> None:
        with bare_tracer.start_as_current_span("noop"):
            noop()

    tracerail.init(tracer_provider=TracerProvider(), span_exporter=DiscardExporter())
    observed = tracerail.observe(noop)
    observed_no_content = tracerail.observe(capture_input=False, capture_output=False)(noop)

    def answer(question: str) -> str:
        return "Refunds are issued within 14 days of the return."

    # Text in and out: what is recorded first passes the default policy's redact checks.
    observed_text = tracerail.observe(answer)

    best = best_per_call_us(
        {
            "bare OTel span": bare_span,
            "@observe (input/output captured)": observed,
            "@observe (capture off)": observed_no_content,
            "@observe (text captured, redacted)": lambda: observed_text("Refund for order 1042?"),
            "no-op, no span": noop,
        },
        args.calls,
        args.rounds,
    )
    base = best["bare OTel span"]
    print(f"per call, best of {args.rounds} interleaved rounds of {args.calls} calls")
    for name, value in best.items():
        print(f"  {name:<36} {value:8.2f} us   {value / base:5.2f}x bare span")

    # The model server runs in its own process so its threads do not compete for our GIL.
    server = subprocess.Popen(
        [sys.executable, "-m", "tracerail.testing"], stdout=subprocess.PIPE, text=True
    )
    try:
        assert server.stdout is not None
        port = next(line.split()[1] for line in server.stdout if line.startswith("PORT"))
        base_url = f"http://127.0.0.1:{port}/v1"
        messages = [{"role": "user", "content": "How long do refunds take?"}]

        def client(instrumented: bool) -> openai.OpenAI:
            raw = openai.OpenAI(base_url=base_url, api_key="t", max_retries=0)
            return tracerail.instrument(raw, guardrails=False) if instrumented else raw

        plain, traced = client(False), client(True)

        def call(c: openai.OpenAI) -> Callable[[], object]:
            return lambda: c.chat.completions.create(model="gpt-4o-mini", messages=messages)  # type: ignore[arg-type]

        client_us = best_per_call_us(
            {"plain": call(plain), "traced": call(traced)}, args.client_calls, args.rounds
        )
        plain_us, traced_us = client_us["plain"], client_us["traced"]
        rounds = f"{args.rounds}x{args.client_calls}"
        print(f"chat.completions.create, local server process, best of {rounds}")
        print(f"  {'plain client':<36} {plain_us:8.1f} us")
        print(f"  {'instrumented (guardrails off)':<36} {traced_us:8.1f} us")
        print(
            f"  overhead {traced_us - plain_us:+.1f} us per call "
            f"({traced_us / plain_us:.3f}x); bare span for scale {base:.2f} us"
        )
    finally:
        server.terminate()
        server.wait(timeout=10)
    tracerail.shutdown()
    bare_provider.shutdown()


if __name__ == "__main__":
    main()

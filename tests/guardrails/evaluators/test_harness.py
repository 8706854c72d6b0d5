"""The evaluation harness: metrics checked against hand-computed cases, loading errors."""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from pathlib import Path

import pytest

from tests.support.evaluators import KeywordEvaluator
from tracerail.guardrails.evaluators.harness import (
    ConfusionMatrix,
    DatasetError,
    Item,
    auroc,
    format_report,
    load_items,
    percentile,
    run,
)


def test_auroc_without_ties() -> None:
    # positives 0.35 and 0.8 against negatives 0.1 and 0.4: 0.35 beats one, 0.8 beats two: 3/4
    assert auroc([0.1, 0.4, 0.35, 0.8], [False, False, True, True]) == pytest.approx(0.75)


def test_auroc_with_ties_counts_one_half() -> None:
    # positives 0.5, 0.2; negatives 0.5, 0.2, 0.1.
    # 0.5: tie (0.5) + 1 + 1 = 2.5; 0.2: 0 + tie (0.5) + 1 = 1.5; (2.5 + 1.5) / 6
    scores = [0.5, 0.2, 0.5, 0.2, 0.1]
    labels = [True, True, False, False, False]
    assert auroc(scores, labels) == pytest.approx(4 / 6)


def test_auroc_edge_cases() -> None:
    assert auroc([0.3] * 4, [True, False, True, False]) == pytest.approx(0.5)
    assert auroc([0.0, 1.0], [False, True]) == 1.0
    assert auroc([1.0, 0.0], [False, True]) == 0.0
    assert math.isnan(auroc([0.2, 0.4], [True, True]))
    with pytest.raises(ValueError, match="length"):
        auroc([0.1], [True, False])


def test_confusion_matrix_and_balanced_accuracy() -> None:
    pairs = [(True, True)] * 8 + [(True, False)] * 2 + [(False, True)] * 3 + [(False, False)] * 27
    cm = ConfusionMatrix.count(pairs)
    assert (cm.tp, cm.fn, cm.fp, cm.tn) == (8, 2, 3, 27)
    assert cm.sensitivity == pytest.approx(0.8)
    assert cm.specificity == pytest.approx(0.9)
    assert cm.balanced_accuracy == pytest.approx(0.85)
    assert cm.accuracy == pytest.approx(35 / 40)


def test_balanced_accuracy_does_not_reward_always_one_label() -> None:
    always_grounded = ConfusionMatrix.count([(False, False)] * 90 + [(True, False)] * 10)
    assert always_grounded.accuracy == pytest.approx(0.9)
    assert always_grounded.balanced_accuracy == pytest.approx(0.5)


def test_percentile_is_nearest_rank() -> None:
    values = [float(v) for v in range(10, 0, -1)]
    assert percentile(values, 50) == 5.0
    assert percentile(values, 95) == 10.0
    assert percentile([3.0], 50) == 3.0
    assert math.isnan(percentile([], 50))


def _write(path: Path, lines: Sequence[str]) -> Path:
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _row(**fields: object) -> str:
    base: dict[str, object] = {"sources": ["S."], "answer": "A.", "label": "grounded"}
    return json.dumps({**base, **fields})


def test_load_items_keeps_fields_and_extra(tmp_path: Path) -> None:
    path = _write(
        tmp_path / "d.jsonl",
        [_row(id="x1", kind="paraphrase", question="Q?", scenario="s1"), "", _row()],
    )
    first, second = load_items(path)
    assert first == Item("x1", "A.", ("S.",), "grounded", "Q?", "paraphrase", {"scenario": "s1"})
    assert second.id == "line-3"
    assert second.kind == ""


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ('{"sources": [', "invalid JSON"),
        ("[1, 2]", "expected a JSON object"),
        ('{"answer": "A.", "label": "grounded"}', "missing field(s) sources"),
        (_row(sources="one string"), "'sources' must be a list of strings"),
        (_row(label="maybe"), "'label' must be 'grounded' or 'hallucinated'"),
        (_row(answer=3), "'answer' must be a string"),
    ],
)
def test_load_errors_name_the_line(tmp_path: Path, line: str, message: str) -> None:
    path = _write(tmp_path / "bad.jsonl", [_row(), line])
    with pytest.raises(DatasetError) as caught:
        load_items(path)
    assert f"bad.jsonl:2: {message}" in str(caught.value)


def test_load_errors_for_missing_and_empty_files(tmp_path: Path) -> None:
    with pytest.raises(DatasetError, match="cannot read"):
        load_items(tmp_path / "nope.jsonl")
    with pytest.raises(DatasetError, match="no items"):
        load_items(_write(tmp_path / "empty.jsonl", [""]))


def _by_word() -> KeywordEvaluator:
    """Scores 0.9 when the answer contains 'wrong', 0.6 with 'maybe', else 0.1; 'boom' raises."""
    return KeywordEvaluator(
        "by-word", "1", {"wrong": 0.9, "maybe": 0.6}, default=0.1, failure="exploded"
    )


def _items() -> list[Item]:
    return [
        Item("1", "wrong", ("s",), "hallucinated", kind="wrong_number"),
        Item("2", "fine", ("s",), "hallucinated", kind="wrong_number"),
        Item("3", "fine", ("s",), "grounded", kind="paraphrase"),
        Item("4", "maybe", ("s",), "grounded", kind="paraphrase"),
        Item("5", "boom", ("s",), "grounded", kind="abstention"),
    ]


def test_run_counts_per_kind_and_turns_errors_into_flags() -> None:
    done: list[int] = []
    report = run(_by_word(), _items(), progress=done.append)
    assert done == [1, 2, 3, 4, 5]
    cm = report.confusion
    assert (cm.tp, cm.fn, cm.fp, cm.tn) == (1, 1, 2, 1)
    assert cm.balanced_accuracy == pytest.approx((1 / 2 + 1 / 3) / 2)
    # positives 0.9, 0.1 vs negatives 0.1, 0.6, 1.0 (error): 0.9 beats 2; 0.1 ties 1 → 2.5 / 6
    assert report.auroc == pytest.approx(2.5 / 6)
    kinds = {(s.kind, s.label): (s.n, s.correct) for s in report.by_kind()}
    assert kinds == {
        ("abstention", "grounded"): (1, 0),
        ("paraphrase", "grounded"): (2, 1),
        ("wrong_number", "hallucinated"): (2, 1),
    }
    assert report.errors == 1
    body = report.to_dict()
    assert body["items"][4]["error"] == "RuntimeError: exploded"
    assert body["confusion"] == {"tp": 1, "fn": 1, "fp": 2, "tn": 1}
    text = format_report(report)
    assert "balanced accuracy 0.417" in text
    assert "errors 1" in text


def test_an_explicit_threshold_overrides_the_evaluators_label() -> None:
    report = run(_by_word(), _items()[:4], threshold=0.7)
    cm = report.confusion
    assert (cm.tp, cm.fn, cm.fp, cm.tn) == (1, 1, 0, 2)
    assert report.to_dict()["threshold"] == 0.7

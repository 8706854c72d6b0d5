"""Measure an evaluator on a labelled groundedness set: the figures behind every accuracy claim.

Input is JSON Lines, one object per line::

    {"sources": ["..."], "answer": "...", "label": "grounded" | "hallucinated",
     "question": "...", "kind": "paraphrase", "id": "..."}

``question``, ``kind`` and ``id`` are optional; any other field (``scenario``, ``domain``) is
kept in :attr:`Item.extra`. :func:`load_items` names the file and line of any bad input.

The positive class is *hallucinated*. Figures:

* confusion matrix at the threshold (``tp``: hallucinated and flagged, ``fn``: hallucinated and
  passed, ``fp``: grounded and flagged, ``tn``: grounded and passed);
* balanced accuracy = (sensitivity + specificity) / 2, so a set with more of one label cannot
  flatter an evaluator that always says that label;
* AUROC from the scores alone (Mann-Whitney: the probability that a random hallucinated item
  scores higher than a random grounded one, ties counting one half);
* accuracy per ``kind``; latency per item (p50/p95, nearest rank).

Pure: needs only the SDK and this package. The ``tracerail eval`` command prints it.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tracerail.guardrails.evaluators.base import (
    LABEL_GROUNDED,
    LABEL_HALLUCINATED,
    Evaluation,
    Evaluator,
)
from tracerail.guardrails.labelled import DatasetError, percentile, read_lines

__all__ = [
    "ConfusionMatrix",
    "DatasetError",
    "Item",
    "ItemResult",
    "KindStats",
    "Report",
    "auroc",
    "format_report",
    "load_items",
    "percentile",
    "run",
]

_LABELS = (LABEL_GROUNDED, LABEL_HALLUCINATED)
_KNOWN_FIELDS = frozenset({"sources", "answer", "label", "question", "kind", "id"})


@dataclass(frozen=True, slots=True)
class Item:
    """One labelled example."""

    id: str
    answer: str
    sources: tuple[str, ...]
    label: str
    question: str | None = None
    kind: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def hallucinated(self) -> bool:
        return self.label == LABEL_HALLUCINATED


def _item(row: object, where: str, line_no: int) -> Item:
    if not isinstance(row, dict):
        raise DatasetError(f"{where}: expected a JSON object, got {type(row).__name__}")
    missing = [name for name in ("sources", "answer", "label") if name not in row]
    if missing:
        raise DatasetError(f"{where}: missing field(s) {', '.join(missing)}")
    sources = row["sources"]
    if not isinstance(sources, list) or not all(isinstance(s, str) for s in sources):
        raise DatasetError(f"{where}: 'sources' must be a list of strings")
    answer = row["answer"]
    if not isinstance(answer, str):
        raise DatasetError(f"{where}: 'answer' must be a string")
    label = row["label"]
    if label not in _LABELS:
        raise DatasetError(f"{where}: 'label' must be 'grounded' or 'hallucinated', got {label!r}")
    question = row.get("question")
    if question is not None and not isinstance(question, str):
        raise DatasetError(f"{where}: 'question' must be a string")
    kind = row.get("kind", "")
    if not isinstance(kind, str):
        raise DatasetError(f"{where}: 'kind' must be a string")
    item_id = row.get("id", f"line-{line_no}")
    extra = {k: v for k, v in row.items() if k not in _KNOWN_FIELDS}
    return Item(str(item_id), answer, tuple(sources), label, question, kind, extra)


def load_items(path: str | Path) -> list[Item]:
    """Read a labelled set; blank lines are skipped. Raises :class:`DatasetError`."""
    items: list[Item] = []
    for where, line_no, line in read_lines(path):
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            raise DatasetError(f"{where}: invalid JSON ({exc.msg}, column {exc.colno})") from exc
        items.append(_item(row, where, line_no))
    if not items:
        raise DatasetError(f"{path}: no items")
    return items


# --- metrics -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ConfusionMatrix:
    """Counts with *hallucinated* as the positive class."""

    tp: int = 0
    fn: int = 0
    fp: int = 0
    tn: int = 0

    @classmethod
    def count(cls, pairs: Iterable[tuple[bool, bool]]) -> ConfusionMatrix:
        """From ``(truly_hallucinated, flagged)`` pairs."""
        tp = fn = fp = tn = 0
        for truth, flagged in pairs:
            if truth and flagged:
                tp += 1
            elif truth:
                fn += 1
            elif flagged:
                fp += 1
            else:
                tn += 1
        return cls(tp, fn, fp, tn)

    @property
    def total(self) -> int:
        return self.tp + self.fn + self.fp + self.tn

    @property
    def sensitivity(self) -> float:
        """Share of hallucinated items flagged (NaN when there are none)."""
        positives = self.tp + self.fn
        return self.tp / positives if positives else math.nan

    @property
    def specificity(self) -> float:
        """Share of grounded items passed (NaN when there are none)."""
        negatives = self.fp + self.tn
        return self.tn / negatives if negatives else math.nan

    @property
    def accuracy(self) -> float:
        return (self.tp + self.tn) / self.total if self.total else math.nan

    @property
    def balanced_accuracy(self) -> float:
        """Mean of sensitivity and specificity; with one class present, that class's recall."""
        present = [r for r in (self.sensitivity, self.specificity) if not math.isnan(r)]
        return sum(present) / len(present) if present else math.nan


def auroc(scores: Sequence[float], positives: Sequence[bool]) -> float:
    """Area under the ROC curve: P(score of a positive > score of a negative), ties one half.

    Computed from average ranks (the Mann-Whitney U statistic). NaN when either class is empty.
    """
    if len(scores) != len(positives):
        raise ValueError("scores and labels differ in length")
    n_pos = sum(1 for p in positives if p)
    n_neg = len(positives) - n_pos
    if not n_pos or not n_neg:
        return math.nan
    order = sorted(range(len(scores)), key=lambda i: scores[i])
    ranks = [0.0] * len(scores)
    i = 0
    while i < len(order):
        j = i
        while j + 1 < len(order) and scores[order[j + 1]] == scores[order[i]]:
            j += 1
        average = (i + j) / 2 + 1  # ranks are 1-based
        for k in range(i, j + 1):
            ranks[order[k]] = average
        i = j + 1
    rank_sum = sum(r for r, p in zip(ranks, positives, strict=True) if p)
    u = rank_sum - n_pos * (n_pos + 1) / 2
    return u / (n_pos * n_neg)


# --- running -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ItemResult:
    item: Item
    score: float
    flagged: bool
    latency_ms: float
    explanation: str = ""
    error: str = ""

    @property
    def correct(self) -> bool:
        return self.flagged == self.item.hallucinated


@dataclass(frozen=True, slots=True)
class KindStats:
    kind: str
    label: str
    n: int
    correct: int

    @property
    def accuracy(self) -> float:
        return self.correct / self.n if self.n else math.nan


@dataclass(frozen=True, slots=True)
class Report:
    evaluator: str
    version: str
    threshold: float | None
    results: tuple[ItemResult, ...]

    @property
    def confusion(self) -> ConfusionMatrix:
        return ConfusionMatrix.count((r.item.hallucinated, r.flagged) for r in self.results)

    @property
    def auroc(self) -> float:
        return auroc([r.score for r in self.results], [r.item.hallucinated for r in self.results])

    @property
    def errors(self) -> int:
        return sum(1 for r in self.results if r.error)

    def by_kind(self) -> list[KindStats]:
        """Accuracy per ``kind`` (items without a kind grouped under ``""``), sorted by label."""
        groups: dict[tuple[str, str], list[ItemResult]] = {}
        for result in self.results:
            key = (result.item.kind, result.item.label)
            groups.setdefault(key, []).append(result)
        stats = [
            KindStats(kind, label, len(rs), sum(1 for r in rs if r.correct))
            for (kind, label), rs in groups.items()
        ]
        return sorted(stats, key=lambda s: (s.label, s.kind))

    def latency_ms(self, q: float) -> float:
        return percentile([r.latency_ms for r in self.results], q)

    def to_dict(self) -> dict[str, Any]:
        cm = self.confusion
        return {
            "evaluator": self.evaluator,
            "version": self.version,
            "threshold": self.threshold,
            "n": cm.total,
            "errors": self.errors,
            "balanced_accuracy": _finite(cm.balanced_accuracy),
            "accuracy": _finite(cm.accuracy),
            "sensitivity": _finite(cm.sensitivity),
            "specificity": _finite(cm.specificity),
            "auroc": _finite(self.auroc),
            "confusion": {"tp": cm.tp, "fn": cm.fn, "fp": cm.fp, "tn": cm.tn},
            "by_kind": [
                {
                    "kind": s.kind,
                    "label": s.label,
                    "n": s.n,
                    "correct": s.correct,
                    "accuracy": _finite(s.accuracy),
                }
                for s in self.by_kind()
            ],
            "latency_ms": {
                "p50": _finite(self.latency_ms(50)),
                "p95": _finite(self.latency_ms(95)),
            },
            "items": [
                {
                    "id": r.item.id,
                    "kind": r.item.kind,
                    "label": r.item.label,
                    "score": r.score,
                    "flagged": r.flagged,
                    "correct": r.correct,
                    "latency_ms": round(r.latency_ms, 4),
                    "explanation": r.explanation,
                    **({"error": r.error} if r.error else {}),
                }
                for r in self.results
            ],
        }


def _finite(value: float) -> float | None:
    return None if math.isnan(value) else round(value, 4)


def _evaluate(evaluator: Evaluator, item: Item) -> tuple[Evaluation | None, float, str]:
    started = time.perf_counter()
    try:
        evaluation = evaluator.evaluate(item.answer, item.sources, question=item.question)
    except Exception as exc:  # an evaluator's failure is one item's error, not the run's
        return None, (time.perf_counter() - started) * 1e3, f"{type(exc).__name__}: {exc}"
    return evaluation, (time.perf_counter() - started) * 1e3, ""


def run(
    evaluator: Evaluator,
    items: Sequence[Item],
    *,
    threshold: float | None = None,
    progress: Callable[[int], None] | None = None,
) -> Report:
    """Evaluate every item. With ``threshold`` an item is flagged when its score reaches it;
    without, the evaluator's own label decides. An item whose evaluation raises counts as
    flagged with score 1.0 (a failure never passes as grounded) and is listed with its error.
    """
    results: list[ItemResult] = []
    for done, item in enumerate(items, start=1):
        evaluation, latency, error = _evaluate(evaluator, item)
        if evaluation is None:
            results.append(ItemResult(item, 1.0, True, latency, error=error))
        else:
            flagged = (
                evaluation.hallucinated if threshold is None else evaluation.score >= threshold
            )
            results.append(
                ItemResult(item, evaluation.score, flagged, latency, evaluation.explanation)
            )
        if progress is not None:
            progress(done)
    return Report(evaluator.name, evaluator.version, threshold, tuple(results))


def _pct(value: float) -> str:
    return "  n/a" if math.isnan(value) else f"{value:.3f}"


def format_report(report: Report) -> str:
    """The report as plain text (what ``tracerail eval groundedness`` prints)."""
    cm = report.confusion
    threshold = "evaluator's own" if report.threshold is None else f"{report.threshold:g}"
    lines = [
        f"evaluator {report.evaluator} {report.version}  items {cm.total}  threshold {threshold}"
        + (f"  errors {report.errors}" if report.errors else ""),
        f"balanced accuracy {_pct(cm.balanced_accuracy)}  AUROC {_pct(report.auroc)}  "
        f"accuracy {_pct(cm.accuracy)}",
        f"sensitivity (hallucinated flagged) {_pct(cm.sensitivity)}  "
        f"specificity (grounded passed) {_pct(cm.specificity)}",
        "",
        "confusion matrix      flagged  passed",
        f"  hallucinated       {cm.tp:7d}  {cm.fn:6d}",
        f"  grounded           {cm.fp:7d}  {cm.tn:6d}",
        "",
        f"{'kind':<28} {'label':<13} {'n':>4} {'accuracy':>8}",
    ]
    for stats in report.by_kind():
        lines.append(
            f"{stats.kind or '-':<28} {stats.label:<13} {stats.n:4d} {_pct(stats.accuracy):>8}"
        )
    lines += [
        "",
        f"latency per item: p50 {report.latency_ms(50):.2f} ms  p95 {report.latency_ms(95):.2f} ms",
    ]
    return "\n".join(lines)

"""Scoring the ``content`` check against a labelled set: pure functions, no I/O beyond reading.

A labelled line is ``{"id", "text", "lang", "labels": [category, ...], "kind"}`` where
``labels`` lists the categories the text really contains (``[]`` for a clean text) and
``kind`` is one of ``plain`` and ``evasion`` (positives: written straight, or disguised with
traditional characters, full-width letters, separators, leetspeak, spacing) and
``hard_negative`` and ``clean`` (negatives: innocent texts that contain a sensitive-looking
substring or discuss the subject, and ordinary texts). The sets live in tests/data/content/.

Everything is scored at text level: a text *predicts* a category when the check reports at
least one finding of that type (the category upper-cased), wherever it is and however many.

* per category, precision ``tp / (tp + fp)`` and recall ``tp / (tp + fn)``, counted over texts;
* micro totals: the same counts summed over categories (one text with two gold categories
  counts twice); macro totals: the mean over the categories that have gold texts in the set,
  an undefined precision (nothing predicted) counting as 0, as scikit-learn's
  ``zero_division=0`` does;
* ``any``: the binary question "is this text sensitive at all", ignoring which category;
* the false-positive rate on hard negatives (and on clean texts): texts with any finding;
* evasion recall: the micro recall over the evasion texts only (and plain recall beside it);
* speed: milliseconds per KB (UTF-8) for each text, its median (nearest rank), and the total
  time over the total size.
"""

from __future__ import annotations

import dataclasses
import json
import time
from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

from tracerail.guardrails.labelled import DatasetError, percentile, read_lines, score_table

__all__ = [
    "CATEGORIES",
    "KINDS",
    "CategoryScore",
    "ContentReport",
    "DatasetError",
    "Example",
    "evaluate",
    "format_report",
    "load_examples",
]

#: The categories a labelled text may carry (the check reports them upper-cased).
CATEGORIES: Final = (
    "subversion",
    "national_security",
    "separatism",
    "terrorism",
    "hate",
    "violence",
    "sexual",
    "disinformation",
    "weapons",
    "drugs",
    "gambling",
    "fraud",
    "self_harm",
    "profanity",
    "discrimination_ethnic",
    "discrimination_religious",
    "discrimination_national",
    "discrimination_regional",
    "discrimination_gender",
    "discrimination_age",
    "discrimination_occupation",
    "discrimination_health",
    "discrimination_other",
)
POSITIVE_KINDS: Final = ("plain", "evasion")
NEGATIVE_KINDS: Final = ("hard_negative", "clean")
KINDS: Final = POSITIVE_KINDS + NEGATIVE_KINDS
LANGS: Final = ("zh", "en", "mixed")


@dataclass(frozen=True)
class Example:
    """One labelled text and the categories it really contains."""

    id: str
    text: str
    labels: frozenset[str]
    kind: str
    lang: str


def _example(row: object, where: str) -> Example:
    if not isinstance(row, dict):
        raise DatasetError(f"{where}: expected a JSON object, got {type(row).__name__}")
    missing = [key for key in ("id", "text", "labels", "kind", "lang") if key not in row]
    if missing:
        raise DatasetError(f"{where}: missing {', '.join(repr(k) for k in missing)}")
    text, labels, kind, lang = row["text"], row["labels"], row["kind"], row["lang"]
    if not isinstance(text, str) or not text.strip():
        raise DatasetError(f"{where}: 'text' must be a non-empty string")
    if not isinstance(labels, list) or not all(isinstance(x, str) for x in labels):
        raise DatasetError(f"{where}: 'labels' must be a list of category names")
    unknown = sorted(set(labels) - set(CATEGORIES))
    if unknown:
        raise DatasetError(f"{where}: unknown categories {', '.join(unknown)}")
    if kind not in KINDS:
        raise DatasetError(f"{where}: 'kind' must be one of {', '.join(KINDS)}, got {kind!r}")
    if lang not in LANGS:
        raise DatasetError(f"{where}: 'lang' must be one of {', '.join(LANGS)}, got {lang!r}")
    if (kind in POSITIVE_KINDS) != bool(labels):
        need = "at least one category" if kind in POSITIVE_KINDS else "no category ([])"
        raise DatasetError(f"{where}: a {kind} text needs {need}")
    return Example(str(row["id"]), text, frozenset(labels), kind, lang)


def load_examples(path: str | Path) -> list[Example]:
    """Read a labelled JSONL file; raises :class:`DatasetError` naming the bad line."""
    examples: list[Example] = []
    seen: dict[str, int] = {}
    for where, number, line in read_lines(path):
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            raise DatasetError(f"{where}: not JSON ({exc.msg})") from None
        example = _example(row, where)
        if example.id in seen:
            raise DatasetError(
                f"{where}: id {example.id!r} already used on line {seen[example.id]}"
            )
        seen[example.id] = number
        examples.append(example)
    if not examples:
        raise DatasetError(f"{path}: no labelled texts")
    return examples


@dataclass
class CategoryScore:
    """Text counts for one category; precision or recall is None when undefined."""

    tp: int = 0
    fp: int = 0
    fn: int = 0

    def add(self, other: CategoryScore) -> None:
        self.tp += other.tp
        self.fp += other.fp
        self.fn += other.fn

    @property
    def support(self) -> int:
        return self.tp + self.fn

    @property
    def predicted(self) -> int:
        return self.tp + self.fp

    @property
    def precision(self) -> float | None:
        return self.tp / self.predicted if self.predicted else None

    @property
    def recall(self) -> float | None:
        return self.tp / self.support if self.support else None

    @property
    def f1(self) -> float | None:
        p, r = self.precision, self.recall
        if p is None or r is None:
            return None
        return 2 * p * r / (p + r) if p + r else 0.0

    def as_dict(self) -> dict[str, Any]:
        return {
            "support": self.support,
            "predicted": self.predicted,
            **dataclasses.asdict(self),  # tp, fp, fn
            "precision": _round(self.precision),
            "recall": _round(self.recall),
            "f1": _round(self.f1),
        }


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 4)


@dataclass(frozen=True)
class TextResult:
    """What the check predicted for one text, and how long it took."""

    example: Example
    predicted: frozenset[str]
    ms: float

    @property
    def correct(self) -> bool:
        return self.predicted == self.example.labels

    def as_dict(self) -> dict[str, Any]:
        e = self.example
        return {
            "id": e.id,
            "kind": e.kind,
            "lang": e.lang,
            "labels": sorted(e.labels),
            "predicted": sorted(self.predicted),
            "missed": sorted(e.labels - self.predicted),
            "extra": sorted(self.predicted - e.labels),
            "ms": round(self.ms, 4),
        }


def _score(results: Iterable[TextResult]) -> dict[str, CategoryScore]:
    scores: dict[str, CategoryScore] = {}
    for result in results:
        gold, mine = result.example.labels, result.predicted
        for category in gold | mine:
            score = scores.setdefault(category, CategoryScore())
            if category in gold and category in mine:
                score.tp += 1
            elif category in mine:
                score.fp += 1
            else:
                score.fn += 1
    return scores


def _micro(scores: Iterable[CategoryScore]) -> CategoryScore:
    total = CategoryScore()
    for score in scores:
        total.add(score)
    return total


@dataclass
class ContentReport:
    """The scores of one run of the check over a labelled set."""

    results: list[TextResult] = field(default_factory=list)
    #: Categories the check can report (its libraries'), for the "covered" totals; None: all.
    covered: frozenset[str] | None = None

    @property
    def categories(self) -> dict[str, CategoryScore]:
        return _score(self.results)

    def micro(self, only: Collection[str] | None = None) -> CategoryScore:
        """Counts summed over categories (``only`` these, when given)."""
        return _micro(s for c, s in self.categories.items() if only is None or c in only)

    def macro(self, only: Collection[str] | None = None) -> dict[str, float | None]:
        """Mean precision and recall over the categories with gold texts (``only`` these)."""
        chosen = [
            s for c, s in self.categories.items() if s.support and (only is None or c in only)
        ]
        if not chosen:
            return {"precision": None, "recall": None, "categories": 0}
        return {
            "precision": sum(s.precision or 0.0 for s in chosen) / len(chosen),
            "recall": sum(s.recall or 0.0 for s in chosen) / len(chosen),
            "categories": len(chosen),
        }

    def binary(self) -> CategoryScore:
        """ "Sensitive or not", whatever the category: counts over texts."""
        out = CategoryScore()
        for r in self.results:
            gold, mine = bool(r.example.labels), bool(r.predicted)
            out.tp += int(gold and mine)
            out.fp += int(mine and not gold)
            out.fn += int(gold and not mine)
        return out

    def flagged_rate(self, kind: str) -> tuple[int, int]:
        """(texts of this kind with any finding, texts of this kind)."""
        of_kind = [r for r in self.results if r.example.kind == kind]
        return sum(1 for r in of_kind if r.predicted), len(of_kind)

    def kind_recall(self, kind: str) -> CategoryScore:
        """Micro counts over the texts of one kind (recall is what matters for positives)."""
        return _micro(_score(r for r in self.results if r.example.kind == kind).values())

    def lang_scores(self, lang: str) -> CategoryScore:
        return _micro(_score(r for r in self.results if r.example.lang == lang).values())

    @property
    def kilobytes(self) -> float:
        return sum(len(r.example.text.encode("utf-8")) for r in self.results) / 1024

    @property
    def ms_per_kb_p50(self) -> float:
        """Median over texts of each text's milliseconds per KB (nearest rank)."""
        per_text = [r.ms / (len(r.example.text.encode("utf-8")) / 1024) for r in self.results]
        return percentile(per_text, 50)

    @property
    def ms_per_kb_total(self) -> float:
        kb = self.kilobytes
        return sum(r.ms for r in self.results) / kb if kb else 0.0

    def as_dict(self, items: bool = True) -> dict[str, Any]:
        hard, hard_n = self.flagged_rate("hard_negative")
        clean, clean_n = self.flagged_rate("clean")
        covered = None if self.covered is None else sorted(self.covered)
        body: dict[str, Any] = {
            "texts": len(self.results),
            "kinds": {k: self.flagged_rate(k)[1] for k in KINDS},
            "categories": {c: s.as_dict() for c, s in sorted(self.categories.items())},
            "micro": self.micro().as_dict(),
            "macro": {k: _round(v) if k != "categories" else v for k, v in self.macro().items()},
            "covered_categories": covered,
            "covered_micro": self.micro(self.covered).as_dict(),
            "covered_macro": {
                k: _round(v) if k != "categories" else v
                for k, v in self.macro(self.covered).items()
            },
            "any": self.binary().as_dict(),
            "hard_negative_fp_rate": _round(hard / hard_n) if hard_n else None,
            "hard_negatives_flagged": hard,
            "clean_fp_rate": _round(clean / clean_n) if clean_n else None,
            "clean_flagged": clean,
            "evasion_recall": _round(self.kind_recall("evasion").recall),
            "plain_recall": _round(self.kind_recall("plain").recall),
            "langs": {
                lang: self.lang_scores(lang).as_dict()
                for lang in LANGS
                if any(r.example.lang == lang for r in self.results)
            },
            "ms_per_kb_p50": round(self.ms_per_kb_p50, 4) if self.results else None,
            "ms_per_kb_total": round(self.ms_per_kb_total, 4),
            "kilobytes": round(self.kilobytes, 2),
        }
        if items:
            body["items"] = [r.as_dict() for r in self.results]
        return body


def evaluate(
    examples: Sequence[Example],
    find: Callable[[str], Iterable[str]],
    *,
    covered: Collection[str] | None = None,
    progress: Callable[[int], None] | None = None,
) -> ContentReport:
    """Run ``find`` (text -> finding types) on every text and score it.

    Finding types are compared lower-cased with the labels (``"DRUGS"`` is ``drugs``).
    ``covered``: the categories the check can report, for the covered totals.
    """
    report = ContentReport(covered=None if covered is None else frozenset(covered))
    for done, example in enumerate(examples, 1):
        started = time.perf_counter()
        types = list(find(example.text))
        ms = (time.perf_counter() - started) * 1e3
        report.results.append(TextResult(example, frozenset(t.lower() for t in types), ms))
        if progress is not None:
            progress(done)
    return report


def _fmt(value: float | None) -> str:
    return "   -  " if value is None else f"{value:6.3f}"


def format_report(report: ContentReport) -> str:
    """A plain-text table per category, then totals, negatives, evasion, languages and speed."""
    head = f"{'category':26s} {'gold':>5s} {'found':>5s} {'tp':>4s} {'P':>6s} {'R':>6s}"

    def row(name: str, s: CategoryScore) -> str:
        return (
            f"{name:26s} {s.support:5d} {s.predicted:5d} {s.tp:4d} "
            f"{_fmt(s.precision)} {_fmt(s.recall)}"
        )

    macro = report.macro()
    totals = [
        row("micro", report.micro()),
        f"{'macro (' + str(macro['categories']) + ' categories)':26s} {'':5s} {'':5s} {'':4s} "
        f"{_fmt(macro['precision'])} {_fmt(macro['recall'])}",
    ]
    if report.covered is not None:
        totals.append(
            row(f"micro, {len(report.covered)} library cats", report.micro(report.covered))
        )
    totals.append(row("any category (binary)", report.binary()))
    rows = (row(name, score) for name, score in sorted(report.categories.items()))
    lines = score_table(head, rows, totals)
    lines.append("")
    for kind in NEGATIVE_KINDS:
        flagged, total = report.flagged_rate(kind)
        rate = f"{flagged / total:.1%}" if total else "-"
        lines.append(f"{kind} texts flagged: {flagged}/{total} ({rate})")
    for kind in POSITIVE_KINDS:
        s = report.kind_recall(kind)
        lines.append(f"{kind} recall: {_fmt(s.recall).strip()} ({s.tp}/{s.support} labels)")
    langs = [lang for lang in LANGS if any(r.example.lang == lang for r in report.results)]
    lines.append(
        "by language (micro P/R): "
        + ", ".join(
            f"{lang} {_fmt(s.precision).strip()}/{_fmt(s.recall).strip()}"
            for lang in langs
            for s in [report.lang_scores(lang)]
        )
    )
    if report.results:
        lines.append(
            f"speed: p50 {report.ms_per_kb_p50:.3f} ms per KB, overall "
            f"{report.ms_per_kb_total:.3f} ms per KB "
            f"({len(report.results)} texts, {report.kilobytes:.1f} KB)"
        )
    return "\n".join(lines)

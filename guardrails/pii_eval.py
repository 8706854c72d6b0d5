"""Scoring a PII detector against a labelled set: pure functions, no I/O beyond reading lines.

A labelled line is ``{"text", "entities": [{"type", "start", "end"}], "lookalikes": [...]}``
(``lookalikes`` optional: planted spans that look like personal data and are not). Scores:

* per type, precision and recall twice: *overlap* (a finding of the same type overlapping the
  gold span counts) and *exact* (same type, same start and end);
* the look-alike false-positive rate: look-alikes overlapped by any finding, of any type;
* character coverage: the share of gold-entity characters inside some finding of any type,
  which is what redaction cares about (a name redacted as a location is still redacted);
* milliseconds per KB of text (UTF-8 bytes) spent in the detector.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tracerail.guardrails.labelled import score_table
from tracerail.guardrails.types import Finding

__all__ = [
    "STRUCTURED",
    "Example",
    "PiiReport",
    "TypeScore",
    "evaluate",
    "format_report",
    "load_examples",
]

#: Types matched by pattern and checksum (the rest, PERSON and LOCATION, by gazetteer and cue).
STRUCTURED = frozenset(
    {
        "EMAIL_ADDRESS",
        "PHONE_NUMBER",
        "CREDIT_CARD",
        "IBAN_CODE",
        "US_SSN",
        "IP_ADDRESS",
        "URL",
        "CRYPTO",
        "CN_RESIDENT_ID",
    }
)

Span = tuple[str, int, int]


@dataclass(frozen=True)
class Example:
    """One labelled text: gold ``entities`` and planted ``lookalikes``, (type, start, end)."""

    text: str
    entities: tuple[Span, ...]
    lookalikes: tuple[Span, ...] = ()
    lang: str = ""


def _spans(items: Iterable[Mapping[str, Any]], key: str) -> tuple[Span, ...]:
    return tuple((str(i[key]), int(i["start"]), int(i["end"])) for i in items)


def load_examples(path: str | Path) -> list[Example]:
    """Read a labelled JSONL file; raises ``ValueError`` naming the line that is malformed."""
    examples: list[Example] = []
    for number, line in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            text = str(row["text"])
            entities = _spans(row.get("entities", ()), "type")
            lookalikes = _spans(row.get("lookalikes", ()), "kind")
        except (ValueError, KeyError, TypeError) as exc:
            raise ValueError(f"{path}:{number}: not a labelled line ({exc})") from None
        for _, start, end in entities + lookalikes:
            if not 0 <= start < end <= len(text):
                raise ValueError(f"{path}:{number}: span {start}..{end} outside the text")
        examples.append(Example(text, entities, lookalikes, str(row.get("lang", ""))))
    return examples


class _Share:
    """A read-only ratio of two count attributes: ``part / whole``, 1.0 when ``whole`` is 0."""

    def __init__(self, part: str, whole: str) -> None:
        self.part = part
        self.whole = whole

    def __get__(self, score: object, owner: type | None = None) -> float:
        part, whole = getattr(score, self.part), getattr(score, self.whole)
        return float(part / whole) if whole else 1.0


@dataclass
class TypeScore:
    """Counts for one entity type. Precision counts findings, recall counts gold spans."""

    gold: int = 0
    found: int = 0
    recalled: int = 0  # gold spans overlapped by a finding of this type
    precise: int = 0  # findings overlapping a gold span of this type
    exact: int = 0  # findings equal to a gold span of this type
    exact_recalled: int = 0  # gold spans equal to a finding of this type

    def add(self, other: TypeScore) -> None:
        self.gold += other.gold
        self.found += other.found
        self.recalled += other.recalled
        self.precise += other.precise
        self.exact += other.exact
        self.exact_recalled += other.exact_recalled

    recall = _Share("recalled", "gold")
    precision = _Share("precise", "found")
    exact_recall = _Share("exact_recalled", "gold")
    exact_precision = _Share("exact", "found")

    def as_dict(self) -> dict[str, float | int]:
        return {
            "gold": self.gold,
            "found": self.found,
            "precision": round(self.precision, 4),
            "recall": round(self.recall, 4),
            "exact_precision": round(self.exact_precision, 4),
            "exact_recall": round(self.exact_recall, 4),
        }


@dataclass
class PiiReport:
    """The scores of one run over a labelled set."""

    texts: int = 0
    kilobytes: float = 0.0
    seconds: float = 0.0
    types: dict[str, TypeScore] = field(default_factory=dict)
    lookalikes: Counter[str] = field(default_factory=Counter)
    lookalikes_flagged: Counter[str] = field(default_factory=Counter)
    gold_chars: int = 0
    covered_chars: int = 0

    @property
    def ms_per_kb(self) -> float:
        return self.seconds * 1e3 / self.kilobytes if self.kilobytes else 0.0

    @property
    def coverage(self) -> float:
        return self.covered_chars / self.gold_chars if self.gold_chars else 1.0

    @property
    def lookalike_fp_rate(self) -> float:
        total = sum(self.lookalikes.values())
        return sum(self.lookalikes_flagged.values()) / total if total else 0.0

    def total(self, types: Iterable[str] | None = None) -> TypeScore:
        """Micro-averaged counts over ``types`` (all types when None)."""
        wanted = None if types is None else set(types)
        out = TypeScore()
        for name, score in self.types.items():
            if wanted is None or name in wanted:
                out.add(score)
        return out

    def as_dict(self) -> dict[str, Any]:
        return {
            "texts": self.texts,
            "ms_per_kb": round(self.ms_per_kb, 3),
            "char_coverage": round(self.coverage, 4),
            "lookalike_fp_rate": round(self.lookalike_fp_rate, 4),
            "lookalikes": {
                kind: {"planted": n, "flagged": self.lookalikes_flagged[kind]}
                for kind, n in sorted(self.lookalikes.items())
            },
            "types": {name: s.as_dict() for name, s in sorted(self.types.items())},
            "structured": self.total(STRUCTURED).as_dict(),
            "all": self.total().as_dict(),
        }


def _overlaps(a_start: int, a_end: int, b_start: int, b_end: int) -> bool:
    return a_start < b_end and b_start < a_end


def score_example(
    report: PiiReport, example: Example, findings: Sequence[Finding], types: frozenset[str] | None
) -> None:
    """Add one text's findings to ``report``. ``types``: score only these finding types."""
    found = [f for f in findings if types is None or f.type in types]
    for type_ in {g[0] for g in example.entities} | {f.type for f in found}:
        score = report.types.setdefault(type_, TypeScore())
        gold = [g for g in example.entities if g[0] == type_]
        mine = [f for f in found if f.type == type_]
        score.gold += len(gold)
        score.found += len(mine)
        score.recalled += sum(
            any(_overlaps(s, e, f.start, f.end) for f in mine) for _, s, e in gold
        )
        score.precise += sum(any(_overlaps(s, e, f.start, f.end) for _, s, e in gold) for f in mine)
        score.exact += sum(any((s, e) == (f.start, f.end) for _, s, e in gold) for f in mine)
        score.exact_recalled += sum(
            any((s, e) == (f.start, f.end) for f in mine) for _, s, e in gold
        )
    for kind, start, end in example.lookalikes:
        report.lookalikes[kind] += 1
        if any(_overlaps(start, end, f.start, f.end) for f in found):
            report.lookalikes_flagged[kind] += 1
    covered = [False] * len(example.text)
    for f in found:
        covered[f.start : f.end] = [True] * (f.end - f.start)
    for _, start, end in example.entities:
        report.gold_chars += end - start
        report.covered_chars += sum(covered[start:end])


def evaluate(
    examples: Iterable[Example],
    find: Callable[[str], Sequence[Finding]],
    *,
    types: Iterable[str] | None = None,
) -> PiiReport:
    """Run ``find`` on every text and score it. ``types``: ignore findings of other types."""
    wanted = None if types is None else frozenset(types)
    report = PiiReport()
    for example in examples:
        started = time.perf_counter()
        findings = find(example.text)
        report.seconds += time.perf_counter() - started
        report.texts += 1
        report.kilobytes += len(example.text.encode("utf-8")) / 1024
        score_example(report, example, findings, wanted)
    return report


def format_report(report: PiiReport) -> str:
    """A plain-text table: one row per type, then totals, look-alikes, coverage and speed."""
    head = (
        f"{'type':16s} {'gold':>5s} {'found':>5s} {'P':>6s} {'R':>6s} "
        f"{'P exact':>8s} {'R exact':>8s}"
    )

    def row(name: str, s: TypeScore) -> str:
        return (
            f"{name:16s} {s.gold:5d} {s.found:5d} {s.precision:6.3f} {s.recall:6.3f} "
            f"{s.exact_precision:8.3f} {s.exact_recall:8.3f}"
        )

    lines = score_table(
        head,
        (row(name, score) for name, score in sorted(report.types.items())),
        [row("structured", report.total(STRUCTURED)), row("all", report.total())],
    )
    flagged = sum(report.lookalikes_flagged.values())
    planted = sum(report.lookalikes.values())
    lines.append("")
    lines.append(
        f"look-alikes flagged: {flagged}/{planted} ({report.lookalike_fp_rate:.1%})"
        + (
            "  ["
            + ", ".join(
                f"{k} {report.lookalikes_flagged[k]}/{n}"
                for k, n in sorted(report.lookalikes.items())
                if report.lookalikes_flagged[k]
            )
            + "]"
            if flagged
            else ""
        )
    )
    lines.append(f"character coverage of gold entities: {report.coverage:.3f}")
    lines.append(
        f"speed: {report.ms_per_kb:.3f} ms per KB ({report.texts} texts, {report.kilobytes:.1f} KB)"
    )
    return "\n".join(lines)

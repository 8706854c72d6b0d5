"""What the labelled-set harnesses share: reading the set, a percentile, a plain-text table.

Used by the groundedness harness (:mod:`tracerail.guardrails.evaluators.harness`), the content
check's scoring (:mod:`tracerail.guardrails.content_eval`) and the PII check's
(:mod:`tracerail.guardrails.pii_eval`). Pure: reading a file is the only I/O.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from pathlib import Path

__all__ = ["DatasetError", "percentile", "read_lines", "score_table"]


class DatasetError(ValueError):
    """A labelled set that cannot be read; the message names the file and line."""


def read_lines(path: str | Path) -> list[tuple[str, int, str]]:
    """The non-blank lines of a UTF-8 file as ``(where, number, line)``, ``where`` being
    ``path:number``. Raises :class:`DatasetError` when the file cannot be read."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise DatasetError(f"{path}: cannot read ({exc.strerror or exc})") from exc
    except UnicodeDecodeError as exc:
        raise DatasetError(f"{path}: not UTF-8 text ({exc.reason})") from exc
    return [
        (f"{path}:{number}", number, line)
        for number, line in enumerate(text.splitlines(), start=1)
        if line.strip()
    ]


def percentile(values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile (``q`` in 0..100) of ``values``; NaN when empty."""
    if not values:
        return math.nan
    ordered = sorted(values)
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[min(rank, len(ordered)) - 1]


def score_table(head: str, rows: Iterable[str], totals: Iterable[str]) -> list[str]:
    """The lines of a score table: ``head``, a rule, one row per class, a rule, the totals."""
    rule = "-" * len(head)
    return [head, rule, *rows, rule, *totals]

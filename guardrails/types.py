"""The guardrail vocabulary: actions, findings, verdicts and the ``Guardrail`` protocol."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Literal, Protocol, runtime_checkable

Target = Literal["input", "output"]
TARGETS: tuple[Target, ...] = ("input", "output")


class Action(StrEnum):
    """What a check does when it fires, ordered by severity."""

    ALLOW = "allow"
    FLAG = "flag"
    REDACT = "redact"
    BLOCK = "block"

    @property
    def severity(self) -> int:
        return _SEVERITY[self]


_SEVERITY = {Action.ALLOW: 0, Action.FLAG: 1, Action.REDACT: 2, Action.BLOCK: 3}


@dataclass(frozen=True, slots=True)
class Finding:
    """One thing a check found: its type, where (``text[start:end]``) and how sure.

    Never holds the matched text itself, so verdicts can be logged and exported safely.
    """

    type: str
    start: int
    end: int
    score: float = 1.0

    def as_dict(self) -> dict[str, Any]:
        return {"type": self.type, "start": self.start, "end": self.end, "score": self.score}


@dataclass(frozen=True, slots=True)
class Verdict:
    """The decision of one check on one text."""

    check: str
    action: Action = Action.ALLOW
    findings: tuple[Finding, ...] = ()
    redacted_text: str | None = None
    latency_ms: float = 0.0
    error: str | None = None
    reason: str = ""

    @property
    def entity_counts(self) -> dict[str, int]:
        """How many findings of each type."""
        return dict(Counter(f.type for f in self.findings))


@runtime_checkable
class Guardrail(Protocol):
    """A check: looks at one text and returns a :class:`Verdict`. Never returns raw matches."""

    name: str

    def check(self, text: str, *, target: Target, context: Mapping[str, Any]) -> Verdict: ...

"""Running a policy's checks over the texts of one call, with fail-open / fail-closed.

A :class:`PolicyRunner` builds each check once (lazily, thread-safe) and reuses it. A check
that cannot be built, raises, or is handed a non-string becomes an *error decision*: ``allow``
when the entry is fail-open, ``block`` when fail-closed, with the error type recorded.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, get_args

from tracerail.guardrails import registry
from tracerail.guardrails.base import PLACEHOLDERS_KEY, summarize
from tracerail.guardrails.policy import CheckConfig, Policy
from tracerail.guardrails.redaction import PlaceholderBook
from tracerail.guardrails.types import Action, Finding, Guardrail, Target, Verdict

logger = logging.getLogger("tracerail")


@dataclass(frozen=True)
class Decision:
    """What one check decided for all texts of one call (the most severe verdict wins)."""

    check: str
    check_type: str
    target: Target
    action: Action
    findings: tuple[tuple[int, Finding], ...] = ()
    latency_ms: float = 0.0
    error: str | None = None
    reason: str = ""

    @property
    def entity_counts(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for _, finding in self.findings:
            counts[finding.type] = counts.get(finding.type, 0) + 1
        return counts


@dataclass
class GuardResult:
    """Texts after redaction plus one decision per check."""

    texts: list[Any]
    decisions: list[Decision] = field(default_factory=list)

    @property
    def blocked(self) -> list[Decision]:
        return [d for d in self.decisions if d.action is Action.BLOCK]


class PolicyRunner:
    """Runs one policy. Safe to share between threads."""

    def __init__(self, policy: Policy) -> None:
        self.policy = policy
        self._checks: dict[str, Guardrail | BaseException] = {}
        self._lock = threading.Lock()
        self._redacting = {
            target: tuple(c for c in policy.for_target(target) if c.action is Action.REDACT)
            for target in get_args(Target)
        }

    def redacting(self, target: Target) -> tuple[CheckConfig, ...]:
        """The checks for ``target`` whose action is ``redact``, in policy order."""
        return self._redacting[target]

    def guardrail(self, config: CheckConfig) -> Guardrail:
        """The built check for ``config``; re-raises the construction error if it failed."""
        built = self._checks.get(config.name)
        if built is None:
            with self._lock:
                built = self._checks.get(config.name)
                if built is None:
                    try:
                        built = registry.create(config)
                    except Exception as exc:
                        logger.warning(
                            "tracerail: guardrail %r cannot be built (%s: %s); it fails %s "
                            "(is the [guardrails] extra installed?)",
                            config.name,
                            type(exc).__name__,
                            exc,
                            config.fail,
                        )
                        built = exc
                    self._checks[config.name] = built
        if isinstance(built, BaseException):
            raise built
        return built

    def warm_up(self, target: Target | None = None) -> None:
        """Build every check now (imports presidio etc.), instead of on the first call."""
        for config in self.policy.checks:
            if target is None or target in config.targets:
                try:
                    self.guardrail(config)
                except Exception:
                    pass

    def run(
        self,
        texts: Sequence[Any],
        target: Target,
        context: Mapping[str, Any] | None = None,
    ) -> GuardResult:
        """Apply every check for ``target`` in policy order; each sees earlier redactions.

        A ``dict`` context keeps the call's placeholder book, so input and output of one call
        share placeholders (``<EMAIL_1>`` is the same address in the prompt and the answer).
        """
        if isinstance(context, dict):
            context.setdefault(PLACEHOLDERS_KEY, PlaceholderBook())
        ctx: dict[str, Any] = dict(context or {})
        ctx.setdefault(PLACEHOLDERS_KEY, PlaceholderBook())
        current = list(texts)
        result = GuardResult(current)
        for config in self.policy.for_target(target):
            verdicts: list[tuple[int, Verdict]] = []
            for index, text in enumerate(current):
                verdict = self._check_one(config, text, target, ctx)
                verdicts.append((index, verdict))
                if verdict.action is Action.REDACT and verdict.redacted_text is not None:
                    current[index] = verdict.redacted_text
            result.decisions.append(_combine(config, target, verdicts))
        return result

    def _check_one(
        self, config: CheckConfig, text: Any, target: Target, context: Mapping[str, Any]
    ) -> Verdict:
        started = time.perf_counter()
        try:
            if not isinstance(text, str):
                raise TypeError(f"expected str, got {type(text).__name__}")
            return self.guardrail(config).check(text, target=target, context=context)
        except Exception as exc:
            action = Action.BLOCK if config.fail == "closed" else Action.ALLOW
            return Verdict(
                config.name,
                action,
                latency_ms=(time.perf_counter() - started) * 1e3,
                error=type(exc).__name__,
                reason=f"check failed ({type(exc).__name__}), fail-{config.fail}",
            )


def _combine(config: CheckConfig, target: Target, verdicts: list[tuple[int, Verdict]]) -> Decision:
    action = max((v.action for _, v in verdicts), key=lambda a: a.severity, default=Action.ALLOW)
    findings = tuple((i, f) for i, v in verdicts for f in v.findings)
    errors = [v.error for _, v in verdicts if v.error]
    decision = Decision(
        check=config.name,
        check_type=config.type,
        target=target,
        action=action,
        findings=findings,
        latency_ms=sum(v.latency_ms for _, v in verdicts),
        error=errors[0] if errors else None,
    )
    reason = summarize(decision.entity_counts)
    if decision.error:
        reason = "; ".join(filter(None, [reason, next(v.reason for _, v in verdicts if v.error)]))
    return Decision(**{**decision.__dict__, "reason": reason})


_runners: dict[str, PolicyRunner] = {}
_runners_lock = threading.Lock()
_MAX_RUNNERS = 32


def runner_for(policy: Policy) -> PolicyRunner:
    """A cached runner per policy version (so checks are built once per policy)."""
    key = policy.version
    runner = _runners.get(key)
    if runner is None:
        with _runners_lock:
            runner = _runners.get(key)
            if runner is None:
                if len(_runners) >= _MAX_RUNNERS:
                    _runners.pop(next(iter(_runners)))
                runner = _runners[key] = PolicyRunner(policy)
    return runner

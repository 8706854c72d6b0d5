"""``FindingCheck``: the shared half of every check that finds typed spans in text.

A subclass implements :meth:`FindingCheck.find`; the base applies the policy entry (score
threshold, entity allow/deny lists, allowed values), picks the action and redacts.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

from tracerail.guardrails.policy import CheckConfig
from tracerail.guardrails.redaction import DEFAULT_KEY_ENV, PlaceholderBook, Redactor, load_key
from tracerail.guardrails.types import Action, Finding, Target, Verdict

#: Context key under which a guarded call shares its :class:`PlaceholderBook` across checks.
PLACEHOLDERS_KEY = "tracerail.placeholders"


def summarize(counts: Mapping[str, int]) -> str:
    """``"EMAIL_ADDRESS x2, PHONE_NUMBER x1"``: types and counts, never values."""
    return ", ".join(f"{name} x{count}" for name, count in sorted(counts.items()))


class FindingCheck:
    """Base class of span-finding checks. Thread-safe once constructed."""

    def __init__(self, config: CheckConfig) -> None:
        self.config = config
        self.name = config.name
        self._allowed = frozenset(config.allow_values)
        options = config.options
        self._salt = str(options["salt"]) if "salt" in options else None
        self._mask_char = str(options.get("mask_char", "*"))[:1] or "*"
        self._key: bytes | None = None
        if config.operator == "encrypt":
            self._key = load_key(str(options.get("key_env", DEFAULT_KEY_ENV)))

    def find(self, text: str) -> list[Finding]:
        """Every finding in ``text`` (before threshold and entity filters)."""
        raise NotImplementedError

    def find_in(self, text: str, context: Mapping[str, Any]) -> list[Finding]:
        """:meth:`find`; checks that need the call's ``context`` (its sources) override this."""
        return self.find(text)

    def action_for(self, findings: tuple[Finding, ...]) -> Action:
        """The action taken on ``findings`` (the policy entry's; checks may refine it)."""
        return self.config.action

    def _keep(self, text: str, finding: Finding) -> bool:
        return (
            finding.score >= self.config.threshold
            and self.config.wants(finding.type)
            and (not self._allowed or text[finding.start : finding.end] not in self._allowed)
        )

    def redactor(self, context: Mapping[str, Any]) -> Redactor:
        book = context.get(PLACEHOLDERS_KEY)
        redactor = Redactor(key=self._key, mask_char=self._mask_char)
        if self._salt is not None:
            redactor.salt = self._salt
        if isinstance(book, PlaceholderBook):
            redactor.book = book
        return redactor

    def check(self, text: str, *, target: Target, context: Mapping[str, Any]) -> Verdict:
        started = time.perf_counter()
        findings = tuple(f for f in self.find_in(text, context) if self._keep(text, f))
        if not findings:
            return Verdict(self.name, latency_ms=(time.perf_counter() - started) * 1e3)
        action = self.action_for(findings)
        redacted = None
        if action is Action.REDACT:
            redacted = self.redactor(context).apply(text, findings, self.config.operator)
        verdict = Verdict(self.name, action, findings, redacted)
        return Verdict(
            self.name,
            action,
            findings,
            redacted,
            latency_ms=(time.perf_counter() - started) * 1e3,
            reason=summarize(verdict.entity_counts),
        )

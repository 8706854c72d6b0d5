"""Grounding: answer claims the call's sources do not support (output only).

The sources come from the guard ``context`` under :data:`SOURCES_KEY`: the SDK puts there the
texts given with ``tracerail.sources([...])`` or returned by an ``@observe(kind="retrieval")``
function around the call; ``run_guardrails(..., context={SOURCES_KEY: [...]})`` does the same
by hand. Each claim (sentence) is scored by :func:`tracerail.guardrails.grounding.
assess_grounding`; one ``UNSUPPORTED_CLAIM`` finding per claim whose support is below
``support_threshold`` (default 0.5), with the claim's offsets and score ``1 - support``.
``redact`` replaces those claims with a placeholder (``<UNSUPPORTED_CLAIM_1>``).

Options: ``support_threshold``; ``require_sources`` (default false): with no source texts the
check allows, or with ``true`` flags the answer with one ``NO_SOURCES`` finding (never more
than ``flag``: there is nothing to compare, so nothing to redact or block on).

The entry's common ``threshold`` is not used: ``support_threshold`` decides. This check only
records guardrail decisions; the ``auto`` hallucination score comes from provenance.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

from tracerail import semconv
from tracerail.guardrails.base import FindingCheck, summarize
from tracerail.guardrails.grounding import DEFAULT_SUPPORT_THRESHOLD, assess_grounding
from tracerail.guardrails.policy import CheckConfig
from tracerail.guardrails.types import Action, Finding, Target, Verdict

__all__ = ["NO_SOURCES", "SOURCES_KEY", "UNSUPPORTED_CLAIM", "GroundingCheck"]

#: Context key holding the call's source texts (a sequence of str).
SOURCES_KEY = semconv.GUARD_CONTEXT_SOURCES
UNSUPPORTED_CLAIM = "UNSUPPORTED_CLAIM"
NO_SOURCES = "NO_SOURCES"


def _source_texts(context: Mapping[str, Any]) -> list[str]:
    found = context.get(SOURCES_KEY) or ()
    if isinstance(found, str):
        found = (found,)
    return [text for text in found if isinstance(text, str) and text.strip()]


class GroundingCheck(FindingCheck):
    """Claims of an answer that its sources do not support."""

    def __init__(self, config: CheckConfig) -> None:
        super().__init__(config)
        options = config.options
        self.support_threshold = float(options.get("support_threshold", DEFAULT_SUPPORT_THRESHOLD))
        if not 0.0 <= self.support_threshold <= 1.0:
            raise ValueError("support_threshold must be between 0 and 1")
        self.require_sources = bool(options.get("require_sources", False))

    def _keep(self, text: str, finding: Finding) -> bool:
        # Support decides (in find_in), not the common score threshold.
        allowed = self._allowed
        return self.config.wants(finding.type) and (
            not allowed or text[finding.start : finding.end] not in allowed
        )

    def find(self, text: str) -> list[Finding]:
        """Without sources there is nothing to compare with: no findings."""
        return []

    def find_in(self, text: str, context: Mapping[str, Any]) -> list[Finding]:
        """One finding per claim of ``text`` supported less than ``support_threshold``."""
        sources = _source_texts(context)
        if not sources:
            return []
        result = assess_grounding(text, sources, threshold=self.support_threshold)
        return [
            Finding(UNSUPPORTED_CLAIM, c.start, c.end, round(1.0 - c.support, 4))
            for c in result.unsupported
        ]

    def check(self, text: str, *, target: Target, context: Mapping[str, Any]) -> Verdict:
        if target != "output":
            return Verdict(self.name)
        if self.require_sources and text.strip() and not _source_texts(context):
            return self._no_sources(text)
        return super().check(text, target=target, context=context)

    def _no_sources(self, text: str) -> Verdict:
        started = time.perf_counter()
        action = min(self.config.action, Action.FLAG, key=lambda a: a.severity)
        return Verdict(
            self.name,
            action,
            (Finding(NO_SOURCES, 0, len(text), 1.0),),
            latency_ms=(time.perf_counter() - started) * 1e3,
            reason=summarize({NO_SOURCES: 1}),
        )

"""Max length: texts longer than ``max_chars`` (default 32 000 characters)."""

from __future__ import annotations

from tracerail.guardrails.base import FindingCheck
from tracerail.guardrails.policy import CheckConfig
from tracerail.guardrails.types import Finding

DEFAULT_MAX_CHARS = 32_000


class MaxLengthCheck(FindingCheck):
    """One ``TOO_LONG`` finding covering the excess when a text is over the limit.

    With ``action = "redact"`` the excess is cut (replaced by a ``<TOO_LONG_1>`` placeholder).
    """

    def __init__(self, config: CheckConfig) -> None:
        super().__init__(config)
        self.max_chars = int(config.options.get("max_chars", DEFAULT_MAX_CHARS))

    def find(self, text: str) -> list[Finding]:
        if len(text) <= self.max_chars:
            return []
        return [Finding("TOO_LONG", self.max_chars, len(text), 1.0)]

"""Topic deny-list: banned topics, each a set of keywords; fires when enough of one appear.

Options: ``topics = { medical_advice = ["diagnosis", "dosage"], ... }`` and ``min_hits``
(keyword occurrences of one topic needed, default 1). Findings are typed ``TOPIC_<NAME>``.
"""

from __future__ import annotations

from collections import Counter

from tracerail.guardrails.base import FindingCheck
from tracerail.guardrails.policy import CheckConfig
from tracerail.guardrails.types import Finding
from tracerail.guardrails.wordlists import WordMatcher


class TopicsCheck(FindingCheck):
    """Banned topics by keyword sets."""

    def __init__(self, config: CheckConfig) -> None:
        super().__init__(config)
        topics = dict(config.options.get("topics", {}))
        self.matcher = WordMatcher(
            {f"topic_{name}": [str(w) for w in words] for name, words in topics.items()}
        )
        self.min_hits = max(int(config.options.get("min_hits", 1)), 1)

    def find(self, text: str) -> list[Finding]:
        found = self.matcher.find(text)
        hits = Counter(f.type for f in found)
        return [f for f in found if hits[f.type] >= self.min_hits]

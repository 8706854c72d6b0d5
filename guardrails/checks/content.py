"""Sensitive content: category phrase lists and an optional profanity score.

Options: ``categories`` (which shipped lists to use; default all), ``words`` (extra
``{category = [phrases]}`` from the policy), ``profanity`` (also score the text with
alt-profanity-check's offline model, ~3 ms per KB, off by default), ``profanity_threshold``.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from tracerail.guardrails.base import FindingCheck
from tracerail.guardrails.policy import CheckConfig
from tracerail.guardrails.types import Finding
from tracerail.guardrails.wordlists import WordMatcher, builtin_lists

DEFAULT_PROFANITY_THRESHOLD = 0.8


@cache
def _profanity_model() -> Any:
    from profanity_check import predict_prob

    return predict_prob


class ContentCheck(FindingCheck):
    """Phrases from sensitive categories; PROFANITY when the model scores the text high."""

    def __init__(self, config: CheckConfig) -> None:
        super().__init__(config)
        options = config.options
        shipped = builtin_lists()
        chosen = [str(c) for c in options.get("categories", list(shipped))]
        unknown = [c for c in chosen if c not in shipped]
        if unknown:
            raise ValueError(f"unknown content categories: {', '.join(unknown)}")
        lists: dict[str, list[str]] = {c: list(shipped[c]) for c in chosen}
        for category, words in dict(options.get("words", {})).items():
            lists.setdefault(str(category), []).extend(str(w) for w in words)
        self.matcher = WordMatcher(lists)
        self.profanity = bool(options.get("profanity", False))
        self.profanity_threshold = float(
            options.get("profanity_threshold", DEFAULT_PROFANITY_THRESHOLD)
        )
        if self.profanity:
            _profanity_model()

    def find(self, text: str) -> list[Finding]:
        found = self.matcher.find(text)
        if self.profanity and text.strip():
            score = float(_profanity_model()([text])[0])
            if score >= self.profanity_threshold:
                found.append(Finding("PROFANITY", 0, len(text), score))
        return found

"""Sensitive content: keyword libraries by category, matched evasion-proof, acted on per category.

Options:

* ``libraries`` — keyword libraries to load (file paths or ``builtin:NAME``; default
  ``["builtin:starter"]``); their contents are hashed into the policy version;
* ``categories`` — only these categories (default: every category of the libraries);
* ``words`` — extra ``{category = [terms]}`` written in the policy itself;
* ``actions`` — ``{category = action}`` overriding the check's action per category (the
  verdict takes the most severe action among the categories found: block > redact > flag);
* ``pinyin`` — also match the pinyin of Chinese terms (off by default);
* ``profanity`` — also score the text with alt-profanity-check's offline model (~3 ms per KB,
  off by default), ``profanity_threshold``.

Findings are typed by category (upper-cased), carry the term's weight as score, and their
spans are in the original text, so redaction cuts exactly what was written.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import cache
from typing import Any

from tracerail.guardrails.base import FindingCheck
from tracerail.guardrails.keywords import DEFAULT_LIBRARIES, KeywordMatcher, load_libraries
from tracerail.guardrails.policy import CheckConfig
from tracerail.guardrails.types import Action, Finding

DEFAULT_PROFANITY_THRESHOLD = 0.8
_SEVERITY = {Action.ALLOW: 0, Action.FLAG: 1, Action.REDACT: 2, Action.BLOCK: 3}


@cache
def _profanity_model() -> Any:
    from profanity_check import predict_prob

    return predict_prob


class ContentCheck(FindingCheck):
    """Terms of sensitive categories; PROFANITY when the model scores the text high."""

    def __init__(self, config: CheckConfig) -> None:
        super().__init__(config)
        options = config.options
        libraries = load_libraries([str(s) for s in options.get("libraries", DEFAULT_LIBRARIES)])
        known = {name for library in libraries for name in library.categories}
        extra: Mapping[str, Any] = dict(options.get("words", {}))
        chosen = options.get("categories")
        if chosen is not None:
            unknown = sorted({str(c) for c in chosen} - known - set(extra))
            if unknown:
                raise ValueError(f"unknown content categories: {', '.join(unknown)}")
        self.matcher = KeywordMatcher(
            libraries,
            categories=None if chosen is None else [str(c) for c in chosen],
            extra={str(c): [str(w) for w in words] for c, words in extra.items()},
            pinyin=bool(options.get("pinyin", False)),
        )
        self.actions: dict[str, Action] = {
            str(category).upper(): Action(str(action))
            for category, action in dict(options.get("actions", {})).items()
        }
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

    def action_for(self, findings: tuple[Finding, ...]) -> Action:
        """The most severe action among the categories found (the check's own by default)."""
        actions = [self.actions.get(f.type, self.config.action) for f in findings]
        return max(actions, key=_SEVERITY.__getitem__, default=self.config.action)

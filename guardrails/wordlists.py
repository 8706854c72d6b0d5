"""``WordMatcher``: whole-word, case-insensitive matching of phrase lists, CJK-aware.

Latin-script phrases match only as whole words (``kill`` does not fire inside ``skill``);
phrases in scripts written without spaces (Chinese, Japanese) match as substrings.

Speed: one pass collects the text's distinct words; only phrases whose first word occurs (or,
for CJK, whose text occurs) go into a small alternation, compiled once per combination and
cached. A long list therefore costs a set lookup per word, not a regex branch per position.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from functools import lru_cache
from typing import Any

import regex

from tracerail.guardrails.types import Finding

_CJK = regex.compile(r"[\p{Han}\p{Hiragana}\p{Katakana}\p{Hangul}]")


def is_cjk(phrase: str) -> bool:
    return _CJK.search(phrase) is not None


class WordMatcher:
    """Finds phrases and reports the category each belongs to."""

    def __init__(self, categories: Mapping[str, Iterable[str]]) -> None:
        self.category: dict[str, str] = {}
        for category, phrases in categories.items():
            for phrase in phrases:
                cleaned = " ".join(str(phrase).split()).casefold()
                if cleaned:
                    self.category.setdefault(cleaned, category)
        self.by_first_word: dict[str, list[str]] = {}
        self.cjk: list[str] = []
        for phrase in self.category:
            if is_cjk(phrase):
                self.cjk.append(phrase)
            else:
                first = _WORD.findall(phrase)
                if first:
                    self.by_first_word.setdefault(first[0], []).append(phrase)

    def candidates(self, text: str) -> tuple[str, ...]:
        """Phrases that can possibly occur in ``text`` (by first word / CJK substring)."""
        phrases: list[str] = []
        if self.by_first_word:
            for word in set(_WORD.findall(text.lower())) & self.by_first_word.keys():
                phrases.extend(self.by_first_word[word])
        phrases.extend(p for p in self.cjk if p in text)
        return tuple(sorted(phrases, key=lambda p: (-len(p), p)))

    def find(self, text: str, score: float = 1.0) -> list[Finding]:
        """One finding per phrase occurrence, typed by its category (upper-cased)."""
        phrases = self.candidates(text)
        if not phrases:
            return []
        found = []
        for match in _alternation(phrases).finditer(text):
            phrase = " ".join(match.group().split()).casefold()
            category = self.category.get(phrase)
            if category is not None:
                found.append(Finding(category.upper(), match.start(), match.end(), score))
        return found


_WORD = re.compile(r"\w+")


@lru_cache(maxsize=512)
def _alternation(phrases: tuple[str, ...]) -> Any:
    parts = []
    latin = [p for p in phrases if not is_cjk(p)]
    cjk = [p for p in phrases if is_cjk(p)]
    if latin:
        body = "|".join(re.escape(p).replace(r"\ ", r"\s+") for p in latin)
        parts.append(r"(?<!\w)(?:" + body + r")(?!\w)")
    if cjk:
        parts.append("(?:" + "|".join(re.escape(p) for p in cjk) + ")")
    return re.compile("|".join(parts), re.IGNORECASE)

"""``WordMatcher``: whole-word, case-insensitive matching of phrase lists, CJK-aware.

Latin-script phrases match only as whole words (``kill`` does not fire inside ``skill``);
phrases in scripts written without spaces (Chinese, Japanese) match as substrings. All phrases
compile into one alternation, so a text is scanned once whatever the list size.
"""

from __future__ import annotations

import tomllib
from collections.abc import Iterable, Mapping
from functools import cache
from importlib import resources

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
        latin = sorted((p for p in self.category if not is_cjk(p)), key=len, reverse=True)
        cjk = sorted((p for p in self.category if is_cjk(p)), key=len, reverse=True)
        parts = []
        if latin:
            body = "|".join(regex.escape(p).replace(r"\ ", r"\s+") for p in latin)
            parts.append(r"(?<!\w)(?:" + body + r")(?!\w)")
        if cjk:
            parts.append("(?:" + "|".join(regex.escape(p) for p in cjk) + ")")
        self.pattern = regex.compile("|".join(parts), regex.IGNORECASE) if parts else None

    def find(self, text: str, score: float = 1.0) -> list[Finding]:
        """One finding per phrase occurrence, typed by its category (upper-cased)."""
        if self.pattern is None:
            return []
        found = []
        for match in self.pattern.finditer(text):
            phrase = " ".join(match.group().split()).casefold()
            category = self.category.get(phrase)
            if category is not None:
                found.append(Finding(category.upper(), match.start(), match.end(), score))
        return found


@cache
def builtin_lists() -> dict[str, tuple[str, ...]]:
    """The shipped category lists (``guardrails/data/content_words.toml``)."""
    raw = resources.files("tracerail.guardrails").joinpath("data/content_words.toml").read_text(
        encoding="utf-8"
    )
    data = tomllib.loads(raw)
    return {name: tuple(words) for name, words in data["categories"].items()}

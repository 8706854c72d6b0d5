"""Evasion-resistant text normalisation, with every character mapped back to the original.

Keyword matching (:mod:`tracerail.guardrails.keywords`) runs on the normalised text, and a
match is cut from the *original* text through :attr:`Normalized.offsets`, so redaction
removes exactly the characters the writer typed, whatever disguise they used. Steps, per
character and then across characters:

1. Unicode NFKC (full-width letters become ASCII, ligatures, compatibility forms) and
   case folding; invisible format characters (zero-width spaces, joiners) are dropped.
2. Traditional → simplified Chinese, character by character (``製造炸彈`` → ``制造炸弹``).
3. Leetspeak inside words: a digit or ``@ $ !`` that touches a letter becomes the letter it
   stands for (``b0mb`` → ``bomb``, ``dr@gs`` → ``drags``); plain numbers stay numbers.
4. Separators between Chinese characters are dropped (``毒-品``, ``毒 品`` → ``毒品``; sentence
   punctuation is kept), and so are
   those inside runs of three or more single letters (``d r u g s``, ``b.o.m.b`` → ``drugs``,
   ``bomb``).
5. Every other run of separators becomes one space.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from itertools import compress
from typing import Final

__all__ = ["Normalized", "is_cjk_char", "normalize"]

_LEET: Final = {"0": "o", "1": "i", "3": "e", "4": "a", "5": "s", "7": "t", "@": "a", "$": "s"}
_LEET_MARKS: Final = frozenset("@$")
# Sentence punctuation is not dropped between Chinese characters: "禁毒。品质" is two sentences.
_SENTENCE_MARKS: Final = frozenset(",!?;:。、…")
# Runs of >= 3 single letters or digits separated by 1-2 separator characters.
_SPACED = re.compile(r"(?<![^\W_])[^\W_](?:[\W_]{1,2}[^\W_]){2,}(?![^\W_])")


def is_cjk_char(char: str) -> bool:
    """A Han, kana or Hangul character (scripts written without spaces)."""
    code = ord(char)
    return (
        0x4E00 <= code <= 0x9FFF
        or 0x3400 <= code <= 0x4DBF
        or 0x20000 <= code <= 0x2FFFF
        or 0xF900 <= code <= 0xFAFF
        or 0x3040 <= code <= 0x30FF
        or 0xAC00 <= code <= 0xD7AF
    )


def _word_char(char: str) -> bool:
    return char.isalnum() or char in _LEET_MARKS


@lru_cache(maxsize=65_536)
def _simplified(char: str) -> str:
    from zhconv import convert

    converted: str = convert(char, "zh-cn")
    return converted if len(converted) == 1 else char


@lru_cache(maxsize=65_536)
def _fold(char: str) -> str:
    """NFKC + case folding of one character; '' for invisible format characters."""
    if unicodedata.category(char) == "Cf":
        return ""
    folded = unicodedata.normalize("NFKC", char).casefold()
    if len(folded) == 1 and is_cjk_char(folded):
        return _simplified(folded)
    return folded


@dataclass(frozen=True, slots=True)
class Normalized:
    """The normalised text and, for each of its characters, the original character's index."""

    text: str
    offsets: tuple[int, ...]
    original_length: int

    def span(self, start: int, end: int) -> tuple[int, int]:
        """The original ``[start, end)`` covering normalised ``[start, end)``."""
        if start >= end:
            return self.offsets[start], self.offsets[start]
        return self.offsets[start], self.offsets[end - 1] + 1


_LEET_RUN = re.compile(r"[013457@$]+")


def _latin_letter(char: str) -> bool:
    return char.isalpha() and not is_cjk_char(char)


def _leet(chars: list[str]) -> list[str]:
    """Replace runs of leet digits/marks that touch a letter (plain numbers are left alone)."""
    joined = "".join(chars)
    last = len(joined)
    for run in _LEET_RUN.finditer(joined):
        lo, hi = run.start(), run.end()
        if (lo > 0 and _latin_letter(joined[lo - 1])) or (hi < last and _latin_letter(joined[hi])):
            for k in range(lo, hi):
                chars[k] = _LEET[joined[k]]
    return chars


_SEPARATORS = re.compile(r"(?:[^\w@$]|_)+")


def _fast_fold(text: str) -> str | None:
    """NFKC + casefold + simplified when no character changes length, else ``None``."""
    if text.isascii():
        return text.lower()
    if not unicodedata.is_normalized("NFKC", text):
        return None
    folded = text.casefold()
    if len(folded) != len(text) or any(unicodedata.category(c) == "Cf" for c in set(text)):
        return None
    table = {ord(c): _simplified(c) for c in set(folded) if is_cjk_char(c)}
    return folded.translate(table) if table else folded


def normalize(text: str, *, leet: bool = True) -> Normalized:
    """Normalise ``text`` for keyword matching (see the module docstring)."""
    fast = _fast_fold(text)
    if fast is not None:
        chars = list(fast)
        offsets: list[int] = list(range(len(text)))
    else:
        chars = []
        offsets = []
        for index, char in enumerate(text):
            for folded in _fold(char):
                chars.append(folded)
                offsets.append(index)
    if leet:
        chars = _leet(chars)
    joined = "".join(chars)
    keep = bytearray(b"\x01") * len(chars)
    # Separators inside spaced-out single letters go.
    for match in _SPACED.finditer(joined):
        for j in range(match.start(), match.end()):
            if not _word_char(joined[j]):
                keep[j] = 0
    last = len(joined)
    for run in _SEPARATORS.finditer(joined):
        lo, hi = run.start(), run.end()
        inner = 0 < lo and hi < last
        if hi - lo == 1 and inner and keep[lo] and joined[lo] == " " and joined[hi] < "\u2e80":
            continue  # the common case: one space between words stays
        if inner and is_cjk_char(joined[lo - 1]) and is_cjk_char(joined[hi]):
            if not any(c in _SENTENCE_MARKS for c in run.group()):
                keep[lo:hi] = bytes(hi - lo)  # separators between Chinese characters go
                continue
        # Any other run of separators becomes one space (none at the ends).
        first = next((j for j in range(lo, hi) if keep[j]), None)
        keep[lo:hi] = bytes(hi - lo)
        if first is not None and inner:
            keep[first] = 1
            chars[first] = " "
    out_offsets = list(compress(offsets, keep))
    return Normalized("".join(compress(chars, keep)), tuple(out_offsets), len(text))

"""Keyword libraries and an Aho-Corasick matcher over normalised text.

A **library** is data: terms, each with its category, an optional weight and an optional
allow-list of innocent compounds that contain it (a match inside one of those does not fire).
Two file formats, both one term per line:

* TOML (``.toml``)::

      [library]
      name = "acme-2026-12"

      [categories.gambling]
      standard = ["A.1.h"]          # TC260-003 Appendix A risks the category covers
      terms = [
        "赌博网站",
        "online casino",
      ]

      [allow]                      # term -> innocent compounds containing it
      "大麻" = ["大麻哈鱼"]

      [weight]
      "casino" = 0.6

* plain text (any other suffix): ``[category]`` header lines, then one term per line, with
  optional ``; weight=0.6`` and ``; allow=compound|compound`` after it; ``#`` starts a comment.

Libraries load with :func:`load_library`; the shipped starter library is ``builtin:starter``.
:func:`digest` hashes the libraries a policy names, so the policy version records exactly
which library was in force. :class:`KeywordMatcher` compiles any number of libraries into one
automaton (``pyahocorasick``), so matching cost does not grow with the library's size.
"""

from __future__ import annotations

import hashlib
import re
import tomllib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any, Final

from tracerail.guardrails.normalize import Normalized, is_cjk_char, normalize
from tracerail.guardrails.types import Finding

__all__ = [
    "BUILTIN_PREFIX",
    "DEFAULT_LIBRARIES",
    "MENTION_FACTOR",
    "STANDARD_MINIMUMS",
    "Category",
    "KeywordMatcher",
    "Library",
    "LibraryError",
    "Term",
    "coverage",
    "digest",
    "load_libraries",
    "load_library",
]

BUILTIN_PREFIX: Final = "builtin:"
# The score of a term that is quoted or reported on (a cue of the library's ``[mention]``
# in the same sentence) is multiplied by this: under the default threshold of 0.5.
MENTION_FACTOR: Final = 0.4
DEFAULT_LIBRARIES: Final = ("builtin:starter",)
# TC260-003 (2024) §8.1: at least 10 000 terms in all, covering the 17 risks of Appendix A.1
# and A.2, with at least 200 terms for each A.1 risk and 100 for each A.2 risk.
STANDARD_TOTAL_MINIMUM: Final = 10_000
STANDARD_MINIMUMS: Final[Mapping[str, tuple[str, int]]] = {
    "A.1.a": ("inciting subversion of state power / the socialist system", 200),
    "A.1.b": ("endangering national security and interests, harming the national image", 200),
    "A.1.c": ("inciting separatism, undermining national unity and social stability", 200),
    "A.1.d": ("promoting terrorism or extremism", 200),
    "A.1.e": ("promoting ethnic hatred", 200),
    "A.1.f": ("promoting violence, obscenity or pornography", 200),
    "A.1.g": ("spreading false and harmful information", 200),
    "A.1.h": ("other content prohibited by laws and administrative regulations", 200),
    "A.2.a": ("ethnic discrimination", 100),
    "A.2.b": ("religious discrimination", 100),
    "A.2.c": ("national discrimination", 100),
    "A.2.d": ("regional discrimination", 100),
    "A.2.e": ("gender discrimination", 100),
    "A.2.f": ("age discrimination", 100),
    "A.2.g": ("occupational discrimination", 100),
    "A.2.h": ("health discrimination", 100),
    "A.2.i": ("other discrimination", 100),
}


class LibraryError(ValueError):
    """A keyword library that cannot be read; the message names the file and line."""


@dataclass(frozen=True, slots=True)
class Term:
    text: str
    category: str
    weight: float = 1.0
    allow: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Category:
    name: str
    standard: tuple[str, ...] = ()
    description: str = ""


@dataclass(frozen=True)
class Library:
    """Terms by category, as loaded from one file."""

    name: str
    source: str
    sha256: str
    categories: Mapping[str, Category]
    terms: tuple[Term, ...]
    mentions: tuple[str, ...] = ()


def _read(spec: str) -> tuple[str, bytes]:
    if spec.startswith(BUILTIN_PREFIX):
        name = spec[len(BUILTIN_PREFIX) :]
        path = resources.files("tracerail.guardrails").joinpath(f"data/keywords/{name}.toml")
        if not path.is_file():
            raise LibraryError(f"{spec}: no such built-in keyword library")
        return f"{name}.toml", path.read_bytes()
    file = Path(spec)
    try:
        return file.name, file.read_bytes()
    except OSError as exc:
        raise LibraryError(f"{spec}: cannot read keyword library ({exc.strerror})") from None


_Parsed = tuple[str, dict[str, Category], list[Term], tuple[str, ...]]


def _toml_library(spec: str, raw: bytes) -> _Parsed:
    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise LibraryError(f"{spec}: {exc}") from None
    allow = {str(k): tuple(str(v) for v in vs) for k, vs in data.get("allow", {}).items()}
    weights = {str(k): float(v) for k, v in data.get("weight", {}).items()}
    categories: dict[str, Category] = {}
    terms: list[Term] = []
    for name, body in data.get("categories", {}).items():
        if not isinstance(body, Mapping) or not isinstance(body.get("terms", []), list):
            raise LibraryError(f"{spec}: [categories.{name}] needs a list `terms`")
        standard = body.get("standard", [])
        standard = [standard] if isinstance(standard, str) else list(standard)
        categories[name] = Category(name, tuple(standard), str(body.get("description", "")))
        for term in body.get("terms", []):
            text = str(term).strip()
            if text:
                terms.append(Term(text, name, weights.get(text, 1.0), allow.get(text, ())))
    library_name = str(data.get("library", {}).get("name", spec))
    cues = data.get("mention", {}).get("cues", [])
    if not isinstance(cues, list):
        raise LibraryError(f"{spec}: [mention] cues must be a list")
    return library_name, categories, terms, tuple(str(c) for c in cues if str(c).strip())


def _text_library(spec: str, raw: bytes) -> _Parsed:
    try:
        lines = raw.decode("utf-8").splitlines()
    except UnicodeDecodeError as exc:
        raise LibraryError(f"{spec}: {exc}") from None
    categories: dict[str, Category] = {}
    terms: list[Term] = []
    category: str | None = None
    for number, line in enumerate(lines, 1):
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        if line.startswith("[") and line.endswith("]"):
            category = line[1:-1].strip()
            categories.setdefault(category, Category(category))
            continue
        if category is None:
            raise LibraryError(f"{spec}:{number}: a term before any [category] line")
        text, *fields = (part.strip() for part in line.split(";"))
        weight = 1.0
        allow: tuple[str, ...] = ()
        for item in fields:
            key, _, value = item.partition("=")
            if key.strip() == "weight":
                try:
                    weight = float(value)
                except ValueError:
                    raise LibraryError(f"{spec}:{number}: weight must be a number") from None
            elif key.strip() == "allow":
                allow = tuple(v.strip() for v in value.split("|") if v.strip())
            else:
                raise LibraryError(f"{spec}:{number}: unknown field {key.strip()!r}")
        terms.append(Term(text, category, weight, allow))
    return spec, categories, terms, ()


@lru_cache(maxsize=64)
def _load(spec: str, raw: bytes) -> Library:
    name, categories, terms, mentions = (
        _toml_library(spec, raw) if spec.endswith(".toml") else _text_library(spec, raw)
    )
    digest = hashlib.sha256(raw).hexdigest()
    return Library(name, spec, digest, categories, tuple(terms), mentions)


def load_library(spec: str) -> Library:
    """Load a library from a file path or ``builtin:NAME``; raises :class:`LibraryError`."""
    filename, raw = _read(spec)
    library = _load(filename if spec.startswith(BUILTIN_PREFIX) else spec, raw)
    return library


def load_libraries(specs: Iterable[str] = DEFAULT_LIBRARIES) -> list[Library]:
    return [load_library(spec) for spec in specs]


def digest(specs: Iterable[str] = DEFAULT_LIBRARIES) -> str:
    """A short hash of the libraries' contents, in order (recorded in the policy version)."""
    hasher = hashlib.sha256()
    for spec in specs:
        hasher.update(_read(spec)[1])
        hasher.update(b"\0")
    return hasher.hexdigest()[:16]


def coverage(libraries: Sequence[Library]) -> dict[str, Any]:
    """Term counts per category and per TC260-003 Appendix A risk, against its minimums."""
    per_category: dict[str, int] = {}
    standard_of: dict[str, tuple[str, ...]] = {}
    seen: set[tuple[str, str]] = set()
    for library in libraries:
        for name, category in library.categories.items():
            standard_of.setdefault(name, category.standard)
        for term in library.terms:
            if (term.category, term.text) not in seen:
                seen.add((term.category, term.text))
                per_category[term.category] = per_category.get(term.category, 0) + 1
    risks = []
    for risk, (description, minimum) in STANDARD_MINIMUMS.items():
        count = sum(n for c, n in per_category.items() if risk in standard_of.get(c, ()))
        risks.append(
            {
                "risk": risk,
                "description": description,
                "terms": count,
                "minimum": minimum,
                "meets": count >= minimum,
            }
        )
    total = len(seen)
    return {
        "libraries": [{"name": lib.name, "sha256": lib.sha256} for lib in libraries],
        "categories": dict(sorted(per_category.items())),
        "risks": risks,
        "total": total,
        "total_minimum": STANDARD_TOTAL_MINIMUM,
        "meets": total >= STANDARD_TOTAL_MINIMUM and all(r["meets"] for r in risks),
    }


@dataclass(frozen=True, slots=True)
class _Entry:
    category: str
    weight: float
    allow: tuple[str, ...]
    latin_start: bool
    latin_end: bool


def _is_latin_word_char(char: str) -> bool:
    return char.isalnum() and not is_cjk_char(char)


class KeywordMatcher:
    """All terms of some libraries in one Aho-Corasick automaton over normalised text.

    ``pinyin=True`` also matches the toned-less pinyin of Chinese terms of two or more
    characters (``dupin`` / ``du pin`` for 毒品) as whole Latin words.
    """

    def __init__(
        self,
        libraries: Sequence[Library],
        *,
        categories: Iterable[str] | None = None,
        extra: Mapping[str, Iterable[str]] | None = None,
        pinyin: bool = False,
    ) -> None:
        import ahocorasick

        wanted = None if categories is None else set(categories)
        self.categories: dict[str, Category] = {}
        self._automaton = ahocorasick.Automaton()
        entries: dict[str, list[_Entry]] = {}

        def add(text: str, category: str, weight: float, allow: tuple[str, ...]) -> None:
            key = normalize(text).text
            if not key.strip():
                return
            allowed = tuple(normalize(a).text for a in allow)
            entry = _Entry(
                category,
                weight,
                allowed,
                _is_latin_word_char(key[0]),
                _is_latin_word_char(key[-1]),
            )
            entries.setdefault(key, []).append(entry)

        for library in libraries:
            for name, category in library.categories.items():
                if wanted is None or name in wanted:
                    self.categories.setdefault(name, category)
            for term in library.terms:
                if wanted is not None and term.category not in wanted:
                    continue
                add(term.text, term.category, term.weight, term.allow)
                if pinyin:
                    for spelled in _pinyin_forms(term.text):
                        add(spelled, term.category, term.weight * 0.9, ())
        for extra_name, words in (extra or {}).items():
            self.categories.setdefault(extra_name, Category(extra_name))
            for word in words:
                add(str(word), extra_name, 1.0, ())
        for key, found in entries.items():
            # One entry per category for a key (the first library wins its weight).
            unique = {e.category: e for e in reversed(found)}
            self._automaton.add_word(key, (len(key), tuple(unique.values())))
        self.size = len(entries)
        if entries:
            self._automaton.make_automaton()
        self.mention_cues = tuple(
            {normalize(c).text for library in libraries for c in library.mentions} - {""}
        )

    def find(self, text: str) -> list[Finding]:
        """Findings typed by category (upper-cased), spans in the *original* text."""
        if not self.size or not text:
            return []
        norm = normalize(text)
        found: list[tuple[int, int, _Entry]] = []
        for end, (length, entries) in self._automaton.iter(norm.text):
            start = end - length + 1
            for entry in entries:
                if self._fires(norm, start, end + 1, entry):
                    found.append((start, end + 1, entry))
        return [self._weigh(text, f) for f in self._findings(norm, found)]

    def _weigh(self, text: str, finding: Finding) -> Finding:
        """A term quoted, or in a sentence with a mention cue, is talked about, not used."""
        if not _mentioned(text, finding.start, finding.end, self.mention_cues):
            return finding
        return Finding(finding.type, finding.start, finding.end, finding.score * MENTION_FACTOR)

    @staticmethod
    def _fires(norm: Normalized, start: int, end: int, entry: _Entry) -> bool:
        text = norm.text
        if entry.latin_start and start > 0 and _is_latin_word_char(text[start - 1]):
            return False
        if entry.latin_end and end < len(text) and _is_latin_word_char(text[end]):
            return False
        for compound in entry.allow:
            lo = max(0, start - len(compound))
            window = text[lo : end + len(compound)]
            at = window.find(compound)
            while at >= 0:
                if lo + at <= start and lo + at + len(compound) >= end:
                    return False
                at = window.find(compound, at + 1)
        return True

    @staticmethod
    def _findings(norm: Normalized, found: list[tuple[int, int, _Entry]]) -> list[Finding]:
        # Longest first at each start; drop matches nested in a kept one of the same category.
        found.sort(key=lambda m: (m[0], -(m[1] - m[0])))
        kept: list[tuple[int, int, _Entry]] = []
        reach: dict[str, int] = {}  # category -> furthest end of a kept match (starts <= this)
        for match in found:
            start, end, entry = match
            if reach.get(entry.category, -1) >= end:
                continue
            reach[entry.category] = end
            kept.append(match)
        results = []
        for start, end, entry in kept:
            o_start, o_end = norm.span(start, end)
            results.append(Finding(entry.category.upper(), o_start, o_end, entry.weight))
        return results


# Quotation marks (ASCII, curly, CJK corner and title brackets), as escapes.
_OPENING_QUOTES: Final = frozenset("\"'\u201c\u2018\u300c\u300e\u300a")
_CLOSING_QUOTES: Final = frozenset("\"'\u201d\u2019\u300d\u300f\u300b")
# Sentence ends: ideographic full stop, full-width ! ? ;, ASCII ! ? ; newline, ". ".
_SENTENCE_END = re.compile("[\u3002\uff01\uff1f\uff1b!?;\n]|\\.(?=\\s|$)")


def _mentioned(text: str, start: int, end: int, cues: Sequence[str]) -> bool:
    """Whether the term at ``text[start:end]`` is quoted or shares a sentence with a cue."""
    before = text[start - 1] if start > 0 else ""
    after = text[end] if end < len(text) else ""
    if before in _OPENING_QUOTES and after in _CLOSING_QUOTES:
        return True
    if not cues:
        return False
    lo = max((m.end() for m in _SENTENCE_END.finditer(text, 0, start)), default=0)
    following = _SENTENCE_END.search(text, end)
    sentence = normalize(text[lo : following.start() if following else len(text)]).text
    return any(cue in sentence for cue in cues)


def _pinyin_forms(term: str) -> list[str]:
    han = [c for c in term if is_cjk_char(c)]
    if len(han) < 2 or len(han) != len(term):
        return []
    from pypinyin import lazy_pinyin

    syllables = lazy_pinyin(term)
    return ["".join(syllables), " ".join(syllables)]

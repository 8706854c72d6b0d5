"""Lemmas, synonyms and antonyms from WordNet 3.0, as a compact table shipped with the package.

The table (``guardrails/data/wordnet.txt.gz``, about 1 MB) is built from the WordNet 3.0
database files by :func:`build_table` (``python -m tracerail.guardrails.evaluators.lexicon
/usr/share/wordnet``; Debian's ``wordnet-base`` package ships those files). It holds, for
single lower-case words only:

* the inflection exceptions (``mice mouse``) used with WordNet's suffix rules to find lemmas;
* per word, the ids of its most frequent senses (synsets), plus the synsets of the words
  derivationally related to it (``completion`` ~ ``complete``): two words sharing an id are
  treated as meaning the same thing;
* antonym pairs of synsets (``increase`` / ``decrease``; adjective satellites inherit their
  head's antonyms, so ``scarce`` is opposed to ``plentiful``).

When the table is missing the lexicon degrades to identity lemmas and no synonyms, logging a
warning once. ``TRACERAIL_WORDNET_TABLE`` points at another table file.

WordNet 3.0 Copyright 2006 by Princeton University. All rights reserved. (License text in
the table file's header; WordNet may be redistributed with that notice.)
"""

from __future__ import annotations

import gzip
import logging
import os
import re
import sys
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

__all__ = ["Lexicon", "build_table", "get_lexicon"]

_log = logging.getLogger(__name__)

TABLE_PATH: Final = Path(__file__).resolve().parent.parent / "data" / "wordnet.txt.gz"
ENV_TABLE: Final = "TRACERAIL_WORDNET_TABLE"
#: Senses per part of speech kept for a word (WordNet lists them most frequent first).
SENSES_PER_POS: Final = 3

_POS_FILES: Final = (("n", "noun"), ("v", "verb"), ("a", "adj"), ("r", "adv"))
_WORD_OK = re.compile(r"^[a-z][a-z\-]*$")
# WordNet's morphy detachment rules, per part of speech.
_RULES: Final[tuple[tuple[str, str], ...]] = (
    ("s", ""),
    ("ses", "s"),
    ("xes", "x"),
    ("zes", "z"),
    ("ches", "ch"),
    ("shes", "sh"),
    ("men", "man"),
    ("ies", "y"),
    ("es", "e"),
    ("es", ""),
    ("ed", "e"),
    ("ed", ""),
    ("ing", "e"),
    ("ing", ""),
    ("er", ""),
    ("est", ""),
    ("er", "e"),
    ("est", "e"),
)


@dataclass(slots=True)
class Lexicon:
    """Look-ups over the table; empty (identity lemmas, no relations) when none was found."""

    exceptions: dict[str, str] = field(default_factory=dict)
    senses: dict[str, tuple[int, ...]] = field(default_factory=dict)
    antonym_pairs: set[tuple[int, int]] = field(default_factory=set)
    kinds: dict[str, tuple[int, ...]] = field(default_factory=dict)
    available: bool = False
    _lemma_cache: dict[str, str] = field(default_factory=dict)

    def lemma(self, word: str) -> str:
        """The dictionary form of a lower-case ``word`` (itself when unknown)."""
        cached = self._lemma_cache.get(word)
        if cached is not None:
            return cached
        found = self._lemma(word)
        if len(self._lemma_cache) < 50_000:
            self._lemma_cache[word] = found
        return found

    def _lemma(self, word: str) -> str:
        if word in self.exceptions:
            return self.exceptions[word]
        if word in self.senses:
            return word
        for suffix, ending in _RULES:
            if word.endswith(suffix) and len(word) > len(suffix) + 1:
                candidate = word[: len(word) - len(suffix)] + ending
                if candidate in self.senses:
                    return candidate
        # doubled consonant: "stopped" -> "stop", "running" -> "run"
        for suffix in ("ed", "ing", "er", "est"):
            stem = word[: -len(suffix)]
            if word.endswith(suffix) and len(stem) > 2 and stem[-1] == stem[-2]:
                if stem[:-1] in self.senses:
                    return stem[:-1]
        return word

    def concepts(self, lemma: str) -> tuple[int, ...]:
        return self.senses.get(lemma, ())

    def synonymous(self, a: str, b: str) -> bool:
        """Whether two lemmas share a sense (or are equal)."""
        if a == b:
            return True
        ca, cb = self.senses.get(a), self.senses.get(b)
        if not ca or not cb:
            return False
        return not set(ca).isdisjoint(cb)

    def siblings(self, a: str, b: str) -> bool:
        """Whether two nouns are different things of the same kind (``kidney``/``liver``,
        ``cat``/``rabbit``): their first senses share a hypernym within two levels, and
        neither word is a synonym or a hypernym of the other."""
        if a == b:
            return False
        ka, kb = self.kinds.get(a), self.kinds.get(b)
        if not ka or not kb or set(ka).isdisjoint(kb):
            return False
        ca, cb = set(self.senses.get(a, ())), set(self.senses.get(b, ()))
        return ca.isdisjoint(cb) and ca.isdisjoint(kb) and cb.isdisjoint(ka)

    def opposed(self, a: str, b: str) -> bool:
        """Whether two lemmas have antonymous senses (``open``/``closed``, ``rise``/``fall``)."""
        if a == b or not self.antonym_pairs:
            return False
        ca, cb = self.senses.get(a, ()), self.senses.get(b, ())
        pairs = self.antonym_pairs
        return any((x, y) in pairs for x in ca for y in cb)


_lexicon: Lexicon | None = None
_lock = threading.Lock()


def get_lexicon() -> Lexicon:
    """The process-wide lexicon, loaded on first use (about 0.5 s)."""
    global _lexicon
    if _lexicon is None:
        with _lock:
            if _lexicon is None:
                path = Path(os.environ.get(ENV_TABLE) or TABLE_PATH)
                _lexicon = _load(path)
    return _lexicon


def _load(path: Path) -> Lexicon:
    try:
        with gzip.open(path, "rt", encoding="utf-8") as handle:
            lines = handle.read().splitlines()
    except (OSError, EOFError) as exc:
        _log.warning(
            "WordNet table %s not readable (%s): groundedness falls back to exact words", path, exc
        )
        return Lexicon()
    lexicon = Lexicon(available=True)
    section = ""
    for line in lines:
        if not line or line.startswith("#"):
            continue
        if line.startswith("@"):
            section = line[1:]
            continue
        parts = line.split(" ")
        if section == "exceptions":
            lexicon.exceptions[parts[0]] = parts[1]
        elif section == "senses":
            lexicon.senses[parts[0]] = tuple(int(p, 36) for p in parts[1:])
        elif section == "kinds":
            lexicon.kinds[parts[0]] = tuple(int(p, 36) for p in parts[1:])
        elif section == "antonyms":
            a, b = int(parts[0], 36), int(parts[1], 36)
            lexicon.antonym_pairs.add((a, b))
            lexicon.antonym_pairs.add((b, a))
    return lexicon


# --- building the table from the WordNet database files ------------------------------------


def _b36(value: int) -> str:
    digits = "0123456789abcdefghijklmnopqrstuvwxyz"
    out = ""
    while True:
        value, rest = divmod(value, 36)
        out = digits[rest] + out
        if not value:
            return out


@dataclass(slots=True)
class _Synset:
    words: list[str]
    antonyms: list[str]  # keys of antonym synsets
    similar: list[str]  # adjective satellite -> head
    derived: list[tuple[int, str]]  # (source word number, target synset key)
    hypernyms: list[str] = field(default_factory=list)


def _parse_data(path: Path, pos: str, synsets: dict[str, _Synset]) -> None:
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        if line.startswith(" "):
            continue
        fields = line.split(" | ", 1)[0].split()
        offset, ss_type = fields[0], fields[2]
        count = int(fields[3], 16)
        words = [fields[4 + 2 * i].lower() for i in range(count)]
        words = [re.sub(r"\(.*\)$", "", w) for w in words]
        at = 4 + 2 * count
        n_ptr = int(fields[at])
        synset = _Synset(words, [], [], [])
        for i in range(n_ptr):
            symbol, target, target_pos, st = fields[at + 1 + 4 * i : at + 5 + 4 * i]
            key = f"{'a' if target_pos == 's' else target_pos}{target}"
            if symbol == "!":
                synset.antonyms.append(key)
            elif symbol == "&" and ss_type == "s":
                synset.similar.append(key)
            elif symbol == "+":
                synset.derived.append((int(st[:2], 16), key))
            elif symbol in ("@", "@i"):
                synset.hypernyms.append(key)
        synsets[f"{pos}{offset}"] = synset


def build_table(wordnet_dir: str | Path) -> str:
    """The table's text built from a WordNet 3.0 ``dict`` directory (data.*, index.*, *.exc)."""
    root = Path(wordnet_dir)
    synsets: dict[str, _Synset] = {}
    for pos, name in _POS_FILES:
        _parse_data(root / f"data.{name}", pos, synsets)
    # every word's most frequent senses, from the index files
    word_senses: dict[str, list[str]] = {}
    first_noun: dict[str, str] = {}
    tagged: dict[tuple[str, str], int] = {}  # how often each part of speech is seen in corpora
    for pos, name in _POS_FILES:
        for line in (root / f"index.{name}").read_text(encoding="utf-8").splitlines():
            if line.startswith(" "):
                continue
            fields = line.split()
            word = fields[0]
            if not _WORD_OK.match(word):
                continue
            n_synsets = int(fields[2])
            tagged[(word, pos)] = int(fields[-n_synsets - 1])
            offsets = fields[-n_synsets:][:SENSES_PER_POS]
            word_senses.setdefault(word, []).extend(f"{pos}{o}" for o in offsets)
            if pos == "n":
                first_noun[word] = f"n{offsets[0]}"
    ids: dict[str, int] = {}

    def ident(key: str) -> int:
        return ids.setdefault(key, len(ids))

    sense_lines = []
    for word in sorted(word_senses):
        keys = list(word_senses[word])
        for key in word_senses[word]:
            synset = synsets.get(key)
            if synset is None:
                continue
            for source_no, target in synset.derived:
                if source_no and synset.words[source_no - 1] == word:
                    keys.append(target)
        unique = list(dict.fromkeys(keys))
        sense_lines.append(" ".join([word, *(_b36(ident(k)) for k in unique)]))
    antonym_lines = set()
    for key, synset in synsets.items():
        if key not in ids:
            continue
        opposed = list(synset.antonyms)
        for head in synset.similar:
            opposed += synsets[head].antonyms if head in synsets else []
        for other in opposed:
            if other in ids:
                a, b = sorted((ids[key], ids[other]))
                antonym_lines.add(f"{_b36(a)} {_b36(b)}")
    # the kinds of thing a noun's first sense is (hypernyms one and two levels up)
    kind_lines = []
    for word in sorted(first_noun):
        synset = synsets.get(first_noun[word])
        others = max((tagged.get((word, p), 0) for p in "var"), default=0)
        if synset is None or tagged.get((word, "n"), 0) < others:
            continue  # mostly a verb or an adjective ("high", "stick")
        up = list(synset.hypernyms)
        up += [h2 for h in synset.hypernyms if h in synsets for h2 in synsets[h].hypernyms]
        if up:
            unique = list(dict.fromkeys(up))
            kind_lines.append(" ".join([word, *(_b36(ident(k)) for k in unique)]))
    exception_lines = []
    for _pos, name in _POS_FILES:
        exc = root / f"{name}.exc"
        if not exc.exists():
            continue
        for line in exc.read_text(encoding="utf-8").splitlines():
            parts = line.split()
            if len(parts) >= 2 and _WORD_OK.match(parts[0]) and _WORD_OK.match(parts[1]):
                exception_lines.append(f"{parts[0]} {parts[1]}")
    header = _license(root)
    return "\n".join(
        [
            *header,
            "@exceptions",
            *sorted(set(exception_lines)),
            "@senses",
            *sense_lines,
            "@antonyms",
            *sorted(antonym_lines),
            "@kinds",
            *kind_lines,
            "",
        ]
    )


def _license(root: Path) -> list[str]:
    lines = ["# Built from WordNet 3.0 by tracerail.guardrails.evaluators.lexicon.build_table."]
    for line in (root / "data.adv").read_text(encoding="utf-8").splitlines()[:29]:
        text = re.sub(r"^\s*\d+\s?", "", line).rstrip()
        lines.append(f"# {text}" if text else "#")
    return lines


def _main(argv: Iterable[str]) -> int:
    args = list(argv)
    source = Path(args[0]) if args else Path("/usr/share/wordnet")
    out = Path(args[1]) if len(args) > 1 else TABLE_PATH
    text = build_table(source)
    with gzip.open(out, "wt", encoding="utf-8", compresslevel=9) as handle:
        handle.write(text)
    print(f"wrote {out} ({out.stat().st_size} bytes)")
    return 0


if __name__ == "__main__":
    raise SystemExit(_main(sys.argv[1:]))

"""The WordNet table: lemmas, shared senses, antonyms; degrading without the table."""

from __future__ import annotations

import gzip
import logging
from pathlib import Path

import pytest

from tracerail.guardrails.evaluators import lexicon
from tracerail.guardrails.evaluators.lexicon import TABLE_PATH, build_table, get_lexicon

WORDNET = Path("/usr/share/wordnet")


@pytest.mark.parametrize(
    ("word", "lemma"),
    [("mice", "mouse"), ("issued", "issue"), ("running", "run"), ("stopped", "stop"),
     ("purchases", "purchase"), ("cheaper", "cheap"), ("refunds", "refund"), ("xyzzy", "xyzzy")],
)  # fmt: skip
def test_lemmas(word: str, lemma: str) -> None:
    assert get_lexicon().lemma(word) == lemma


@pytest.mark.parametrize(
    ("a", "b"),
    [("buy", "purchase"), ("big", "large"), ("begin", "start"), ("allow", "permit"),
     ("complete", "completion")],
)  # fmt: skip
def test_synonyms_and_derivations_share_a_sense(a: str, b: str) -> None:
    assert get_lexicon().synonymous(a, b)


@pytest.mark.parametrize(("a", "b"), [("paris", "lyon"), ("kidney", "liver"), ("cat", "dog")])
def test_different_things_do_not(a: str, b: str) -> None:
    assert not get_lexicon().synonymous(a, b)


@pytest.mark.parametrize(
    ("a", "b"),
    [("increase", "decrease"), ("open", "closed"), ("include", "exclude"), ("allow", "forbid"),
     ("maximum", "minimum"), ("scarce", "plentiful")],
)  # fmt: skip
def test_antonyms(a: str, b: str) -> None:
    assert get_lexicon().opposed(a, b)
    assert get_lexicon().opposed(b, a)
    assert not get_lexicon().opposed(a, a)


def test_a_missing_table_degrades_to_exact_words(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv(lexicon.ENV_TABLE, str(tmp_path / "absent.txt.gz"))
    monkeypatch.setattr(lexicon, "_lexicon", None)
    with caplog.at_level(logging.WARNING, logger=lexicon.__name__):
        empty = get_lexicon()
    assert not empty.available
    assert empty.lemma("mice") == "mice"
    assert not empty.synonymous("buy", "purchase")
    assert "falls back to exact words" in caplog.text


# WordNet 3.0's files come from the Debian package wordnet-base (make system-deps).
def test_the_shipped_table_is_what_build_table_makes_from_wordnet() -> None:
    with gzip.open(TABLE_PATH, "rt", encoding="utf-8") as handle:
        shipped = handle.read()
    assert shipped == build_table(WORDNET)


@pytest.mark.parametrize(
    ("a", "b", "expected"),
    [("kidney", "liver", True), ("cat", "dog", True), ("tram", "bus", True),
     ("euro", "dollar", True), ("dog", "animal", False), ("car", "vehicle", False),
     ("car", "automobile", False), ("high", "low", False)],
)  # fmt: skip
def test_siblings_are_different_things_of_one_kind(a: str, b: str, expected: bool) -> None:
    assert get_lexicon().siblings(a, b) is expected

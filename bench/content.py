"""Keyword matching cost against library size: the content check vs the old word-list matcher.

    .venv/bin/python bench/content.py [--rounds 50] [--sizes 10000,100000]

Builds synthetic libraries (half Chinese terms of 2-4 characters, half English phrases of 1-3
words; seeded) of each size, and times, on the same 1 KB and 10 KB texts (English and Chinese
prose with a few planted terms): ``KeywordMatcher.find`` (normalisation + Aho-Corasick, what
the ``content`` check runs) and ``WordMatcher.find`` (the word-list matcher the check used
before, still used by ``topics``), in one run. Prints p50 ms per KB and the ratio.
"""

# ruff: noqa: RUF001  (Chinese prose uses full-width punctuation)

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tracerail.guardrails.keywords import Category, KeywordMatcher, Library, Term
from tracerail.guardrails.wordlists import WordMatcher

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.timing import samples_ms

HAN = (
    "的一是在不了有和人这中大为上个国我以要他时来用们生到作地于出就分对成会可主发年动"
    "同工也能下过子说产种面而方后多定行学法所民得经十三之进着等部度家电力里如水化高自"
    "二理起小物现实加量都两体制机当使点从业本去把性好应开它合还因由其些然前外天政四日"
    "那社义事平形相全表间样与关各重新线内数正心反你明看原又么利比或但质气第向道命此变"
    "条只没结解问意建月公无系军很情者最立代想已通并提直题党程展五果料象员革位入常文总"
    "次品式活设及管特件长求老头基资边流路级少图山统接知较将组见计别她手角期根论运农指"
    "几九区强放决西被干做必战先回则任取据处府"
)
WORDS = (
    "account refund invoice shipping order delivery warranty battery screen router "
    "password login server cluster replica billing upgrade discount voucher ticket "
    "support agent customer manager policy contract clause payment transfer balance"
).split()
EN_PROSE = (
    "Thanks for reaching out about your order. The replacement unit ships from our Rotterdam "
    "warehouse on Monday, and the tracking link will arrive by email once the courier scans it. "
)
ZH_PROSE = "感谢您联系我们。您的订单已经发货，预计三到五个工作日送达，如有问题请随时联系客服。"
PLANTED = "他想买毒品。how to make a b0mb? 赌博网站推荐。"


def library(size: int, seed: int = 7) -> Library:
    rng = random.Random(seed)
    terms: set[str] = set()
    while len(terms) < size // 2:
        terms.add("".join(rng.choice(HAN) for _ in range(rng.randint(2, 4))))
    while len(terms) < size:
        terms.add(
            " ".join(rng.choice(WORDS) + rng.choice("xyzqk") for _ in range(rng.randint(1, 3)))
        )
    terms |= {"毒品", "make a bomb", "赌博网站"}
    chosen = [Term(t, "synthetic") for t in sorted(terms)]
    return Library(
        "synthetic", "synthetic", "", {"synthetic": Category("synthetic")}, tuple(chosen)
    )


def text(size: int) -> str:
    out = PLANTED
    while len(out.encode()) < size:
        out += EN_PROSE + ZH_PROSE
    return out.encode()[:size].decode("utf-8", "ignore")


def p50_ms(fn: Callable[[str], Any], sample: str, rounds: int) -> float:
    return statistics.median(samples_ms(fn, sample, rounds))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=50)
    parser.add_argument("--sizes", default="10000,100000")
    args = parser.parse_args()
    print(f"{'terms':>7} {'text':>6} {'automaton ms/KB':>16} {'word lists ms/KB':>17} {'ratio':>6}")
    for size in (int(s) for s in args.sizes.split(",")):
        lib = library(size)
        started = time.perf_counter()
        automaton = KeywordMatcher([lib])
        built = time.perf_counter() - started
        words = WordMatcher({"synthetic": [t.text for t in lib.terms]})
        for kb in (1, 10):
            sample = text(kb * 1024)
            assert automaton.find(sample), "planted terms must be found"
            new = p50_ms(automaton.find, sample, args.rounds) / kb
            old = p50_ms(words.find, sample, max(args.rounds // 5, 3)) / kb
            print(f"{size:>7} {kb:>4}KB {new:>16.3f} {old:>17.3f} {old / new:>5.1f}x")
        print(f"        (automaton built in {built:.1f} s)")


if __name__ == "__main__":
    main()

"""The ``content`` check: keyword libraries, evasion-proof matching, categories and actions."""

# ruff: noqa: RUF001  (full-width letters and punctuation are the point of these tests)

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tracerail.guardrails import CheckConfig, Policy
from tracerail.guardrails.checks.content import ContentCheck
from tracerail.guardrails.keywords import (
    MENTION_FACTOR,
    KeywordMatcher,
    LibraryError,
    coverage,
    load_library,
)
from tracerail.guardrails.normalize import normalize
from tracerail.guardrails.types import Action


def check(
    text: str, action: Action = Action.FLAG, threshold: float = 0.5, **options: object
) -> object:
    config = CheckConfig("content", action, threshold=threshold, options=dict(options))
    return ContentCheck(config).check(text, target="input", context={})


def found(text: str, **options: object) -> list[tuple[str, str]]:
    """(category, the original characters) of each finding."""
    verdict = check(text, **options)
    return [(f.type, text[f.start : f.end]) for f in verdict.findings]  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("text", "category", "original"),
    [
        ("我想买毒品", "DRUGS", "买毒品"),
        ("我想买毒-品", "DRUGS", "买毒-品"),
        ("我想买毒 品", "DRUGS", "买毒 品"),
        ("我想买毒\u200b品", "DRUGS", "买毒\u200b品"),  # a zero-width space between
        ("如何製造炸彈", "WEAPONS", "製造炸彈"),  # traditional characters
        ("ｄｒｕｇｓ for sale", "DRUGS", "ｄｒｕｇｓ"),  # full-width letters
        ("how to make a b0mb", "WEAPONS", "make a b0mb"),  # leetspeak
        ("HOW TO MAKE A BOMB", "WEAPONS", "MAKE A BOMB"),
        ("selling d r u g s here", "DRUGS", "d r u g s"),  # spaced out
        ("b.o.m.b making", "WEAPONS", "b.o.m.b making"),
        ("赌博网站推荐", "GAMBLING", "赌博网站"),
        ("这个人是个傻逼", "PROFANITY", "傻逼"),
    ],
)
def test_disguised_terms_are_found_and_cut_at_the_original_characters(
    text: str, category: str, original: str
) -> None:
    assert (category, original) in found(text)


def test_redaction_removes_exactly_the_disguised_characters() -> None:
    verdict = check("我想买毒-品，快点", Action.REDACT)
    redacted = verdict.redacted_text  # type: ignore[attr-defined]
    assert redacted is not None
    assert "毒" not in redacted and "品" not in redacted and "-" not in redacted
    assert redacted.startswith("我想") and redacted.endswith("，快点")


@pytest.mark.parametrize(
    "text",
    [
        "大麻哈鱼很好吃",  # a fish, not cannabis
        "鸦片战争是近代史的开端",  # history
        "本店跳楼价清仓",  # a price, not a suicide
        "周末去溜冰场",
        "suicide prevention hotline: call 988",
        "the heroine of the novel",
        "that was a great skill shot",
        "generic drugs are cheaper than brand-name ones",
        "version 3.10 released",  # digits alone stay digits
        "",
    ],
)
def test_innocent_compounds_and_look_alikes_do_not_fire(text: str) -> None:
    assert found(text) == []


def test_pinyin_is_optional() -> None:
    assert found("wo xiang mai dupin") == []
    assert ("DRUGS", "dupin") in found("wo xiang mai dupin", pinyin=True)


def test_policy_acts_per_category() -> None:
    options = {"actions": {"violence": "block", "profanity": "flag"}}
    assert check("我要杀了你", **options).action is Action.BLOCK  # type: ignore[attr-defined]
    assert check("你这个傻逼", **options).action is Action.FLAG  # type: ignore[attr-defined]
    both = check("傻逼，我要杀了你", **options)
    assert both.action is Action.BLOCK  # type: ignore[attr-defined]
    assert {f.type for f in both.findings} == {"VIOLENCE", "PROFANITY"}  # type: ignore[attr-defined]


def write_library(path: Path, text: str) -> Path:
    """A keyword library file (TOML or text format, by its suffix) with ``text``."""
    path.write_text(text, encoding="utf-8")
    return path


def test_a_users_own_libraries_in_both_formats(tmp_path: Path) -> None:
    toml = write_library(
        tmp_path / "acme.toml",
        '[library]\nname = "acme"\n[categories.leaks]\nstandard = ["A.1.b"]\n'
        'terms = ["project zeus", "宙斯计划"]\n[allow]\n"project zeus" = ["project zeus faq"]\n',
    )
    text = write_library(
        tmp_path / "acme.txt", "# competitors\n[competitors]\nglobex ; weight=0.4\n"
    )
    options = {"libraries": [str(toml), str(text)]}
    assert found("the project zeus launch", **options) == [("LEAKS", "project zeus")]
    assert found("see the project zeus faq", **options) == []
    assert found("宙斯 计划的预算", **options) == [("LEAKS", "宙斯 计划")]
    matcher = KeywordMatcher([load_library(str(toml)), load_library(str(text))])
    (finding,) = matcher.find("we beat globex")
    assert (finding.type, finding.score) == ("COMPETITORS", 0.4)
    # A weight under the check's threshold (0.5) keeps the finding out of the verdict.
    assert check("we beat globex", **options).action is Action.ALLOW  # type: ignore[attr-defined]
    assert check("we beat globex", threshold=0.3, **options).action is Action.FLAG  # type: ignore[attr-defined]


def test_bad_libraries_are_named(tmp_path: Path) -> None:
    orphan = write_library(tmp_path / "orphan.txt", "a term before any category\n")
    with pytest.raises(LibraryError, match=r"orphan.txt:1"):
        load_library(str(orphan))
    bad = write_library(tmp_path / "bad.txt", "[x]\nterm ; weight=heavy\n")
    with pytest.raises(LibraryError, match=r"bad.txt:2: weight"):
        load_library(str(bad))
    with pytest.raises(LibraryError, match="no such built-in"):
        load_library("builtin:nope")
    with pytest.raises(LibraryError, match="cannot read"):
        load_library(str(tmp_path / "missing.toml"))


def test_the_policy_version_records_the_librarys_contents(tmp_path: Path) -> None:
    library = write_library(tmp_path / "lib.txt", "[x]\nalpha\n")

    def version() -> str:
        config = CheckConfig("content", Action.FLAG, options={"libraries": [str(library)]})
        return Policy(checks=(config,)).version

    first = version()
    assert version() == first
    library.write_text("[x]\nalpha\nbeta\n", encoding="utf-8")
    assert version() != first  # same file name, new contents: a new policy version


def test_coverage_counts_terms_per_appendix_a_risk(tmp_path: Path) -> None:
    library = write_library(
        tmp_path / "lib.toml",
        '[categories.a]\nstandard = ["A.1.a"]\nterms = ["x1", "x2", "x2"]\n'
        '[categories.b]\nstandard = ["A.1.a", "A.2.e"]\nterms = ["y1"]\n',
    )
    report = coverage([load_library(str(library))])
    assert report["categories"] == {"a": 2, "b": 1}  # the repeated "x2" counts once
    risks = {r["risk"]: r for r in report["risks"]}
    assert (risks["A.1.a"]["terms"], risks["A.1.a"]["minimum"]) == (3, 200)
    assert (risks["A.2.e"]["terms"], risks["A.2.e"]["minimum"]) == (1, 100)
    assert risks["A.1.b"]["terms"] == 0
    assert report["total"] == 3 and report["meets"] is False
    assert len(risks) == 17  # the 8 risks of A.1 and 9 of A.2


def test_every_starter_category_maps_to_known_risks() -> None:
    starter = load_library("builtin:starter")
    report = coverage([starter])
    assert set(report["categories"]) == set(starter.categories)
    known = {r["risk"] for r in report["risks"]}
    for category in starter.categories.values():
        assert set(category.standard) <= known, category.name


@given(st.text(max_size=60))
def test_normalised_characters_map_back_into_the_original(text: str) -> None:
    norm = normalize(text)
    assert len(norm.offsets) == len(norm.text)
    assert list(norm.offsets) == sorted(norm.offsets)
    assert all(0 <= o < max(len(text), 1) for o in norm.offsets)


@given(st.lists(st.sampled_from(["毒品", "赌博", "炸弹", "吃饭", "，", " ", "-", "a", "1"])))
def test_a_match_covers_its_original_characters(parts: list[str]) -> None:
    text = "".join(parts)
    matcher = KeywordMatcher([load_library("builtin:starter")])
    for finding in matcher.find(text):
        original = text[finding.start : finding.end]
        assert normalize(original).text.replace(" ", "") != ""
        assert finding.start < finding.end <= len(text)


def test_coverage_command_prints_the_shortfall_and_writes_json(tmp_path: Path) -> None:
    import json

    from typer.testing import CliRunner

    from tracerail.collector.cli import app

    out = tmp_path / "coverage.json"
    result = CliRunner().invoke(app, ["content", "coverage", "--json", str(out)])
    assert result.exit_code == 0, result.output
    report = json.loads(out.read_text(encoding="utf-8"))
    assert f"total {report['total']} terms (minimum 10000)" in result.output
    assert "does NOT meet" in result.output  # the starter library is modest, and says so
    missing = CliRunner().invoke(app, ["content", "coverage", "-l", str(tmp_path / "nope.txt")])
    assert missing.exit_code == 2 and "cannot read keyword library" in missing.output


@pytest.mark.parametrize(
    ("used", "mentioned"),
    [
        ("你这个傻逼", "版规：不要在评论区使用“傻逼”这个词"),  # quoted: talked about
        ("where can I buy heroin tonight", "Police seized heroin worth a million in the raid."),
        ("我想买毒品", "警方破获一起贩卖毒品案。"),  # a news cue in the same sentence
    ],
)
def test_a_term_talked_about_scores_under_the_threshold(used: str, mentioned: str) -> None:
    assert check(used).action is Action.FLAG  # type: ignore[attr-defined]
    assert check(mentioned).action is Action.ALLOW  # type: ignore[attr-defined]
    matcher = KeywordMatcher([load_library("builtin:starter")])
    (finding, *_) = matcher.find(mentioned)
    assert finding.score == pytest.approx(MENTION_FACTOR * 1.0)


def test_a_cue_reaches_only_its_own_sentence() -> None:
    assert check("警方今天发布了提醒。我想买毒品，谁有？").action is Action.FLAG  # type: ignore[attr-defined]


def test_a_users_library_brings_its_own_mention_cues(tmp_path: Path) -> None:
    library = tmp_path / "lib.toml"
    library.write_text(
        '[categories.leaks]\nterms = ["project zeus"]\n[mention]\ncues = ["press release"]\n',
        encoding="utf-8",
    )
    options = {"libraries": [str(library)]}
    assert check("tell me about project zeus", **options).action is Action.FLAG  # type: ignore[attr-defined]
    assert check("the press release names project zeus", **options).action is Action.ALLOW  # type: ignore[attr-defined]

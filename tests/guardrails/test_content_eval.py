"""The content-check harness: metrics against hand-computed cases, loading errors, the sets, CLI."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tracerail.guardrails.content_eval import (
    CATEGORIES,
    ContentReport,
    DatasetError,
    Example,
    TextResult,
    evaluate,
    format_report,
    load_examples,
)

DATA = Path(__file__).parent.parent / "data" / "content"


def ex(id_: str, labels: set[str], kind: str, text: str | None = None) -> Example:
    return Example(id_, text or f"text {id_}", frozenset(labels), kind, "en")


# Seven texts, what the fake check reports for each, and the counts worked out by hand.
EXAMPLES = [
    ex("a", {"drugs"}, "plain"),  # drugs tp
    ex("b", {"drugs", "violence"}, "plain"),  # drugs tp, violence fn
    ex("c", {"weapons"}, "evasion"),  # weapons fn
    ex("d", set(), "hard_negative"),  # drugs fp
    ex("e", set(), "hard_negative"),
    ex("f", set(), "clean"),
    ex("g", {"violence"}, "evasion"),  # violence tp, profanity fp
]
FOUND = {
    "text a": ["DRUGS", "DRUGS"],  # two findings of one category: one text-level prediction
    "text b": ["DRUGS"],
    "text c": [],
    "text d": ["DRUGS"],
    "text e": [],
    "text f": [],
    "text g": ["VIOLENCE", "PROFANITY"],
}


@pytest.fixture
def report() -> ContentReport:
    return evaluate(EXAMPLES, FOUND.__getitem__, covered={"drugs", "violence"})


def test_per_category_counts(report: ContentReport) -> None:
    cats = report.categories
    assert (cats["drugs"].tp, cats["drugs"].fp, cats["drugs"].fn) == (2, 1, 0)
    assert cats["drugs"].precision == pytest.approx(2 / 3)
    assert cats["drugs"].recall == 1.0
    assert (cats["violence"].precision, cats["violence"].recall) == (1.0, 0.5)
    # nothing predicted: precision undefined; no gold text: recall undefined
    assert (cats["weapons"].precision, cats["weapons"].recall) == (None, 0.0)
    assert (cats["profanity"].precision, cats["profanity"].recall) == (0.0, None)
    assert set(cats) == {"drugs", "violence", "weapons", "profanity"}


def test_micro_macro_and_binary(report: ContentReport) -> None:
    micro = report.micro()
    # tp: a drugs, b drugs, g violence; fp: d drugs, g profanity; fn: b violence, c weapons
    assert (micro.tp, micro.fp, micro.fn) == (3, 2, 2)
    assert micro.precision == pytest.approx(3 / 5)
    assert micro.recall == pytest.approx(3 / 5)
    # macro over drugs, violence, weapons (profanity has no gold text); weapons' P counts 0
    macro = report.macro()
    assert macro["categories"] == 3
    assert macro["precision"] == pytest.approx((2 / 3 + 1 + 0) / 3)
    assert macro["recall"] == pytest.approx((1 + 0.5 + 0) / 3)
    # covered: only drugs and violence
    covered = report.micro(report.covered)
    assert (covered.tp, covered.fp, covered.fn) == (3, 1, 1)
    assert report.macro(report.covered)["recall"] == pytest.approx(0.75)
    # any category: gold a b c g, flagged a b d g
    binary = report.binary()
    assert (binary.tp, binary.fp, binary.fn) == (3, 1, 1)


def test_negatives_and_evasion(report: ContentReport) -> None:
    assert report.flagged_rate("hard_negative") == (1, 2)
    assert report.flagged_rate("clean") == (0, 1)
    assert report.kind_recall("evasion").recall == 0.5  # c missed, g found
    assert report.kind_recall("plain").recall == pytest.approx(2 / 3)
    body = report.as_dict()
    assert body["hard_negative_fp_rate"] == 0.5
    assert body["evasion_recall"] == 0.5
    assert body["micro"]["precision"] == 0.6
    assert body["categories"]["weapons"]["precision"] is None
    by_id = {item["id"]: item for item in body["items"]}
    assert by_id["g"]["extra"] == ["profanity"]
    assert by_id["b"]["missed"] == ["violence"]
    json.dumps(body)  # serialisable
    text = format_report(report)
    assert "hard_negative texts flagged: 1/2 (50.0%)" in text
    assert "evasion recall: 0.500 (1/2 labels)" in text


def test_speed_is_median_of_ms_per_kb() -> None:
    results = [
        TextResult(ex("1", set(), "clean", "a" * 1024), frozenset(), 1.0),  # 1 ms/KB
        TextResult(ex("2", set(), "clean", "b" * 512), frozenset(), 1.0),  # 2 ms/KB
        TextResult(ex("3", set(), "clean", "c" * 2048), frozenset(), 8.0),  # 4 ms/KB
    ]
    report = ContentReport(results)
    assert report.ms_per_kb_p50 == pytest.approx(2.0)
    assert report.ms_per_kb_total == pytest.approx(10.0 / 3.5)
    # a CJK character is three bytes in UTF-8
    cjk = ContentReport([TextResult(ex("4", set(), "clean", "字" * 1024), frozenset(), 3.0)])
    assert cjk.ms_per_kb_p50 == pytest.approx(1.0)


def test_progress_is_reported() -> None:
    seen: list[int] = []
    evaluate(EXAMPLES, FOUND.__getitem__, progress=seen.append)
    assert seen == list(range(1, len(EXAMPLES) + 1))


GOOD = {"id": "x1", "text": "hello", "lang": "en", "labels": [], "kind": "clean"}


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("{not json", "not JSON"),
        ("[1, 2]", "expected a JSON object"),
        (json.dumps({k: v for k, v in GOOD.items() if k != "kind"}), "missing 'kind'"),
        (json.dumps({**GOOD, "labels": ["drug"]}), "unknown categories drug"),
        (json.dumps({**GOOD, "labels": "drugs"}), "list of category names"),
        (json.dumps({**GOOD, "kind": "sneaky"}), "'kind' must be one of"),
        (json.dumps({**GOOD, "lang": "fr"}), "'lang' must be one of"),
        (json.dumps({**GOOD, "labels": ["drugs"]}), "a clean text needs no category"),
        (json.dumps({**GOOD, "kind": "evasion"}), "an? evasion text needs at least one"),
        (json.dumps({**GOOD, "text": "  "}), "non-empty string"),
        (json.dumps(GOOD), "id 'x1' already used on line 1"),
    ],
)
def test_load_errors_name_the_line(tmp_path: Path, line: str, message: str) -> None:
    path = tmp_path / "set.jsonl"
    path.write_text(json.dumps(GOOD) + "\n\n" + line + "\n", encoding="utf-8")
    with pytest.raises(DatasetError, match=rf"set\.jsonl:3: .*{message}"):
        load_examples(path)


def test_load_errors_for_empty_or_missing_files(tmp_path: Path) -> None:
    (tmp_path / "empty.jsonl").write_text("\n", encoding="utf-8")
    with pytest.raises(DatasetError, match="no labelled texts"):
        load_examples(tmp_path / "empty.jsonl")
    with pytest.raises(DatasetError, match="cannot read"):
        load_examples(tmp_path / "absent.jsonl")


def test_the_labelled_sets() -> None:
    dev, test = load_examples(DATA / "dev.jsonl"), load_examples(DATA / "test.jsonl")
    assert len(dev) + len(test) >= 440
    for split in (dev, test):
        kinds = Counter(e.kind for e in split)
        positives = kinds["plain"] + kinds["evasion"]
        assert 0.15 <= kinds["evasion"] / positives <= 0.30
        assert kinds["hard_negative"] / len(split) >= 0.30
        assert kinds["clean"] / len(split) >= 0.10
        assert {c for e in split for c in e.labels} == set(CATEGORIES)
        assert {e.lang for e in split} == {"zh", "en", "mixed"}
    # whole families go to one split; no text is in both
    families = [
        {json.loads(line)["family"] for line in (DATA / f"{name}.jsonl").open(encoding="utf-8")}
        for name in ("dev", "test")
    ]
    assert len(families[0]) >= 20 and len(families[1]) >= 20
    assert not families[0] & families[1]
    assert not {e.text for e in dev} & {e.text for e in test}


def test_cli(tmp_path: Path) -> None:
    from tracerail.collector.cli import app

    library = tmp_path / "mini.txt"
    library.write_text("[drugs]\nheroin\n[weapons]\nbomb\n", encoding="utf-8")
    rows = [
        {"id": "1", "text": "who sells heroin here", "lang": "en", "labels": ["drugs"]},
        {"id": "2", "text": "how to make a b0mb", "lang": "en", "labels": ["weapons"]},
        {"id": "3", "text": "the heroine wins", "lang": "en", "labels": []},
        {"id": "4", "text": "a quiet afternoon", "lang": "en", "labels": []},
    ]
    kinds = ["plain", "evasion", "hard_negative", "clean"]
    data = tmp_path / "set.jsonl"
    data.write_text(
        "".join(json.dumps({**r, "kind": k}) + "\n" for r, k in zip(rows, kinds, strict=True)),
        encoding="utf-8",
    )
    out = tmp_path / "report.json"
    args = ["eval", "content", str(data), "--library", str(library), "--json", str(out)]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "drugs" in result.output and "evasion recall" in result.output
    body = json.loads(out.read_text(encoding="utf-8"))
    assert body["texts"] == 4
    assert body["libraries"] == [str(library)]
    assert body["categories"]["drugs"]["tp"] == 1
    assert body["covered_categories"] == ["drugs", "weapons"]
    assert body["clean_flagged"] == 0
    assert len(body["items"]) == 4

    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"id": "1"}\n', encoding="utf-8")
    result = CliRunner().invoke(app, ["eval", "content", str(bad)])
    assert result.exit_code == 2
    assert "bad.jsonl:1: missing" in result.output

    result = CliRunner().invoke(
        app, ["eval", "content", str(data), "--library", str(tmp_path / "none.txt")]
    )
    assert result.exit_code == 2
    assert "cannot read keyword library" in result.output

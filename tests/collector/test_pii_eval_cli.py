# ruff: noqa: RUF001  (Chinese punctuation in the test text)
"""``tracerail eval pii``: figures printed, JSON written, bad input named."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from tracerail.collector.cli import app

ROWS = [
    {
        "text": "Write to ann.lee@example.com about build 4.30.4.83.",
        "entities": [{"type": "EMAIL_ADDRESS", "start": 9, "end": 28}],
        "lookalikes": [{"kind": "version", "start": 41, "end": 50}],
    },
    {
        "text": "我叫张伟，手机号13812345678。",
        "entities": [
            {"type": "PERSON", "start": 2, "end": 4},
            {"type": "PHONE_NUMBER", "start": 8, "end": 19},
        ],
    },
]


def test_eval_pii_prints_and_writes_the_report(tmp_path: Path) -> None:
    data = tmp_path / "set.jsonl"
    data.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in ROWS) + "\n")
    out = tmp_path / "report.json"
    result = CliRunner().invoke(app, ["eval", "pii", str(data), "--json", str(out)])
    assert result.exit_code == 0, result.output
    assert "EMAIL_ADDRESS" in result.output and "look-alikes flagged: 0/1" in result.output
    report = json.loads(out.read_text())
    assert report["types"]["PERSON"] == {
        "gold": 1,
        "found": 1,
        "precision": 1.0,
        "recall": 1.0,
        "exact_precision": 1.0,
        "exact_recall": 1.0,
    }
    assert report["all"]["recall"] == 1.0 and report["lookalike_fp_rate"] == 0.0


def test_eval_pii_names_a_bad_line_and_a_missing_check(tmp_path: Path) -> None:
    data = tmp_path / "bad.jsonl"
    data.write_text('{"text": "x", "entities": [{"type": "A", "start": 0, "end": 5}]}\n')
    result = CliRunner().invoke(app, ["eval", "pii", str(data)])
    assert result.exit_code == 2 and "bad.jsonl:1" in result.output
    good = tmp_path / "good.jsonl"
    good.write_text('{"text": "x", "entities": []}\n')
    result = CliRunner().invoke(app, ["eval", "pii", str(good), "--check", "nope"])
    assert result.exit_code == 2 and "no pii check named 'nope'" in result.output

"""``tracerail eval groundedness``: figures printed, JSON written, bad input named."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

from typer.testing import CliRunner

from tracerail.collector.cli import app
from tracerail.guardrails.evaluators import Evaluation, register_evaluator


class _Keyword:
    """Flags answers containing 'moon' (score 0.8), passes the rest (score 0.2)."""

    name = "cli-test-keyword"
    version = "7"

    def evaluate(
        self, answer: str, sources: Sequence[str], *, question: str | None = None
    ) -> Evaluation:
        score = 0.8 if "moon" in answer else 0.2
        label = "hallucinated" if score >= 0.5 else "grounded"
        return Evaluation(score, label, "keyword", self.name, self.version)


register_evaluator(_Keyword.name, _Keyword)


def _data(tmp_path: Path, rows: int) -> Path:
    lines = []
    for i in range(rows):
        hallucinated = i % 2 == 0
        answer = "made of moon rock" if hallucinated and i % 4 == 0 else "as the source says"
        lines.append(
            json.dumps(
                {
                    "id": f"i{i}",
                    "sources": ["A source."],
                    "answer": answer,
                    "label": "hallucinated" if hallucinated else "grounded",
                    "kind": "wrong_entity" if hallucinated else "paraphrase",
                }
            )
        )
    path = tmp_path / "set.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_prints_the_figures_and_writes_json(tmp_path: Path) -> None:
    data = _data(tmp_path, 60)  # long enough for the progress bar path
    out = tmp_path / "report.json"
    result = CliRunner().invoke(
        app, ["eval", "groundedness", str(data), "-e", _Keyword.name, "--json", str(out)]
    )
    assert result.exit_code == 0, result.output
    # 30 hallucinated, 15 of them mention the moon; 30 grounded, all passed
    assert "balanced accuracy 0.750" in result.stdout
    assert "AUROC 0.750" in result.stdout
    assert "wrong_entity" in result.stdout
    assert "p50" in result.stdout
    body = json.loads(out.read_text(encoding="utf-8"))
    assert body["evaluator"] == _Keyword.name
    assert body["version"] == "7"
    assert body["confusion"] == {"tp": 15, "fn": 15, "fp": 0, "tn": 30}
    assert len(body["items"]) == 60


def test_threshold_option(tmp_path: Path) -> None:
    data = _data(tmp_path, 8)
    result = CliRunner().invoke(
        app, ["eval", "groundedness", str(data), "-e", _Keyword.name, "--threshold", "0.1"]
    )
    assert result.exit_code == 0, result.output
    assert "balanced accuracy 0.500" in result.stdout  # everything flagged


def test_bad_line_is_named_and_exits_2(tmp_path: Path) -> None:
    data = tmp_path / "bad.jsonl"
    data.write_text('{"sources": ["s"], "answer": "a", "label": "grounded"}\nnot json\n')
    result = CliRunner().invoke(app, ["eval", "groundedness", str(data), "-e", _Keyword.name])
    assert result.exit_code == 2
    assert "bad.jsonl:2: invalid JSON" in result.output


def test_unknown_evaluator_exits_2(tmp_path: Path) -> None:
    data = _data(tmp_path, 2)
    result = CliRunner().invoke(app, ["eval", "groundedness", str(data), "-e", "no-such"])
    assert result.exit_code == 2
    assert "unknown evaluator 'no-such'" in result.output

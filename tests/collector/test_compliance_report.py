"""The compliance report (``/api/v1/reports/compliance`` and ``tracerail report``) and the
``tracerail audit search`` command, over data sent through the real SDK."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from typer.testing import CliRunner

import tracerail
from tests.support.audit_data import Workload, populate
from tests.support.server import RunningServer
from tracerail.collector.cli import app

pytestmark = pytest.mark.e2e

ACTIONS = ("allow", "flag", "redact", "block")
SECTIONS = (
    "scope",
    "volume",
    "data-protection",
    "content-safety",
    "provenance",
    "models",
    "hallucination",
    "triggers",
    "retention",
    "regulatory",
    "definitions",
)


@pytest.fixture
def workload(collector: RunningServer) -> Iterator[Workload]:
    yield populate(collector)
    tracerail.shutdown()


def _report(collector: RunningServer, **params: Any) -> httpx.Response:
    return httpx.get(f"{collector.base_url}/api/v1/reports/compliance", params=params, timeout=120)


def _adds_up(rows: list[dict[str, Any]], totals: dict[str, int]) -> None:
    for row in rows:
        assert row["total"] == sum(row[a] for a in ACTIONS)
    for column in (*ACTIONS, "total"):
        assert totals[column] == sum(r[column] for r in rows)


def test_json_report_numbers_add_up(collector: RunningServer, workload: Workload) -> None:
    r = _report(collector).json()
    volume = r["volume"]
    assert volume["calls"] == workload.generations == 6
    assert volume["blocked"] == workload.blocked == 1
    assert (volume["users"], volume["sessions"], volume["models"]) == (3, 3, ["m-a", "m-b"])
    assert sum(d["calls"] for d in volume["by_day"]) == volume["calls"]
    card = r["model_scorecard"]
    assert card["total_calls"] == volume["calls"]
    assert {m["model"]: m["calls"] for m in card["models"]} == {"m-a": 4, "m-b": 2}
    m_a = next(m for m in card["models"] if m["model"] == "m-a")
    assert (m_a["evaluated"], m_a["hallucination_rate"]) == (2, 0.5)
    assert m_a["hallucination_ci95"][0] < 0.5 < m_a["hallucination_ci95"][1]

    dp = r["data_protection"]
    assert [(p["entity_type"], p["redact"]) for p in dp["pii_findings"]] == [("EMAIL_ADDRESS", 1)]
    _adds_up(dp["pii_findings"], dp["pii_findings_total"])
    assert dp["pii_decisions_with_findings"]["total"] == 1
    assert dp["redaction_coverage"] == 1.0
    assert dp["blocked_requests"] == 1
    assert dp["block_decisions_by_check"] == [{"check": "injection", "decisions": 1, "spans": 1}]
    assert dp["secrets_caught"] == 1
    assert [s["entity_type"] for s in dp["secrets_by_type"]] == ["AWS_ACCESS_KEY"]

    cs = r["content_safety"]
    _adds_up(cs["decisions_by_check"], cs["decisions_total"])
    _adds_up(cs["findings_by_category"], cs["findings_total"])
    injection = next(c for c in cs["findings_by_category"] if c["category"].startswith("injection"))
    assert (injection["flag"], injection["block"]) == (1, 1)
    # Which policy version (so which keyword library) filtered content, and on which days.
    content = next(c for c in cs["decisions_by_check"] if c["check"] == "content")
    versions = cs["policy_versions"]
    assert sum(v["decisions"] for v in versions) == content["total"]
    from tracerail.guardrails import Policy

    assert Policy.default().version in {v["policy_version"] for v in versions}

    pv = r["provenance"]
    assert pv["generations"] == volume["calls"]
    assert pv["with_sources"] == 2
    assert pv["with_template_version"] == 5  # the blocked call never reached its prompt
    assert pv["ledger"]["ok"] is True and pv["ledger"]["rows_checked"] > 0
    head = httpx.get(f"{collector.base_url}/api/v1/audit/ledger/head").json()
    assert pv["ledger"]["head_chain_hash"] == head["chain_hash"]

    over_time = r["hallucination_over_time"]
    assert sum(d["evaluated"] for d in over_time) == 2
    assert sum(d["hallucinated"] for d in over_time) == 1
    triggers = {(t["check"], t["action"]): t["count"] for t in r["top_triggers"]}
    assert triggers[("pii", "redact")] == 1 and triggers[("injection", "block")] == 1
    assert all(t["action"] != "allow" for t in r["top_triggers"])
    assert r["retention"]["configured_days"] == 30
    assert len(r["definitions"]) >= 10

    # The dashboard's series and cards count the same things as the report.
    series = httpx.get(f"{collector.base_url}/api/v1/metrics/timeseries", timeout=60).json()
    overview = series["overview"]
    assert (overview["calls"], overview["blocked"]) == (volume["calls"], volume["blocked"])
    assert overview["cost_usd"] == pytest.approx(card["total_cost_usd"])
    assert (overview["evaluated"], overview["hallucinated"]) == (2, 1)
    assert sum(p["calls"] for p in series["points"]) == volume["calls"]
    assert sum(sum(p["actions"].values()) for p in series["points"]) == overview["decisions"]
    hourly = httpx.get(f"{collector.base_url}/api/v1/metrics/timeseries", params={"bucket": "hour"})
    assert hourly.status_code == 400 and hourly.json()["detail"].startswith("bucket")


def test_html_report_is_self_contained_with_a_page_per_section(
    collector: RunningServer, workload: Workload
) -> None:
    response = _report(collector, format="html")
    assert response.headers["content-type"].startswith("text/html")
    html = response.text
    assert re.findall(r'<section id="([a-z-]+)"', html) == list(SECTIONS)
    assert "break-after: page" in html
    # Nothing is loaded from elsewhere: no scripts, no external src/href/url().
    assert "<script" not in html
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", html)
    assert not re.search(r"url\(\s*['\"]?(https?:)?//", html)
    assert html.count("<svg") >= 3
    report = _report(collector).json()
    volume = re.search(r"<th>Model calls</th><td class=\"n\">([\d,]+)</td>", html)
    assert volume is not None and int(volume[1]) == report["volume"]["calls"]
    assert report["provenance"]["ledger"]["head_chain_hash"] in html


@pytest.mark.browser
def test_pdf_report_prints_one_page_per_section(
    collector: RunningServer, workload: Workload, tmp_path: Path
) -> None:
    response = _report(collector, format="pdf")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/pdf"
    assert response.content.startswith(b"%PDF")
    (tmp_path / "report.pdf").write_bytes(response.content)
    # The root of the page tree counts every page (inner nodes count their subtrees).
    counts = re.findall(rb"/Type\s*/Pages\b[^>]*?/Count\s+(\d+)", response.content, re.S)
    assert max(map(int, counts)) == len(SECTIONS)


def test_pdf_without_chromium_names_the_package(
    collector: RunningServer, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from tracerail.collector.reports.render import PdfUnavailable, find_chromium

    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.delenv("TRACERAIL_CHROMIUM", raising=False)
    with pytest.raises(PdfUnavailable, match="Debian package 'chromium'"):
        find_chromium()
    response = _report(collector, format="pdf")
    assert response.status_code == 503
    assert response.json()["error"] == "pdf_unavailable"
    assert "chromium" in response.json()["detail"]


@pytest.mark.parametrize(
    ("params", "name"),
    [
        ({"format": "docx"}, "format"),
        ({"from": "2026-02-01T00:00:00Z", "to": "2026-01-01T00:00:00Z"}, "from"),
        ({"from": "not a date"}, "from"),
        ({"to": "2026-01-01"}, "to"),
        ({"threshold": 2}, "threshold"),
        ({"format": "html'; --"}, "format"),
        ({"group": "x"}, "group"),
    ],
)
def test_report_bad_input(collector: RunningServer, params: dict[str, Any], name: str) -> None:
    response = _report(collector, **params)
    assert response.status_code == 400, response.text
    assert response.json()["detail"].startswith(name)


def test_cli_report_and_audit_search(
    collector: RunningServer, workload: Workload, tmp_path: Path
) -> None:
    runner = CliRunner()
    env = {"TRACERAIL_ENDPOINT": collector.base_url}
    out = tmp_path / "report.json"
    result = runner.invoke(app, ["report", "--format", "json", "-o", str(out)], env=env)
    assert result.exit_code == 0, result.output
    assert json.loads(out.read_text())["volume"]["calls"] == workload.generations

    html = tmp_path / "report.html"
    result = runner.invoke(app, ["report", "--from", "2020-01-01", "-o", str(html)], env=env)
    assert result.exit_code == 2 and "at most 366 days" in result.output

    result = runner.invoke(
        app, ["audit", "search", "--action", "redact", "--format", "table"], env=env
    )
    assert result.exit_code == 0, result.output
    assert "EMAIL_ADDRESS" in result.output and "AWS_ACCESS_KEY" in result.output
    assert "2 of 2 matching events" in result.output

    csv_out = tmp_path / "audit.csv"
    result = runner.invoke(
        app, ["audit", "search", "--user-id", "bob", "--format", "csv", "-o", str(csv_out)], env=env
    )
    assert result.exit_code == 0, result.output
    lines = csv_out.read_text().splitlines()
    header = json.loads(lines[0][2:])
    assert header["query"]["user_id"] == "bob"
    assert len(lines) == 2 + header["total"]
    assert "wrote 18 events" in result.output

    result = runner.invoke(
        app, ["audit", "search", "--kind", "score", "--format", "jsonl"], env=env
    )
    assert result.exit_code == 0, result.output
    first, *rows = result.output.splitlines()
    assert json.loads(first)["total"] == len(rows) == 4

    result = runner.invoke(app, ["audit", "search", "--model", "x'; DROP"], env=env)
    assert result.exit_code == 2 and "model:" in result.output

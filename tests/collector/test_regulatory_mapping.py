"""The compliance report's regulatory mapping (EU AI Act Art. 12, 19, 14, 72; SOC 2 CC7.2/3):
what is recorded and what is not, from the report's own figures, and the Art. 19 warning."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

import tracerail
from tests.support.audit_data import Workload, populate
from tests.support.server import RunningServer
from tracerail.collector.regulatory import ART_19_MIN_DAYS

pytestmark = pytest.mark.e2e

REFS = ["Art. 12", "Art. 19", "Art. 14", "Art. 72", "CC7.2 / CC7.3"]


@pytest.fixture
def workload(collector: RunningServer) -> Iterator[Workload]:
    yield populate(collector)
    tracerail.shutdown()


def _mapping(collector: RunningServer, **params: Any) -> list[dict[str, Any]]:
    response = httpx.get(
        f"{collector.base_url}/api/v1/reports/compliance", params=params, timeout=120
    )
    assert response.status_code == 200, response.text
    mapping: list[dict[str, Any]] = response.json()["regulatory_mapping"]
    return mapping


def test_mapping_states_records_limits_and_this_periods_figures(
    collector: RunningServer, workload: Workload
) -> None:
    by_ref = {e["ref"]: e for e in _mapping(collector)}
    assert list(by_ref) == REFS
    for entry in by_ref.values():
        assert entry["records"] and entry["does_not_record"]
        text = " ".join(entry["records"] + entry["does_not_record"]).lower()
        assert "compliant" not in text and "guarantee" not in text
    assert by_ref["Art. 12"]["evidence"]["calls"] == workload.generations
    assert by_ref["Art. 12"]["evidence"]["signed_checkpoints"] == 0
    assert any("No signed checkpoint" in w for w in by_ref["Art. 12"]["warnings"])
    assert by_ref["Art. 14"]["evidence"]["blocked_requests"] == workload.blocked
    assert by_ref["Art. 14"]["evidence"]["human_labels"] == workload.scores
    # The test collector keeps 30 days (the default): under six months, so Art. 19 warns.
    art19 = by_ref["Art. 19"]
    assert art19["evidence"] == {"retention_days": 30, "minimum_days": ART_19_MIN_DAYS}
    assert art19["warnings"] and "under the six months (183 days)" in art19["warnings"][0]


def test_html_shows_the_mapping_and_the_warning(
    collector: RunningServer, workload: Workload
) -> None:
    response = httpx.get(
        f"{collector.base_url}/api/v1/reports/compliance",
        params={"format": "html"},
        timeout=120,
    )
    html = response.text
    section = re.search(r'<section id="regulatory">(.*?)</section>', html, re.S)
    assert section is not None
    for ref in ("Art. 12", "Art. 19", "Art. 14", "Art. 72", "CC7.2"):
        assert ref in section[1]
    assert "Warning:</strong> Retention in force is 30 days" in section[1]


def test_six_months_of_retention_clears_the_art_19_warning() -> None:
    from tracerail.collector.regulatory import regulatory_mapping

    report = {
        "volume": {"calls": 0, "errors": 0},
        "provenance": {"ledger": {"ok": True, "rows_checked": 0}},
        "retention": {"configured_days": 183},
        "hallucination_over_time": [],
        "data_protection": {
            "blocked_requests": 0,
            "block_decisions_by_check": [],
            "secrets_caught": 0,
        },
    }
    art19 = regulatory_mapping(report, human_labels=0, checkpoints=1)[1]
    assert art19["ref"] == "Art. 19" and art19["warnings"] == []
    report["retention"]["configured_days"] = 182
    assert regulatory_mapping(report, human_labels=0, checkpoints=1)[1]["warnings"]

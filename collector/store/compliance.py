"""The compliance report: its sections assembled over one window of whole hours, with the
definitions of every term it prints.

Every figure is computed once (the sections' queries are in
:mod:`~tracerail.collector.store.compliance_sections`); the HTML, PDF and JSON renderings all
print this dict, so they cannot disagree. Each section carries totals that its rows add up to.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final

from tracerail.collector.rates import MIN_LABELS, correction_summary
from tracerail.collector.regulatory import regulatory_mapping
from tracerail.collector.settings import Settings
from tracerail.collector.store.clickhouse import ClickHouseStore
from tracerail.collector.store.completeness import completeness
from tracerail.collector.store.compliance_sections import (
    content_safety,
    data_protection,
    iso_z,
    provenance,
    retention,
    top_triggers,
    volume,
)
from tracerail.collector.store.metrics import MetricsQuery, Window, model_scorecard
from tracerail.collector.store.timeseries import timeseries
from tracerail.version import __version__

REPORT_VERSION: Final = 1
DEFINITIONS: Final = (
    ("Period", "Whole UTC hours: the start is rounded down and the end up to the hour."),
    ("Calls", "Generation spans (observation kind 'generation') that started in the period."),
    ("Users / sessions", "Distinct non-empty user.id and session.id attributes of those calls."),
    (
        "Blocked request",
        "A call stopped by a guardrail: it ended with GuardrailBlocked, or a check recorded "
        "the action 'block' on it. Each call counts once.",
    ),
    (
        "PII findings",
        "Entities reported by checks of type 'pii', summed per entity type and the "
        "action the policy took on the text that held them.",
    ),
    (
        "Redaction coverage",
        "PII decisions that found something and redacted or blocked it, "
        "divided by all PII decisions that found something.",
    ),
    ("Secrets caught", "Decisions of checks of type 'secrets' that found at least one secret."),
    (
        "Content safety",
        "Decisions of content, injection and topic checks; categories are the "
        "entity types they reported.",
    ),
    (
        "Provenance coverage",
        "Share of calls with at least one source document, with a prompt "
        "template id and version, and with a complete record (record, prompt hash, answer hash).",
    ),
    (
        "Ledger verification",
        "Every row hash, Merkle root and chain link of ledger batches written "
        "in the period recomputed from stored data; 'verified' means no break was found.",
    ),
    ("Latency", "Span duration. p50/p95 are t-digest estimates over hourly sketches."),
    (
        "Hallucination rate",
        "Calls scored as hallucinated (score >= threshold; human over judge "
        "over automatic scores) divided by calls that have a hallucination score (n). Unscored "
        "calls are not counted as passes. 95% CI: Wilson score interval.",
    ),
    (
        "Raw rate (per evaluator)",
        "Calls one evaluator (name, version, prompt hash) scored at or above the threshold, "
        "divided by the calls it scored; 95% CI: Wilson. It includes that evaluator's own errors.",
    ),
    (
        "Sensitivity / specificity",
        "Against human labels on the same calls: the share of calls humans labelled "
        "hallucinated that the evaluator flagged (sensitivity), and of calls humans labelled "
        "grounded that it passed (specificity); 95% CI: Wilson.",
    ),
    (
        "Corrected rate",
        "The raw rate corrected for the evaluator's measured error (Rogan-Gladen: "
        "(raw + specificity - 1) / (sensitivity + specificity - 1), clipped to 0..1). "
        "95% interval: 2000 seeded draws of raw rate, sensitivity and specificity from "
        "Jeffreys Beta distributions, 2.5th to 97.5th percentile.",
    ),
    (
        "Not validated",
        f"Fewer than {MIN_LABELS} human labels on the evaluator's calls, or no label of one "
        "kind: no corrected rate is given, and the raw rate is the evaluator's word alone.",
    ),
    (
        "Top triggers",
        "The most frequent decisions other than 'allow', by check, finding and action.",
    ),
    ("Retention", "Days after which spans and guardrail decisions are deleted (whole partitions)."),
)


@dataclass(frozen=True, slots=True)
class ReportRequest:
    """What a compliance report is asked for: ``[start, end)`` as requested (the report covers
    the whole UTC hours around it) and the hallucination threshold."""

    start: datetime
    end: datetime
    threshold: float = 0.5

    def figures(self) -> MetricsQuery:
        """The window of whole hours and the threshold every figure is computed over (the
        report narrows by no filter)."""
        return MetricsQuery(Window.around(self.start, self.end), self.threshold)


def compliance_report(
    store: ClickHouseStore, project: str, settings: Settings, request: ReportRequest
) -> dict[str, Any]:
    """Every section of the compliance report for ``project`` as ``request`` asks for it."""
    query = request.figures()
    window = query.window
    days = timeseries(store, project, query, "day")
    vol = {**volume(store, project, window), "blocked": sum(d["blocked"] for d in days)}
    card = model_scorecard(store, project, query)
    report: dict[str, Any] = {
        "report_version": REPORT_VERSION,
        "generated_at": iso_z(datetime.fromtimestamp(time.time(), tz=UTC)),
        "generator": f"tracerail {__version__}",
        "scope": {
            "project": project,
            "from": iso_z(window.start),
            "to": iso_z(window.end),
            "requested_from": iso_z(request.start),
            "requested_to": iso_z(request.end),
            "hallucination_threshold": query.threshold,
        },
        "volume": {
            **vol,
            "by_day": [
                {"day": d["time"][:10], "calls": d["calls"], "blocked": d["blocked"]} for d in days
            ],
        },
        "data_protection": data_protection(store, project, window, vol["blocked"]),
        "content_safety": content_safety(store, project, window),
        "provenance": provenance(store, project, window, window.start, window.end),
        "model_scorecard": {
            "models": card,
            "total_calls": sum(m["calls"] for m in card),
            "total_cost_usd": sum(m["cost_usd"] for m in card),
            "total_input_tokens": sum(m["input_tokens"] for m in card),
            "total_output_tokens": sum(m["output_tokens"] for m in card),
            **correction_summary(card),
        },
        "hallucination_over_time": [
            {
                "day": d["time"][:10],
                "calls": d["calls"],
                "evaluated": d["evaluated"],
                "hallucinated": d["hallucinated"],
                "rate": d["hallucination_rate"],
                "ci95": d["hallucination_ci95"],
            }
            for d in days
        ],
        "top_triggers": top_triggers(store, project, window),
        "retention": retention(store, project, settings),
        "definitions": [{"term": t, "definition": d} for t, d in DEFINITIONS],
    }
    report["completeness"] = completeness(store, project, window.start, window.end)
    report["regulatory_mapping"] = regulatory_mapping(
        report, **oversight_counts(store, project, window)
    )
    return report


def oversight_counts(store: ClickHouseStore, project: str, window: Window) -> dict[str, int]:
    """Human review labels written and ledger checkpoints signed in the period."""
    params = window.params(project)
    (labels,) = store.query(
        f"SELECT count() AS n FROM {store.table('scores')} WHERE project = {{project:String}} "
        "AND source = 'human' AND created_at >= {lo:DateTime('UTC')} "
        "AND created_at < {hi:DateTime('UTC')}",
        params,
    )
    (signed,) = store.query(
        f"SELECT count() AS n FROM {store.table('ledger_checkpoints')} "
        "WHERE project = {project:String} "
        "AND signed_at_ns >= toUnixTimestamp({lo:DateTime('UTC')}) * 1000000000 "
        "AND signed_at_ns < toUnixTimestamp({hi:DateTime('UTC')}) * 1000000000",
        params,
    )
    return {"human_labels": int(labels["n"]), "checkpoints": int(signed["n"])}

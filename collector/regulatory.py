"""The compliance report's regulatory mapping: for each requirement, what tracerail records
toward it and what it does not. Pure: built from the report's own figures.

It must not claim more than the product does: every entry says "evidence toward", never
"compliant", and lists what is outside tracerail's reach.
"""

from __future__ import annotations

from typing import Any, Final

ART_19_MIN_DAYS: Final = 183  # "at least six months": 183 days covers any six calendar months


def _entry(
    framework: str,
    ref: str,
    title: str,
    records: list[str],
    not_recorded: list[str],
    evidence: dict[str, Any],
    warnings: list[str] | None = None,
) -> dict[str, Any]:
    return {
        "framework": framework,
        "ref": ref,
        "title": title,
        "records": records,
        "does_not_record": not_recorded,
        "evidence": evidence,
        "warnings": warnings or [],
    }


def regulatory_mapping(
    report: dict[str, Any], *, human_labels: int, checkpoints: int
) -> list[dict[str, Any]]:
    """Entries for EU AI Act Art. 12, 19, 14, 72 and SOC 2 CC7.2 / CC7.3, from ``report``
    (the compliance report's sections), the human labels and signed checkpoints of the period."""
    volume = report["volume"]
    ledger = report["provenance"]["ledger"]
    days = int(report["retention"]["configured_days"])
    trend = [d for d in report["hallucination_over_time"] if d["evaluated"]]
    dp = report["data_protection"]
    gaps = report.get("completeness", {}).get("totals", {})
    missing_warning = (
        [f"{gaps['missing']} span(s) the SDK stamped never reached the collector."]
        if gaps.get("missing")
        else []
    )
    retention_warning = (
        [
            f"Retention in force is {days} days, under the six months (183 days) Art. 19 asks "
            "deployers and providers to keep logs: raise it (`tracerail projects set-retention`)."
        ]
        if days < ART_19_MIN_DAYS
        else []
    )
    unsigned = (
        []
        if checkpoints
        else [
            "No signed checkpoint in the period: the ledger is tamper-evident only against "
            "someone who cannot rewrite the database (configure a checkpoint key)."
        ]
    )
    return [
        _entry(
            "EU AI Act",
            "Art. 12",
            "Record-keeping: automatic recording of events",
            [
                "Every model call the application sends as a span: time, duration, model, "
                "provider, service, user and session ids when the application sets them, "
                "tokens, cost, status and errors.",
                "Every guardrail decision with the check, action and policy version.",
                "Provenance of each answer: hashes of prompt and answer, prompt template "
                "version, source count.",
                "A hash-chained ledger of those records, with signed checkpoints when a key is "
                "configured.",
                "Spans known missing: sequence numbers the tracerail SDK stamped that never "
                "arrived.",
            ],
            [
                "Events the application does not instrument or does not send.",
                "Whether spans from other instrumentations all arrived: they carry no sequence "
                "numbers, so their completeness is unknown; for the tracerail SDK's spans, "
                "losses before an instance's first or after its last number in the period.",
                "Anything about the system's design, training data or intended purpose.",
            ],
            {
                "calls": volume["calls"],
                "ledger_verified": ledger["ok"],
                "ledger_rows_checked": ledger["rows_checked"],
                "signed_checkpoints": checkpoints,
                "spans_known_missing": gaps.get("missing"),
                "spans_completeness_unknown": gaps.get("completeness_unknown"),
            },
            unsigned + missing_warning,
        ),
        _entry(
            "EU AI Act",
            "Art. 19",
            "Automatically generated logs kept at least six months",
            [
                f"Spans and guardrail decisions are kept {days} days (whole daily partitions).",
                "Ledger rows (hashes only), scores and statistics are kept without expiry.",
            ],
            [
                "Copies outside this database (backups are the operator's).",
                "Content after its retention: the ledger keeps hashes, not the texts.",
            ],
            {"retention_days": days, "minimum_days": ART_19_MIN_DAYS},
            retention_warning,
        ),
        _entry(
            "EU AI Act",
            "Art. 14",
            "Human oversight",
            [
                "Calls a guardrail blocked before or after the model, and by which check.",
                "Labels people gave in the human review queue, where it is used.",
            ],
            [
                "Whether a person could understand, interrupt or override the system: that "
                "is the deployer's design and process, not something tracerail observes.",
                "Oversight that happens outside tracerail (reviews in other tools).",
            ],
            {
                "blocked_requests": dp["blocked_requests"],
                "block_decisions": sum(b["decisions"] for b in dp["block_decisions_by_check"]),
                "human_labels": human_labels,
            },
            [] if human_labels else ["No human review label in the period."],
        ),
        _entry(
            "EU AI Act",
            "Art. 72",
            "Post-market monitoring",
            [
                "The hallucination rate per day for scored calls, with intervals, and per "
                "model with the evaluator's measured error where validated.",
                "Guardrail triggers and errors over the period.",
            ],
            [
                "A post-market monitoring plan, its review, or serious-incident reports "
                "(Art. 73): those are the provider's documents.",
                "Calls that were never scored (the rate covers scored calls only).",
            ],
            {
                "days_with_scored_calls": len(trend),
                "first_day_rate": trend[0]["rate"] if trend else None,
                "last_day_rate": trend[-1]["rate"] if trend else None,
            },
            [] if trend else ["No scored calls in the period: no trend to show."],
        ),
        _entry(
            "SOC 2",
            "CC7.2 / CC7.3",
            "Monitoring for anomalies; evaluating security events",
            [
                "Detections in model traffic: PII, secrets and prompt-injection decisions, "
                "with time, check, action and policy version.",
                "Integrity checks of the audit record (ledger verification, checkpoint "
                "signatures).",
            ],
            [
                "Infrastructure, network or access monitoring of the hosts.",
                "Reads of the collector's API (no access log of queries is kept).",
                "Alerting, triage and incident response: tracerail supplies inputs to that "
                "process, it does not evaluate events.",
            ],
            {
                "secrets_caught": dp["secrets_caught"],
                "errors": volume["errors"],
                "ledger_verified": ledger["ok"],
            },
        ),
    ]

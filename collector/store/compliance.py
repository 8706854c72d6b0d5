"""The compliance report's numbers, one function per section, over one window of whole hours.

Every figure is computed here once; the HTML, PDF and JSON renderings all print this dict, so
they cannot disagree. Each section carries totals that its rows add up to.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any, Final

from tracerail import semconv
from tracerail.collector.rates import METHOD, MIN_LABELS, contributing_evaluators
from tracerail.collector.regulatory import regulatory_mapping
from tracerail.collector.settings import Settings
from tracerail.collector.store.clickhouse import ClickHouseStore
from tracerail.collector.store.completeness import completeness
from tracerail.collector.store.ledger import read_head, verify
from tracerail.collector.store.metrics import Window, model_scorecard
from tracerail.collector.store.projects import get_project
from tracerail.collector.store.timeseries import timeseries
from tracerail.version import __version__

REPORT_VERSION: Final = 1
PII_CHECK: Final = "pii"
SECRETS_CHECK: Final = "secrets"
SAFETY_CHECKS: Final = ("content", "injection", "topics")
TOP_TRIGGERS: Final = 10

_GENERATIONS = (
    "project = {project:String} AND timestamp >= {lo:DateTime('UTC')} "
    f"AND timestamp < {{hi:DateTime('UTC')}} AND observation_kind = '{semconv.KIND_GENERATION}'"
)
_DECISIONS = (
    "project = {project:String} AND timestamp >= {lo:DateTime('UTC')} "
    "AND timestamp < {hi:DateTime('UTC')}"
)


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _share(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def volume(store: ClickHouseStore, project: str, window: Window) -> dict[str, Any]:
    """Generation calls, distinct users/sessions/traces, models and services."""
    (row,) = store.query(
        "SELECT count() AS calls, uniqExactIf(user_id, user_id != '') AS users, "
        "uniqExactIf(session_id, session_id != '') AS sessions, uniqExact(trace_id) AS traces, "
        "countIf(status_code = 'ERROR') AS errors, "
        "arraySort(groupUniqArray(if(response_model != '', response_model, request_model))) "
        "AS models, arraySort(groupUniqArray(service_name)) AS services "
        f"FROM {store.table('spans')} WHERE {_GENERATIONS}",
        window.params(project),
    )
    return {
        "calls": int(row["calls"]),
        "users": int(row["users"]),
        "sessions": int(row["sessions"]),
        "traces": int(row["traces"]),
        "errors": int(row["errors"]),
        "models": [m for m in row["models"] if m],
        "services": [s for s in row["services"] if s],
    }


def _by_action(rows: list[dict[str, Any]], key: str) -> list[dict[str, Any]]:
    """Rows ``{key, action, n}`` → one row per key with a count per action and a total."""
    table: dict[str, dict[str, Any]] = {}
    for row in rows:
        entry = table.setdefault(
            row[key], {key: row[key], **dict.fromkeys(semconv.GUARDRAIL_ACTIONS, 0)}
        )
        if row["action"] in semconv.GUARDRAIL_ACTIONS:
            entry[row["action"]] += int(row["n"])
    out = sorted(
        table.values(), key=lambda e: (-sum(e[a] for a in semconv.GUARDRAIL_ACTIONS), e[key])
    )
    for entry in out:
        entry["total"] = sum(entry[a] for a in semconv.GUARDRAIL_ACTIONS)
    return out


def _column_totals(rows: list[dict[str, Any]]) -> dict[str, int]:
    return {name: sum(r[name] for r in rows) for name in (*semconv.GUARDRAIL_ACTIONS, "total")}


def _findings(
    store: ClickHouseStore, project: str, window: Window, checks: tuple[str, ...]
) -> list[dict[str, Any]]:
    """Entities found by ``checks``, summed per entity type and action."""
    return store.query(
        "SELECT entity AS entity_type, action, sum(cnt) AS n "
        f"FROM {store.table('guardrail_events')} "
        "ARRAY JOIN mapKeys(entity_counts) AS entity, mapValues(entity_counts) AS cnt "
        f"WHERE {_DECISIONS} AND check_type IN {{checks:Array(String)}} "
        "GROUP BY entity_type, action",
        {**window.params(project), "checks": list(checks)},
    )


def _decisions(
    store: ClickHouseStore, project: str, window: Window, checks: tuple[str, ...]
) -> list[dict[str, Any]]:
    """Decisions of ``checks`` per action: all of them, and those that found something."""
    return store.query(
        "SELECT check_type, action, count() AS n, countIf(length(entity_types) > 0) AS found "
        f"FROM {store.table('guardrail_events')} "
        f"WHERE {_DECISIONS} AND check_type IN {{checks:Array(String)}} "
        "GROUP BY check_type, action",
        {**window.params(project), "checks": list(checks)},
    )


def data_protection(
    store: ClickHouseStore, project: str, window: Window, blocked_requests: int
) -> dict[str, Any]:
    """PII findings by entity type and action, redaction coverage, blocks, secrets caught."""
    pii = _by_action(_findings(store, project, window, (PII_CHECK,)), "entity_type")
    decisions = _decisions(store, project, window, (PII_CHECK,))
    with_findings = dict.fromkeys(semconv.GUARDRAIL_ACTIONS, 0)
    for row in decisions:
        if row["action"] in with_findings:
            with_findings[row["action"]] += int(row["found"])
    found_total = sum(with_findings.values())
    protected = with_findings["redact"] + with_findings["block"]
    secrets = _by_action(_findings(store, project, window, (SECRETS_CHECK,)), "entity_type")
    secret_decisions = _decisions(store, project, window, (SECRETS_CHECK,))
    blocks = store.query(
        "SELECT check_name, count() AS n, uniqExact(span_id) AS spans "
        f"FROM {store.table('guardrail_events')} WHERE {_DECISIONS} AND action = 'block' "
        "GROUP BY check_name ORDER BY n DESC, check_name",
        window.params(project),
    )
    return {
        "pii_checks_run": sum(int(r["n"]) for r in decisions),
        "pii_findings": pii,
        "pii_findings_total": _column_totals(pii),
        "pii_decisions_with_findings": {**with_findings, "total": found_total},
        "redaction_coverage": _share(protected, found_total),
        "blocked_requests": blocked_requests,
        "block_decisions_by_check": [
            {"check": r["check_name"], "decisions": int(r["n"]), "spans": int(r["spans"])}
            for r in blocks
        ],
        "secrets_caught": sum(int(r["found"]) for r in secret_decisions),
        "secrets_by_type": secrets,
        "secrets_total": _column_totals(secrets),
    }


def content_safety(store: ClickHouseStore, project: str, window: Window) -> dict[str, Any]:
    """Sensitive-content, injection and topic decisions by check, category and action."""
    rows = store.query(
        "SELECT concat(check_type, ' / ', entity) AS category, action, count() AS n "
        f"FROM {store.table('guardrail_events')} ARRAY JOIN entity_types AS entity "
        f"WHERE {_DECISIONS} AND check_type IN {{checks:Array(String)}} "
        "GROUP BY category, action",
        {**window.params(project), "checks": list(SAFETY_CHECKS)},
    )
    categories = _by_action(rows, "category")
    checks = _by_action(
        [
            {"check": r["check_type"], "action": r["action"], "n": r["n"]}
            for r in _decisions(store, project, window, SAFETY_CHECKS)
        ],
        "check",
    )
    return {
        "decisions_by_check": checks,
        "decisions_total": _column_totals(checks),
        "findings_by_category": categories,
        "findings_total": _column_totals(categories),
        "policy_versions": _policy_versions(store, project, window),
    }


def _policy_versions(store: ClickHouseStore, project: str, window: Window) -> list[dict[str, Any]]:
    """Which policy version filtered content when: a version hashes the keyword libraries'
    contents (guardrails/policy.py), so it names exactly the library that was in force."""
    rows = store.query(
        "SELECT policy_version, toDate(min(timestamp)) AS first, toDate(max(timestamp)) AS last, "
        "count() AS decisions, countIf(action != 'allow') AS acted "
        f"FROM {store.table('guardrail_events')} "
        f"WHERE {_DECISIONS} AND check_type = 'content' "
        "GROUP BY policy_version ORDER BY first, policy_version",
        window.params(project),
    )
    return [
        {
            "policy_version": r["policy_version"],
            "first_day": r["first"].isoformat(),
            "last_day": r["last"].isoformat(),
            "decisions": int(r["decisions"]),
            "acted_on": int(r["acted"]),
        }
        for r in rows
    ]


def provenance(
    store: ClickHouseStore, project: str, window: Window, start: datetime, end: datetime
) -> dict[str, Any]:
    """Share of generations with sources, a template version, a complete record; ledger check."""
    (row,) = store.query(
        "SELECT count() AS n, "
        "countIf(toUInt32OrZero(attributes[{source_count:String}]) > 0) AS with_sources, "
        "countIf(attributes[{template_id:String}] != '' "
        "AND attributes[{template_version:String}] != '') AS with_template, "
        "countIf(attributes[{record:String}] != '' AND attributes[{prompt_sha:String}] != '' "
        "AND attributes[{answer_sha:String}] != '') AS complete "
        f"FROM {store.table('spans')} WHERE {_GENERATIONS}",
        {
            **window.params(project),
            "source_count": semconv.TRACERAIL_PROVENANCE_SOURCE_COUNT,
            "template_id": semconv.TRACERAIL_PROMPT_TEMPLATE_ID,
            "template_version": semconv.TRACERAIL_PROMPT_TEMPLATE_VERSION,
            "record": semconv.TRACERAIL_PROVENANCE_RECORD,
            "prompt_sha": semconv.TRACERAIL_PROVENANCE_PROMPT_SHA256,
            "answer_sha": semconv.TRACERAIL_PROVENANCE_ANSWER_SHA256,
        },
    )
    n = int(row["n"])
    report = verify(store, project=project, start=start, end=end)
    head = read_head(store, project)
    return {
        "generations": n,
        "with_sources": int(row["with_sources"]),
        "with_template_version": int(row["with_template"]),
        "complete_record": int(row["complete"]),
        "sources_share": _share(int(row["with_sources"]), n),
        "template_share": _share(int(row["with_template"]), n),
        "complete_share": _share(int(row["complete"]), n),
        "ledger": {
            "ok": report.ok,
            "batches_checked": report.batches_checked,
            "rows_checked": report.rows_checked,
            "uncommitted_rows": report.uncommitted_rows,
            "first_break": None if report.first_break is None else vars(report.first_break),
            "head_seq": head.seq,
            "head_chain_hash": head.chain_hash,
        },
    }


def top_triggers(store: ClickHouseStore, project: str, window: Window) -> list[dict[str, Any]]:
    """The most frequent non-allow decisions by check, finding and action."""
    rows = store.query(
        "SELECT check_name, if(length(entity_types) > 0, arrayStringConcat(entity_types, ', '), "
        "'(no finding)') AS finding, action, count() AS n "
        f"FROM {store.table('guardrail_events')} WHERE {_DECISIONS} AND action != 'allow' "
        "GROUP BY check_name, finding, action ORDER BY n DESC, check_name, finding, action "
        "LIMIT {top:UInt32}",
        {**window.params(project), "top": TOP_TRIGGERS},
    )
    return [
        {
            "check": r["check_name"],
            "finding": r["finding"],
            "action": r["action"],
            "count": int(r["n"]),
        }
        for r in rows
    ]


def retention(store: ClickHouseStore, project: str, settings: Settings) -> dict[str, Any]:
    """Retention in force: the project's own setting where one exists, else the collector's."""
    found = get_project(store, project)
    own = None if found is None else found.retention_days
    rows = store.query(
        "SELECT max(retention_days) AS days, toUnixTimestamp64Nano(min(timestamp)) AS oldest, "
        f"count() AS n FROM {store.table('spans')} WHERE project = {{project:String}}",
        {"project": project},
    )
    stored = rows[0] if rows and int(rows[0]["n"]) else None
    return {
        "configured_days": own if own is not None else settings.retention_days,
        "configured_by": "project setting" if own is not None else "collector default",
        "collector_default_days": settings.retention_days,
        "stored_days": int(stored["days"]) if stored else None,
        "oldest_record": (
            _iso(datetime.fromtimestamp(int(stored["oldest"]) / 1e9, tz=UTC)) if stored else None
        ),
        "applies_to": ["spans", "trace index", "guardrail decisions"],
        "kept_without_expiry": [
            "scores",
            "ledger rows and batches (hashes only)",
            "generation statistics",
        ],
    }


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


def compliance_report(
    store: ClickHouseStore,
    project: str,
    settings: Settings,
    start: datetime,
    end: datetime,
    threshold: float = 0.5,
) -> dict[str, Any]:
    """Every section of the compliance report for ``project`` over ``[start, end)``."""
    window = Window.around(start, end)
    days = timeseries(store, project, window, "day", threshold)
    vol = {**volume(store, project, window), "blocked": sum(d["blocked"] for d in days)}
    card = model_scorecard(store, project, window, threshold)
    report: dict[str, Any] = {
        "report_version": REPORT_VERSION,
        "generated_at": datetime.fromtimestamp(time.time(), tz=UTC)
        .isoformat()
        .replace("+00:00", "Z"),
        "generator": f"tracerail {__version__}",
        "scope": {
            "project": project,
            "from": _iso(window.start),
            "to": _iso(window.end),
            "requested_from": _iso(start),
            "requested_to": _iso(end),
            "hallucination_threshold": threshold,
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
            "correction": {"method": METHOD, "min_labels": MIN_LABELS},
            "evaluators": contributing_evaluators(card),
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

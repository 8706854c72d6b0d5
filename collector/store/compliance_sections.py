"""The compliance report's sections, one query function each, over one window of whole hours.

Assembled by :func:`~tracerail.collector.store.compliance.compliance_report`: volume, data
protection (PII and secrets), content safety, provenance, top triggers and retention.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final

from tracerail import semconv
from tracerail.collector.settings import Settings
from tracerail.collector.store.clickhouse import ClickHouseStore
from tracerail.collector.store.ledger import read_head, verify
from tracerail.collector.store.metrics import Window
from tracerail.collector.store.projects import get_project

__all__ = [
    "content_safety",
    "data_protection",
    "iso_z",
    "provenance",
    "retention",
    "top_triggers",
    "volume",
]

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


def iso_z(moment: datetime) -> str:
    """``moment`` in UTC as ISO 8601 with a ``Z`` (as every time in the report)."""
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


@dataclass(frozen=True)
class _Grouping:
    """A grouped read of guardrail decisions: ``SELECT columns ... GROUP BY group_by``."""

    columns: str
    group_by: str
    array_join: str = ""


# Entities found, summed per entity type and action.
_FINDINGS: Final = _Grouping(
    "entity AS entity_type, action, sum(cnt) AS n",
    "entity_type, action",
    "ARRAY JOIN mapKeys(entity_counts) AS entity, mapValues(entity_counts) AS cnt",
)
# Decisions per check and action: all of them, and those that found something.
_DECISIONS_FOUND: Final = _Grouping(
    "check_type, action, count() AS n, countIf(length(entity_types) > 0) AS found",
    "check_type, action",
)
# Decisions per check / entity type ("category") and action.
_CATEGORIES: Final = _Grouping(
    "concat(check_type, ' / ', entity) AS category, action, count() AS n",
    "category, action",
    "ARRAY JOIN entity_types AS entity",
)


def _of_checks(
    store: ClickHouseStore,
    project: str,
    window: Window,
    checks: tuple[str, ...],
    grouping: _Grouping,
) -> list[dict[str, Any]]:
    """Guardrail decisions of ``checks`` in the window, grouped as ``grouping`` says (its SQL
    is written in this module, never taken from a request)."""
    return store.query(
        f"SELECT {grouping.columns} FROM {store.table('guardrail_events')} "
        f"{grouping.array_join} WHERE {_DECISIONS} AND check_type IN {{checks:Array(String)}} "
        f"GROUP BY {grouping.group_by}",
        {**window.params(project), "checks": list(checks)},
    )


def data_protection(
    store: ClickHouseStore, project: str, window: Window, blocked_requests: int
) -> dict[str, Any]:
    """PII findings by entity type and action, redaction coverage, blocks, secrets caught."""
    pii = _by_action(_of_checks(store, project, window, (PII_CHECK,), _FINDINGS), "entity_type")
    decisions = _of_checks(store, project, window, (PII_CHECK,), _DECISIONS_FOUND)
    with_findings = dict.fromkeys(semconv.GUARDRAIL_ACTIONS, 0)
    for row in decisions:
        if row["action"] in with_findings:
            with_findings[row["action"]] += int(row["found"])
    found_total = sum(with_findings.values())
    protected = with_findings["redact"] + with_findings["block"]
    secrets = _by_action(
        _of_checks(store, project, window, (SECRETS_CHECK,), _FINDINGS), "entity_type"
    )
    secret_decisions = _of_checks(store, project, window, (SECRETS_CHECK,), _DECISIONS_FOUND)
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
    rows = _of_checks(store, project, window, SAFETY_CHECKS, _CATEGORIES)
    categories = _by_action(rows, "category")
    checks = _by_action(
        [
            {"check": r["check_type"], "action": r["action"], "n": r["n"]}
            for r in _of_checks(store, project, window, SAFETY_CHECKS, _DECISIONS_FOUND)
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
            iso_z(datetime.fromtimestamp(int(stored["oldest"]) / 1e9, tz=UTC)) if stored else None
        ),
        "applies_to": ["spans", "trace index", "guardrail decisions"],
        "kept_without_expiry": [
            "scores",
            "ledger rows and batches (hashes only)",
            "generation statistics",
        ],
    }

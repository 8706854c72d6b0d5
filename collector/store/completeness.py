"""Completeness: per service, spans emitted, received and known missing, from the sequence
numbers the tracerail SDK stamps (``tracerail.sequence``).

Per exporter instance, the numbers seen in the period run from its first to its last; every
number in between that never arrived is a span known missing. Spans that started less than
``settle_seconds`` ago are left out (the SDK may still be retrying or replaying its spool).
Spans without an instance id (other instrumentations) are counted as "completeness unknown",
never as complete. Losses before an instance's first or after its last number in the period
cannot be seen this way.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any, Final

from tracerail import semconv
from tracerail.collector.store.clickhouse import ClickHouseStore

DEFAULT_SETTLE_SECONDS: Final = 600


def completeness(
    store: ClickHouseStore,
    project: str,
    start: datetime,
    end: datetime,
    settle_seconds: float = DEFAULT_SETTLE_SECONDS,
) -> dict[str, Any]:
    """``{"settle_seconds", "until", "services": [...], "totals"}`` for ``[start, end)``."""
    until = min(end, datetime.now(UTC) - timedelta(seconds=settle_seconds))
    seq = "toUInt64OrZero(attributes[{seq:String}])"
    has_seq = "attributes[{seq:String}] != ''"
    rows = store.query(
        "SELECT service_name AS service, attributes[{instance:String}] AS instance, "
        "uniqExact(span_id) AS received, "
        f"uniqExactIf({seq}, {has_seq}) AS numbers, "
        f"minIf({seq}, {has_seq}) AS first, maxIf({seq}, {has_seq}) AS last "
        f"FROM {store.table('spans')} WHERE project = {{project:String}} "
        "AND timestamp >= {lo:DateTime64(9, 'UTC')} AND timestamp < {hi:DateTime64(9, 'UTC')} "
        "GROUP BY service, instance ORDER BY service, instance",
        {
            "project": project,
            "lo": start,
            "hi": max(until, start),
            "instance": semconv.TRACERAIL_EXPORTER_INSTANCE,
            "seq": semconv.TRACERAIL_EXPORTER_SEQ,
        },
    )
    services: dict[str, dict[str, Any]] = {}
    for row in rows:
        entry = services.setdefault(
            row["service"],
            {
                "service": row["service"],
                "instances": 0,
                "emitted": 0,
                "received": 0,
                "missing": 0,
                "completeness_unknown": 0,
            },
        )
        if not row["instance"] or not int(row["numbers"]):
            entry["completeness_unknown"] += int(row["received"])
            continue
        emitted = int(row["last"]) - int(row["first"]) + 1
        entry["instances"] += 1
        entry["emitted"] += emitted
        entry["received"] += int(row["numbers"])
        entry["missing"] += emitted - int(row["numbers"])
    listed = list(services.values())
    totals = {
        key: sum(s[key] for s in listed)
        for key in ("instances", "emitted", "received", "missing", "completeness_unknown")
    }
    return {
        "settle_seconds": settle_seconds,
        "until": until.astimezone(UTC).isoformat().replace("+00:00", "Z"),
        "services": listed,
        "totals": totals,
    }

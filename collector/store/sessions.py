"""Sessions (conversations) and users: totals over stored spans, turns in order.

A session is every span with the same ``session_id`` (``session.id`` or
``gen_ai.conversation.id``, e.g. from ``tracerail.session(id)``); a turn is one trace in it.
Turn figures: cost and tokens summed over the trace's spans, latency from its first start to
its last end, guardrail actions counted from ``guardrail_events``, and the hallucination flag
from ``hallucination`` scores (human labels first, else the highest automatic score against the
threshold). All values are bound parameters.
"""

from __future__ import annotations

from typing import Any

from tracerail.collector.store.clickhouse import ClickHouseStore
from tracerail.collector.store.filters import base_filters

_TOTALS = """
    count() AS spans,
    uniqExact(trace_id) AS turns,
    countIf(observation_kind = 'generation') AS generations,
    sum(input_tokens) AS input_tokens,
    sum(output_tokens) AS output_tokens,
    sum(ifNull(cost_usd, 0)) AS cost_usd,
    countIf(status_code = 'ERROR') AS errors,
    toUnixTimestamp64Nano(min(timestamp)) AS first_ns,
    toUnixTimestamp64Nano(max(timestamp)) AS last_ns
"""


def _totals(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "spans": int(row["spans"]),
        "turns": int(row["turns"]),
        "generations": int(row["generations"]),
        "input_tokens": int(row["input_tokens"]),
        "output_tokens": int(row["output_tokens"]),
        "cost_usd": float(row["cost_usd"]),
        "errors": int(row["errors"]),
        "first_time_unix_nano": int(row["first_ns"]),
        "last_time_unix_nano": int(row["last_ns"]),
    }


def list_sessions(
    store: ClickHouseStore,
    project: str,
    start_ns: int | None,
    end_ns: int | None,
    *,
    user: str | None = None,
    limit: int = 100,
) -> list[dict[str, Any]]:
    """Sessions newest first with their user(s) and totals."""
    where, params = base_filters(project, start_ns, end_ns, {})
    where.append("session_id != ''")
    having = ""
    if user is not None:
        having = "HAVING has(users, {user:String})"
        params["user"] = user
    params["limit"] = limit
    rows = store.query(
        f"SELECT session_id, groupUniqArrayIf(user_id, user_id != '') AS users, {_TOTALS} "
        f"FROM {store.table('spans')} WHERE {' AND '.join(where)} "
        f"GROUP BY session_id {having} ORDER BY last_ns DESC, session_id LIMIT {{limit:UInt32}}",
        params,
    )
    return [
        {"session_id": r["session_id"], "users": sorted(r["users"]), **_totals(r)} for r in rows
    ]


def list_users(
    store: ClickHouseStore,
    project: str,
    start_ns: int | None,
    end_ns: int | None,
    *,
    limit: int = 100,
) -> list[dict[str, Any]]:
    """Per-user totals, most expensive first, with the guardrail actions on their spans."""
    where, params = base_filters(project, start_ns, end_ns, {})
    where.append("user_id != ''")
    params["limit"] = limit
    rows = store.query(
        f"SELECT user_id, uniqExactIf(session_id, session_id != '') AS sessions, {_TOTALS} "
        f"FROM {store.table('spans')} WHERE {' AND '.join(where)} "
        "GROUP BY user_id ORDER BY cost_usd DESC, user_id LIMIT {limit:UInt32}",
        params,
    )
    users = [{"user_id": r["user_id"], "sessions": int(r["sessions"]), **_totals(r)} for r in rows]
    actions = _user_actions(store, project, start_ns, end_ns, [u["user_id"] for u in users])
    for u in users:
        u["guardrail_actions"] = actions.get(u["user_id"], {})
    return users


def _user_actions(
    store: ClickHouseStore,
    project: str,
    start_ns: int | None,
    end_ns: int | None,
    users: list[str],
) -> dict[str, dict[str, int]]:
    if not users:
        return {}
    where, params = base_filters(project, start_ns, end_ns, {})
    where.append("user_id IN {users:Array(String)}")
    params["users"] = users
    rows = store.query(
        "SELECT s.user_id AS user_id, g.action AS action, count() AS n "
        f"FROM {store.table('guardrail_events')} AS g INNER JOIN ("
        f"SELECT DISTINCT trace_id, user_id FROM {store.table('spans')} "
        f"WHERE {' AND '.join(where)}) AS s ON g.trace_id = s.trace_id "
        "WHERE g.project = {project:String} AND g.action != 'allow' "
        "GROUP BY user_id, action",
        params,
    )
    out: dict[str, dict[str, int]] = {}
    for r in rows:
        out.setdefault(r["user_id"], {})[r["action"]] = int(r["n"])
    return out


def session_turns(
    store: ClickHouseStore,
    project: str,
    session_id: str,
    start_ns: int | None,
    end_ns: int | None,
    *,
    threshold: float = 0.5,
) -> list[dict[str, Any]]:
    """The turns (traces) of one session, oldest first; empty when the session is unknown."""
    where, params = base_filters(project, start_ns, end_ns, {"session_id": session_id})
    traces = store.query(
        f"SELECT DISTINCT trace_id FROM {store.table('spans')} WHERE {' AND '.join(where)}",
        params,
    )
    ids = [r["trace_id"] for r in traces]
    if not ids:
        return []
    tparams: dict[str, Any] = {"project": project, "ids": ids, "threshold": threshold}
    rows = store.query(
        "SELECT trace_id, argMin(name, timestamp) AS name, "
        "anyIf(user_id, user_id != '') AS user_id, "
        "anyIf(coalesce(nullIf(response_model, ''), request_model), "
        "observation_kind = 'generation') AS model, "
        "toUnixTimestamp64Nano(min(timestamp)) AS start_ns, "
        "max(toUnixTimestamp64Nano(timestamp) + duration_ns) AS end_ns, "
        "sum(input_tokens) AS input_tokens, sum(output_tokens) AS output_tokens, "
        "sum(ifNull(cost_usd, 0)) AS cost_usd, countIf(status_code = 'ERROR') AS errors, "
        "anyIf(input, observation_kind = 'generation') AS gen_input, "
        "anyIf(output, observation_kind = 'generation') AS gen_output "
        f"FROM {store.table('spans')} "
        "WHERE project = {project:String} AND trace_id IN {ids:Array(String)} "
        "GROUP BY trace_id ORDER BY start_ns, trace_id",
        tparams,
    )
    actions = store.query(
        "SELECT trace_id, action, count() AS n "
        f"FROM {store.table('guardrail_events')} "
        "WHERE project = {project:String} AND trace_id IN {ids:Array(String)} "
        "AND action != 'allow' GROUP BY trace_id, action",
        tparams,
    )
    scores = store.query(
        "SELECT trace_id, maxIf(value, source = 'human') AS human, "
        "countIf(source = 'human') AS n_human, maxIf(value, source != 'human') AS auto, "
        "countIf(source != 'human') AS n_auto "
        f"FROM {store.table('scores')} "
        "WHERE project = {project:String} AND trace_id IN {ids:Array(String)} "
        "AND name = 'hallucination' GROUP BY trace_id",
        tparams,
    )
    by_trace_actions: dict[str, dict[str, int]] = {}
    for a in actions:
        by_trace_actions.setdefault(a["trace_id"], {})[a["action"]] = int(a["n"])
    flags: dict[str, dict[str, Any]] = {}
    for s in scores:
        if int(s["n_human"]):
            flags[s["trace_id"]] = {"hallucinated": s["human"] >= threshold, "by": "human"}
        elif int(s["n_auto"]):
            flags[s["trace_id"]] = {"hallucinated": s["auto"] >= threshold, "by": "auto"}
    turns = []
    for i, r in enumerate(rows, start=1):
        flag = flags.get(r["trace_id"])
        turns.append(
            {
                "turn": i,
                "trace_id": r["trace_id"],
                "name": r["name"],
                "user_id": r["user_id"] or None,
                "model": r["model"] or None,
                "start_time_unix_nano": int(r["start_ns"]),
                "latency_ms": (int(r["end_ns"]) - int(r["start_ns"])) / 1e6,
                "input_tokens": int(r["input_tokens"]),
                "output_tokens": int(r["output_tokens"]),
                "cost_usd": float(r["cost_usd"]),
                "errors": int(r["errors"]),
                "guardrail_actions": by_trace_actions.get(r["trace_id"], {}),
                "hallucinated": None if flag is None else bool(flag["hallucinated"]),
                "hallucination_by": None if flag is None else flag["by"],
                "input": r["gen_input"] or None,
                "output": r["gen_output"] or None,
            }
        )
    return turns

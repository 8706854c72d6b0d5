"""The audit timeline: generations, blocked requests, guardrail decisions and scores as one
time-ordered list, with filters, keyset pagination, totals and a streaming iterator for exports.

Each kind is read from its own table by its own parameterized SELECT (every request value is
a ``{name:Type}`` binding), the parts are merged with ``UNION ALL``, and the page is the first
``limit`` rows of the merge in ``(time, row_id)`` order. Each part is itself cut to ``limit``
rows, so a page never sorts more than four pages' worth of rows. Filters a kind does not have
(``check``, ``action``, ``entity_type`` on a score) leave that kind out. User and session live
on spans: decisions and scores match them (and free text) through the span they belong to.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Final

from tracerail import semconv
from tracerail.collector.store.clickhouse import ClickHouseStore
from tracerail.collector.store.spans import InvalidCursor, pack_cursor, unpack_cursor
from tracerail.errors import GuardrailBlocked

KIND_GENERATION: Final = "generation"
KIND_BLOCKED: Final = "blocked"
KIND_GUARDRAIL: Final = "guardrail"
KIND_SCORE: Final = "score"
KINDS: Final = (KIND_GENERATION, KIND_BLOCKED, KIND_GUARDRAIL, KIND_SCORE)
ORDERS: Final = ("desc", "asc")
BLOCKED_ERROR: Final = GuardrailBlocked.__qualname__

# One timeline row, in export column order.
COLUMNS: Final = (
    "time",
    "kind",
    "trace_id",
    "span_id",
    "service",
    "user_id",
    "session_id",
    "model",
    "check",
    "target",
    "action",
    "entity_types",
    "name",
    "value",
    "detail",
    "input",
    "output",
)


@dataclass(frozen=True)
class AuditFilter:
    """What the timeline is narrowed to; ``None`` / empty means not filtered."""

    start_ns: int
    end_ns: int
    kinds: tuple[str, ...] = KINDS
    service: str | None = None
    user_id: str | None = None
    session_id: str | None = None
    model: str | None = None
    check: str | None = None
    action: str | None = None
    entity_type: str | None = None
    trace_id: str | None = None
    text: str | None = None
    order: str = "desc"

    def as_query(self) -> dict[str, Any]:
        """The filter as plain JSON (for export headers)."""
        return {
            "from": iso(self.start_ns),
            "to": iso(self.end_ns),
            "kinds": list(self.kinds),
            "service": self.service,
            "user_id": self.user_id,
            "session_id": self.session_id,
            "model": self.model,
            "check": self.check,
            "action": self.action,
            "entity_type": self.entity_type,
            "trace_id": self.trace_id,
            "q": self.text,
            "order": self.order,
        }


def iso(ns: int) -> str:
    return datetime.fromtimestamp(ns / 1e9, tz=UTC).isoformat().replace("+00:00", "Z")


@dataclass
class _Part:
    """One kind's SELECT: its table, time column, select list and conditions."""

    table: str
    time_col: str
    select: str
    where: list[str] = field(default_factory=list)
    dedupe: str = ""


_SPAN_OF_ROW = (
    "(trace_id, span_id) IN (SELECT trace_id, span_id FROM {spans} "
    "WHERE project = {{project:String}} AND {cond})"
)
_TEXT_MATCH = (
    "(positionCaseInsensitiveUTF8(input, {text:String}) > 0 "
    "OR positionCaseInsensitiveUTF8(output, {text:String}) > 0)"
)
_NO_ENTITIES = "CAST([], 'Array(String)')"
_NO_VALUE = "CAST(NULL, 'Nullable(Float64)')"


def _generation_part(store: ClickHouseStore) -> _Part:
    # ``dedupe`` (LIMIT 1 BY) is used by counts only; pages drop repeats in :func:`_merge`.
    kind = f"if(error_type = {{blocked_error:String}}, '{KIND_BLOCKED}', '{KIND_GENERATION}')"
    return _Part(
        table=store.table("spans"),
        time_col="timestamp",
        select=(
            f"toUnixTimestamp64Nano(timestamp) AS time_ns, span_id AS row_id, {kind} AS row_kind, "
            "trace_id, span_id, service_name AS service, user_id, session_id, "
            "if(response_model != '', response_model, request_model) AS model, "
            f"'' AS check_name, '' AS target_type, if(row_kind = '{KIND_BLOCKED}', 'block', '') "
            f"AS action_type, {_NO_ENTITIES} AS entity_list, name AS item_name, "
            f"{_NO_VALUE} AS item_value, status_message AS detail, input, output"
        ),
        where=[f"observation_kind = '{semconv.KIND_GENERATION}'"],
        dedupe="LIMIT 1 BY span_id",
    )


def _guardrail_part(store: ClickHouseStore) -> _Part:
    return _Part(
        table=store.table("guardrail_events"),
        time_col="timestamp",
        select=(
            "toUnixTimestamp64Nano(timestamp) AS time_ns, "
            "concat(span_id, ':', leftPad(toString(event_index), 5, '0')) AS row_id, "
            f"'{KIND_GUARDRAIL}' AS row_kind, trace_id, span_id, service_name AS service, "
            "'' AS user_id, '' AS session_id, request_model AS model, check_name, "
            "target AS target_type, action AS action_type, "
            "CAST(entity_types, 'Array(String)') AS entity_list, check_type AS item_name, "
            f"{_NO_VALUE} AS item_value, if(reason != '', reason, error) AS detail, "
            "'' AS input, '' AS output"
        ),
        dedupe="LIMIT 1 BY span_id, event_index",
    )


def _score_part(store: ClickHouseStore) -> _Part:
    return _Part(
        table=store.table("scores"),
        time_col="created_at",
        select=(
            "toUnixTimestamp64Nano(created_at) AS time_ns, score_id AS row_id, "
            f"'{KIND_SCORE}' AS row_kind, trace_id, span_id, service_name AS service, "
            "'' AS user_id, '' AS session_id, model, '' AS check_name, '' AS target_type, "
            f"'' AS action_type, {_NO_ENTITIES} AS entity_list, name AS item_name, "
            "CAST(value, 'Nullable(Float64)') AS item_value, "
            "concat(source, if(label != '', concat(': ', label), ''), "
            "if(comment != '', concat(' - ', comment), '')) AS detail, '' AS input, '' AS output"
        ),
    )


def _parts(store: ClickHouseStore, f: AuditFilter) -> list[_Part]:
    """The SELECT of each kind the filter can match, with that kind's conditions."""
    spans = store.table("spans")
    parts: list[_Part] = []
    generation_kinds = [k for k in (KIND_GENERATION, KIND_BLOCKED) if k in f.kinds]
    if f.action is not None:  # only a blocked request has an action (block)
        generation_kinds = [
            k for k in generation_kinds if k == KIND_BLOCKED and f.action == "block"
        ]
    guardrail_only = f.check is not None or f.entity_type is not None
    if generation_kinds and not guardrail_only:
        part = _generation_part(store)
        if generation_kinds == [KIND_BLOCKED]:
            part.where.append("error_type = {blocked_error:String}")
        elif generation_kinds == [KIND_GENERATION]:
            part.where.append("error_type != {blocked_error:String}")
        for column, value in (("user_id", f.user_id), ("session_id", f.session_id)):
            if value is not None:
                part.where.append(f"{column} = {{{column}:String}}")
        if f.model is not None:
            part.where.append("(request_model = {model:String} OR response_model = {model:String})")
        if f.service is not None:
            part.where.append("service_name = {service:String}")
        if f.text is not None:
            status_match = "positionCaseInsensitiveUTF8(status_message, {text:String}) > 0"
            part.where.append(f"({_TEXT_MATCH} OR {status_match})")
        parts.append(part)
    if KIND_GUARDRAIL in f.kinds:
        part = _guardrail_part(store)
        for column, value in (
            ("check_name", f.check),
            ("action", f.action),
            ("request_model", f.model),
            ("service_name", f.service),
        ):
            if value is not None:
                part.where.append(f"{column} = {{{_PARAM[column]}:String}}")
        if f.entity_type is not None:
            part.where.append("has(entity_types, {entity_type:String})")
        if f.text is not None:
            part.where.append(
                "(positionCaseInsensitiveUTF8(reason, {text:String}) > 0 OR "
                + _SPAN_OF_ROW.format(spans=spans, cond=_TEXT_MATCH)
                + ")"
            )
        parts.append(part)
    if KIND_SCORE in f.kinds and not guardrail_only and f.action is None:
        part = _score_part(store)
        if f.model is not None:
            part.where.append("model = {model:String}")
        if f.service is not None:
            part.where.append("service_name = {service:String}")
        if f.text is not None:
            part.where.append(
                "(positionCaseInsensitiveUTF8(comment, {text:String}) > 0 OR "
                "positionCaseInsensitiveUTF8(label, {text:String}) > 0 OR "
                + _SPAN_OF_ROW.format(spans=spans, cond=_TEXT_MATCH)
                + ")"
            )
        parts.append(part)
    for part in parts:
        if part.table != spans:
            for column, value in (("user_id", f.user_id), ("session_id", f.session_id)):
                if value is not None:
                    part.where.append(
                        _SPAN_OF_ROW.format(spans=spans, cond=f"{column} = {{{column}:String}}")
                    )
        if f.trace_id is not None:
            part.where.append("trace_id = {trace_id:String}")
        part.where[:0] = [
            "project = {project:String}",
            f"{part.time_col} >= fromUnixTimestamp64Nano({{start_ns:Int64}}, 'UTC')",
            f"{part.time_col} < fromUnixTimestamp64Nano({{end_ns:Int64}}, 'UTC')",
        ]
    return parts


# guardrail_events column → the parameter name shared with the other parts.
_PARAM: Final = {
    "check_name": "check",
    "action": "action",
    "request_model": "model",
    "service_name": "service",
}


def _params(project: str, f: AuditFilter) -> dict[str, Any]:
    params: dict[str, Any] = {
        "project": project,
        "start_ns": f.start_ns,
        "end_ns": f.end_ns,
        "blocked_error": BLOCKED_ERROR,
    }
    for name in ("service", "user_id", "session_id", "model", "check", "action", "entity_type"):
        value = getattr(f, name)
        if value is not None:
            params[name] = value
    if f.trace_id is not None:
        params["trace_id"] = f.trace_id
    if f.text is not None:
        params["text"] = f.text
    return params


def decode_audit_cursor(cursor: str, order: str) -> tuple[int, str]:
    """The ``(time_ns, row_id)`` a cursor continues after; raises :class:`InvalidCursor`."""
    time_ns, row_id, cursor_order = unpack_cursor(cursor, int, str, str)
    if len(row_id) > 64 or cursor_order != order:
        raise InvalidCursor("cursor is not one this server issued for this sort order")
    return time_ns, row_id


def _row_json(row: dict[str, Any]) -> dict[str, Any]:
    time_ns = int(row["time_ns"])
    return {
        "time": iso(time_ns),
        "time_unix_nano": time_ns,
        "kind": row["row_kind"],
        "trace_id": row["trace_id"],
        "span_id": row["span_id"],
        "service": row["service"],
        "user_id": row["user_id"],
        "session_id": row["session_id"],
        "model": row["model"],
        "check": row["check_name"],
        "target": row["target_type"],
        "action": row["action_type"],
        "entity_types": list(row["entity_list"]),
        "name": row["item_name"],
        "value": row["item_value"],
        "detail": row["detail"],
        "input": row["input"],
        "output": row["output"],
        "row_id": row["row_id"],
    }


def list_timeline(
    store: ClickHouseStore,
    project: str,
    f: AuditFilter,
    *,
    limit: int,
    cursor: str | None = None,
) -> tuple[list[dict[str, Any]], str | None]:
    """One page of the timeline and the cursor of the next (None on the last page)."""
    parts = _parts(store, f)
    if not parts:
        return [], None
    params = _params(project, f)
    params["limit"] = limit + 1
    direction = "DESC" if f.order == "desc" else "ASC"
    compare = "<" if f.order == "desc" else ">"
    if cursor is not None:
        params["c_ns"], params["c_row"] = decode_audit_cursor(cursor, f.order)
    selects = []
    for index, part in enumerate(parts):
        where = list(part.where)
        if cursor is not None:
            where.append(
                f"({part.time_col}, row_id) {compare} "
                "(fromUnixTimestamp64Nano({c_ns:Int64}, 'UTC'), {c_row:String})"
            )
        selects.append(
            f"SELECT *, {index} AS part FROM (SELECT {part.select} FROM {part.table} "
            f"WHERE {' AND '.join(where)} "
            f"ORDER BY time_ns {direction}, row_id {direction} LIMIT {{limit:UInt32}})"
        )
    rows = store.query(
        f"SELECT * FROM ({' UNION ALL '.join(selects)}) "
        f"ORDER BY time_ns {direction}, row_id {direction}, part",
        params,
    )
    page, more = _merge(rows, limit, len(parts))
    next_cursor = None
    if more and page:
        last = page[-1]
        next_cursor = pack_cursor(last["time_unix_nano"], last["row_id"], f.order)
    return page, next_cursor


def _merge(rows: list[dict[str, Any]], limit: int, parts: int) -> tuple[list[dict[str, Any]], bool]:
    """The page from the merged, ordered rows of all parts, and whether more may follow.

    Stored rows can repeat (a client retrying an export whose acknowledgement was lost); they
    are dropped here rather than with ``LIMIT 1 BY`` in SQL, which would cost a full sort of
    every matching row per page. A part that returned its whole quota (``limit + 1`` rows) may
    hold more: the page stops at that part's last row so nothing of it is skipped.
    """
    last_index: dict[int, int] = {}
    taken: dict[int, int] = {}
    for i, row in enumerate(rows):
        last_index[row["part"]] = i
        taken[row["part"]] = taken.get(row["part"], 0) + 1
    capped = [last_index[p] for p in range(parts) if taken.get(p, 0) > limit]
    safe = rows[: min(capped) + 1] if capped else rows
    seen: set[tuple[int, str]] = set()
    page: list[dict[str, Any]] = []
    for row in safe:
        key = (row["part"], row["row_id"])
        if key not in seen:
            seen.add(key)
            page.append(_row_json(row))
    return page[:limit], bool(capped) or len(page) > limit


def count_timeline(store: ClickHouseStore, project: str, f: AuditFilter) -> dict[str, int]:
    """Rows matching ``f`` per kind (every kind present, zero when none)."""
    totals = dict.fromkeys(f.kinds, 0)
    parts = _parts(store, f)
    if not parts:
        return totals
    selects = [
        f"SELECT row_kind FROM (SELECT {part.select} FROM {part.table} "
        f"WHERE {' AND '.join(part.where)} {part.dedupe})"
        for part in parts
    ]
    rows = store.query(
        f"SELECT row_kind, count() AS n FROM ({' UNION ALL '.join(selects)}) GROUP BY row_kind",
        _params(project, f),
    )
    for row in rows:
        if row["row_kind"] in totals:
            totals[row["row_kind"]] = int(row["n"])
    return totals


def iter_timeline(
    store: ClickHouseStore, project: str, f: AuditFilter, *, page_size: int = 1_000
) -> Iterator[dict[str, Any]]:
    """Every matching row, a page at a time (for streamed exports)."""
    cursor: str | None = None
    while True:
        page, cursor = list_timeline(store, project, f, limit=page_size, cursor=cursor)
        yield from page
        if cursor is None:
            return

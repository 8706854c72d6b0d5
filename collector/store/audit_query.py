"""What an audit timeline query asks for (:class:`AuditFilter`) and the SELECT each kind of row
is read with (:func:`timeline_parts`, :func:`timeline_params`).

Each kind is read from its own table by its own parameterized SELECT (every request value is
a ``{name:Type}`` binding); every SELECT yields the same columns (:data:`_ROW`), so the
paging and counting in :mod:`.audit` merge them with ``UNION ALL``. Filters a kind does not
have (``check``, ``action``, ``entity_type`` on a score) leave that kind out. User and session
live on spans: decisions and scores match them (and free text) through the span they belong
to. ``allow`` guardrail decisions are left out unless ``include_allow`` (or ``action=allow``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Final

from tracerail import semconv
from tracerail.collector.store.clickhouse import ClickHouseStore
from tracerail.errors import GuardrailBlocked

KIND_GENERATION: Final = "generation"
KIND_BLOCKED: Final = "blocked"
KIND_GUARDRAIL: Final = "guardrail"
KIND_SCORE: Final = "score"
KINDS: Final = (KIND_GENERATION, KIND_BLOCKED, KIND_GUARDRAIL, KIND_SCORE)
ORDERS: Final = ("desc", "asc")
BLOCKED_ERROR: Final = GuardrailBlocked.__qualname__
ALLOW: Final = "allow"

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
    """What the timeline is narrowed to; ``None`` / empty means not filtered.

    ``include_allow`` keeps ``allow`` guardrail decisions (the store's default: complete);
    the events API and the dashboard pass False unless asked, the export keeps them.
    """

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
    include_allow: bool = True

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
            "include_allow": self.include_allow,
        }


def iso(ns: int) -> str:
    """Epoch nanoseconds as ISO 8601 UTC with a ``Z``."""
    return datetime.fromtimestamp(ns / 1e9, tz=UTC).isoformat().replace("+00:00", "Z")


@dataclass
class TimelinePart:
    """One kind's SELECT: its table, time column, select list and conditions."""

    table: str
    time_col: str
    select: str
    where: list[str] = field(default_factory=list)
    # ``LIMIT 1 BY`` for counts only; pages drop repeats in Python (audit._merge).
    dedupe: str = ""


# The columns every part yields, in order; a part gives the SQL of each (default: empty).
_ROW: Final = (
    "time_ns",
    "row_id",
    "row_kind",
    "trace_id",
    "span_id",
    "service",
    "user_id",
    "session_id",
    "model",
    "check_name",
    "target_type",
    "action_type",
    "entity_list",
    "item_name",
    "item_value",
    "detail",
    "input",
    "output",
)
_DEFAULTS: Final = {
    "trace_id": "trace_id",
    "span_id": "span_id",
    "service": "service_name",
    "entity_list": "CAST([], 'Array(String)')",
    "item_value": "CAST(NULL, 'Nullable(Float64)')",
}


def _select(time_col: str, **exprs: str) -> str:
    """The part's select list: each of :data:`_ROW` from ``exprs``, a default or ``''``
    (``time_ns`` from ``time_col``)."""
    given = {"time_ns": f"toUnixTimestamp64Nano({time_col})", **exprs}
    empty = "''"
    return ", ".join(f"{given.get(c, _DEFAULTS.get(c, empty))} AS {c}" for c in _ROW)


_SPAN_OF_ROW = (
    "(trace_id, span_id) IN (SELECT trace_id, span_id FROM {spans} "
    "WHERE project = {{project:String}} AND {cond})"
)
_TEXT_MATCH = (
    "(positionCaseInsensitiveUTF8(input, {text:String}) > 0 "
    "OR positionCaseInsensitiveUTF8(output, {text:String}) > 0)"
)


def _generation_part(store: ClickHouseStore) -> TimelinePart:
    kind = f"if(error_type = {{blocked_error:String}}, '{KIND_BLOCKED}', '{KIND_GENERATION}')"
    return TimelinePart(
        table=store.table("spans"),
        time_col="timestamp",
        select=_select(
            "timestamp",
            row_id="span_id",
            row_kind=kind,
            user_id="user_id",
            session_id="session_id",
            model="if(response_model != '', response_model, request_model)",
            action_type=f"if(row_kind = '{KIND_BLOCKED}', 'block', '')",
            item_name="name",
            detail="status_message",
            input="input",
            output="output",
        ),
        where=[f"observation_kind = '{semconv.KIND_GENERATION}'"],
        dedupe="LIMIT 1 BY span_id",
    )


def _guardrail_part(store: ClickHouseStore) -> TimelinePart:
    return TimelinePart(
        table=store.table("guardrail_events"),
        time_col="timestamp",
        select=_select(
            "timestamp",
            row_id="concat(span_id, ':', leftPad(toString(event_index), 5, '0'))",
            row_kind=f"'{KIND_GUARDRAIL}'",
            model="request_model",
            check_name="check_name",
            target_type="target",
            action_type="action",
            entity_list="CAST(entity_types, 'Array(String)')",
            item_name="check_type",
            detail="if(reason != '', reason, error)",
        ),
        dedupe="LIMIT 1 BY span_id, event_index",
    )


def _score_part(store: ClickHouseStore) -> TimelinePart:
    return TimelinePart(
        table=store.table("scores"),
        time_col="created_at",
        select=_select(
            "created_at",
            row_id="score_id",
            row_kind=f"'{KIND_SCORE}'",
            model="model",
            item_name="name",
            item_value="CAST(value, 'Nullable(Float64)')",
            detail="concat(source, if(label != '', concat(': ', label), ''), "
            "if(comment != '', concat(' - ', comment), ''))",
        ),
    )


# guardrail_events column → the parameter name shared with the other parts.
_PARAM: Final = {
    "check_name": "check",
    "action": "action",
    "request_model": "model",
    "service_name": "service",
}


def _generation_kinds(f: AuditFilter) -> list[str]:
    kinds: list[str] = [k for k in (KIND_GENERATION, KIND_BLOCKED) if k in f.kinds]
    if f.action is not None:  # only a blocked request has an action (block)
        kinds = [k for k in kinds if k == KIND_BLOCKED and f.action == "block"]
    if f.check is not None or f.entity_type is not None:  # only decisions have these
        return []
    return kinds


def _generations(store: ClickHouseStore, f: AuditFilter, kinds: list[str]) -> TimelinePart:
    part = _generation_part(store)
    if kinds == [KIND_BLOCKED]:
        part.where.append("error_type = {blocked_error:String}")
    elif kinds == [KIND_GENERATION]:
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
    return part


def _decisions(store: ClickHouseStore, f: AuditFilter) -> TimelinePart:
    part = _guardrail_part(store)
    for column, value in (
        ("check_name", f.check),
        ("action", f.action),
        ("request_model", f.model),
        ("service_name", f.service),
    ):
        if value is not None:
            part.where.append(f"{column} = {{{_PARAM[column]}:String}}")
    if f.action is None and not f.include_allow:
        part.where.append(f"action != '{ALLOW}'")
    if f.entity_type is not None:
        part.where.append("has(entity_types, {entity_type:String})")
    if f.text is not None:
        spans = store.table("spans")
        part.where.append(
            "(positionCaseInsensitiveUTF8(reason, {text:String}) > 0 OR "
            + _SPAN_OF_ROW.format(spans=spans, cond=_TEXT_MATCH)
            + ")"
        )
    return part


def _scores(store: ClickHouseStore, f: AuditFilter) -> TimelinePart:
    part = _score_part(store)
    if f.model is not None:
        part.where.append("model = {model:String}")
    if f.service is not None:
        part.where.append("service_name = {service:String}")
    if f.text is not None:
        spans = store.table("spans")
        part.where.append(
            "(positionCaseInsensitiveUTF8(comment, {text:String}) > 0 OR "
            "positionCaseInsensitiveUTF8(label, {text:String}) > 0 OR "
            + _SPAN_OF_ROW.format(spans=spans, cond=_TEXT_MATCH)
            + ")"
        )
    return part


def timeline_parts(store: ClickHouseStore, f: AuditFilter) -> list[TimelinePart]:
    """The SELECT of each kind the filter can match, with that kind's conditions."""
    spans = store.table("spans")
    parts: list[TimelinePart] = []
    generation_kinds = _generation_kinds(f)
    if generation_kinds:
        parts.append(_generations(store, f, generation_kinds))
    if KIND_GUARDRAIL in f.kinds:
        parts.append(_decisions(store, f))
    only_decisions = f.check is not None or f.entity_type is not None or f.action is not None
    if KIND_SCORE in f.kinds and not only_decisions:
        parts.append(_scores(store, f))
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


def timeline_params(project: str, f: AuditFilter) -> dict[str, Any]:
    """The bound values of :func:`timeline_parts`' SQL."""
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

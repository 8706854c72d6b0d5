"""The audit API: the ledger head, the audit timeline and its streamed CSV / JSON Lines export.

* ``GET /api/v1/audit/ledger/head`` — the latest chain hash, to anchor somewhere else.
* ``GET /api/v1/audit/events`` — generations, blocked requests, guardrail decisions and scores
  as one timeline: filtered, sorted, cursor-paginated, with totals per kind. ``allow``
  guardrail decisions are left out unless ``include_allow=true`` (or ``action=allow``).
* ``GET /api/v1/audit/export?format=csv|jsonl`` — the same query, every row, streamed. The
  first line holds the query, the totals and the ledger head at export time, so an export can
  be checked against the ledger later. An export is evidence, so it keeps ``allow`` decisions
  unless ``include_allow=false``; the header's query says which.
"""

from __future__ import annotations

import asyncio
import csv
import io
import json
import re
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import replace
from datetime import UTC, datetime
from typing import Annotated, Any, Final

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import StreamingResponse

from tracerail.collector.api.deps import AdminProjectDep, ProjectDep, SettingsDep, StoreDep
from tracerail.collector.api.errors import ApiError
from tracerail.collector.api.timerange import invalid, time_range
from tracerail.collector.api.traces import TRACE_ID
from tracerail.collector.checkpoints import (
    DirectorySink,
    checkpoint_and_stamp,
    load_signer,
    tsa_client,
)
from tracerail.collector.otlp.guardrails import ACTIONS
from tracerail.collector.store.audit import (
    COLUMNS,
    KINDS,
    ORDERS,
    AuditFilter,
    count_timeline,
    decode_audit_cursor,
    iso,
    iter_timeline,
    list_timeline,
)
from tracerail.collector.store.clickhouse import ClickHouseStore
from tracerail.collector.store.completeness import DEFAULT_SETTLE_SECONDS, completeness
from tracerail.collector.store.ledger import Head, read_head
from tracerail.collector.store.spans import InvalidCursor

router = APIRouter(prefix="/api/v1/audit", tags=["audit"])

MAX_TEXT: Final = 200
# Names, models, ids: letters, digits and . _ : @ / + - and space. Quotes, semicolons,
# brackets, '=' and the like are refused (400) rather than searched for.
NAME_VALUE: Final = re.compile(r"^[\w.:@/+\- ]{1,200}$")
CONTROL: Final = re.compile(r"[\x00-\x1f\x7f]")
FILTER_PARAMS: Final = (
    "from",
    "to",
    "project",
    "kind",
    "service",
    "user_id",
    "session_id",
    "model",
    "check",
    "action",
    "entity_type",
    "trace_id",
    "q",
    "order",
    "include_allow",
)
EXPORT_FORMATS: Final = ("csv", "jsonl")
EXPORT_PAGE: Final = 5_000


def check_params(request: Request, allowed: tuple[str, ...]) -> None:
    """400 for a query parameter this route does not know, or one given twice."""
    keys = list(request.query_params.keys())
    unknown = sorted({k for k in keys if k not in allowed})
    if unknown:
        raise ApiError(
            400,
            "unknown_parameter",
            f"{', '.join(unknown)}: unknown parameter; expected some of {', '.join(allowed)}",
        )
    for key in set(keys):
        if len(request.query_params.getlist(key)) > 1:
            raise invalid(key, "given more than once")


def name_value(param: str, value: str | None) -> str | None:
    """A name, model or id filter as given, or a 400 naming ``param`` if it is malformed."""
    if value is None:
        return None
    if not NAME_VALUE.match(value):
        raise invalid(
            param, "1 to 200 letters, digits, spaces or . _ : @ / + - (no quotes or operators)"
        )
    return value


def check_project(requested: str | None, project: str) -> None:
    """A request may name only the project it acts for."""
    if requested is not None and requested != project:
        raise ApiError(403, "forbidden", f"project: this request acts for project {project!r}")


def _ns(moment: datetime) -> int:
    return int(moment.timestamp() * 1_000_000) * 1000


FromQuery = Annotated[
    datetime | None, Query(alias="from", description="ISO 8601 start (default: 30 days ago)")
]
ToQuery = Annotated[datetime | None, Query(description="ISO 8601 end, exclusive (default: now)")]
#: ``?project=``: optional, and when given it must name the caller's project (check_project).
ProjectQuery = Annotated[
    str | None, Query(alias="project", description="must be the caller's project")
]


def audit_filter(
    project: ProjectDep,
    from_: FromQuery = None,
    to: ToQuery = None,
    project_: ProjectQuery = None,
    kind: Annotated[
        str | None, Query(description=f"comma-separated: {', '.join(KINDS)} (default: all)")
    ] = None,
    service: str | None = None,
    user_id: str | None = None,
    session_id: str | None = None,
    model: Annotated[str | None, Query(description="request or response model")] = None,
    check: Annotated[str | None, Query(description="guardrail check, e.g. pii")] = None,
    action: Annotated[str | None, Query(description=", ".join(ACTIONS))] = None,
    entity_type: Annotated[str | None, Query(description="e.g. EMAIL_ADDRESS")] = None,
    trace_id: Annotated[str | None, Query(description="32 hex characters")] = None,
    q: Annotated[
        str | None, Query(description="text in redacted prompts/answers, reasons, comments")
    ] = None,
    order: Annotated[str, Query(description="desc (newest first) or asc")] = "desc",
    include_allow: Annotated[
        bool | None,
        Query(
            description="keep 'allow' guardrail decisions (default: false on /events, where "
            "they would bury the decisions that did something; true on /export, which is "
            "complete unless narrowed). action=allow shows them either way."
        ),
    ] = None,
) -> AuditFilter:
    """The validated audit query of a request; every problem is a 400 naming the parameter.

    ``include_allow`` is None when not given; each route applies its own default."""
    check_project(project_, project)
    lo, hi = time_range(from_, to)
    kinds: tuple[str, ...] = KINDS
    if kind is not None:
        chosen = tuple(k.strip().lower() for k in kind.split(",") if k.strip())
        if not chosen or any(k not in KINDS for k in chosen):
            raise invalid("kind", f"expected some of {', '.join(KINDS)}")
        kinds = tuple(k for k in KINDS if k in chosen)
    if action is not None and action.lower() not in ACTIONS:
        raise invalid("action", f"expected one of {', '.join(ACTIONS)}")
    if trace_id is not None and not TRACE_ID.match(trace_id.lower()):
        raise invalid("trace_id", "expected 32 hex characters")
    if q is not None and (not q.strip() or len(q) > MAX_TEXT or CONTROL.search(q)):
        raise invalid("q", f"1 to {MAX_TEXT} printable characters")
    if order not in ORDERS:
        raise invalid("order", "expected desc or asc")
    return AuditFilter(
        start_ns=_ns(lo),
        end_ns=_ns(hi),
        kinds=kinds,
        service=name_value("service", service),
        user_id=name_value("user_id", user_id),
        session_id=name_value("session_id", session_id),
        model=name_value("model", model),
        check=name_value("check", check),
        action=action.lower() if action else None,
        entity_type=name_value("entity_type", entity_type),
        trace_id=trace_id.lower() if trace_id else None,
        text=q,
        order=order,
        include_allow=include_allow is not False,
    )


def _timeline_filter(filters: AuditFilter, request: Request) -> AuditFilter:
    """The events page's filter: ``allow`` decisions hidden unless ``include_allow`` is given."""
    if "include_allow" in request.query_params:
        return filters
    return replace(filters, include_allow=False)


AuditFilterDep = Annotated[AuditFilter, Depends(audit_filter)]


def _head_json(head: Head) -> dict[str, Any]:
    return {
        "seq": head.seq,
        "chain_hash": head.chain_hash,
        "batch_id": head.batch_id or None,
        "created_at": iso(head.created_at_ns) if head.seq else None,
    }


@router.get("/ledger/head", summary="Latest batch of this project's audit ledger chain")
async def ledger_head(store: StoreDep, project: ProjectDep) -> dict[str, Any]:
    head = await asyncio.to_thread(read_head, store, project)
    return {"project": project, **_head_json(head)}


@router.post("/checkpoint", summary="Sign this project's chain head now (admin key)")
async def sign_checkpoint(
    store: StoreDep, settings: SettingsDep, project: AdminProjectDep
) -> dict[str, Any]:
    signer = await asyncio.to_thread(load_signer, settings)
    if signer is None:
        raise ApiError(
            409,
            "no_signing_key",
            "checkpoint_key_file: no signing key is configured (TRACERAIL_CHECKPOINT_KEY_FILE "
            "or TRACERAIL_CHECKPOINT_KEY)",
        )
    sink = DirectorySink(settings.checkpoint_path())
    done, stamped = await asyncio.to_thread(
        checkpoint_and_stamp, store, signer, sink, [project], tsa=tsa_client(settings)
    )
    return {
        "project": project,
        "checkpoints": [cp.as_dict() for cp in done],
        "timestamps": [stamp.as_dict() for stamp in stamped],
    }


@router.get("/completeness", summary="Per service: spans emitted, received, known missing")
async def read_completeness(
    request: Request,
    store: StoreDep,
    project: ProjectDep,
    start: FromQuery = None,
    end: ToQuery = None,
    settle_seconds: Annotated[
        float,
        Query(ge=0, le=86_400, description="leave out spans younger than this (SDK retries)"),
    ] = DEFAULT_SETTLE_SECONDS,
) -> dict[str, Any]:
    check_params(request, ("from", "to", "settle_seconds"))
    lo, hi = time_range(start, end)
    body = await asyncio.to_thread(completeness, store, project, lo, hi, settle_seconds)
    return {"project": project, "from": iso(_ns(lo)), "to": iso(_ns(hi)), **body}


@router.get("/events", summary="Audit timeline: generations, blocks, decisions, scores")
async def read_events(
    request: Request,
    store: StoreDep,
    project: ProjectDep,
    settings: SettingsDep,
    filters: AuditFilterDep,
    limit: Annotated[int, Query(ge=1, description="rows per page")] = 100,
    cursor: Annotated[str | None, Query(max_length=512)] = None,
) -> dict[str, Any]:
    check_params(request, (*FILTER_PARAMS, "limit", "cursor"))
    filters = _timeline_filter(filters, request)
    if limit > settings.max_page_size:
        raise invalid("limit", f"at most {settings.max_page_size}")
    if cursor is not None:
        try:
            decode_audit_cursor(cursor, filters.order)
        except InvalidCursor as exc:
            raise invalid("cursor", str(exc)) from None

    def read() -> tuple[list[dict[str, Any]], str | None, dict[str, int]]:
        page, next_cursor = list_timeline(store, project, filters, limit=limit, cursor=cursor)
        return page, next_cursor, count_timeline(store, project, filters)

    events, next_cursor, totals = await asyncio.to_thread(read)
    for event in events:
        event.pop("row_id")
    return {
        "query": filters.as_query(),
        "events": events,
        "count": len(events),
        "next_cursor": next_cursor,
        "total": sum(totals.values()),
        "totals": totals,
    }


def export_header(
    project: str, filters: AuditFilter, head: Head, totals: dict[str, int]
) -> dict[str, Any]:
    """What the first line of an export says: the query, its size and the ledger head."""
    return {
        "tracerail_audit_export": 1,
        "project": project,
        "exported_at": iso(time.time_ns()),
        "query": filters.as_query(),
        "total": sum(totals.values()),
        "totals": totals,
        "ledger_head": {"project": project, **_head_json(head)},
        "columns": list(COLUMNS),
    }


def _csv_line(values: list[Any]) -> str:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerow(values)
    return buffer.getvalue()


def _csv_value(value: Any) -> Any:
    if isinstance(value, list):
        return ";".join(str(v) for v in value)
    return "" if value is None else value


def export_lines(
    store: ClickHouseStore, project: str, filters: AuditFilter, fmt: str
) -> Iterator[str]:
    """The export, line by line: header line, (CSV: column names), one line per row."""
    head = read_head(store, project)
    totals = count_timeline(store, project, filters)
    header = json.dumps(export_header(project, filters, head, totals), separators=(",", ":"))
    if fmt == "jsonl":
        yield header + "\n"
    else:
        yield "# " + header + "\n"
        yield _csv_line(list(COLUMNS))
    for row in iter_timeline(store, project, filters, page_size=EXPORT_PAGE):
        row.pop("row_id")
        if fmt == "jsonl":
            yield json.dumps({k: row[k] for k in COLUMNS}, ensure_ascii=False) + "\n"
        else:
            yield _csv_line([_csv_value(row[k]) for k in COLUMNS])


async def _in_thread(lines: Iterator[str]) -> AsyncIterator[str]:
    """Drive a blocking iterator from a worker thread, one item at a time."""
    done = object()
    while True:
        item = await asyncio.to_thread(next, lines, done)
        if item is done:
            return
        yield str(item)


@router.get("/export", summary="The audit timeline as streamed CSV or JSON Lines")
async def export_events(
    request: Request,
    store: StoreDep,
    project: ProjectDep,
    filters: AuditFilterDep,
    format: Annotated[str, Query(description="csv or jsonl")] = "jsonl",
) -> StreamingResponse:
    check_params(request, (*FILTER_PARAMS, "format"))
    if format not in EXPORT_FORMATS:
        raise invalid("format", "expected csv or jsonl")
    media = "text/csv" if format == "csv" else "application/x-ndjson"
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    return StreamingResponse(
        _in_thread(export_lines(store, project, filters, format)),
        media_type=f"{media}; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="audit-{project}-{stamp}.{format}"'},
    )

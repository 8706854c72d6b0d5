"""``tracerail audit search`` and ``tracerail report``: the auditor's and the compliance
officer's commands. Both talk to a running collector over its HTTP API (so they work against
a remote collector and, once keys exist, with ``--api-key``), never to storage directly.
"""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Iterator
from contextlib import ExitStack
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import IO, Annotated, Any, Final

import typer

from tracerail.collector.errors import CollectorError
from tracerail.config import DEFAULT_ENDPOINT
from tracerail.http import CollectorHTTPError, request

TABLE_COLUMNS: Final = ("time", "kind", "model", "user_id", "check", "action", "entity_types")
DETAIL_WIDTH: Final = 60
PIPE_WIDTH: Final = 220

EndpointOpt = Annotated[
    str, typer.Option(envvar="TRACERAIL_ENDPOINT", help="Collector URL [env TRACERAIL_ENDPOINT].")
]
ApiKeyOpt = Annotated[
    str | None, typer.Option(envvar="TRACERAIL_API_KEY", help="API key [env TRACERAIL_API_KEY].")
]
FromOpt = Annotated[
    str | None,
    typer.Option("--from", help="Start, UTC: 2026-11-01 or 2026-11-01T08:00:00Z."),
]
ToOpt = Annotated[
    str | None,
    typer.Option("--to", help="End, UTC, exclusive; a date alone includes that whole day."),
]
ProjectOpt = Annotated[str | None, typer.Option(help="Project (must be the key's project).")]
OutputOpt = Annotated[
    Path | None, typer.Option("--output", "-o", help="Write to this file instead of stdout.")
]


class ApiFailure(CollectorError):
    """The collector answered with an error (its JSON detail is the message)."""


def parse_when(value: str | None, *, end: bool = False) -> str | None:
    """A CLI date or datetime as ISO 8601 UTC; a bare date as ``end`` means the next midnight."""
    if value is None:
        return None
    text = value.strip()
    try:
        if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
            moment = datetime.fromisoformat(text).replace(tzinfo=UTC)
            if end:
                moment += timedelta(days=1)
        else:
            moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
            if moment.tzinfo is None:
                moment = moment.replace(tzinfo=UTC)
    except ValueError:
        raise typer.BadParameter(f"{value!r} is not a date (2026-11-01) or ISO 8601 time") from None
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _open(
    endpoint: str,
    path: str,
    params: dict[str, Any],
    api_key: str | None,
    timeout: float = 600,
    *,
    body: Any = None,
) -> Any:
    """GET ``path`` with ``params``; a JSON POST of ``body`` when it is given."""
    try:
        return request(endpoint, path, params=params, body=body, api_key=api_key, timeout=timeout)
    except CollectorHTTPError as exc:
        raise ApiFailure(str(exc)) from None


def _fail(exc: ApiFailure) -> typer.Exit:
    typer.echo(f"tracerail: {exc}", err=True)
    return typer.Exit(2)


def _lines(response: Any) -> Iterator[str]:
    for raw in response:
        yield raw.decode("utf-8")


def _export(
    endpoint: str,
    params: dict[str, Any],
    api_key: str | None,
    fmt: str,
    out: IO[str],
    show_progress: bool,
) -> int:
    """Stream an export into ``out`` with a progress bar on stderr; returns rows written."""
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn

    response = _open(endpoint, "/api/v1/audit/export", {**params, "format": fmt}, api_key)
    with response, ExitStack() as stack:
        lines = _lines(response)
        first = next(lines, "")
        out.write(first)
        header = json.loads(first[2:] if fmt == "csv" else first) if first else {}
        if fmt == "csv":
            out.write(next(lines, ""))  # column names
        progress = None
        task = None
        if show_progress:
            progress = stack.enter_context(
                Progress(
                    "[progress.description]{task.description}",
                    BarColumn(),
                    MofNCompleteColumn(),
                    TimeElapsedColumn(),
                    console=Console(stderr=True),
                    transient=True,
                )
            )
            task = progress.add_task("exporting", total=header.get("total"))
        rows = 0
        for line in lines:
            out.write(line)
            rows += 1
            if progress is not None and task is not None and rows % 200 == 0:
                progress.update(task, completed=rows)
    return rows


def _table(endpoint: str, params: dict[str, Any], api_key: str | None, limit: int) -> None:
    from rich.console import Console
    from rich.table import Table

    events: list[dict[str, Any]] = []
    cursor = None
    body: dict[str, Any] = {}
    while len(events) < limit:
        page_params = {**params, "limit": min(limit - len(events), 500), "cursor": cursor}
        with _open(endpoint, "/api/v1/audit/events", page_params, api_key) as response:
            body = json.load(response)
        events.extend(body["events"])
        cursor = body["next_cursor"]
        if cursor is None:
            break
    table = Table(show_lines=False, header_style="bold")
    for column in (*TABLE_COLUMNS, "detail", "trace_id"):
        table.add_column(column, overflow="fold")
    for event in events:
        detail = (
            event["detail"] if event["value"] is None else f"{event['value']:g} {event['detail']}"
        )
        table.add_row(
            event["time"][:19].replace("T", " "),
            event["kind"],
            event["model"],
            event["user_id"],
            event["check"] or event["name"],
            event["action"],
            ", ".join(event["entity_types"]),
            detail[:DETAIL_WIDTH],
            event["trace_id"],
        )
    # Piped or captured output gets a wide, unfolded table (a terminal uses its own width).
    console = Console() if sys.stdout.isatty() else Console(width=PIPE_WIDTH)
    console.print(table)
    totals = ", ".join(f"{k} {v}" for k, v in body.get("totals", {}).items())
    console.print(f"{len(events)} of {body.get('total', 0)} matching events ({totals})")


def audit_search(
    from_: FromOpt = None,
    to: ToOpt = None,
    project: ProjectOpt = None,
    kind: Annotated[
        str | None, typer.Option(help="generation, blocked, guardrail, score (comma-separated).")
    ] = None,
    service: Annotated[str | None, typer.Option(help="Service name.")] = None,
    user_id: Annotated[str | None, typer.Option(help="End-user id.")] = None,
    session_id: Annotated[str | None, typer.Option(help="Session id.")] = None,
    model: Annotated[str | None, typer.Option(help="Request or response model.")] = None,
    check: Annotated[str | None, typer.Option(help="Guardrail check, e.g. pii.")] = None,
    action: Annotated[str | None, typer.Option(help="allow, flag, redact or block.")] = None,
    entity_type: Annotated[str | None, typer.Option(help="e.g. EMAIL_ADDRESS.")] = None,
    trace_id: Annotated[str | None, typer.Option(help="One trace (32 hex characters).")] = None,
    text: Annotated[
        str | None, typer.Option("--text", "-q", help="Text in redacted prompts and answers.")
    ] = None,
    order: Annotated[str, typer.Option(help="desc (newest first) or asc.")] = "desc",
    output_format: Annotated[
        str, typer.Option("--format", help="table, csv or jsonl (csv/jsonl: every row).")
    ] = "table",
    limit: Annotated[int, typer.Option(min=1, help="Rows shown by the table format.")] = 50,
    output: OutputOpt = None,
    endpoint: EndpointOpt = DEFAULT_ENDPOINT,
    api_key: ApiKeyOpt = None,
) -> None:
    """Search the audit log: generations, blocked requests, guardrail decisions and scores."""
    if output_format not in ("table", "csv", "jsonl"):
        raise typer.BadParameter("--format must be table, csv or jsonl")
    params: dict[str, Any] = {
        "from": parse_when(from_),
        "to": parse_when(to, end=True),
        "project": project,
        "kind": kind,
        "service": service,
        "user_id": user_id,
        "session_id": session_id,
        "model": model,
        "check": check,
        "action": action,
        "entity_type": entity_type,
        "trace_id": trace_id,
        "q": text,
        "order": order,
    }
    try:
        if output_format == "table":
            _table(endpoint, params, api_key, limit)
            return
        with ExitStack() as stack:
            out: IO[str] = (
                stack.enter_context(output.open("w", encoding="utf-8", newline=""))
                if output is not None
                else sys.stdout
            )
            rows = _export(
                endpoint,
                params,
                api_key,
                output_format,
                out,
                show_progress=output is not None or sys.stderr.isatty(),
            )
    except ApiFailure as exc:
        raise _fail(exc) from None
    if output is not None:
        typer.echo(f"wrote {rows} events to {output}", err=True)


def report(
    from_: FromOpt = None,
    to: ToOpt = None,
    project: ProjectOpt = None,
    report_format: Annotated[str, typer.Option("--format", help="html, pdf or json.")] = "html",
    threshold: Annotated[
        float, typer.Option(min=0.0, max=1.0, help="Hallucination score threshold.")
    ] = 0.5,
    output: OutputOpt = None,
    endpoint: EndpointOpt = DEFAULT_ENDPOINT,
    api_key: ApiKeyOpt = None,
) -> None:
    """Write a compliance report for a period (default: the last 30 days)."""
    if report_format not in ("html", "pdf", "json"):
        raise typer.BadParameter("--format must be html, pdf or json")
    params = {
        "from": parse_when(from_),
        "to": parse_when(to, end=True),
        "project": project,
        "format": report_format,
        "threshold": threshold,
    }
    try:
        with _open(endpoint, "/api/v1/reports/compliance", params, api_key) as response:
            body = response.read()
            disposition = response.headers.get("Content-Disposition", "")
    except ApiFailure as exc:
        raise _fail(exc) from None
    if output is None:
        match = re.search(r'filename="([^"/\\]+)"', disposition)
        output = Path(match[1] if match else f"compliance-report.{report_format}")
    output.write_bytes(body)
    typer.echo(f"wrote {output} ({len(body):,} bytes)")

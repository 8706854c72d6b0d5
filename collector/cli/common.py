"""What the command groups share: option types, settings, time parsing, error exits, the
store, the collector's HTTP API and a progress bar. Each is defined here once."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from http.client import HTTPResponse
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Final

import typer

from tracerail.collector.errors import CollectorError
from tracerail.collector.settings import Settings
from tracerail.http import CollectorHTTPError, request

if TYPE_CHECKING:
    from tracerail.collector.store.clickhouse import ClickHouseStore

#: Runs with at least this many items show a progress bar (on stderr).
PROGRESS_MIN_ITEMS: Final = 50

StorageOpt = Annotated[
    str | None,
    typer.Option(
        "--storage",
        help="Embedded chdb:///path or a server http(s)://host:8123 (env TRACERAIL_STORAGE).",
    ),
]
ClusterOpt = Annotated[
    str | None,
    typer.Option(
        "--cluster",
        help="ClickHouse cluster: replicated + Distributed tables ON CLUSTER "
        "(env TRACERAIL_CLUSTER).",
    ),
]
DatabaseOpt = Annotated[
    str | None, typer.Option("--database", help="Database name (env TRACERAIL_DATABASE).")
]
EndpointOpt = Annotated[str, typer.Option(envvar="TRACERAIL_ENDPOINT", help="Collector URL.")]
ApiKeyOpt = Annotated[str | None, typer.Option(envvar="TRACERAIL_API_KEY", help="API key.")]
FromOpt = Annotated[
    str | None,
    typer.Option("--from", help="Start, UTC: 2026-11-01 or 2026-11-01T08:00:00Z."),
]
ToOpt = Annotated[
    str | None,
    typer.Option("--to", help="End, UTC, exclusive; a date alone includes that whole day."),
]
KeyProjectOpt = Annotated[
    str | None, typer.Option("--project", help="Project (must be the key's project).")
]
OutputOpt = Annotated[
    Path | None, typer.Option("--output", "-o", help="Write to this file instead of stdout.")
]
KeysOpt = Annotated[
    Path | None,
    typer.Option(
        "--keys",
        help="Key ring of trusted public keys (default: checkpoint_public_keys, else keys.json "
        "in the checkpoint directory).",
    ),
]
CheckpointDirOpt = Annotated[
    Path | None,
    typer.Option(
        "--checkpoint-dir",
        help="Append-only checkpoint directory (env TRACERAIL_CHECKPOINT_DIR).",
    ),
]
JsonReportOpt = Annotated[
    Path | None, typer.Option("--json", help="Also write the report as JSON here.")
]
ProgressOpt = Annotated[
    bool, typer.Option("--progress/--no-progress", help="Progress bar on long runs.")
]


class ApiFailure(CollectorError):
    """The collector answered with an error (its JSON detail is the message)."""


def check_choice(value: str, choices: tuple[str, ...], option: str) -> str:
    """``value`` when it is one of ``choices``; else a usage error naming ``option``."""
    if value not in choices:
        raise typer.BadParameter(f"expected one of {', '.join(choices)}", param_hint=option)
    return value


def settings_of(**overrides: Any) -> Settings:
    """The collector settings, with every option that was given (not ``None``) overriding its
    ``TRACERAIL_*`` variable and default."""
    return Settings(**{k: v for k, v in overrides.items() if v is not None})


@contextmanager
def opened_store(settings: Settings, *, migrate: bool = True) -> Iterator[ClickHouseStore]:
    """The store the settings name (schema brought up to date unless ``migrate`` is false),
    closed afterwards."""
    from tracerail.collector.store.clickhouse import ClickHouseStore

    store = ClickHouseStore(settings.storage, settings.database, cluster=settings.cluster)
    try:
        if migrate:
            store.migrate()
        yield store
    finally:
        store.close()


@contextmanager
def exit_on(*errors: type[Exception], prefix: str = "error") -> Iterator[None]:
    """Turn one of ``errors`` into ``{prefix}: {message}`` on stderr and exit status 2."""
    try:
        yield
    except errors as exc:
        typer.echo(f"{prefix}: {exc}", err=True)
        raise typer.Exit(2) from None


def parse_moment(value: str | None, *, end: bool = False) -> datetime | None:
    """A CLI date or datetime in UTC; a bare date as ``end`` means the next midnight."""
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
    except ValueError:
        raise typer.BadParameter(f"{value!r} is not a date (2026-11-01) or ISO 8601 time") from None
    return utc(moment)


def parse_when(value: str | None, *, end: bool = False) -> str | None:
    """:func:`parse_moment` as ISO 8601 text ending in ``Z``, as the HTTP API takes it."""
    moment = parse_moment(value, end=end)
    return None if moment is None else moment.isoformat().replace("+00:00", "Z")


def utc(value: datetime | None) -> datetime | None:
    """``value`` in UTC; a naive time is taken to be UTC already."""
    if value is None:
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def call_api(
    endpoint: str,
    path: str,
    params: dict[str, Any],
    api_key: str | None,
    *,
    body: Any = None,
    timeout: float = 600,
) -> HTTPResponse:
    """GET ``path`` with ``params`` (a JSON POST of ``body`` when given): the open response.

    Raises :class:`ApiFailure` with the collector's message on an error answer."""
    try:
        return request(endpoint, path, params=params, body=body, api_key=api_key, timeout=timeout)
    except CollectorHTTPError as exc:
        raise ApiFailure(str(exc)) from None


def write_json_report(path: Path | None, body: Any) -> None:
    """Write ``body`` as indented JSON to ``path`` (when given) and say so on stderr."""
    if path is None:
        return
    path.write_text(json.dumps(body, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    typer.echo(f"report written to {path}", err=True)


@contextmanager
def progress_bar(
    label: str, total: int | None, enabled: bool, *, min_items: int = PROGRESS_MIN_ITEMS
) -> Iterator[Callable[[int], None] | None]:
    """A callback taking the count done, drawing a rich bar on stderr; ``None`` when the bar is
    off or a known ``total`` is below ``min_items``."""
    if not enabled or (total is not None and total < min_items):
        yield None
        return
    from rich.console import Console
    from rich.progress import MofNCompleteColumn, Progress, TimeElapsedColumn

    columns = (*Progress.get_default_columns(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=Console(stderr=True), transient=True) as bar:
        task = bar.add_task(label, total=total)
        yield lambda done: bar.update(task, completed=done)

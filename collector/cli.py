"""The ``tracerail`` command line (typer)."""

from __future__ import annotations

import json
import logging
from typing import TYPE_CHECKING, Annotated

import typer

from tracerail.collector.settings import Settings
from tracerail.version import __version__

if TYPE_CHECKING:
    from tracerail.collector.store.clickhouse import ClickHouseStore

app = typer.Typer(
    help="tracerail: LLM observability and guardrails.", no_args_is_help=True, add_completion=False
)
collector_app = typer.Typer(help="Run and manage the collector.", no_args_is_help=True)
app.add_typer(collector_app, name="collector")
keys_app = typer.Typer(help="Create, list and revoke API keys.", no_args_is_help=True)
app.add_typer(keys_app, name="keys")
projects_app = typer.Typer(help="Projects and their retention.", no_args_is_help=True)
app.add_typer(projects_app, name="projects")

HostOpt = Annotated[
    str | None, typer.Option("--host", help="Address to bind [env TRACERAIL_HOST].")
]
PortOpt = Annotated[int | None, typer.Option("--port", help="Port [env TRACERAIL_PORT].")]
StorageOpt = Annotated[
    str | None,
    typer.Option(
        "--storage",
        help="chdb:///path (embedded) or http(s)://host:8123 (server) [env TRACERAIL_STORAGE].",
    ),
]


AuthOpt = Annotated[
    str | None,
    typer.Option("--auth", help="auto, required or off [env TRACERAIL_AUTH]."),
]
ProjectOpt = Annotated[str, typer.Option("--project", help="Project name.")]


def _settings(**overrides: object) -> Settings:
    values = {k: v for k, v in overrides.items() if v is not None}
    return Settings(**values)  # type: ignore[arg-type]


@app.callback(invoke_without_command=True)
def _main(
    version: Annotated[bool, typer.Option("--version", help="Print the version and exit.")] = False,
) -> None:
    if version:
        typer.echo(__version__)
        raise typer.Exit()


@collector_app.command("serve")
def serve(
    host: HostOpt = None,
    port: PortOpt = None,
    storage: StorageOpt = None,
    auth: AuthOpt = None,
    allow_insecure_bind: Annotated[
        bool | None,
        typer.Option(
            "--allow-insecure-bind", help="Serve without auth on a non-loopback address anyway."
        ),
    ] = None,
    log_level: Annotated[str, typer.Option(help="debug, info, warning or error.")] = "info",
) -> None:
    """Serve OTLP/HTTP ingest and the query API."""
    import uvicorn

    from tracerail.collector.api.app import create_app
    from tracerail.collector.auth import InsecureBind, check_bind

    settings = _settings(
        host=host, port=port, storage=storage, auth=auth, allow_insecure_bind=allow_insecure_bind
    )
    try:
        check_bind(settings)
    except InsecureBind as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    logging.basicConfig(
        level=log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    typer.echo(f"tracerail collector {__version__} on http://{settings.host}:{settings.port}")
    typer.echo(f"storage: {settings.storage} (database {settings.database})")
    uvicorn.run(
        create_app(settings), host=settings.host, port=settings.port, log_level=log_level.lower()
    )


@collector_app.command("migrate")
def migrate(storage: StorageOpt = None) -> None:
    """Create or upgrade the storage schema (idempotent)."""
    from tracerail.collector.store.clickhouse import ClickHouseStore

    settings = _settings(storage=storage)
    store = ClickHouseStore(settings.storage, settings.database)
    applied = store.migrate()
    store.close()
    if applied:
        typer.echo(f"applied migrations: {', '.join(map(str, applied))}")
    else:
        typer.echo("schema is up to date")


def _open_store(storage: str | None) -> ClickHouseStore:
    from tracerail.collector.store.clickhouse import ClickHouseStore

    settings = _settings(storage=storage)
    store = ClickHouseStore(settings.storage, settings.database)
    store.migrate()
    return store


@keys_app.command("create")
def keys_create(
    project: ProjectOpt,
    scope: Annotated[str, typer.Option("--scope", help="ingest, read or admin.")] = "ingest",
    note: Annotated[str, typer.Option("--note", help="What the key is for.")] = "",
    storage: StorageOpt = None,
) -> None:
    """Create a key; it is printed once and stored only as a salted hash."""
    from tracerail.collector.store.keys import SCOPES, create_key
    from tracerail.collector.store.projects import InvalidProject, ensure_project

    if scope not in SCOPES:
        raise typer.BadParameter(f"expected one of {', '.join(SCOPES)}", param_hint="--scope")
    store = _open_store(storage)
    try:
        ensure_project(store, project, _settings().retention_days)
        key, record = create_key(store, project, scope, note)  # type: ignore[arg-type]
    except InvalidProject as exc:
        raise typer.BadParameter(str(exc), param_hint="--project") from None
    finally:
        store.close()
    typer.echo(key)
    typer.echo(
        f"key {record.key_id} for project {project} (scope {scope}); save it now, it is not "
        "shown again",
        err=True,
    )


@keys_app.command("list")
def keys_list(
    project: Annotated[str | None, typer.Option("--project", help="Only this project.")] = None,
    storage: StorageOpt = None,
) -> None:
    """List keys (id, project, scope, created, revoked); never their secrets."""
    from tracerail.collector.store.keys import list_keys

    store = _open_store(storage)
    try:
        records = list_keys(store, project)
    finally:
        store.close()
    for r in records:
        state = "revoked" if r.revoked else "active"
        created = r.created_at.isoformat() if r.created_at else ""
        typer.echo(f"{r.key_id}\t{r.project}\t{r.scope}\t{created}\t{state}\t{r.note}")


@keys_app.command("revoke")
def keys_revoke(
    key_id: Annotated[str, typer.Argument(help="The key id (as listed).")],
    storage: StorageOpt = None,
) -> None:
    """Revoke a key: requests with it fail from now on."""
    from tracerail.collector.store.keys import revoke_key

    store = _open_store(storage)
    try:
        found = revoke_key(store, key_id)
    finally:
        store.close()
    if not found:
        typer.echo(f"error: no key {key_id}", err=True)
        raise typer.Exit(1)
    typer.echo(f"revoked {key_id}")


@projects_app.command("set-retention")
def projects_set_retention(
    project: ProjectOpt,
    days: Annotated[int, typer.Option("--days", help="Days new spans are kept (1-3650).")],
    storage: StorageOpt = None,
) -> None:
    """Set a project's retention (applied through the spans table's TTL)."""
    from tracerail.collector.store.projects import InvalidProject, save_project

    store = _open_store(storage)
    try:
        saved = save_project(store, project, days)
    except InvalidProject as exc:
        raise typer.BadParameter(str(exc)) from None
    finally:
        store.close()
    typer.echo(f"{saved.name}: retention {saved.retention_days} days")


@projects_app.command("list")
def projects_list(storage: StorageOpt = None) -> None:
    """Projects and their retention."""
    from tracerail.collector.store.projects import list_projects

    store = _open_store(storage)
    try:
        for p in list_projects(store):
            typer.echo(f"{p.name}\t{p.retention_days}")
    finally:
        store.close()


@app.command("erase")
def erase(
    user: Annotated[str, typer.Option("--user", help="The data subject's user id.")],
    project: Annotated[
        str | None, typer.Option("--project", help="Project (default: TRACERAIL_PROJECT).")
    ] = None,
    storage: StorageOpt = None,
) -> None:
    """Erase every span of one user in a project, and record the erasure (hash only)."""
    from tracerail.collector.store.erasure import erase_subject

    store = _open_store(storage)
    try:
        erasure = erase_subject(store, project or _settings().project, user, "cli")
    finally:
        store.close()
    typer.echo(json.dumps(erasure.as_json()))


def main() -> None:
    app()

"""``tracerail collector serve | migrate | rebuild-stats``: run the collector, manage its schema."""

from __future__ import annotations

import logging
from typing import Annotated

import typer

from tracerail.collector.cli import common
from tracerail.version import __version__

collector_app = typer.Typer(help="Run and manage the collector.", no_args_is_help=True)


@collector_app.command("serve")
def serve(
    ctx: typer.Context,
    host: Annotated[
        str | None, typer.Option("--host", help="Address to bind (env TRACERAIL_HOST).")
    ] = None,
    port: Annotated[int | None, typer.Option("--port", help="Port (env TRACERAIL_PORT).")] = None,
    grpc_port: Annotated[
        int | None,
        typer.Option("--grpc-port", help="OTLP/gRPC port, 0 disables (env TRACERAIL_GRPC_PORT)."),
    ] = None,
    storage: common.StorageOpt = None,
    cluster: common.ClusterOpt = None,
    auth: Annotated[
        str | None, typer.Option("--auth", help="auto, required or off (env TRACERAIL_AUTH).")
    ] = None,
    allow_insecure_bind: Annotated[
        bool | None,
        typer.Option(
            "--allow-insecure-bind", help="Serve without auth on a non-loopback address anyway."
        ),
    ] = None,
    log_level: Annotated[str, typer.Option(help="debug, info, warning or error.")] = "info",
) -> None:
    """Serve OTLP/HTTP and OTLP/gRPC ingest and the query API."""
    import uvicorn

    from tracerail.collector.api.app import create_app
    from tracerail.collector.auth import InsecureBind, check_bind

    # Every option but --log-level is the collector setting of the same name.
    settings = common.settings_of(**{k: v for k, v in ctx.params.items() if k != "log_level"})
    with common.exit_on(InsecureBind):
        check_bind(settings)
    logging.basicConfig(
        level=log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    typer.echo(f"tracerail collector {__version__} on http://{settings.host}:{settings.port}")
    if settings.grpc_port:
        typer.echo(f"OTLP/gRPC on {settings.host}:{settings.grpc_port}")
    typer.echo(f"storage: {settings.storage} (database {settings.database})")
    uvicorn.run(
        create_app(settings), host=settings.host, port=settings.port, log_level=log_level.lower()
    )


@collector_app.command("migrate")
def migrate(
    storage: common.StorageOpt = None,
    cluster: common.ClusterOpt = None,
    print_sql: Annotated[
        bool, typer.Option("--print-sql", help="Print all DDL and exit without connecting.")
    ] = False,
) -> None:
    """Create or upgrade the storage schema (idempotent)."""
    from tracerail.collector.store.clickhouse import ClickHouseStore
    from tracerail.collector.store.migrations import MIGRATIONS

    settings = common.settings_of(storage=storage, cluster=cluster)
    if print_sql:
        store = ClickHouseStore(settings.storage, settings.database, cluster=settings.cluster)
        for sql in store.bootstrap_statements():
            typer.echo(f"{sql};\n")
        for migration in MIGRATIONS:
            typer.echo(f"-- migration {migration.version}: {migration.name}")
            for sql in store.schema_statements(migration):
                typer.echo(f"{sql};\n")
        return
    with common.opened_store(settings, migrate=False) as store:
        applied = store.migrate()
    if applied:
        typer.echo(f"applied migrations: {', '.join(map(str, applied))}")
    else:
        typer.echo("schema is up to date")


@collector_app.command("rebuild-stats")
def rebuild_stats(storage: common.StorageOpt = None, cluster: common.ClusterOpt = None) -> None:
    """Recompute the pre-aggregated hallucination counts from the stored scores."""
    from tracerail.collector.store.hallucination_stats import rebuild

    with common.opened_store(common.settings_of(storage=storage, cluster=cluster)) as store:
        typer.echo("recomputing hallucination_stats from scores ...")
        typer.echo(f"hallucination_stats: {rebuild(store)} rows")

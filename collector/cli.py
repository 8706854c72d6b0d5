"""The ``tracerail`` command line (typer)."""

from __future__ import annotations

import logging
from typing import Annotated

import typer

from tracerail.collector.settings import Settings
from tracerail.version import __version__

app = typer.Typer(
    help="tracerail: LLM observability and guardrails.", no_args_is_help=True, add_completion=False
)
collector_app = typer.Typer(help="Run and manage the collector.", no_args_is_help=True)
app.add_typer(collector_app, name="collector")

HostOpt = Annotated[
    str | None, typer.Option("--host", help="Address to bind [env TRACERAIL_HOST].")
]
PortOpt = Annotated[int | None, typer.Option("--port", help="Port [env TRACERAIL_PORT].")]
GrpcPortOpt = Annotated[
    int | None,
    typer.Option("--grpc-port", help="OTLP/gRPC port, 0 disables [env TRACERAIL_GRPC_PORT]."),
]
ClusterOpt = Annotated[
    str | None,
    typer.Option(
        "--cluster",
        help="ClickHouse cluster: replicated + Distributed tables ON CLUSTER "
        "[env TRACERAIL_CLUSTER].",
    ),
]
StorageOpt = Annotated[
    str | None,
    typer.Option(
        "--storage",
        help="chdb:///path (embedded) or http(s)://host:8123 (server) [env TRACERAIL_STORAGE].",
    ),
]


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
    grpc_port: GrpcPortOpt = None,
    storage: StorageOpt = None,
    cluster: ClusterOpt = None,
    log_level: Annotated[str, typer.Option(help="debug, info, warning or error.")] = "info",
) -> None:
    """Serve OTLP/HTTP and OTLP/gRPC ingest and the query API."""
    import uvicorn

    from tracerail.collector.api.app import create_app

    settings = _settings(
        host=host, port=port, grpc_port=grpc_port, storage=storage, cluster=cluster
    )
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
    storage: StorageOpt = None,
    cluster: ClusterOpt = None,
    print_sql: Annotated[
        bool, typer.Option("--print-sql", help="Print all DDL and exit without connecting.")
    ] = False,
) -> None:
    """Create or upgrade the storage schema (idempotent)."""
    from tracerail.collector.store.clickhouse import ClickHouseStore
    from tracerail.collector.store.migrations import MIGRATIONS

    settings = _settings(storage=storage, cluster=cluster)
    store = ClickHouseStore(settings.storage, settings.database, cluster=settings.cluster)
    if print_sql:
        for sql in store.bootstrap_statements():
            typer.echo(f"{sql};\n")
        for migration in MIGRATIONS:
            typer.echo(f"-- migration {migration.version}: {migration.name}")
            for sql in store.schema_statements(migration):
                typer.echo(f"{sql};\n")
        return
    applied = store.migrate()
    store.close()
    if applied:
        typer.echo(f"applied migrations: {', '.join(map(str, applied))}")
    else:
        typer.echo("schema is up to date")


def main() -> None:
    app()

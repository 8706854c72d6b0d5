"""The ``tracerail`` command line (typer)."""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from tracerail.collector import content_eval_cli, eval_cli, evidence_cli, pii_eval_cli, report_cli
from tracerail.collector.content_cli import content_app
from tracerail.collector.review_cli import review_app
from tracerail.collector.settings import Settings
from tracerail.config import DEFAULT_ENDPOINT
from tracerail.http import CollectorHTTPError, request
from tracerail.version import __version__

if TYPE_CHECKING:
    from tracerail.collector.store.clickhouse import ClickHouseStore

app = typer.Typer(
    help="tracerail: LLM observability and guardrails.", no_args_is_help=True, add_completion=False
)
collector_app = typer.Typer(help="Run and manage the collector.", no_args_is_help=True)
app.add_typer(collector_app, name="collector")
audit_app = typer.Typer(help="Search the audit log, check the ledger.", no_args_is_help=True)
app.add_typer(audit_app, name="audit")
provenance_app = typer.Typer(help="Check texts against provenance hashes.", no_args_is_help=True)
app.add_typer(provenance_app, name="provenance")
keys_app = typer.Typer(help="Create, list and revoke API keys.", no_args_is_help=True)
app.add_typer(keys_app, name="keys")
projects_app = typer.Typer(help="Projects and their retention.", no_args_is_help=True)
app.add_typer(projects_app, name="projects")
app.add_typer(eval_cli.eval_app, name="eval")
app.add_typer(content_app, name="content")
app.add_typer(review_app, name="review")

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
    grpc_port: GrpcPortOpt = None,
    storage: StorageOpt = None,
    cluster: ClusterOpt = None,
    auth: AuthOpt = None,
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

    settings = _settings(
        host=host,
        port=port,
        grpc_port=grpc_port,
        storage=storage,
        cluster=cluster,
        auth=auth,
        allow_insecure_bind=allow_insecure_bind,
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


@collector_app.command("rebuild-stats")
def rebuild_stats(storage: StorageOpt = None, cluster: ClusterOpt = None) -> None:
    """Recompute the pre-aggregated hallucination counts from the stored scores."""
    from tracerail.collector.store.clickhouse import ClickHouseStore
    from tracerail.collector.store.hallucination_stats import rebuild

    settings = _settings(storage=storage, cluster=cluster)
    store = ClickHouseStore(settings.storage, settings.database, cluster=settings.cluster)
    try:
        store.migrate()
        typer.echo("recomputing hallucination_stats from scores ...")
        typer.echo(f"hallucination_stats: {rebuild(store)} rows")
    finally:
        store.close()


DatabaseOpt = Annotated[
    str | None, typer.Option("--database", help="Database name [env TRACERAIL_DATABASE].")
]


def _utc(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


@audit_app.command("verify")
def audit_verify(
    project: Annotated[str | None, typer.Option(help="Only this project (default: all).")] = None,
    from_: Annotated[
        datetime | None, typer.Option("--from", help="Batches written at or after (UTC).")
    ] = None,
    to: Annotated[
        datetime | None, typer.Option("--to", help="Batches written before (UTC).")
    ] = None,
    expect_head: Annotated[
        str | None,
        typer.Option(help="Chain hash anchored earlier; must still be on the chain (one project)."),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
    keys: evidence_cli.KeysOpt = None,
    checkpoint_dir: evidence_cli.CheckpointDirOpt = None,
    storage: StorageOpt = None,
    database: DatabaseOpt = None,
) -> None:
    """Recompute row hashes, Merkle roots and the hash chain, check every signed checkpoint
    (signature, and that the chain still extends it); exit 1 on any break."""
    from tracerail.collector.checkpoints import verify_checkpoints
    from tracerail.collector.store.clickhouse import ClickHouseStore
    from tracerail.collector.store.ledger import verify

    settings = _settings(storage=storage, database=database, checkpoint_dir=checkpoint_dir)
    store = ClickHouseStore(settings.storage, settings.database)
    try:
        report = verify(store, project=project, start=_utc(from_), end=_utc(to))
        anchored = True
        if expect_head is not None:
            anchored = _anchored(store, project, expect_head)
        signed, notes = verify_checkpoints(store, settings, project=project, keys=keys)
    finally:
        store.close()
    if as_json:
        typer.echo(
            json.dumps(
                {
                    **report.as_dict(),
                    "expected_head_found": anchored,
                    "checkpoints": {**signed.as_dict(), "notes": notes},
                },
                indent=2,
            )
        )
    else:
        typer.echo(
            f"checked {report.batches_checked} batches, {report.rows_checked} rows "
            f"in {len(report.projects)} project(s); {report.uncommitted_rows} uncommitted rows"
        )
        for name, head in report.heads.items():
            typer.echo(f"head {name}: {head}")
        if report.first_break is not None:
            brk = report.first_break
            typer.echo(
                f"TAMPERED: project {brk.project} batch {brk.seq} ({brk.batch_id}): {brk.reason}"
            )
        if not anchored:
            typer.echo(f"TAMPERED: anchored head {expect_head} is not on the chain")
        evidence_cli.echo_checkpoints(signed, notes)
    if not report.ok or not anchored or not signed.ok:
        raise typer.Exit(1)
    if not as_json:
        typer.echo("ledger verified")


def _anchored(store: Any, project: str | None, chain_hash: str) -> bool:
    rows = store.query(
        f"SELECT count() AS n FROM {store.table('ledger_batches')} "
        "WHERE chain_hash = {hash:String} "
        "AND ({project:String} = '' OR project = {project:String})",
        {"hash": chain_hash.strip().lower(), "project": project or ""},
    )
    return bool(rows[0]["n"])


def _read_text(text: str | None, file: Path | None) -> str:
    if (text is None) == (file is None):
        raise typer.BadParameter("give exactly one of --text or --file ('-' reads stdin)")
    if text is not None:
        return text
    assert file is not None
    if str(file) == "-":
        return sys.stdin.read()
    return file.read_text(encoding="utf-8")


def _stored_hashes(
    endpoint: str, trace_id: str, span_id: str, api_key: str | None
) -> dict[str, str]:
    with request(endpoint, f"/api/v1/traces/{trace_id}", api_key=api_key) as response:
        trace = json.load(response)
    from tracerail import semconv

    for span in trace["spans"]:
        if span["span_id"] == span_id:
            attributes = span["attributes"]
            return {
                "prompt": attributes.get(semconv.TRACERAIL_PROVENANCE_PROMPT_SHA256, ""),
                "answer": attributes.get(semconv.TRACERAIL_PROVENANCE_ANSWER_SHA256, ""),
            }
    raise typer.BadParameter(f"span {span_id} is not in trace {trace_id}")


@provenance_app.command("verify")
def provenance_verify(
    text: Annotated[str | None, typer.Option(help="The text to check.")] = None,
    file: Annotated[
        Path | None, typer.Option(help="Read the text from a file ('-': stdin).")
    ] = None,
    sha256: Annotated[str | None, typer.Option(help="The recorded SHA-256 (hex).")] = None,
    trace_id: Annotated[str | None, typer.Option(help="Look the hash up on this trace...")] = None,
    span_id: Annotated[str | None, typer.Option(help="...and this generation span.")] = None,
    field: Annotated[str, typer.Option(help="prompt or answer (with --span-id).")] = "answer",
    endpoint: Annotated[
        str, typer.Option(envvar="TRACERAIL_ENDPOINT", help="Collector URL.")
    ] = DEFAULT_ENDPOINT,
    api_key: Annotated[str | None, typer.Option(envvar="TRACERAIL_API_KEY")] = None,
) -> None:
    """Check that a text is exactly the prompt or answer a provenance record hashed."""
    from tracerail.provenance import verify_text

    content = _read_text(text, file)
    if sha256 is None:
        if trace_id is None or span_id is None:
            raise typer.BadParameter("give --sha256, or --trace-id and --span-id")
        if field not in ("prompt", "answer"):
            raise typer.BadParameter("--field must be prompt or answer")
        try:
            sha256 = _stored_hashes(endpoint, trace_id.lower(), span_id.lower(), api_key)[field]
        except (CollectorHTTPError, ValueError) as exc:
            typer.echo(f"cannot read the record from {endpoint}: {exc}", err=True)
            raise typer.Exit(2) from None
        if not sha256:
            typer.echo(f"span {span_id} has no {field} hash", err=True)
            raise typer.Exit(2)
    if verify_text(content, sha256):
        typer.echo(f"match: the text hashes to {sha256.lower()}")
        return
    typer.echo("MISMATCH: the text is not the one recorded")
    raise typer.Exit(1)


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


audit_app.command("search")(report_cli.audit_search)
audit_app.command("checkpoint")(evidence_cli.audit_checkpoint)
audit_app.command("keygen")(evidence_cli.audit_keygen)
audit_app.command("export-pack")(evidence_cli.audit_export_pack)
audit_app.command("verify-pack")(evidence_cli.audit_verify_pack)
app.command("report")(report_cli.report)
eval_cli.eval_app.command("pii")(pii_eval_cli.pii)
eval_cli.eval_app.command("content")(content_eval_cli.content)


def main() -> None:
    app()

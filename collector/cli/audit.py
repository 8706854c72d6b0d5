"""``tracerail audit``: the auditor's commands.

``verify`` checks the ledger in storage; ``search`` reads the audit log from a running
collector; ``keygen``, ``checkpoint``, ``export-pack`` and ``verify-pack`` make and check signed
checkpoints and evidence packs (docs/provenance-and-audit.md). ``verify-pack`` needs only the
``tracerail`` package: ``tracerail._cli`` runs it before this module is imported.
"""

from __future__ import annotations

import json
import sys
from contextlib import ExitStack
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import IO, TYPE_CHECKING, Annotated, Any

import typer

from tracerail.collector.cli import audit_output, common
from tracerail.config import DEFAULT_ENDPOINT

if TYPE_CHECKING:
    from tracerail.collector.store.clickhouse import ClickHouseStore
    from tracerail.evidence import CheckpointReport

audit_app = typer.Typer(help="Search the audit log, check the ledger.", no_args_is_help=True)


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
    keys: common.KeysOpt = None,
    checkpoint_dir: common.CheckpointDirOpt = None,
    storage: common.StorageOpt = None,
    database: common.DatabaseOpt = None,
) -> None:
    """Recompute row hashes, Merkle roots and the hash chain, check every signed checkpoint
    (signature, and that the chain still extends it); exit 1 on any break."""
    from tracerail.collector.checkpoints import verify_checkpoints
    from tracerail.collector.store.ledger import verify

    settings = common.settings_of(storage=storage, database=database, checkpoint_dir=checkpoint_dir)
    with common.opened_store(settings, migrate=False) as store:
        report = verify(store, project=project, start=common.utc(from_), end=common.utc(to))
        anchored = expect_head is None or _anchored(store, project, expect_head)
        signed, notes = verify_checkpoints(store, settings, project=project, keys=keys)
    if as_json:
        body = {
            **report.as_dict(),
            "expected_head_found": anchored,
            "checkpoints": {**signed.as_dict(), "notes": notes},
        }
        typer.echo(json.dumps(body, indent=2))
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
        _echo_checkpoints(signed, notes)
    if not report.ok or not anchored or not signed.ok:
        raise typer.Exit(1)
    if not as_json:
        typer.echo("ledger verified")


def _anchored(store: ClickHouseStore, project: str | None, chain_hash: str) -> bool:
    rows = store.query(
        f"SELECT count() AS n FROM {store.table('ledger_batches')} "
        "WHERE chain_hash = {hash:String} "
        "AND ({project:String} = '' OR project = {project:String})",
        {"hash": chain_hash.strip().lower(), "project": project or ""},
    )
    return bool(rows[0]["n"])


def _echo_checkpoints(report: CheckpointReport, notes: list[str]) -> None:
    typer.echo(f"checked {report.checked} signed checkpoint(s)")
    for note in notes:
        typer.echo(f"note: {note}")
    for problem in report.problems:
        typer.echo(f"TAMPERED: {problem}")


@audit_app.command("search")
def audit_search(
    from_: common.FromOpt = None,
    to: common.ToOpt = None,
    project: common.KeyProjectOpt = None,
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
    output: common.OutputOpt = None,
    endpoint: common.EndpointOpt = DEFAULT_ENDPOINT,
    api_key: common.ApiKeyOpt = None,
) -> None:
    """Search the audit log: generations, blocked requests, guardrail decisions and scores."""
    common.check_choice(output_format, ("table", "csv", "jsonl"), "--format")
    params: dict[str, Any] = {
        "from": common.parse_when(from_),
        "to": common.parse_when(to, end=True),
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
    with common.exit_on(common.ApiFailure, prefix="tracerail"), ExitStack() as stack:
        if output_format == "table":
            audit_output.table(endpoint, params, api_key, limit)
            return
        out: IO[str] = (
            stack.enter_context(output.open("w", encoding="utf-8", newline=""))
            if output is not None
            else sys.stdout
        )
        show_progress = output is not None or sys.stderr.isatty()
        rows = audit_output.export(endpoint, params, api_key, output_format, out, show_progress)
    if output is not None:
        typer.echo(f"wrote {rows} events to {output}", err=True)


@audit_app.command("checkpoint")
def audit_checkpoint(
    key_file: Annotated[
        Path | None,
        typer.Option("--key-file", help="Ed25519 PEM key (env TRACERAIL_CHECKPOINT_KEY_FILE)."),
    ] = None,
    checkpoint_dir: common.CheckpointDirOpt = None,
    endpoint: Annotated[
        str | None,
        typer.Option(
            "--endpoint",
            help="Ask this running collector to sign its key's project (an embedded collector "
            "holds its data, so this is the way while it runs).",
        ),
    ] = None,
    api_key: Annotated[
        str | None, typer.Option("--api-key", envvar="TRACERAIL_API_KEY", help="An admin key.")
    ] = None,
    tsa_url: Annotated[
        str | None,
        typer.Option(
            "--tsa-url",
            help="Also time-stamp each checkpoint at this RFC 3161 authority (env "
            "TRACERAIL_TSA_URL); exit 3 when a time-stamp fails (the checkpoint is kept).",
        ),
    ] = None,
    storage: common.StorageOpt = None,
    database: common.DatabaseOpt = None,
) -> None:
    """Sign every project's chain head now; store it and append it to the checkpoint directory
    (and time-stamp it, with a TSA)."""
    if endpoint is not None:
        _checkpoint_remote(endpoint, api_key)
        return
    from tracerail.collector.checkpoints import (
        DirectorySink,
        checkpoint_and_stamp,
        load_signer,
        tsa_client,
    )
    from tracerail.errors import ConfigError

    settings = common.settings_of(
        storage=storage,
        database=database,
        checkpoint_dir=checkpoint_dir,
        checkpoint_key_file=key_file,
        tsa_url=tsa_url,
    )
    try:
        signer, tsa = load_signer(settings), tsa_client(settings)
    except ConfigError as exc:
        raise typer.BadParameter(str(exc)) from None
    if signer is None:
        raise typer.BadParameter(
            "no signing key: give --key-file, or set TRACERAIL_CHECKPOINT_KEY_FILE or "
            "TRACERAIL_CHECKPOINT_KEY (`tracerail audit keygen` makes one)"
        )
    with common.opened_store(settings) as store:
        sink = DirectorySink(settings.checkpoint_path())
        done, stamped = checkpoint_and_stamp(store, signer, sink, tsa=tsa)
    for cp in done:
        typer.echo(f"signed {cp.project} batch {cp.seq} {cp.chain_hash} with key {cp.key_id}")
    typer.echo(f"{len(done)} checkpoint(s) written to {sink.root}")
    _echo_stamps([stamp.as_dict() for stamp in stamped])


def _echo_stamps(stamps: list[dict[str, Any]]) -> None:
    """Each time-stamp's genTime or failure; exit 3 when one failed."""
    from tracerail.collector.timestamping import stamp_lines

    for line in stamp_lines(stamps):
        typer.echo(line)
    if any(not stamp["ok"] for stamp in stamps):
        raise typer.Exit(3)


def _checkpoint_remote(endpoint: str, api_key: str | None) -> None:
    with (
        common.exit_on(common.ApiFailure, prefix="cannot sign"),
        common.call_api(
            endpoint, "/api/v1/audit/checkpoint", {}, api_key, body={}, timeout=30
        ) as answer,
    ):
        body = json.load(answer)
    for cp in body["checkpoints"]:
        typer.echo(
            f"signed {cp['project']} batch {cp['seq']} {cp['chain_hash']} with key {cp['key_id']}"
        )
    typer.echo(f"{len(body['checkpoints'])} checkpoint(s) written by {endpoint}")
    _echo_stamps(body.get("timestamps", []))


@audit_app.command("keygen")
def audit_keygen(
    out: Annotated[Path, typer.Option("--out", "-o", help="Where to write the private key.")],
) -> None:
    """Make an Ed25519 signing key (PEM, mode 0600); print its id and public key."""
    import base64
    import os

    from tracerail.collector.checkpoints import Ed25519Signer

    signer = Ed25519Signer.generate()
    try:
        fd = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        raise typer.BadParameter(f"{out} exists; a key is never overwritten") from None
    with os.fdopen(fd, "wb") as handle:
        handle.write(signer.pem())
    public_key = base64.b64encode(signer.public_key).decode("ascii")
    typer.echo(
        json.dumps(
            {"key_id": signer.key_id, "public_key": public_key, "private_key_file": str(out)}
        )
    )


@audit_app.command("export-pack")
def audit_export_pack(
    project: Annotated[str, typer.Option("--project", help="Project name.")],
    from_: Annotated[
        str | None,
        typer.Option("--from", help="Start (ISO date or time, UTC; default 30 days ago)."),
    ] = None,
    to: Annotated[
        str | None, typer.Option("--to", help="End (ISO date or time, UTC; default now).")
    ] = None,
    out: Annotated[Path, typer.Option("--out", "-o", help="The zip to write.")] = Path(
        "evidence-pack.zip"
    ),
    keys: common.KeysOpt = None,
    checkpoint_dir: common.CheckpointDirOpt = None,
    storage: common.StorageOpt = None,
    database: common.DatabaseOpt = None,
) -> None:
    """Write an evidence pack: ledger rows, a Merkle proof per row, batch headers, the signed
    checkpoints and keys, and the compliance report of the period (verify it with verify-pack)."""
    from tracerail.collector.evidence_pack import PackError, export_pack
    from tracerail.errors import ConfigError
    from tracerail.evidence.cli import ProgressBar

    settings = common.settings_of(storage=storage, database=database, checkpoint_dir=checkpoint_dir)
    end = common.parse_moment(to, end=True) or datetime.now(UTC)
    start = common.parse_moment(from_) or end - timedelta(days=30)
    if start >= end:
        raise typer.BadParameter("--from must be before --to")
    with (
        common.exit_on(PackError, ConfigError, prefix="cannot export"),
        common.opened_store(settings, migrate=False) as store,
    ):
        manifest = export_pack(
            store, settings, project, start, end, out, keys=keys, progress=ProgressBar()
        )
    typer.echo(
        f"wrote {out}: {manifest['rows']} rows, {manifest['batches']} batches "
        f"({manifest['first_seq']}..{manifest['last_seq']}), "
        f"{manifest['checkpoints']} checkpoint(s)"
    )


@audit_app.command(
    "verify-pack",
    # Its arguments, --help included, go to tracerail.evidence.cli, the one definition: the
    # `tracerail` entry point runs that directly, so an auditor needs no collector install.
    context_settings={"allow_extra_args": True, "ignore_unknown_options": True},
    add_help_option=False,
)
def audit_verify_pack(ctx: typer.Context) -> None:
    """Check an evidence pack offline (needs only the tracerail package): every proof, link and
    signature, and the report's figures recomputed from the rows; exit 1 naming each edit."""
    from tracerail.evidence.cli import main

    raise typer.Exit(main(ctx.args))

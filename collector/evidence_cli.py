"""``tracerail audit checkpoint | keygen | export-pack | verify-pack``: signed checkpoints and
evidence packs (docs/provenance-and-audit.md)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated, Any

import typer

from tracerail.collector.settings import Settings
from tracerail.evidence import CheckpointReport

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
        help="Append-only checkpoint directory [env TRACERAIL_CHECKPOINT_DIR].",
    ),
]
_StorageOpt = Annotated[
    str | None,
    typer.Option("--storage", help="chdb:///path or http(s)://host:8123 [env TRACERAIL_STORAGE]."),
]
_DatabaseOpt = Annotated[
    str | None, typer.Option("--database", help="Database name [env TRACERAIL_DATABASE].")
]


def settings_of(**overrides: Any) -> Settings:
    return Settings(**{k: v for k, v in overrides.items() if v is not None})


def echo_checkpoints(report: CheckpointReport, notes: list[str]) -> None:
    typer.echo(f"checked {report.checked} signed checkpoint(s)")
    for note in notes:
        typer.echo(f"note: {note}")
    for problem in report.problems:
        typer.echo(f"TAMPERED: {problem}")


def audit_checkpoint(
    key_file: Annotated[
        Path | None,
        typer.Option("--key-file", help="Ed25519 PEM key [env TRACERAIL_CHECKPOINT_KEY_FILE]."),
    ] = None,
    checkpoint_dir: CheckpointDirOpt = None,
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
    storage: _StorageOpt = None,
    database: _DatabaseOpt = None,
) -> None:
    """Sign every project's chain head now; store it and append it to the checkpoint directory."""
    if endpoint is not None:
        _checkpoint_remote(endpoint, api_key)
        return
    from tracerail.collector.checkpoints import DirectorySink, checkpoint_now, load_signer
    from tracerail.collector.store.clickhouse import ClickHouseStore
    from tracerail.errors import ConfigError

    settings = settings_of(
        storage=storage,
        database=database,
        checkpoint_dir=checkpoint_dir,
        checkpoint_key_file=key_file,
    )
    try:
        signer = load_signer(settings)
    except ConfigError as exc:
        raise typer.BadParameter(str(exc)) from None
    if signer is None:
        raise typer.BadParameter(
            "no signing key: give --key-file, or set TRACERAIL_CHECKPOINT_KEY_FILE or "
            "TRACERAIL_CHECKPOINT_KEY (`tracerail audit keygen` makes one)"
        )
    store = ClickHouseStore(settings.storage, settings.database)
    try:
        store.migrate()
        sink = DirectorySink(settings.checkpoint_path())
        done = checkpoint_now(store, signer, sink)
    finally:
        store.close()
    for cp in done:
        typer.echo(f"signed {cp.project} batch {cp.seq} {cp.chain_hash} with key {cp.key_id}")
    typer.echo(f"{len(done)} checkpoint(s) written to {sink.root}")


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
    typer.echo(
        json.dumps(
            {
                "key_id": signer.key_id,
                "public_key": base64.b64encode(signer.public_key).decode("ascii"),
                "private_key_file": str(out),
            }
        )
    )


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
    keys: KeysOpt = None,
    checkpoint_dir: CheckpointDirOpt = None,
    storage: _StorageOpt = None,
    database: _DatabaseOpt = None,
) -> None:
    """Write an evidence pack: ledger rows, a Merkle proof per row, batch headers, the signed
    checkpoints and keys, and the compliance report of the period (verify it with verify-pack)."""
    from tracerail.collector.evidence_pack import PackError, export_pack
    from tracerail.collector.report_cli import parse_when
    from tracerail.collector.store.clickhouse import ClickHouseStore
    from tracerail.errors import ConfigError
    from tracerail.evidence.cli import ProgressBar

    settings = settings_of(storage=storage, database=database, checkpoint_dir=checkpoint_dir)
    end = _when(parse_when(to, end=True)) or datetime.now(UTC)
    start = _when(parse_when(from_)) or end - timedelta(days=30)
    if start >= end:
        raise typer.BadParameter("--from must be before --to")
    store = ClickHouseStore(settings.storage, settings.database)
    try:
        manifest = export_pack(
            store, settings, project, start, end, out, keys=keys, progress=ProgressBar()
        )
    except (PackError, ConfigError) as exc:
        typer.echo(f"cannot export: {exc}", err=True)
        raise typer.Exit(2) from None
    finally:
        store.close()
    typer.echo(
        f"wrote {out}: {manifest['rows']} rows, {manifest['batches']} batches "
        f"({manifest['first_seq']}..{manifest['last_seq']}), "
        f"{manifest['checkpoints']} checkpoint(s)"
    )


def _when(value: str | None) -> datetime | None:
    if value is None:
        return None
    moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def audit_verify_pack(
    pack: Annotated[Path, typer.Argument(help="The evidence pack (zip).")],
    keys: Annotated[
        Path | None,
        typer.Option(
            "--keys", help="Key ring got from the operator separately (default: the pack's)."
        ),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
    quiet: Annotated[bool, typer.Option("--quiet", help="No progress bar.")] = False,
) -> None:
    """Check an evidence pack offline (needs only the tracerail package): every proof, link and
    signature, and the report's figures recomputed from the rows; exit 1 naming each edit."""
    from tracerail.evidence.cli import main

    args = [str(pack), *(["--keys", str(keys)] if keys else []), *(["--json"] if as_json else [])]
    raise typer.Exit(main([*args, *(["--quiet"] if quiet else [])]))


def _checkpoint_remote(endpoint: str, api_key: str | None) -> None:
    from tracerail.http import CollectorHTTPError, request

    try:
        with request(endpoint, "/api/v1/audit/checkpoint", body={}, api_key=api_key) as answer:
            body = json.load(answer)
    except CollectorHTTPError as exc:
        typer.echo(f"cannot sign: {exc}", err=True)
        raise typer.Exit(2) from None
    for cp in body["checkpoints"]:
        typer.echo(
            f"signed {cp['project']} batch {cp['seq']} {cp['chain_hash']} with key {cp['key_id']}"
        )
    typer.echo(f"{len(body['checkpoints'])} checkpoint(s) written by {endpoint}")

"""``tracerail audit checkpoint | keygen | export-pack | verify-pack``: signed checkpoints and
evidence packs (docs/provenance-and-audit.md)."""

from __future__ import annotations

import json
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
    storage: _StorageOpt = None,
    database: _DatabaseOpt = None,
) -> None:
    """Sign every project's chain head now; store it and append it to the checkpoint directory."""
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

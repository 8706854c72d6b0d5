"""Signing ledger checkpoints: the signer, the append-only directory sink, and the schedule.

A checkpoint is a signed statement of a project's chain head (``tracerail.evidence``). It is
stored in ``ledger_checkpoints`` and appended to a sink outside the database; `audit verify`
then notices a chain that was rebuilt or rolled back after it was signed, which the hash chain
alone cannot (whoever can write the database can recompute every hash).

The key lives outside the database: a PEM file or the ``TRACERAIL_CHECKPOINT_KEY`` variable,
behind :class:`Signer` so a KMS can take its place.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import json
import logging
import os
import threading
import time
import urllib.parse
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Final, Protocol

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from tracerail.collector.settings import Settings
from tracerail.collector.store import checkpoints as stored
from tracerail.collector.store.clickhouse import ClickHouseStore
from tracerail.collector.store.ledger import read_head
from tracerail.collector.timestamping import (
    Stamped,
    TsaClient,
    check_sink_tokens,
    timestamp_checkpoints,
)
from tracerail.errors import ConfigError
from tracerail.evidence import (
    UNKNOWN_KEY,
    Checkpoint,
    CheckpointProblem,
    CheckpointReport,
    KeyRing,
    check_checkpoints,
    key_id_of,
)
from tracerail.evidence.checkpoint import MALFORMED

logger = logging.getLogger("tracerail.collector")

KEYRING_FILE: Final = "keys.json"
TOKEN_SUFFIX: Final = ".tsr"


class Signer(Protocol):
    """What signs checkpoints: an id, the public key, and ``sign``. A KMS fits here."""

    @property
    def key_id(self) -> str: ...

    @property
    def public_key(self) -> bytes: ...

    def sign(self, message: bytes) -> bytes: ...


class Ed25519Signer:
    """An Ed25519 private key held in memory."""

    def __init__(self, private_key: Ed25519PrivateKey) -> None:
        self._key = private_key
        self.public_key = private_key.public_key().public_bytes(
            serialization.Encoding.Raw, serialization.PublicFormat.Raw
        )
        self.key_id = key_id_of(self.public_key)

    @classmethod
    def generate(cls) -> Ed25519Signer:
        return cls(Ed25519PrivateKey.generate())

    @classmethod
    def from_text(cls, text: str) -> Ed25519Signer:
        """PEM (PKCS#8, unencrypted) or base64 of the 32-byte private seed."""
        try:
            if "-----BEGIN" in text:
                key = serialization.load_pem_private_key(text.encode(), password=None)
                if not isinstance(key, Ed25519PrivateKey):
                    raise ConfigError("checkpoint_key", "the checkpoint key is not an Ed25519 key")
                return cls(key)
            seed = base64.b64decode(text.strip(), validate=True)
            return cls(Ed25519PrivateKey.from_private_bytes(seed))
        except (ValueError, TypeError, binascii.Error) as exc:
            raise ConfigError("checkpoint_key", f"cannot read the signing key: {exc}") from None

    def seed(self) -> bytes:
        """The 32-byte private seed (what ``TRACERAIL_CHECKPOINT_KEY`` holds, base64)."""
        return self._key.private_bytes(
            serialization.Encoding.Raw,
            serialization.PrivateFormat.Raw,
            serialization.NoEncryption(),
        )

    def pem(self) -> bytes:
        return self._key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )

    def sign(self, message: bytes) -> bytes:
        return self._key.sign(message)


def load_signer(settings: Settings) -> Ed25519Signer | None:
    """The configured signer (key file first, then the variable); None when neither is set."""
    if settings.checkpoint_key_file is not None:
        try:
            text = settings.checkpoint_key_file.read_text(encoding="utf-8")
        except OSError as exc:
            raise ConfigError("checkpoint_key_file", f"cannot read it: {exc}") from None
        return Ed25519Signer.from_text(text)
    if settings.checkpoint_key is not None:
        return Ed25519Signer.from_text(settings.checkpoint_key.get_secret_value())
    return None


class DirectorySink:
    """Checkpoints as files in an append-only directory: one file each, created exclusively
    (never overwritten), ``<project>/<signed_at_ns>-<seq>.json``; and ``keys.json``, the key
    ring of every key that signed here, each for its own period."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def _dir(self, project: str) -> Path:
        return self.root / urllib.parse.quote(project, safe="")

    def path_of(self, checkpoint: Checkpoint) -> Path:
        """Where ``checkpoint`` is (or would be) written."""
        name = f"{checkpoint.signed_at_ns:020d}-{checkpoint.seq:012d}.json"
        return self._dir(checkpoint.project) / name

    def token_path(self, checkpoint: Checkpoint) -> Path:
        """Where its RFC 3161 time-stamp token (DER) is written: beside it, ``.tsr``."""
        return self.path_of(checkpoint).with_suffix(TOKEN_SUFFIX)

    def append(self, checkpoint: Checkpoint) -> Path:
        path = self.path_of(checkpoint)
        path.parent.mkdir(parents=True, exist_ok=True)
        _write_once(path, (json.dumps(checkpoint.as_dict(), sort_keys=True) + "\n").encode())
        return path

    def write_token(self, checkpoint: Checkpoint, token: bytes) -> Path:
        """Store ``checkpoint``'s time-stamp token beside it (created once, never replaced)."""
        path = self.token_path(checkpoint)
        path.parent.mkdir(parents=True, exist_ok=True)
        _write_once(path, token)
        return path

    def token_of(self, checkpoint: Checkpoint) -> bytes | None:
        """``checkpoint``'s stored time-stamp token, None when it has none."""
        try:
            return self.token_path(checkpoint).read_bytes()
        except FileNotFoundError:
            return None

    def read(self) -> Iterator[tuple[Path, Checkpoint | str]]:
        """Every checkpoint file, parsed, or the reason it cannot be."""
        if not self.root.is_dir():
            return
        for path in sorted(self.root.glob("*/*.json")):
            try:
                yield path, Checkpoint.from_dict(json.loads(path.read_text(encoding="utf-8")))
            except (OSError, ValueError) as exc:
                yield path, str(exc)

    @property
    def keyring_path(self) -> Path:
        return self.root / KEYRING_FILE

    def ensure_key(self, public_key: bytes, at_ns: int) -> None:
        """Add ``public_key`` to ``keys.json`` from ``at_ns`` on, closing the previous key."""
        path = self.keyring_path
        ring = KeyRing.load(path) if path.exists() else KeyRing()
        updated = ring.with_key(public_key, at_ns)
        if updated is ring:
            return
        self.root.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(updated.as_dict(), indent=2) + "\n", encoding="utf-8")
        tmp.replace(path)


def _write_once(path: Path, data: bytes) -> None:
    """Create ``path`` read-only with ``data``; never overwrite (FileExistsError)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o444)
    with os.fdopen(fd, "wb") as out:
        out.write(data)
        out.flush()
        os.fsync(out.fileno())


def checkpoint_now(
    store: ClickHouseStore,
    signer: Signer,
    sink: DirectorySink,
    projects: Sequence[str] | None = None,
) -> list[Checkpoint]:
    """Sign the current chain head of ``projects`` (default: every project with a ledger);
    append each checkpoint to the sink first, then store it."""
    signed: list[Checkpoint] = []
    for project in stored.ledger_projects(store) if projects is None else projects:
        head = read_head(store, project)
        if head.seq == 0:
            continue
        now = time.time_ns()
        sink.ensure_key(signer.public_key, now)
        unsigned = Checkpoint(
            project,
            head.seq,
            head.chain_hash,
            head.batch_id,
            head.created_at_ns,
            now,
            signer.key_id,
        )
        signature = base64.b64encode(signer.sign(unsigned.statement())).decode("ascii")
        checkpoint = dataclasses.replace(unsigned, signature=signature)
        sink.append(checkpoint)
        stored.insert(store, checkpoint)
        signed.append(checkpoint)
    return signed


def tsa_client(settings: Settings) -> TsaClient | None:
    """The configured time-stamping authority (``tsa_url``), None when there is none."""
    return TsaClient(settings.tsa_url) if settings.tsa_url else None


def checkpoint_and_stamp(
    store: ClickHouseStore,
    signer: Signer,
    sink: DirectorySink,
    projects: Sequence[str] | None = None,
    *,
    tsa: TsaClient | None = None,
) -> tuple[list[Checkpoint], list[Stamped]]:
    """:func:`checkpoint_now`, then (with a TSA) time-stamp each new checkpoint; a TSA
    failure is in the returned outcomes, the checkpoints are signed and stored regardless."""
    signed = checkpoint_now(store, signer, sink, projects)
    return signed, [] if tsa is None else timestamp_checkpoints(tsa, sink, signed)


class Checkpointer:
    """Signs every project's head every ``interval`` seconds on a daemon thread."""

    def __init__(
        self,
        store: ClickHouseStore,
        signer: Signer,
        sink: DirectorySink,
        interval: float,
        tsa: TsaClient | None = None,
    ) -> None:
        self.store, self.signer, self.sink, self.interval = store, signer, sink, interval
        self.tsa = tsa
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="tracerail-checkpoints", daemon=True)

    @classmethod
    def from_settings(cls, store: ClickHouseStore, settings: Settings) -> Checkpointer | None:
        """None when no key is configured or the interval is 0 (logged, not an error)."""
        if settings.checkpoint_interval_seconds <= 0:
            return None
        signer = load_signer(settings)
        if signer is None:
            logger.warning(
                "ledger checkpoints are off: no signing key (set TRACERAIL_CHECKPOINT_KEY_FILE "
                "or TRACERAIL_CHECKPOINT_KEY; `tracerail audit keygen` makes one)"
            )
            return None
        sink = DirectorySink(settings.checkpoint_path())
        return cls(store, signer, sink, settings.checkpoint_interval_seconds, tsa_client(settings))

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=30)

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                done, stamped = checkpoint_and_stamp(
                    self.store, self.signer, self.sink, tsa=self.tsa
                )
                logger.info(
                    "signed %d ledger checkpoint(s), %d time-stamped",
                    len(done),
                    sum(s.info is not None for s in stamped),
                )
            except Exception:
                logger.exception("signing ledger checkpoints failed; retrying next interval")


def verify_checkpoints(
    store: ClickHouseStore,
    settings: Settings,
    *,
    project: str | None = None,
    keys: Path | None = None,
) -> tuple[CheckpointReport, list[str]]:
    """Check the checkpoints of the table and of the sink (their union) against the key ring
    (``keys``, else ``checkpoint_public_keys``, else the sink's ``keys.json``) and the chain.

    Returns the report and notes: checkpoints found in one place only (the sink is written
    first, so a checkpoint only in the table was not written by this collector's sink).
    """
    sink = DirectorySink(settings.checkpoint_path())
    found: dict[tuple[str, int, int, str], Checkpoint] = {}
    notes: list[str] = []
    report = CheckpointReport()
    in_sink: set[tuple[str, int, int, str]] = set()
    for path, item in sink.read():
        if isinstance(item, str):
            report.problems.append(CheckpointProblem(MALFORMED, "?", 0, "?", f"{path}: {item}"))
            continue
        if project is None or item.project == project:
            found[item.identity] = item
            in_sink.add(item.identity)
    in_table = {cp.identity: cp for cp in stored.read(store, project)}
    for identity, cp in in_table.items():
        if identity not in found:
            notes.append(
                f"checkpoint of {cp.project} batch {cp.seq} is not in the sink {sink.root}"
            )
            found[identity] = cp
    notes.extend(
        f"checkpoint of {i[0]} batch {i[1]} is in the sink but not in the database"
        for i in sorted(in_sink - in_table.keys())
    )
    if not found:
        return report, notes
    ring_path = keys or settings.checkpoint_public_keys or sink.keyring_path
    try:
        ring = KeyRing.load(ring_path)
    except ConfigError as exc:
        report.problems.append(CheckpointProblem(UNKNOWN_KEY, "*", 0, "*", str(exc)))
        return report, notes
    chain, heads = stored.chain_at(store, found.values())
    checked = check_checkpoints(found.values(), ring, chain, heads)
    checked.problems[:0] = report.problems
    check_sink_tokens(sink, found.values(), checked, notes)
    return checked, notes

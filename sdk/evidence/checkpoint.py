"""Signed checkpoints of a project's ledger chain head, the public keys that check them, and
the check that a chain still extends every checkpoint.

A checkpoint says: "at ``signed_at``, batch ``seq`` of ``project`` had chain hash
``chain_hash``", signed with Ed25519 over its canonical JSON statement. Keys are identified
by the first 16 hex digits of SHA-256 of the raw public key, and each is valid for its own
period (rotation: a new key's period starts where the old one's ends).

Verifying needs ``cryptography`` (the ``[evidence]`` extra, also part of ``[collector]``),
imported only when a signature is checked.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final

from tracerail.errors import ConfigError
from tracerail.evidence.hashing import canonical, sha256_hex

CHECKPOINT_TYPE: Final = "tracerail.checkpoint/v1"
KEYRING_TYPE: Final = "tracerail.keyring/v1"

# What a failed check is called (reports and tests match these words).
BAD_SIGNATURE: Final = "bad signature"
UNKNOWN_KEY: Final = "unknown key"
KEY_NOT_VALID: Final = "key not valid when signed"
REBUILT: Final = "rebuilt"
ROLLED_BACK: Final = "rolled back"
MALFORMED: Final = "malformed checkpoint"


def key_id_of(public_key: bytes) -> str:
    """A public key's id: the first 16 hex digits of SHA-256 of its 32 raw bytes."""
    return sha256_hex(public_key)[:16]


def iso_ns(ns: int) -> str:
    return datetime.fromtimestamp(ns / 1e9, tz=UTC).isoformat().replace("+00:00", "Z")


def parse_ns(value: Any) -> int | None:
    """ISO-8601 (``Z`` or offset) or integer nanoseconds → nanoseconds; None stays None."""
    if value is None:
        return None
    if isinstance(value, int):
        return value
    moment = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return int(moment.timestamp()) * 1_000_000_000 + moment.microsecond * 1000


@dataclass(frozen=True, slots=True)
class Checkpoint:
    """One signed statement about a project's chain head."""

    project: str
    seq: int
    chain_hash: str
    batch_id: str
    batch_created_at_ns: int
    signed_at_ns: int
    key_id: str
    signature: str = ""  # base64 of the 64-byte Ed25519 signature

    def statement(self) -> bytes:
        """The exact bytes signed: canonical JSON of every field but the signature."""
        return canonical(
            {
                "type": CHECKPOINT_TYPE,
                "project": self.project,
                "seq": self.seq,
                "chain_hash": self.chain_hash,
                "batch_id": self.batch_id,
                "batch_created_at_ns": self.batch_created_at_ns,
                "signed_at_ns": self.signed_at_ns,
                "key_id": self.key_id,
            }
        ).encode("utf-8")

    def as_dict(self) -> dict[str, Any]:
        return {**json.loads(self.statement()), "signature": self.signature}

    def signed_bytes(self) -> bytes:
        """The signed checkpoint: canonical JSON of the statement and its signature (what an
        RFC 3161 time-stamp covers, so it shows the signature existed by then too)."""
        return canonical(self.as_dict()).encode("utf-8")

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Checkpoint:
        """Parse a stored checkpoint; ``ValueError`` naming the field when it is not one."""
        if data.get("type") != CHECKPOINT_TYPE:
            raise ValueError(f"type is {data.get('type')!r}, expected {CHECKPOINT_TYPE!r}")
        try:
            return cls(
                project=str(data["project"]),
                seq=int(data["seq"]),
                chain_hash=str(data["chain_hash"]),
                batch_id=str(data["batch_id"]),
                batch_created_at_ns=int(data["batch_created_at_ns"]),
                signed_at_ns=int(data["signed_at_ns"]),
                key_id=str(data["key_id"]),
                signature=str(data["signature"]),
            )
        except KeyError as exc:
            raise ValueError(f"checkpoint has no {exc.args[0]!r}") from None
        except (TypeError, ValueError) as exc:
            raise ValueError(f"checkpoint field has the wrong type: {exc}") from None

    @property
    def identity(self) -> tuple[str, int, int, str]:
        return (self.project, self.seq, self.signed_at_ns, self.key_id)


@dataclass(frozen=True, slots=True)
class PublicKey:
    """One verification key and the period it may sign in: ``[valid_from, valid_until)``.

    In a key ring file the period is ``valid_from_ns`` / ``valid_until_ns`` (exact), or, when
    those are absent (a ring written by hand), the ISO-8601 ``valid_from`` / ``valid_until``.
    """

    public_key: bytes
    valid_from_ns: int = 0
    valid_until_ns: int | None = None

    @property
    def key_id(self) -> str:
        return key_id_of(self.public_key)

    def valid_at(self, ns: int) -> bool:
        return self.valid_from_ns <= ns and (
            self.valid_until_ns is None or ns < self.valid_until_ns
        )

    def as_dict(self) -> dict[str, Any]:
        return {
            "key_id": self.key_id,
            "algorithm": "ed25519",
            "public_key": base64.b64encode(self.public_key).decode("ascii"),
            "valid_from": iso_ns(self.valid_from_ns),
            "valid_until": None if self.valid_until_ns is None else iso_ns(self.valid_until_ns),
            "valid_from_ns": self.valid_from_ns,
            "valid_until_ns": self.valid_until_ns,
        }


@dataclass(frozen=True)
class KeyRing:
    """The public keys a verifier trusts, each for its own period."""

    keys: tuple[PublicKey, ...] = ()

    def find(self, key_id: str) -> list[PublicKey]:
        return [k for k in self.keys if k.key_id == key_id]

    def with_key(self, public_key: bytes, at_ns: int) -> KeyRing:
        """This ring with ``public_key`` valid from ``at_ns`` on (open-ended), every other open
        key closed at ``at_ns`` (rotation). Unchanged when that key is already open."""
        if any(k.public_key == public_key and k.valid_until_ns is None for k in self.keys):
            return self
        closed = tuple(
            replace(k, valid_until_ns=at_ns) if k.valid_until_ns is None else k for k in self.keys
        )
        return KeyRing((*closed, PublicKey(public_key, at_ns, None)))

    def as_dict(self) -> dict[str, Any]:
        return {"type": KEYRING_TYPE, "keys": [k.as_dict() for k in self.keys]}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> KeyRing:
        try:
            keys = tuple(
                PublicKey(
                    base64.b64decode(entry["public_key"], validate=True),
                    parse_ns(entry.get("valid_from_ns", entry.get("valid_from"))) or 0,
                    parse_ns(entry.get("valid_until_ns", entry.get("valid_until"))),
                )
                for entry in data["keys"]
            )
        except (KeyError, TypeError, ValueError, binascii.Error) as exc:
            raise ConfigError("keys", f"not a tracerail key ring: {exc}") from None
        for key in keys:
            if len(key.public_key) != 32:
                raise ConfigError("keys", f"key {key.key_id}: an Ed25519 public key has 32 bytes")
        return cls(keys)

    @classmethod
    def load(cls, path: Path) -> KeyRing:
        try:
            return cls.from_dict(json.loads(path.read_text(encoding="utf-8")))
        except (OSError, ValueError) as exc:
            raise ConfigError("keys", f"cannot read the key ring {path}: {exc}") from None


def _ed25519_verify(public_key: bytes, signature: bytes, message: bytes) -> bool:
    try:
        from cryptography.exceptions import InvalidSignature
        from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
    except ImportError:
        raise ConfigError(
            "cryptography",
            "checking signatures needs the cryptography package: pip install 'tracerail[evidence]'",
        ) from None
    try:
        Ed25519PublicKey.from_public_bytes(public_key).verify(signature, message)
    except InvalidSignature:
        return False
    return True


def signature_problem(checkpoint: Checkpoint, ring: KeyRing) -> str | None:
    """Why ``checkpoint``'s signature does not hold under ``ring`` (None: it holds)."""
    candidates = ring.find(checkpoint.key_id)
    if not candidates:
        return f"{UNKNOWN_KEY}: {checkpoint.key_id} is not in the key ring"
    try:
        signature = base64.b64decode(checkpoint.signature, validate=True)
    except (binascii.Error, ValueError):
        return f"{BAD_SIGNATURE}: the signature is not base64"
    message = checkpoint.statement()
    if not any(_ed25519_verify(k.public_key, signature, message) for k in candidates):
        return f"{BAD_SIGNATURE}: the statement was changed or signed by another key"
    if not any(k.valid_at(checkpoint.signed_at_ns) for k in candidates):
        return (
            f"{KEY_NOT_VALID}: key {checkpoint.key_id} was not valid at "
            f"{iso_ns(checkpoint.signed_at_ns)}"
        )
    return None


@dataclass(frozen=True)
class CheckpointProblem:
    """A checkpoint that fails: its kind (one of the constants above) and the detail."""

    kind: str
    project: str
    seq: int
    signed_at: str
    detail: str

    def __str__(self) -> str:
        return (
            f"{self.kind.upper()}: project {self.project} checkpoint of batch {self.seq} "
            f"signed {self.signed_at}: {self.detail}"
        )


@dataclass
class CheckpointReport:
    """Signatures checked and whether the chain extends each checkpoint."""

    checked: int = 0
    problems: list[CheckpointProblem] = field(default_factory=list)
    # Checkpoints with a valid RFC 3161 token: project, seq, signed_at, gen_time, the TSA.
    timestamps: list[dict[str, Any]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def as_dict(self) -> dict[str, Any]:
        return {"ok": self.ok, **asdict(self)}


def check_checkpoints(
    checkpoints: Iterable[Checkpoint],
    ring: KeyRing,
    chain: Mapping[str, Mapping[int, str]],
    head_seq: Mapping[str, int],
) -> CheckpointReport:
    """Check every checkpoint's signature, then that the chain still extends it.

    ``chain[project][seq]`` is the chain hash the ledger has now at each checkpointed
    ``seq`` (missing when that batch is gone), ``head_seq[project]`` its latest batch. A
    checkpoint past the head means the chain was **rolled back** (batches removed from its
    end); a different hash at a signed ``seq`` means it was **rebuilt** (rewritten and
    re-hashed since it was signed).
    """
    report = CheckpointReport()
    for cp in sorted(checkpoints, key=lambda c: (c.project, c.seq, c.signed_at_ns)):
        report.checked += 1

        def problem(kind: str, detail: str, cp: Checkpoint = cp) -> None:
            report.problems.append(
                CheckpointProblem(kind, cp.project, cp.seq, iso_ns(cp.signed_at_ns), detail)
            )

        reason = signature_problem(cp, ring)
        if reason is not None:
            kind, _, detail = reason.partition(": ")
            problem(kind, detail)
            continue
        head = head_seq.get(cp.project, 0)
        current = chain.get(cp.project, {}).get(cp.seq)
        if cp.seq > head:
            problem(
                ROLLED_BACK,
                f"the chain ends at batch {head}, but batch {cp.seq} was signed "
                f"(hash {cp.chain_hash[:16]}…)",
            )
        elif current is None:
            problem(ROLLED_BACK, f"batch {cp.seq} is no longer in the chain")
        elif current != cp.chain_hash:
            problem(
                REBUILT,
                f"batch {cp.seq} now has chain hash {current[:16]}…, "
                f"the signed one is {cp.chain_hash[:16]}…",
            )
    return report

"""The RFC 3161 time-stamps in an evidence pack: how they are written and how they are checked.

``timestamps.jsonl`` holds one line per time-stamped checkpoint of the pack: the checkpoint's
identity (project, seq, signed_at_ns, key_id) and its token (base64 of the DER).
``tsa-certs.pem`` holds the certificates that signed them (PEM), for the record and for tokens
that do not carry their certificate.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from tracerail.evidence.checkpoint import Checkpoint, iso_ns
from tracerail.evidence.hashing import sha256_hex
from tracerail.evidence.timestamp import (
    TIMESTAMP_INVALID,
    TIMESTAMP_MISMATCH,
    TimestampError,
    check_token,
    token_certificates,
)


def token_line(checkpoint: Checkpoint, token: bytes) -> dict[str, Any]:
    """The ``timestamps.jsonl`` line of ``checkpoint``'s token."""
    return {
        "project": checkpoint.project,
        "seq": checkpoint.seq,
        "signed_at_ns": checkpoint.signed_at_ns,
        "key_id": checkpoint.key_id,
        "token": base64.b64encode(token).decode("ascii"),
    }


def certificates_pem(tokens: Iterable[bytes]) -> bytes:
    """The certificates the tokens carry, each once, as PEM."""
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization

    seen: dict[bytes, None] = {}
    for token in tokens:
        seen.update(dict.fromkeys(token_certificates(token)))
    return b"".join(
        x509.load_der_x509_certificate(der).public_bytes(serialization.Encoding.PEM) for der in seen
    )


def read_certificates(pem: bytes) -> list[bytes]:
    """DER of every certificate in ``pem`` (ValueError when it is not PEM certificates)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization

    if not pem.strip():
        return []
    return [
        cert.public_bytes(serialization.Encoding.DER)
        for cert in x509.load_pem_x509_certificates(pem)
    ]


@dataclass
class TimestampCheck:
    """Tokens that hold (what each attests) and the problems found, as (kind, detail)."""

    lines: int = 0
    stamped: list[dict[str, Any]] = field(default_factory=list)
    problems: list[tuple[str, str]] = field(default_factory=list)


def check_pack_timestamps(
    lines: Iterable[Mapping[str, Any]],
    pack_certificates: Sequence[bytes],
    checkpoints: Iterable[Checkpoint],
    trusted: Sequence[bytes] | None = None,
) -> TimestampCheck:
    """Check every token line against the pack's checkpoint it names: the imprint is the
    checkpoint's hash and the TSA's signature holds (by ``trusted`` certificates only, when
    given). Every certificate in the pack must have signed one of its tokens."""
    result = TimestampCheck()
    by_identity = {cp.identity: cp for cp in checkpoints}
    signers: set[str] = set()
    for line in lines:
        result.lines += 1
        try:
            identity = (
                str(line["project"]),
                int(line["seq"]),
                int(line["signed_at_ns"]),
                str(line["key_id"]),
            )
            token = base64.b64decode(str(line["token"]), validate=True)
        except (KeyError, TypeError, ValueError, binascii.Error) as exc:
            result.problems.append((TIMESTAMP_INVALID, f"a timestamps.jsonl line: {exc}"))
            continue
        where = f"checkpoint of batch {identity[1]} signed {iso_ns(identity[2])}"
        checkpoint = by_identity.get(identity)
        if checkpoint is None:
            result.problems.append((TIMESTAMP_MISMATCH, f"{where}: not in checkpoints.jsonl"))
            continue
        try:
            info = check_token(
                token, checkpoint.signed_bytes(), certificates=pack_certificates, trusted=trusted
            )
        except TimestampError as exc:
            result.problems.append((exc.kind, f"{where}: {exc.detail}"))
            continue
        signers.add(info.tsa_certificate_sha256)
        result.stamped.append({"seq": identity[1], "signed_at": iso_ns(identity[2])})
        result.stamped[-1].update(info.as_dict())
    for der in pack_certificates:
        if sha256_hex(der) not in signers:
            result.problems.append(
                (
                    TIMESTAMP_INVALID,
                    f"tsa-certs.pem: certificate sha256 {sha256_hex(der)[:16]}… signed no token",
                )
            )
    return result

"""Hashes of the audit ledger: canonical JSON, row hashes, Merkle trees, batch headers, chain.

Pure standard library, shared by the collector (which writes the ledger) and the offline
verifier (which must run without the collector extra).

* a **row** is canonical JSON (sorted keys, no spaces, UTF-8); its SHA-256 is the row hash;
* a **batch** is the Merkle root of its row hashes in order: leaves ``SHA-256(0x00 ‖ leaf)``,
  nodes ``SHA-256(0x01 ‖ left ‖ right)`` (RFC 6962's domain separation, so a leaf can never
  pass for a node), paired level by level, an odd last node moving up unchanged;
* the **chain**: ``chain_hash = SHA-256(prev_hash ‖ "\\n" ‖ canonical batch header)``.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any, Final

GENESIS: Final = "0" * 64

# One encoder: ``json.dumps`` with options builds a new encoder on every call (ingest hot path).
_canonical_encode = json.JSONEncoder(
    sort_keys=True, separators=(",", ":"), ensure_ascii=False
).encode


def canonical(value: object) -> str:
    """Canonical JSON: sorted keys, no insignificant space, non-ASCII kept as UTF-8."""
    return _canonical_encode(value)


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def row_hash(payload: str) -> str:
    """The hash of one ledger row: SHA-256 of its canonical JSON payload."""
    return sha256_hex(payload.encode("utf-8"))


def _leaf(leaf_hex: str) -> bytes:
    return hashlib.sha256(b"\x00" + bytes.fromhex(leaf_hex)).digest()


def _node(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


def _levels(leaves: Sequence[str]) -> list[list[bytes]]:
    level = [_leaf(leaf) for leaf in leaves]
    levels = [level]
    while len(level) > 1:
        paired = [_node(level[i], level[i + 1]) for i in range(0, len(level) - 1, 2)]
        if len(level) % 2:
            paired.append(level[-1])  # an odd node moves up unchanged
        level = paired
        levels.append(level)
    return levels


def merkle_root(leaves: Sequence[str]) -> str:
    """Merkle tree hash over hex leaf hashes, in order (empty → hash of nothing)."""
    if not leaves:
        return sha256_hex(b"")
    return _levels(leaves)[-1][0].hex()


def inclusion_proofs(leaves: Sequence[str]) -> list[list[str]]:
    """For every leaf, the sibling hashes (hex, bottom up) that lead from it to the root."""
    levels = _levels(leaves) if leaves else []
    proofs: list[list[str]] = []
    for index in range(len(leaves)):
        path: list[str] = []
        i = index
        for level in levels[:-1]:
            sibling = i ^ 1
            if sibling < len(level):
                path.append(level[sibling].hex())
            i //= 2
        proofs.append(path)
    return proofs


def root_from_proof(leaf: str, index: int, size: int, path: Sequence[str]) -> str | None:
    """The root that ``path`` leads to from ``leaf`` at ``index`` of ``size`` leaves.

    None when the path has the wrong length for that position (or is not hex).
    """
    if not 0 <= index < size:
        return None
    try:
        node = _leaf(leaf)
        steps = iter(path)
        i, width = index, size
        while width > 1:
            sibling = i ^ 1
            if sibling < width:
                other = bytes.fromhex(next(steps))
                node = _node(other, node) if i % 2 else _node(node, other)
            i, width = i // 2, (width + 1) // 2
        if next(steps, None) is not None:
            return None
    except (StopIteration, ValueError):
        return None
    return node.hex()


@dataclass(frozen=True, slots=True)
class BatchHeader:
    """What the chain hash covers for one batch."""

    project: str
    seq: int
    batch_id: str
    created_at_ns: int
    row_count: int
    merkle_root: str

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    def chain_hash(self, prev_hash: str) -> str:
        return sha256_hex(f"{prev_hash}\n{canonical(self.as_dict())}".encode())

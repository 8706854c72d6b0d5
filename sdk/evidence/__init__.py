"""Audit evidence a third party can check without the collector: ledger hashes, Merkle
inclusion proofs, signed checkpoints and evidence packs.

Standard library only, except signature checks, which import ``cryptography`` when first
needed (``pip install 'tracerail[evidence]'``). Never imports the collector or ClickHouse.
"""

from __future__ import annotations

from tracerail.evidence.checkpoint import (
    BAD_SIGNATURE,
    KEY_NOT_VALID,
    REBUILT,
    ROLLED_BACK,
    UNKNOWN_KEY,
    Checkpoint,
    CheckpointProblem,
    CheckpointReport,
    KeyRing,
    PublicKey,
    check_checkpoints,
    key_id_of,
    signature_problem,
)
from tracerail.evidence.hashing import (
    GENESIS,
    BatchHeader,
    canonical,
    inclusion_proofs,
    merkle_root,
    root_from_proof,
    row_hash,
)

__all__ = [
    "BAD_SIGNATURE",
    "GENESIS",
    "KEY_NOT_VALID",
    "REBUILT",
    "ROLLED_BACK",
    "UNKNOWN_KEY",
    "BatchHeader",
    "Checkpoint",
    "CheckpointProblem",
    "CheckpointReport",
    "KeyRing",
    "PublicKey",
    "canonical",
    "check_checkpoints",
    "inclusion_proofs",
    "key_id_of",
    "merkle_root",
    "root_from_proof",
    "row_hash",
    "signature_problem",
]

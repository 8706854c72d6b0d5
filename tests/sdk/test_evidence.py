"""tracerail.evidence: Merkle inclusion proofs, checkpoint signatures, key periods, and the
check that a chain still extends each checkpoint (pure, no collector)."""

from __future__ import annotations

import base64
import dataclasses
import time

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from tracerail import evidence

HOUR = 3600 * 10**9


def _raw(key: Ed25519PrivateKey) -> bytes:
    return key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def _signed(
    key: Ed25519PrivateKey, *, seq: int = 3, chain: str = "a" * 64, at: int
) -> evidence.Checkpoint:
    cp = evidence.Checkpoint("p1", seq, chain, "b1", at - HOUR, at, evidence.key_id_of(_raw(key)))
    return dataclasses.replace(cp, signature=base64.b64encode(key.sign(cp.statement())).decode())


@pytest.mark.parametrize("size", [1, 2, 3, 4, 5, 7, 8, 9, 16, 17])
def test_every_leaf_proves_into_the_root(size: int) -> None:
    leaves = [evidence.row_hash(str(i)) for i in range(size)]
    root = evidence.merkle_root(leaves)
    proofs = evidence.inclusion_proofs(leaves)
    for index, (leaf, path) in enumerate(zip(leaves, proofs, strict=True)):
        assert evidence.root_from_proof(leaf, index, size, path) == root


def test_a_proof_fails_for_another_leaf_position_or_sibling() -> None:
    leaves = [evidence.row_hash(str(i)) for i in range(6)]
    root = evidence.merkle_root(leaves)
    path = evidence.inclusion_proofs(leaves)[2]
    assert evidence.root_from_proof(leaves[3], 2, 6, path) != root
    assert evidence.root_from_proof(leaves[2], 3, 6, path) != root
    assert evidence.root_from_proof(leaves[2], 2, 6, ["0" * 64, *path[1:]]) != root
    assert evidence.root_from_proof(leaves[2], 2, 6, path[:-1]) is None  # too short
    assert evidence.root_from_proof(leaves[2], 2, 6, [*path, "0" * 64]) is None  # too long


def test_signed_checkpoint_verifies_and_an_edit_breaks_the_signature() -> None:
    key = Ed25519PrivateKey.generate()
    now = time.time_ns()
    ring = evidence.KeyRing().with_key(_raw(key), now - HOUR)
    cp = _signed(key, at=now)
    assert evidence.signature_problem(cp, ring) is None
    edited = dataclasses.replace(cp, chain_hash="c" * 64)
    assert (evidence.signature_problem(edited, ring) or "").startswith(evidence.BAD_SIGNATURE)
    unknown = evidence.signature_problem(cp, evidence.KeyRing())
    assert (unknown or "").startswith(evidence.UNKNOWN_KEY)


def test_rotation_closes_the_old_key_and_each_key_holds_only_in_its_period() -> None:
    old, new = Ed25519PrivateKey.generate(), Ed25519PrivateKey.generate()
    now = time.time_ns()
    ring = evidence.KeyRing().with_key(_raw(old), now - 3 * HOUR).with_key(_raw(new), now - HOUR)
    assert [k.valid_until_ns for k in ring.keys] == [now - HOUR, None]
    assert ring.with_key(_raw(new), now) is ring  # already the open key
    assert evidence.signature_problem(_signed(old, at=now - 2 * HOUR), ring) is None
    assert evidence.signature_problem(_signed(new, at=now), ring) is None
    # the old key after it was retired
    late = evidence.signature_problem(_signed(old, at=now), ring)
    assert (late or "").startswith(evidence.KEY_NOT_VALID)
    assert evidence.KeyRing.from_dict(ring.as_dict()) == ring


def test_chain_that_moved_on_passes_rebuilt_and_rolled_back_are_named() -> None:
    key = Ed25519PrivateKey.generate()
    now = time.time_ns()
    ring = evidence.KeyRing().with_key(_raw(key), now - HOUR)
    cp = _signed(key, seq=3, chain="a" * 64, at=now)
    assert evidence.check_checkpoints([cp], ring, {"p1": {3: "a" * 64}}, {"p1": 5}).ok
    rebuilt = evidence.check_checkpoints([cp], ring, {"p1": {3: "d" * 64}}, {"p1": 5})
    assert [p.kind for p in rebuilt.problems] == [evidence.REBUILT]
    rolled = evidence.check_checkpoints([cp], ring, {"p1": {}}, {"p1": 2})
    assert [p.kind for p in rolled.problems] == [evidence.ROLLED_BACK]
    assert "the chain ends at batch 2" in str(rolled.problems[0])


def test_checkpoint_parse_names_the_missing_field() -> None:
    key = Ed25519PrivateKey.generate()
    data = _signed(key, at=time.time_ns()).as_dict()
    assert evidence.Checkpoint.from_dict(data).as_dict() == data
    del data["chain_hash"]
    with pytest.raises(ValueError, match="chain_hash"):
        evidence.Checkpoint.from_dict(data)


def test_progress_bar_draws_on_large_packs_only(capsys: pytest.CaptureFixture[str]) -> None:
    from tracerail.evidence.cli import PROGRESS_FROM_ROWS, ProgressBar

    ProgressBar()(10, 100)
    assert capsys.readouterr().err == ""
    bar = ProgressBar(width=10)
    bar(PROGRESS_FROM_ROWS // 2, PROGRESS_FROM_ROWS)
    bar(PROGRESS_FROM_ROWS, PROGRESS_FROM_ROWS)
    err = capsys.readouterr().err
    assert "[#####.....]  50% 25,000/50,000 rows" in err
    assert err.endswith("[##########] 100% 50,000/50,000 rows\n")

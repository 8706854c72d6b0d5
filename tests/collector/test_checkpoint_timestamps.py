"""RFC 3161 time-stamps of signed checkpoints, against a real time-stamping authority on
127.0.0.1 (tests/support/tsa.py) and against OpenSSL's own TSA and verifier: tokens are
requested over HTTP, checked, stored beside the checkpoint, and checked again by `audit
verify`, which names a token that does not belong to its checkpoint."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from asn1crypto import tsp
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from typer.testing import CliRunner

from tests.collector.test_checkpoints import _run, keyed_settings
from tests.collector.test_ledger import _fill
from tests.support.tsa import RunningTSA, TimeStampAuthority
from tracerail.collector.checkpoints import (
    Checkpointer,
    DirectorySink,
    Ed25519Signer,
    checkpoint_and_stamp,
)
from tracerail.collector.cli import app
from tracerail.collector.settings import Settings
from tracerail.collector.store import checkpoints as stored
from tracerail.collector.store.clickhouse import ClickHouseStore
from tracerail.collector.timestamping import TsaClient
from tracerail.evidence import Checkpoint
from tracerail.evidence.timestamp import (
    TIMESTAMP_INVALID,
    TIMESTAMP_MISMATCH,
    TimestampError,
    check_token,
    make_request,
    read_reply,
)

OPENSSL = shutil.which("openssl") or "/usr/bin/openssl"


@pytest.fixture(scope="module")
def authority() -> TimeStampAuthority:
    return TimeStampAuthority.generate()


@pytest.fixture
def tsa(authority: TimeStampAuthority) -> Iterator[RunningTSA]:
    authority.refuse = False
    running = authority.serve()
    yield running
    running.stop()


def _pem(der: bytes) -> bytes:
    return x509.load_der_x509_certificate(der).public_bytes(serialization.Encoding.PEM)


def test_a_token_over_http_checks_and_openssl_verifies_it(
    authority: TimeStampAuthority, tsa: RunningTSA, tmp_path: Path
) -> None:
    data = b'{"type":"tracerail.checkpoint/v1"}'
    token, info = TsaClient(tsa.url).stamp(data)
    assert info.tsa_subject == "CN=tracerail test TSA"
    assert info == check_token(token, data)
    # OpenSSL, an independent implementation, agrees the token stamps these bytes.
    (tmp_path / "data").write_bytes(data)
    (tmp_path / "token.der").write_bytes(token)
    (tmp_path / "tsa.pem").write_bytes(_pem(authority.certificate))
    verify = ("ts", "-verify", "-token_in", "-in", "token.der", "-data", "data")
    checked = subprocess.run(
        [OPENSSL, *verify, "-CAfile", "tsa.pem"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert "Verification: OK" in checked.stdout, checked.stdout + checked.stderr
    with pytest.raises(TimestampError) as other:
        check_token(token, data + b" ")
    assert other.value.kind == TIMESTAMP_MISMATCH


def _flip_signature(token: bytes) -> bytes:
    from asn1crypto import cms

    info = cms.ContentInfo.load(token)
    signer = info["content"]["signer_infos"][0]
    signature = bytearray(signer["signature"].native)
    signature[-1] ^= 1
    signer["signature"] = bytes(signature)
    return info.dump(force=True)


def test_a_changed_signature_or_an_untrusted_tsa_is_invalid(
    tsa: RunningTSA, authority: TimeStampAuthority
) -> None:
    data = b"checkpoint bytes"
    token, _ = TsaClient(tsa.url).stamp(data)
    with pytest.raises(TimestampError) as bad:
        check_token(_flip_signature(token), data)
    assert bad.value.kind == TIMESTAMP_INVALID
    assert "does not verify" in bad.value.detail
    assert check_token(token, data, trusted=[authority.certificate])
    with pytest.raises(TimestampError) as untrusted:
        check_token(token, data, trusted=[TimeStampAuthority.generate().certificate])
    assert "not trusted" in untrusted.value.detail


def _openssl_tsa(folder: Path, key_args: list[str]) -> Path:
    """An OpenSSL TSA configuration (key, self-signed time-stamping certificate)."""
    folder.mkdir()
    request = ["req", "-x509", *key_args, "-nodes", "-keyout", "tsa.key", "-out", "tsa.crt"]
    usage = ("-addext", "extendedKeyUsage=critical,timeStamping")
    subprocess.run(
        [OPENSSL, *request, "-subj", "/CN=openssl tsa", "-days", "2", *usage],
        cwd=folder,
        check=True,
        capture_output=True,
    )
    (folder / "serial").write_text("01\n")
    config = folder / "tsa.cnf"
    config.write_text(
        f"[ tsa ]\ndefault_tsa = one\n[ one ]\nserial = {folder}/serial\n"
        f"signer_cert = {folder}/tsa.crt\nsigner_key = {folder}/tsa.key\n"
        "signer_digest = sha256\ndefault_policy = 1.2.3.4.1\n"
        "digests = sha256\ness_cert_id_alg = sha256\naccuracy = secs:1\nordering = no\n"
        "tsa_name = no\ness_cert_id_chain = no\nother_policies = 1.2.3.4.2\n"
    )
    return config


@pytest.mark.parametrize(
    "key_args",
    [["-newkey", "rsa:2048"], ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256"]],
    ids=["rsa", "ecdsa"],
)
def test_replies_of_openssls_tsa_are_checked(tmp_path: Path, key_args: list[str]) -> None:
    config = _openssl_tsa(tmp_path / "tsa", key_args)
    data = b"a signed checkpoint"
    query, nonce = make_request(data)
    (tmp_path / "query.tsq").write_bytes(query)
    reply_args = ("-queryfile", "query.tsq", "-out", "reply.tsr")
    subprocess.run(
        [OPENSSL, "ts", "-reply", "-config", str(config), *reply_args],
        cwd=tmp_path,
        check=True,
        capture_output=True,
        env={**os.environ, "OPENSSL_CONF": str(config)},
    )
    reply = (tmp_path / "reply.tsr").read_bytes()
    token, info = read_reply(reply, data, nonce)
    assert info.tsa_subject == "CN=openssl tsa"
    assert info.policy == "1.2.3.4.1"
    assert tsp.TimeStampResp.load(reply)["time_stamp_token"].dump() == token
    with pytest.raises(TimestampError) as replayed:
        read_reply(reply, data, nonce + 1)  # a reply to another request
    assert "nonce" in replayed.value.detail


def test_checkpoints_are_time_stamped_and_verify_names_a_token_of_another(
    store: ClickHouseStore, tsa: RunningTSA, tmp_path: Path
) -> None:
    sink = DirectorySink(tmp_path / "sink" / store.database)
    signer, client = Ed25519Signer.generate(), TsaClient(tsa.url)
    _fill(store, batches=1)
    (first,), stamped = checkpoint_and_stamp(store, signer, sink, tsa=client)
    assert stamped[0].error is None and stamped[0].info is not None
    token = sink.token_path(first)
    assert token.read_bytes() == sink.token_of(first)
    assert token.name == sink.path_of(first).with_suffix(".tsr").name
    _fill(store, batches=1)
    (second,), _ = checkpoint_and_stamp(store, signer, sink, tsa=client)
    verified = _run(store, tmp_path / "sink", "verify")
    assert verified.exit_code == 0, verified.output
    assert f"checkpoint of p1 batch {first.seq} time-stamped " in verified.output
    assert "by CN=tracerail test TSA" in verified.output
    # The first checkpoint's token replaced by the second's: named, and verify fails.
    token.chmod(0o644)
    token.write_bytes(sink.token_path(second).read_bytes())
    tampered = _run(store, tmp_path / "sink", "verify")
    assert tampered.exit_code == 1
    assert f"TAMPERED: TIMESTAMP MISMATCH: project p1 checkpoint of batch {first.seq}" in (
        tampered.output
    )


def test_a_tsa_failure_keeps_the_checkpoint_signed_and_stored(
    store: ClickHouseStore, authority: TimeStampAuthority, tsa: RunningTSA, tmp_path: Path
) -> None:
    sink = DirectorySink(tmp_path / "sink" / store.database)
    _fill(store, batches=1)
    authority.refuse = True
    (refused,), outcome = checkpoint_and_stamp(
        store, Ed25519Signer.generate(), sink, tsa=TsaClient(tsa.url)
    )
    assert outcome[0].error is not None and "rejection" in outcome[0].error
    assert sink.path_of(refused).exists() and sink.token_of(refused) is None
    assert stored.read(store, "p1") == [refused]
    tsa.stop()  # nobody answers at that address now
    _, down = checkpoint_and_stamp(store, Ed25519Signer.generate(), sink, tsa=TsaClient(tsa.url))
    assert down[0].error is not None and "TSA FAILED" in down[0].error
    assert len(stored.read(store, "p1")) == 2
    assert _run(store, tmp_path / "sink", "verify").exit_code == 0


def test_the_schedule_time_stamps_with_the_configured_tsa(
    store: ClickHouseStore, settings: Settings, tsa: RunningTSA, tmp_path: Path
) -> None:
    _fill(store, batches=1)
    signer = Ed25519Signer.generate()
    configured = keyed_settings(
        settings, signer, tmp_path / "sink", checkpoint_interval_seconds=0.05, tsa_url=tsa.url
    )
    worker = Checkpointer.from_settings(store, configured)
    assert worker is not None and worker.tsa is not None and worker.tsa.url == tsa.url
    worker.start()
    try:
        deadline = time.monotonic() + 60
        while not list(worker.sink.root.glob("*/*.tsr")):
            assert time.monotonic() < deadline, "no token was written"
            time.sleep(0.05)
    finally:
        worker.stop()
    token = sorted(worker.sink.root.glob("*/*.tsr"))[0]
    checkpoint = json.loads(token.with_suffix(".json").read_text())
    assert check_token(token.read_bytes(), Checkpoint.from_dict(checkpoint).signed_bytes())
    assert token.stat().st_mode & 0o222 == 0  # written once, read-only


def test_audit_checkpoint_with_a_tsa_exits_3_when_the_time_stamp_fails(
    store: ClickHouseStore, authority: TimeStampAuthority, tsa: RunningTSA, tmp_path: Path
) -> None:
    key = tmp_path / "k.pem"
    assert CliRunner().invoke(app, ["audit", "keygen", "-o", str(key)]).exit_code == 0
    _fill(store, batches=1)
    sign = ("checkpoint", "--key-file", str(key), "--tsa-url", tsa.url)
    stamped = _run(store, tmp_path / "sink", *sign)
    assert stamped.exit_code == 0, stamped.output
    assert "time-stamped p1 batch 1 at " in stamped.output
    authority.refuse = True
    refused = _run(store, tmp_path / "sink", *sign)
    assert refused.exit_code == 3, refused.output
    assert "TIME-STAMP FAILED for p1 batch 1 (the checkpoint is signed and stored)" in (
        refused.output
    )
    assert len(stored.read(store, "p1")) == 2  # both checkpoints kept
    bad_url = _run(
        store, tmp_path / "sink", "checkpoint", "--key-file", str(key), "--tsa-url", "ftp://x"
    )
    assert bad_url.exit_code == 2
    assert "tsa_url" in bad_url.output

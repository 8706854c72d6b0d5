"""A real RFC 3161 time-stamping authority on 127.0.0.1, for tests.

It answers ``application/timestamp-query`` POSTs with ``application/timestamp-reply``: parses
the ``TimeStampReq`` with asn1crypto, builds a ``TSTInfo`` (the request's imprint and nonce,
the current time, a serial number), and signs it as CMS ``SignedData`` with an RSA key and a
self-signed certificate (extended key usage ``timeStamping``) made by ``cryptography`` when the
server starts. ``refuse = True`` makes it answer ``rejection``.
"""

from __future__ import annotations

import hashlib
import itertools
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from asn1crypto import algos, cms, core, tsp
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

POLICY = "1.3.6.1.4.1.55555.1.1"


def make_tsa_identity(name: str = "tracerail test TSA") -> tuple[rsa.RSAPrivateKey, bytes]:
    """A throwaway RSA key and its self-signed time-stamping certificate (DER)."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=30))
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.TIME_STAMPING]), critical=True)
        .sign(key, hashes.SHA256())
    )
    return key, cert.public_bytes(serialization.Encoding.DER)


class _Refusal(core.Sequence):  # type: ignore[misc]
    """A TimeStampResp without a token (asn1crypto's TimeStampResp requires one)."""

    _fields = [("status", tsp.PKIStatusInfo)]  # noqa: RUF012 (asn1crypto's spec)


@dataclass
class TimeStampAuthority:
    """Signs time-stamp tokens; :meth:`serve` answers them over HTTP."""

    key: rsa.RSAPrivateKey
    certificate: bytes  # DER
    refuse: bool = False
    requests: int = 0
    _serials: Any = field(default_factory=lambda: itertools.count(1))

    @classmethod
    def generate(cls) -> TimeStampAuthority:
        return cls(*make_tsa_identity())

    def reply(self, query: bytes) -> bytes:
        """The DER TimeStampResp to a DER TimeStampReq."""
        self.requests += 1
        request = tsp.TimeStampReq.load(query)
        if self.refuse:
            status = {"status": "rejection", "status_string": ["refused for the test"]}
            return _Refusal({"status": status}).dump()
        info = tsp.TSTInfo(
            {
                "version": "v1",
                "policy": POLICY,
                "message_imprint": request["message_imprint"],
                "serial_number": next(self._serials),
                "gen_time": datetime.now(UTC).replace(microsecond=0),
                "nonce": request["nonce"].native,
            }
        )
        content = info.dump()
        cert = asn1_x509.Certificate.load(self.certificate)
        attrs = cms.CMSAttributes(
            [
                {"type": "content_type", "values": ["tst_info"]},
                {"type": "message_digest", "values": [hashlib.sha256(content).digest()]},
                {
                    "type": "signing_certificate_v2",
                    "values": [
                        {"certs": [{"cert_hash": hashlib.sha256(self.certificate).digest()}]}
                    ],
                },
            ]
        )
        signature = self.key.sign(attrs.dump(), padding.PKCS1v15(), hashes.SHA256())
        sha256 = algos.DigestAlgorithm({"algorithm": "sha256"})
        signer = cms.SignerInfo(
            {
                "version": "v1",
                "sid": cms.SignerIdentifier(
                    {
                        "issuer_and_serial_number": {
                            "issuer": cert.issuer,
                            "serial_number": cert.serial_number,
                        }
                    }
                ),
                "digest_algorithm": sha256,
                "signed_attrs": attrs,
                "signature_algorithm": {"algorithm": "sha256_rsa"},
                "signature": signature,
            }
        )
        signed = cms.SignedData(
            {
                "version": "v3",
                "digest_algorithms": [sha256],
                "encap_content_info": {
                    "content_type": "tst_info",
                    "content": core.ParsableOctetString(content),
                },
                "certificates": [cert] if request["cert_req"].native else [],
                "signer_infos": [signer],
            }
        )
        token = cms.ContentInfo({"content_type": "signed_data", "content": signed})
        return tsp.TimeStampResp(
            {"status": {"status": "granted"}, "time_stamp_token": token}
        ).dump()

    def serve(self) -> RunningTSA:
        """Answer on a free port of 127.0.0.1 in a thread (stop it with ``stop``)."""
        authority = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                if self.headers.get("Content-Type") != "application/timestamp-query":
                    self.send_error(415, "expected application/timestamp-query")
                    return
                try:
                    answer = authority.reply(body)
                except ValueError as exc:
                    self.send_error(400, f"not a TimeStampReq: {exc}")
                    return
                self.send_response(200)
                self.send_header("Content-Type", "application/timestamp-reply")
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        thread = threading.Thread(target=server.serve_forever, name="test-tsa", daemon=True)
        thread.start()
        return RunningTSA(server, thread)


@dataclass
class RunningTSA:
    server: ThreadingHTTPServer
    thread: threading.Thread

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/tsr"

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=30)

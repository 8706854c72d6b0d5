"""RFC 3161 time-stamp tokens over signed checkpoints: the request, and the check of a token.

A time-stamping authority (TSA) signs "this SHA-256 digest existed at ``genTime``". tracerail
asks for one over each signed checkpoint's exact bytes (:meth:`Checkpoint.signed_bytes`), so
the token shows the checkpoint (signature included) existed by ``genTime``, attested by a third
party the operator does not control.

:func:`check_token` checks a token (a CMS ``SignedData`` whose content is a ``TSTInfo``):

* the message imprint is SHA-256 of the data (else :data:`TIMESTAMP_MISMATCH`);
* the ``content-type`` and ``message-digest`` signed attributes match the ``TSTInfo``;
* the signature over the signed attributes verifies with the TSA certificate the signer
  identifier names (from the token, or ``certificates`` given beside it), which must carry the
  ``timeStamping`` extended key usage (else :data:`TIMESTAMP_INVALID`).

It does not validate the TSA certificate's chain to a root: the result names the certificate
(SHA-256 fingerprint and subject) for the verifier to compare with the one the TSA publishes,
or pass it as ``trusted`` to accept no other.

ASN.1 through ``asn1crypto``, signatures through ``cryptography`` (``tracerail[evidence]``),
both imported when first needed.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, Final

from tracerail.errors import ConfigError

if TYPE_CHECKING:
    from asn1crypto import cms
    from cryptography import x509

TIMESTAMP_MISMATCH: Final = "timestamp mismatch"
TIMESTAMP_INVALID: Final = "timestamp invalid"

QUERY_TYPE: Final = "application/timestamp-query"
REPLY_TYPE: Final = "application/timestamp-reply"

_HASHES: Final = {"sha256": hashlib.sha256, "sha384": hashlib.sha384, "sha512": hashlib.sha512}


class TimestampError(ValueError):
    """A reply or token that does not hold; ``kind`` is one of the constants above."""

    def __init__(self, kind: str, detail: str) -> None:
        super().__init__(f"{kind.upper()}: {detail}")
        self.kind, self.detail = kind, detail


@dataclass(frozen=True, slots=True)
class TimestampInfo:
    """What a valid token attests, and who signed it."""

    gen_time: datetime
    serial_number: int
    policy: str
    tsa_subject: str
    tsa_certificate_sha256: str

    def as_dict(self) -> dict[str, Any]:
        return {
            "gen_time": self.gen_time.isoformat().replace("+00:00", "Z"),
            "serial_number": self.serial_number,
            "policy": self.policy,
            "tsa_subject": self.tsa_subject,
            "tsa_certificate_sha256": self.tsa_certificate_sha256,
        }


def _modules() -> Any:
    try:
        from asn1crypto import algos, cms, tsp
    except ImportError:
        raise ConfigError(
            "asn1crypto",
            "time-stamp tokens need asn1crypto and cryptography: pip install 'tracerail[evidence]'",
        ) from None
    return algos, cms, tsp


def make_request(data: bytes, nonce: int | None = None) -> tuple[bytes, int]:
    """A DER ``TimeStampReq`` for SHA-256 of ``data`` (with a nonce, asking for the TSA's
    certificate); returns it and the nonce."""
    algos, _, tsp = _modules()
    nonce = secrets.randbits(63) if nonce is None else nonce
    request = tsp.TimeStampReq(
        {
            "version": "v1",
            "message_imprint": {
                "hash_algorithm": algos.DigestAlgorithm({"algorithm": "sha256"}),
                "hashed_message": hashlib.sha256(data).digest(),
            },
            "nonce": nonce,
            "cert_req": True,
        }
    )
    return request.dump(), nonce


def _response_spec() -> Any:
    """``TimeStampResp`` with the token optional, as RFC 3161 has it (asn1crypto requires it,
    so a refusal, which has none, would not parse)."""
    from asn1crypto import cms, core, tsp

    class TimeStampResp(core.Sequence):  # type: ignore[misc]
        _fields = [  # noqa: RUF012 (asn1crypto's field spec)
            ("status", tsp.PKIStatusInfo),
            ("time_stamp_token", cms.ContentInfo, {"optional": True}),
        ]

    return TimeStampResp


def read_reply(reply: bytes, data: bytes, nonce: int) -> tuple[bytes, TimestampInfo]:
    """Check a DER ``TimeStampResp`` to the request for ``data`` with ``nonce``: status
    granted, the same nonce, and the token (:func:`check_token`). Returns the token's DER."""
    try:
        response = _response_spec().load(reply)
        status = response["status"]
        granted = status["status"].native
        if granted not in ("granted", "granted_with_mods"):
            text = "; ".join(status["status_string"].native or [])
            raise TimestampError(TIMESTAMP_INVALID, f"the TSA answered {granted} {text}".strip())
        token = response["time_stamp_token"]
        if not token:
            raise TimestampError(TIMESTAMP_INVALID, "the TSA granted but sent no token")
        der = token.dump()
    except (ValueError, TypeError, KeyError) as exc:
        if isinstance(exc, TimestampError):
            raise
        raise TimestampError(TIMESTAMP_INVALID, f"not a TimeStampResp: {exc}") from None
    info = check_token(der, data, nonce=nonce)
    return der, info


def _tst_info(token: cms.ContentInfo) -> tuple[Any, Any, Any]:
    if token["content_type"].native != "signed_data":
        raise TimestampError(TIMESTAMP_INVALID, "the token is not CMS SignedData")
    signed = token["content"]
    encap = signed["encap_content_info"]
    if encap["content_type"].native != "tst_info":
        raise TimestampError(TIMESTAMP_INVALID, "the token's content is not a TSTInfo")
    if len(signed["signer_infos"]) != 1:
        raise TimestampError(TIMESTAMP_INVALID, "a token has exactly one signer")
    return signed, encap, encap["content"].parsed


def check_token(
    token: bytes,
    data: bytes,
    *,
    nonce: int | None = None,
    certificates: Sequence[bytes] = (),
    trusted: Sequence[bytes] | None = None,
) -> TimestampInfo:
    """Check that DER ``token`` time-stamps ``data``; raise :class:`TimestampError` naming why
    not. ``certificates``: DER certificates to find the signer among besides the token's own;
    ``trusted``: when given, the signer must be one of these (DER)."""
    _, cms_mod, _ = _modules()
    try:
        signed, encap, info = _tst_info(cms_mod.ContentInfo.load(token))
        imprint = info["message_imprint"]
        algorithm = imprint["hash_algorithm"]["algorithm"].native
        digest = imprint["hashed_message"].native
        gen_time, serial = info["gen_time"].native, info["serial_number"].native
        policy, token_nonce = info["policy"].dotted, info["nonce"].native
    except (ValueError, TypeError, KeyError) as exc:
        if isinstance(exc, TimestampError):
            raise
        raise TimestampError(TIMESTAMP_INVALID, f"not a time-stamp token: {exc}") from None
    if algorithm not in _HASHES:
        raise TimestampError(TIMESTAMP_INVALID, f"unsupported imprint hash {algorithm}")
    if digest != _HASHES[algorithm](data).digest():
        raise TimestampError(
            TIMESTAMP_MISMATCH,
            f"the token's imprint {digest.hex()[:16]}… is not the {algorithm} of this checkpoint",
        )
    if nonce is not None and token_nonce != nonce:
        raise TimestampError(TIMESTAMP_INVALID, "the token's nonce is not the request's")
    signer = signed["signer_infos"][0]
    cert = _signer_certificate(signer, signed, certificates)
    _check_signature(signer, encap["content"].contents, cert)
    from cryptography.hazmat.primitives import serialization

    der = cert.public_bytes(serialization.Encoding.DER)
    if trusted is not None and der not in trusted:
        raise TimestampError(TIMESTAMP_INVALID, "signed by a TSA certificate not trusted here")
    return TimestampInfo(
        gen_time, int(serial), str(policy), cert.subject.rfc4514_string(), _sha256_hex(der)
    )


def _sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def token_certificates(token: bytes) -> list[bytes]:
    """The DER certificates a token carries (what ``certReq`` asked the TSA to include)."""
    _, cms_mod, _ = _modules()
    signed = cms_mod.ContentInfo.load(token)["content"]
    return [c.chosen.dump() for c in signed["certificates"] or [] if c.name == "certificate"]


def _signer_certificate(signer: Any, signed: Any, extra: Sequence[bytes]) -> x509.Certificate:
    from asn1crypto import x509 as asn1_x509
    from cryptography import x509 as crypto_x509

    sid = signer["sid"]
    candidates = [c.chosen for c in signed["certificates"] or [] if c.name == "certificate"]
    candidates += [asn1_x509.Certificate.load(der) for der in extra]
    for cert in candidates:
        if sid.name == "issuer_and_serial_number":
            wanted = sid.chosen
            match = (
                cert.issuer == wanted["issuer"]
                and cert.serial_number == wanted["serial_number"].native
            )
        else:
            match = cert.key_identifier == sid.chosen.native
        if match:
            return crypto_x509.load_der_x509_certificate(cert.dump())
    raise TimestampError(TIMESTAMP_INVALID, "the TSA certificate that signed it is not available")


def _check_signature(signer: Any, content: bytes, cert: x509.Certificate) -> None:
    from cryptography import x509 as crypto_x509
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa
    from cryptography.x509.oid import ExtendedKeyUsageOID

    try:
        usage = cert.extensions.get_extension_for_class(crypto_x509.ExtendedKeyUsage).value
    except crypto_x509.ExtensionNotFound:
        usage = None
    if usage is None or ExtendedKeyUsageOID.TIME_STAMPING not in usage:
        raise TimestampError(TIMESTAMP_INVALID, "the signer's certificate is not for time-stamping")
    attrs = signer["signed_attrs"]
    if not attrs:
        raise TimestampError(TIMESTAMP_INVALID, "the token has no signed attributes")
    values = {a["type"].native: a["values"][0] for a in attrs}
    digest_name = signer["digest_algorithm"]["algorithm"].native
    if digest_name not in _HASHES:
        raise TimestampError(TIMESTAMP_INVALID, f"unsupported digest {digest_name}")
    if values.get("content_type") is None or values["content_type"].native != "tst_info":
        raise TimestampError(TIMESTAMP_INVALID, "the signed content type is not TSTInfo")
    md = values.get("message_digest")
    if md is None or md.native != _HASHES[digest_name](content).digest():
        raise TimestampError(TIMESTAMP_INVALID, "the TSTInfo was changed after it was signed")
    message = attrs.untag().dump(force=True)  # signed as a SET OF, not the [0] tag it has
    signature = signer["signature"].native
    algo = signer["signature_algorithm"].signature_algo
    chosen = getattr(hashes, digest_name.upper())()
    key = cert.public_key()
    try:
        if isinstance(key, rsa.RSAPublicKey) and algo == "rsassa_pkcs1v15":
            key.verify(signature, message, padding.PKCS1v15(), chosen)
        elif isinstance(key, ec.EllipticCurvePublicKey) and algo == "ecdsa":
            key.verify(signature, message, ec.ECDSA(chosen))
        elif isinstance(key, ed25519.Ed25519PublicKey) and algo == "ed25519":
            key.verify(signature, message)
        else:
            raise TimestampError(TIMESTAMP_INVALID, f"unsupported signature algorithm {algo}")
    except InvalidSignature:
        raise TimestampError(
            TIMESTAMP_INVALID, "the TSA's signature over the token does not verify"
        ) from None

"""Bitcoin's Base58Check, shared by the PII data generators (``make_pii_eval.py`` and
``pii/make_pii_set.py``): a payload, four bytes of its double SHA-256, written in base 58 with
each leading zero byte as ``1``."""

from __future__ import annotations

import hashlib

ALPHABET = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"


def checksum(payload: bytes) -> bytes:
    """The first four bytes of SHA-256(SHA-256(payload))."""
    return hashlib.sha256(hashlib.sha256(payload).digest()).digest()[:4]


def b58encode(data: bytes) -> str:
    """``data`` in base 58, most significant digit first; each leading zero byte is ``1``."""
    number = int.from_bytes(data, "big")
    out = ""
    while number:
        number, rem = divmod(number, 58)
        out = ALPHABET[rem] + out
    return "1" * (len(data) - len(data.lstrip(b"\0"))) + out

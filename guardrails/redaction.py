"""Redaction operators: typed placeholder, mask, salted hash and reversible encryption.

A :class:`Redactor` lives for one guarded call, so the same value gets the same placeholder
(``<EMAIL_1>``) across every message and check of that call. Encryption uses presidio's
``AESCipher`` with a key the application holds (never part of the policy file); the
app can reverse it with :func:`decrypt`.
"""

from __future__ import annotations

import base64
import hashlib
import os
import secrets
from collections.abc import Iterable
from dataclasses import dataclass, field

from tracerail.guardrails.types import Finding

DEFAULT_KEY_ENV = "TRACERAIL_REDACT_KEY"
_PROCESS_SALT = secrets.token_hex(16)

# Short labels for placeholders: <EMAIL_1>, <PHONE_2>, ...
LABELS = {
    "EMAIL_ADDRESS": "EMAIL",
    "PHONE_NUMBER": "PHONE",
    "IBAN_CODE": "IBAN",
    "US_SSN": "SSN",
    "IP_ADDRESS": "IP",
    "DATE_OF_BIRTH": "DOB",
}


class RedactionKeyError(ValueError):
    """Encryption was asked for without a usable key."""


def _label(entity_type: str) -> str:
    return LABELS.get(entity_type, entity_type)


def load_key(env_name: str = DEFAULT_KEY_ENV) -> bytes:
    """The AES key (16, 24 or 32 bytes; raw text or ``base64:...``) from an env variable."""
    raw = os.environ.get(env_name, "")
    key = base64.b64decode(raw[7:]) if raw.startswith("base64:") else raw.encode()
    if len(key) not in (16, 24, 32):
        raise RedactionKeyError(f"{env_name} must hold a 16, 24 or 32 byte key")
    return key


def decrypt(token: str, key: bytes) -> str:
    """Reverse an ``encrypt`` redaction: pass the text between ``<TYPE:`` and ``>``."""
    from presidio_anonymizer.operators.aes_cipher import AESCipher

    return str(AESCipher.decrypt(key, token))


@dataclass
class PlaceholderBook:
    """Typed placeholders of one guarded call: the same value always gets the same one."""

    _placeholders: dict[tuple[str, str], str] = field(default_factory=dict)
    _counts: dict[str, int] = field(default_factory=dict)

    def placeholder(self, entity_type: str, value: str) -> str:
        slot = (entity_type, value)
        found = self._placeholders.get(slot)
        if found is None:
            label = _label(entity_type)
            self._counts[label] = self._counts.get(label, 0) + 1
            found = f"<{label}_{self._counts[label]}>"
            self._placeholders[slot] = found
        return found


@dataclass
class Redactor:
    """Replaces findings in text with one operator."""

    salt: str = _PROCESS_SALT
    key: bytes | None = None
    mask_char: str = "*"
    book: PlaceholderBook = field(default_factory=PlaceholderBook)

    def replacement(self, operator: str, entity_type: str, value: str) -> str:
        if operator == "mask":
            return self.mask_char * len(value)
        if operator == "hash":
            digest = hashlib.sha256((self.salt + value).encode("utf-8", "surrogatepass"))
            return f"<{_label(entity_type)}:{digest.hexdigest()[:16]}>"
        if operator == "encrypt":
            if self.key is None:
                raise RedactionKeyError("the encrypt operator needs a key")
            from presidio_anonymizer.operators.aes_cipher import AESCipher

            return f"<{_label(entity_type)}:{AESCipher.encrypt(self.key, value)}>"
        return self.book.placeholder(entity_type, value)

    def apply(self, text: str, findings: Iterable[Finding], operator: str) -> str:
        """``text`` with every finding replaced; overlapping findings merge into the first."""
        parts: list[str] = []
        cursor = 0
        for finding in merge_overlaps(findings):
            parts.append(text[cursor : finding.start])
            parts.append(
                self.replacement(operator, finding.type, text[finding.start : finding.end])
            )
            cursor = finding.end
        parts.append(text[cursor:])
        return "".join(parts)


def merge_overlaps(findings: Iterable[Finding]) -> list[Finding]:
    """Findings sorted by start with overlaps removed (the longer, then higher-scored, wins)."""
    ordered = sorted(findings, key=lambda f: (f.start, -(f.end - f.start), -f.score))
    kept: list[Finding] = []
    for finding in ordered:
        if kept and finding.start < kept[-1].end:
            last = kept[-1]
            if finding.end > last.end:
                kept[-1] = Finding(
                    last.type, last.start, finding.end, max(last.score, finding.score)
                )
            continue
        kept.append(finding)
    return kept

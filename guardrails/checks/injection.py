"""Prompt injection and jailbreak heuristics.

Known phrasings ("ignore previous instructions", role-play escapes such as DAN or "developer
mode", system-prompt exfiltration), invisible Unicode (zero-width characters, tag characters,
bidirectional overrides) and instructions smuggled in base64. Options: ``patterns`` (extra
regexes, reported as ``CUSTOM_INJECTION``).
"""

from __future__ import annotations

import base64
import binascii
import re

from tracerail.guardrails.base import FindingCheck
from tracerail.guardrails.policy import CheckConfig
from tracerail.guardrails.types import Finding

_ANY = r"(?:all|any|the|your|my|these|those|prior|previous|above|earlier|preceding|initial)"
# (type, pattern, score, lower-case needles: the pattern runs only if one occurs)
PATTERNS: tuple[tuple[str, str, float, tuple[str, ...]], ...] = (
    (
        "IGNORE_INSTRUCTIONS",
        rf"\b(?:ignore|disregard|forget|override|bypass|skip)\s+(?:{_ANY}\s+){{0,3}}"
        r"(?:instructions?|rules|guidelines|directions|prompts?|context|constraints|restrictions)\b",
        0.9,
        ("ignor", "disregard", "forget", "overrid", "bypass", "skip"),
    ),
    (
        "IGNORE_INSTRUCTIONS",
        r"\b(?:new|updated|real)\s+instructions?\s*:",
        0.6,
        ("instruction",),
    ),
    (
        "ROLE_PLAY_ESCAPE",
        r"\b(?:you\s+are\s+now|from\s+now\s+on\s+you\s+are|act\s+as|pretend\s+(?:to\s+be|you\s+are)|"
        r"roleplay\s+as)\b[^.\n]{0,60}\b(?:dan|jailbr[eo]ken?|unfiltered|uncensored|unrestricted|"
        r"no\s+(?:rules|restrictions|limits|filters)|evil|without\s+(?:rules|restrictions|limits))",
        0.85,
        ("you are now", "from now on", "act as", "pretend", "roleplay"),
    ),
    (
        "ROLE_PLAY_ESCAPE",
        r"\b(?:do\s+anything\s+now|developer\s+mode\s+(?:enabled|on)|jailbreak(?:\s+mode)?|"
        r"DAN\s+mode|god\s+mode\s+enabled)\b",
        0.85,
        ("anything now", "developer mode", "jailbr", "dan mode", "god mode"),
    ),
    (
        "SYSTEM_PROMPT_EXFILTRATION",
        r"\b(?:reveal|print|show|repeat|output|display|leak|tell\s+me|give\s+me|what\s+(?:is|are))"
        r"\s+(?:me\s+)?(?:your|the)\s+(?:full\s+|entire\s+|original\s+|hidden\s+|secret\s+)?"
        r"(?:system\s+prompt|system\s+message|initial\s+instructions|hidden\s+instructions|"
        r"instructions\s+above|prompt\s+above)",
        0.85,
        (
            "system prompt",
            "system message",
            "initial instructions",
            "hidden instructions",
            "instructions above",
            "prompt above",
        ),
    ),
    (
        "SYSTEM_PROMPT_EXFILTRATION",
        r"\brepeat\s+(?:everything|all|the\s+text)\s+(?:above|before)\b",
        0.8,
        ("repeat",),
    ),
)
# Zero-width and joiners, bidi overrides/isolates, Unicode tag characters.
INVISIBLE = re.compile(
    r"[\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff\U000e0000-\U000e007f]+"
)
BASE64_BLOB = re.compile(r"(?<![A-Za-z0-9+/=])[A-Za-z0-9+/]{24,}={0,2}(?![A-Za-z0-9+/=])")


class InjectionCheck(FindingCheck):
    """Heuristic prompt-injection detector."""

    def __init__(self, config: CheckConfig) -> None:
        super().__init__(config)
        self.patterns = [(n, re.compile(p, re.IGNORECASE), s, nd) for n, p, s, nd in PATTERNS]
        self.patterns += [
            ("CUSTOM_INJECTION", re.compile(str(p), re.IGNORECASE), 0.9, ())
            for p in config.options.get("patterns", ())
        ]

    def _phrases(self, text: str) -> list[Finding]:
        lowered = " ".join(text.lower().split())
        return [
            Finding(name, m.start(), m.end(), score)
            for name, pattern, score, needles in self.patterns
            if not needles or any(needle in lowered for needle in needles)
            for m in pattern.finditer(text)
        ]

    def find(self, text: str) -> list[Finding]:
        found = self._phrases(text)
        for match in INVISIBLE.finditer(text):
            found.append(Finding("INVISIBLE_UNICODE", match.start(), match.end(), 0.7))
        for match in BASE64_BLOB.finditer(text):
            decoded = _decode(match.group())
            if decoded and self._phrases(decoded):
                found.append(Finding("BASE64_SMUGGLED", match.start(), match.end(), 0.9))
        return found


def _decode(blob: str) -> str | None:
    try:
        raw = base64.b64decode(blob + "=" * (-len(blob) % 4), validate=True)
        text = raw.decode("utf-8")
    except (binascii.Error, ValueError):
        return None
    printable = sum(ch.isprintable() or ch.isspace() for ch in text)
    return text if text and printable / len(text) > 0.9 else None

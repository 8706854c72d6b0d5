"""Secrets: cloud keys, GitHub/Slack/Stripe/OpenAI-style tokens, private keys, JWTs, and
high-entropy values assigned to secret-looking names.

Patterns are data (one line each); a value must also clear a Shannon-entropy floor where the
pattern alone is weak, so ``password = "changeme"`` style placeholders are not reported as keys.
"""

from __future__ import annotations

import math
import re
from collections import Counter

from tracerail.guardrails.base import FindingCheck
from tracerail.guardrails.policy import CheckConfig
from tracerail.guardrails.types import Finding

# (type, pattern, group holding the secret (0: whole match), lower-case needles: the pattern
# runs only when one of them occurs in the lower-cased text)
PATTERNS: tuple[tuple[str, str, int, tuple[str, ...]], ...] = (
    (
        "AWS_ACCESS_KEY",
        r"\b(?:AKIA|ASIA|AGPA|AIDA|AROA|ANPA|ANVA|AIPA)[A-Z0-9]{16}\b",
        0,
        ("akia", "asia", "agpa", "aida", "aroa", "anpa", "anva", "aipa"),
    ),
    (
        "AWS_SECRET_KEY",
        r"(?i)aws.{0,20}?(?:secret|key).{0,20}?['\"=:\s]([A-Za-z0-9/+=]{40})\b",
        1,
        ("aws",),
    ),
    ("GCP_API_KEY", r"\bAIza[0-9A-Za-z_\-]{35}\b", 0, ("aiza",)),
    ("AZURE_STORAGE_KEY", r"AccountKey=([A-Za-z0-9+/=]{86,88})", 1, ("accountkey=",)),
    (
        "GITHUB_TOKEN",
        r"\b(?:gh[pousr]_[A-Za-z0-9]{36,255}|github_pat_[A-Za-z0-9_]{22,255})\b",
        0,
        ("ghp_", "gho_", "ghu_", "ghs_", "ghr_", "github_pat_"),
    ),
    ("GITLAB_TOKEN", r"\bglpat-[A-Za-z0-9_\-]{20,}\b", 0, ("glpat-",)),
    ("SLACK_TOKEN", r"\bxox[abposr]-[A-Za-z0-9-]{10,}\b", 0, ("xox",)),
    (
        "SLACK_WEBHOOK",
        r"hooks\.slack\.com/services/T[A-Za-z0-9_]+/B[A-Za-z0-9_]+/[A-Za-z0-9_]+",
        0,
        ("hooks.slack.com",),
    ),
    ("STRIPE_KEY", r"\b(?:sk|rk|pk)_(?:live|test)_[A-Za-z0-9]{16,}\b", 0, ("_live_", "_test_")),
    ("OPENAI_KEY", r"\bsk-(?:proj-|svcacct-|admin-)?[A-Za-z0-9_\-]{20,}\b", 0, ("sk-",)),
    ("ANTHROPIC_KEY", r"\bsk-ant-[A-Za-z0-9_\-]{20,}\b", 0, ("sk-ant-",)),
    ("TWILIO_KEY", r"\bSK[0-9a-fA-F]{32}\b", 0, ("sk",)),
    ("SENDGRID_KEY", r"\bSG\.[A-Za-z0-9_\-]{22}\.[A-Za-z0-9_\-]{43}\b", 0, ("sg.",)),
    ("NPM_TOKEN", r"\bnpm_[A-Za-z0-9]{36}\b", 0, ("npm_",)),
    ("PYPI_TOKEN", r"\bpypi-[A-Za-z0-9_\-]{50,}\b", 0, ("pypi-",)),
    (
        "PRIVATE_KEY",
        r"-----BEGIN (?:[A-Z]+ )*PRIVATE KEY(?: BLOCK)?-----[\s\S]*?"
        r"(?:-----END (?:[A-Z]+ )*PRIVATE KEY(?: BLOCK)?-----|\Z)",
        0,
        ("private key",),
    ),
    ("JWT", r"\beyJ[A-Za-z0-9_\-]{8,}\.eyJ[A-Za-z0-9_\-]{8,}\.[A-Za-z0-9_\-]{8,}", 0, ("eyj",)),
    ("BASIC_AUTH_URL", r"\b[a-z][a-z0-9+.\-]*://[^\s:/@]+:([^\s:/@]{3,})@", 1, ("://",)),
    ("BEARER_TOKEN", r"(?i)\bbearer\s+([A-Za-z0-9_\-.=]{20,})", 1, ("bearer",)),
)

# name = "value" / name: value, where the name looks like it holds a secret.
ASSIGNMENT = (
    r"(?i)(?:api[_-]?key|secret|token|passw(?:or)?d|pwd|access[_-]?key|private[_-]?key|"
    r"client[_-]?secret|auth)[A-Za-z0-9_\-]*[\"']?\s*[:=]\s*[\"']?([^\s\"',;]{12,})"
)
ASSIGNMENT_NEEDLES = ("key", "secret", "token", "passw", "pwd", "auth")
DEFAULT_MIN_ENTROPY = 3.0


def shannon_entropy(value: str) -> float:
    """Bits per character of ``value``."""
    if not value:
        return 0.0
    counts = Counter(value)
    total = len(value)
    return -sum(n / total * math.log2(n / total) for n in counts.values())


class SecretsCheck(FindingCheck):
    """Credentials and tokens in text."""

    def __init__(self, config: CheckConfig) -> None:
        super().__init__(config)
        self.min_entropy = float(config.options.get("min_entropy", DEFAULT_MIN_ENTROPY))
        self.patterns = [(n, re.compile(p), group, needles) for n, p, group, needles in PATTERNS]
        self.assignment = re.compile(ASSIGNMENT)

    def find(self, text: str) -> list[Finding]:
        lowered = text.lower()
        found: list[Finding] = []
        for name, pattern, group, needles in self.patterns:
            if not any(needle in lowered for needle in needles):
                continue
            for match in pattern.finditer(text):
                start, end = match.span(group)
                found.append(Finding(name, start, end, 1.0))
        if not any(needle in lowered for needle in ASSIGNMENT_NEEDLES):
            return found
        for match in self.assignment.finditer(text):
            start, end = match.span(1)
            if any(f.start < end and start < f.end for f in found):
                continue
            entropy = shannon_entropy(match.group(1))
            if entropy >= self.min_entropy:
                found.append(Finding("GENERIC_SECRET", start, end, min(entropy / 4.5, 1.0)))
        return found

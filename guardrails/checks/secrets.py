"""Secrets: cloud keys, GitHub/Slack/Stripe/OpenAI-style tokens, private keys, JWTs, and
high-entropy values assigned to secret-looking names.

Patterns are data (one line each); a value must also clear a Shannon-entropy floor where the
pattern alone is weak, so ``password = "changeme"`` style placeholders are not reported as keys.
"""

from __future__ import annotations

import math
from collections import Counter

import regex

from tracerail.guardrails.base import FindingCheck
from tracerail.guardrails.policy import CheckConfig
from tracerail.guardrails.types import Finding

# (type, pattern, group holding the secret (0: whole match))
PATTERNS: tuple[tuple[str, str, int], ...] = (
    ("AWS_ACCESS_KEY", r"\b(?:AKIA|ASIA|AGPA|AIDA|AROA|ANPA|ANVA|AIPA)[A-Z0-9]{16}\b", 0),
    ("AWS_SECRET_KEY", r"(?i)aws.{0,20}?(?:secret|key).{0,20}?['\"=:\s]([A-Za-z0-9/+=]{40})\b", 1),
    ("GCP_API_KEY", r"\bAIza[0-9A-Za-z_\-]{35}\b", 0),
    ("AZURE_STORAGE_KEY", r"AccountKey=([A-Za-z0-9+/=]{86,88})", 1),
    ("GITHUB_TOKEN", r"\b(?:gh[pousr]_[A-Za-z0-9]{36,255}|github_pat_[A-Za-z0-9_]{22,255})\b", 0),
    ("GITLAB_TOKEN", r"\bglpat-[A-Za-z0-9_\-]{20,}\b", 0),
    ("SLACK_TOKEN", r"\bxox[abposr]-[A-Za-z0-9-]{10,}\b", 0),
    ("SLACK_WEBHOOK", r"hooks\.slack\.com/services/T[A-Za-z0-9_]+/B[A-Za-z0-9_]+/[A-Za-z0-9_]+", 0),
    ("STRIPE_KEY", r"\b(?:sk|rk|pk)_(?:live|test)_[A-Za-z0-9]{16,}\b", 0),
    ("OPENAI_KEY", r"\bsk-(?:proj-|svcacct-|admin-)?[A-Za-z0-9_\-]{20,}\b", 0),
    ("ANTHROPIC_KEY", r"\bsk-ant-[A-Za-z0-9_\-]{20,}\b", 0),
    ("TWILIO_KEY", r"\bSK[0-9a-fA-F]{32}\b", 0),
    ("SENDGRID_KEY", r"\bSG\.[A-Za-z0-9_\-]{22}\.[A-Za-z0-9_\-]{43}\b", 0),
    ("NPM_TOKEN", r"\bnpm_[A-Za-z0-9]{36}\b", 0),
    ("PYPI_TOKEN", r"\bpypi-[A-Za-z0-9_\-]{50,}\b", 0),
    (
        "PRIVATE_KEY",
        r"-----BEGIN (?:[A-Z]+ )*PRIVATE KEY(?: BLOCK)?-----[\s\S]*?"
        r"(?:-----END (?:[A-Z]+ )*PRIVATE KEY(?: BLOCK)?-----|\Z)",
        0,
    ),
    ("JWT", r"\beyJ[A-Za-z0-9_\-]{8,}\.eyJ[A-Za-z0-9_\-]{8,}\.[A-Za-z0-9_\-]{8,}", 0),
    ("BASIC_AUTH_URL", r"\b[a-z][a-z0-9+.\-]*://[^\s:/@]+:([^\s:/@]{3,})@", 1),
    ("BEARER_TOKEN", r"(?i)\bbearer\s+([A-Za-z0-9_\-.=]{20,})", 1),
)

# name = "value" / name: value, where the name looks like it holds a secret.
ASSIGNMENT = (
    r"(?i)(?:api[_-]?key|secret|token|passw(?:or)?d|pwd|access[_-]?key|private[_-]?key|"
    r"client[_-]?secret|auth)[A-Za-z0-9_\-]*[\"']?\s*[:=]\s*[\"']?([^\s\"',;]{12,})"
)
# A cheap pre-filter: nothing above can match without one of these substrings.
TRIGGER = regex.compile(
    r"(?i)AKIA|ASIA|AGPA|AIDA|AROA|ANPA|ANVA|AIPA|aws|AIza|AccountKey|gh[pousr]_|github_pat_|glpat-|xox|"
    r"hooks\.slack|_live_|_test_|sk-|SK[0-9a-f]{32}|SG\.|npm_|pypi-|PRIVATE KEY|eyJ|://[^\s/@]+:|bearer|"
    r"key|secret|token|passw|pwd|auth"
)
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
        self.patterns = [(name, regex.compile(p), group) for name, p, group in PATTERNS]
        self.assignment = regex.compile(ASSIGNMENT)

    def find(self, text: str) -> list[Finding]:
        if TRIGGER.search(text) is None:
            return []
        found: list[Finding] = []
        for name, pattern, group in self.patterns:
            for match in pattern.finditer(text):
                start, end = match.span(group)
                found.append(Finding(name, start, end, 1.0))
        for match in self.assignment.finditer(text):
            start, end = match.span(1)
            if any(f.start < end and start < f.end for f in found):
                continue
            entropy = shannon_entropy(match.group(1))
            if entropy >= self.min_entropy:
                found.append(Finding("GENERIC_SECRET", start, end, min(entropy / 4.5, 1.0)))
        return found

"""tracerail.guardrails: checks that run around model calls (PII, secrets, content, injection).

Importing this package is cheap: presidio, spaCy and scikit-learn load only when a policy
that uses them first runs.
"""

from __future__ import annotations

from tracerail.guardrails.base import FindingCheck
from tracerail.guardrails.policy import CheckConfig, Policy, PolicyError
from tracerail.guardrails.registry import check_types, register, unregister
from tracerail.guardrails.runner import Decision, GuardResult, PolicyRunner, runner_for
from tracerail.guardrails.types import Action, Finding, Guardrail, Target, Verdict

__all__ = [
    "Action",
    "CheckConfig",
    "Decision",
    "Finding",
    "FindingCheck",
    "GuardResult",
    "Guardrail",
    "Policy",
    "PolicyError",
    "PolicyRunner",
    "Target",
    "Verdict",
    "check_types",
    "register",
    "runner_for",
    "unregister",
]

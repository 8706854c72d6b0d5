"""Run the guardrail policy over texts in a model call's path.

placeholder until the guardrails merge: ``run_guardrails`` returns the texts unchanged. The
real implementation (issue 3) keeps this exact signature.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal


def run_guardrails(
    texts: Sequence[str],
    *,
    target: Literal["input", "output"],
    policy: Any = None,
    span: Any = None,
    context: Any = None,
) -> list[str]:
    """Return ``texts`` with redactions applied (same length and order).

    Raises :class:`~tracerail.GuardrailBlocked` when the policy blocks, and records each
    decision on ``span``. placeholder until the guardrails merge: a pass-through.
    """
    return list(texts)

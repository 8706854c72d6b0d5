"""Redacting what a span records, for spans whose call is not guarded.

A generation (or any ``@observe(policy=...)`` call) runs its guardrails on the call itself, so
what it records is already redacted. Other observed spans (agents, tools, retrievals, plain
spans) do not change their call, but their recorded input and output pass through the same
``redact`` checks of the active policy before they are set on the span: raw PII never leaves
the process when redaction is on. These redactions only change what is recorded, so they are
not guardrail decisions and add no ``run_guardrail`` events.
"""

from __future__ import annotations

import logging
from typing import Final, Literal

logger = logging.getLogger("tracerail")

# What a call without arguments or a result records (JSON): nothing a check could find.
_EMPTY_JSON: Final = frozenset({"{}", "[]", "null", '""', "true", "false"})


def redact_for_recording(text: str, *, target: Literal["input", "output"]) -> str | None:
    """``text`` with the active policy's ``redact`` checks for ``target`` applied.

    Returns ``text`` unchanged when no check redacts (or the policy is ``off``), and ``None``
    (record nothing) when a fail-closed check could not run. A fail-open check that cannot run
    leaves the text as it is, as it would for a guarded call. Never raises.
    """
    if text in _EMPTY_JSON:
        return text
    try:
        from tracerail.guard import active_policy
        from tracerail.guardrails.base import PLACEHOLDERS_KEY
        from tracerail.guardrails.redaction import PlaceholderBook
        from tracerail.guardrails.runner import runner_for
        from tracerail.guardrails.types import Action

        runner = runner_for(active_policy())
        configs = runner.redacting(target)
        if not configs:
            return text
        context = {PLACEHOLDERS_KEY: PlaceholderBook()}
    except Exception:
        logger.exception("tracerail: no redaction policy for recorded content; not recorded")
        return None
    for config in configs:
        try:
            verdict = runner.guardrail(config).check(text, target=target, context=context)
        except Exception as exc:
            if config.fail == "closed":
                logger.warning(
                    "tracerail: %s failed (%s) on recorded content; content not recorded",
                    config.name,
                    type(exc).__name__,
                )
                return None
            continue
        if verdict.action is Action.REDACT and verdict.redacted_text is not None:
            text = verdict.redacted_text
    return text

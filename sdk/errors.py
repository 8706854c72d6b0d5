"""Exceptions tracerail raises into application code.

The hierarchy, and the only two things an application ever sees from tracerail::

    TracerailError
    ├── ConfigError        invalid configuration, raised by ``init()`` (names the field)
    └── GuardrailBlocked   a guardrail policy blocked a model call's input or output

Telemetry failures (export errors, serialisation problems) are logged, never raised.
"""

from __future__ import annotations

from collections.abc import Sequence


class TracerailError(Exception):
    """Base class of every exception tracerail raises on purpose."""


class ConfigError(TracerailError, ValueError):
    """A configuration value is invalid; ``field`` names it."""

    def __init__(self, field: str, message: str) -> None:
        self.field = field
        super().__init__(f"{field}: {message}")


class GuardrailBlocked(TracerailError):
    """A guardrail blocked the call. ``reasons`` never contain the raw matched text."""

    def __init__(self, target: str, checks: Sequence[str], reasons: Sequence[str]) -> None:
        self.target = target
        self.checks = tuple(checks)
        self.reasons = tuple(reasons)
        joined = "; ".join(self.reasons) or "policy"
        super().__init__(f"{target} blocked by {', '.join(self.checks)}: {joined}")

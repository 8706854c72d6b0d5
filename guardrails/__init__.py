"""tracerail.guardrails: checks that run around model calls (PII, secrets, content, injection)."""

from __future__ import annotations

__all__: list[str] = []

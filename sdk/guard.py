"""``run_guardrails``: the guarded-call step every integration uses (``@observe``, providers).

Runs the active policy's checks for ``input`` or ``output`` on a list of texts, records each
decision on the span as an event ``run_guardrail {check}``, raises
:class:`~tracerail.GuardrailBlocked` on ``block`` and returns the texts with redactions applied.

The active policy is, first found: the ``policy`` argument, ``@observe(policy=...)`` around the
call, ``tracerail.init(policy=...)``, the ``TRACERAIL_POLICY`` file, ``./tracerail.toml``, the
default policy. ``tracerail.guardrails`` (and presidio with it) is imported only on first use.
"""

from __future__ import annotations

import functools
import json
import logging
import os
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from opentelemetry import trace

from tracerail import semconv
from tracerail.errors import ConfigError, GuardrailBlocked

if TYPE_CHECKING:
    from tracerail.guardrails.policy import Policy
    from tracerail.guardrails.runner import Decision

logger = logging.getLogger("tracerail")

PolicyLike = Any  # Policy | str | os.PathLike[str]; kept loose so this module stays import-light
_OFF = frozenset({"off", "none", "disabled", "false", "0"})

_scoped_policy: ContextVar[Policy | None] = ContextVar("tracerail_policy", default=None)
_file_cache: dict[tuple[str, float], Policy] = {}


def resolve_policy(policy: PolicyLike | None) -> Policy | None:
    """A ``Policy`` from a policy, a TOML path, ``"default"`` or ``"off"``; None stays None.

    Raises :class:`~tracerail.ConfigError` (a ``PolicyError``) naming the bad key.
    """
    if policy is None:
        return None
    from tracerail.guardrails.policy import Policy

    if isinstance(policy, Policy):
        return policy
    if isinstance(policy, str | os.PathLike):
        text = os.fspath(policy)
        if text.strip().lower() in _OFF:
            return Policy.disabled()
        if text.strip().lower() == "default":
            return _default()
        return _load_file(Path(text))
    raise ConfigError("policy", f"expected a Policy or a TOML path, got {type(policy).__name__}")


def _load_file(path: Path) -> Policy:
    from tracerail.guardrails.policy import Policy

    try:
        key = (str(path.resolve()), path.stat().st_mtime)
    except OSError:
        return Policy.from_toml(path)  # raises PolicyError naming the file problem
    cached = _file_cache.get(key)
    if cached is None:
        cached = _file_cache[key] = Policy.from_toml(path)
    return cached


def active_policy(explicit: PolicyLike | None = None) -> Policy:
    """The policy in force here (see the module docstring for the order)."""
    found = resolve_policy(explicit) or _scoped_policy.get()
    if found is not None:
        return found
    from tracerail.runtime import get_policy

    configured = get_policy()
    if configured is not None:
        return resolve_policy(configured) or _default()
    env = os.environ.get(semconv.ENV_POLICY, "").strip()
    if env:
        return resolve_policy(env) or _default()
    if os.path.isfile(semconv.DEFAULT_POLICY_FILE):  # os.path: this runs on every call
        return _load_file(Path(semconv.DEFAULT_POLICY_FILE))
    return _default()


@functools.cache
def _default() -> Policy:
    """One default policy object, so its version (a hash) is computed once."""
    from tracerail.guardrails.policy import Policy

    return Policy.default()


@contextmanager
def policy_scope(policy: PolicyLike | None) -> Iterator[None]:
    """Make ``policy`` the active one for code run inside (used by ``@observe(policy=...)``)."""
    if policy is None:
        yield
        return
    token = _scoped_policy.set(resolve_policy(policy))
    try:
        yield
    finally:
        _scoped_policy.reset(token)


def run_guardrails(
    texts: Sequence[str],
    *,
    target: Literal["input", "output"],
    policy: Policy | None = None,
    span: trace.Span | None = None,
    context: Mapping[str, Any] | None = None,
) -> list[str]:
    """Check ``texts``, record the decisions on ``span``, return them redacted (same order).

    Raises :class:`~tracerail.GuardrailBlocked` when a check blocks; its message names the
    checks and entity types, never the matched text. Any other failure is logged and the texts
    are returned unchanged (a failing *check* follows its fail-open/fail-closed setting).
    """
    items = list(texts)
    try:
        chosen = active_policy(policy)
        if not chosen.for_target(target):
            return items
        from tracerail.guardrails.runner import runner_for

        result = runner_for(chosen).run(items, target, context)
    except ConfigError:
        logger.exception("tracerail: invalid guardrail policy; guardrails skipped")
        return items
    except Exception:
        logger.exception("tracerail: guardrails failed; texts passed through unchanged")
        return items
    record_decisions(span or trace.get_current_span(), result.decisions, chosen, len(items))
    blocked = result.blocked
    if blocked:
        raise GuardrailBlocked(
            target,
            [d.check for d in blocked],
            [f"{d.check}: {d.reason or 'blocked'}" for d in blocked],
        )
    return [
        new if isinstance(new, str) else old for new, old in zip(result.texts, items, strict=True)
    ]


def decision_attributes(
    decision: Decision, policy: Policy, text_count: int
) -> dict[str, str | int | float | bool | list[str]]:
    """The attributes of one ``run_guardrail {check}`` event. Types, offsets, never values."""
    counts = decision.entity_counts
    attributes: dict[str, str | int | float | bool | list[str]] = {
        semconv.GEN_AI_GUARDRAIL_COMPONENT_NAME: decision.check,
        semconv.GEN_AI_GUARDRAIL_TARGET_TYPE: decision.target,
        semconv.GEN_AI_GUARDRAIL_VERDICT_TYPE: decision.action.value,
        semconv.TRACERAIL_GUARDRAIL_ACTION: decision.action.value,
        semconv.TRACERAIL_GUARDRAIL_CHECK_TYPE: decision.check_type,
        semconv.TRACERAIL_GUARDRAIL_POLICY_VERSION: policy.version,
        semconv.TRACERAIL_GUARDRAIL_POLICY_NAME: policy.name,
        semconv.TRACERAIL_GUARDRAIL_LATENCY_MS: round(decision.latency_ms, 4),
        semconv.TRACERAIL_GUARDRAIL_ENTITY_TYPES: sorted(counts),
        semconv.TRACERAIL_GUARDRAIL_ENTITY_COUNTS: json.dumps(counts, sort_keys=True),
        semconv.TRACERAIL_GUARDRAIL_TEXT_COUNT: text_count,
    }
    if decision.findings:
        attributes[semconv.TRACERAIL_GUARDRAIL_FINDINGS] = json.dumps(
            [{"text": i, **f.as_dict()} for i, f in decision.findings[:100]]
        )
    if decision.reason:
        attributes[semconv.TRACERAIL_GUARDRAIL_REASON] = decision.reason
    if decision.error:
        attributes[semconv.TRACERAIL_GUARDRAIL_ERROR] = decision.error
    return attributes


def record_decisions(
    span: trace.Span, decisions: Sequence[Decision], policy: Policy, text_count: int
) -> None:
    """One event per decision on ``span``. Never raises."""
    try:
        if not span.is_recording():
            return
        for decision in decisions:
            span.add_event(
                f"{semconv.GUARDRAIL_SPAN_PREFIX} {decision.check}",
                decision_attributes(decision, policy, text_count),
            )
    except Exception:
        logger.exception("tracerail: could not record guardrail decisions")

"""Trace and guard the official OpenAI and Anthropic clients with one line.

::

    client = tracerail.instrument(openai.OpenAI())    # this client only
    tracerail.instrument_all()                         # every client, present and future
    tracerail.uninstrument_all()

Each call becomes a ``"{operation} {model}"`` CLIENT span with the GenAI attributes, tokens,
cost and (with ``capture_content``) the redacted messages; the guardrail policy runs on the
prompt before the request and on the answer after it (see ``_pipeline`` and ``_streams``).
The provider packages are imported only when a client of theirs is instrumented.
"""

from __future__ import annotations

import importlib
import logging
import threading
from types import ModuleType
from typing import Any, TypeVar

from tracerail.instrumentation._pipeline import WRAPPED_MARK, Options, StreamOutput, Target

__all__ = ["Options", "instrument", "instrument_all", "uninstrument", "uninstrument_all"]

logger = logging.getLogger("tracerail")

PROVIDERS = ("openai", "anthropic")
C = TypeVar("C")

_lock = threading.Lock()
_patched: list[tuple[type, str, Any]] = []


def _provider_module(name: str) -> ModuleType:
    return importlib.import_module(f"tracerail.instrumentation.{name}")


def _targets(name: str) -> tuple[Target, ...]:
    targets: tuple[Target, ...] = _provider_module(name).TARGETS
    return targets


def _provider_of(client: object) -> str:
    root = type(client).__module__.split(".", 1)[0]
    if root in PROVIDERS:
        module = _provider_module(root)
        if isinstance(client, module.CLIENT_TYPES):
            return root
    raise TypeError(
        "tracerail.instrument() takes an openai.OpenAI/AsyncOpenAI or "
        f"anthropic.Anthropic/AsyncAnthropic client, got {type(client).__qualname__}"
    )


def _resource(client: object, path: tuple[str, ...]) -> Any:
    obj: Any = client
    for name in path:
        obj = getattr(obj, name, None)
        if obj is None:
            return None
    return obj


def instrument(
    client: C,
    *,
    policy: Any = None,
    guardrails: bool = True,
    stream_output: StreamOutput = "incremental",
) -> C:
    """Trace and guard every covered call of ``client`` (returned, for chaining).

    ``policy`` goes to the guardrails (None: the default policy); ``guardrails=False`` traces
    without guarding; ``stream_output`` is ``"incremental"`` or ``"buffered"`` (see
    :class:`Options`). Instrumenting twice, or a client whose class is already instrumented by
    :func:`instrument_all`, changes nothing. Raises TypeError for other objects.
    """
    provider = _provider_of(client)
    options = Options(policy=policy, guardrails=guardrails, stream_output=stream_output)
    for target in _targets(provider):
        resource = _resource(client, target.path)
        if not isinstance(resource, target.owner):
            continue
        current = getattr(resource, target.method)
        if hasattr(current, WRAPPED_MARK):
            continue
        setattr(resource, target.method, target.wrap(current, options))
    return client


def uninstrument(client: object) -> None:
    """Undo :func:`instrument` on ``client``."""
    for target in _targets(_provider_of(client)):
        resource = _resource(client, target.path)
        if resource is not None and target.method in vars(resource):
            delattr(resource, target.method)


def instrument_all(
    *,
    policy: Any = None,
    guardrails: bool = True,
    stream_output: StreamOutput = "incremental",
) -> list[str]:
    """Patch the client classes of every installed provider; returns the patched methods.

    Affects clients created before and after the call. Providers that are not installed are
    skipped. Undo with :func:`uninstrument_all`.
    """
    options = Options(policy=policy, guardrails=guardrails, stream_output=stream_output)
    done: list[str] = []
    with _lock:
        for provider in PROVIDERS:
            try:
                targets = _targets(provider)
            except ImportError:
                logger.debug("tracerail: %s is not installed; not instrumented", provider)
                continue
            for target in targets:
                original = vars(target.owner).get(target.method)
                if original is None or hasattr(original, WRAPPED_MARK):
                    continue
                setattr(target.owner, target.method, target.wrap(original, options))
                _patched.append((target.owner, target.method, original))
                done.append(
                    f"{target.owner.__module__}.{target.owner.__qualname__}.{target.method}"
                )
    return done


def uninstrument_all() -> None:
    """Restore every method :func:`instrument_all` patched. Safe to call more than once."""
    with _lock:
        while _patched:
            owner, method, original = _patched.pop()
            setattr(owner, method, original)

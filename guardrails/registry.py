"""The check registry: check type name → factory, plus the options each type accepts.

Built-in checks are registered as ``"module:attribute"`` paths so that nothing heavy (presidio,
spaCy, scikit-learn) is imported until a policy actually uses the check. Applications add their
own with :func:`register`.
"""

from __future__ import annotations

import importlib
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from tracerail.guardrails.types import TARGETS, Guardrail, Target

if TYPE_CHECKING:
    from tracerail.guardrails.policy import CheckConfig

Factory = Callable[["CheckConfig"], Guardrail]
OptionType = type | tuple[type, ...]


@dataclass(frozen=True)
class CheckSpec:
    """One registered check type; ``targets`` are the texts it can look at (its default)."""

    type: str
    factory: str | Factory
    options: Mapping[str, OptionType] = field(default_factory=dict)
    description: str = ""
    targets: tuple[Target, ...] = TARGETS

    def load(self) -> Factory:
        if callable(self.factory):
            return self.factory
        module, _, attr = self.factory.partition(":")
        loaded: Factory = getattr(importlib.import_module(module), attr)
        return loaded


_PKG = "tracerail.guardrails.checks"
_BUILTIN = (
    CheckSpec(
        "pii",
        f"{_PKG}.pii:PiiCheck",
        {
            "regions": list,
            "ner": bool,
            "names": bool,
            "ner_model": str,
            "recognizers": list,
            "deny_values": list,
            "salt": str,
            "key_env": str,
            "mask_char": str,
        },
        "personal data (e-mail, phone, cards, IBAN, SSN, IP, URL, wallets, birth dates, names)",
    ),
    CheckSpec(
        "secrets",
        f"{_PKG}.secrets:SecretsCheck",
        {"min_entropy": (int, float), "salt": str, "key_env": str, "mask_char": str},
        "API keys, tokens, private keys, JWTs, high-entropy assignments",
    ),
    CheckSpec(
        "content",
        f"{_PKG}.content:ContentCheck",
        {
            "libraries": list,
            "categories": list,
            "words": dict,
            "actions": dict,
            "pinyin": bool,
            "profanity": bool,
            "profanity_threshold": (int, float),
        },
        "sensitive content by category keyword libraries (evasion-proof) and a profanity score",
    ),
    CheckSpec(
        "injection",
        f"{_PKG}.injection:InjectionCheck",
        {"patterns": list},
        "prompt injection and jailbreak heuristics",
    ),
    CheckSpec(
        "topics",
        f"{_PKG}.topics:TopicsCheck",
        {"topics": dict, "min_hits": int},
        "banned topics by keyword sets",
    ),
    CheckSpec(
        "grounding",
        f"{_PKG}.grounding:GroundingCheck",
        {"support_threshold": (int, float), "require_sources": bool},
        "answer claims the call's sources do not support",
        targets=("output",),
    ),
    CheckSpec(
        "max_length",
        f"{_PKG}.length:MaxLengthCheck",
        {"max_chars": int},
        "texts longer than a limit",
    ),
)

_lock = threading.Lock()
_registry: dict[str, CheckSpec] = {spec.type: spec for spec in _BUILTIN}


def register(
    type_name: str,
    factory: Factory,
    *,
    options: Mapping[str, OptionType] | None = None,
    description: str = "",
) -> None:
    """Make a custom check type usable from policies (``type = "<type_name>"``)."""
    with _lock:
        _registry[type_name] = CheckSpec(type_name, factory, dict(options or {}), description)


def unregister(type_name: str) -> None:
    """Remove a custom check type (built-ins stay)."""
    with _lock:
        if type_name not in {s.type for s in _BUILTIN}:
            _registry.pop(type_name, None)


def get_spec(type_name: str) -> CheckSpec | None:
    return _registry.get(type_name)


def check_types() -> list[str]:
    """Every registered check type, sorted."""
    return sorted(_registry)


def create(config: CheckConfig) -> Guardrail:
    """Instantiate the check a policy entry describes."""
    spec = _registry.get(config.type)
    if spec is None:
        raise KeyError(f"unknown check type {config.type!r}")
    guardrail = spec.load()(config)
    return guardrail

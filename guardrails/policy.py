"""``Policy``: which checks run on input and output, how they act, and the policy's version.

A policy file (TOML) names each check in a ``[checks.<name>]`` table::

    name = "support-bot"

    [checks.pii]
    action = "redact"            # allow | flag | redact | block
    targets = ["input", "output"]
    threshold = 0.5              # minimum finding score
    entities = []                # only these entity types (empty: all)
    exclude_entities = ["URL"]
    allow_values = ["support@example.com"]
    operator = "placeholder"     # placeholder | mask | hash | encrypt
    fail = "open"                # open: allow when the check errors; closed: block
    regions = ["US", "GB"]       # check-specific options

    [checks.strict_output]
    type = "pii"                 # a second instance of a check type under another name
    targets = ["output"]
    action = "block"

The version is a hash of the normalised content, recorded on every decision. Invalid files fail
at load with :class:`PolicyError` naming the offending key.
"""

from __future__ import annotations

import hashlib
import json
import os
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any, Literal

from tracerail.errors import ConfigError
from tracerail.guardrails import keywords, registry
from tracerail.guardrails.keywords import DEFAULT_LIBRARIES as DEFAULTS
from tracerail.guardrails.types import TARGETS, Action, Target

FailMode = Literal["open", "closed"]
Operator = Literal["placeholder", "mask", "hash", "encrypt"]
OPERATORS: tuple[Operator, ...] = ("placeholder", "mask", "hash", "encrypt")
FAIL_MODES: tuple[FailMode, ...] = ("open", "closed")

_COMMON_KEYS = frozenset(
    {
        "type",
        "action",
        "targets",
        "threshold",
        "entities",
        "exclude_entities",
        "allow_values",
        "operator",
        "fail",
        "enabled",
    }
)


class PolicyError(ConfigError):
    """A policy is invalid; ``field`` is the dotted key at fault (e.g. ``checks.pii.action``)."""


@dataclass(frozen=True)
class CheckConfig:
    """One check of a policy and how it acts."""

    name: str
    action: Action
    type: str = ""
    targets: tuple[Target, ...] = TARGETS
    threshold: float = 0.5
    entities: tuple[str, ...] = ()
    exclude_entities: tuple[str, ...] = ()
    allow_values: tuple[str, ...] = ()
    operator: Operator = "placeholder"
    fail: FailMode = "open"
    options: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.type:
            object.__setattr__(self, "type", self.name)
        object.__setattr__(self, "action", Action(self.action))

    def wants(self, entity_type: str) -> bool:
        """Whether findings of ``entity_type`` count under this entry's entity lists."""
        if self.entities and entity_type not in self.entities:
            return False
        return entity_type not in self.exclude_entities

    def as_dict(self) -> dict[str, Any]:
        return {
            "type": self.type,
            "action": self.action.value,
            "targets": list(self.targets),
            "threshold": self.threshold,
            "entities": list(self.entities),
            "exclude_entities": list(self.exclude_entities),
            "allow_values": list(self.allow_values),
            "operator": self.operator,
            "fail": self.fail,
            **dict(self.options),
        }


@dataclass(frozen=True)
class Policy:
    """An ordered set of checks. Build from code, :meth:`from_toml` or :meth:`default`."""

    checks: tuple[CheckConfig, ...] = ()
    name: str = "custom"

    def __post_init__(self) -> None:
        seen: set[str] = set()
        for check in self.checks:
            if check.name in seen:
                raise PolicyError(f"checks.{check.name}", "defined twice")
            seen.add(check.name)
            _validate_entry(check)

    @cached_property
    def version(self) -> str:
        """A short hash of the normalised content: equal policies have equal versions."""
        content = self.as_dict()
        # The contents of keyword libraries, not only their names: a changed file is a new
        # policy version, so every decision records exactly which library was in force.
        libraries = {
            c.name: keywords.digest(str(s) for s in c.options.get("libraries", DEFAULTS))
            for c in self.checks
            if c.type == "content"
        }
        if libraries:
            content["keyword_libraries"] = libraries
        canonical = json.dumps(content, sort_keys=True, separators=(",", ":"), default=str)
        return hashlib.sha256(canonical.encode()).hexdigest()[:16]

    def for_target(self, target: Target) -> tuple[CheckConfig, ...]:
        """The checks that run on ``target``, in policy order (and whose type can check it)."""
        return tuple(c for c in self.checks if target in c.targets and _supports(c, target))

    def as_dict(self) -> dict[str, Any]:
        return {"name": self.name, "checks": {c.name: c.as_dict() for c in self.checks}}

    # --- constructors --------------------------------------------------------------------------
    @classmethod
    def default(cls) -> Policy:
        """PII and secrets redacted, prompt injection and sensitive content flagged, both ways."""
        return cls(
            name="default",
            checks=(
                CheckConfig("pii", Action.REDACT),
                CheckConfig("secrets", Action.REDACT),
                CheckConfig("injection", Action.FLAG),
                CheckConfig("content", Action.FLAG),
            ),
        )

    @classmethod
    def disabled(cls) -> Policy:
        """No checks at all: raw content is recorded. An explicit opt-out."""
        return cls(name="disabled", checks=())

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Policy:
        """Build from the parsed structure of a policy file; raises :class:`PolicyError`."""
        if not isinstance(data, Mapping):
            raise PolicyError("policy", "expected a table")
        unknown = set(data) - {"name", "checks"}
        if unknown:
            raise PolicyError(sorted(unknown)[0], "unknown key (expected name, checks)")
        name = data.get("name", "custom")
        if not isinstance(name, str) or not name:
            raise PolicyError("name", "expected a non-empty string")
        checks = data.get("checks", {})
        if not isinstance(checks, Mapping):
            raise PolicyError("checks", "expected a table of [checks.<name>] tables")
        entries: list[CheckConfig] = []
        for check_name, raw in checks.items():
            entry = _parse_entry(str(check_name), raw)
            if entry is not None:
                entries.append(entry)
        return cls(checks=tuple(entries), name=name)

    @classmethod
    def from_toml(cls, path: str | os.PathLike[str]) -> Policy:
        """Load a TOML policy file; raises :class:`PolicyError` naming the offending key."""
        file = Path(path)
        try:
            raw = file.read_bytes()
        except OSError as exc:
            raise PolicyError("policy", f"cannot read {file}: {exc.strerror or exc}") from None
        try:
            data = tomllib.loads(raw.decode("utf-8"))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise PolicyError("policy", f"{file} is not valid TOML: {exc}") from None
        return cls.from_dict(data)


def _key(check: str, key: str) -> str:
    return f"checks.{check}.{key}"


def _strings(check: str, key: str, value: object) -> tuple[str, ...]:
    if not isinstance(value, list | tuple) or not all(isinstance(v, str) for v in value):
        raise PolicyError(_key(check, key), "expected a list of strings")
    return tuple(value)


def _choice(check: str, key: str, value: object, allowed: Sequence[str]) -> str:
    if value not in allowed:
        raise PolicyError(_key(check, key), f"expected one of {', '.join(allowed)}, got {value!r}")
    return str(value)


def _parse_entry(name: str, raw: object) -> CheckConfig | None:
    if not isinstance(raw, Mapping):
        raise PolicyError(f"checks.{name}", "expected a table")
    type_name = raw.get("type", name)
    if not isinstance(type_name, str):
        raise PolicyError(_key(name, "type"), "expected a string")
    spec = registry.get_spec(type_name)
    if spec is None:
        known = ", ".join(registry.check_types())
        raise PolicyError(_key(name, "type"), f"unknown check {type_name!r} (known: {known})")
    enabled = raw.get("enabled", True)
    if not isinstance(enabled, bool):
        raise PolicyError(_key(name, "enabled"), "expected true or false")
    for key in raw:
        if key not in _COMMON_KEYS and key not in spec.options:
            allowed = ", ".join(sorted(_COMMON_KEYS | set(spec.options)))
            raise PolicyError(_key(name, str(key)), f"unknown key (allowed: {allowed})")
    if "action" not in raw:
        raise PolicyError(_key(name, "action"), "missing (allow, flag, redact or block)")
    action = _choice(name, "action", raw["action"], [a.value for a in Action])
    targets = _strings(name, "targets", raw.get("targets", list(spec.targets)))
    for target in targets:
        _choice(name, "targets", target, spec.targets)
    threshold = raw.get("threshold", 0.5)
    if isinstance(threshold, bool) or not isinstance(threshold, int | float):
        raise PolicyError(_key(name, "threshold"), "expected a number between 0 and 1")
    options = {k: v for k, v in raw.items() if k in spec.options}
    for key, value in options.items():
        if not isinstance(value, spec.options[key]) or isinstance(value, bool) != (
            spec.options[key] is bool
        ):
            raise PolicyError(_key(name, key), f"expected {_type_name(spec.options[key])}")
    if not enabled:
        return None
    return CheckConfig(
        name=name,
        type=type_name,
        action=Action(action),
        targets=tuple(targets),  # type: ignore[arg-type]
        threshold=float(threshold),
        entities=_strings(name, "entities", raw.get("entities", [])),
        exclude_entities=_strings(name, "exclude_entities", raw.get("exclude_entities", [])),
        allow_values=_strings(name, "allow_values", raw.get("allow_values", [])),
        operator=_choice(name, "operator", raw.get("operator", "placeholder"), OPERATORS),  # type: ignore[arg-type]
        fail=_choice(name, "fail", raw.get("fail", "open"), FAIL_MODES),  # type: ignore[arg-type]
        options=options,
    )


def _type_name(kind: registry.OptionType) -> str:
    kinds = kind if isinstance(kind, tuple) else (kind,)
    names = {
        list: "a list",
        dict: "a table",
        bool: "true or false",
        str: "a string",
        int: "a number",
    }
    return " or ".join(dict.fromkeys(names.get(k, k.__name__) for k in kinds))


def _supports(check: CheckConfig, target: Target) -> bool:
    spec = registry.get_spec(check.type)
    return spec is None or target in spec.targets


def _validate_entry(check: CheckConfig) -> None:
    spec = registry.get_spec(check.type)
    if spec is None:
        raise PolicyError(_key(check.name, "type"), f"unknown check {check.type!r}")
    if check.targets and not set(check.targets) & set(spec.targets):
        allowed = ", ".join(spec.targets)
        raise PolicyError(_key(check.name, "targets"), f"{check.type} checks only {allowed}")
    if not 0.0 <= check.threshold <= 1.0:
        raise PolicyError(_key(check.name, "threshold"), "expected a number between 0 and 1")
    _choice(check.name, "operator", check.operator, OPERATORS)
    _choice(check.name, "fail", check.fail, FAIL_MODES)
    for target in check.targets:
        _choice(check.name, "targets", target, TARGETS)

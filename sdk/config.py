"""SDK configuration: argument > ``TRACERAIL_*`` environment variable > default."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TypedDict, Unpack
from urllib.parse import urlparse

from tracerail import semconv
from tracerail.errors import ConfigError

DEFAULT_ENDPOINT = "http://127.0.0.1:4318"
DEFAULT_SERVICE_NAME = "unknown_service"
DEFAULT_MAX_CONTENT_CHARS = 16_384
DEFAULT_SPOOL_MAX_MB = 256
# The evaluator run in the background on generations with sources; "off" runs none.
DEFAULT_EVALUATOR = "heuristic"
EVALUATOR_OFF = "off"

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


@dataclass(frozen=True, slots=True)
class Config:
    """Resolved, validated SDK settings."""

    endpoint: str = DEFAULT_ENDPOINT
    api_key: str | None = None
    service_name: str = DEFAULT_SERVICE_NAME
    capture_content: bool = True
    sample_rate: float = 1.0
    max_content_chars: int = DEFAULT_MAX_CONTENT_CHARS
    environment: str | None = None
    app_version: str | None = None
    spool_dir: str | None = None
    spool_max_mb: int = DEFAULT_SPOOL_MAX_MB
    evaluator: str = DEFAULT_EVALUATOR

    @property
    def traces_url(self) -> str:
        """The OTLP/HTTP traces URL under ``endpoint``."""
        return self.endpoint.rstrip("/") + "/v1/traces"


def _pick(overrides: Mapping[str, object], name: str, env_name: str) -> object | None:
    """The override ``name`` if given, else the non-empty environment variable, else None."""
    arg = overrides.get(name)
    if arg is not None:
        return arg
    raw = os.environ.get(env_name)
    return raw if raw not in (None, "") else None


def _as_bool(field: str, value: object) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise ConfigError(field, f"expected true/false, got {value!r}")


def _as_float(field: str, value: object) -> float:
    if isinstance(value, bool):
        raise ConfigError(field, f"expected a number, got {value!r}")
    try:
        return float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise ConfigError(field, f"expected a number, got {value!r}") from None


def _as_int(field: str, value: object) -> int:
    if isinstance(value, bool):
        raise ConfigError(field, f"expected an integer, got {value!r}")
    try:
        return int(value)  # type: ignore[call-overload,no-any-return]
    except (TypeError, ValueError):
        raise ConfigError(field, f"expected an integer, got {value!r}") from None


class ConfigOverrides(TypedDict, total=False):
    """The settings a caller may pass to :func:`resolve_config`, each as in :class:`Config`.

    A setting left out (or given as None) comes from its ``TRACERAIL_*`` environment variable,
    else the default.
    """

    endpoint: str | None
    api_key: str | None
    service_name: str | None
    capture_content: bool | None
    sample_rate: float | None
    max_content_chars: int | None
    environment: str | None
    app_version: str | None
    spool_dir: str | None
    spool_max_mb: int | None
    evaluator: str | None


def resolve_config(**overrides: Unpack[ConfigOverrides]) -> Config:
    """Merge arguments, environment and defaults into a validated :class:`Config`.

    Raises :class:`TypeError` for a keyword that is not a setting of :class:`ConfigOverrides`.
    """
    unknown = sorted(set(overrides) - ConfigOverrides.__optional_keys__)
    if unknown:
        raise TypeError(f"resolve_config() got unexpected keyword arguments: {unknown}")
    raw_endpoint = _pick(overrides, "endpoint", semconv.ENV_ENDPOINT) or DEFAULT_ENDPOINT
    parsed = urlparse(str(raw_endpoint))
    if parsed.scheme not in ("http", "https") or not parsed.netloc:
        raise ConfigError("endpoint", f"expected an http(s):// URL, got {raw_endpoint!r}")

    name = str(
        _pick(overrides, "service_name", semconv.ENV_SERVICE_NAME) or DEFAULT_SERVICE_NAME
    ).strip()
    if not name:
        raise ConfigError("service_name", "must not be empty")

    raw_capture = _pick(overrides, "capture_content", semconv.ENV_CAPTURE_CONTENT)
    capture = True if raw_capture is None else _as_bool("capture_content", raw_capture)

    raw_rate = _pick(overrides, "sample_rate", semconv.ENV_SAMPLE_RATE)
    rate = 1.0 if raw_rate is None else _as_float("sample_rate", raw_rate)
    if not 0.0 <= rate <= 1.0:
        raise ConfigError("sample_rate", f"must be between 0 and 1, got {rate}")

    raw_max = _pick(overrides, "max_content_chars", semconv.ENV_MAX_CONTENT_CHARS)
    max_chars = (
        DEFAULT_MAX_CONTENT_CHARS if raw_max is None else _as_int("max_content_chars", raw_max)
    )
    if max_chars < 0:
        raise ConfigError("max_content_chars", f"must be >= 0, got {max_chars}")

    raw_spool = _pick(overrides, "spool_dir", semconv.ENV_SPOOL_DIR)
    raw_spool_mb = _pick(overrides, "spool_max_mb", semconv.ENV_SPOOL_MAX_MB)
    spool_mb = (
        DEFAULT_SPOOL_MAX_MB if raw_spool_mb is None else _as_int("spool_max_mb", raw_spool_mb)
    )
    if spool_mb < 1:
        raise ConfigError("spool_max_mb", f"must be >= 1, got {spool_mb}")

    evaluator_name = str(
        _pick(overrides, "evaluator", semconv.ENV_EVALUATOR) or DEFAULT_EVALUATOR
    ).strip()
    if not evaluator_name:
        raise ConfigError("evaluator", f"must not be empty (use {EVALUATOR_OFF!r} for none)")

    key = _pick(overrides, "api_key", semconv.ENV_API_KEY)
    env = _pick(overrides, "environment", semconv.ENV_ENVIRONMENT)
    version = _pick(overrides, "app_version", semconv.ENV_APP_VERSION)
    return Config(
        endpoint=str(raw_endpoint).rstrip("/"),
        api_key=None if key is None else str(key),
        service_name=name,
        capture_content=capture,
        sample_rate=rate,
        max_content_chars=max_chars,
        environment=None if env is None else str(env),
        app_version=None if version is None else str(version),
        spool_dir=None if raw_spool is None else str(raw_spool),
        spool_max_mb=spool_mb,
        evaluator=evaluator_name,
    )

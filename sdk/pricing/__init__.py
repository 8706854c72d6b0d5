"""Model prices and the cost of one call.

The bundled table (``prices.toml`` in this package, USD per million tokens per token class) is
loaded on first use, then the file named by ``TRACERAIL_PRICES_FILE`` if set; code can override
either with :func:`set_price` or :func:`load_prices`. A model is found by exact name, else by
the longest known name that prefixes it followed by ``-`` (dated snapshots). Unknown models get
no cost and one warning per model, never a guessed number.
"""

from __future__ import annotations

import logging
import os
import threading
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from tracerail import semconv
from tracerail.errors import ConfigError

__all__ = [
    "ModelPrice",
    "TokenUsage",
    "cost_usd",
    "get_price",
    "load_prices",
    "reset_prices",
    "set_price",
]

logger = logging.getLogger("tracerail")

_PER_TOKENS = 1_000_000


@dataclass(frozen=True, slots=True)
class ModelPrice:
    """USD per million tokens; unset classes fall back (cached/cache_write → input, reasoning →
    output)."""

    input: float
    output: float = 0.0
    cached_input: float | None = None
    cache_write: float | None = None
    reasoning: float | None = None


@dataclass(frozen=True, slots=True)
class TokenUsage:
    """Token counts of one call. ``input_tokens`` includes cached and cache-write tokens;
    ``output_tokens`` includes reasoning tokens (the OpenTelemetry GenAI convention)."""

    input_tokens: int = 0
    output_tokens: int = 0
    cached_input_tokens: int = 0
    cache_creation_input_tokens: int = 0
    reasoning_tokens: int = 0


def _price_from_mapping(model: str, raw: Mapping[str, Any]) -> ModelPrice:
    known = {"input", "output", "cached_input", "cache_write", "reasoning"}
    unknown = set(raw) - known
    if unknown or "input" not in raw:
        raise ConfigError(
            f"pricing.models.{model}",
            f"needs 'input' and only {sorted(known)}, got {sorted(raw)}",
        )
    values: dict[str, float] = {}
    for key, value in raw.items():
        if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
            raise ConfigError(f"pricing.models.{model}.{key}", f"expected a number >= 0: {value!r}")
        values[key] = float(value)
    return ModelPrice(**values)


def parse_prices(document: Mapping[str, Any]) -> dict[str, ModelPrice]:
    """Prices from a TOML document with a ``[models."name"]`` or ``[pricing.models."name"]``
    table per model (the latter lets a policy/config file carry prices)."""
    section = document.get("pricing", document)
    models = section.get("models", {}) if isinstance(section, Mapping) else {}
    if not isinstance(models, Mapping):
        raise ConfigError("pricing.models", "expected a table of models")
    prices: dict[str, ModelPrice] = {}
    for name, raw in models.items():
        if not isinstance(raw, Mapping):
            raise ConfigError(f"pricing.models.{name}", "expected a table")
        prices[str(name)] = _price_from_mapping(str(name), raw)
    return prices


class PriceTable:
    """Thread-safe model → price map with prefix lookup."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._prices: dict[str, ModelPrice] | None = None
        self._warned: set[str] = set()

    def _loaded(self) -> dict[str, ModelPrice]:
        prices = self._prices
        if prices is None:
            with self._lock:
                if self._prices is None:
                    self._prices = _initial_prices()
                prices = self._prices
        return prices

    def get(self, model: str) -> ModelPrice | None:
        prices = self._loaded()
        if model in prices:
            return prices[model]
        best: str | None = None
        for name in prices:
            if model.startswith(name + "-") and (best is None or len(name) > len(best)):
                best = name
        return prices[best] if best is not None else None

    def set(self, model: str, price: ModelPrice) -> None:
        with self._lock:
            prices = dict(self._prices if self._prices is not None else _initial_prices())
            prices[model] = price
            self._prices = prices
            self._warned.discard(model)

    def update(self, prices: Mapping[str, ModelPrice]) -> None:
        for model, price in prices.items():
            self.set(model, price)

    def reset(self) -> None:
        with self._lock:
            self._prices = None
            self._warned.clear()

    def warn_once(self, model: str) -> None:
        with self._lock:
            if model in self._warned:
                return
            self._warned.add(model)
        logger.warning(
            "tracerail: no price for model %r; its calls get no cost "
            "(add one with tracerail.pricing.set_price or %s)",
            model,
            semconv.ENV_PRICES_FILE,
        )


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError("pricing", f"cannot read {path}: {exc}") from exc


def _initial_prices() -> dict[str, ModelPrice]:
    text = resources.files(__name__).joinpath("prices.toml").read_text(encoding="utf-8")
    prices = parse_prices(tomllib.loads(text))
    extra = os.environ.get(semconv.ENV_PRICES_FILE)
    if extra:
        try:
            prices.update(parse_prices(_read_toml(Path(extra))))
        except ConfigError:
            logger.exception("tracerail: ignoring %s", semconv.ENV_PRICES_FILE)
    return prices


_table = PriceTable()


def get_price(model: str) -> ModelPrice | None:
    """The price of ``model`` (exact or longest ``name-`` prefix), or None."""
    return _table.get(model)


def set_price(model: str, price: ModelPrice) -> None:
    """Add or replace the price of ``model`` (and of its dated snapshots)."""
    _table.set(model, price)


def load_prices(path: str | Path) -> dict[str, ModelPrice]:
    """Merge the prices in a TOML file over the current table; returns what was loaded.

    Raises :class:`~tracerail.ConfigError` naming the bad entry.
    """
    prices = parse_prices(_read_toml(Path(path)))
    _table.update(prices)
    return prices


def reset_prices() -> None:
    """Forget overrides and warnings; the next lookup reloads the bundled table."""
    _table.reset()


def cost_usd(model: str | None, usage: TokenUsage, *, warn: bool = True) -> float | None:
    """Cost of one call in USD, or None when ``model`` has no price (warned once per model)."""
    if not model:
        return None
    price = _table.get(model)
    if price is None:
        if warn:
            _table.warn_once(model)
        return None
    cached = min(usage.cached_input_tokens, usage.input_tokens)
    writes = min(usage.cache_creation_input_tokens, usage.input_tokens - cached)
    fresh_input = usage.input_tokens - cached - writes
    reasoning = min(usage.reasoning_tokens, usage.output_tokens)
    total = (
        fresh_input * price.input
        + cached * (price.input if price.cached_input is None else price.cached_input)
        + writes * (price.input if price.cache_write is None else price.cache_write)
        + (usage.output_tokens - reasoning) * price.output
        + reasoning * (price.output if price.reasoning is None else price.reasoning)
    )
    return total / _PER_TOKENS

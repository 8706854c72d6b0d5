"""Turning call arguments and results into bounded JSON text for span attributes."""

from __future__ import annotations

import dataclasses
import functools
import inspect
import json
from collections.abc import Callable, Mapping
from typing import Any

_SKIPPED_PARAMS = frozenset({"self", "cls"})


def _fallback(value: object) -> object:
    """JSON fallback: pydantic models, dataclasses, sets, bytes, then ``repr``."""
    dump = getattr(value, "model_dump", None)
    if callable(dump):
        try:
            return dump(mode="json")
        except Exception:
            pass
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return dataclasses.asdict(value)
    if isinstance(value, set | frozenset | tuple):
        return list(value)
    if isinstance(value, bytes | bytearray):
        return f"<{len(value)} bytes>"
    return repr(value)


def to_json(value: object) -> str:
    """Serialise anything to JSON text; strings are kept as they are."""
    if isinstance(value, str):
        return value
    try:
        return json.dumps(value, default=_fallback, ensure_ascii=False)
    except (TypeError, ValueError, RecursionError):
        return repr(value)


def truncate(text: str, limit: int) -> tuple[str, bool]:
    """Cut ``text`` to ``limit`` characters; the flag says whether it was cut."""
    if len(text) <= limit:
        return text, False
    return text[:limit], True


@functools.lru_cache(maxsize=4096)
def _signature(func: Callable[..., Any]) -> inspect.Signature:
    return inspect.signature(func)


def bound_arguments(
    func: Callable[..., Any], args: tuple[Any, ...], kwargs: Mapping[str, Any]
) -> dict[str, Any]:
    """Name each argument after its parameter, dropping ``self``/``cls``."""
    try:
        bound = _signature(func).bind_partial(*args, **kwargs)
    except (TypeError, ValueError):
        return {"args": list(args), "kwargs": dict(kwargs)}
    return {k: v for k, v in bound.arguments.items() if k not in _SKIPPED_PARAMS}

"""Cursor pagination of the list endpoints: the page-size bound and a bad cursor, as 400s."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import TypeVar

from tracerail.collector.api.errors import ApiError
from tracerail.collector.settings import Settings
from tracerail.collector.store.spans import InvalidCursor

__all__ = ["checked_limit", "read_page"]

T = TypeVar("T")


def checked_limit(limit: int, settings: Settings) -> int:
    """``limit`` when it is at most ``settings.max_page_size``; else a 400 naming ``limit``."""
    if limit > settings.max_page_size:
        raise ApiError(400, "invalid_parameter", f"limit: at most {settings.max_page_size}")
    return limit


async def read_page(read: Callable[[], T]) -> T:
    """Run a store's page read in a thread; a cursor it refuses is a 400 naming ``cursor``."""
    try:
        return await asyncio.to_thread(read)
    except InvalidCursor as exc:
        raise ApiError(400, "invalid_parameter", f"cursor: {exc}") from None

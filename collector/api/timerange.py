"""The ``from``/``to`` window every time-bounded read route accepts."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated, Final

from fastapi import Depends, Query

from tracerail.collector.api.errors import ApiError

DEFAULT_DAYS: Final = 30
MAX_DAYS: Final = 366
# ClickHouse DateTime covers 1970-01-01 … 2106-02-07; outside it bound parameters overflow.
EARLIEST: Final = datetime(1970, 1, 2, tzinfo=UTC)
LATEST: Final = datetime(2105, 12, 31, tzinfo=UTC)


def invalid(name: str, detail: str) -> ApiError:
    """A 400 naming the parameter."""
    return ApiError(400, "invalid_parameter", f"{name}: {detail}")


def time_range(start: datetime | None, end: datetime | None) -> tuple[datetime, datetime]:
    """``[from, to)`` in UTC: default the last 30 days, at most 366 days, from before to."""
    for name, value in (("from", start), ("to", end)):
        if value is not None and value.tzinfo is None:
            raise invalid(name, "needs a timezone, e.g. 2026-01-01T00:00:00Z")
        if value is not None and not EARLIEST <= value <= LATEST:
            raise invalid(name, "must be between 1970-01-02 and 2105-12-31")
    hi = (end or datetime.now(UTC)).astimezone(UTC)
    lo = (start or hi - timedelta(days=DEFAULT_DAYS)).astimezone(UTC)
    if lo >= hi:
        raise invalid("from", "must be before to")
    if hi - lo > timedelta(days=MAX_DAYS):
        raise invalid("from", f"from and to must be at most {MAX_DAYS} days apart")
    if lo < EARLIEST:
        raise invalid("from", "must be between 1970-01-02 and 2105-12-31")
    return lo, hi


def _ns(name: str, value: datetime | None) -> int | None:
    if value is None:
        return None
    if value.tzinfo is None:
        raise invalid(name, "needs a timezone, e.g. 2026-01-01T00:00:00Z")
    return int(value.timestamp() * 1_000_000) * 1000


def optional_window_ns(
    start: datetime | None, end: datetime | None
) -> tuple[int | None, int | None]:
    """``[from, to)`` as epoch nanoseconds for listings, either side optional; from before to."""
    start_ns, end_ns = _ns("from", start), _ns("to", end)
    if start_ns is not None and end_ns is not None and start_ns >= end_ns:
        raise invalid("from", "must be before to")
    return start_ns, end_ns


FromQuery = Annotated[datetime | None, Query(alias="from", description="ISO 8601 start")]
ToQuery = Annotated[datetime | None, Query(description="ISO 8601 end (exclusive)")]


def listing_window(from_: FromQuery = None, to: ToQuery = None) -> tuple[int | None, int | None]:
    """The ``from``/``to`` query parameters of a listing as :func:`optional_window_ns`."""
    return optional_window_ns(from_, to)


# ``(start_ns, end_ns)`` of a listing route, either side ``None``; a bad value is a 400.
ListingWindow = Annotated[tuple[int | None, int | None], Depends(listing_window)]

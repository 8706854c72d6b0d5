"""One small HTTP client for the collector's JSON API (standard library only).

Used by the SDK (``tracerail.score`` for ended spans, background evaluation) and by every
``tracerail`` CLI command that talks to a running collector. Errors come back as one
exception, :class:`CollectorHTTPError`, with the status (0 when no answer came) and the
collector's ``{"error", "detail"}``.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Mapping
from http.client import HTTPResponse
from typing import Any

__all__ = ["CollectorHTTPError", "request"]


class CollectorHTTPError(Exception):
    """An error answer (or none: ``status`` 0) from the collector."""

    def __init__(self, status: int, error: str, detail: str) -> None:
        self.status = status
        self.error = error
        self.detail = detail
        super().__init__(f"{error}: {detail}" if detail else error)


def request(
    endpoint: str,
    path: str,
    *,
    params: Mapping[str, Any] | None = None,
    body: Any = None,
    api_key: str | None = None,
    timeout: float = 30.0,
) -> HTTPResponse:
    """GET ``path`` (a JSON POST of ``body`` when given); the open response, to close after.

    ``params`` set to ``None`` are left out of the query string.
    """
    query = urllib.parse.urlencode({k: v for k, v in (params or {}).items() if v is not None})
    url = f"{endpoint.rstrip('/')}{path}" + (f"?{query}" if query else "")
    prepared = urllib.request.Request(url)
    if body is not None:
        prepared.data = json.dumps(body).encode("utf-8")
        prepared.add_header("Content-Type", "application/json")
    if api_key:
        prepared.add_header("Authorization", f"Bearer {api_key}")
    try:
        response: HTTPResponse = urllib.request.urlopen(prepared, timeout=timeout)
        return response
    except urllib.error.HTTPError as exc:
        raw = exc.read()[:4000]
        try:
            answer = json.loads(raw)
            error = str(answer.get("error", exc.code))
            detail = str(answer.get("detail", ""))
        except (ValueError, AttributeError):
            error, detail = f"HTTP {exc.code}", raw.decode("utf-8", "replace")[:500]
        raise CollectorHTTPError(exc.code, error, detail) from None
    except (OSError, ValueError) as exc:
        raise CollectorHTTPError(
            0, "unreachable", f"cannot reach the collector at {endpoint}: {exc}"
        ) from None

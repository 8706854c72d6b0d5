"""Exceptions of the collector: one hierarchy, drawn here.

::

    CollectorError
    ├── InvalidInput (ValueError)      a client sent something wrong; the API answers 4xx
    │   ├── DecodeError                 an OTLP body that cannot be read (otlp/errors.py)
    │   │   ├── UnsupportedContentType  415
    │   │   ├── BodyTooLarge            413
    │   │   └── InvalidSpan             400
    │   ├── InvalidScore                scores.py
    │   ├── InvalidLabel                review.py
    │   ├── InvalidCursor               store/spans.py
    │   ├── InvalidProject              store/projects.py
    │   ├── InvalidKey                  store/keys.py
    │   └── PackError                   evidence_pack.py
    ├── AuthError                       missing, unknown or under-scoped API key (401/403)
    ├── Unavailable (RuntimeError)      try again later; nothing was written
    │   ├── IngestBusy                  ingest at capacity (429)
    │   ├── IngestUnavailable           storage down and the WAL full, or a worker died (503)
    │   ├── WorkerLost                  an ingest worker process exited (prepare.py)
    │   ├── WalFull                     the write-ahead log reached its size limit
    │   ├── StoreError                  storage unreachable or refused an operation
    │   └── PdfUnavailable              no Chromium to print a PDF report
    ├── InsecureBind (RuntimeError)     a non-loopback bind without API keys
    ├── ApiError                        an HTTP error answer with its status and code (api/)
    └── ApiFailure                      the CLI's HTTP client got an error answer

Every error leaves the HTTP API as ``{"error": <code>, "detail": <what was wrong>}``
(``api/errors.py`` builds that body, and only it).
"""

from __future__ import annotations

__all__ = ["CollectorError", "InvalidInput", "Unavailable"]


class CollectorError(Exception):
    """Base class of every exception the collector raises on purpose."""


class InvalidInput(CollectorError, ValueError):
    """Input from a client (body, parameter, file) that breaks a rule; the message names it."""


class Unavailable(CollectorError, RuntimeError):
    """A resource is missing or overloaded for now; retrying later can succeed."""

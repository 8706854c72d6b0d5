"""Decode errors: each maps to one HTTP status and names the problem."""

from __future__ import annotations

from tracerail.collector.errors import InvalidInput


class DecodeError(InvalidInput):
    """The request body cannot be decoded; ``status`` is the HTTP status to answer."""

    status = 400
    error = "malformed_body"

    def __init__(self, detail: str) -> None:
        self.detail = detail
        super().__init__(detail)


class UnsupportedContentType(DecodeError):
    status = 415
    error = "unsupported_content_type"


class BodyTooLarge(DecodeError):
    status = 413
    error = "body_too_large"


class InvalidSpan(DecodeError):
    status = 400
    error = "invalid_span"

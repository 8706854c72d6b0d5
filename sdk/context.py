"""Who is asking, in which conversation: ``tracerail.user(id)`` and ``tracerail.session(id)``.

Context managers that set the user and the conversation for every span started inside them
(``user.id`` and ``gen_ai.conversation.id``; the collector stores them as ``user_id`` and
``session_id``), so a generation, its retrieval and its guardrail decisions can be listed by
conversation and totalled per user without passing ids through the application::

    with tracerail.user("alice"), tracerail.session("conv-42"):
        answer(question)

They nest (the innermost wins) and follow ``contextvars`` (threads started inside do not
inherit them; asyncio tasks do). A span processor added by ``tracerail.init`` reads them when
a span starts; a span that already has the attribute keeps its own value. An empty id is
logged and ignored (inside, no id is set), never raised.
"""

from __future__ import annotations

import contextvars
import logging
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager

from opentelemetry.context import Context
from opentelemetry.sdk.trace import Span, SpanProcessor

from tracerail import semconv

logger = logging.getLogger("tracerail")

__all__ = [
    "ContextAttributes",
    "current_ids",
    "current_session",
    "current_user",
    "ids_restored",
    "session",
    "user",
]

_user: contextvars.ContextVar[str | None] = contextvars.ContextVar("tracerail_user", default=None)
_session: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "tracerail_session", default=None
)


def _checked(kind: str, value: object) -> str | None:
    """The id, or None (logged, never raised: the SDK does not break the app) when unusable."""
    if isinstance(value, str) and value.strip():
        return value
    logger.warning("tracerail.%s(): expected a non-empty string, got %r; not set", kind, value)
    return None


@contextmanager
def _bound(var: contextvars.ContextVar[str | None], kind: str, value: str) -> Iterator[None]:
    token = var.set(_checked(kind, value))
    try:
        yield
    finally:
        var.reset(token)


def user(user_id: str) -> AbstractContextManager[None]:
    """Spans started inside carry ``user.id = user_id``."""
    return _bound(_user, "user", user_id)


def session(session_id: str) -> AbstractContextManager[None]:
    """Spans started inside carry ``gen_ai.conversation.id = session_id``."""
    return _bound(_session, "session", session_id)


def current_user() -> str | None:
    return _user.get()


def current_session() -> str | None:
    return _session.get()


def current_ids() -> tuple[str | None, str | None]:
    """The ``(user, session)`` in force here, for work done later on another thread."""
    return _user.get(), _session.get()


@contextmanager
def ids_restored(ids: tuple[str | None, str | None]) -> Iterator[None]:
    """Spans started inside carry ``ids`` (taken by :func:`current_ids` elsewhere)."""
    user_token, session_token = _user.set(ids[0]), _session.set(ids[1])
    try:
        yield
    finally:
        _session.reset(session_token)
        _user.reset(user_token)


class ContextAttributes(SpanProcessor):
    """Sets the current user and conversation on each span as it starts."""

    def on_start(self, span: Span, parent_context: Context | None = None) -> None:
        attributes = span.attributes or {}
        found = _user.get()
        if found is not None and semconv.USER_ID not in attributes:
            span.set_attribute(semconv.USER_ID, found)
        found = _session.get()
        if found is not None and semconv.GEN_AI_CONVERSATION_ID not in attributes:
            span.set_attribute(semconv.GEN_AI_CONVERSATION_ID, found)

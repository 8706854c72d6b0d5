"""Streams through the guarded-call pipeline: time to first token, tokens, output guardrails.

:class:`GuardedStream` / :class:`AsyncGuardedStream` stand in for the provider's raw stream
(``create(stream=True)``, and underneath the SDKs' ``.stream()`` helpers). They pass every
attribute they do not handle to the wrapped stream, so ``.response``, ``.close()`` and
``with`` work as before.

Output guardrails, per :class:`~tracerail.instrumentation._pipeline.Options.stream_output`:

- ``incremental`` (default): each event reaches the caller as soon as it arrives; the
  accumulated answer is checked whenever it has grown by a word or :data:`CHECK_EVERY_CHARS`,
  so a block stops the stream within about a word. A redaction cannot be taken back from the
  caller and is applied to the recorded output only.
- ``buffered``: the whole stream is read and checked before the first event is passed on;
  redactions reach the caller, time to first token for the caller becomes the full latency.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import AsyncIterator, Callable, Iterator
from types import TracebackType
from typing import Any

from tracerail import semconv
from tracerail.errors import GuardrailBlocked
from tracerail.instrumentation._pipeline import Accumulator, GuardedCall

logger = logging.getLogger("tracerail")

CHECK_EVERY_CHARS = 64


class StreamState:
    """What both stream drivers share: accumulate, check, record, end."""

    def __init__(self, call: GuardedCall, accumulator: Accumulator) -> None:
        self.call = call
        self.acc = accumulator
        self.buffered = call.options.stream_output == "buffered" and call.options.guardrails
        self.checks_output = call.options.guardrails and call.adapter.guards_output
        self.events: list[Any] = []  # buffered: every event, passed on once all are checked
        self.reading = _Reading(self)
        self._first_token = False
        self._checked_len = 0
        try:
            call.span.set_attribute(semconv.TRACERAIL_STREAM, True)
        except Exception:
            logger.exception("tracerail: could not mark the stream")

    def on_event(self, event: Any) -> None:
        """Take one event; raises GuardrailBlocked (after ending the span) on a block."""
        if self.buffered:
            self.events.append(event)
        try:
            has_text = self.acc.add(event)
        except Exception:
            logger.exception("tracerail: could not read a stream event")
            return
        if has_text and not self._first_token:
            self._first_token = True
            ttft_ms = (time.perf_counter() - self.call.sent_at) * 1000.0
            self.call.span.set_attribute(semconv.TRACERAIL_STREAM_TTFT_MS, ttft_ms)
        if has_text and self.checks_output and not self.buffered:
            self._check_so_far()

    def _check_so_far(self) -> None:
        texts = self.acc.texts()
        total = sum(len(t) for t in texts)
        grown = total - self._checked_len
        tail = texts[-1][-grown:] if texts and grown > 0 else ""
        if grown >= CHECK_EVERY_CHARS or any(c.isspace() for c in tail):
            self._checked_len = total
            self._guard(texts, stopped=True)

    def _guard(self, texts: list[str], *, stopped: bool) -> list[str]:
        try:
            return self.call.guard(texts, "output")
        except GuardrailBlocked as exc:
            if stopped:
                self.call.span.set_attribute(semconv.TRACERAIL_STREAM_STOPPED, True)
            self.finish_span(None, error=exc)
            raise

    def complete(self, events: list[Any] | None = None) -> None:
        """The stream ended: final check (rewriting buffered ``events``), record, end span."""
        if self.call.ended:
            return
        texts = self.acc.texts()
        self.call.answered(texts)
        checked = self._guard(texts, stopped=False) if self.checks_output else texts
        if events is not None and checked != texts:
            try:
                self.acc.rewrite(events, checked)
            except Exception:
                logger.exception("tracerail: could not apply redactions to the stream")
        self.finish_span(checked)

    def finish_span(self, texts: list[str] | None, error: BaseException | None = None) -> None:
        """Record the response (and ``texts`` as output unless None) and end the span."""
        if self.call.ended:
            return
        try:
            self.call.record_response(self.acc.info())
            if texts is not None:
                self.call.record_output(self.acc.output_messages(texts))
        except Exception:
            logger.exception("tracerail: could not record the stream")
        if error is not None:
            self.call.fail(error)
        else:
            self.call.end()

    def inner_raised(self, exc: BaseException) -> None:
        """The provider stream raised ``exc``. Its end completes the call (the final check may
        raise GuardrailBlocked); anything else ends the span with the error, keeping what
        arrived."""
        if isinstance(exc, StopIteration | StopAsyncIteration):
            self.complete(self.events if self.buffered else None)
        else:
            self.finish_span(self.partial_output(), error=exc)

    def partial_output(self) -> list[str] | None:
        """The answer so far, checked; None when the policy blocks it (nothing is recorded)."""
        texts = self.acc.texts()
        if not self.checks_output:
            return texts
        try:
            return self.call.guard(texts, "output")
        except GuardrailBlocked:
            return None

    def closed_early(self) -> None:
        """The caller closed the stream before its end: record what arrived."""
        if not self.call.ended:
            self.call.span.set_attribute(semconv.TRACERAIL_STREAM_STOPPED, True)
            self.finish_span(self.partial_output())


class _Reading:
    """``with state.reading:`` around one read of the provider stream (see inner_raised)."""

    __slots__ = ("_state",)

    def __init__(self, state: StreamState) -> None:
        self._state = state

    def __enter__(self) -> None:
        return None

    def __exit__(self, exc_type: object, exc: BaseException | None, tb: object) -> None:
        if exc is not None:
            self._state.inner_raised(exc)


class _Proxy:
    """Delegates unknown attributes to the wrapped stream."""

    _inner: Any

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


class _StreamProxy(_Proxy):
    """What the sync and the async stream share: the wrapped stream, its state, the buffer."""

    def __init__(self, inner: Any, call: GuardedCall, accumulator: Accumulator) -> None:
        self._inner = inner
        self._state = StreamState(call, accumulator)
        self._buffer: Iterator[Any] | None = None

    def __del__(self) -> None:
        state = getattr(self, "_state", None)
        if state is not None and not state.call.ended:
            state.closed_early()


class GuardedStream(_StreamProxy):
    """A sync provider stream traced and guarded."""

    def __iter__(self) -> Iterator[Any]:
        return self

    def __next__(self) -> Any:
        if not self._state.buffered:
            return self._step()
        if self._buffer is None:
            with contextlib.suppress(StopIteration):
                while True:
                    self._step()
            self._buffer = iter(self._state.events)
        return next(self._buffer)

    def _step(self) -> Any:
        try:
            with self._state.reading:
                event = next(self._inner)
            self._state.on_event(event)
        except GuardrailBlocked:
            self._close_inner()
            raise
        return event

    def _close_inner(self) -> None:
        try:
            self._inner.close()
        except Exception:
            logger.exception("tracerail: could not close the provider stream")

    def close(self) -> None:
        self._close_inner()
        self._state.closed_early()

    def __enter__(self) -> GuardedStream:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


class AsyncGuardedStream(_StreamProxy):
    """An async provider stream traced and guarded."""

    def __aiter__(self) -> AsyncIterator[Any]:
        return self

    async def __anext__(self) -> Any:
        if not self._state.buffered:
            return await self._step()
        if self._buffer is None:
            with contextlib.suppress(StopAsyncIteration):
                while True:
                    await self._step()
            self._buffer = iter(self._state.events)
        try:
            return next(self._buffer)
        except StopIteration:
            raise StopAsyncIteration from None

    async def _step(self) -> Any:
        try:
            with self._state.reading:
                event = await self._inner.__anext__()
            self._state.on_event(event)
        except GuardrailBlocked:
            await self._close_inner()
            raise
        return event

    async def _close_inner(self) -> None:
        try:
            await self._inner.close()
        except Exception:
            logger.exception("tracerail: could not close the provider stream")

    async def close(self) -> None:
        await self._close_inner()
        self._state.closed_early()

    async def __aenter__(self) -> AsyncGuardedStream:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()


class GuardedStreamManager(_Proxy):
    """Wraps a ``with client.messages.stream(...)`` helper so its raw stream is guarded.

    The helper object the manager enters reads its events from ``_raw_stream``; that one
    attribute is swapped for a :class:`GuardedStream` before any event is read.
    """

    def __init__(self, inner: Any, call: GuardedCall, accumulator: Accumulator) -> None:
        self._inner = inner
        self._call = call
        self._accumulator = accumulator

    def _guard_helper(self, helper: Any) -> None:
        raw = getattr(helper, "_raw_stream", None)
        if raw is None:
            logger.warning("tracerail: unknown stream helper %s; not guarded", type(helper))
            self._call.end()
            return
        wrapper = GuardedStream if hasattr(raw, "__next__") else AsyncGuardedStream
        helper._raw_stream = wrapper(raw, self._call, self._accumulator)

    def __enter__(self) -> Any:
        with self._call.sending():
            helper = self._inner.__enter__()
        self._guard_helper(helper)
        return helper

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> Any:
        return self._inner.__exit__(exc_type, exc, tb)

    async def __aenter__(self) -> Any:
        with self._call.sending():
            helper = await self._inner.__aenter__()
        self._guard_helper(helper)
        return helper

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> Any:
        return await self._inner.__aexit__(exc_type, exc, tb)


def stream_wrapper(async_stream_type: type) -> Callable[[Any, GuardedCall], Any]:
    """Wraps a provider's raw stream (async when it is an ``async_stream_type``)."""

    def wrap(result: Any, call: GuardedCall) -> Any:
        cls = AsyncGuardedStream if isinstance(result, async_stream_type) else GuardedStream
        return cls(result, call, call.adapter.accumulator())

    return wrap

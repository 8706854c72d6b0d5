"""The guarded-call pipeline every provider method goes through.

One :class:`GuardedCall` per client call::

    start span "{operation} {model}" (CLIENT) with the request attributes
    input guardrails on the prompt texts ─ block: GuardrailBlocked, no request is sent
                                         └ redact: the redacted texts are what is sent
    the provider call (the span is current)
    response attributes, tokens, cost; output guardrails on the answer texts
    end span (errors: status ERROR + ``error.type``, re-raised unchanged)

A provider supplies an :class:`Adapter` per operation that knows where the texts, tokens and
messages live in its request and response shapes. Telemetry failures are logged, never raised;
the only exception the pipeline adds is a deliberate ``GuardrailBlocked``.
"""

from __future__ import annotations

import functools
import logging
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Literal

from opentelemetry import trace
from opentelemetry.trace import SpanKind, Status, StatusCode
from opentelemetry.util.types import AttributeValue

from tracerail import evaluation, guard, provenance, semconv
from tracerail.content import to_json, truncate
from tracerail.errors import GuardrailBlocked
from tracerail.pricing import TokenUsage, cost_usd
from tracerail.runtime import get_config, get_tracer

logger = logging.getLogger("tracerail")

StreamOutput = Literal["incremental", "buffered"]
TextMap = Callable[[str], str]
WRAPPED_MARK = "__tracerail_wrapped__"


@dataclass(frozen=True, slots=True)
class Options:
    """How an instrumented client is traced and guarded.

    ``policy`` is handed to the guardrails as is (``None``: the default policy).
    ``stream_output``: ``"incremental"`` passes stream chunks on at once and checks the
    accumulated answer as they arrive (a block stops the stream; a redaction reaches only the
    span, the caller has already seen the text); ``"buffered"`` holds the whole answer until it
    is checked, so redactions reach the caller too, at the cost of the stream's latency.
    """

    policy: Any = None
    guardrails: bool = True
    stream_output: StreamOutput = "incremental"


@dataclass(slots=True)
class ResponseInfo:
    """What a response (or an accumulated stream) says about the call."""

    model: str | None = None
    response_id: str | None = None
    finish_reasons: list[str] = field(default_factory=list)
    usage: TokenUsage | None = None
    embedding_dimensions: int | None = None


def message(role: str, parts: list[dict[str, Any]], **extra: Any) -> dict[str, Any]:
    """One entry of ``gen_ai.input.messages`` / ``gen_ai.output.messages``."""
    return {"role": role, "parts": parts, **extra}


def text_part(text: str) -> dict[str, Any]:
    return {"type": "text", "content": text}


def tool_call_part(call_id: str | None, name: str | None, arguments: Any) -> dict[str, Any]:
    return {"type": "tool_call", "id": call_id, "name": name, "arguments": arguments}


def tool_response_part(call_id: str | None, response: Any) -> dict[str, Any]:
    return {"type": "tool_call_response", "id": call_id, "response": response}


class Adapter:
    """Where one provider operation keeps its texts, usage and messages. Override what applies."""

    provider: str = ""
    operation: str = semconv.OPERATION_CHAT
    guards_output: bool = True

    def request_model(self, kwargs: Mapping[str, Any]) -> str:
        model = kwargs.get("model")
        return model if isinstance(model, str) else ""

    def request_attributes(self, kwargs: Mapping[str, Any]) -> dict[str, AttributeValue]:
        return {}

    def map_input(self, kwargs: dict[str, Any], fn: TextMap) -> dict[str, Any]:
        """A copy of ``kwargs`` with ``fn`` applied to every prompt text, in a fixed order."""
        return kwargs

    def input_messages(self, kwargs: Mapping[str, Any]) -> list[dict[str, Any]]:
        return []

    def system_instructions(self, kwargs: Mapping[str, Any]) -> list[dict[str, Any]]:
        return []

    def response_info(self, response: Any) -> ResponseInfo:
        return ResponseInfo()

    def map_output(self, response: Any, fn: TextMap) -> None:
        """Apply ``fn`` to every answer text of ``response``, in place."""

    def output_messages(self, response: Any) -> list[dict[str, Any]]:
        return []

    def is_stream(self, result: Any) -> bool:
        return False

    def accumulator(self) -> Accumulator:
        raise NotImplementedError


class Accumulator:
    """Builds the answer of a stream event by event. Override per provider operation."""

    def add(self, event: Any) -> bool:
        """Take one event; True if it carried answer text (for time to first token)."""
        return False

    def texts(self) -> list[str]:
        return []

    def info(self) -> ResponseInfo:
        return ResponseInfo()

    def output_messages(self, texts: list[str]) -> list[dict[str, Any]]:
        return []

    def rewrite(self, events: list[Any], texts: list[str]) -> None:
        """Make buffered ``events`` carry ``texts`` (the redacted answer) instead."""


def collect_texts(mapper: Callable[[TextMap], object]) -> list[str]:
    """The texts a ``map_*`` method visits, in order."""
    seen: list[str] = []

    def visit(text: str) -> str:
        seen.append(text)
        return text

    mapper(visit)
    return seen


def replacing(texts: list[str]) -> TextMap:
    """A text map that hands out ``texts`` in order (the counterpart of :func:`collect_texts`)."""
    supply = iter(texts)
    return lambda old: next(supply, old)


def attr(obj: Any, *path: str) -> Any:
    """``obj.a.b`` or ``obj["a"]["b"]``, None where any step is missing."""
    for name in path:
        if obj is None:
            return None
        obj = obj.get(name) if isinstance(obj, Mapping) else getattr(obj, name, None)
    return obj


def as_int(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def int_param(kwargs: Mapping[str, Any], name: str) -> int | None:
    """The request parameter ``name`` when it is an integer (not a bool), else None."""
    value = kwargs.get(name)
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def float_params(
    kwargs: Mapping[str, Any], params: Iterable[tuple[str, str]]
) -> dict[str, AttributeValue]:
    """``{attribute: float}`` for the ``(attribute, parameter)`` pairs given as numbers."""
    attributes: dict[str, AttributeValue] = {}
    for key, name in params:
        value = kwargs.get(name)
        if isinstance(value, int | float) and not isinstance(value, bool):
            attributes[key] = float(value)
    return attributes


def as_dict(item: Any) -> Any:
    """An SDK model (pydantic) as the dict of the fields it was given; anything else as is."""
    dump = getattr(item, "model_dump", None)
    return dump(exclude_unset=True) if callable(dump) else item


def map_text_parts(parts: Iterable[Any], kind: str, fn: TextMap) -> None:
    """Apply ``fn`` in place to the ``text`` of every part of type ``kind`` (set if changed)."""
    for part in parts:
        text = attr(part, "text")
        if attr(part, "type") == kind and isinstance(text, str):
            new = fn(text)
            if new != text:
                part.text = new


def map_contents(items: Iterable[Any], fn: Callable[[Any], Any]) -> list[Any]:
    """``items`` (messages) as dicts, ``fn`` applied to the ``content`` of each that has one."""
    mapped = []
    for item in items:
        item = as_dict(item)
        if isinstance(item, dict) and "content" in item:
            item = {**item, "content": fn(item["content"])}
        mapped.append(item)
    return mapped


class GuardedCall:
    """The span and guardrail decisions of one provider call."""

    def __init__(self, adapter: Adapter, options: Options, kwargs: Mapping[str, Any]) -> None:
        self.adapter = adapter
        self.options = options
        self.span: trace.Span = trace.INVALID_SPAN
        self.sent_at = time.perf_counter()
        self._ended = False
        self.capture = False
        self._limit = 0
        self.model = adapter.request_model(kwargs)
        # Where the call's sources are recorded (tracerail.sources, retrieval results); the
        # output checks get their texts under GUARD_CONTEXT_SOURCES (the ``grounding`` check).
        self.scope = provenance.current_scope()
        self._source_texts: tuple[str, ...] | None = None  # read at the first output check
        # The provenance record's texts, before redaction (hashed when the span ends).
        self._prompt_text: str | None = None
        self._answer_text: str | None = None
        try:
            config = get_config()
            self.capture = config.capture_content
            self._limit = config.max_content_chars
            name = f"{adapter.operation} {self.model}" if self.model else adapter.operation
            attributes: dict[str, AttributeValue] = {
                semconv.GEN_AI_OPERATION_NAME: adapter.operation,
                semconv.GEN_AI_PROVIDER_NAME: adapter.provider,
                semconv.TRACERAIL_OBSERVATION_KIND: semconv.KIND_GENERATION,
            }
            if self.model:
                attributes[semconv.GEN_AI_REQUEST_MODEL] = self.model
            if evaluation.in_evaluation():  # an evaluator's own call: traced, never evaluated
                attributes[semconv.TRACERAIL_EVALUATION_JUDGE_CALL] = True
            attributes.update(adapter.request_attributes(kwargs))
            self.span = get_tracer().start_span(name, kind=SpanKind.CLIENT, attributes=attributes)
            self.capture = self.capture and self.span.is_recording()
        except Exception:
            logger.exception("tracerail: could not start span for %s", adapter.operation)

    @contextmanager
    def active(self) -> Iterator[None]:
        """Make the span current while the provider call runs."""
        with trace.use_span(
            self.span, end_on_exit=False, record_exception=False, set_status_on_exception=False
        ):
            yield

    @contextmanager
    def sending(self) -> Iterator[None]:
        """:meth:`active` around the provider call; an exception from it ends the span with
        the error (:meth:`fail`) and propagates unchanged."""
        try:
            with self.active():
                yield
        except BaseException as exc:
            self.fail(exc)
            raise

    def guard(self, texts: list[str], target: Literal["input", "output"]) -> list[str]:
        """Run the policy over ``texts``; GuardrailBlocked propagates, other failures fail open."""
        if not self.options.guardrails or not texts:
            return texts
        try:
            context = None
            if target == "output":
                if self._source_texts is None:
                    self._source_texts = provenance.source_texts(self.scope)
                context = {semconv.GUARD_CONTEXT_SOURCES: self._source_texts}
            return guard.run_guardrails(
                texts, target=target, policy=self.options.policy, span=self.span, context=context
            )
        except GuardrailBlocked:
            raise
        except Exception:
            logger.exception("tracerail: guardrails failed on %s; passing it unchanged", target)
            return texts

    def guard_input(self, kwargs: dict[str, Any]) -> dict[str, Any]:
        """The kwargs to send: redacted where the policy says so. Raises GuardrailBlocked."""
        texts = collect_texts(functools.partial(self.adapter.map_input, kwargs))
        self._prompt_text = "\n".join(texts)
        checked = self.guard(texts, "input")
        if checked != texts:
            kwargs = self.adapter.map_input(kwargs, replacing(checked))
        if self.capture:
            self._record_json(
                semconv.GEN_AI_SYSTEM_INSTRUCTIONS, self.adapter.system_instructions(kwargs)
            )
            self._record_json(semconv.GEN_AI_INPUT_MESSAGES, self.adapter.input_messages(kwargs))
        self.sent_at = time.perf_counter()
        return kwargs

    def _record_json(self, key: str, value: list[dict[str, Any]]) -> None:
        if not value:
            return
        try:
            text, cut = truncate(to_json(value), self._limit)
            self.span.set_attribute(key, text)
            if cut:
                truncated = (
                    semconv.TRACERAIL_OUTPUT_TRUNCATED
                    if key == semconv.GEN_AI_OUTPUT_MESSAGES
                    else semconv.TRACERAIL_INPUT_TRUNCATED
                )
                self.span.set_attribute(truncated, True)
        except Exception:
            logger.exception("tracerail: could not record %s", key)

    def record_response(self, info: ResponseInfo) -> None:
        """Response model and id, finish reasons, tokens and cost."""
        try:
            span = self.span
            if info.model:
                span.set_attribute(semconv.GEN_AI_RESPONSE_MODEL, info.model)
            if info.response_id:
                span.set_attribute(semconv.GEN_AI_RESPONSE_ID, info.response_id)
            if info.finish_reasons:
                span.set_attribute(semconv.GEN_AI_RESPONSE_FINISH_REASONS, info.finish_reasons)
            if info.embedding_dimensions:
                span.set_attribute(
                    semconv.GEN_AI_EMBEDDINGS_DIMENSION_COUNT, info.embedding_dimensions
                )
            usage = info.usage
            if usage is None:
                return
            span.set_attribute(semconv.GEN_AI_USAGE_INPUT_TOKENS, usage.input_tokens)
            if self.adapter.operation != semconv.OPERATION_EMBEDDINGS:
                span.set_attribute(semconv.GEN_AI_USAGE_OUTPUT_TOKENS, usage.output_tokens)
            if usage.cached_input_tokens:
                span.set_attribute(
                    semconv.GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS, usage.cached_input_tokens
                )
            if usage.cache_creation_input_tokens:
                span.set_attribute(
                    semconv.GEN_AI_USAGE_CACHE_CREATION_INPUT_TOKENS,
                    usage.cache_creation_input_tokens,
                )
            if usage.reasoning_tokens:
                span.set_attribute(
                    semconv.GEN_AI_USAGE_REASONING_OUTPUT_TOKENS, usage.reasoning_tokens
                )
            # The response's (dated) model first, quietly; then the requested one, warning once.
            cost = cost_usd(info.model, usage, warn=False)
            if cost is None:
                cost = cost_usd(self.model or info.model, usage)
            if cost is not None:
                span.set_attribute(semconv.TRACERAIL_COST_USD, cost)
        except Exception:
            logger.exception("tracerail: could not record the response")

    def record_output(self, messages: list[dict[str, Any]]) -> None:
        if self.capture:
            self._record_json(semconv.GEN_AI_OUTPUT_MESSAGES, messages)

    def finish(self, response: Any) -> Any:
        """Record a complete (non-stream) response, guard its answer, end the span."""
        adapter = self.adapter
        self.record_response(adapter.response_info(response))
        if adapter.guards_output:
            texts = collect_texts(functools.partial(adapter.map_output, response))
            self.answered(texts)
            try:
                checked = self.guard(texts, "output")
            except GuardrailBlocked as exc:
                self.fail(exc)
                raise
            if checked != texts:
                adapter.map_output(response, replacing(checked))
        try:
            self.record_output(adapter.output_messages(response))
        except Exception:
            logger.exception("tracerail: could not record the output")
        self.end()
        return response

    def deliver(self, result: Any, wrap_stream: Callable[[Any, GuardedCall], Any]) -> Any:
        """What the caller gets: a raw stream wrapped by ``wrap_stream``, else the response
        finished (:meth:`finish`)."""
        if self.adapter.is_stream(result):
            return wrap_stream(result, self)
        return self.finish(result)

    def fail(self, exc: BaseException) -> None:
        """Record ``exc`` (status ERROR, ``error.type``) and end the span. Nothing was
        answered: a blocked answer's text is not in the provenance record, nor evaluated."""
        if self._ended:
            return
        self._answer_text = None
        try:
            self.span.record_exception(exc)
            self.span.set_attribute(semconv.ERROR_TYPE, type(exc).__qualname__)
            self.span.set_status(Status(StatusCode.ERROR, f"{type(exc).__name__}: {exc}"[:1024]))
        except Exception:
            logger.exception("tracerail: could not record the error")
        self.end()

    def answered(self, texts: list[str]) -> None:
        """Remember the answer's texts as the model sent them (before any redaction)."""
        self._answer_text = "\n".join(texts) if any(t.strip() for t in texts) else None

    def end(self) -> None:
        """End the span once. A call with an answer (not an embedding) first gets its
        provenance record (:func:`tracerail.provenance.attach`), unless it runs inside an
        ``@observe(kind="generation")`` call, whose record covers it.

        It is not evaluated in-process: a provider call may be one step of an agent (a plan,
        a tool request) rather than the app's answer, and only the app knows which call
        answers. The collector's online evaluator scores calls that follow a retrieval;
        ``@observe(kind="generation")`` marks the answer for in-process evaluation."""
        if self._ended:
            return
        self._ended = True
        if self.adapter.guards_output and not (self.scope and self.scope.in_generation()):
            provenance.attach(
                self.span,
                prompt_text=self._prompt_text,
                answer=self._answer_text,
                scope=self.scope,
                evaluate=False,
            )
        try:
            self.span.end()
        except Exception:
            logger.exception("tracerail: could not end span")

    @property
    def ended(self) -> bool:
        return self._ended


def marked(wrapper: Callable[..., Any], original: Callable[..., Any]) -> Callable[..., Any]:
    """``wrapper`` marked as tracerail's wrapping of ``original`` (how uninstrument finds it)."""
    setattr(wrapper, WRAPPED_MARK, original)
    return wrapper


def wrap_method(
    original: Callable[..., Any],
    adapter_for: Callable[[Mapping[str, Any]], Adapter],
    options: Options,
    wrap_stream: Callable[[Any, GuardedCall], Any],
    is_async: bool = False,
) -> Callable[..., Any]:
    """A provider method (a coroutine function when ``is_async``) traced and guarded, class
    or instance level alike."""

    def sync_wrapper(*args: Any, **kwargs: Any) -> Any:
        call = GuardedCall(adapter_for(kwargs), options, kwargs)
        with call.sending():
            result = original(*args, **call.guard_input(kwargs))
        return call.deliver(result, wrap_stream)

    async def async_wrapper(*args: Any, **kwargs: Any) -> Any:
        call = GuardedCall(adapter_for(kwargs), options, kwargs)
        with call.sending():
            result = await original(*args, **call.guard_input(kwargs))
        return call.deliver(result, wrap_stream)

    wrapper = async_wrapper if is_async else sync_wrapper
    return marked(functools.wraps(original)(wrapper), original)


Wrap = Callable[[Callable[..., Any], Options], Callable[..., Any]]


@dataclass(frozen=True, slots=True)
class Target:
    """One provider method to wrap: on ``owner`` (a resource class), reached from a client
    instance through the attribute ``path``."""

    owner: type
    method: str
    path: tuple[str, ...]
    wrap: Wrap


def call_target(
    owner: type,
    path: tuple[str, ...],
    adapter: Adapter,
    is_async: bool,
    wrap_stream: Callable[[Any, GuardedCall], Any],
    method: str = "create",
) -> Target:
    """A :class:`Target` for a request method that returns a response or a raw stream."""

    def make(original: Callable[..., Any], options: Options) -> Callable[..., Any]:
        return wrap_method(original, lambda kwargs: adapter, options, wrap_stream, is_async)

    return Target(owner, method, path, make)

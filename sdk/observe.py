"""``@observe``: one span per call of a sync or async function, generator or async generator.

All four wrappers drive the same :class:`ObservedCall`, which starts the span, records input,
output, duration and errors, and ends it. Generators keep their span open until they are
exhausted or closed, and the span is current only while the generator body runs.

Agents and tools follow the OpenTelemetry GenAI conventions: ``kind="agent"`` is the span
``invoke_agent {gen_ai.agent.name}`` and ``kind="tool"`` is ``execute_tool {gen_ai.tool.name}``
(both INTERNAL), with ``gen_ai.operation.name`` set and a tool's arguments and result recorded
as ``gen_ai.tool.call.arguments`` / ``gen_ai.tool.call.result``. Recorded content of calls that
run no guardrails is redacted by the active policy first (:mod:`tracerail.recording`).
"""

from __future__ import annotations

import functools
import inspect
import logging
from collections.abc import AsyncGenerator, Callable, Generator, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any, Literal, TypeVar, overload

from opentelemetry import trace
from opentelemetry.trace import SpanKind, Status, StatusCode

from tracerail import provenance, semconv
from tracerail.content import bound_arguments, to_json, truncate
from tracerail.errors import ConfigError, GuardrailBlocked
from tracerail.recording import redact_for_recording
from tracerail.runtime import get_config, get_tracer

logger = logging.getLogger("tracerail")

Kind = Literal["span", "generation", "tool", "retrieval", "agent"]
F = TypeVar("F", bound=Callable[..., Any])

_MAX_COLLECTED_ITEMS = 1_000
_tool_call_id: ContextVar[str | None] = ContextVar("tracerail_tool_call_id", default=None)


@contextmanager
def tool_call(call_id: str) -> Iterator[None]:
    """Tool spans (``@observe(kind="tool")``) started inside record ``gen_ai.tool.call.id``.

    Pass the id of the model's tool call (OpenAI's ``tool_calls[i].id``, Anthropic's
    ``tool_use.id``) so the tool's span can be matched to the call that asked for it::

        with tracerail.tool_call(call.id):
            result = lookup_order(**json.loads(call.function.arguments))
    """
    token = _tool_call_id.set(str(call_id) or None)
    try:
        yield
    finally:
        _tool_call_id.reset(token)


@dataclass(frozen=True)
class ObserveSpec:
    """What ``@observe`` was asked to record for one function."""

    func: Callable[..., Any]
    name: str  # the span name; for agents and tools, the agent's or tool's name
    kind: Kind
    capture_input: bool
    capture_output: bool
    policy: Any = None
    description: str | None = None
    version: str | None = None

    @functools.cached_property
    def span_name(self) -> str:
        """``invoke_agent {name}`` / ``execute_tool {name}``, else the name as given."""
        if self.kind == semconv.KIND_AGENT:
            return f"{semconv.OPERATION_INVOKE_AGENT} {self.name}"
        if self.kind == semconv.KIND_TOOL:
            return f"{semconv.OPERATION_EXECUTE_TOOL} {self.name}"
        return self.name

    @functools.cached_property
    def start_attributes(self) -> dict[str, str]:
        """The attributes every span of this function starts with."""
        attributes = {
            semconv.TRACERAIL_OBSERVATION_KIND: self.kind,
            semconv.TRACERAIL_CODE_FUNCTION: self.code_function,
        }
        if self.kind == semconv.KIND_AGENT:
            attributes[semconv.GEN_AI_OPERATION_NAME] = semconv.OPERATION_INVOKE_AGENT
            attributes[semconv.GEN_AI_AGENT_NAME] = self.name
            if self.description:
                attributes[semconv.GEN_AI_AGENT_DESCRIPTION] = self.description
            if self.version:
                attributes[semconv.GEN_AI_AGENT_VERSION] = self.version
        elif self.kind == semconv.KIND_TOOL:
            attributes[semconv.GEN_AI_OPERATION_NAME] = semconv.OPERATION_EXECUTE_TOOL
            attributes[semconv.GEN_AI_TOOL_NAME] = self.name
            attributes[semconv.GEN_AI_TOOL_TYPE] = semconv.TOOL_TYPE_FUNCTION
            if self.description:
                attributes[semconv.GEN_AI_TOOL_DESCRIPTION] = self.description
        return attributes

    @property
    def input_key(self) -> str:
        """Where the arguments are recorded (a tool's are ``gen_ai.tool.call.arguments``)."""
        tool = self.kind == semconv.KIND_TOOL
        return semconv.GEN_AI_TOOL_CALL_ARGUMENTS if tool else semconv.TRACERAIL_INPUT

    @property
    def output_key(self) -> str:
        """Where the result is recorded (a tool's is ``gen_ai.tool.call.result``)."""
        tool = self.kind == semconv.KIND_TOOL
        return semconv.GEN_AI_TOOL_CALL_RESULT if tool else semconv.TRACERAIL_OUTPUT

    @property
    def guarded(self) -> bool:
        """Generations run guardrails; so does anything given an explicit policy."""
        return self.kind == semconv.KIND_GENERATION or self.policy is not None

    @functools.cached_property
    def code_function(self) -> str:
        return f"{self.func.__module__}.{self.func.__qualname__}"

    @property
    def span_kind(self) -> SpanKind:
        return SpanKind.CLIENT if self.kind == semconv.KIND_GENERATION else SpanKind.INTERNAL


class ObservedCall:
    """The span of one observed call. Telemetry errors here are logged, never raised.

    For guarded calls it also runs the input guardrails (``args``/``kwargs`` become the
    redacted arguments to call with; a block is raised by :meth:`raise_if_blocked`) and the
    output guardrails (:meth:`guard_output`), so what is recorded is what was checked.
    """

    def __init__(self, spec: ObserveSpec, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
        self.spec = spec
        self.span: trace.Span = trace.INVALID_SPAN
        self.args = args
        self.kwargs = kwargs
        self._items: list[Any] = []
        self.scope = provenance.new_scope(generation=spec.kind == semconv.KIND_GENERATION)
        self._prompt_text: str | None = None
        self._raw_output: tuple[Any, list[Any] | None] | None = None  # before redaction
        self._blocked: GuardrailBlocked | None = None
        self._guard_context: dict[str, Any] = {}
        try:
            config = get_config()
            self._capture_content = config.capture_content
            self._limit = config.max_content_chars
            attributes: dict[str, str] = dict(spec.start_attributes)
            if spec.kind == semconv.KIND_TOOL:
                call_id = _tool_call_id.get()
                if call_id:
                    attributes[semconv.GEN_AI_TOOL_CALL_ID] = call_id
            capture_input = spec.capture_input and self._capture_content
            if spec.kind == semconv.KIND_GENERATION:
                # The exact prompt, hashed before redaction and truncation.
                self._prompt_text = to_json(bound_arguments(spec.func, args, kwargs))
            self.span = get_tracer().start_span(
                spec.span_name, kind=spec.span_kind, attributes=attributes
            )
            if not self.span.is_recording():
                self._prompt_text = None
            if spec.guarded:
                # Guardrails change the actual call, recorded or not; the span gets the
                # redacted input.
                self._guard_input()
            if capture_input and self.span.is_recording():
                self._record(
                    spec.input_key,
                    semconv.TRACERAIL_INPUT_TRUNCATED,
                    bound_arguments(spec.func, self.args, self.kwargs),
                    target="input",
                )
        except Exception:
            logger.exception("tracerail: could not start span for %s", spec.name)

    def _guard_input(self) -> None:
        from tracerail.guard import run_guardrails
        from tracerail.textslots import input_slots

        slots, rebuild = input_slots(self.spec.func, self.args, self.kwargs)
        if not slots.texts:
            return
        try:
            texts = run_guardrails(
                slots.texts,
                target="input",
                policy=self._policy(),
                span=self.span,
                context=self._guard_context,
            )
        except GuardrailBlocked as exc:
            self._blocked = exc
            return
        slots.apply(texts)
        self.args, self.kwargs = rebuild()

    def _policy(self) -> Any:
        if self.spec.policy is None:
            return None
        from tracerail.guard import resolve_policy

        return resolve_policy(self.spec.policy)

    def raise_if_blocked(self) -> None:
        """Raise the input guardrails' block (ending the span), before the function runs."""
        if self._blocked is not None:
            self.fail(self._blocked)
            raise self._blocked

    def finish(self, result: Any) -> Any:
        """After the call returned: output guardrails, then the span ends; returns the result
        the caller gets (redacted, or a block raised with the span failed)."""
        try:
            result = self.guard_output(result)
        except BaseException as exc:
            self.fail(exc)
            raise
        self.succeed(result)
        return result

    def finish_items(self) -> None:
        """After a generator is exhausted: guardrails over its text, then the span ends."""
        try:
            self.guard_items()
        except GuardrailBlocked as exc:
            self.fail(exc)
            raise
        self.succeed(from_items=True)

    def guard_output(self, result: Any) -> Any:
        """Run the output guardrails on ``result``; returns it redacted or raises a block."""
        if not self.spec.guarded:
            return result
        if self._raw_output is None:
            self._raw_output = (result, None)
        try:
            from tracerail.guard import run_guardrails
            from tracerail.textslots import output_slots

            slots, updated = output_slots(result)
            if not slots.texts:
                return result
            self._guard_context[semconv.GUARD_CONTEXT_SOURCES] = provenance.source_texts(self.scope)
            texts = run_guardrails(
                slots.texts,
                target="output",
                policy=self._policy(),
                span=self.span,
                context=self._guard_context,
            )
            slots.apply(texts)
            return updated()
        except GuardrailBlocked:
            raise
        except Exception:
            logger.exception("tracerail: output guardrails failed for %s", self.spec.name)
            return result

    def guard_items(self) -> None:
        """Output guardrails over the text a generator yielded (recorded, or raised on block).

        Items already handed to the caller cannot be taken back; the recorded output is the
        redacted text.
        """
        if not self.spec.guarded or not self._items:
            return
        if all(isinstance(item, str) for item in self._items):
            self._raw_output = (None, list(self._items))
            self._items = [self.guard_output("".join(self._items))]

    def _record(
        self, key: str, truncated_key: str, value: object, *, target: Literal["input", "output"]
    ) -> None:
        """Set ``value`` as JSON text: redacted (unless guardrails already did), then cut."""
        full = to_json(value)
        if not self.spec.guarded and full:
            redacted = redact_for_recording(full, target=target)
            if redacted is None:
                return
            full = redacted
        text, cut = truncate(full, self._limit)
        self.span.set_attribute(key, text)
        if cut:
            self.span.set_attribute(truncated_key, True)

    @contextmanager
    def active(self, *, fail_on_error: bool = False) -> Iterator[None]:
        """Make the span, its provenance scope and ``@observe(policy=...)`` current; with
        ``fail_on_error``, an exception from the body ends the span as failed."""
        from tracerail.guard import policy_scope

        token = provenance.enter_scope(self.scope)
        try:
            with (
                trace.use_span(
                    self.span,
                    end_on_exit=False,
                    record_exception=False,
                    set_status_on_exception=False,
                ),
                policy_scope(self.spec.policy),
            ):
                yield
        except BaseException as exc:
            if fail_on_error:
                self.fail(exc)
            raise
        finally:
            provenance.exit_scope(token)

    def collect(self, item: Any) -> None:
        """Remember one yielded item of a generator as part of its output."""
        if len(self._items) < _MAX_COLLECTED_ITEMS:
            self._items.append(item)

    def succeed(self, result: Any = None, *, from_items: bool = False) -> None:
        """Record the output and end the span."""
        try:
            value = self._items if from_items else result
            if self.spec.capture_output and self._capture_content and self.span.is_recording():
                self._record(
                    self.spec.output_key,
                    semconv.TRACERAIL_OUTPUT_TRUNCATED,
                    value,
                    target="output",
                )
            if self.spec.kind == semconv.KIND_GENERATION:
                raw_result, raw_items = self._raw_output or (
                    result,
                    self._items if from_items else None,
                )
                answer = provenance.answer_text(raw_result, raw_items)
                provenance.attach(
                    self.span, prompt_text=self._prompt_text, answer=answer, scope=self.scope
                )
            elif self.spec.kind == semconv.KIND_RETRIEVAL:
                provenance.add_retrieved(self.scope, value)
            self.span.end()
        except Exception:
            logger.exception("tracerail: could not end span for %s", self.spec.name)

    def fail(self, exc: BaseException) -> None:
        """Record the exception (status ERROR, ``error.type``) and end the span."""
        try:
            if self.spec.kind == semconv.KIND_GENERATION:
                provenance.attach(
                    self.span, prompt_text=self._prompt_text, answer=None, scope=self.scope
                )
            self.span.record_exception(exc)
            self.span.set_attribute(semconv.ERROR_TYPE, type(exc).__qualname__)
            self.span.set_status(Status(StatusCode.ERROR, f"{type(exc).__name__}: {exc}"[:1024]))
            self.span.end()
        except Exception:
            logger.exception("tracerail: could not record error for %s", self.spec.name)


def _wrap_sync(spec: ObserveSpec) -> Callable[..., Any]:
    func = spec.func

    def wrapper(*args: Any, **kwargs: Any) -> Any:
        call = ObservedCall(spec, args, kwargs)
        call.raise_if_blocked()
        with call.active(fail_on_error=True):
            result = func(*call.args, **call.kwargs)
        return call.finish(result)

    return wrapper


def _wrap_async(spec: ObserveSpec) -> Callable[..., Any]:
    func = spec.func

    async def wrapper(*args: Any, **kwargs: Any) -> Any:
        call = ObservedCall(spec, args, kwargs)
        call.raise_if_blocked()
        with call.active(fail_on_error=True):
            result = await func(*call.args, **call.kwargs)
        return call.finish(result)

    return wrapper


def _wrap_generator(spec: ObserveSpec) -> Callable[..., Any]:
    func = spec.func

    def wrapper(*args: Any, **kwargs: Any) -> Generator[Any, Any, Any]:
        call = ObservedCall(spec, args, kwargs)
        call.raise_if_blocked()
        inner = func(*call.args, **call.kwargs)
        step: Callable[[Any], Any] = inner.send
        value: Any = None
        while True:
            try:
                with call.active():
                    item = step(value)
            except StopIteration as stop:
                call.finish_items()
                return stop.value
            except BaseException as exc:
                call.fail(exc)
                raise
            call.collect(item)
            try:
                value = yield item
                step = inner.send
            except GeneratorExit:
                inner.close()
                call.succeed(from_items=True)
                raise
            except BaseException as exc:
                step, value = inner.throw, exc

    return wrapper


def _wrap_async_generator(spec: ObserveSpec) -> Callable[..., Any]:
    func = spec.func

    async def wrapper(*args: Any, **kwargs: Any) -> AsyncGenerator[Any, Any]:
        call = ObservedCall(spec, args, kwargs)
        call.raise_if_blocked()
        inner = func(*call.args, **call.kwargs)
        step: Callable[[Any], Any] = inner.asend
        value: Any = None
        while True:
            try:
                with call.active():
                    item = await step(value)
            except StopAsyncIteration:
                call.finish_items()
                return
            except BaseException as exc:
                call.fail(exc)
                raise
            call.collect(item)
            try:
                value = yield item
                step = inner.asend
            except GeneratorExit:
                await inner.aclose()
                call.succeed(from_items=True)
                raise
            except BaseException as exc:
                step, value = inner.athrow, exc

    return wrapper


def default_name(func: Callable[..., Any]) -> str:
    """``Class.method`` or ``function``, without ``<locals>`` noise."""
    return func.__qualname__.rsplit("<locals>.", 1)[-1]


def _decorate(
    func: Callable[..., Any],
    name: str | None,
    kind: Kind,
    capture_input: bool,
    capture_output: bool,
    policy: Any = None,
    description: str | None = None,
    version: str | None = None,
) -> Callable[..., Any]:
    spec = ObserveSpec(
        func,
        name or default_name(func),
        kind,
        capture_input,
        capture_output,
        policy,
        description,
        version,
    )
    if inspect.isasyncgenfunction(func):
        wrapper = _wrap_async_generator(spec)
    elif inspect.isgeneratorfunction(func):
        wrapper = _wrap_generator(spec)
    elif inspect.iscoroutinefunction(func):
        wrapper = _wrap_async(spec)
    else:
        wrapper = _wrap_sync(spec)
    return functools.wraps(func)(wrapper)


@overload
def observe(func: F, /) -> F: ...


@overload
def observe(
    *,
    name: str | None = None,
    kind: Kind = "span",
    capture_input: bool = True,
    capture_output: bool = True,
    policy: Any = None,
    description: str | None = None,
    version: str | None = None,
) -> Callable[[F], F]: ...


def observe(
    func: Callable[..., Any] | None = None,
    /,
    *,
    name: str | None = None,
    kind: Kind = "span",
    capture_input: bool = True,
    capture_output: bool = True,
    policy: Any = None,
    description: str | None = None,
    version: str | None = None,
) -> Any:
    """Trace every call of the decorated function as a span.

    Use as ``@observe`` or ``@observe(name=..., kind="generation")``. Input (the bound
    arguments) and output are recorded as JSON, truncated at ``max_content_chars``; exceptions
    set status ERROR and ``error.type`` and are re-raised unchanged. Unless the call runs
    guardrails itself, what is recorded passes through the active policy's ``redact`` checks.

    ``kind="agent"``: span ``invoke_agent {name}`` with ``gen_ai.operation.name=invoke_agent``,
    ``gen_ai.agent.name`` (``name``, default the function's name), and ``description`` /
    ``version`` as ``gen_ai.agent.description`` / ``gen_ai.agent.version``.
    ``kind="tool"``: span ``execute_tool {name}`` with ``gen_ai.operation.name=execute_tool``,
    ``gen_ai.tool.name``, ``gen_ai.tool.type=function``, ``description`` as
    ``gen_ai.tool.description`` and, inside :func:`tool_call`, ``gen_ai.tool.call.id``; its
    arguments and result go to ``gen_ai.tool.call.arguments`` / ``gen_ai.tool.call.result``.

    ``kind="generation"`` (or any ``policy``) runs guardrails: input checks on string arguments
    and ``messages`` content before the call, output checks on the returned text after it.
    ``policy`` is a ``tracerail.guardrails.Policy``, a TOML path, ``"default"`` or ``"off"``; a
    bad policy fails here, at decoration. ``redact`` changes what the function receives, what
    the caller gets and what is recorded; ``block`` raises :class:`~tracerail.GuardrailBlocked`.
    """
    if policy is not None:
        from tracerail.guard import resolve_policy

        policy = resolve_policy(policy)
    if kind not in semconv.OBSERVATION_KINDS:
        raise ConfigError(
            "kind", f"expected one of {sorted(semconv.OBSERVATION_KINDS)}, got {kind!r}"
        )
    options = (name, kind, capture_input, capture_output, policy, description, version)
    if func is not None:
        return _decorate(func, *options)
    return lambda f: _decorate(f, *options)

"""OpenAI: chat completions, the Responses API and embeddings, sync, async and streaming.

``chat.completions.stream(...)`` and ``responses.stream(...)`` call ``create(stream=True)``
underneath, so wrapping ``create`` covers the helpers too. Stream token counts need
``stream_options={"include_usage": True}`` on chat completions (tracerail does not add it: it
changes the chunks the application sees).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import openai
from openai.resources.chat.completions import AsyncCompletions, Completions
from openai.resources.embeddings import AsyncEmbeddings, Embeddings
from openai.resources.responses import AsyncResponses, Responses
from opentelemetry.util.types import AttributeValue

from tracerail import semconv
from tracerail.instrumentation._pipeline import (
    Accumulator,
    Adapter,
    ResponseInfo,
    Target,
    TextMap,
    as_dict,
    as_int,
    attr,
    call_target,
    float_params,
    int_param,
    map_contents,
    map_text_parts,
    message,
    text_part,
    tool_call_part,
    tool_response_part,
)
from tracerail.instrumentation._streams import stream_wrapper
from tracerail.pricing import TokenUsage

_TEXT_PART_TYPES = frozenset({"text", "input_text", "output_text"})


def _common_attributes(kwargs: Mapping[str, Any]) -> dict[str, AttributeValue]:
    attributes = float_params(
        kwargs,
        (
            (semconv.GEN_AI_REQUEST_TEMPERATURE, "temperature"),
            (semconv.GEN_AI_REQUEST_TOP_P, "top_p"),
            (semconv.GEN_AI_REQUEST_FREQUENCY_PENALTY, "frequency_penalty"),
            (semconv.GEN_AI_REQUEST_PRESENCE_PENALTY, "presence_penalty"),
        ),
    )
    for name in ("max_completion_tokens", "max_tokens", "max_output_tokens"):
        value = int_param(kwargs, name)
        if value is not None:
            attributes[semconv.GEN_AI_REQUEST_MAX_TOKENS] = value
            break
    seed = int_param(kwargs, "seed")
    if seed is not None:
        attributes[semconv.GEN_AI_REQUEST_SEED] = seed
    stop = kwargs.get("stop")
    if isinstance(stop, str):
        attributes[semconv.GEN_AI_REQUEST_STOP_SEQUENCES] = [stop]
    elif isinstance(stop, list) and all(isinstance(s, str) for s in stop):
        attributes[semconv.GEN_AI_REQUEST_STOP_SEQUENCES] = stop
    return attributes


def _map_content(content: Any, fn: TextMap) -> Any:
    """A message's content (a string or a list of parts) with ``fn`` applied to its texts."""
    if isinstance(content, str):
        return fn(content)
    if isinstance(content, list):
        parts = []
        for part in content:
            part = as_dict(part)
            if (
                isinstance(part, dict)
                and part.get("type") in _TEXT_PART_TYPES
                and isinstance(part.get("text"), str)
            ):
                part = {**part, "text": fn(part["text"])}
            parts.append(part)
        return parts
    return content


def _content_parts(content: Any) -> list[dict[str, Any]]:
    if isinstance(content, str):
        return [text_part(content)]
    parts: list[dict[str, Any]] = []
    if isinstance(content, list):
        for part in content:
            part = as_dict(part)
            if isinstance(part, dict) and isinstance(part.get("text"), str):
                parts.append(text_part(part["text"]))
            elif isinstance(part, dict):
                parts.append({"type": str(part.get("type", "unknown"))})
    return parts


def _usage(
    usage: Any, input_key: str, output_key: str, input_details: str, output_details: str
) -> TokenUsage | None:
    if usage is None:
        return None
    return TokenUsage(
        input_tokens=as_int(attr(usage, input_key)),
        output_tokens=as_int(attr(usage, output_key)),
        cached_input_tokens=as_int(attr(usage, input_details, "cached_tokens")),
        reasoning_tokens=as_int(attr(usage, output_details, "reasoning_tokens")),
    )


def _chat_usage(usage: Any) -> TokenUsage | None:
    return _usage(
        usage,
        "prompt_tokens",
        "completion_tokens",
        "prompt_tokens_details",
        "completion_tokens_details",
    )


def _responses_usage(usage: Any) -> TokenUsage | None:
    return _usage(
        usage, "input_tokens", "output_tokens", "input_tokens_details", "output_tokens_details"
    )


class _GenerationAdapter(Adapter):
    """What chat completions and the Responses API share: provider, parameters, streams."""

    provider = semconv.PROVIDER_OPENAI
    operation = semconv.OPERATION_CHAT

    def request_attributes(self, kwargs: Mapping[str, Any]) -> dict[str, AttributeValue]:
        return _common_attributes(kwargs)

    def is_stream(self, result: Any) -> bool:
        return isinstance(result, openai.Stream | openai.AsyncStream)


# --- chat completions ----------------------------------------------------------------------------


class ChatAdapter(_GenerationAdapter):
    def map_input(self, kwargs: dict[str, Any], fn: TextMap) -> dict[str, Any]:
        messages = kwargs.get("messages")
        if messages is None or isinstance(messages, str | bytes):
            return kwargs
        return {**kwargs, "messages": map_contents(messages, lambda c: _map_content(c, fn))}

    def input_messages(self, kwargs: Mapping[str, Any]) -> list[dict[str, Any]]:
        result = []
        for msg in kwargs.get("messages") or ():
            msg = as_dict(msg)
            if not isinstance(msg, dict):
                continue
            role = str(msg.get("role", "user"))
            if role == "tool":
                parts = [tool_response_part(msg.get("tool_call_id"), msg.get("content"))]
            else:
                parts = _content_parts(msg.get("content"))
                for call in msg.get("tool_calls") or ():
                    function = call.get("function", {}) if isinstance(call, dict) else {}
                    parts.append(
                        tool_call_part(
                            call.get("id"), function.get("name"), function.get("arguments")
                        )
                    )
            result.append(message(role, parts))
        return result

    def response_info(self, response: Any) -> ResponseInfo:
        return ResponseInfo(
            model=attr(response, "model"),
            response_id=attr(response, "id"),
            finish_reasons=[
                str(c.finish_reason) for c in attr(response, "choices") or () if c.finish_reason
            ],
            usage=_chat_usage(attr(response, "usage")),
        )

    def map_output(self, response: Any, fn: TextMap) -> None:
        for choice in attr(response, "choices") or ():
            content = attr(choice, "message", "content")
            if isinstance(content, str):
                new = fn(content)
                if new != content:
                    choice.message.content = new

    def output_messages(self, response: Any) -> list[dict[str, Any]]:
        result = []
        for choice in attr(response, "choices") or ():
            msg = choice.message
            parts = _content_parts(msg.content)
            for call in msg.tool_calls or ():
                function = getattr(call, "function", None)
                parts.append(
                    tool_call_part(call.id, attr(function, "name"), attr(function, "arguments"))
                )
            result.append(message("assistant", parts, finish_reason=choice.finish_reason))
        return result

    def accumulator(self) -> Accumulator:
        return ChatAccumulator()


class ChatAccumulator(Accumulator):
    """Chat completion chunks → text, tool calls and finish reason per choice index."""

    def __init__(self) -> None:
        self._info = ResponseInfo()
        self._text: dict[int, list[str]] = {}
        self._tools: dict[int, dict[int, dict[str, Any]]] = {}
        self._finish: dict[int, str] = {}

    def add(self, event: Any) -> bool:
        self._info.model = self._info.model or attr(event, "model")
        self._info.response_id = self._info.response_id or attr(event, "id")
        usage = attr(event, "usage")
        if usage is not None:
            self._info.usage = _chat_usage(usage)
        has_text = False
        for choice in attr(event, "choices") or ():
            index = as_int(attr(choice, "index"))
            delta = attr(choice, "delta")
            text = attr(delta, "content")
            if isinstance(text, str) and text:
                self._text.setdefault(index, []).append(text)
                has_text = True
            for call in attr(delta, "tool_calls") or ():
                slot = self._tools.setdefault(index, {}).setdefault(
                    as_int(attr(call, "index")), {"id": None, "name": None, "arguments": ""}
                )
                slot["id"] = slot["id"] or attr(call, "id")
                slot["name"] = slot["name"] or attr(call, "function", "name")
                slot["arguments"] += attr(call, "function", "arguments") or ""
                has_text = True
            reason = attr(choice, "finish_reason")
            if reason:
                self._finish[index] = str(reason)
        return has_text

    def _indexes(self) -> list[int]:
        return sorted(set(self._text) | set(self._tools) | set(self._finish))

    def texts(self) -> list[str]:
        return ["".join(self._text[i]) for i in sorted(self._text)]

    def info(self) -> ResponseInfo:
        self._info.finish_reasons = [self._finish[i] for i in sorted(self._finish)]
        return self._info

    def output_messages(self, texts: list[str]) -> list[dict[str, Any]]:
        by_index = dict(zip(sorted(self._text), texts, strict=False))
        result = []
        for index in self._indexes():
            parts = [text_part(by_index[index])] if index in by_index else []
            for call in self._tools.get(index, {}).values():
                parts.append(tool_call_part(call["id"], call["name"], call["arguments"]))
            result.append(message("assistant", parts, finish_reason=self._finish.get(index)))
        return result

    def rewrite(self, events: list[Any], texts: list[str]) -> None:
        pending = dict(zip(sorted(self._text), texts, strict=False))
        for event in events:
            for choice in attr(event, "choices") or ():
                delta = attr(choice, "delta")
                if isinstance(attr(delta, "content"), str) and attr(delta, "content"):
                    delta.content = pending.pop(as_int(attr(choice, "index")), "")


# --- Responses API -------------------------------------------------------------------------------


class ResponsesAdapter(_GenerationAdapter):
    def map_input(self, kwargs: dict[str, Any], fn: TextMap) -> dict[str, Any]:
        mapped = dict(kwargs)
        if isinstance(kwargs.get("instructions"), str):
            mapped["instructions"] = fn(kwargs["instructions"])
        items = kwargs.get("input")
        if isinstance(items, str):
            mapped["input"] = fn(items)
        elif isinstance(items, list):
            mapped["input"] = map_contents(items, lambda c: _map_content(c, fn))
        return mapped

    def system_instructions(self, kwargs: Mapping[str, Any]) -> list[dict[str, Any]]:
        instructions = kwargs.get("instructions")
        return [text_part(instructions)] if isinstance(instructions, str) else []

    def input_messages(self, kwargs: Mapping[str, Any]) -> list[dict[str, Any]]:
        items = kwargs.get("input")
        if isinstance(items, str):
            return [message("user", [text_part(items)])]
        result = []
        for item in items or ():
            item = as_dict(item)
            if not isinstance(item, dict):
                continue
            kind = item.get("type", "message")
            if kind == "function_call_output":
                parts = [tool_response_part(item.get("call_id"), item.get("output"))]
                result.append(message("tool", parts))
            elif kind == "function_call":
                parts = [
                    tool_call_part(item.get("call_id"), item.get("name"), item.get("arguments"))
                ]
                result.append(message("assistant", parts))
            else:
                result.append(
                    message(str(item.get("role", "user")), _content_parts(item.get("content")))
                )
        return result

    def response_info(self, response: Any) -> ResponseInfo:
        status = attr(response, "status")
        return ResponseInfo(
            model=attr(response, "model"),
            response_id=attr(response, "id"),
            finish_reasons=[str(status)] if status else [],
            usage=_responses_usage(attr(response, "usage")),
        )

    def map_output(self, response: Any, fn: TextMap) -> None:
        for item in attr(response, "output") or ():
            if attr(item, "type") == "message":
                map_text_parts(attr(item, "content") or (), "output_text", fn)

    def output_messages(self, response: Any) -> list[dict[str, Any]]:
        parts: list[dict[str, Any]] = []
        for item in attr(response, "output") or ():
            kind = attr(item, "type")
            if kind == "message":
                for part in attr(item, "content") or ():
                    text = attr(part, "text")
                    if isinstance(text, str):
                        parts.append(text_part(text))
            elif kind == "function_call":
                parts.append(
                    tool_call_part(
                        attr(item, "call_id"), attr(item, "name"), attr(item, "arguments")
                    )
                )
        if not parts:
            return []
        return [message("assistant", parts, finish_reason=attr(response, "status"))]

    def accumulator(self) -> Accumulator:
        return ResponsesAccumulator(self)


class ResponsesAccumulator(Accumulator):
    """Responses stream events → text per (output, content) index; the final response."""

    def __init__(self, adapter: ResponsesAdapter) -> None:
        self._adapter = adapter
        self._info = ResponseInfo()
        self._text: dict[tuple[int, int], list[str]] = {}
        self._final: Any = None

    def add(self, event: Any) -> bool:
        kind = attr(event, "type")
        response = attr(event, "response")
        if response is not None:
            self._info.model = attr(response, "model") or self._info.model
            self._info.response_id = attr(response, "id") or self._info.response_id
            if kind in ("response.completed", "response.incomplete", "response.failed"):
                self._final = response
                self._info = self._adapter.response_info(response)
        if kind == "response.output_text.delta":
            key = (as_int(attr(event, "output_index")), as_int(attr(event, "content_index")))
            self._text.setdefault(key, []).append(attr(event, "delta") or "")
            return True
        return bool(kind == "response.function_call_arguments.delta")

    def texts(self) -> list[str]:
        return ["".join(self._text[key]) for key in sorted(self._text)]

    def info(self) -> ResponseInfo:
        return self._info

    def output_messages(self, texts: list[str]) -> list[dict[str, Any]]:
        if self._final is not None:
            return self._adapter.output_messages(self._final)
        return [message("assistant", [text_part(t) for t in texts])] if texts else []

    def rewrite(self, events: list[Any], texts: list[str]) -> None:
        by_key = dict(zip(sorted(self._text), texts, strict=False))
        pending = dict(by_key)
        for event in events:
            kind = attr(event, "type")
            key = (as_int(attr(event, "output_index")), as_int(attr(event, "content_index")))
            if kind == "response.output_text.delta":
                event.delta = pending.pop(key, "")
            elif kind == "response.output_text.done" and key in by_key:
                event.text = by_key[key]
            elif kind == "response.content_part.done" and key in by_key:
                event.part.text = by_key[key]
            elif kind == "response.output_item.done":
                index = as_int(attr(event, "output_index"))
                for content_index, part in enumerate(attr(event, "item", "content") or ()):
                    if (index, content_index) in by_key:
                        part.text = by_key[(index, content_index)]
        if self._final is not None:
            self._adapter.map_output(self._final, _replace_by_key(by_key))


def _replace_by_key(by_key: dict[tuple[int, int], str]) -> TextMap:
    supply = iter([by_key[key] for key in sorted(by_key)])
    return lambda old: next(supply, old)


# --- embeddings ----------------------------------------------------------------------------------


class EmbeddingsAdapter(Adapter):
    provider = semconv.PROVIDER_OPENAI
    operation = semconv.OPERATION_EMBEDDINGS
    guards_output = False

    def request_attributes(self, kwargs: Mapping[str, Any]) -> dict[str, AttributeValue]:
        encoding = kwargs.get("encoding_format")
        return (
            {semconv.GEN_AI_REQUEST_ENCODING_FORMATS: [encoding]}
            if isinstance(encoding, str)
            else {}
        )

    def map_input(self, kwargs: dict[str, Any], fn: TextMap) -> dict[str, Any]:
        value = kwargs.get("input")
        if isinstance(value, str):
            return {**kwargs, "input": fn(value)}
        if isinstance(value, list) and all(isinstance(v, str) for v in value):
            return {**kwargs, "input": [fn(v) for v in value]}
        return kwargs

    def input_messages(self, kwargs: Mapping[str, Any]) -> list[dict[str, Any]]:
        value = kwargs.get("input")
        texts = [value] if isinstance(value, str) else value if isinstance(value, list) else []
        return [message("user", [text_part(t) for t in texts if isinstance(t, str)])]

    def response_info(self, response: Any) -> ResponseInfo:
        data = attr(response, "data") or []
        vector = attr(data[0], "embedding") if data else None
        tokens = as_int(attr(response, "usage", "prompt_tokens"))
        return ResponseInfo(
            model=attr(response, "model"),
            usage=TokenUsage(input_tokens=tokens),
            embedding_dimensions=len(vector) if isinstance(vector, list) else None,
        )


# --- patching ------------------------------------------------------------------------------------


wrap_stream = stream_wrapper(openai.AsyncStream)


_CHAT_PATH = ("chat", "completions")
TARGETS: tuple[Target, ...] = (
    call_target(Completions, _CHAT_PATH, ChatAdapter(), False, wrap_stream),
    call_target(AsyncCompletions, _CHAT_PATH, ChatAdapter(), True, wrap_stream),
    call_target(Responses, ("responses",), ResponsesAdapter(), False, wrap_stream),
    call_target(AsyncResponses, ("responses",), ResponsesAdapter(), True, wrap_stream),
    call_target(Embeddings, ("embeddings",), EmbeddingsAdapter(), False, wrap_stream),
    call_target(AsyncEmbeddings, ("embeddings",), EmbeddingsAdapter(), True, wrap_stream),
)

CLIENT_TYPES: tuple[type, ...] = (openai.OpenAI, openai.AsyncOpenAI)

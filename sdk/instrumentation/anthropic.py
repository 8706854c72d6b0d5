"""Anthropic: messages, sync, async, ``stream=True`` and the ``messages.stream(...)`` helpers.

Token counts follow the OpenTelemetry GenAI convention: ``gen_ai.usage.input_tokens`` is the
whole prompt (Anthropic's ``input_tokens`` + cache reads + cache writes), with the cache parts
also given on their own.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from typing import Any

import anthropic
from anthropic.resources.messages import AsyncMessages, Messages
from opentelemetry.util.types import AttributeValue

from tracerail import semconv
from tracerail.instrumentation._pipeline import (
    Accumulator,
    Adapter,
    GuardedCall,
    Options,
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
    marked,
    message,
    text_part,
    tool_call_part,
    tool_response_part,
)
from tracerail.instrumentation._streams import GuardedStreamManager, stream_wrapper
from tracerail.pricing import TokenUsage


def _map_blocks(content: Any, fn: TextMap) -> Any:
    """Text in a string, text blocks, and tool results, with ``fn`` applied."""
    if isinstance(content, str):
        return fn(content)
    if not isinstance(content, list):
        return content
    blocks = []
    for block in content:
        block = as_dict(block)
        if isinstance(block, dict):
            kind = block.get("type")
            if kind == "text" and isinstance(block.get("text"), str):
                block = {**block, "text": fn(block["text"])}
            elif kind == "tool_result" and "content" in block:
                block = {**block, "content": _map_blocks(block["content"], fn)}
        blocks.append(block)
    return blocks


def _parts(content: Any) -> list[dict[str, Any]]:
    if isinstance(content, str):
        return [text_part(content)]
    parts: list[dict[str, Any]] = []
    for block in content if isinstance(content, list) else ():
        block = as_dict(block)
        if not isinstance(block, dict):
            continue
        kind = block.get("type")
        if kind == "text":
            parts.append(text_part(str(block.get("text", ""))))
        elif kind == "tool_use":
            parts.append(tool_call_part(block.get("id"), block.get("name"), block.get("input")))
        elif kind == "tool_result":
            parts.append(tool_response_part(block.get("tool_use_id"), block.get("content")))
        else:
            parts.append({"type": str(kind)})
    return parts


def _usage(usage: Any, base: TokenUsage | None = None) -> TokenUsage:
    """Anthropic usage → totals; fields the event lacks keep their value from ``base``."""
    base = base or TokenUsage()
    fresh = attr(usage, "input_tokens")
    cache_read = attr(usage, "cache_read_input_tokens")
    cache_write = attr(usage, "cache_creation_input_tokens")
    output = attr(usage, "output_tokens")
    cached = as_int(cache_read) if cache_read is not None else base.cached_input_tokens
    written = as_int(cache_write) if cache_write is not None else base.cache_creation_input_tokens
    if fresh is not None:
        total_input = as_int(fresh) + cached + written
    else:
        total_input = base.input_tokens
    return TokenUsage(
        input_tokens=total_input,
        output_tokens=as_int(output) if output is not None else base.output_tokens,
        cached_input_tokens=cached,
        cache_creation_input_tokens=written,
    )


class MessagesAdapter(Adapter):
    provider = semconv.PROVIDER_ANTHROPIC
    operation = semconv.OPERATION_CHAT

    def request_attributes(self, kwargs: Mapping[str, Any]) -> dict[str, AttributeValue]:
        attributes = float_params(
            kwargs,
            (
                (semconv.GEN_AI_REQUEST_TEMPERATURE, "temperature"),
                (semconv.GEN_AI_REQUEST_TOP_P, "top_p"),
            ),
        )
        for key, name in (
            (semconv.GEN_AI_REQUEST_MAX_TOKENS, "max_tokens"),
            (semconv.GEN_AI_REQUEST_TOP_K, "top_k"),
        ):
            value = int_param(kwargs, name)
            if value is not None:
                attributes[key] = value
        stop = kwargs.get("stop_sequences")
        if isinstance(stop, list) and all(isinstance(s, str) for s in stop):
            attributes[semconv.GEN_AI_REQUEST_STOP_SEQUENCES] = stop
        return attributes

    def map_input(self, kwargs: dict[str, Any], fn: TextMap) -> dict[str, Any]:
        mapped = dict(kwargs)
        if "system" in kwargs:
            mapped["system"] = _map_blocks(kwargs["system"], fn)
        messages = kwargs.get("messages")
        if messages is not None and not isinstance(messages, str | bytes):
            mapped["messages"] = map_contents(messages, lambda c: _map_blocks(c, fn))
        return mapped

    def system_instructions(self, kwargs: Mapping[str, Any]) -> list[dict[str, Any]]:
        return _parts(kwargs.get("system")) if kwargs.get("system") else []

    def input_messages(self, kwargs: Mapping[str, Any]) -> list[dict[str, Any]]:
        result = []
        for msg in kwargs.get("messages") or ():
            msg = as_dict(msg)
            if isinstance(msg, dict):
                result.append(message(str(msg.get("role", "user")), _parts(msg.get("content"))))
        return result

    def response_info(self, response: Any) -> ResponseInfo:
        reason = attr(response, "stop_reason")
        usage = attr(response, "usage")
        return ResponseInfo(
            model=attr(response, "model"),
            response_id=attr(response, "id"),
            finish_reasons=[str(reason)] if reason else [],
            usage=_usage(usage) if usage is not None else None,
        )

    def map_output(self, response: Any, fn: TextMap) -> None:
        map_text_parts(attr(response, "content") or (), "text", fn)

    def output_messages(self, response: Any) -> list[dict[str, Any]]:
        blocks = [as_dict(b) for b in attr(response, "content") or ()]
        return [message("assistant", _parts(blocks), finish_reason=attr(response, "stop_reason"))]

    def is_stream(self, result: Any) -> bool:
        return isinstance(result, anthropic.Stream | anthropic.AsyncStream)

    def accumulator(self) -> Accumulator:
        return MessagesAccumulator()


class MessagesAccumulator(Accumulator):
    """Raw message stream events → text and tool calls per content block, usage, stop reason."""

    def __init__(self) -> None:
        self._info = ResponseInfo()
        self._usage: TokenUsage | None = None
        self._blocks: dict[int, dict[str, Any]] = {}

    def add(self, event: Any) -> bool:
        kind = attr(event, "type")
        if kind == "message_start":
            msg = attr(event, "message")
            self._info.model = attr(msg, "model")
            self._info.response_id = attr(msg, "id")
            if attr(msg, "usage") is not None:
                self._usage = _usage(attr(msg, "usage"))
        elif kind == "content_block_start":
            block = attr(event, "content_block")
            self._blocks[as_int(attr(event, "index"))] = {
                "type": attr(block, "type"),
                "text": attr(block, "text") or "",
                "id": attr(block, "id"),
                "name": attr(block, "name"),
                "json": "",
            }
        elif kind == "content_block_delta":
            slot = self._blocks.setdefault(
                as_int(attr(event, "index")), {"type": "text", "text": "", "json": ""}
            )
            delta = attr(event, "delta")
            delta_type = attr(delta, "type")
            if delta_type == "text_delta":
                slot["text"] += attr(delta, "text") or ""
                return True
            if delta_type == "input_json_delta":
                slot["json"] += attr(delta, "partial_json") or ""
                return True
        elif kind == "message_delta":
            reason = attr(event, "delta", "stop_reason")
            if reason:
                self._info.finish_reasons = [str(reason)]
            if attr(event, "usage") is not None:
                self._usage = _usage(attr(event, "usage"), self._usage)
        return False

    def _text_indexes(self) -> list[int]:
        return [i for i in sorted(self._blocks) if self._blocks[i]["type"] == "text"]

    def texts(self) -> list[str]:
        return [self._blocks[i]["text"] for i in self._text_indexes()]

    def info(self) -> ResponseInfo:
        self._info.usage = self._usage
        return self._info

    def output_messages(self, texts: list[str]) -> list[dict[str, Any]]:
        by_index = dict(zip(self._text_indexes(), texts, strict=False))
        parts = []
        for index in sorted(self._blocks):
            block = self._blocks[index]
            if index in by_index:
                parts.append(text_part(by_index[index]))
            elif block["type"] == "tool_use":
                parts.append(tool_call_part(block["id"], block["name"], block["json"] or None))
        reasons = self._info.finish_reasons
        return [message("assistant", parts, finish_reason=reasons[0] if reasons else None)]

    def rewrite(self, events: list[Any], texts: list[str]) -> None:
        pending = dict(zip(self._text_indexes(), texts, strict=False))
        for event in events:
            delta = attr(event, "delta")
            if attr(event, "type") == "content_block_delta" and attr(delta, "type") == "text_delta":
                delta.text = pending.pop(as_int(attr(event, "index")), "")


_MESSAGES = MessagesAdapter()


wrap_stream = stream_wrapper(anthropic.AsyncStream)


def _wrap_stream_helper(original: Callable[..., Any], options: Options) -> Callable[..., Any]:
    """``messages.stream(...)``: guard the prompt now, the answer once the manager is entered."""

    @functools.wraps(original)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        call = GuardedCall(_MESSAGES, options, kwargs)
        with call.sending():
            manager = original(*args, **call.guard_input(kwargs))
        return GuardedStreamManager(manager, call, _MESSAGES.accumulator())

    return marked(wrapper, original)


_PATH = ("messages",)
TARGETS: tuple[Target, ...] = (
    call_target(Messages, _PATH, _MESSAGES, False, wrap_stream),
    call_target(AsyncMessages, _PATH, _MESSAGES, True, wrap_stream),
    Target(Messages, "stream", _PATH, _wrap_stream_helper),
    Target(AsyncMessages, "stream", _PATH, _wrap_stream_helper),
)

CLIENT_TYPES: tuple[type, ...] = (anthropic.Anthropic, anthropic.AsyncAnthropic)

"""Response bodies in the OpenAI and Anthropic wire formats, built from a request body.

The answer is ``reply`` when set, else ``"Echo: "`` + the last user text. With ``tools`` in
the request (and no tool result yet) the answer is a call of the first tool with
``{"query": <last user text>}``. Token counts are whitespace-separated words, so tests can
predict them with :func:`count_tokens`.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import struct
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

_CREATED = 1_735_689_600
SNAPSHOT_SUFFIX = "-2025-01-01"


def count_tokens(text: str) -> int:
    """The token count the local server reports for ``text``."""
    return len(text.split())


def chunks_of(text: str) -> list[str]:
    """How the server splits an answer into stream deltas: one word (with its spaces) each."""
    return re.findall(r"\s*\S+\s*", text) or [text]


@dataclass(frozen=True, slots=True)
class Knobs:
    """What the test asked the server to report."""

    reply: str | None = None
    cached_tokens: int = 0
    cache_write_tokens: int = 0
    reasoning_tokens: int = 0


def _texts(content: Any) -> list[str]:
    if isinstance(content, str):
        return [content]
    texts: list[str] = []
    for part in content if isinstance(content, list) else ():
        if isinstance(part, dict):
            if isinstance(part.get("text"), str):
                texts.append(part["text"])
            elif part.get("type") == "tool_result":
                texts.extend(_texts(part.get("content")))
    return texts


def _prompt(body: dict[str, Any]) -> tuple[list[str], str, bool]:
    """All prompt texts, the last user text, and whether the last turn is a tool result."""
    texts: list[str] = []
    last_user = ""
    tool_result = False
    for key in ("system", "instructions"):
        texts.extend(_texts(body.get(key)))
    items = body.get("messages", body.get("input"))
    if isinstance(items, str):
        items = [{"role": "user", "content": items}]
    for item in items or ():
        if not isinstance(item, dict):
            continue
        found = _texts(item.get("content", item.get("output")))
        texts.extend(found)
        kind = item.get("type")
        tool_result = item.get("role") == "tool" or kind == "function_call_output"
        if isinstance(item.get("content"), list):
            tool_result = tool_result or any(
                isinstance(p, dict) and p.get("type") == "tool_result" for p in item["content"]
            )
        if item.get("role", "user") == "user" and found:
            last_user = found[-1]
    return texts, last_user, tool_result


@dataclass(frozen=True, slots=True)
class Answer:
    model: str
    text: str
    tool_name: str | None
    tool_args: str
    input_tokens: int
    output_tokens: int
    knobs: Knobs


def answer_for(body: dict[str, Any], knobs: Knobs) -> Answer:
    texts, last_user, tool_result = _prompt(body)
    tools = body.get("tools") or []
    tool_name: str | None = None
    tool_args = ""
    if tools and not tool_result:
        first = tools[0]
        tool_name = str(first.get("name") or first.get("function", {}).get("name") or "tool")
        tool_args = json.dumps({"query": last_user})
    text = "" if tool_name else (knobs.reply if knobs.reply is not None else f"Echo: {last_user}")
    output_tokens = count_tokens(text) + (1 + count_tokens(tool_args) if tool_name else 0)
    return Answer(
        model=str(body.get("model", "")),
        text=text,
        tool_name=tool_name,
        tool_args=tool_args,
        input_tokens=sum(count_tokens(t) for t in texts),
        output_tokens=output_tokens + knobs.reasoning_tokens,
        knobs=knobs,
    )


def _id(prefix: str, answer: Answer) -> str:
    digest = hashlib.sha256(f"{answer.text}{answer.tool_args}{time.time_ns()}".encode()).hexdigest()
    return f"{prefix}{digest[:24]}"


# --- OpenAI chat completions ---------------------------------------------------------------------


def _chat_usage(a: Answer) -> dict[str, Any]:
    return {
        "prompt_tokens": a.input_tokens,
        "completion_tokens": a.output_tokens,
        "total_tokens": a.input_tokens + a.output_tokens,
        "prompt_tokens_details": {"cached_tokens": a.knobs.cached_tokens, "audio_tokens": 0},
        "completion_tokens_details": {
            "reasoning_tokens": a.knobs.reasoning_tokens,
            "audio_tokens": 0,
            "accepted_prediction_tokens": 0,
            "rejected_prediction_tokens": 0,
        },
    }


def chat_completion(a: Answer) -> dict[str, Any]:
    message: dict[str, Any] = {"role": "assistant", "content": a.text or None, "refusal": None}
    if a.tool_name:
        message["tool_calls"] = [
            {
                "id": "call_1",
                "type": "function",
                "function": {"name": a.tool_name, "arguments": a.tool_args},
            }
        ]
    return {
        "id": _id("chatcmpl-", a),
        "object": "chat.completion",
        "created": _CREATED,
        "model": a.model + SNAPSHOT_SUFFIX,
        "choices": [
            {
                "index": 0,
                "message": message,
                "finish_reason": "tool_calls" if a.tool_name else "stop",
                "logprobs": None,
            }
        ],
        "usage": _chat_usage(a),
    }


def chat_chunks(a: Answer, include_usage: bool) -> Iterator[tuple[str | None, dict[str, Any]]]:
    base = {
        "id": _id("chatcmpl-", a),
        "object": "chat.completion.chunk",
        "created": _CREATED,
        "model": a.model + SNAPSHOT_SUFFIX,
    }
    if include_usage:
        base["usage"] = None

    def chunk(delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
        choice = {"index": 0, "delta": delta, "finish_reason": finish, "logprobs": None}
        return {**base, "choices": [choice]}

    yield None, chunk({"role": "assistant", "content": ""})
    if a.tool_name:
        call = {"index": 0, "id": "call_1", "type": "function"}
        yield (
            None,
            chunk({"tool_calls": [{**call, "function": {"name": a.tool_name, "arguments": ""}}]}),
        )
        for piece in chunks_of(a.tool_args):
            yield None, chunk({"tool_calls": [{"index": 0, "function": {"arguments": piece}}]})
        yield None, chunk({}, "tool_calls")
    else:
        for piece in chunks_of(a.text):
            yield None, chunk({"content": piece})
        yield None, chunk({}, "stop")
    if include_usage:
        yield None, {**base, "choices": [], "usage": _chat_usage(a)}


# --- OpenAI Responses ----------------------------------------------------------------------------


def _response(a: Answer, output: list[dict[str, Any]], status: str) -> dict[str, Any]:
    usage = {
        "input_tokens": a.input_tokens,
        "input_tokens_details": {"cached_tokens": a.knobs.cached_tokens},
        "output_tokens": a.output_tokens,
        "output_tokens_details": {"reasoning_tokens": a.knobs.reasoning_tokens},
        "total_tokens": a.input_tokens + a.output_tokens,
    }
    return {
        "id": "resp_" + "0" * 24,
        "object": "response",
        "created_at": _CREATED,
        "status": status,
        "model": a.model + SNAPSHOT_SUFFIX,
        "output": output,
        "parallel_tool_calls": True,
        "tool_choice": "auto",
        "tools": [],
        "error": None,
        "incomplete_details": None,
        "instructions": None,
        "metadata": {},
        "temperature": 1.0,
        "top_p": 1.0,
        "text": {"format": {"type": "text"}},
        "usage": usage if status == "completed" else None,
    }


def _text_part(text: str) -> dict[str, Any]:
    return {"type": "output_text", "text": text, "annotations": [], "logprobs": []}


def _output_items(a: Answer) -> list[dict[str, Any]]:
    if a.tool_name:
        return [
            {
                "type": "function_call",
                "id": "fc_1",
                "call_id": "call_1",
                "name": a.tool_name,
                "arguments": a.tool_args,
                "status": "completed",
            }
        ]
    return [
        {
            "type": "message",
            "id": "msg_1",
            "status": "completed",
            "role": "assistant",
            "content": [_text_part(a.text)],
        }
    ]


def response(a: Answer) -> dict[str, Any]:
    return _response(a, _output_items(a), "completed")


def response_events(a: Answer) -> Iterator[tuple[str | None, dict[str, Any]]]:
    """Text answers only (tool calls are answered the same, without deltas)."""
    seq = iter(range(1_000_000))

    def event(kind: str, **fields: Any) -> tuple[str, dict[str, Any]]:
        return kind, {"type": kind, "sequence_number": next(seq), **fields}

    yield event("response.created", response=_response(a, [], "in_progress"))
    items = _output_items(a)
    item = items[0]
    if a.tool_name:
        yield event("response.output_item.added", output_index=0, item={**item, "arguments": ""})
        yield event("response.output_item.done", output_index=0, item=item)
    else:
        ids = {"item_id": "msg_1", "output_index": 0}
        started = {**item, "status": "in_progress", "content": []}
        yield event("response.output_item.added", output_index=0, item=started)
        yield event("response.content_part.added", **ids, content_index=0, part=_text_part(""))
        for piece in chunks_of(a.text):
            yield event(
                "response.output_text.delta", **ids, content_index=0, delta=piece, logprobs=[]
            )
        yield event("response.output_text.done", **ids, content_index=0, text=a.text, logprobs=[])
        yield event("response.content_part.done", **ids, content_index=0, part=_text_part(a.text))
        yield event("response.output_item.done", output_index=0, item=item)
    yield event("response.completed", response=_response(a, items, "completed"))


# --- OpenAI embeddings ---------------------------------------------------------------------------


def _vector(text: str, dimensions: int) -> list[float]:
    digest = hashlib.sha256(text.encode()).digest()
    return [(digest[i % len(digest)] - 128) / 128 for i in range(dimensions)]


def embeddings(body: dict[str, Any]) -> dict[str, Any]:
    raw = body.get("input")
    texts = [raw] if isinstance(raw, str) else [str(t) for t in raw or ()]
    dimensions = int(body.get("dimensions") or 8)
    data = []
    for index, text in enumerate(texts):
        vector = _vector(text, dimensions)
        value: Any = vector
        if body.get("encoding_format") == "base64":
            value = base64.b64encode(struct.pack(f"<{len(vector)}f", *vector)).decode()
        data.append({"object": "embedding", "index": index, "embedding": value})
    tokens = sum(count_tokens(t) for t in texts)
    return {
        "object": "list",
        "data": data,
        "model": str(body.get("model", "")),
        "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
    }


# --- Anthropic messages --------------------------------------------------------------------------


def _anthropic_usage(a: Answer, output_tokens: int) -> dict[str, Any]:
    cached, written = a.knobs.cached_tokens, a.knobs.cache_write_tokens
    return {
        "input_tokens": max(a.input_tokens - cached - written, 0),
        "output_tokens": output_tokens,
        "cache_read_input_tokens": cached,
        "cache_creation_input_tokens": written,
    }


def _anthropic_blocks(a: Answer) -> list[dict[str, Any]]:
    if a.tool_name:
        return [
            {
                "type": "tool_use",
                "id": "toolu_1",
                "name": a.tool_name,
                "input": json.loads(a.tool_args),
            }
        ]
    return [{"type": "text", "text": a.text}]


def _anthropic_message(
    a: Answer, content: list[dict[str, Any]], output_tokens: int
) -> dict[str, Any]:
    return {
        "id": "msg_" + "0" * 24,
        "type": "message",
        "role": "assistant",
        "model": a.model,
        "content": content,
        "stop_reason": None,
        "stop_sequence": None,
        "usage": _anthropic_usage(a, output_tokens),
    }


def anthropic_message(a: Answer) -> dict[str, Any]:
    msg = _anthropic_message(a, _anthropic_blocks(a), a.output_tokens)
    msg["stop_reason"] = "tool_use" if a.tool_name else "end_turn"
    return msg


def anthropic_events(a: Answer) -> Iterator[tuple[str | None, dict[str, Any]]]:
    def event(kind: str, **fields: Any) -> tuple[str, dict[str, Any]]:
        return kind, {"type": kind, **fields}

    yield event("message_start", message=_anthropic_message(a, [], 1))
    if a.tool_name:
        start = {"type": "tool_use", "id": "toolu_1", "name": a.tool_name, "input": {}}
        yield event("content_block_start", index=0, content_block=start)
        for piece in chunks_of(a.tool_args):
            delta = {"type": "input_json_delta", "partial_json": piece}
            yield event("content_block_delta", index=0, delta=delta)
    else:
        yield event("content_block_start", index=0, content_block={"type": "text", "text": ""})
        yield event("ping")
        for piece in chunks_of(a.text):
            yield event("content_block_delta", index=0, delta={"type": "text_delta", "text": piece})
    yield event("content_block_stop", index=0)
    stop = {"stop_reason": "tool_use" if a.tool_name else "end_turn", "stop_sequence": None}
    yield event("message_delta", delta=stop, usage={"output_tokens": a.output_tokens})
    yield event("message_stop")


# --- errors --------------------------------------------------------------------------------------

_OPENAI_ERROR_TYPES = {400: "invalid_request_error", 429: "rate_limit_error"}
_ANTHROPIC_ERROR_TYPES = {400: "invalid_request_error", 429: "rate_limit_error"}


def error_body(anthropic: bool, status: int, message: str) -> dict[str, Any]:
    if anthropic:
        kind = _ANTHROPIC_ERROR_TYPES.get(status, "api_error")
        return {"type": "error", "error": {"type": kind, "message": message}}
    kind = _OPENAI_ERROR_TYPES.get(status, "server_error")
    return {"error": {"message": message, "type": kind, "param": None, "code": None}}

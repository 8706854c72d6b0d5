"""Anthropic messages: create, stream=True, the stream helpers, cache tokens, errors."""

from __future__ import annotations

import json

import anthropic
import pytest

from tests.providers.conftest import STATUS_ERRORS, Spans, failed_call_span, only
from tracerail import semconv as sc
from tracerail.testing import LocalModelServer, count_tokens

MESSAGES = [{"role": "user", "content": "What is the refund window?"}]
SYSTEM = "Answer from the policy."
PROMPT_TOKENS = count_tokens(SYSTEM) + count_tokens("What is the refund window?")
ANSWER = "Echo: What is the refund window?"


def test_message_span_attributes_tokens_and_cost(claude: anthropic.Anthropic, spans: Spans) -> None:
    message = claude.messages.create(
        model="claude-sonnet-4-5",
        max_tokens=100,
        system=SYSTEM,
        messages=MESSAGES,  # type: ignore[arg-type]
        stop_sequences=["END"],
    )
    assert message.content[0].text == ANSWER  # type: ignore[union-attr]
    span = only(spans)
    attrs = span.attributes or {}
    assert span.name == "chat claude-sonnet-4-5"
    assert attrs[sc.GEN_AI_PROVIDER_NAME] == "anthropic"
    assert attrs[sc.GEN_AI_REQUEST_MAX_TOKENS] == 100
    assert attrs[sc.GEN_AI_REQUEST_STOP_SEQUENCES] == ("END",)
    assert attrs[sc.GEN_AI_RESPONSE_ID] == message.id
    assert attrs[sc.GEN_AI_RESPONSE_FINISH_REASONS] == ("end_turn",)
    assert attrs[sc.GEN_AI_USAGE_INPUT_TOKENS] == PROMPT_TOKENS
    assert attrs[sc.GEN_AI_USAGE_OUTPUT_TOKENS] == count_tokens(ANSWER)
    expected = (PROMPT_TOKENS * 3.0 + count_tokens(ANSWER) * 15.0) / 1e6
    assert attrs[sc.TRACERAIL_COST_USD] == pytest.approx(expected)
    assert json.loads(str(attrs[sc.GEN_AI_SYSTEM_INSTRUCTIONS])) == [
        {"type": "text", "content": SYSTEM}
    ]
    assert json.loads(str(attrs[sc.GEN_AI_INPUT_MESSAGES])) == [
        {"role": "user", "parts": [{"type": "text", "content": "What is the refund window?"}]}
    ]
    assert json.loads(str(attrs[sc.GEN_AI_OUTPUT_MESSAGES])) == [
        {
            "role": "assistant",
            "parts": [{"type": "text", "content": ANSWER}],
            "finish_reason": "end_turn",
        }
    ]


def test_cache_tokens_count_as_input_and_are_priced(
    claude: anthropic.Anthropic, model_server: LocalModelServer, spans: Spans
) -> None:
    model_server.set_usage(cached_tokens=2, cache_write_tokens=1)
    claude.messages.create(
        model="claude-haiku-4-5",
        max_tokens=10,
        system=SYSTEM,
        messages=MESSAGES,  # type: ignore[arg-type]
    )
    attrs = only(spans).attributes or {}
    assert attrs[sc.GEN_AI_USAGE_INPUT_TOKENS] == PROMPT_TOKENS
    assert attrs[sc.GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS] == 2
    assert attrs[sc.GEN_AI_USAGE_CACHE_CREATION_INPUT_TOKENS] == 1
    # claude-haiku-4-5: input 1.00, cache read 0.10, cache write 1.25, output 5.00 per million.
    fresh = PROMPT_TOKENS - 3
    expected = (fresh * 1.0 + 2 * 0.1 + 1 * 1.25 + count_tokens(ANSWER) * 5.0) / 1e6
    assert attrs[sc.TRACERAIL_COST_USD] == pytest.approx(expected)


def test_tool_use_is_recorded(claude: anthropic.Anthropic, spans: Spans) -> None:
    tools = [{"name": "lookup", "input_schema": {"type": "object"}}]
    claude.messages.create(
        model="claude-sonnet-4-5",
        max_tokens=10,
        messages=MESSAGES,  # type: ignore[arg-type]
        tools=tools,  # type: ignore[arg-type]
    )
    attrs = only(spans).attributes or {}
    assert attrs[sc.GEN_AI_RESPONSE_FINISH_REASONS] == ("tool_use",)
    (message,) = json.loads(str(attrs[sc.GEN_AI_OUTPUT_MESSAGES]))
    assert message["parts"] == [
        {
            "type": "tool_call",
            "id": "toolu_1",
            "name": "lookup",
            "arguments": {"query": "What is the refund window?"},
        }
    ]


def test_raw_stream(claude: anthropic.Anthropic, spans: Spans) -> None:
    stream = claude.messages.create(
        model="claude-haiku-4-5",
        max_tokens=10,
        messages=MESSAGES,  # type: ignore[arg-type]
        stream=True,
    )
    text = "".join(
        e.delta.text  # type: ignore[union-attr]
        for e in stream
        if e.type == "content_block_delta"
    )
    assert text == ANSWER
    attrs = only(spans).attributes or {}
    assert attrs[sc.TRACERAIL_STREAM] is True
    assert sc.TRACERAIL_STREAM_TTFT_MS in attrs
    assert attrs[sc.GEN_AI_USAGE_INPUT_TOKENS] == count_tokens("What is the refund window?")
    assert attrs[sc.GEN_AI_USAGE_OUTPUT_TOKENS] == count_tokens(ANSWER)
    assert attrs[sc.GEN_AI_RESPONSE_FINISH_REASONS] == ("end_turn",)


def test_stream_helper(claude: anthropic.Anthropic, spans: Spans) -> None:
    with claude.messages.stream(
        model="claude-haiku-4-5",
        max_tokens=10,
        system=SYSTEM,
        messages=MESSAGES,  # type: ignore[arg-type]
    ) as stream:
        text = "".join(stream.text_stream)
        final = stream.get_final_message()
    assert text == ANSWER
    assert final.usage.output_tokens == count_tokens(ANSWER)
    attrs = only(spans).attributes or {}
    assert attrs[sc.GEN_AI_USAGE_INPUT_TOKENS] == PROMPT_TOKENS
    assert attrs[sc.GEN_AI_USAGE_OUTPUT_TOKENS] == count_tokens(ANSWER)
    assert sc.TRACERAIL_COST_USD in attrs
    assert json.loads(str(attrs[sc.GEN_AI_OUTPUT_MESSAGES]))[0]["parts"] == [
        {"type": "text", "content": ANSWER}
    ]


async def test_async_create_and_stream_helper(
    async_claude: anthropic.AsyncAnthropic, spans: Spans
) -> None:
    message = await async_claude.messages.create(
        model="claude-haiku-4-5",
        max_tokens=10,
        messages=MESSAGES,  # type: ignore[arg-type]
    )
    async with async_claude.messages.stream(
        model="claude-haiku-4-5",
        max_tokens=10,
        messages=MESSAGES,  # type: ignore[arg-type]
    ) as stream:
        text = await stream.get_final_text()
    assert message.content[0].text == text == ANSWER  # type: ignore[union-attr]
    first, second = spans()
    assert sc.TRACERAIL_STREAM not in (first.attributes or {})
    assert (second.attributes or {})[sc.TRACERAIL_STREAM] is True
    assert (second.attributes or {})[sc.GEN_AI_USAGE_OUTPUT_TOKENS] == count_tokens(ANSWER)


@pytest.mark.parametrize(("status", "error"), STATUS_ERRORS.items())
def test_errors_are_recorded_and_reraised(
    claude: anthropic.Anthropic,
    model_server: LocalModelServer,
    spans: Spans,
    status: int,
    error: str,
) -> None:
    model_server.fail_next(status, "overloaded")
    with pytest.raises(getattr(anthropic, error)) as caught:
        claude.messages.create(
            model="claude-haiku-4-5",
            max_tokens=10,
            messages=MESSAGES,  # type: ignore[arg-type]
        )
    assert caught.value.status_code == status
    failed_call_span(spans, error)


def test_stream_helper_error_is_recorded(
    claude: anthropic.Anthropic, model_server: LocalModelServer, spans: Spans
) -> None:
    model_server.fail_next(500)
    manager = claude.messages.stream(
        model="claude-haiku-4-5",
        max_tokens=10,
        messages=MESSAGES,  # type: ignore[arg-type]
    )
    with pytest.raises(anthropic.InternalServerError), manager:
        pass
    assert (only(spans).attributes or {})[sc.ERROR_TYPE] == "InternalServerError"

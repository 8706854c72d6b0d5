"""OpenAI chat completions, Responses and embeddings: spans, tokens, cost, streams, errors."""

from __future__ import annotations

import json

import openai
import pytest

import tracerail
from tests.providers.conftest import STATUS_ERRORS, Spans, failed_call_span, only
from tracerail import semconv as sc
from tracerail.pricing import TokenUsage, cost_usd
from tracerail.testing import SNAPSHOT_SUFFIX, LocalModelServer, count_tokens

PROMPT = [
    {"role": "system", "content": "You answer briefly."},
    {"role": "user", "content": "How long do refunds take?"},
]
PROMPT_TOKENS = count_tokens("You answer briefly.") + count_tokens("How long do refunds take?")
ANSWER = "Echo: How long do refunds take?"


def test_chat_completion_span_has_genai_attributes_tokens_and_cost(
    oai: openai.OpenAI, spans: Spans
) -> None:
    result = oai.chat.completions.create(
        model="gpt-4o-mini", messages=PROMPT, temperature=0.3, top_p=0.9, max_tokens=50
    )
    assert result.choices[0].message.content == ANSWER

    span = only(spans)
    assert span.name == "chat gpt-4o-mini"
    assert span.kind.name == "CLIENT"
    attrs = span.attributes or {}
    assert attrs[sc.GEN_AI_OPERATION_NAME] == "chat"
    assert attrs[sc.GEN_AI_PROVIDER_NAME] == "openai"
    assert attrs[sc.GEN_AI_REQUEST_MODEL] == "gpt-4o-mini"
    assert attrs[sc.GEN_AI_REQUEST_TEMPERATURE] == 0.3
    assert attrs[sc.GEN_AI_REQUEST_TOP_P] == 0.9
    assert attrs[sc.GEN_AI_REQUEST_MAX_TOKENS] == 50
    assert attrs[sc.GEN_AI_RESPONSE_MODEL] == "gpt-4o-mini" + SNAPSHOT_SUFFIX
    assert attrs[sc.GEN_AI_RESPONSE_ID] == result.id
    assert attrs[sc.GEN_AI_RESPONSE_FINISH_REASONS] == ("stop",)
    output_tokens = count_tokens(ANSWER)
    assert attrs[sc.GEN_AI_USAGE_INPUT_TOKENS] == PROMPT_TOKENS
    assert attrs[sc.GEN_AI_USAGE_OUTPUT_TOKENS] == output_tokens
    # gpt-4o-mini: $0.15 / $0.60 per million tokens; the dated snapshot uses the same row.
    expected = (PROMPT_TOKENS * 0.15 + output_tokens * 0.6) / 1e6
    assert attrs[sc.TRACERAIL_COST_USD] == pytest.approx(expected)
    messages = json.loads(str(attrs[sc.GEN_AI_INPUT_MESSAGES]))
    assert messages == [
        {"role": "system", "parts": [{"type": "text", "content": "You answer briefly."}]},
        {"role": "user", "parts": [{"type": "text", "content": "How long do refunds take?"}]},
    ]
    output = json.loads(str(attrs[sc.GEN_AI_OUTPUT_MESSAGES]))
    assert output == [
        {
            "role": "assistant",
            "parts": [{"type": "text", "content": ANSWER}],
            "finish_reason": "stop",
        }
    ]


def test_tool_calls_are_recorded_as_output_parts(oai: openai.OpenAI, spans: Spans) -> None:
    tools = [{"type": "function", "function": {"name": "lookup", "parameters": {}}}]
    result = oai.chat.completions.create(model="gpt-4o", messages=PROMPT, tools=tools)  # type: ignore[list-item]
    call = result.choices[0].message.tool_calls[0]  # type: ignore[index]
    attrs = only(spans).attributes or {}
    assert attrs[sc.GEN_AI_RESPONSE_FINISH_REASONS] == ("tool_calls",)
    (message,) = json.loads(str(attrs[sc.GEN_AI_OUTPUT_MESSAGES]))
    assert message["parts"] == [
        {
            "type": "tool_call",
            "id": call.id,
            "name": "lookup",
            "arguments": '{"query": "How long do refunds take?"}',
        }
    ]


def test_cached_and_reasoning_tokens_are_recorded_and_priced(
    oai: openai.OpenAI, model_server: LocalModelServer, spans: Spans
) -> None:
    model_server.set_usage(cached_tokens=4, reasoning_tokens=7)
    oai.chat.completions.create(model="o3-mini", messages=PROMPT)
    attrs = only(spans).attributes or {}
    output_tokens = count_tokens(ANSWER) + 7
    assert attrs[sc.GEN_AI_USAGE_INPUT_TOKENS] == PROMPT_TOKENS
    assert attrs[sc.GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS] == 4
    assert attrs[sc.GEN_AI_USAGE_OUTPUT_TOKENS] == output_tokens
    assert attrs[sc.GEN_AI_USAGE_REASONING_OUTPUT_TOKENS] == 7
    # o3-mini: input 1.10, cached 0.55, output (and reasoning) 4.40 per million.
    expected = ((PROMPT_TOKENS - 4) * 1.1 + 4 * 0.55 + output_tokens * 4.4) / 1e6
    assert attrs[sc.TRACERAIL_COST_USD] == pytest.approx(expected)


def test_stream_records_ttft_usage_and_accumulated_output(oai: openai.OpenAI, spans: Spans) -> None:
    stream = oai.chat.completions.create(
        model="gpt-4o",
        messages=PROMPT,
        stream=True,
        stream_options={"include_usage": True},
    )
    text = "".join(c.choices[0].delta.content or "" for c in stream if c.choices)
    assert text == ANSWER

    span = only(spans)
    attrs = span.attributes or {}
    assert attrs[sc.TRACERAIL_STREAM] is True
    ttft = attrs[sc.TRACERAIL_STREAM_TTFT_MS]
    assert isinstance(ttft, float)
    assert 0 <= ttft <= (span.end_time - span.start_time) / 1e6  # type: ignore[operator]
    assert attrs[sc.GEN_AI_USAGE_INPUT_TOKENS] == PROMPT_TOKENS
    assert attrs[sc.GEN_AI_USAGE_OUTPUT_TOKENS] == count_tokens(ANSWER)
    assert attrs[sc.GEN_AI_RESPONSE_FINISH_REASONS] == ("stop",)
    assert sc.TRACERAIL_COST_USD in attrs
    output = json.loads(str(attrs[sc.GEN_AI_OUTPUT_MESSAGES]))
    assert output[0]["parts"] == [{"type": "text", "content": ANSWER}]


def test_stream_without_usage_has_no_tokens_or_cost(oai: openai.OpenAI, spans: Spans) -> None:
    for _ in oai.chat.completions.create(model="gpt-4o", messages=PROMPT, stream=True):
        pass
    attrs = only(spans).attributes or {}
    assert sc.GEN_AI_USAGE_INPUT_TOKENS not in attrs
    assert sc.TRACERAIL_COST_USD not in attrs
    assert attrs[sc.GEN_AI_RESPONSE_FINISH_REASONS] == ("stop",)


def test_stream_helper_is_traced_once(oai: openai.OpenAI, spans: Spans) -> None:
    with oai.chat.completions.stream(
        model="gpt-4o", messages=PROMPT, stream_options={"include_usage": True}
    ) as stream:
        deltas = [e.delta for e in stream if e.type == "content.delta"]
        final = stream.get_final_completion()
    assert "".join(deltas) == ANSWER
    assert final.choices[0].message.content == ANSWER
    attrs = only(spans).attributes or {}
    assert attrs[sc.GEN_AI_USAGE_OUTPUT_TOKENS] == count_tokens(ANSWER)


def test_stream_closed_early_still_ends_the_span(oai: openai.OpenAI, spans: Spans) -> None:
    with oai.chat.completions.create(model="gpt-4o", messages=PROMPT, stream=True) as stream:
        next(iter(stream))
        next(iter(stream))
    attrs = only(spans).attributes or {}
    assert attrs[sc.TRACERAIL_STREAM_STOPPED] is True
    assert json.loads(str(attrs[sc.GEN_AI_OUTPUT_MESSAGES]))[0]["parts"][0]["content"] == "Echo: "


async def test_async_chat_and_stream(async_oai: openai.AsyncOpenAI, spans: Spans) -> None:
    result = await async_oai.chat.completions.create(model="gpt-4o", messages=PROMPT)
    stream = await async_oai.chat.completions.create(
        model="gpt-4o", messages=PROMPT, stream=True, stream_options={"include_usage": True}
    )
    text = "".join([c.choices[0].delta.content or "" async for c in stream if c.choices])
    assert result.choices[0].message.content == text == ANSWER
    first, second = spans()
    assert first.name == second.name == "chat gpt-4o"
    assert (second.attributes or {})[sc.TRACERAIL_STREAM] is True
    for span in (first, second):
        assert (span.attributes or {})[sc.GEN_AI_USAGE_OUTPUT_TOKENS] == count_tokens(ANSWER)


def test_responses_api(oai: openai.OpenAI, model_server: LocalModelServer, spans: Spans) -> None:
    model_server.set_usage(cached_tokens=1, reasoning_tokens=2)
    result = oai.responses.create(
        model="gpt-4.1", instructions="Be brief.", input="Where is my parcel?", max_output_tokens=64
    )
    assert result.output_text == "Echo: Where is my parcel?"
    attrs = only(spans).attributes or {}
    assert attrs[sc.GEN_AI_REQUEST_MAX_TOKENS] == 64
    assert attrs[sc.GEN_AI_RESPONSE_FINISH_REASONS] == ("completed",)
    assert attrs[sc.GEN_AI_USAGE_INPUT_TOKENS] == 6
    assert attrs[sc.GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS] == 1
    assert attrs[sc.GEN_AI_USAGE_REASONING_OUTPUT_TOKENS] == 2
    assert json.loads(str(attrs[sc.GEN_AI_SYSTEM_INSTRUCTIONS])) == [
        {"type": "text", "content": "Be brief."}
    ]
    output_tokens = count_tokens("Echo: Where is my parcel?") + 2
    assert attrs[sc.GEN_AI_USAGE_OUTPUT_TOKENS] == output_tokens
    expected = cost_usd("gpt-4.1", TokenUsage(6, output_tokens, 1, 0, 2))
    assert attrs[sc.TRACERAIL_COST_USD] == pytest.approx(expected)


async def test_responses_stream_helper_async(async_oai: openai.AsyncOpenAI, spans: Spans) -> None:
    async with async_oai.responses.stream(model="gpt-4.1", input="Where is my parcel?") as stream:
        async for _ in stream:
            pass
        final = await stream.get_final_response()
    assert final.output_text == "Echo: Where is my parcel?"
    attrs = only(spans).attributes or {}
    assert sc.TRACERAIL_STREAM_TTFT_MS in attrs
    assert attrs[sc.GEN_AI_USAGE_OUTPUT_TOKENS] == 5
    assert json.loads(str(attrs[sc.GEN_AI_OUTPUT_MESSAGES]))[0]["parts"] == [
        {"type": "text", "content": "Echo: Where is my parcel?"}
    ]


def test_embeddings(oai: openai.OpenAI, spans: Spans) -> None:
    result = oai.embeddings.create(model="text-embedding-3-small", input=["one two", "three"])
    assert len(result.data) == 2
    span = only(spans)
    attrs = span.attributes or {}
    assert span.name == "embeddings text-embedding-3-small"
    assert attrs[sc.GEN_AI_OPERATION_NAME] == "embeddings"
    assert attrs[sc.GEN_AI_USAGE_INPUT_TOKENS] == 3
    assert sc.GEN_AI_USAGE_OUTPUT_TOKENS not in attrs
    assert attrs[sc.GEN_AI_EMBEDDINGS_DIMENSION_COUNT] == 8
    assert attrs[sc.TRACERAIL_COST_USD] == pytest.approx(3 * 0.02 / 1e6)


@pytest.mark.parametrize(("status", "error"), STATUS_ERRORS.items())
def test_provider_errors_are_recorded_and_reraised_unchanged(
    oai: openai.OpenAI, model_server: LocalModelServer, spans: Spans, status: int, error: str
) -> None:
    model_server.fail_next(status, "nope")
    with pytest.raises(getattr(openai, error)) as caught:
        oai.chat.completions.create(model="gpt-4o", messages=PROMPT)
    assert caught.value.status_code == status
    assert "nope" in str(caught.value)
    span = failed_call_span(spans, error)
    names = [e.name for e in span.events]
    assert names[-1] == "exception" and names.count("exception") == 1
    assert all(n.startswith(sc.GUARDRAIL_SPAN_PREFIX) for n in names[:-1])  # input checks ran


def test_stream_error_is_recorded(
    oai: openai.OpenAI, model_server: LocalModelServer, spans: Spans
) -> None:
    model_server.fail_next(429)
    with pytest.raises(openai.RateLimitError):
        oai.chat.completions.create(model="gpt-4o", messages=PROMPT, stream=True)
    assert (only(spans).attributes or {})[sc.ERROR_TYPE] == "RateLimitError"


def test_unknown_model_gets_no_cost_and_one_warning(
    oai: openai.OpenAI, spans: Spans, caplog: pytest.LogCaptureFixture
) -> None:
    for _ in range(2):
        oai.chat.completions.create(model="house-model-x", messages=PROMPT)
    for span in spans():
        assert sc.TRACERAIL_COST_USD not in (span.attributes or {})
        assert (span.attributes or {})[sc.GEN_AI_USAGE_INPUT_TOKENS] == PROMPT_TOKENS
    warnings = [r for r in caplog.records if "house-model-x" in r.getMessage()]
    assert len(warnings) == 1


def test_capture_content_off_records_no_messages(model_server: LocalModelServer) -> None:
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    exporter = InMemorySpanExporter()
    tracerail.init(tracer_provider=TracerProvider(), span_exporter=exporter, capture_content=False)
    try:
        client = tracerail.instrument(
            openai.OpenAI(base_url=model_server.openai_base_url, api_key="t", max_retries=0)
        )
        client.chat.completions.create(model="gpt-4o", messages=PROMPT)
        tracerail.flush()
        (span,) = exporter.get_finished_spans()
    finally:
        tracerail.shutdown()
    attrs = span.attributes or {}
    assert sc.GEN_AI_INPUT_MESSAGES not in attrs
    assert sc.GEN_AI_OUTPUT_MESSAGES not in attrs
    assert attrs[sc.GEN_AI_USAGE_INPUT_TOKENS] == PROMPT_TOKENS


def test_instrument_twice_and_instrument_all_make_one_span_per_call(
    model_server: LocalModelServer, spans: Spans
) -> None:
    client = openai.OpenAI(base_url=model_server.openai_base_url, api_key="t", max_retries=0)
    patched = tracerail.instrument_all()
    assert "openai.resources.chat.completions.completions.Completions.create" in patched
    tracerail.instrument(tracerail.instrument(client))
    client.chat.completions.create(model="gpt-4o", messages=PROMPT)
    assert len(spans()) == 1

    tracerail.uninstrument_all()
    fresh = openai.OpenAI(base_url=model_server.openai_base_url, api_key="t", max_retries=0)
    fresh.chat.completions.create(model="gpt-4o", messages=PROMPT)
    assert len(spans()) == 1


def test_uninstrument_client(oai: openai.OpenAI, spans: Spans) -> None:
    tracerail.uninstrument(oai)
    oai.chat.completions.create(model="gpt-4o", messages=PROMPT)
    assert spans() == []


def test_instrument_rejects_other_objects() -> None:
    with pytest.raises(TypeError, match=r"openai\.OpenAI"):
        tracerail.instrument(object())


def test_span_is_parent_of_nothing_and_child_of_observe(oai: openai.OpenAI, spans: Spans) -> None:
    @tracerail.observe(kind="agent")
    def agent() -> str:
        result = oai.chat.completions.create(model="gpt-4o", messages=PROMPT)
        return str(result.choices[0].message.content)

    agent()
    chat, root = spans()
    assert chat.parent is not None
    assert chat.parent.span_id == root.context.span_id  # type: ignore[union-attr]

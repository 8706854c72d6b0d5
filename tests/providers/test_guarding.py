"""Guardrails in the provider call path.

Two groups:

1. ``test_pipeline_*``: how the pipeline applies a policy (redacted texts are what is sent, a
   block sends nothing, streams stop early, buffered streams carry the redaction). Each test
   passes :data:`PIPELINE_POLICY` the way users do (``tracerail.instrument(client,
   policy=...)``): e-mail addresses are masked, the word BLOCKME blocks.
2. ``test_default_policy_*``: what the real default policy must do through the instrumented
   clients.
"""

from __future__ import annotations

import json
from typing import Any

import anthropic
import openai
import pytest

import tracerail
from tests.providers.conftest import Spans, only
from tracerail import GuardrailBlocked
from tracerail import semconv as sc
from tracerail.guardrails import Action, CheckConfig, Policy
from tracerail.testing import LocalModelServer

EMAIL = "jane.doe@example.com"
# Masked, not the default policy's <EMAIL_1> placeholder: the tests see that this policy ran.
REDACTED = "*" * len(EMAIL)

#: Redact e-mail addresses (and only those); block any text with the word BLOCKME.
PIPELINE_POLICY = Policy(
    name="pipeline-tests",
    checks=(
        CheckConfig("pii", Action.REDACT, entities=("EMAIL_ADDRESS",), operator="mask"),
        CheckConfig("topics", Action.BLOCK, options={"topics": {"blocked": ["BLOCKME"]}}),
    ),
)


@pytest.fixture
def guarded_oai(model_server: LocalModelServer) -> openai.OpenAI:
    return tracerail.instrument(
        openai.OpenAI(base_url=model_server.openai_base_url, api_key="t", max_retries=0),
        policy=PIPELINE_POLICY,
    )


@pytest.fixture
def guarded_claude(model_server: LocalModelServer) -> anthropic.Anthropic:
    return tracerail.instrument(
        anthropic.Anthropic(base_url=model_server.url, api_key="t", max_retries=0),
        policy=PIPELINE_POLICY,
    )


def _sent_text(server: LocalModelServer) -> str:
    (request,) = server.requests
    return json.dumps(request.body)


def test_pipeline_sends_redacted_prompt_and_records_it(
    guarded_oai: openai.OpenAI, model_server: LocalModelServer, spans: Spans
) -> None:
    messages = [{"role": "user", "content": [{"type": "text", "text": f"mail {EMAIL} now"}]}]
    result = guarded_oai.chat.completions.create(model="gpt-4o", messages=messages)  # type: ignore[arg-type]
    sent = _sent_text(model_server)
    assert EMAIL not in sent
    assert REDACTED in sent
    assert result.choices[0].message.content == f"Echo: mail {REDACTED} now"
    attrs = only(spans).attributes or {}
    assert EMAIL not in str(attrs[sc.GEN_AI_INPUT_MESSAGES])
    assert REDACTED in str(attrs[sc.GEN_AI_INPUT_MESSAGES])


def test_pipeline_block_sends_nothing(
    guarded_claude: anthropic.Anthropic, model_server: LocalModelServer, spans: Spans
) -> None:
    with pytest.raises(GuardrailBlocked) as caught:
        guarded_claude.messages.create(
            model="claude-haiku-4-5",
            max_tokens=10,
            messages=[{"role": "user", "content": "please BLOCKME"}],
        )
    assert caught.value.target == "input"
    assert model_server.requests == []
    span = only(spans)
    assert (span.attributes or {})[sc.ERROR_TYPE] == "GuardrailBlocked"
    assert span.status.status_code.name == "ERROR"


def test_pipeline_redacts_the_answer(
    guarded_oai: openai.OpenAI, model_server: LocalModelServer, spans: Spans
) -> None:
    model_server.set_reply(f"Write to {EMAIL} for refunds.")
    result = guarded_oai.responses.create(model="gpt-4.1", input="who do I write to?")
    assert result.output_text == f"Write to {REDACTED} for refunds."
    assert EMAIL not in str((only(spans).attributes or {})[sc.GEN_AI_OUTPUT_MESSAGES])


def test_pipeline_blocked_answer_raises(
    guarded_oai: openai.OpenAI, model_server: LocalModelServer, spans: Spans
) -> None:
    model_server.set_reply("fine BLOCKME")
    with pytest.raises(GuardrailBlocked) as caught:
        guarded_oai.chat.completions.create(
            model="gpt-4o", messages=[{"role": "user", "content": "hi"}]
        )
    assert caught.value.target == "output"
    attrs = only(spans).attributes or {}
    assert attrs[sc.ERROR_TYPE] == "GuardrailBlocked"
    assert sc.GEN_AI_OUTPUT_MESSAGES not in attrs


def test_pipeline_stream_block_stops_early(
    guarded_claude: anthropic.Anthropic, model_server: LocalModelServer, spans: Spans
) -> None:
    model_server.set_reply("one two BLOCKME " + "word " * 50)
    received: list[str] = []
    with pytest.raises(GuardrailBlocked):
        with guarded_claude.messages.stream(
            model="claude-haiku-4-5",
            max_tokens=100,
            messages=[{"role": "user", "content": "go"}],
        ) as stream:
            for text in stream.text_stream:
                received.append(text)
    assert "".join(received).startswith("one two")
    assert "word" not in "".join(received)
    attrs = only(spans).attributes or {}
    assert attrs[sc.TRACERAIL_STREAM_STOPPED] is True
    assert attrs[sc.ERROR_TYPE] == "GuardrailBlocked"


def test_pipeline_incremental_stream_redacts_the_recorded_output_only(
    guarded_oai: openai.OpenAI, model_server: LocalModelServer, spans: Spans
) -> None:
    model_server.set_reply(f"mail {EMAIL} please")
    stream = guarded_oai.chat.completions.create(
        model="gpt-4o", messages=[{"role": "user", "content": "hi"}], stream=True
    )
    text = "".join(c.choices[0].delta.content or "" for c in stream if c.choices)
    assert EMAIL in text  # already delivered: incremental mode cannot take it back
    recorded = str((only(spans).attributes or {})[sc.GEN_AI_OUTPUT_MESSAGES])
    assert EMAIL not in recorded
    assert REDACTED in recorded


@pytest.mark.parametrize("provider", ["openai", "anthropic", "responses"])
def test_pipeline_buffered_stream_delivers_the_redacted_answer(
    model_server: LocalModelServer, spans: Spans, provider: str
) -> None:
    model_server.set_reply(f"mail {EMAIL} please")
    messages: Any = [{"role": "user", "content": "hi"}]
    if provider == "anthropic":
        claude = tracerail.instrument(
            anthropic.Anthropic(base_url=model_server.url, api_key="t", max_retries=0),
            stream_output="buffered",
            policy=PIPELINE_POLICY,
        )
        with claude.messages.stream(
            model="claude-haiku-4-5", max_tokens=50, messages=messages
        ) as s:
            text = "".join(s.text_stream)
            final = s.get_final_message().content[0].text  # type: ignore[union-attr]
    else:
        client = tracerail.instrument(
            openai.OpenAI(base_url=model_server.openai_base_url, api_key="t", max_retries=0),
            stream_output="buffered",
            policy=PIPELINE_POLICY,
        )
        if provider == "openai":
            with client.chat.completions.stream(model="gpt-4o", messages=messages) as s:
                text = "".join(e.delta for e in s if e.type == "content.delta")
                final = str(s.get_final_completion().choices[0].message.content)
        else:
            with client.responses.stream(model="gpt-4.1", input="hi") as r:
                text = "".join(e.delta for e in r if e.type == "response.output_text.delta")
                final = r.get_final_response().output_text
    assert text == final == f"mail {REDACTED} please"
    assert EMAIL not in str((only(spans).attributes or {})[sc.GEN_AI_OUTPUT_MESSAGES])


# --- expectations of the real default policy (issue 3) -------------------------------------------


def blocking_policy() -> Policy:
    """A policy that blocks every non-empty prompt: a max-length check of one character."""
    return Policy(
        name="block-all",
        checks=(CheckConfig("max_length", Action.BLOCK, options={"max_chars": 1}),),
    )


def test_default_policy_redacts_email_before_it_is_sent(
    oai: openai.OpenAI, model_server: LocalModelServer, spans: Spans
) -> None:
    oai.chat.completions.create(
        model="gpt-4o", messages=[{"role": "user", "content": f"my mail is {EMAIL}"}]
    )
    sent = _sent_text(model_server)
    assert EMAIL not in sent
    assert "my mail is" in sent
    assert EMAIL not in str((only(spans).attributes or {})[sc.GEN_AI_INPUT_MESSAGES])


def test_default_policy_redacts_email_in_anthropic_stream_prompt(
    claude: anthropic.Anthropic, model_server: LocalModelServer, spans: Spans
) -> None:
    with claude.messages.stream(
        model="claude-haiku-4-5",
        max_tokens=10,
        messages=[{"role": "user", "content": f"my mail is {EMAIL}"}],
    ) as stream:
        stream.until_done()
    assert EMAIL not in _sent_text(model_server)


def test_blocking_policy_raises_and_sends_nothing(
    model_server: LocalModelServer, spans: Spans
) -> None:
    client = tracerail.instrument(
        openai.OpenAI(base_url=model_server.openai_base_url, api_key="t", max_retries=0),
        policy=blocking_policy(),
    )
    with pytest.raises(GuardrailBlocked):
        client.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": "hi"}])
    assert model_server.requests == []

"""Guardrails in the provider call path.

Two groups:

1. ``test_pipeline_*``: how the pipeline uses :func:`tracerail.guard.run_guardrails` (redacted
   texts are what is sent, a block sends nothing, streams stop early, buffered streams carry
   the redaction). These swap ``run_guardrails`` for a small stand-in with the same contract
   so each test controls exactly which chunk triggers a block or redaction; the only fake
   here (TODO: express them as real policies, as group 2 does).
2. ``test_default_policy_*``: what the real default policy must do through the instrumented
   clients.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from typing import Any, Literal

import anthropic
import openai
import pytest

from tests.providers.conftest import Spans, only
from tracerail import GuardrailBlocked, guard
from tracerail import semconv as sc
from tracerail.testing import LocalModelServer

EMAIL = "jane.doe@example.com"
EMAIL_RE = re.compile(r"[\w.+-]+@[\w-]+\.[\w.]+")
REDACTED = "<EMAIL_ADDRESS>"


def stand_in_guardrails(
    texts: Sequence[str],
    *,
    target: Literal["input", "output"],
    policy: Any = None,
    span: Any = None,
    context: Any = None,
) -> list[str]:
    """Same contract as ``run_guardrails``: redact e-mails; block on the word BLOCKME."""
    if any("BLOCKME" in t for t in texts):
        raise GuardrailBlocked(target, ["stand_in"], ["blocked word"])
    return [EMAIL_RE.sub(REDACTED, t) for t in texts]


@pytest.fixture
def guarded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(guard, "run_guardrails", stand_in_guardrails)


def _sent_text(server: LocalModelServer) -> str:
    (request,) = server.requests
    return json.dumps(request.body)


@pytest.mark.usefixtures("guarded")
def test_pipeline_sends_redacted_prompt_and_records_it(
    oai: openai.OpenAI, model_server: LocalModelServer, spans: Spans
) -> None:
    messages = [{"role": "user", "content": [{"type": "text", "text": f"mail {EMAIL} now"}]}]
    result = oai.chat.completions.create(model="gpt-4o", messages=messages)  # type: ignore[arg-type]
    sent = _sent_text(model_server)
    assert EMAIL not in sent
    assert REDACTED in sent
    assert result.choices[0].message.content == f"Echo: mail {REDACTED} now"
    attrs = only(spans).attributes or {}
    assert EMAIL not in str(attrs[sc.GEN_AI_INPUT_MESSAGES])
    assert REDACTED in str(attrs[sc.GEN_AI_INPUT_MESSAGES])


@pytest.mark.usefixtures("guarded")
def test_pipeline_block_sends_nothing(
    claude: anthropic.Anthropic, model_server: LocalModelServer, spans: Spans
) -> None:
    with pytest.raises(GuardrailBlocked) as caught:
        claude.messages.create(
            model="claude-haiku-4-5",
            max_tokens=10,
            messages=[{"role": "user", "content": "please BLOCKME"}],
        )
    assert caught.value.target == "input"
    assert model_server.requests == []
    span = only(spans)
    assert (span.attributes or {})[sc.ERROR_TYPE] == "GuardrailBlocked"
    assert span.status.status_code.name == "ERROR"


@pytest.mark.usefixtures("guarded")
def test_pipeline_redacts_the_answer(
    oai: openai.OpenAI, model_server: LocalModelServer, spans: Spans
) -> None:
    model_server.set_reply(f"Write to {EMAIL} for refunds.")
    result = oai.responses.create(model="gpt-4.1", input="who do I write to?")
    assert result.output_text == f"Write to {REDACTED} for refunds."
    assert EMAIL not in str((only(spans).attributes or {})[sc.GEN_AI_OUTPUT_MESSAGES])


@pytest.mark.usefixtures("guarded")
def test_pipeline_blocked_answer_raises(
    oai: openai.OpenAI, model_server: LocalModelServer, spans: Spans
) -> None:
    model_server.set_reply("fine BLOCKME")
    with pytest.raises(GuardrailBlocked) as caught:
        oai.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": "hi"}])
    assert caught.value.target == "output"
    attrs = only(spans).attributes or {}
    assert attrs[sc.ERROR_TYPE] == "GuardrailBlocked"
    assert sc.GEN_AI_OUTPUT_MESSAGES not in attrs


@pytest.mark.usefixtures("guarded")
def test_pipeline_stream_block_stops_early(
    claude: anthropic.Anthropic, model_server: LocalModelServer, spans: Spans
) -> None:
    model_server.set_reply("one two BLOCKME " + "word " * 50)
    received: list[str] = []
    with pytest.raises(GuardrailBlocked):
        with claude.messages.stream(
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


@pytest.mark.usefixtures("guarded")
def test_pipeline_incremental_stream_redacts_the_recorded_output_only(
    oai: openai.OpenAI, model_server: LocalModelServer, spans: Spans
) -> None:
    model_server.set_reply(f"mail {EMAIL} please")
    stream = oai.chat.completions.create(
        model="gpt-4o", messages=[{"role": "user", "content": "hi"}], stream=True
    )
    text = "".join(c.choices[0].delta.content or "" for c in stream if c.choices)
    assert EMAIL in text  # already delivered: incremental mode cannot take it back
    recorded = str((only(spans).attributes or {})[sc.GEN_AI_OUTPUT_MESSAGES])
    assert EMAIL not in recorded
    assert REDACTED in recorded


@pytest.mark.usefixtures("guarded")
@pytest.mark.parametrize("provider", ["openai", "anthropic", "responses"])
def test_pipeline_buffered_stream_delivers_the_redacted_answer(
    model_server: LocalModelServer, spans: Spans, provider: str
) -> None:
    import tracerail

    model_server.set_reply(f"mail {EMAIL} please")
    messages: Any = [{"role": "user", "content": "hi"}]
    if provider == "anthropic":
        claude = tracerail.instrument(
            anthropic.Anthropic(base_url=model_server.url, api_key="t", max_retries=0),
            stream_output="buffered",
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


def blocking_policy() -> Any:
    """A policy that blocks every non-empty prompt: a max-length check of one character."""
    from tracerail.guardrails import Action, CheckConfig, Policy

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
    import tracerail

    client = tracerail.instrument(
        openai.OpenAI(base_url=model_server.openai_base_url, api_key="t", max_retries=0),
        policy=blocking_policy(),
    )
    with pytest.raises(GuardrailBlocked):
        client.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": "hi"}])
    assert model_server.requests == []

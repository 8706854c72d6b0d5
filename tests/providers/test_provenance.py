"""Provenance of instrumented calls: the record (prompt, answer, sources) and the evaluation.

An instrumented call records what an ``@observe(kind="generation")`` call records: hashes of its
prompt (the input texts, newline-joined) and answer (the output texts) before redaction and the
sources gathered around it. It is not evaluated in-process (only the app knows which call is its
answer: ``@observe(kind="generation")``); inside an observed generation, the generation records
and is evaluated instead (once).
"""

from __future__ import annotations

import json
from typing import Any

import anthropic
import openai
from opentelemetry.sdk.trace import ReadableSpan

import tracerail
from tests.providers.conftest import Spans
from tests.support.models import local_client
from tracerail import semconv as sc
from tracerail.guardrails import Action, CheckConfig, Policy
from tracerail.provenance import sha256_text, verify_text
from tracerail.testing import LocalModelServer

SOURCE = "Refunds are issued within 14 days of a return being received."
ANSWER = "Refunds are issued within 14 days."
QUESTION = "How long do refunds take for jane@example.com?"
MESSAGES: Any = [{"role": "user", "content": QUESTION}]
REDACT_PII = Policy(name="pii", checks=(CheckConfig("pii", Action.REDACT),))


def _chat_span(spans: Spans) -> ReadableSpan:
    (span,) = [s for s in spans() if (s.attributes or {}).get(sc.GEN_AI_OPERATION_NAME) == "chat"]
    return span


def _evaluations(spans: Spans) -> list[ReadableSpan]:
    return [s for s in spans() if s.name.startswith("evaluate ")]


def _record(span: ReadableSpan) -> dict[str, Any]:
    return json.loads(str((span.attributes or {})[sc.TRACERAIL_PROVENANCE_RECORD]))


def _in_agent(call: Any) -> Any:
    @tracerail.observe(kind="agent", name="support")
    def agent() -> Any:
        tracerail.sources([{"id": "kb-1", "text": SOURCE}])
        return call()

    return agent()


def test_instrumented_call_records_its_provenance(
    model_server: LocalModelServer, spans: Spans
) -> None:
    model_server.set_reply(ANSWER)
    client = tracerail.instrument(local_client(openai.OpenAI, model_server), policy=REDACT_PII)
    _in_agent(lambda: client.chat.completions.create(model="gpt-4o", messages=MESSAGES))
    span = _chat_span(spans)
    attrs = span.attributes or {}
    # Hashed before redaction: the prompt the app wrote, not the <EMAIL_1> that was sent.
    assert attrs[sc.TRACERAIL_PROVENANCE_PROMPT_SHA256] == sha256_text(QUESTION)
    assert "<EMAIL_1>" in str(attrs[sc.GEN_AI_INPUT_MESSAGES])
    assert verify_text(ANSWER, str(attrs[sc.TRACERAIL_PROVENANCE_ANSWER_SHA256]))
    record = _record(span)
    assert [(s["id"], s["sha256"]) for s in record["sources"]] == [("kb-1", sha256_text(SOURCE))]
    assert record["request_model"] == "gpt-4o" and record["provider"] == "openai"
    assert _evaluations(spans) == []  # the collector's online evaluator scores it


def test_a_streamed_answer_is_hashed_whole(
    model_server: LocalModelServer, oai: openai.OpenAI, spans: Spans
) -> None:
    model_server.set_reply(ANSWER)

    def stream() -> str:
        chunks = oai.chat.completions.create(model="gpt-4o", messages=MESSAGES, stream=True)
        return "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)

    assert _in_agent(stream) == ANSWER
    attrs = _chat_span(spans).attributes or {}
    assert attrs[sc.TRACERAIL_PROVENANCE_ANSWER_SHA256] == sha256_text(ANSWER)


def test_a_call_that_only_asks_for_a_tool_has_no_answer(oai: openai.OpenAI, spans: Spans) -> None:
    tools: Any = [{"type": "function", "function": {"name": "lookup", "parameters": {}}}]
    _in_agent(lambda: oai.chat.completions.create(model="gpt-4o", messages=MESSAGES, tools=tools))
    attrs = _chat_span(spans).attributes or {}
    assert sc.TRACERAIL_PROVENANCE_RECORD in attrs  # prompt and sources are still recorded
    assert sc.TRACERAIL_PROVENANCE_ANSWER_SHA256 not in attrs


def test_inside_an_observed_generation_only_the_generation_records(
    model_server: LocalModelServer, oai: openai.OpenAI, spans: Spans
) -> None:
    model_server.set_reply(ANSWER)

    @tracerail.observe(kind="generation", name="generate")
    def generate() -> str | None:
        tracerail.sources([SOURCE])
        result = oai.chat.completions.create(model="gpt-4o", messages=MESSAGES)
        return result.choices[0].message.content

    generate()
    assert sc.TRACERAIL_PROVENANCE_RECORD not in (_chat_span(spans).attributes or {})
    (generation,) = [s for s in spans() if s.name == "generate"]
    assert sc.TRACERAIL_PROVENANCE_RECORD in (generation.attributes or {})
    (evaluation,) = _evaluations(spans)
    assert evaluation.parent is not None
    assert evaluation.parent.span_id == generation.context.span_id


def test_anthropic_messages_record_provenance(
    model_server: LocalModelServer, claude: anthropic.Anthropic, spans: Spans
) -> None:
    model_server.set_reply(ANSWER)
    _in_agent(
        lambda: claude.messages.create(
            model="claude-sonnet-4-5", max_tokens=100, system="Be brief.", messages=MESSAGES
        )
    )
    (span,) = [
        s for s in spans() if (s.attributes or {}).get(sc.GEN_AI_PROVIDER_NAME) == "anthropic"
    ]
    attrs = span.attributes or {}
    # The system instructions come first among the input texts.
    assert attrs[sc.TRACERAIL_PROVENANCE_PROMPT_SHA256] == sha256_text(f"Be brief.\n{QUESTION}")
    assert attrs[sc.TRACERAIL_PROVENANCE_ANSWER_SHA256] == sha256_text(ANSWER)
    assert _record(span)["provider"] == "anthropic"

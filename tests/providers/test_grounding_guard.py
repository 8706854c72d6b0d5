"""The ``grounding`` check through the instrumented clients, with the call's provenance sources.

Sources reach the check the way users supply them: ``tracerail.sources([...])`` or an
``@observe(kind="retrieval")`` function inside an observed call around the model call.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import anthropic
import openai
import pytest
from opentelemetry.sdk.trace import ReadableSpan

import tracerail
from tests.providers.conftest import Spans
from tracerail import GuardrailBlocked
from tracerail import semconv as sc
from tracerail.guardrails import Action, CheckConfig, Policy
from tracerail.testing import LocalModelServer

SOURCE = "The Eiffel Tower is in Paris. It was completed in 1889 and is 330 metres tall."
GOOD = "The Eiffel Tower in Paris was completed in 1889."
BAD = "It was painted gold in 2010."
ANSWER = f"{GOOD} {BAD}"
EVENT = f"{sc.GUARDRAIL_SPAN_PREFIX} grounding"


def grounding_policy(action: Action, **options: Any) -> Policy:
    return Policy(name="grounded", checks=(CheckConfig("grounding", action, options=options),))


def client(server: LocalModelServer, policy: Any, **kwargs: Any) -> openai.OpenAI:
    return tracerail.instrument(
        openai.OpenAI(base_url=server.openai_base_url, api_key="t", max_retries=0),
        policy=policy,
        **kwargs,
    )


def with_sources(call: Callable[[], Any], sources: list[str] | None = None) -> Any:
    """Run ``call`` inside an observed function that recorded ``sources`` (default SOURCE)."""

    @tracerail.observe(name="answer")
    def answer() -> Any:
        tracerail.sources(sources if sources is not None else [SOURCE])
        return call()

    return answer()


def chat(oai: openai.OpenAI) -> Callable[[], str | None]:
    def run() -> str | None:
        messages: Any = [{"role": "user", "content": "Tell me about the tower."}]
        result = oai.chat.completions.create(model="gpt-4o", messages=messages)
        return result.choices[0].message.content

    return run


def model_span(spans: Spans) -> ReadableSpan:
    (span,) = [s for s in spans() if s.name.startswith(("chat ", "messages "))]
    return span


def grounding_event(span: ReadableSpan) -> dict[str, Any]:
    (event,) = [e for e in span.events if e.name == EVENT]
    return dict(event.attributes or {})


def findings(attributes: dict[str, Any]) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = json.loads(attributes.get(sc.TRACERAIL_GUARDRAIL_FINDINGS, "[]"))
    return found


def test_flag_records_the_unsupported_claim_with_its_offsets(
    model_server: LocalModelServer, spans: Spans
) -> None:
    model_server.set_reply(ANSWER)
    text = with_sources(chat(client(model_server, grounding_policy(Action.FLAG))))
    assert text == ANSWER  # flag changes nothing
    attributes = grounding_event(model_span(spans))
    assert attributes[sc.GEN_AI_GUARDRAIL_TARGET_TYPE] == "output"
    assert attributes[sc.TRACERAIL_GUARDRAIL_ACTION] == "flag"
    assert attributes[sc.TRACERAIL_GUARDRAIL_CHECK_TYPE] == "grounding"
    (finding,) = findings(attributes)
    assert finding["type"] == "UNSUPPORTED_CLAIM"
    assert ANSWER[finding["start"] : finding["end"]] == BAD
    assert finding["score"] == 1.0
    assert BAD not in json.dumps(attributes)  # offsets, never the claim text


def test_grounding_does_not_run_on_the_prompt(model_server: LocalModelServer, spans: Spans) -> None:
    model_server.set_reply(GOOD)
    with_sources(chat(client(model_server, grounding_policy(Action.BLOCK))))
    events = [e for e in model_span(spans).events if e.name == EVENT]
    assert [(e.attributes or {})[sc.GEN_AI_GUARDRAIL_TARGET_TYPE] for e in events] == ["output"]
    assert (events[0].attributes or {})[sc.TRACERAIL_GUARDRAIL_ACTION] == "allow"


def test_block_raises_on_an_unsupported_answer(
    model_server: LocalModelServer, spans: Spans
) -> None:
    model_server.set_reply(ANSWER)
    oai = client(model_server, grounding_policy(Action.BLOCK))
    with pytest.raises(GuardrailBlocked) as caught:
        with_sources(chat(oai))
    assert (caught.value.target, caught.value.checks) == ("output", ("grounding",))
    span = model_span(spans)
    assert (span.attributes or {})[sc.ERROR_TYPE] == "GuardrailBlocked"
    assert grounding_event(span)[sc.TRACERAIL_GUARDRAIL_ACTION] == "block"


def test_block_lets_a_supported_answer_through(
    model_server: LocalModelServer, spans: Spans
) -> None:
    model_server.set_reply(GOOD)
    assert with_sources(chat(client(model_server, grounding_policy(Action.BLOCK)))) == GOOD
    assert findings(grounding_event(model_span(spans))) == []


def test_redact_replaces_the_unsupported_claim_in_answer_and_record(
    model_server: LocalModelServer, spans: Spans
) -> None:
    model_server.set_reply(ANSWER)
    oai = client(model_server, grounding_policy(Action.REDACT))
    result = with_sources(lambda: oai.responses.create(model="gpt-4.1", input="the tower?"))
    assert result.output_text == f"{GOOD} <UNSUPPORTED_CLAIM_1>"
    recorded = str((model_span(spans).attributes or {})[sc.GEN_AI_OUTPUT_MESSAGES])
    assert BAD not in recorded
    assert GOOD in recorded


def test_buffered_stream_delivers_the_redacted_answer(
    model_server: LocalModelServer, spans: Spans
) -> None:
    model_server.set_reply(ANSWER)
    claude = tracerail.instrument(
        anthropic.Anthropic(base_url=model_server.url, api_key="t", max_retries=0),
        policy=grounding_policy(Action.REDACT),
        stream_output="buffered",
    )

    def stream() -> str:
        messages: Any = [{"role": "user", "content": "the tower?"}]
        with claude.messages.stream(
            model="claude-haiku-4-5", max_tokens=50, messages=messages
        ) as s:
            return "".join(s.text_stream)

    assert with_sources(stream) == f"{GOOD} <UNSUPPORTED_CLAIM_1>"


def test_retrieval_results_are_the_sources(model_server: LocalModelServer, spans: Spans) -> None:
    model_server.set_reply(ANSWER)
    oai = client(model_server, grounding_policy(Action.BLOCK))

    @tracerail.observe(kind="retrieval")
    def retrieve(query: str) -> list[dict[str, str]]:
        return [{"id": "doc-1", "text": SOURCE}]

    @tracerail.observe(name="rag")
    def rag() -> str | None:
        retrieve("tower")
        return chat(oai)()

    with pytest.raises(GuardrailBlocked):
        rag()
    model_server.set_reply(GOOD)
    assert rag() == GOOD


def test_without_sources_grounding_skips_or_flags(
    model_server: LocalModelServer, spans: Spans
) -> None:
    model_server.set_reply(ANSWER)
    skip = client(model_server, grounding_policy(Action.BLOCK))
    assert chat(skip)() == ANSWER  # no observed call, no sources: default skip
    require = client(model_server, grounding_policy(Action.BLOCK, require_sources=True))
    assert with_sources(chat(require), sources=[]) == ANSWER
    first, second = (grounding_event(s) for s in spans() if s.name.startswith("chat "))
    assert (first[sc.TRACERAIL_GUARDRAIL_ACTION], findings(first)) == ("allow", [])
    assert second[sc.TRACERAIL_GUARDRAIL_ACTION] == "flag"
    assert [f["type"] for f in findings(second)] == ["NO_SOURCES"]


def test_toml_policy_file(model_server: LocalModelServer, spans: Spans, tmp_path: Path) -> None:
    path = tmp_path / "tracerail.toml"
    path.write_text('[checks.grounding]\naction = "block"\nsupport_threshold = 0.8\n')
    model_server.set_reply("The Eiffel Tower is in Paris, a lovely romantic city.")  # support 0.5
    with pytest.raises(GuardrailBlocked):
        with_sources(chat(client(model_server, str(path))))


def test_the_check_adds_no_hallucination_score(
    model_server: LocalModelServer, spans: Spans
) -> None:
    model_server.set_reply(ANSWER)
    oai = client(model_server, grounding_policy(Action.FLAG))

    @tracerail.observe(kind="generation", policy="off")
    def generate() -> str | None:
        tracerail.sources([SOURCE])
        return chat(oai)()

    generate()
    finished = spans()
    # No score rides on any span: the generation is evaluated once, in the background after
    # the call (an "evaluate" child span of the generation); the guardrail adds a decision only.
    assert not [e for span in finished for e in span.events if e.name == sc.TRACERAIL_SCORE_EVENT]
    (evaluated,) = [span for span in finished if span.name.startswith("evaluate ")]
    (generation,) = [span for span in finished if span.name == "generate"]
    assert evaluated.parent is not None and generation.context is not None
    assert evaluated.parent.span_id == generation.context.span_id
    assert (evaluated.attributes or {})[sc.TRACERAIL_SCORE_SOURCE] == "auto"
    assert grounding_event(model_span(spans))[sc.TRACERAIL_GUARDRAIL_ACTION] == "flag"


def test_incremental_stream_block_stops_at_the_unsupported_claim(
    model_server: LocalModelServer, spans: Spans
) -> None:
    oai = client(model_server, grounding_policy(Action.BLOCK))
    received: list[str] = []

    def stream() -> None:
        messages: Any = [{"role": "user", "content": "the tower?"}]
        chunks = oai.chat.completions.create(model="gpt-4o", messages=messages, stream=True)
        for chunk in chunks:
            if chunk.choices:
                received.append(chunk.choices[0].delta.content or "")

    model_server.set_reply(GOOD + " It is 330 metres tall.")
    with_sources(stream)  # a grounded answer streams to the end, prefixes included
    assert "".join(received) == GOOD + " It is 330 metres tall."
    received.clear()
    model_server.set_reply(f"{ANSWER} The tower is 330 metres tall and in Paris.")
    with pytest.raises(GuardrailBlocked):
        with_sources(stream)
    assert "".join(received).startswith(GOOD)
    assert "metres" not in "".join(received)

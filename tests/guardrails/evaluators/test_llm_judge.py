"""The ``llm-judge`` evaluator end to end: the real ``openai`` and ``anthropic`` clients against
tracerail's local wire-format server, which answers with scripted verdicts (some malformed)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import anthropic
import openai
import pytest

import tracerail
from tests.support.models import Spans, local_client, recorded_spans
from tracerail import semconv
from tracerail.guardrails.evaluators import (
    LABEL_GROUNDED,
    LABEL_HALLUCINATED,
    EvaluatorError,
    get_evaluator,
)
from tracerail.guardrails.evaluators.llm_judge import (
    LABEL_ERROR,
    LABEL_UNPARSEABLE,
    PROMPT_SHA256,
    PROMPT_VERSION,
    SYSTEM_PROMPT,
    USER_TEMPLATE,
    LlmJudgeEvaluator,
    parse_verdicts,
)
from tracerail.provenance import sha256_text
from tracerail.testing import LocalModelServer

SOURCES = [
    "Refunds are issued within 14 days of a return being received.",
    "The store opens at 9 am on weekdays.",
]
ANSWER = "You get your money back within two weeks of the return. The store opens at 10 am."
MODELS = {"openai": "gpt-4o-mini", "anthropic": "claude-3-5-haiku"}


def verdicts(*items: tuple[str, int | None]) -> str:
    return json.dumps(
        {
            "claims": [
                {"id": i, "verdict": v, "source": s, "evidence": "", "reason": f"r{i}"}
                for i, (v, s) in enumerate(items, 1)
            ]
        }
    )


@pytest.fixture
def server(model_server: LocalModelServer) -> LocalModelServer:
    """The session's local model server (tests/conftest.py), reset around each test."""
    return model_server


@pytest.fixture
def spans(server: LocalModelServer) -> Iterator[Spans]:
    with recorded_spans("judge-tests") as finished:
        yield finished


def make_client(provider: str, server: LocalModelServer) -> Any:
    return local_client(openai.OpenAI if provider == "openai" else anthropic.Anthropic, server)


def judge(provider: str, server: LocalModelServer, **options: Any) -> LlmJudgeEvaluator:
    evaluator = get_evaluator(
        "llm-judge", client=make_client(provider, server), model=MODELS[provider], **options
    )
    assert isinstance(evaluator, LlmJudgeEvaluator)
    return evaluator


PROVIDERS = pytest.mark.parametrize("provider", ["openai", "anthropic"])


@PROVIDERS
def test_verdict_per_claim_with_sources_hash_and_traced_cost(
    provider: str, server: LocalModelServer, spans: Spans
) -> None:
    server.script_replies(verdicts(("supported", 1), ("contradicted", 2)))
    result = judge(provider, server).evaluate(ANSWER, SOURCES, question="Refund and hours?")

    assert result.label == LABEL_HALLUCINATED
    assert result.score == pytest.approx(0.75)  # one of two claims not supported
    assert (result.evaluator, result.version) == ("llm-judge", f"1.0+{MODELS[provider]}")
    assert result.prompt_sha256 == PROMPT_SHA256
    assert PROMPT_SHA256 == sha256_text("\n".join((PROMPT_VERSION, SYSTEM_PROMPT, USER_TEMPLATE)))
    assert [(ANSWER[c.start : c.end], c.support, c.source_index) for c in result.claims] == [
        ("You get your money back within two weeks of the return.", 1.0, 0),
        ("The store opens at 10 am.", 0.0, 1),
    ]
    assert "C2 contradicted" in result.explanation

    # What the judge was sent: the versioned system prompt, numbered sources and claims.
    (request,) = server.requests
    body = request.body
    if provider == "openai":
        system, user = (m["content"] for m in body["messages"])
        assert body["response_format"] == {"type": "json_object"}
    else:
        system, user = body["system"], body["messages"][0]["content"]
    assert system == SYSTEM_PROMPT
    assert "Question: Refund and hours?" in user
    assert f"[2] {SOURCES[1]}" in user
    assert "C2: The store opens at 10 am." in user
    assert body.get("temperature", 0) == 0  # sent to OpenAI; newer Anthropic SDKs drop it

    # The judge's call is a traced span with tokens and cost, marked as an evaluator's call,
    # and no guardrail ran on it.
    (span,) = spans()
    attributes = span.attributes or {}
    assert span.name == f"chat {MODELS[provider]}"
    assert attributes[semconv.TRACERAIL_EVALUATION_JUDGE_CALL] is True
    assert attributes[semconv.GEN_AI_USAGE_INPUT_TOKENS] > 0  # type: ignore[operator]
    assert attributes[semconv.TRACERAIL_COST_USD] > 0  # type: ignore[operator]
    assert not [e for e in span.events if e.name.startswith(semconv.GUARDRAIL_SPAN_PREFIX)]


@PROVIDERS
def test_all_supported_is_grounded(provider: str, server: LocalModelServer, spans: Spans) -> None:
    server.script_replies("```json\n" + verdicts(("supported", 1), ("supported", "2")) + "\n```")
    result = judge(provider, server).evaluate(ANSWER, SOURCES)
    assert (result.label, result.score) == (LABEL_GROUNDED, 0.0)
    assert result.explanation == "all 2 claims supported by the sources"


@PROVIDERS
def test_malformed_answer_is_retried_then_parsed(
    provider: str, server: LocalModelServer, spans: Spans
) -> None:
    server.script_replies(
        "Sure! Both claims look fine to me.", verdicts(("supported", 1), ("unsupported", None))
    )
    result = judge(provider, server).evaluate(ANSWER, SOURCES)
    assert len(server.requests) == 2
    assert result.label == LABEL_HALLUCINATED
    assert [c.source_index for c in result.claims] == [0, None]


@PROVIDERS
def test_answer_still_malformed_after_retries_is_unparseable_not_raised(
    provider: str, server: LocalModelServer, spans: Spans
) -> None:
    server.script_replies(
        "not json at all",
        json.dumps({"claims": [{"id": 1, "verdict": "supported"}]}),  # claim 2 missing
        json.dumps({"claims": [{"id": 1, "verdict": "maybe"}, {"id": 2, "verdict": "no"}]}),
    )
    result = judge(provider, server, retries=2).evaluate(ANSWER, SOURCES)
    assert len(server.requests) == 3
    assert result.label == LABEL_UNPARSEABLE
    assert result.extra["error"] == LABEL_UNPARSEABLE
    assert "unknown verdict 'maybe'" in result.explanation
    assert result.prompt_sha256 == PROMPT_SHA256
    assert 0.0 <= result.score <= 1.0


@PROVIDERS
def test_failing_requests_end_in_an_error_evaluation(
    provider: str, server: LocalModelServer, spans: Spans
) -> None:
    for _ in range(2):
        server.fail_next(500, "judge down")
    result = judge(provider, server, retries=1).evaluate(ANSWER, SOURCES)
    assert result.label == LABEL_ERROR
    assert "request failed" in result.explanation
    # Both failed calls are traced, with the error.
    assert [s.attributes[semconv.ERROR_TYPE] for s in spans()] == [  # type: ignore[index]
        "InternalServerError"
    ] * 2


@PROVIDERS
def test_timeout_is_applied_per_request(
    provider: str, server: LocalModelServer, spans: Spans
) -> None:
    server.reply_delay = 2.0
    result = judge(provider, server, timeout=0.3, retries=1).evaluate(ANSWER, SOURCES)
    server.reply_delay = 0.0
    # A reply comes after 2 s: without the 0.3 s timeout the judge would have got a verdict.
    assert result.label == LABEL_ERROR
    assert "Timeout" in result.explanation
    assert len(spans()) == 2  # the first attempt timed out and was retried once


def test_no_claims_or_no_sources_need_no_request(server: LocalModelServer) -> None:
    server.reset()
    evaluator = judge("openai", server)
    assert evaluator.evaluate("", SOURCES).label == LABEL_GROUNDED
    assert evaluator.evaluate(ANSWER, ["  "]).label == LABEL_HALLUCINATED
    assert server.requests == []


def test_client_and_model_are_checked(server: LocalModelServer) -> None:
    with pytest.raises(EvaluatorError, match="client="):
        get_evaluator("llm-judge", model="m")
    with pytest.raises(EvaluatorError, match=r"openai\.OpenAI or anthropic\.Anthropic"):
        get_evaluator("llm-judge", client=object(), model="m")
    with pytest.raises(EvaluatorError, match="sync client"):
        get_evaluator(
            "llm-judge",
            client=openai.AsyncOpenAI(base_url=server.openai_base_url, api_key="t"),
            model="m",
        )
    with pytest.raises(EvaluatorError, match="model="):
        get_evaluator("llm-judge", client=make_client("openai", server))


def test_an_instrumented_client_is_used_as_it_is(server: LocalModelServer, spans: Spans) -> None:
    client = tracerail.instrument(make_client("openai", server), guardrails=False)
    server.script_replies(verdicts(("supported", 1), ("supported", 2)))
    evaluator = get_evaluator("llm-judge", client=client, model="gpt-4o-mini")
    assert evaluator.evaluate(ANSWER, SOURCES).label == LABEL_GROUNDED
    (span,) = spans()  # one span, not a span wrapped in another
    assert (span.attributes or {})[semconv.TRACERAIL_EVALUATION_JUDGE_CALL] is True


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("", "no JSON object"),
        ("[1, 2]", '"claims" list'),
        ('{"claims": "all good"}', '"claims" list'),
        ('{"claims": [{"id": "x", "verdict": "supported"}]}', "bad id"),
        ('{"claims": [{"id": 1, "verdict": "supported"}]}', "no verdict for claim(s) 2"),
        ('{"claims": [1, 2]}', "is not an object"),
    ],
)
def test_parse_verdicts_names_the_problem(text: str, problem: str) -> None:
    from tracerail.guardrails.evaluators.llm_judge import UnparseableVerdict

    with pytest.raises(UnparseableVerdict, match=problem.replace("(", r"\(").replace(")", r"\)")):
        parse_verdicts(text, 2, 2)


def test_parse_verdicts_accepts_prose_around_json_and_string_ids() -> None:
    text = 'Here you go: {"claims": [{"id": "C1", "verdict": "Supported", "source": "[3]"}]} ok'
    [verdict] = parse_verdicts(text, 1, 2)  # source 3 of 2 does not exist: dropped
    assert (verdict.verdict, verdict.source) == ("supported", None)

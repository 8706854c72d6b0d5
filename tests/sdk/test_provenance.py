"""Provenance records on generation spans, scores as span events, and text verification."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

import tracerail
from tracerail import semconv
from tracerail.provenance import Source, sha256_text, verify_text


@pytest.fixture
def exporter() -> Iterator[InMemorySpanExporter]:
    memory = InMemorySpanExporter()
    tracerail.init(
        tracer_provider=TracerProvider(),
        span_exporter=memory,
        service_name="prov-app",
        app_version="2.3.1",
        environment="staging",
    )
    yield memory
    tracerail.shutdown()
    tracerail.provenance.configure_grounding()


def _finished(exporter: InMemorySpanExporter) -> dict[str, ReadableSpan]:
    assert tracerail.flush()
    return {span.name: span for span in exporter.get_finished_spans()}


def _record(span: ReadableSpan) -> dict[str, object]:
    attributes = span.attributes or {}
    return json.loads(str(attributes[semconv.TRACERAIL_PROVENANCE_RECORD]))  # type: ignore[no-any-return]


DOC = "Refunds are issued within 14 days of a return being received."


def test_generation_records_template_sources_hashes_and_app(exporter: InMemorySpanExporter) -> None:
    @tracerail.observe(kind="retrieval")
    def retrieve(question: str) -> list[dict[str, object]]:
        return [
            {"id": "kb-1", "url": "kb://refunds", "title": "Refunds", "text": DOC, "score": 0.9}
        ]

    @tracerail.observe(kind="generation", name="chat m")
    def generate(question: str, docs: list[dict[str, object]]) -> str:
        tracerail.prompt("qa", 3, {"question": question})
        return "Refunds are issued within 14 days of the return being received."

    @tracerail.observe(kind="agent")
    def agent(question: str) -> str:
        return generate(question, retrieve(question))

    answer = agent("How long do refunds take?")
    spans = _finished(exporter)
    generation = spans["chat m"]
    record = _record(generation)
    assert record["prompt_template"] == {
        "template_id": "qa",
        "version": "3",
        "variables_sha256": sha256_text('{"question":"How long do refunds take?"}'),
    }
    assert record["sources"] == [
        {
            "id": "kb-1",
            "uri": "kb://refunds",
            "title": "Refunds",
            "sha256": sha256_text(DOC),
            "score": 0.9,
        }
    ]
    assert record["answer_sha256"] == sha256_text(answer)
    prompt_text = generation.attributes[semconv.TRACERAIL_INPUT]  # type: ignore[index]
    assert record["prompt_sha256"] == sha256_text(str(prompt_text))
    assert (record["app_version"], record["environment"], record["service"]) == (
        "2.3.1",
        "staging",
        "prov-app",
    )
    attributes = generation.attributes or {}
    assert attributes[semconv.TRACERAIL_PROMPT_TEMPLATE_ID] == "qa"
    assert attributes[semconv.TRACERAIL_PROVENANCE_ANSWER_SHA256] == sha256_text(answer)
    # the agent and the retrieval are not generations: no provenance on them
    assert semconv.TRACERAIL_PROVENANCE_RECORD not in (spans["invoke_agent agent"].attributes or {})
    # grounded answer → evaluated in the background (not on the span): heuristic, grounded
    assert not [e for e in generation.events if e.name == semconv.TRACERAIL_SCORE_EVENT]
    evaluated = spans["evaluate heuristic"].attributes or {}
    assert evaluated[semconv.TRACERAIL_SCORE_SOURCE] == "auto"
    assert evaluated[semconv.GEN_AI_EVALUATION_SCORE_LABEL] == "grounded"
    assert evaluated[semconv.GEN_AI_EVALUATION_SCORE_VALUE] < 0.5  # type: ignore[operator]


def test_prompt_hash_covers_text_beyond_the_truncation_limit(
    exporter: InMemorySpanExporter,
) -> None:
    exporter = InMemorySpanExporter()  # re-init shuts the fixture's exporter down
    tracerail.init(tracer_provider=TracerProvider(), span_exporter=exporter, max_content_chars=10)
    long_question = "x" * 100

    @tracerail.observe(kind="generation", name="gen")
    def generate(question: str) -> str:
        return "y" * 50

    generate(long_question)
    span = _finished(exporter)["gen"]
    record = _record(span)
    assert len(str(span.attributes[semconv.TRACERAIL_INPUT])) == 10  # type: ignore[index]
    assert record["prompt_sha256"] == sha256_text(json.dumps({"question": long_question}))
    assert verify_text("y" * 50, str(record["answer_sha256"]))


def test_unsupported_answer_is_evaluated_after_the_span_ends(
    exporter: InMemorySpanExporter,
) -> None:
    """No score rides on the generation span any more: the heuristic evaluator (and a custom
    judge) run in the background after the call, each in an ``evaluate`` child span, and send
    their score to the collector's API (tests/sdk/test_evaluation.py checks what is sent)."""
    from tracerail.guardrails.grounding import JudgeVerdict

    tracerail.provenance.configure_grounding(
        judge=lambda answer, sources: JudgeVerdict(0.75, label="partly", comment="date unsupported")
    )

    @tracerail.observe(kind="generation", name="gen")
    def generate(question: str) -> str:
        tracerail.sources([Source(id="d1", text=DOC)])
        return "Refunds are issued within 30 days."

    generate("refunds?")
    spans = _finished(exporter)
    span = spans["gen"]
    assert not [e for e in span.events if e.name == semconv.TRACERAIL_SCORE_EVENT]
    assert semconv.TRACERAIL_GROUNDING_UNSUPPORTED not in (span.attributes or {})
    context = span.get_span_context()
    assert context is not None
    evaluations = {name: s for name, s in spans.items() if name.startswith("evaluate ")}
    assert set(evaluations) == {"evaluate heuristic", "evaluate custom-judge"}
    for child in evaluations.values():
        assert child.parent is not None and child.parent.span_id == context.span_id
    heuristic = evaluations["evaluate heuristic"].attributes or {}
    assert heuristic[semconv.GEN_AI_EVALUATION_NAME] == "hallucination"
    assert heuristic[semconv.GEN_AI_EVALUATION_SCORE_LABEL] == "hallucinated"  # 30 vs 14 days
    assert heuristic[semconv.GEN_AI_EVALUATION_SCORE_VALUE] >= 0.5  # type: ignore[operator]
    assert heuristic[semconv.TRACERAIL_EVALUATION_EVALUATOR_NAME] == "heuristic"
    judge = evaluations["evaluate custom-judge"].attributes or {}
    assert judge[semconv.GEN_AI_EVALUATION_SCORE_VALUE] == 0.75
    assert judge[semconv.GEN_AI_EVALUATION_EXPLANATION] == "date unsupported"
    assert judge[semconv.TRACERAIL_SCORE_SOURCE] == "judge"


def test_generation_without_sources_has_no_auto_score(exporter: InMemorySpanExporter) -> None:
    @tracerail.observe(kind="generation", name="gen")
    def generate() -> str:
        return "anything"

    generate()
    spans = _finished(exporter)
    span = spans["gen"]
    assert _record(span)["sources"] == []
    assert not [e for e in span.events if e.name == semconv.TRACERAIL_SCORE_EVENT]
    assert not [name for name in spans if name.startswith("evaluate ")]


def test_score_defaults_to_current_span(exporter: InMemorySpanExporter) -> None:
    @tracerail.observe(name="work")
    def work() -> bool:
        return tracerail.score("helpful", True, comment="thanks")

    assert work() is True
    span = _finished(exporter)["work"]
    (event,) = span.events
    assert event.name == semconv.TRACERAIL_SCORE_EVENT
    assert dict(event.attributes or {}) == {
        semconv.TRACERAIL_SCORE_NAME: "helpful",
        semconv.TRACERAIL_SCORE_VALUE: 1.0,
        semconv.TRACERAIL_SCORE_DATA_TYPE: "boolean",
        semconv.TRACERAIL_SCORE_SOURCE: "human",
        semconv.TRACERAIL_SCORE_COMMENT: "thanks",
    }


@pytest.mark.parametrize(
    ("args", "kwargs"),
    [
        (("x", float("nan")), {}),
        (("x", 1.0), {"source": "robot"}),
        (("", 1.0), {}),
        (("x", 1.0), {"trace_id": "ab" * 16}),
    ],
)
def test_invalid_score_is_refused_without_raising(
    exporter: InMemorySpanExporter, args: tuple[object, ...], kwargs: dict[str, object]
) -> None:
    @tracerail.observe(name="work")
    def work() -> bool:
        return tracerail.score(*args, **kwargs)  # type: ignore[arg-type]

    assert work() is False
    assert _finished(exporter)["work"].events == ()


def test_score_outside_a_span_is_refused() -> None:
    assert tracerail.score("helpful", 1.0) is False


def test_verify_text() -> None:
    digest = sha256_text("héllo")
    assert verify_text("héllo", digest)
    assert verify_text("héllo", digest.upper())
    assert not verify_text("hello", digest)


def test_answer_hash_is_of_the_text_before_redaction(exporter: InMemorySpanExporter) -> None:
    """The default policy redacts the e-mail in the answer; the hash proves the original."""
    from tracerail.provenance import verify_text

    original = "Write to jane.doe@example.com for a refund."

    @tracerail.observe(kind="generation")
    def answer(question: str) -> str:
        return original

    returned = answer("Who do I write to?")
    assert "jane.doe@example.com" not in returned
    tracerail.flush()
    (span,) = [s for s in exporter.get_finished_spans() if s.name == "answer"]
    digest = str((span.attributes or {})[semconv.TRACERAIL_PROVENANCE_ANSWER_SHA256])
    assert verify_text(original, digest)
    assert not verify_text(returned, digest)

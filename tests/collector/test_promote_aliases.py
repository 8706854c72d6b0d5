"""Spans named the way other instrumentations name them land in the promoted columns."""

from __future__ import annotations

from typing import Any

import pytest
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.trace import Tracer

from tests.support.otlp import record_spans
from tracerail import semconv as sc
from tracerail.collector.otlp.flatten import flatten
from tracerail.pricing import TokenUsage, cost_usd


def _row(attributes: dict[str, Any]) -> dict[str, Any]:
    def emit(tracer: Tracer) -> None:
        tracer.start_span("llm", attributes=attributes).end()

    columns = flatten(encode_spans(record_spans(emit)), project="p", retention_days=30)
    return {name: values[0] for name, values in columns.items()}


@pytest.mark.parametrize(
    "attributes",
    [
        {  # tracerail / current GenAI conventions
            sc.GEN_AI_PROVIDER_NAME: "openai",
            sc.GEN_AI_REQUEST_MODEL: "gpt-4o",
            sc.GEN_AI_USAGE_INPUT_TOKENS: 100,
            sc.GEN_AI_USAGE_OUTPUT_TOKENS: 20,
        },
        {  # older OpenLLMetry / GenAI names
            sc.LEGACY_GEN_AI_SYSTEM: "openai",
            sc.GEN_AI_REQUEST_MODEL: "gpt-4o",
            sc.LEGACY_GEN_AI_USAGE_PROMPT_TOKENS: 100,
            sc.LEGACY_GEN_AI_USAGE_COMPLETION_TOKENS: 20,
        },
        {  # OpenInference
            sc.OPENINFERENCE_LLM_PROVIDER: "openai",
            sc.OPENINFERENCE_LLM_MODEL_NAME: "gpt-4o",
            sc.OPENINFERENCE_TOKEN_COUNT_PROMPT: 100,
            sc.OPENINFERENCE_TOKEN_COUNT_COMPLETION: 20,
            sc.OPENINFERENCE_SPAN_KIND: "LLM",
        },
    ],
)
def test_aliases_fill_model_token_and_cost_columns(attributes: dict[str, Any]) -> None:
    row = _row(attributes)
    assert row["provider"] == "openai"
    assert row["request_model"] == "gpt-4o"
    assert (row["input_tokens"], row["output_tokens"]) == (100, 20)
    assert row["observation_kind"] == sc.KIND_GENERATION
    assert row["cost_usd"] == pytest.approx(cost_usd("gpt-4o", TokenUsage(100, 20)))
    assert row["attributes"][sc.TRACERAIL_COST_SOURCE] == sc.COST_SOURCE_COLLECTOR


def test_a_sent_cost_is_kept_and_unknown_models_stay_unpriced() -> None:
    sent = _row(
        {
            sc.GEN_AI_REQUEST_MODEL: "gpt-4o",
            sc.GEN_AI_USAGE_INPUT_TOKENS: 5,
            sc.TRACERAIL_COST_USD: 1.5,
        }
    )
    assert sent["cost_usd"] == 1.5
    assert sc.TRACERAIL_COST_SOURCE not in sent["attributes"]
    unknown = _row({sc.GEN_AI_REQUEST_MODEL: "house-llm", sc.GEN_AI_USAGE_INPUT_TOKENS: 5})
    assert unknown["cost_usd"] is None

"""Which span attributes fill which promoted column, in order of preference.

tracerail's own names come first, then the OpenTelemetry GenAI names, then older or
third-party names (OpenLLMetry, OpenInference, OpenLIT), so spans from any of them land in the
same columns.
"""

from __future__ import annotations

from typing import Final

from tracerail import semconv as sc

STRING_COLUMNS: Final[dict[str, tuple[str, ...]]] = {
    "observation_kind": (sc.TRACERAIL_OBSERVATION_KIND,),
    "operation": (sc.GEN_AI_OPERATION_NAME, sc.LEGACY_LLM_REQUEST_TYPE),
    "provider": (
        sc.GEN_AI_PROVIDER_NAME,
        sc.LEGACY_GEN_AI_SYSTEM,
        sc.OPENINFERENCE_LLM_PROVIDER,
        sc.OPENINFERENCE_LLM_SYSTEM,
    ),
    "request_model": (sc.GEN_AI_REQUEST_MODEL, sc.OPENINFERENCE_LLM_MODEL_NAME),
    "response_model": (sc.GEN_AI_RESPONSE_MODEL, sc.OPENINFERENCE_LLM_MODEL_NAME),
    "user_id": (sc.USER_ID, "enduser.id"),
    "session_id": (sc.SESSION_ID, sc.GEN_AI_CONVERSATION_ID),
    "error_type": (sc.ERROR_TYPE,),
}

INT_COLUMNS: Final[dict[str, tuple[str, ...]]] = {
    "input_tokens": (
        sc.GEN_AI_USAGE_INPUT_TOKENS,
        sc.LEGACY_GEN_AI_USAGE_PROMPT_TOKENS,
        sc.OPENINFERENCE_TOKEN_COUNT_PROMPT,
    ),
    "output_tokens": (
        sc.GEN_AI_USAGE_OUTPUT_TOKENS,
        sc.LEGACY_GEN_AI_USAGE_COMPLETION_TOKENS,
        sc.OPENINFERENCE_TOKEN_COUNT_COMPLETION,
    ),
    "cached_input_tokens": (
        sc.GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS,
        sc.OPENINFERENCE_TOKEN_COUNT_CACHE_READ,
        sc.OPENLLMETRY_CACHE_READ_INPUT_TOKENS,
        sc.OPENLIT_CACHED_TOKENS,
    ),
    "reasoning_tokens": (
        sc.GEN_AI_USAGE_REASONING_OUTPUT_TOKENS,
        sc.OPENINFERENCE_TOKEN_COUNT_REASONING,
        sc.OPENLLMETRY_REASONING_TOKENS,
        sc.OPENLIT_REASONING_TOKENS,
    ),
}

FLOAT_COLUMNS: Final[dict[str, tuple[str, ...]]] = {
    "cost_usd": (sc.TRACERAIL_COST_USD, sc.OPENLIT_COST),
}

# Content columns: the chosen attribute moves out of the attribute map into the column.
CONTENT_COLUMNS: Final[dict[str, tuple[str, ...]]] = {
    "input": (
        sc.TRACERAIL_INPUT,
        sc.GEN_AI_INPUT_MESSAGES,
        sc.GEN_AI_TOOL_CALL_ARGUMENTS,
        sc.OPENINFERENCE_INPUT_VALUE,
        sc.LEGACY_GEN_AI_PROMPT,
        sc.OPENLLMETRY_ENTITY_INPUT,
    ),
    "output": (
        sc.TRACERAIL_OUTPUT,
        sc.GEN_AI_OUTPUT_MESSAGES,
        sc.GEN_AI_TOOL_CALL_RESULT,
        sc.OPENINFERENCE_OUTPUT_VALUE,
        sc.LEGACY_GEN_AI_COMPLETION,
        sc.OPENLLMETRY_ENTITY_OUTPUT,
    ),
}
# Agents and tools (observation kind, operation, gen_ai.agent.name / gen_ai.tool.name) are
# mapped in collector/otlp/agents.py: they depend on several keys at once.

# Observation kinds inferred from OpenInference's span kind when tracerail's is absent.
OPENINFERENCE_KINDS: Final[dict[str, str]] = {
    "LLM": sc.KIND_GENERATION,
    "EMBEDDING": sc.KIND_GENERATION,
    "RETRIEVER": sc.KIND_RETRIEVAL,
    "TOOL": sc.KIND_TOOL,
    "AGENT": sc.KIND_AGENT,
}

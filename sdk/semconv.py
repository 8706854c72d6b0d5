"""Every span, attribute and event name tracerail writes or reads, in one place.

GenAI names follow the OpenTelemetry GenAI semantic conventions; names of our own live under
``tracerail.*``. Older names used by other instrumentations (OpenLLMetry, OpenInference,
OpenLIT) are listed too so the collector can map them onto the same columns. No other module
spells an attribute key as a string literal.
"""

from __future__ import annotations

from typing import Final

# --- OpenTelemetry GenAI semantic conventions -------------------------------------------------
GEN_AI_OPERATION_NAME: Final = "gen_ai.operation.name"
GEN_AI_PROVIDER_NAME: Final = "gen_ai.provider.name"
GEN_AI_REQUEST_MODEL: Final = "gen_ai.request.model"
GEN_AI_REQUEST_TEMPERATURE: Final = "gen_ai.request.temperature"
GEN_AI_REQUEST_TOP_P: Final = "gen_ai.request.top_p"
GEN_AI_REQUEST_MAX_TOKENS: Final = "gen_ai.request.max_tokens"
GEN_AI_REQUEST_TOP_K: Final = "gen_ai.request.top_k"
GEN_AI_REQUEST_STOP_SEQUENCES: Final = "gen_ai.request.stop_sequences"
GEN_AI_REQUEST_SEED: Final = "gen_ai.request.seed"
GEN_AI_REQUEST_FREQUENCY_PENALTY: Final = "gen_ai.request.frequency_penalty"
GEN_AI_REQUEST_PRESENCE_PENALTY: Final = "gen_ai.request.presence_penalty"
GEN_AI_REQUEST_ENCODING_FORMATS: Final = "gen_ai.request.encoding_formats"
GEN_AI_EMBEDDINGS_DIMENSION_COUNT: Final = "gen_ai.embeddings.dimension.count"
GEN_AI_RESPONSE_MODEL: Final = "gen_ai.response.model"
GEN_AI_RESPONSE_ID: Final = "gen_ai.response.id"
GEN_AI_RESPONSE_FINISH_REASONS: Final = "gen_ai.response.finish_reasons"
GEN_AI_USAGE_INPUT_TOKENS: Final = "gen_ai.usage.input_tokens"
GEN_AI_USAGE_OUTPUT_TOKENS: Final = "gen_ai.usage.output_tokens"
GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS: Final = "gen_ai.usage.cache_read.input_tokens"
GEN_AI_USAGE_REASONING_OUTPUT_TOKENS: Final = "gen_ai.usage.reasoning.output_tokens"
GEN_AI_USAGE_CACHE_CREATION_INPUT_TOKENS: Final = "gen_ai.usage.cache_creation.input_tokens"
GEN_AI_SYSTEM_INSTRUCTIONS: Final = "gen_ai.system_instructions"
GEN_AI_INPUT_MESSAGES: Final = "gen_ai.input.messages"
GEN_AI_OUTPUT_MESSAGES: Final = "gen_ai.output.messages"
GEN_AI_CONVERSATION_ID: Final = "gen_ai.conversation.id"
ERROR_TYPE: Final = "error.type"

# Agents and tools: span "invoke_agent {gen_ai.agent.name}" and "execute_tool {gen_ai.tool.name}",
# both kind INTERNAL (semantic-conventions-genai, model/gen-ai/spans.yaml:
# gen_ai.invoke_agent.internal and gen_ai.execute_tool.internal). gen_ai.agent.id is read from
# incoming spans only: the current conventions keep it off in-process (internal) agent spans.
GEN_AI_AGENT_NAME: Final = "gen_ai.agent.name"
GEN_AI_AGENT_DESCRIPTION: Final = "gen_ai.agent.description"
GEN_AI_AGENT_VERSION: Final = "gen_ai.agent.version"
GEN_AI_AGENT_ID: Final = "gen_ai.agent.id"
GEN_AI_TOOL_NAME: Final = "gen_ai.tool.name"
GEN_AI_TOOL_DESCRIPTION: Final = "gen_ai.tool.description"
GEN_AI_TOOL_TYPE: Final = "gen_ai.tool.type"
GEN_AI_TOOL_CALL_ID: Final = "gen_ai.tool.call.id"
# Opt-in content of a tool span (recorded only with capture_content, redacted like all content).
GEN_AI_TOOL_CALL_ARGUMENTS: Final = "gen_ai.tool.call.arguments"
GEN_AI_TOOL_CALL_RESULT: Final = "gen_ai.tool.call.result"
# Replaced by gen_ai.agent.name on invoke_workflow spans; still sent by older instrumentations.
LEGACY_GEN_AI_WORKFLOW_NAME: Final = "gen_ai.workflow.name"

# Well-known values of gen_ai.operation.name and gen_ai.provider.name.
OPERATION_CHAT: Final = "chat"
OPERATION_EMBEDDINGS: Final = "embeddings"
OPERATION_INVOKE_AGENT: Final = "invoke_agent"
OPERATION_INVOKE_WORKFLOW: Final = "invoke_workflow"
OPERATION_EXECUTE_TOOL: Final = "execute_tool"
# gen_ai.tool.type of a tool the application's own code runs.
TOOL_TYPE_FUNCTION: Final = "function"
PROVIDER_OPENAI: Final = "openai"
PROVIDER_ANTHROPIC: Final = "anthropic"

# Guardrail runs (span or event "run_guardrail {name}").
GUARDRAIL_SPAN_PREFIX: Final = "run_guardrail"
GEN_AI_GUARDRAIL_COMPONENT_NAME: Final = "gen_ai.guardrail.component.name"
GEN_AI_GUARDRAIL_TARGET_TYPE: Final = "gen_ai.guardrail.target.type"
GEN_AI_GUARDRAIL_VERDICT_TYPE: Final = "gen_ai.guardrail.verdict.type"

# Evaluation results (event "gen_ai.evaluation.result", parented to the evaluated span).
GEN_AI_EVALUATION_RESULT_EVENT: Final = "gen_ai.evaluation.result"
GEN_AI_EVALUATION_NAME: Final = "gen_ai.evaluation.name"
GEN_AI_EVALUATION_SCORE_VALUE: Final = "gen_ai.evaluation.score.value"
GEN_AI_EVALUATION_SCORE_LABEL: Final = "gen_ai.evaluation.score.label"
GEN_AI_EVALUATION_EXPLANATION: Final = "gen_ai.evaluation.explanation"

# --- Common OpenTelemetry names ---------------------------------------------------------------
SERVICE_NAME: Final = "service.name"
SERVICE_VERSION: Final = "service.version"
DEPLOYMENT_ENVIRONMENT: Final = "deployment.environment.name"
USER_ID: Final = "user.id"
SESSION_ID: Final = "session.id"

# --- Older / third-party names the collector maps onto the same columns ----------------------
LEGACY_GEN_AI_SYSTEM: Final = "gen_ai.system"
LEGACY_GEN_AI_USAGE_PROMPT_TOKENS: Final = "gen_ai.usage.prompt_tokens"
LEGACY_GEN_AI_USAGE_COMPLETION_TOKENS: Final = "gen_ai.usage.completion_tokens"
LEGACY_GEN_AI_PROMPT: Final = "gen_ai.prompt"
LEGACY_GEN_AI_COMPLETION: Final = "gen_ai.completion"
LEGACY_LLM_REQUEST_TYPE: Final = "llm.request.type"
OPENINFERENCE_SPAN_KIND: Final = "openinference.span.kind"
OPENINFERENCE_LLM_MODEL_NAME: Final = "llm.model_name"
OPENINFERENCE_LLM_PROVIDER: Final = "llm.provider"
OPENINFERENCE_LLM_SYSTEM: Final = "llm.system"
OPENINFERENCE_TOKEN_COUNT_PROMPT: Final = "llm.token_count.prompt"
OPENINFERENCE_TOKEN_COUNT_COMPLETION: Final = "llm.token_count.completion"
OPENINFERENCE_INPUT_VALUE: Final = "input.value"
OPENINFERENCE_OUTPUT_VALUE: Final = "output.value"
OPENINFERENCE_USER_ID: Final = "user.id"
OPENINFERENCE_SESSION_ID: Final = "session.id"
OPENLIT_COST: Final = "gen_ai.usage.cost"
OPENLLMETRY_CACHE_READ_INPUT_TOKENS: Final = "gen_ai.usage.cache_read_input_tokens"
OPENLLMETRY_REASONING_TOKENS: Final = "gen_ai.usage.reasoning_tokens"
OPENINFERENCE_TOKEN_COUNT_CACHE_READ: Final = "llm.token_count.prompt_details.cache_read"
OPENINFERENCE_TOKEN_COUNT_REASONING: Final = "llm.token_count.completion_details.reasoning"
OPENLIT_CACHED_TOKENS: Final = "gen_ai.usage.prompt_tokens_details.cached_tokens"
OPENLIT_REASONING_TOKENS: Final = "gen_ai.usage.completion_tokens_details.reasoning_tokens"
# Agents and tools as OpenLLMetry (traceloop-sdk's @agent / @tool / @workflow / @task) names
# them: traceloop.span.kind is one of TRACELOOP_SPAN_KINDS.
OPENLLMETRY_SPAN_KIND: Final = "traceloop.span.kind"
OPENLLMETRY_ENTITY_NAME: Final = "traceloop.entity.name"
OPENLLMETRY_ENTITY_INPUT: Final = "traceloop.entity.input"
OPENLLMETRY_ENTITY_OUTPUT: Final = "traceloop.entity.output"
TRACELOOP_SPAN_KINDS: Final = ("workflow", "task", "agent", "tool", "unknown")
# ... and as OpenInference names them (openinference.span.kind AGENT / TOOL).
OPENINFERENCE_AGENT_NAME: Final = "agent.name"
OPENINFERENCE_TOOL_NAME: Final = "tool.name"
OPENINFERENCE_TOOL_DESCRIPTION: Final = "tool.description"
OPENINFERENCE_TOOL_ID: Final = "tool.id"
# Retrieved documents on an OpenInference RETRIEVER span:
# ``retrieval.documents.{i}.document.content`` (the collector's online evaluator reads them).
OPENINFERENCE_RETRIEVAL_DOCUMENTS: Final = "retrieval.documents."
OPENINFERENCE_DOCUMENT_CONTENT: Final = ".document.content"

# --- tracerail's own names ---------------------------------------------------------------------
TRACERAIL_OBSERVATION_KIND: Final = "tracerail.observation.kind"
TRACERAIL_INPUT: Final = "tracerail.input"
TRACERAIL_OUTPUT: Final = "tracerail.output"
TRACERAIL_INPUT_TRUNCATED: Final = "tracerail.input.truncated"
TRACERAIL_OUTPUT_TRUNCATED: Final = "tracerail.output.truncated"
TRACERAIL_CODE_FUNCTION: Final = "tracerail.code.function"
TRACERAIL_COST_USD: Final = "tracerail.cost.usd"
# Set by the collector when it priced a span that arrived without a cost (e.g. OpenLLMetry).
TRACERAIL_COST_SOURCE: Final = "tracerail.cost.source"
COST_SOURCE_COLLECTOR: Final = "collector"
TRACERAIL_PROJECT: Final = "tracerail.project"
TRACERAIL_SDK_VERSION: Final = "tracerail.sdk.version"
# Completeness: every span the SDK starts carries its exporter instance (one per init()) and a
# sequence number within it; a number the collector never receives is a span known missing.
TRACERAIL_EXPORTER_INSTANCE: Final = "tracerail.exporter.instance_id"
TRACERAIL_EXPORTER_SEQ: Final = "tracerail.exporter.seq"
TRACERAIL_STREAM_TTFT_MS: Final = "tracerail.stream.time_to_first_token_ms"
TRACERAIL_STREAM: Final = "tracerail.stream"
TRACERAIL_STREAM_STOPPED: Final = "tracerail.stream.stopped"

TRACERAIL_GUARDRAIL_ACTION: Final = "tracerail.guardrail.action"
#: The values of ``tracerail.guardrail.action``, least to most severe.
GUARDRAIL_ACTIONS: Final = ("allow", "flag", "redact", "block")
TRACERAIL_GUARDRAIL_POLICY_VERSION: Final = "tracerail.guardrail.policy_version"
TRACERAIL_GUARDRAIL_LATENCY_MS: Final = "tracerail.guardrail.latency_ms"
TRACERAIL_GUARDRAIL_ENTITY_TYPES: Final = "tracerail.guardrail.entity_types"
TRACERAIL_GUARDRAIL_ENTITY_COUNTS: Final = "tracerail.guardrail.entity_counts"
TRACERAIL_GUARDRAIL_FINDINGS: Final = "tracerail.guardrail.findings"
TRACERAIL_GUARDRAIL_ERROR: Final = "tracerail.guardrail.error"
TRACERAIL_GUARDRAIL_CHECK_TYPE: Final = "tracerail.guardrail.check_type"
TRACERAIL_GUARDRAIL_POLICY_NAME: Final = "tracerail.guardrail.policy_name"
TRACERAIL_GUARDRAIL_REASON: Final = "tracerail.guardrail.reason"
TRACERAIL_GUARDRAIL_TEXT_COUNT: Final = "tracerail.guardrail.text_count"

TRACERAIL_PROVENANCE_PROMPT_SHA256: Final = "tracerail.provenance.prompt_sha256"
TRACERAIL_PROVENANCE_ANSWER_SHA256: Final = "tracerail.provenance.answer_sha256"
TRACERAIL_PROVENANCE_RECORD: Final = "tracerail.provenance.record"
TRACERAIL_PROVENANCE_SOURCE_COUNT: Final = "tracerail.provenance.source_count"
TRACERAIL_PROMPT_TEMPLATE_ID: Final = "tracerail.prompt.template_id"
TRACERAIL_PROMPT_TEMPLATE_VERSION: Final = "tracerail.prompt.template_version"
TRACERAIL_PROMPT_VARIABLES_SHA256: Final = "tracerail.prompt.variables_sha256"
OPENAI_RESPONSE_SYSTEM_FINGERPRINT: Final = "openai.response.system_fingerprint"

# Keys inside the JSON provenance record (``tracerail.provenance.record``).
PROVENANCE_SCHEMA_VERSION: Final = 1
PROVENANCE_REQUEST_PARAMETERS: Final = (
    GEN_AI_REQUEST_TEMPERATURE,
    GEN_AI_REQUEST_TOP_P,
    GEN_AI_REQUEST_MAX_TOKENS,
    "gen_ai.request.seed",
    "gen_ai.request.frequency_penalty",
    "gen_ai.request.presence_penalty",
    "gen_ai.request.stop_sequences",
)

# Scores: a span event the collector turns into a row of the scores table.
TRACERAIL_SCORE_EVENT: Final = "tracerail.score"
TRACERAIL_SCORE_NAME: Final = "tracerail.score.name"
TRACERAIL_SCORE_VALUE: Final = "tracerail.score.value"
TRACERAIL_SCORE_DATA_TYPE: Final = "tracerail.score.data_type"
TRACERAIL_SCORE_LABEL: Final = "tracerail.score.label"
TRACERAIL_SCORE_COMMENT: Final = "tracerail.score.comment"
TRACERAIL_SCORE_SOURCE: Final = "tracerail.score.source"
# Who produced a score: on ``tracerail.score`` and ``gen_ai.evaluation.result`` events.
TRACERAIL_SCORE_REVIEWER: Final = "tracerail.score.reviewer"
TRACERAIL_EVALUATION_EVALUATOR_NAME: Final = "tracerail.evaluation.evaluator.name"
TRACERAIL_EVALUATION_EVALUATOR_VERSION: Final = "tracerail.evaluation.evaluator.version"
TRACERAIL_EVALUATION_PROMPT_SHA256: Final = "tracerail.evaluation.evaluator.prompt_sha256"
SCORE_HALLUCINATION: Final = "hallucination"
SCORE_SOURCES: Final = ("human", "auto", "judge")
SCORE_DATA_TYPES: Final = ("numeric", "boolean", "categorical")

# Groundedness check results on a generation span.
TRACERAIL_GROUNDING_CLAIMS: Final = "tracerail.grounding.claims"
TRACERAIL_GROUNDING_UNSUPPORTED: Final = "tracerail.grounding.unsupported_claims"

# Background evaluation of generations (``tracerail.evaluation``): an ``evaluate {evaluator}``
# span, child of the evaluated span, times each evaluation; model calls an evaluator makes (the
# ``llm-judge``) carry TRACERAIL_EVALUATION_JUDGE_CALL and are never evaluated themselves.
EVALUATION_SPAN_PREFIX: Final = "evaluate"
TRACERAIL_EVALUATION_JUDGE_CALL: Final = "tracerail.evaluation.judge_call"
# Claims the evaluator checked and how many it found unsupported (on the ``evaluate`` span).
TRACERAIL_EVALUATION_CLAIMS: Final = "tracerail.evaluation.claims"
TRACERAIL_EVALUATION_UNSUPPORTED_CLAIMS: Final = "tracerail.evaluation.unsupported_claims"

# Keys of the ``context`` mapping a guarded call hands to its checks (``run_guardrails``).
# The call's source texts (``tracerail.sources`` / ``@observe(kind="retrieval")``), a tuple of
# str; the ``grounding`` check reads them.
GUARD_CONTEXT_SOURCES: Final = "tracerail.sources"

# Observation kinds accepted by @observe.
KIND_SPAN: Final = "span"
KIND_GENERATION: Final = "generation"
KIND_TOOL: Final = "tool"
KIND_RETRIEVAL: Final = "retrieval"
KIND_AGENT: Final = "agent"
OBSERVATION_KINDS: Final = frozenset(
    {KIND_SPAN, KIND_GENERATION, KIND_TOOL, KIND_RETRIEVAL, KIND_AGENT}
)

# --- Environment variables (argument > env > default) -----------------------------------------
ENV_ENDPOINT: Final = "TRACERAIL_ENDPOINT"
ENV_API_KEY: Final = "TRACERAIL_API_KEY"
ENV_SERVICE_NAME: Final = "TRACERAIL_SERVICE_NAME"
ENV_CAPTURE_CONTENT: Final = "TRACERAIL_CAPTURE_CONTENT"
ENV_SAMPLE_RATE: Final = "TRACERAIL_SAMPLE_RATE"
ENV_MAX_CONTENT_CHARS: Final = "TRACERAIL_MAX_CONTENT_CHARS"
ENV_ENVIRONMENT: Final = "TRACERAIL_ENVIRONMENT"
ENV_APP_VERSION: Final = "TRACERAIL_APP_VERSION"
ENV_SPOOL_DIR: Final = "TRACERAIL_SPOOL_DIR"
ENV_SPOOL_MAX_MB: Final = "TRACERAIL_SPOOL_MAX_MB"
ENV_POLICY: Final = "TRACERAIL_POLICY"
DEFAULT_POLICY_FILE: Final = "tracerail.toml"
ENV_PRICES_FILE: Final = "TRACERAIL_PRICES_FILE"
# Evaluator run in the background on generations with sources ("off" turns it off).
ENV_EVALUATOR: Final = "TRACERAIL_EVALUATOR"
# The model of the ``nli`` evaluator: a local directory or a hub id.
ENV_NLI_MODEL: Final = "TRACERAIL_NLI_MODEL"

"""tracerail: LLM observability and guardrails on OpenTelemetry.

Quick start::

    import tracerail

    tracerail.init(service_name="my-app")

    @tracerail.observe(kind="generation")
    def answer(question: str) -> str: ...

Official clients: ``client = tracerail.instrument(openai.OpenAI())`` (or Anthropic), or
``tracerail.instrument_all()`` for every client.

Importing ``tracerail`` never imports the provider packages (openai, anthropic), the
collector (fastapi, chdb) or presidio.
"""

from __future__ import annotations

from tracerail import provenance
from tracerail.config import Config
from tracerail.context import session, user
from tracerail.errors import ConfigError, GuardrailBlocked, TracerailError
from tracerail.guard import run_guardrails
from tracerail.instrumentation import instrument, instrument_all, uninstrument, uninstrument_all
from tracerail.observe import observe, tool_call
from tracerail.provenance import PromptTemplate, Source, prompt, sources
from tracerail.runtime import flush, get_config, init, shutdown
from tracerail.scores import score
from tracerail.version import __version__

__all__ = [
    "Config",
    "ConfigError",
    "GuardrailBlocked",
    "PromptTemplate",
    "Source",
    "TracerailError",
    "__version__",
    "flush",
    "get_config",
    "init",
    "instrument",
    "instrument_all",
    "observe",
    "prompt",
    "provenance",
    "run_guardrails",
    "score",
    "session",
    "shutdown",
    "sources",
    "tool_call",
    "uninstrument",
    "uninstrument_all",
    "user",
]

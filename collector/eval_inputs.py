"""What the online evaluator reads from stored spans: the answer, the question, the sources.

A generation's answer is its stored output: plain text, a JSON string, or output messages
(the last assistant message). An output that only asks for tools (tool-call parts, or OpenAI's
``tool_calls`` with no content) has no answer to judge: its answer is empty, so it is skipped.
Its question is the last user message of its stored input. Its sources are the texts of the
trace's retrieval spans that started before it ended: OpenInference
``retrieval.documents.{i}.document.content`` attributes, else the span's output (a JSON list of
strings or documents with ``text``/``content``/``page_content``, else the output as one text).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any, Final

from tracerail.collector.store import online_eval as queries

__all__ = ["answer_text", "question_text", "source_texts", "sources_for"]

# Keys of a document object whose value is its text (as the SDK's retrieval sources).
_TEXT_KEYS: Final = ("text", "content", "page_content", "document", "chunk")


def _texts(value: Any, depth: int = 0) -> list[str]:
    """Texts inside decoded JSON: strings, documents' text fields, messages' contents/parts."""
    if depth > 6:
        return []
    if isinstance(value, str):
        return [value] if value.strip() else []
    if isinstance(value, list):
        return [t for item in value for t in _texts(item, depth + 1)]
    if isinstance(value, dict):
        for key in (*_TEXT_KEYS, "parts", "message", "messages", "choices"):
            if key in value:
                found = _texts(value[key], depth + 1)
                if found:
                    return found
    return []


def source_texts(retrieval: queries.Retrieval) -> list[str]:
    """The source texts of one retrieval span."""
    documents = [d for d in retrieval.documents if d.strip()]
    if documents:
        return documents
    raw = retrieval.output.strip()
    if not raw:
        return []
    try:
        return _texts(json.loads(raw))
    except ValueError:
        return [raw]


def _only_tool_calls(message: Any) -> bool:
    """A message that asks for tool calls and says nothing (GenAI parts or OpenAI's shape)."""
    if not isinstance(message, dict):
        return False
    if isinstance(message.get("message"), dict):  # an OpenAI choice
        message = message["message"]
    parts = message.get("parts")
    if isinstance(parts, list) and parts:
        return all(isinstance(p, dict) and p.get("type") == "tool_call" for p in parts)
    return bool(message.get("tool_calls")) and not _texts(message.get("content"))


def answer_text(output: str) -> str:
    """The answer in a generation's stored output: plain text, a JSON string or messages.

    Empty when the output only calls tools (the answer comes in a later generation).
    """
    raw = output.strip()
    if not raw or raw[0] not in '[{"':
        return raw
    try:
        value = json.loads(raw)
    except ValueError:
        return raw
    if isinstance(value, list) and value and all(isinstance(m, dict) for m in value):
        # Output messages: the last assistant message is the answer.
        roles = [m for m in value if m.get("role") in (None, "assistant")]
        value = roles[-1] if roles else value[-1]
    if isinstance(value, dict) and isinstance(value.get("choices"), list) and value["choices"]:
        value = value["choices"][0]
    if _only_tool_calls(value):
        return ""
    return "\n".join(_texts(value)) or raw


def question_text(input_: str) -> str | None:
    """The last user message of a generation's stored input, when it can be found."""
    raw = input_.strip()
    if not raw:
        return None
    try:
        value = json.loads(raw)
    except ValueError:
        return raw
    if isinstance(value, dict):
        value = value.get("messages", value)
    if isinstance(value, list):
        users = [m for m in value if isinstance(m, dict) and m.get("role") == "user"]
        if users:
            return "\n".join(_texts(users[-1])) or None
    found = _texts(value)
    return "\n".join(found) if found else None


def sources_for(candidate: queries.Candidate, retrievals: Sequence[queries.Retrieval]) -> list[str]:
    """Texts of the trace's retrievals that started before the generation ended."""
    texts: list[str] = []
    for retrieval in retrievals:
        if retrieval.start_ns <= candidate.end_ns:
            texts.extend(source_texts(retrieval))
    return list(dict.fromkeys(texts))

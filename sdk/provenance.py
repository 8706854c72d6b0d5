"""Provenance: where an answer came from, recorded on every generation span.

A generation span carries ``tracerail.provenance.record``, a JSON object with provider, model
and version (response model, system fingerprint), request parameters, the prompt template
(``tracerail.prompt(...)``), the sources used as context (``tracerail.sources([...])`` or the
return value of an ``@observe(kind="retrieval")`` function) as id/URI/title/SHA-256/score,
SHA-256 of the exact prompt and answer (taken before any redaction or truncation), the
guardrail policy version, and the app version and environment.

Only hashes of texts leave the process: whoever holds the original text can prove it matches
with :func:`verify_text` (or ``tracerail provenance verify``) without it ever being stored.

Prompt templates and sources are collected per observation: ``prompt()``/``sources()`` add to
the innermost ``@observe`` call running, a retrieval's results are added to its caller, and a
generation uses everything collected in its own call and the calls around it.
"""

from __future__ import annotations

import contextvars
import hashlib
import hmac
import json
import logging
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from opentelemetry import trace

from tracerail import semconv
from tracerail.content import to_json
from tracerail.runtime import get_config

logger = logging.getLogger("tracerail")

__all__ = [
    "PromptTemplate",
    "Source",
    "as_sources",
    "attach",
    "build_record",
    "configure_grounding",
    "prompt",
    "sha256_text",
    "sources",
    "verify_text",
]

_SOURCE_TEXT_KEYS = ("text", "content", "page_content", "document", "chunk")
_SOURCE_ID_KEYS = ("id", "doc_id", "document_id")
_SOURCE_URI_KEYS = ("uri", "url", "source", "path")


def sha256_text(text: str) -> str:
    """Hex SHA-256 of ``text`` encoded as UTF-8 (the digest every provenance hash uses)."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def verify_text(text: str, sha256: str) -> bool:
    """True when ``text`` is exactly the text whose SHA-256 (hex) is ``sha256``."""
    expected = sha256.strip().lower()
    return hmac.compare_digest(sha256_text(text), expected)


def canonical_json(value: object) -> str:
    """Sorted keys, no spaces, UTF-8: the same object always gives the same text."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


@dataclass(frozen=True, slots=True)
class Source:
    """One document used as context. ``text`` stays in the process; only its hash is sent."""

    id: str | None = None
    uri: str | None = None
    title: str | None = None
    text: str | None = field(default=None, repr=False)
    score: float | None = None
    sha256: str | None = None

    def digest(self) -> str | None:
        return self.sha256 or (sha256_text(self.text) if self.text is not None else None)

    def record(self) -> dict[str, Any]:
        """The source as it appears in the provenance record (no text)."""
        fields = {
            "id": self.id,
            "uri": self.uri,
            "title": self.title,
            "sha256": self.digest(),
            "score": self.score,
        }
        return {k: v for k, v in fields.items() if v is not None}


@dataclass(frozen=True, slots=True)
class PromptTemplate:
    """A prompt template id and version, and the variables it was filled with."""

    template_id: str
    version: str
    variables: Mapping[str, Any] = field(default_factory=dict)

    def record(self) -> dict[str, Any]:
        """Template id, version and a hash of the variables (their values may be personal)."""
        return {
            "template_id": self.template_id,
            "version": self.version,
            "variables_sha256": sha256_text(canonical_json(to_plain(self.variables))),
        }


def to_plain(value: object) -> Any:
    """JSON-compatible data for hashing: anything ``to_json`` can serialise."""
    try:
        return json.loads(to_json(value)) if not isinstance(value, str) else value
    except ValueError:
        return to_json(value)


class _Scope:
    """What one observed call has collected: a prompt template and sources. ``generation``:
    the call is an observed generation, which records the provenance of its answer."""

    __slots__ = ("generation", "parent", "sources", "template")

    def __init__(self, parent: _Scope | None, *, generation: bool = False) -> None:
        self.parent = parent
        self.generation = generation
        self.template: PromptTemplate | None = None
        self.sources: list[Source] = []

    def in_generation(self) -> bool:
        """True inside an observed generation (this scope's or one around it)."""
        scope: _Scope | None = self
        while scope is not None:
            if scope.generation:
                return True
            scope = scope.parent
        return False

    def gathered(self) -> tuple[PromptTemplate | None, list[Source]]:
        """The innermost template and all sources of this scope and the scopes around it."""
        template: PromptTemplate | None = None
        chain: list[_Scope] = []
        scope: _Scope | None = self
        while scope is not None:
            chain.append(scope)
            template = template or scope.template
            scope = scope.parent
        found: list[Source] = []
        seen: set[tuple[str | None, str | None, str | None]] = set()
        for item in reversed(chain):
            for source in item.sources:
                key = (source.id, source.uri, source.digest())
                if key not in seen:
                    seen.add(key)
                    found.append(source)
        return template, found


_current: contextvars.ContextVar[_Scope | None] = contextvars.ContextVar(
    "tracerail_provenance_scope", default=None
)


def new_scope(*, generation: bool = False) -> _Scope:
    """A scope for an observed call starting now, nested in the current one."""
    return _Scope(_current.get(), generation=generation)


def current_scope() -> _Scope | None:
    return _current.get()


def enter_scope(scope: _Scope) -> contextvars.Token[_Scope | None]:
    return _current.set(scope)


def exit_scope(token: contextvars.Token[_Scope | None]) -> None:
    _current.reset(token)


def prompt(
    template_id: str, version: str | int, variables: Mapping[str, Any] | None = None
) -> PromptTemplate:
    """Record which prompt template (id, version, variables) the current call uses.

    Returns the :class:`PromptTemplate`; outside an observed call nothing is recorded.
    """
    template = PromptTemplate(str(template_id), str(version), dict(variables or {}))
    scope = _current.get()
    if scope is None:
        logger.debug("tracerail.prompt() outside an observed call: not recorded")
    else:
        scope.template = template
    return template


def as_sources(value: object) -> list[Source]:
    """Coerce retrieval results to sources: :class:`Source`, strings, or dict-like documents."""
    items: Iterable[object]
    if value is None:
        return []
    if isinstance(value, Source | str | Mapping) or not isinstance(value, Iterable):
        items = [value]
    else:
        items = value
    found = []
    for item in items:
        source = _as_source(item)
        if source is not None:
            found.append(source)
    return found


def _first(mapping: Mapping[str, Any], keys: Sequence[str]) -> Any:
    for key in keys:
        value = mapping.get(key)
        if value is not None:
            return value
    return None


def _as_source(item: object) -> Source | None:
    if isinstance(item, Source):
        return item
    if isinstance(item, str):
        return Source(text=item)
    mapping: Mapping[str, Any] | None = None
    if isinstance(item, Mapping):
        mapping = item
    elif hasattr(item, "page_content"):  # LangChain-style Document
        metadata = getattr(item, "metadata", None) or {}
        mapping = {**metadata, "text": item.page_content}
    if mapping is None:
        return None
    metadata = mapping.get("metadata")
    if isinstance(metadata, Mapping):
        mapping = {**metadata, **mapping}
    text = _first(mapping, _SOURCE_TEXT_KEYS)
    raw_score = mapping.get("score")
    ident = _first(mapping, _SOURCE_ID_KEYS)
    uri = _first(mapping, _SOURCE_URI_KEYS)
    title = mapping.get("title")
    return Source(
        id=None if ident is None else str(ident),
        uri=None if uri is None else str(uri),
        title=None if title is None else str(title),
        text=None if text is None else str(text),
        score=float(raw_score) if isinstance(raw_score, int | float) else None,
        sha256=mapping.get("sha256") if isinstance(mapping.get("sha256"), str) else None,
    )


def sources(items: Iterable[Source | str | Mapping[str, Any]]) -> list[Source]:
    """Record the documents the current call uses as context; returns them as sources."""
    found = as_sources(list(items))
    scope = _current.get()
    if scope is None:
        logger.debug("tracerail.sources() outside an observed call: not recorded")
    else:
        scope.sources.extend(found)
    return found


def source_texts(scope: _Scope | None) -> tuple[str, ...]:
    """The non-empty texts of the sources ``scope`` and the scopes around it gathered."""
    if scope is None:
        return ()
    return tuple(s.text for s in scope.gathered()[1] if s.text)


def add_retrieved(scope: _Scope, value: object) -> None:
    """A retrieval call's results become sources of the call that made it."""
    target = scope.parent or scope
    target.sources.extend(as_sources(value))


# --- grounding -----------------------------------------------------------------------------


@dataclass
class _GroundingSettings:
    enabled: bool = True
    judge: Callable[[str, Sequence[str]], Any] | None = None


_grounding = _GroundingSettings()


def configure_grounding(
    *, enabled: bool = True, judge: Callable[[str, Sequence[str]], Any] | None = None
) -> None:
    """Turn the background evaluation of generations with sources on or off.

    The evaluator itself is chosen with ``tracerail.init(evaluator=...)`` (see
    :mod:`tracerail.evaluation`). ``judge(answer, sources)`` returning a ``JudgeVerdict`` (see
    :mod:`tracerail.guardrails.grounding`) adds a ``judge`` hallucination score, also computed
    in the background.
    """
    _grounding.enabled = enabled
    _grounding.judge = judge


# --- building and attaching the record ----------------------------------------------------


def _span_attributes(span: trace.Span) -> Mapping[str, Any]:
    attributes = getattr(span, "attributes", None)
    return attributes if isinstance(attributes, Mapping) else {}


def build_record(
    *,
    prompt_sha256: str | None,
    answer_sha256: str | None,
    template: PromptTemplate | None,
    source_list: Sequence[Source],
    span_attributes: Mapping[str, Any],
    policy_version: str | None = None,
) -> dict[str, Any]:
    """The provenance record of one generation (a JSON-ready dict, no raw text)."""
    config = get_config()
    parameters = {
        key: _plain_attribute(span_attributes[key])
        for key in semconv.PROVENANCE_REQUEST_PARAMETERS
        if key in span_attributes
    }
    provider = span_attributes.get(semconv.GEN_AI_PROVIDER_NAME) or span_attributes.get(
        semconv.LEGACY_GEN_AI_SYSTEM
    )
    policy = policy_version or span_attributes.get(semconv.TRACERAIL_GUARDRAIL_POLICY_VERSION)
    record: dict[str, Any] = {
        "schema": semconv.PROVENANCE_SCHEMA_VERSION,
        "provider": provider,
        "request_model": span_attributes.get(semconv.GEN_AI_REQUEST_MODEL),
        "response_model": span_attributes.get(semconv.GEN_AI_RESPONSE_MODEL),
        "system_fingerprint": span_attributes.get(semconv.OPENAI_RESPONSE_SYSTEM_FINGERPRINT),
        "request_parameters": parameters,
        "prompt_template": template.record() if template else None,
        "sources": [s.record() for s in source_list],
        "prompt_sha256": prompt_sha256,
        "answer_sha256": answer_sha256,
        "policy_version": policy,
        "app_version": config.app_version,
        "environment": config.environment,
        "service": config.service_name,
    }
    return record


def _plain_attribute(value: Any) -> Any:
    return list(value) if isinstance(value, tuple) else value


def answer_text(value: object, items: Sequence[object] | None = None) -> str:
    """The exact answer text: streamed string chunks joined, anything else as JSON."""
    if items is not None:
        if all(isinstance(i, str) for i in items):
            return "".join(str(i) for i in items)
        return to_json(list(items))
    return to_json(value)


def attach(
    span: trace.Span,
    *,
    prompt_text: str | None,
    answer: str | None,
    scope: _Scope | None = None,
    policy_version: str | None = None,
    evaluate: bool = True,
) -> None:
    """Set the provenance attributes on a generation ``span`` and queue its evaluation.

    ``prompt_text`` and ``answer`` are the exact texts before redaction; only their hashes
    are recorded. With ``evaluate``, a generation with sources is evaluated in the background,
    after the call (:mod:`tracerail.evaluation`). Never raises.
    """
    try:
        if not span.is_recording():
            return
        template, found = (scope or _Scope(_current.get())).gathered()
        prompt_sha = sha256_text(prompt_text) if prompt_text is not None else None
        answer_sha = sha256_text(answer) if answer is not None else None
        record = build_record(
            prompt_sha256=prompt_sha,
            answer_sha256=answer_sha,
            template=template,
            source_list=found,
            span_attributes=_span_attributes(span),
            policy_version=policy_version,
        )
        attributes: dict[str, Any] = {
            semconv.TRACERAIL_PROVENANCE_RECORD: canonical_json(record),
            semconv.TRACERAIL_PROVENANCE_SOURCE_COUNT: len(found),
        }
        if prompt_sha:
            attributes[semconv.TRACERAIL_PROVENANCE_PROMPT_SHA256] = prompt_sha
        if answer_sha:
            attributes[semconv.TRACERAIL_PROVENANCE_ANSWER_SHA256] = answer_sha
        if template is not None:
            attributes[semconv.TRACERAIL_PROMPT_TEMPLATE_ID] = template.template_id
            attributes[semconv.TRACERAIL_PROMPT_TEMPLATE_VERSION] = template.version
        span.set_attributes(attributes)
        texts = [s.text for s in found if s.text]
        if evaluate and answer is not None and texts and _grounding.enabled:
            _ground(span, answer, texts)
    except Exception:
        logger.exception("tracerail: could not record provenance")


def _ground(span: trace.Span, answer: str, texts: list[str]) -> None:
    """Queue the generation for the background evaluator (:mod:`tracerail.evaluation`).

    The app's answer never waits for it: the score is recorded after the span has ended.
    """
    from tracerail import evaluation

    response_id = _span_attributes(span).get(semconv.GEN_AI_RESPONSE_ID)
    evaluation.submit(
        span.get_span_context(),
        answer,
        texts,
        response_id=response_id if isinstance(response_id, str) else None,
        judge=_grounding.judge,
    )

"""Process-wide SDK state: ``init()``, ``flush()``, ``shutdown()`` and the tracer to use.

``init`` builds a TracerProvider with a batch processor and the OTLP/HTTP exporter (protobuf,
gzip) pointed at the collector. It uses a provider the caller passes, and never replaces a
global SDK provider the application already set: it adds its exporter to that one instead.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from typing import Any

from opentelemetry import trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter
from opentelemetry.sdk.trace.sampling import ParentBased, TraceIdRatioBased

from tracerail import semconv
from tracerail.config import Config, resolve_config
from tracerail.context import ContextAttributes
from tracerail.sequence import SequenceStamper
from tracerail.version import __version__

logger = logging.getLogger("tracerail")

INSTRUMENTATION_NAME = "tracerail"


@dataclass
class _Runtime:
    config: Config
    provider: TracerProvider
    processor: BatchSpanProcessor
    owns_provider: bool
    tracer: trace.Tracer
    policy: Any = None  # tracerail.guardrails.Policy, typed loosely to keep imports light


_lock = threading.Lock()
_runtime: _Runtime | None = None
# The provider an earlier init() installed as the global one (it cannot be replaced later).
_installed_global: TracerProvider | None = None


def _otlp_exporter(config: Config) -> SpanExporter:
    from opentelemetry.exporter.otlp.proto.http import Compression
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

    headers = {"Authorization": f"Bearer {config.api_key}"} if config.api_key else None
    exporter = OTLPSpanExporter(
        endpoint=config.traces_url, headers=headers, compression=Compression.Gzip, timeout=10
    )
    if config.spool_dir is None:
        return exporter
    from tracerail.spool import SpoolingExporter

    return SpoolingExporter(
        exporter,
        config.spool_dir,
        endpoint=config.traces_url,
        headers=headers,
        max_bytes=config.spool_max_mb * 1024 * 1024,
    )


def _resource(config: Config) -> Resource:
    attributes: dict[str, str] = {
        semconv.SERVICE_NAME: config.service_name,
        semconv.TRACERAIL_SDK_VERSION: __version__,
    }
    if config.environment:
        attributes[semconv.DEPLOYMENT_ENVIRONMENT] = config.environment
    if config.app_version:
        attributes[semconv.SERVICE_VERSION] = config.app_version
    return Resource.create(attributes)


def init(
    *,
    endpoint: str | None = None,
    api_key: str | None = None,
    service_name: str | None = None,
    capture_content: bool | None = None,
    sample_rate: float | None = None,
    max_content_chars: int | None = None,
    environment: str | None = None,
    app_version: str | None = None,
    spool_dir: str | None = None,
    spool_max_mb: int | None = None,
    tracer_provider: TracerProvider | None = None,
    span_exporter: SpanExporter | None = None,
    policy: Any = None,
    evaluator: Any = None,
) -> Config:
    """Configure tracing and return the resolved :class:`~tracerail.config.Config`.

    Each setting comes from its argument, else its ``TRACERAIL_*`` environment variable, else
    the default. ``span_exporter`` replaces the OTLP exporter (e.g. a console or in-memory
    exporter). ``policy`` (a ``tracerail.guardrails.Policy``, a TOML path, ``"default"`` or
    ``"off"``) sets the guardrail policy for every guarded call; a bad policy file fails here.
    ``spool_dir`` turns on the on-disk spool (:mod:`tracerail.spool`): batches the
    collector cannot take are kept there (at most ``spool_max_mb``) and re-sent in order.
    ``evaluator`` (a registered name such as ``"heuristic"``, ``"nli"``, ``"llm-judge"``, an
    evaluator object, or ``"off"``; env ``TRACERAIL_EVALUATOR``) scores generations that have
    sources in the background after the call (:mod:`tracerail.evaluation`).
    Raises :class:`~tracerail.ConfigError` naming the field when a value is invalid.
    Calling ``init`` again replaces the previous configuration.
    """
    global _runtime, _installed_global
    config = resolve_config(
        endpoint=endpoint,
        api_key=api_key,
        service_name=service_name,
        capture_content=capture_content,
        sample_rate=sample_rate,
        max_content_chars=max_content_chars,
        environment=environment,
        app_version=app_version,
        spool_dir=spool_dir,
        spool_max_mb=spool_max_mb,
        evaluator=evaluator if isinstance(evaluator, str) else getattr(evaluator, "name", None),
    )
    resolved_policy = None
    if policy is not None:
        from tracerail.guard import resolve_policy

        resolved_policy = resolve_policy(policy)
    with _lock:
        if _runtime is not None:
            _shutdown_locked()
        owns = False
        provider = tracer_provider
        if provider is None:
            current = trace.get_tracer_provider()
            if isinstance(current, TracerProvider) and current is not _installed_global:
                logger.info("tracerail: adding its exporter to the application's TracerProvider")
                provider = current
            else:
                provider = TracerProvider(
                    resource=_resource(config),
                    sampler=ParentBased(TraceIdRatioBased(config.sample_rate)),
                )
                owns = True
                if not _global_provider_set():
                    trace.set_tracer_provider(provider)
                    _installed_global = provider
        processor = BatchSpanProcessor(span_exporter or _otlp_exporter(config))
        provider.add_span_processor(SequenceStamper())  # completeness (tracerail.sequence)
        provider.add_span_processor(ContextAttributes())  # tracerail.user() / .session()
        provider.add_span_processor(processor)
        _runtime = _Runtime(
            config=config,
            provider=provider,
            processor=processor,
            owns_provider=owns,
            tracer=provider.get_tracer(INSTRUMENTATION_NAME, __version__),
            policy=resolved_policy,
        )
    from tracerail import evaluation

    evaluation.configure(config.evaluator if isinstance(evaluator, str | None) else evaluator)
    return config


def _global_provider_set() -> bool:
    return not isinstance(trace.get_tracer_provider(), trace.ProxyTracerProvider)


def get_config() -> Config:
    """The active configuration, or the environment/default one before ``init()``."""
    runtime = _runtime
    return runtime.config if runtime is not None else _default_config()


_default: Config | None = None


def _default_config() -> Config:
    global _default
    if _default is None:
        try:
            _default = resolve_config()
        except Exception:  # a bad env var must not break un-initialised tracing
            logger.warning("tracerail: invalid TRACERAIL_* environment, using defaults")
            _default = Config()
    return _default


def get_policy() -> Any:
    """The guardrail policy given to ``init(policy=...)``, or None."""
    runtime = _runtime
    return runtime.policy if runtime is not None else None


def get_tracer() -> trace.Tracer:
    """The tracer ``@observe`` uses: tracerail's own, or the global one before ``init()``."""
    runtime = _runtime
    if runtime is not None:
        return runtime.tracer
    return trace.get_tracer(INSTRUMENTATION_NAME, __version__)


def flush(timeout_millis: int = 30_000) -> bool:
    """Record every queued evaluation, then export every finished span now; returns False on
    timeout. Never raises."""
    from tracerail import evaluation

    started = time.monotonic()
    try:
        evaluated = evaluation.flush(timeout_millis / 1000)
    except Exception:
        logger.exception("tracerail: evaluation flush failed")
        evaluated = False
    left = max(0, timeout_millis - int((time.monotonic() - started) * 1000))
    return flush_spans(left) and evaluated


def flush_spans(timeout_millis: int = 30_000) -> bool:
    """Export every finished span now (not waiting for evaluations). Never raises."""
    runtime = _runtime
    if runtime is None:
        return True
    try:
        return runtime.processor.force_flush(timeout_millis)
    except Exception:
        logger.exception("tracerail: flush failed")
        return False


def shutdown() -> None:
    """Flush and stop exporting. Safe to call more than once. Never raises."""
    with _lock:
        _shutdown_locked()


def _shutdown_locked() -> None:
    global _runtime
    if _runtime is None:
        return
    from tracerail import evaluation

    try:  # while the exporter still runs: evaluations flush spans and make spans of their own
        evaluation.shutdown()
    except Exception:
        logger.exception("tracerail: evaluation shutdown failed")
    runtime, _runtime = _runtime, None
    try:
        if runtime.owns_provider and runtime.provider is not _installed_global:
            runtime.provider.shutdown()
        else:
            runtime.processor.shutdown()  # type: ignore[no-untyped-call]
    except Exception:
        logger.exception("tracerail: shutdown failed")

"""Background evaluation of generations: scored after the call, never in its way.

When an ``@observe(kind="generation")`` call that had sources ends, :func:`submit` queues its
answer and source texts and returns at once. One daemon worker thread runs the configured
evaluator (``heuristic`` by default; ``tracerail.init(evaluator=...)`` or
``TRACERAIL_EVALUATOR``; ``"off"`` runs none) and records each result three ways:

* a ``hallucination`` score sent to the collector's ``POST /api/v1/scores`` with the
  evaluator's name, version and prompt hash (fields ``evaluator``, ``evaluator_version``,
  ``prompt_sha256``, sent only when set). The span has ended by then, so the score cannot ride
  on it as an event: the worker first flushes the span exporter, so the collector has the span,
  and retries while the collector does not know it yet (404) or is busy;
* a ``gen_ai.evaluation.result`` event (OpenTelemetry GenAI conventions): a log record through
  the global OpenTelemetry logs API, parented to the evaluated span (it reaches whatever
  LoggerProvider the application configured; without one it is dropped by the API);
* an ``evaluate {evaluator}`` span, child of the evaluated span, that times the evaluation,
  carries the same ``gen_ai.evaluation.*`` attributes, and parents the model calls an evaluator
  makes (the ``llm-judge``'s calls, traced with their cost).

Calls made while evaluating (:func:`evaluating`) are marked
``tracerail.evaluation.judge_call`` and never evaluated themselves. The queue is bounded: when
it is full the evaluation is dropped and counted (:func:`stats`), the app never waits.
``tracerail.flush()`` and ``tracerail.shutdown()`` wait for the queue to drain. Failures are
logged, never raised; an evaluation the evaluator could not finish (e.g. an ``unparseable``
judge answer) sends no score, only its event with ``error.type``.
"""

from __future__ import annotations

import contextvars
import dataclasses
import logging
import math
import queue
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final

from opentelemetry import trace
from opentelemetry.trace import NonRecordingSpan, SpanContext, SpanKind, Status, StatusCode

from tracerail import semconv
from tracerail.config import EVALUATOR_OFF
from tracerail.context import current_ids, ids_restored
from tracerail.version import __version__

if TYPE_CHECKING:
    from tracerail.guardrails.evaluators import Evaluation, Evaluator

logger = logging.getLogger("tracerail")

__all__ = [
    "DEFAULT_MAX_QUEUE",
    "EvaluationRunner",
    "Job",
    "configure",
    "evaluating",
    "flush",
    "in_evaluation",
    "shutdown",
    "stats",
    "submit",
]

DEFAULT_MAX_QUEUE: Final = 1_000
# Evaluations taken from the queue at a time: their spans are flushed once, then scored.
_BATCH: Final = 64
# Collector answers worth retrying: the span is not stored yet, or the collector is busy.
_RETRY_STATUSES: Final = frozenset({404, 408, 425, 429, 500, 502, 503, 504})
_MAX_COMMENT: Final = 4_000
_SHUTDOWN_TIMEOUT_S: Final = 10.0
# Labels of evaluations without a verdict (the llm-judge's); they send no score.
_UNDECIDED: Final = frozenset({"unparseable", "error"})

_evaluating: contextvars.ContextVar[bool] = contextvars.ContextVar(
    "tracerail_evaluating", default=False
)


def in_evaluation() -> bool:
    """True inside :func:`evaluating`: calls made here are an evaluator's, not the app's."""
    return _evaluating.get()


@contextmanager
def evaluating() -> Iterator[None]:
    """Mark the calls made inside as an evaluator's own (traced, marked, never evaluated)."""
    token = _evaluating.set(True)
    try:
        yield
    finally:
        _evaluating.reset(token)


@dataclass(frozen=True, slots=True)
class Job:
    """One generation to evaluate: its answer, source texts, and the span it belongs to."""

    answer: str
    sources: tuple[str, ...]
    span_context: SpanContext
    question: str | None = None
    response_id: str | None = None
    # A legacy ``configure_grounding(judge=fn)`` callable, scored next to the evaluator.
    judge: Callable[[str, Sequence[str]], Any] | None = None
    # The call's (user, session): its evaluate span (and a judge's calls) carry them too.
    ids: tuple[str | None, str | None] = (None, None)


@dataclass
class Stats:
    """Counters of one runner (read them with :func:`stats`)."""

    submitted: int = 0
    dropped: int = 0
    evaluated: int = 0
    failed: int = 0
    sent: int = 0
    unsent: int = 0

    def as_dict(self) -> dict[str, int]:
        return dataclasses.asdict(self)


@dataclass
class _Result:
    job: Job
    evaluation: Evaluation
    errored: bool = False


Sink = Callable[[Job, "Evaluation"], bool]


class EvaluationRunner:
    """A bounded queue and one daemon worker thread that evaluates and records each job.

    ``evaluator`` is a registered name (built on the worker, on first use, so heavy imports
    never happen in the app's call) or an evaluator object. ``sink(job, evaluation)`` records
    a score; the default posts it to the collector (:func:`post_to_collector`).
    """

    def __init__(
        self,
        evaluator: str | Evaluator,
        *,
        max_queue: int = DEFAULT_MAX_QUEUE,
        sink: Sink | None = None,
        retries: int = 4,
        retry_delay: float = 0.5,
    ) -> None:
        self._spec = evaluator
        self._evaluator: Evaluator | None = None if isinstance(evaluator, str) else evaluator
        self._broken = False
        self._queue: queue.Queue[Job | None] = queue.Queue(maxsize=max(1, max_queue))
        self._cond = threading.Condition()
        self._pending = 0
        self._closed = False
        self._thread: threading.Thread | None = None
        self._sink = sink
        self._retries = retries
        self._retry_delay = retry_delay
        self.stats = Stats()
        self._warned_full = False

    @property
    def name(self) -> str:
        return self._spec if isinstance(self._spec, str) else str(self._spec.name)

    # --- the app's side: never blocks -----------------------------------------------------

    def submit(self, job: Job) -> bool:
        """Queue ``job``; False (and counted as dropped) when the queue is full or closed."""
        with self._cond:
            if self._closed:
                self.stats.dropped += 1
                return False
            try:
                self._queue.put_nowait(job)
            except queue.Full:
                self.stats.dropped += 1
                if not self._warned_full:
                    self._warned_full = True
                    logger.warning(
                        "tracerail: evaluation queue full (%d); dropping evaluations",
                        self._queue.maxsize,
                    )
                return False
            self._pending += 1
            self.stats.submitted += 1
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._work, name="tracerail-evaluation", daemon=True
                )
                self._thread.start()
        return True

    def flush(self, timeout: float | None = None) -> bool:
        """Wait until every queued job is evaluated and recorded; False on timeout."""
        if threading.current_thread() is self._thread:  # an evaluator flushing: never wait
            return self._pending == 0
        with self._cond:
            return self._cond.wait_for(lambda: self._pending == 0, timeout)

    def shutdown(self, timeout: float = _SHUTDOWN_TIMEOUT_S) -> bool:
        """Drain (up to ``timeout`` seconds), then stop the worker. Safe to call twice."""
        drained = self.flush(timeout)
        with self._cond:
            if self._closed:
                return drained
            self._closed = True
            thread = self._thread
        if thread is not None:
            try:
                self._queue.put(None, timeout=1.0)
            except queue.Full:
                logger.warning("tracerail: evaluation worker still busy at shutdown")
            thread.join(timeout=1.0)
        return drained

    # --- the worker -----------------------------------------------------------------------

    def _work(self) -> None:
        running = True
        while running:
            job = self._queue.get()
            batch: list[Job] = []
            if job is None:
                break
            batch.append(job)
            while len(batch) < _BATCH:
                try:
                    more = self._queue.get_nowait()
                except queue.Empty:
                    break
                if more is None:
                    running = False
                    break
                batch.append(more)
            try:
                results = [r for job in batch for r in self._evaluate(job)]
                self._record(results)
            except Exception:  # the worker must survive anything
                logger.exception("tracerail: background evaluation failed")
            finally:
                with self._cond:
                    self._pending -= len(batch)
                    self._cond.notify_all()

    def _build(self) -> Evaluator | None:
        if self._evaluator is not None or self._broken:
            return self._evaluator
        try:
            from tracerail.guardrails.evaluators import get_evaluator

            self._evaluator = get_evaluator(str(self._spec))
        except Exception as exc:
            self._broken = True
            logger.error("tracerail: evaluator %r unavailable, not evaluating: %s", self._spec, exc)
        return self._evaluator

    def _evaluate(self, job: Job) -> list[_Result]:
        evaluator = self._build()
        results: list[_Result] = []
        if evaluator is not None:
            result = _run(evaluator, job, evaluator.name)
            if result is None:
                self.stats.failed += 1
            else:
                results.append(result)
        if job.judge is not None:
            legacy = _run(_LegacyJudge(job.judge), job, _LegacyJudge.name)
            if legacy is not None:
                results.append(legacy)
        self.stats.evaluated += len(results)
        return results

    def _record(self, results: list[_Result]) -> None:
        scorable = [r for r in results if not r.errored]
        if not scorable:
            return
        from tracerail.runtime import flush_spans

        # The collector must have the evaluated spans before it accepts scores for them.
        flush_spans()
        for index, result in enumerate(scorable):
            if self._sink is not None:
                sent = self._sink(result.job, result.evaluation)
            else:
                status = post_to_collector(
                    result.job, result.evaluation, retries=self._retries, delay=self._retry_delay
                )
                sent = 200 <= status < 300
                if status == 0:  # nothing listening: the rest of the batch would fail alike
                    skipped = len(scorable) - index - 1
                    self.stats.unsent += 1 + skipped
                    if skipped:
                        logger.warning(
                            "tracerail: collector unreachable; %d more evaluation scores not sent",
                            skipped,
                        )
                    return
            if sent:
                self.stats.sent += 1
            else:
                self.stats.unsent += 1


class _LegacyJudge:
    """``configure_grounding(judge=fn)``: ``fn(answer, sources)`` returning a JudgeVerdict."""

    name = "custom-judge"
    version = ""

    def __init__(self, judge: Callable[[str, Sequence[str]], Any]) -> None:
        self._judge = judge

    def evaluate(
        self, answer: str, sources: Sequence[str], *, question: str | None = None
    ) -> Evaluation:
        from tracerail.guardrails.evaluators import (
            DEFAULT_THRESHOLD,
            LABEL_GROUNDED,
            LABEL_HALLUCINATED,
            Evaluation,
        )

        verdict = self._judge(answer, sources)
        score = float(verdict.hallucination_score)
        label = getattr(verdict, "label", None) or (
            LABEL_HALLUCINATED if score >= DEFAULT_THRESHOLD else LABEL_GROUNDED
        )
        return Evaluation(
            score=score,
            label=str(label),
            explanation=str(getattr(verdict, "comment", None) or ""),
            evaluator=self.name,
            version=self.version,
            # A user's judge: its score is a ``judge`` score, as before.
            extra={"source": "judge"},
        )


def _run(evaluator: Any, job: Job, name: str) -> _Result | None:
    """Evaluate ``job`` inside an ``evaluate {name}`` span; None when the evaluator raised."""
    with ids_restored(job.ids):
        return _evaluate(evaluator, job, name)


def _evaluate(evaluator: Any, job: Job, name: str) -> _Result | None:
    from tracerail.runtime import get_tracer

    parent = trace.set_span_in_context(NonRecordingSpan(job.span_context))
    span = get_tracer().start_span(
        f"{semconv.EVALUATION_SPAN_PREFIX} {name}",
        context=parent,
        kind=SpanKind.INTERNAL,
        attributes={
            semconv.GEN_AI_EVALUATION_NAME: semconv.SCORE_HALLUCINATION,
            semconv.TRACERAIL_EVALUATION_EVALUATOR_NAME: name,
            semconv.TRACERAIL_EVALUATION_EVALUATOR_VERSION: str(getattr(evaluator, "version", "")),
        },
    )
    try:
        with (
            evaluating(),
            trace.use_span(
                span, end_on_exit=False, record_exception=False, set_status_on_exception=False
            ),
        ):
            evaluation: Evaluation = evaluator.evaluate(
                job.answer, job.sources, question=job.question
            )
    except Exception as exc:
        logger.exception("tracerail: evaluator %r failed", name)
        span.record_exception(exc)
        span.set_attribute(semconv.ERROR_TYPE, type(exc).__qualname__)
        span.set_status(Status(StatusCode.ERROR, f"{type(exc).__name__}: {exc}"[:1024]))
        span.end()
        return None
    result = _Result(job, evaluation, errored=not _decided(evaluation))
    attributes = event_attributes(result)
    attributes[semconv.TRACERAIL_EVALUATION_CLAIMS] = len(evaluation.claims)
    attributes[semconv.TRACERAIL_EVALUATION_UNSUPPORTED_CLAIMS] = sum(
        1 for c in evaluation.claims if c.support < 0.5
    )
    span.set_attributes(attributes)
    span.end()
    _emit_event(job, attributes)
    return result


def _decided(evaluation: Evaluation) -> bool:
    """False for an evaluation that reached no verdict (``unparseable``, ``error``)."""
    extra = evaluation.extra if isinstance(evaluation.extra, dict) else {}
    return (
        not extra.get("error")
        and evaluation.label not in _UNDECIDED
        and math.isfinite(evaluation.score)
        and 0.0 <= evaluation.score <= 1.0
    )


def _source(evaluation: Evaluation) -> str:
    """``judge`` for prompted evaluators (a model judged), ``auto`` for the others."""
    explicit = evaluation.extra.get("source") if isinstance(evaluation.extra, dict) else None
    if explicit in semconv.SCORE_SOURCES:
        return str(explicit)
    return "judge" if evaluation.prompt_sha256 else "auto"


def event_attributes(result: _Result) -> dict[str, Any]:
    """The attributes of the ``gen_ai.evaluation.result`` event of ``result``."""
    evaluation = result.evaluation
    attributes: dict[str, Any] = {
        semconv.GEN_AI_EVALUATION_NAME: semconv.SCORE_HALLUCINATION,
        semconv.GEN_AI_EVALUATION_SCORE_LABEL: evaluation.label,
        semconv.GEN_AI_EVALUATION_EXPLANATION: evaluation.explanation[:_MAX_COMMENT],
        semconv.TRACERAIL_EVALUATION_EVALUATOR_NAME: evaluation.evaluator,
        semconv.TRACERAIL_EVALUATION_EVALUATOR_VERSION: evaluation.version,
        semconv.TRACERAIL_SCORE_SOURCE: _source(evaluation),
    }
    if math.isfinite(evaluation.score):
        attributes[semconv.GEN_AI_EVALUATION_SCORE_VALUE] = float(evaluation.score)
    if evaluation.prompt_sha256:
        attributes[semconv.TRACERAIL_EVALUATION_PROMPT_SHA256] = evaluation.prompt_sha256
    if result.job.response_id:
        attributes[semconv.GEN_AI_RESPONSE_ID] = result.job.response_id
    if result.errored:
        attributes[semconv.ERROR_TYPE] = str(evaluation.extra.get("error") or evaluation.label)
    return attributes


def _emit_event(job: Job, attributes: dict[str, Any]) -> None:
    """The ``gen_ai.evaluation.result`` event as an OpenTelemetry log record (spec form)."""
    try:
        from opentelemetry._logs import LogRecord, get_logger

        get_logger("tracerail", __version__).emit(
            LogRecord(
                timestamp=time.time_ns(),
                context=trace.set_span_in_context(NonRecordingSpan(job.span_context)),
                event_name=semconv.GEN_AI_EVALUATION_RESULT_EVENT,
                attributes=attributes,
            )
        )
    except Exception:
        logger.exception("tracerail: could not emit the evaluation event")


def post_to_collector(
    job: Job, evaluation: Evaluation, *, retries: int = 4, delay: float = 0.5
) -> int:
    """Send ``evaluation`` as a ``hallucination`` score of the job's span; the last HTTP status
    (2xx: stored; 0: no collector answered).

    Retries (``delay`` doubling) while the collector does not know the span yet (404) or is
    busy; a collector that does not answer at all is not retried (the worker moves on, the
    score is logged as not sent). Other refusals are logged and not retried.
    """
    from tracerail.scores import post_score, score_body, score_event_attributes

    context = job.span_context
    value = min(1.0, max(0.0, float(evaluation.score)))
    source = _source(evaluation)
    body = score_body(
        format(context.trace_id, "032x"),
        format(context.span_id, "016x"),
        semconv.SCORE_HALLUCINATION,
        value,
        evaluation.label,
        evaluation.explanation[:_MAX_COMMENT] or None,
        source,
        score_event_attributes(semconv.SCORE_HALLUCINATION, value, source=source),
        evaluator=evaluation.evaluator,
        evaluator_version=evaluation.version,
        prompt_sha256=evaluation.prompt_sha256,
    )
    wait = delay
    status, detail = 0, ""
    for attempt in range(retries + 1):
        status, detail = post_score(body)
        if 200 <= status < 300:
            return status
        if status not in _RETRY_STATUSES or attempt == retries:
            break
        time.sleep(wait)
        wait *= 2
    logger.warning(
        "tracerail: evaluation score of span %s not stored (%s): %s",
        body["span_id"],
        status or "no answer",
        detail,
    )
    return status


# --- the process-wide runner ------------------------------------------------------------

_lock = threading.Lock()
_runner: EvaluationRunner | None = None
_configured = False


def configure(
    evaluator: str | Evaluator | None, *, max_queue: int = DEFAULT_MAX_QUEUE
) -> EvaluationRunner | None:
    """Use ``evaluator`` (a name, an evaluator object, ``"off"`` or None for none) from now on.

    The previous runner is drained and stopped first. Returns the new runner.
    """
    global _runner, _configured
    with _lock:
        old, _runner = _runner, None
        _configured = True
        if evaluator is not None and evaluator != EVALUATOR_OFF:
            _runner = EvaluationRunner(evaluator, max_queue=max_queue)
        runner = _runner
    if old is not None:
        old.shutdown()
    return runner


def _current() -> EvaluationRunner | None:
    global _runner, _configured
    with _lock:
        if not _configured:  # before init(): the environment's or the default evaluator
            from tracerail.runtime import get_config

            _configured = True
            name = get_config().evaluator
            _runner = None if name == EVALUATOR_OFF else EvaluationRunner(name)
        return _runner


def submit(
    span_context: SpanContext,
    answer: str,
    sources: Sequence[str],
    *,
    question: str | None = None,
    response_id: str | None = None,
    judge: Callable[[str, Sequence[str]], Any] | None = None,
) -> bool:
    """Queue the evaluation of a generation; never blocks, never raises."""
    if in_evaluation() or not span_context.is_valid:
        return False
    try:
        runner = _current()
        if runner is None:
            return False
        job = Job(answer, tuple(sources), span_context, question, response_id, judge, current_ids())
        return runner.submit(job)
    except Exception:
        logger.exception("tracerail: could not queue an evaluation")
        return False


def flush(timeout: float | None = None) -> bool:
    """Wait for queued evaluations to be recorded; False on timeout."""
    runner = _runner
    return True if runner is None else runner.flush(timeout)


def shutdown(timeout: float = _SHUTDOWN_TIMEOUT_S) -> bool:
    """Drain and stop the runner (a later submit starts a fresh one from the config)."""
    global _runner, _configured
    with _lock:
        runner, _runner = _runner, None
        _configured = False
    return True if runner is None else runner.shutdown(timeout)


def stats() -> dict[str, Any]:
    """The current runner's evaluator and counters (submitted, dropped, evaluated, ...)."""
    runner = _runner
    if runner is None:
        return {"evaluator": None, **Stats().as_dict()}
    return {"evaluator": runner.name, **runner.stats.as_dict()}

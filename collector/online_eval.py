"""The online evaluator: scores stored generations that have sources, in the background.

One daemon thread per collector (started and stopped by the app's lifespan) repeatedly reads a
small batch of pending generations (:mod:`tracerail.collector.store.online_eval`): generation
spans with an answer, in a trace with a retrieval span, that have no ``hallucination`` score
from the configured evaluator name and version. For each it gathers the answer, the question
and the source texts of the trace's retrieval spans that started before the generation ended
(:mod:`~tracerail.collector.eval_inputs`), runs the evaluator and writes the scores of the
batch through the same path as every other score
(:func:`~tracerail.collector.store.hallucination_stats.write_scores`), so the pre-aggregated
hallucination counts stay exact.

It gives way to ingest: it is rate-limited (``online_eval_rate_per_second``), reads
``online_eval_batch_size`` generations at a time, runs at a lower OS priority (nice +10, on
Linux), holds no ingest lock (only the score writer's own lock, for the insert), and waits
while ingest is busy (``busy()``: the app passes "more than YIELD_BACKLOG_SPANS spans accepted
and not yet inserted"), because its queries share the store's client with ingest's inserts
(with embedded chDB, calls on the one handle are serialized).

Restarts: "already scored" is read from ``scores`` (evaluator and version columns), so a
restarted collector resumes where it stopped and never scores a generation twice; score ids
are derived from (project, span, evaluator, version) and each batch is inserted with a dedup
token, so even a batch written twice adds nothing. The cursor over ingest order lives in
memory: after a restart the worker walks the lookback window again, skipping what is scored.
Generations without source texts or an answer, a judge's own calls (``llm-judge``), and those
the evaluator failed on, are counted and passed over (retried only after a restart).
"""

from __future__ import annotations

import hashlib
import logging
import os
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Final

from tracerail import semconv
from tracerail.collector.eval_inputs import answer_text, question_text, sources_for
from tracerail.collector.insert import dedup_settings
from tracerail.collector.scores import (
    MAX_COMMENT,
    append_score,
    empty_score_columns,
    validate,
)
from tracerail.collector.store import online_eval as queries
from tracerail.collector.store.hallucination_stats import write_scores

if TYPE_CHECKING:
    from tracerail.collector.settings import Settings
    from tracerail.collector.store.clickhouse import ClickHouseStore
    from tracerail.guardrails.evaluators import Evaluation, Evaluator

logger = logging.getLogger("tracerail.collector")

# How often the pending count is recomputed (it reads the whole lookback window).
PENDING_EVERY_SECONDS: Final = 30.0
# Ingest is "busy" with more spans than this accepted and not yet inserted: the worker waits.
YIELD_BACKLOG_SPANS: Final = 5_000
NICE: Final = 10


def score_id(project: str, span_id: str, evaluator: str, version: str) -> str:
    """The same id for the same generation and evaluator version, on every run."""
    key = f"online-eval\0{project}\0{span_id}\0{evaluator}\0{version}"
    return hashlib.sha256(key.encode()).hexdigest()[:32]


def score_source(evaluation: Evaluation) -> str:
    """``judge`` for prompted evaluators (they carry a prompt hash), else ``auto``; an
    evaluator may name its source in ``extra["source"]`` (as in the SDK)."""
    explicit = evaluation.extra.get("source")
    if explicit in semconv.SCORE_SOURCES and explicit != "human":
        return str(explicit)
    return "judge" if evaluation.prompt_sha256 else "auto"


@dataclass
class Progress:
    """What ``GET /api/v1/evaluators`` shows of the worker."""

    evaluator: str
    version: str
    enabled: bool = True
    running: bool = False
    scored: int = 0  # written by this worker since it started
    scored_total: int | None = None  # generations holding a score of this version (any writer)
    pending: int | None = None
    pending_at: str | None = None
    skipped: int = 0  # passed over: no source text, no answer, or a judge's own call
    errors: int = 0
    yielded: int = 0  # passes put off because ingest was busy
    last_error: str | None = None
    last_run: str | None = None
    last_scored: str | None = None
    rate_limit_per_second: float = 0.0
    batch_size: int = 0

    def as_dict(self) -> dict[str, Any]:
        return dict(vars(self))


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


class OnlineEvaluator:
    """The worker thread; :meth:`start` / :meth:`stop` from the app's lifespan."""

    def __init__(
        self,
        store: ClickHouseStore,
        evaluator: Evaluator,
        *,
        rate_per_second: float,
        batch_size: int,
        interval_seconds: float = 1.0,
        lookback_hours: int = 168,
        settle_seconds: float = 2.0,
        busy: Callable[[], bool] | None = None,
    ) -> None:
        if rate_per_second <= 0 or batch_size < 1:
            raise ValueError("rate_per_second must be > 0 and batch_size >= 1")
        self.store = store
        self.evaluator = evaluator
        self.rate = rate_per_second
        self.batch_size = batch_size
        self.interval = interval_seconds
        self.lookback_hours = lookback_hours
        self.settle_ms = int(settle_seconds * 1000)
        self.busy = busy or (lambda: False)
        self.cursor: queries.Cursor = queries.START
        self.progress = Progress(
            evaluator.name,
            evaluator.version,
            rate_limit_per_second=rate_per_second,
            batch_size=batch_size,
        )
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._next_slot = 0.0
        self._pending_checked = 0.0
        self._recent: deque[float] = deque(maxlen=256)

    @classmethod
    def from_settings(
        cls,
        store: ClickHouseStore,
        settings: Settings,
        busy: Callable[[], bool] | None = None,
    ) -> OnlineEvaluator:
        """The worker configured by ``online_eval_*`` settings (builds the evaluator).

        ``online_eval_evaluator`` is a registered name (``heuristic``, ``nli``, ...) or the
        ``"package.module:Class"`` path of an evaluator built without arguments.
        """
        from tracerail.guardrails.evaluators import get_evaluator, register_evaluator

        name = settings.online_eval_evaluator
        if ":" in name:
            register_evaluator(name, name)
        return cls(
            store,
            get_evaluator(name),
            rate_per_second=settings.online_eval_rate_per_second,
            batch_size=settings.online_eval_batch_size,
            interval_seconds=settings.online_eval_interval_seconds,
            lookback_hours=settings.online_eval_lookback_hours,
            settle_seconds=settings.online_eval_settle_seconds,
            busy=busy,
        )

    # --- lifecycle ---------------------------------------------------------------------------
    def start(self) -> None:
        if self._thread is not None:
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="tracerail-online-eval", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        """Ask the worker to stop and wait for it (it finishes the evaluation under way)."""
        self._stop.set()
        thread, self._thread = self._thread, None
        if thread is not None:
            thread.join(timeout)
            if thread.is_alive():
                logger.warning("online evaluator did not stop within %.0f s", timeout)

    def snapshot(self) -> dict[str, Any]:
        """Progress as a JSON-ready dict, with the observed scoring rate of the last minute."""
        with self._lock:
            out = self.progress.as_dict()
            now = time.monotonic()
            recent = [t for t in self._recent if now - t <= 60.0]
        span = (now - recent[0]) if len(recent) > 1 else 0.0
        out["rate_per_second"] = round((len(recent) - 1) / span, 3) if span > 0 else 0.0
        return out

    def _run(self) -> None:
        _lower_priority()
        with self._lock:
            self.progress.running = True
        try:
            while not self._stop.is_set():
                if self.busy():  # ingest first: its inserts share the store with our queries
                    with self._lock:
                        self.progress.yielded += 1
                    self._stop.wait(self.interval)
                    continue
                try:
                    done = self.run_once()
                except Exception as exc:  # storage down, a bad row: log, back off, go on
                    logger.warning("online evaluator pass failed: %s", exc)
                    with self._lock:
                        self.progress.errors += 1
                        self.progress.last_error = str(exc)[:500]
                    done = 0
                if not done:
                    self._stop.wait(self.interval)
        finally:
            with self._lock:
                self.progress.running = False

    # --- one pass ------------------------------------------------------------------------------
    def run_once(self) -> int:
        """Evaluate one batch of pending generations; returns how many were passed over."""
        name, version = self.evaluator.name, self.evaluator.version
        self._refresh_counts()
        candidates = queries.pending(
            self.store,
            name,
            version,
            self.cursor,
            limit=self.batch_size,
            lookback_hours=self.lookback_hours,
            settle_ms=self.settle_ms,
        )
        with self._lock:
            self.progress.last_run = _now()
        if not candidates:
            return 0
        by_trace = queries.retrievals(self.store, candidates, lookback_hours=self.lookback_hours)
        columns = empty_score_columns()
        cursor = self.cursor
        for candidate in candidates:
            if self._stop.is_set() or self.busy():
                break
            self._evaluate_into(columns, candidate, by_trace)
            cursor = candidate.cursor
        written = len(columns["score_id"])
        if written:
            token = hashlib.sha256("\0".join(columns["score_id"]).encode()).hexdigest()
            write_scores(self.store, columns, settings=dedup_settings(f"online-eval-{token}"))
        self.cursor = cursor
        with self._lock:
            self.progress.scored += written
            if written:
                self.progress.last_scored = _now()
        return len(candidates)

    def _evaluate_into(
        self,
        columns: dict[str, list[Any]],
        candidate: queries.Candidate,
        by_trace: dict[tuple[str, str], list[queries.Retrieval]],
    ) -> None:
        sources = sources_for(candidate, by_trace.get((candidate.project, candidate.trace_id), []))
        answer = answer_text(candidate.output)
        if not sources or not answer:
            with self._lock:
                self.progress.skipped += 1
            return
        self._wait_for_slot()
        try:
            evaluation = self.evaluator.evaluate(
                answer, sources, question=question_text(candidate.input)
            )
            score = validate(
                semconv.SCORE_HALLUCINATION,
                float(evaluation.score),
                data_type="numeric",
                source=score_source(evaluation),
                label=evaluation.label[:200],
                comment=evaluation.explanation[:MAX_COMMENT],
                observation_kind=candidate.span.observation_kind,
                evaluator=self.evaluator.name,
                evaluator_version=self.evaluator.version,
                prompt_sha256=evaluation.prompt_sha256,
            )
        except Exception as exc:  # an evaluator failing on one answer (InvalidScore too)
            logger.warning("online evaluator: span %s not scored: %s", candidate.span_id, exc)
            with self._lock:
                self.progress.errors += 1
                self.progress.last_error = f"span {candidate.span_id}: {exc}"[:500]
            return
        append_score(
            columns,
            candidate.project,
            candidate.trace_id,
            candidate.span_id,
            score,
            candidate.span,
            score_id(
                candidate.project, candidate.span_id, self.evaluator.name, self.evaluator.version
            ),
        )
        with self._lock:
            self._recent.append(time.monotonic())

    def _wait_for_slot(self) -> None:
        """Block until the rate limit allows the next evaluation (or the worker stops)."""
        now = time.monotonic()
        slot = max(self._next_slot, now)
        self._next_slot = slot + 1.0 / self.rate
        if slot > now:
            self._stop.wait(slot - now)

    def _refresh_counts(self) -> None:
        now = time.monotonic()
        if self._pending_checked and now - self._pending_checked < PENDING_EVERY_SECONDS:
            return
        self._pending_checked = now
        name, version = self.evaluator.name, self.evaluator.version
        pending = queries.count_pending(
            self.store,
            name,
            version,
            lookback_hours=self.lookback_hours,
            settle_ms=self.settle_ms,
        )
        scored_total = queries.count_scored(self.store, name, version)
        with self._lock:
            self.progress.pending = pending
            self.progress.pending_at = _now()
            self.progress.scored_total = scored_total

    def drain(self, max_passes: int = 10_000) -> int:
        """Run passes until one finds nothing pending (for tests and benchmarks)."""
        for count in range(1, max_passes + 1):
            if not self.run_once():
                return count
        return max_passes


def _lower_priority() -> None:
    """Nice this thread (Linux: a thread is a task with its own priority); best effort."""
    try:
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), NICE)
    except (AttributeError, OSError):
        logger.debug("online evaluator: could not lower its priority", exc_info=True)


def disabled_progress(settings: Settings) -> dict[str, Any]:
    """What the API shows when the online evaluator is off."""
    return {
        "evaluator": settings.online_eval_evaluator,
        "enabled": False,
        "running": False,
    }

"""The evaluator interface and the lazy registry of evaluators by name.

An evaluator is pure: answer + sources (+ optional question) in, :class:`Evaluation` out.
It never writes anything; the SDK and the collector's online evaluator turn an
:class:`Evaluation` into a score record (``gen_ai.evaluation.result``). Import these names
from :mod:`tracerail.guardrails.evaluators`, whose ``__all__`` is the public surface.
"""

from __future__ import annotations

import importlib
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Final, Protocol, runtime_checkable

DEFAULT_EVALUATOR: Final = "heuristic"
# An answer whose hallucination score is at least this is labelled hallucinated.
DEFAULT_THRESHOLD: Final = 0.5
LABEL_GROUNDED: Final = "grounded"
LABEL_HALLUCINATED: Final = "hallucinated"


def label_for(score: float, threshold: float = DEFAULT_THRESHOLD) -> str:
    """The label of a hallucination ``score``: hallucinated when it reaches ``threshold``."""
    return LABEL_HALLUCINATED if score >= threshold else LABEL_GROUNDED


class EvaluatorError(Exception):
    """An evaluator could not be found, loaded or configured (never raised from evaluate)."""


@dataclass(frozen=True, slots=True)
class ClaimVerdict:
    """One claim of the answer: its character span, support in 0..1, and its best evidence.

    ``source_index`` is the index into the ``sources`` given to the evaluator of the source
    that best supports (or contradicts) the claim, or ``None`` when nothing matched.
    """

    start: int
    end: int
    support: float
    source_index: int | None = None
    reason: str = ""


@dataclass(frozen=True, slots=True)
class Evaluation:
    """The result of one evaluation.

    ``score`` is the hallucination score in 0..1 (1 = certainly not supported by the
    sources); ``label`` is :data:`LABEL_HALLUCINATED` when ``score >= threshold`` else
    :data:`LABEL_GROUNDED`. ``evaluator``/``version`` name what produced it and
    ``prompt_sha256`` the prompt of prompted evaluators ("" otherwise).
    """

    score: float
    label: str
    explanation: str
    evaluator: str
    version: str
    prompt_sha256: str = ""
    claims: tuple[ClaimVerdict, ...] = ()
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def hallucinated(self) -> bool:
        return self.label == LABEL_HALLUCINATED


@runtime_checkable
class Evaluator(Protocol):
    """Scores how far ``answer`` is supported by ``sources``."""

    name: str
    version: str

    def evaluate(
        self, answer: str, sources: Sequence[str], *, question: str | None = None
    ) -> Evaluation: ...


Factory = Callable[..., Evaluator]

_BUILTIN: Final[dict[str, str]] = {
    "heuristic": "tracerail.guardrails.evaluators.heuristic:HeuristicEvaluator",
    "nli": "tracerail.guardrails.evaluators.nli:NliEvaluator",
    "llm-judge": "tracerail.guardrails.evaluators.llm_judge:LlmJudgeEvaluator",
}
_registry: dict[str, str | Factory] = dict(_BUILTIN)
_lock = threading.Lock()


def register_evaluator(name: str, factory: str | Factory) -> None:
    """Add an evaluator under ``name``: a factory or a ``"module:attribute"`` path."""
    if not name:
        raise EvaluatorError("an evaluator needs a name")
    with _lock:
        _registry[name] = factory


def evaluator_names() -> list[str]:
    """The names :func:`get_evaluator` accepts, sorted."""
    with _lock:
        return sorted(_registry)


def get_evaluator(name: str = DEFAULT_EVALUATOR, **options: Any) -> Evaluator:
    """Build the evaluator registered as ``name`` with ``options`` (keyword arguments)."""
    with _lock:
        factory = _registry.get(name)
    if factory is None:
        raise EvaluatorError(f"unknown evaluator {name!r}; known: {', '.join(evaluator_names())}")
    if isinstance(factory, str):
        module, _, attr = factory.partition(":")
        try:
            factory = getattr(importlib.import_module(module), attr)
        except ImportError as exc:
            raise EvaluatorError(
                f"evaluator {name!r} needs a package that is not installed ({exc.name})"
            ) from exc
    assert not isinstance(factory, str)
    try:
        return factory(**options)
    except TypeError as exc:
        raise EvaluatorError(f"evaluator {name!r}: {exc}") from exc

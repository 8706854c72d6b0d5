"""``nli``: an NLI / factual-consistency model through ``transformers`` (extra ``[nli]``).

::

    evaluator = get_evaluator("nli", model="/models/nli-deberta-v3-base")   # or a hub id

Each claim of the answer (its sentences, :func:`tracerail.guardrails.grounding.split_claims`) is
the hypothesis; the premise is the sources joined (when they fit the model's input) and each
source on its own. A claim's support is the best entailment probability over those premises;
the answer's hallucination score is ``1 - `` the weakest claim's support, ``hallucinated`` at
``threshold`` or above.

Which output is "entailment" comes from the model config's ``id2label`` (labels named like
``entailment``/``contradiction``/``neutral``, or ``consistent``/``hallucinated``), or from
``entailment_label=`` when the names say nothing (``LABEL_0``...). A model with a single logit
is read as a consistency probability (sigmoid). Models that ship their own ``predict(pairs)``
with remote code (Vectara HHEM-2.1-Open, ``trust_remote_code=True``) are scored through it.

``torch`` and ``transformers`` are imported when the evaluator is built, never at import. The
model is loaded once per evaluator; weights are never downloaded when ``model`` is a local
directory. See docs/evaluators.md for the models, how to install their weights, and their
published accuracy.
"""

from __future__ import annotations

import math
import os
import threading
from collections.abc import Sequence
from typing import Any, Final

from tracerail import semconv
from tracerail.guardrails.evaluators.base import (
    DEFAULT_THRESHOLD,
    ClaimVerdict,
    Evaluation,
    EvaluatorError,
    label_for,
)
from tracerail.guardrails.grounding import split_claims

__all__ = ["DEFAULT_MODEL", "ENV_NLI_MODEL", "NliEvaluator", "label_roles"]

NAME: Final = "nli"
VERSION: Final = "1.0"
# A 3-way NLI cross-encoder (contradiction / entailment / neutral) on DeBERTa-v3; no remote code.
DEFAULT_MODEL: Final = "cross-encoder/nli-deberta-v3-base"
ENV_NLI_MODEL: Final = semconv.ENV_NLI_MODEL

_ENTAIL_NAMES: Final = ("entail", "consistent", "supported", "faithful", "grounded")
_CONTRA_NAMES: Final = ("contradict", "inconsist", "hallucinat", "unsupported", "refute")
_NEUTRAL_NAMES: Final = ("neutral",)


def label_roles(id2label: dict[int, str]) -> dict[str, int]:
    """Indices of the ``entailment`` (and, if present, ``contradiction``/``neutral``) outputs.

    Raises :class:`EvaluatorError` when no label name says which output is entailment.
    """
    roles: dict[str, int] = {}
    for index, raw in sorted(id2label.items()):
        name = str(raw).strip().lower().replace(" ", "_").replace("-", "_")
        # Negative classes first: "not_entailment", "inconsistent", "unsupported".
        if name.startswith(("not_", "non_", *_CONTRA_NAMES)):
            roles.setdefault("contradiction", int(index))
        elif name.startswith(_ENTAIL_NAMES):
            roles.setdefault("entailment", int(index))
        elif name.startswith(_NEUTRAL_NAMES):
            roles.setdefault("neutral", int(index))
    if "entailment" not in roles:
        names = ", ".join(f"{i}={n}" for i, n in sorted(id2label.items()))
        raise EvaluatorError(
            f"nli: cannot tell which output is entailment from id2label ({names}); "
            "pass entailment_label= (an index or a label name)"
        )
    return roles


class NliEvaluator:
    """Groundedness from an NLI / factual-consistency cross-encoder.

    ``model``: a local directory (``save_pretrained`` layout) or a hub id; default
    ``TRACERAIL_NLI_MODEL`` or :data:`DEFAULT_MODEL`. ``device``: ``"cpu"`` (default),
    ``"cuda"``... ``max_length``: tokens per (premise, claim) pair; the premise is cut first.
    ``entailment_label``: which output means "supported" when ``id2label`` does not say.
    ``trust_remote_code``: needed by models with their own code (HHEM); it runs that code.
    """

    name = NAME

    def __init__(
        self,
        *,
        model: str | None = None,
        device: str = "cpu",
        max_length: int = 512,
        batch_size: int = 8,
        threshold: float = DEFAULT_THRESHOLD,
        entailment_label: str | int | None = None,
        trust_remote_code: bool = False,
        revision: str | None = None,
    ) -> None:
        try:
            import torch
            from transformers import AutoModelForSequenceClassification, AutoTokenizer
        except ImportError as exc:
            raise EvaluatorError(
                f"nli needs torch and transformers (pip install 'tracerail[nli]'): {exc}"
            ) from exc
        self.model_id = model or os.environ.get(ENV_NLI_MODEL) or DEFAULT_MODEL
        local = os.path.isdir(self.model_id)
        options: dict[str, Any] = {"trust_remote_code": trust_remote_code}
        if revision:
            options["revision"] = revision
        if local:
            options["local_files_only"] = True
        try:
            self._model = AutoModelForSequenceClassification.from_pretrained(
                self.model_id, **options
            )
            self._tokenizer: Any = None
            if not (trust_remote_code and callable(getattr(self._model, "predict", None))):
                self._tokenizer = AutoTokenizer.from_pretrained(self.model_id, **options)
        except (OSError, ValueError) as exc:
            raise EvaluatorError(f"nli: cannot load model {self.model_id!r}: {exc}") from exc
        self._torch = torch
        self._device = device
        self._model.to(device)
        self._model.eval()
        self.max_length = max_length
        self.batch_size = max(1, batch_size)
        self.threshold = threshold
        config = self._model.config
        self.num_labels = int(getattr(config, "num_labels", 0) or 0)
        self.roles: dict[str, int] = {}
        if self._tokenizer is not None and self.num_labels > 1:
            if entailment_label is None:
                self.roles = label_roles(dict(config.id2label))
            else:
                self.roles = {"entailment": self._index_of(entailment_label, config.id2label)}
        label = os.path.basename(os.path.normpath(self.model_id)) if local else self.model_id
        commit = getattr(config, "_commit_hash", None)
        self.version = f"{VERSION}+{label}" + (f"@{commit[:12]}" if commit else "")
        self._lock = threading.Lock()

    def _index_of(self, label: str | int, id2label: dict[int, str]) -> int:
        if isinstance(label, int):
            if label not in id2label:
                raise EvaluatorError(f"nli: no output {label} (model has {len(id2label)})")
            return label
        for index, name in id2label.items():
            if str(name).lower() == label.lower():
                return int(index)
        raise EvaluatorError(f"nli: no label {label!r} in {sorted(id2label.values())}")

    # --- scoring -----------------------------------------------------------------------------

    def entailment(self, pairs: Sequence[tuple[str, str]]) -> list[float]:
        """P(premise entails hypothesis) in 0..1 for each (premise, hypothesis) pair."""
        if not pairs:
            return []
        with self._lock, self._torch.inference_mode():
            if self._tokenizer is None:  # the model's own predict (HHEM): consistency scores
                scores = self._model.predict(list(pairs))
                return [float(s) for s in scores]
            out: list[float] = []
            for start in range(0, len(pairs), self.batch_size):
                chunk = pairs[start : start + self.batch_size]
                encoded = self._tokenizer(
                    [p for p, _ in chunk],
                    [h for _, h in chunk],
                    truncation="only_first",
                    max_length=self.max_length,
                    padding=True,
                    return_tensors="pt",
                ).to(self._device)
                logits = self._model(**encoded).logits.float()
                if logits.shape[-1] == 1:
                    probs = self._torch.sigmoid(logits[:, 0])
                else:
                    probs = self._torch.softmax(logits, dim=-1)[:, self.roles["entailment"]]
                out.extend(float(p) for p in probs.cpu().tolist())
            return out

    def _fits(self, premise: str, claim: str) -> bool:
        if self._tokenizer is None:
            return True
        ids = self._tokenizer(premise, claim, truncation=False)["input_ids"]
        return len(ids) <= self.max_length

    def evaluate(
        self, answer: str, sources: Sequence[str], *, question: str | None = None
    ) -> Evaluation:
        """Score ``answer`` against ``sources``. Never raises (failures: ``error`` label)."""
        try:
            return self._evaluate(answer, sources)
        except Exception as exc:
            return Evaluation(
                score=0.5,
                label="error",
                explanation=f"nli failed: {type(exc).__name__}: {exc}"[:4000],
                evaluator=self.name,
                version=self.version,
                extra={"error": type(exc).__qualname__, "model": self.model_id},
            )

    def _evaluate(self, answer: str, sources: Sequence[str]) -> Evaluation:
        claims = split_claims(answer)
        texts = [s.strip() for s in sources if s and s.strip()]
        if not claims:
            return self._result(0.0, "the answer makes no claim", ())
        if not texts:
            verdicts = tuple(ClaimVerdict(lo, hi, 0.0, None, "no sources") for _, lo, hi in claims)
            return self._result(1.0, "no sources: no claim can be supported", verdicts)
        joined = " ".join(texts)
        pairs: list[tuple[str, str]] = []
        owners: list[tuple[int, int | None]] = []  # (claim index, source index or None: joined)
        for c, (claim, _, _) in enumerate(claims):
            premises: list[tuple[str, int | None]] = [(t, i) for i, t in enumerate(texts)]
            if len(texts) > 1 and self._fits(joined, claim):
                premises.append((joined, None))
            for premise, owner in premises:
                pairs.append((premise, claim))
                owners.append((c, owner))
        probabilities = self.entailment(pairs)
        best: list[tuple[float, int | None]] = [(0.0, None)] * len(claims)
        by_source: list[tuple[float, int | None]] = [(-1.0, None)] * len(claims)
        for (c, owner), p in zip(owners, probabilities, strict=True):
            p = min(1.0, max(0.0, p)) if math.isfinite(p) else 0.0
            if p > best[c][0]:
                best[c] = (p, owner)
            if owner is not None and p > by_source[c][0]:
                by_source[c] = (p, owner)
        verdicts = tuple(
            ClaimVerdict(
                start=lo,
                end=hi,
                support=round(best[c][0], 6),
                source_index=best[c][1] if best[c][1] is not None else by_source[c][1],
                reason="entailed" if best[c][0] >= 0.5 else "not entailed",
            )
            for c, (_, lo, hi) in enumerate(claims)
        )
        weakest = min(verdicts, key=lambda v: v.support)
        score = round(1.0 - weakest.support, 6)
        unsupported = [v for v in verdicts if v.support < 1.0 - self.threshold]
        if unsupported:
            spans = ", ".join(f"[{v.start}:{v.end}] {v.support:.2f}" for v in unsupported)
            explanation = (
                f"{len(unsupported)} of {len(verdicts)} claims not entailed "
                f"(entailment probability): {spans}"
            )
        else:
            explanation = f"all {len(verdicts)} claims entailed (lowest {weakest.support:.2f})"
        return self._result(score, explanation, verdicts)

    def _result(
        self, score: float, explanation: str, claims: tuple[ClaimVerdict, ...]
    ) -> Evaluation:
        return Evaluation(
            score=score,
            label=label_for(score, self.threshold),
            explanation=explanation[:4000],
            evaluator=self.name,
            version=self.version,
            claims=claims,
            extra={"model": self.model_id},
        )

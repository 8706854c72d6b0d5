"""``llm-judge``: the user's own OpenAI or Anthropic client judges each claim of the answer.

::

    from tracerail.guardrails.evaluators import get_evaluator

    judge = get_evaluator("llm-judge", client=openai.OpenAI(), model="gpt-4o-mini")
    evaluation = judge.evaluate(answer, sources, question=question)

The answer is split into claims (its sentences, as
:func:`tracerail.guardrails.grounding.split_claims` splits them). The judge gets the numbered
sources and claims and must answer with one JSON object: a verdict per claim (``supported``,
``unsupported`` or ``contradicted``), the number of the source and the source sentence that
supports or contradicts it. The prompt is versioned (:data:`PROMPT_VERSION`,
:data:`SYSTEM_PROMPT`, :data:`USER_TEMPLATE`) and its SHA-256 (:data:`PROMPT_SHA256`) is
recorded on every :class:`Evaluation`.

Robustness: every request has a ``timeout``; a failed request or an answer that is not the JSON
asked for is retried (``retries`` times); after that the evaluation is ``unparseable`` (or
``error`` for a request that kept failing) with the reason in ``explanation`` and ``extra`` —
:meth:`LlmJudgeEvaluator.evaluate` never raises. The judge's calls go through tracerail's own
instrumentation (a span per call with tokens and cost; guardrails off) and are marked as an
evaluator's calls (:func:`tracerail.evaluation.evaluating`), so they are never judged
themselves. Neither ``openai`` nor ``anthropic`` is imported by this module: the client's
package is recognised from its type.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Final

from tracerail.guardrails.evaluators.base import (
    LABEL_GROUNDED,
    LABEL_HALLUCINATED,
    ClaimVerdict,
    Evaluation,
    EvaluatorError,
    label_for,
)
from tracerail.guardrails.grounding import split_claims

__all__ = [
    "LABEL_ERROR",
    "LABEL_UNPARSEABLE",
    "PROMPT_SHA256",
    "PROMPT_VERSION",
    "SYSTEM_PROMPT",
    "USER_TEMPLATE",
    "LlmJudgeEvaluator",
    "parse_verdicts",
    "render_prompt",
]

logger = logging.getLogger("tracerail")

NAME: Final = "llm-judge"
VERSION: Final = "1.0"
PROMPT_VERSION: Final = "groundedness-claims-v1"
# The judge answered, but never with the JSON asked for; or no request succeeded.
LABEL_UNPARSEABLE: Final = "unparseable"
LABEL_ERROR: Final = "error"

SYSTEM_PROMPT: Final = """\
You check whether an answer is supported by the sources it was given. You judge each claim \
of the answer on its own, using only the sources: not your own knowledge.

For each claim give one verdict:
- "supported": the sources state it, possibly in other words, units or formats \
(e.g. "220 minutes" for "3 h 40 min"), or it follows directly from several sources together. \
A claim that the sources do not say something is supported when they indeed do not say it.
- "contradicted": a source states something incompatible with it (another number, date, \
entity, a negation, swapped roles).
- "unsupported": the sources neither state nor contradict it (an added detail, an \
overgeneralisation, a citation that is not there).

Answer with one JSON object and nothing else, in exactly this shape:
{"claims": [{"id": <claim number>, "verdict": "supported" | "unsupported" | "contradicted", \
"source": <number of the source that supports or contradicts it, or null>, \
"evidence": "<that source's sentence, copied exactly, or empty>", \
"reason": "<at most one short sentence>"}]}
Give exactly one entry per claim, in order."""

USER_TEMPLATE: Final = """\
{question_block}Sources:
{sources}

Answer, split into claims:
{claims}

Judge every claim. Reply with the JSON object only."""


def _prompt_sha256() -> str:
    text = "\n".join((PROMPT_VERSION, SYSTEM_PROMPT, USER_TEMPLATE))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


PROMPT_SHA256: Final = _prompt_sha256()

_VERDICTS: Final = {"supported": 1.0, "unsupported": 0.0, "contradicted": 0.0}
_FENCE = re.compile(r"^```(?:json)?\s*|\s*```$", re.IGNORECASE)


def render_prompt(
    claims: Sequence[str], sources: Sequence[str], question: str | None = None
) -> str:
    """The user message for ``claims`` (numbered from 1) and ``sources`` (numbered from 1)."""
    question_block = f"Question: {question.strip()}\n\n" if question and question.strip() else ""
    return USER_TEMPLATE.format(
        question_block=question_block,
        sources="\n".join(f"[{i}] {text.strip()}" for i, text in enumerate(sources, 1)),
        claims="\n".join(f"C{i}: {text}" for i, text in enumerate(claims, 1)),
    )


@dataclass(frozen=True, slots=True)
class _Verdict:
    verdict: str
    source: int | None
    evidence: str
    reason: str


class UnparseableVerdict(ValueError):
    """The judge's text is not the JSON the prompt asks for; the message says how."""


def _json_object(text: str) -> Any:
    stripped = _FENCE.sub("", text.strip())
    try:
        return json.loads(stripped)
    except ValueError:
        pass
    start, end = stripped.find("{"), stripped.rfind("}")
    if start < 0 or end <= start:
        raise UnparseableVerdict("no JSON object in the judge's answer")
    try:
        return json.loads(stripped[start : end + 1])
    except ValueError as exc:
        raise UnparseableVerdict(f"invalid JSON: {exc}") from None


def parse_verdicts(text: str, n_claims: int, n_sources: int) -> list[_Verdict]:
    """One verdict per claim from the judge's answer; raises :class:`UnparseableVerdict`."""
    data = _json_object(text)
    items = data.get("claims") if isinstance(data, dict) else None
    if not isinstance(items, list):
        raise UnparseableVerdict('expected an object with a "claims" list')
    found: dict[int, _Verdict] = {}
    for position, item in enumerate(items, 1):
        if not isinstance(item, dict):
            raise UnparseableVerdict(f"claims[{position - 1}] is not an object")
        ident = item.get("id", position)
        if isinstance(ident, str):
            ident = ident.strip().lstrip("Cc")
        try:
            number = int(ident)
        except (TypeError, ValueError):
            raise UnparseableVerdict(f"claims[{position - 1}]: bad id {ident!r}") from None
        verdict = str(item.get("verdict", "")).strip().lower()
        if verdict not in _VERDICTS:
            raise UnparseableVerdict(f"claim {number}: unknown verdict {verdict!r}")
        source = item.get("source")
        index: int | None = None
        if isinstance(source, int | str) and str(source).strip().strip("[]").isdigit():
            index = int(str(source).strip().strip("[]"))
            if not 1 <= index <= n_sources:
                index = None
        found[number] = _Verdict(
            verdict, index, str(item.get("evidence") or ""), str(item.get("reason") or "")
        )
    missing = [i for i in range(1, n_claims + 1) if i not in found]
    if missing:
        raise UnparseableVerdict(f"no verdict for claim(s) {', '.join(map(str, missing))}")
    return [found[i] for i in range(1, n_claims + 1)]


def _provider(client: object) -> str:
    """``openai`` or ``anthropic``, from the client's type (neither package is imported)."""
    kind = type(client)
    root = kind.__module__.split(".", 1)[0]
    if root not in ("openai", "anthropic"):
        raise EvaluatorError(
            "llm-judge needs an openai.OpenAI or anthropic.Anthropic client, "
            f"got {kind.__qualname__}"
        )
    if kind.__name__.startswith("Async"):
        raise EvaluatorError(
            f"llm-judge runs synchronously: pass a sync client, not {kind.__name__}"
        )
    return root


def _traced(provider: str, method: Callable[..., Any]) -> Callable[..., Any]:
    """``method`` through tracerail's instrumentation (span, tokens, cost; no guardrails).

    A client that is already instrumented (``tracerail.instrument``/``instrument_all``) is
    used as it is; otherwise only the judge's own calls are wrapped: the user's client object
    is not changed.
    """
    try:
        from tracerail.instrumentation import _targets
        from tracerail.instrumentation._pipeline import WRAPPED_MARK, Options

        if hasattr(method, WRAPPED_MARK):
            return method
        owner = type(getattr(method, "__self__", None))
        for target in _targets(provider):
            if target.owner is owner and target.method == getattr(method, "__name__", ""):
                return target.wrap(method, Options(guardrails=False))
    except Exception:
        logger.exception("tracerail: llm-judge calls will not be traced")
    return method


class LlmJudgeEvaluator:
    """Groundedness judged claim by claim by a chat model through the user's client.

    ``client`` is an ``openai.OpenAI`` or ``anthropic.Anthropic`` client; ``model`` the judge
    model. ``timeout`` (seconds) applies to each request; ``retries`` is how many more times a
    failed request or a malformed answer is tried. ``threshold``: an answer whose score is at
    least this is ``hallucinated``. ``version`` is ``"1.0+<model>"``: the judge model is part
    of what was validated.
    """

    name = NAME

    def __init__(
        self,
        *,
        client: Any = None,
        model: str | None = None,
        timeout: float = 30.0,
        retries: int = 2,
        max_tokens: int = 1024,
        threshold: float = 0.5,
    ) -> None:
        if client is None:
            raise EvaluatorError("llm-judge needs client= (your openai or anthropic client)")
        if not model:
            raise EvaluatorError("llm-judge needs model= (the judge model's name)")
        if timeout <= 0 or retries < 0 or max_tokens < 1:
            raise EvaluatorError("llm-judge: timeout > 0, retries >= 0, max_tokens >= 1")
        self.provider = _provider(client)
        self.model = model
        self.version = f"{VERSION}+{model}"
        self.timeout = timeout
        self.retries = retries
        self.max_tokens = max_tokens
        self.threshold = threshold
        self._client = client

    # --- one request --------------------------------------------------------------------------

    def _ask(self, user: str) -> str:
        from tracerail.evaluation import evaluating

        with evaluating():
            if self.provider == "openai":
                create = _traced("openai", self._client.chat.completions.create)
                response = create(
                    model=self.model,
                    messages=[
                        {"role": "system", "content": SYSTEM_PROMPT},
                        {"role": "user", "content": user},
                    ],
                    temperature=0,
                    max_tokens=self.max_tokens,
                    response_format={"type": "json_object"},
                    timeout=self.timeout,
                )
                choices = getattr(response, "choices", None) or []
                content = choices[0].message.content if choices else None
                return content if isinstance(content, str) else ""
            create = _traced("anthropic", self._client.messages.create)
            response = create(
                model=self.model,
                system=SYSTEM_PROMPT,
                messages=[{"role": "user", "content": user}],
                max_tokens=self.max_tokens,
                timeout=self.timeout,
            )
            blocks = getattr(response, "content", None) or []
            return "".join(
                str(getattr(b, "text", "")) for b in blocks if getattr(b, "type", "") == "text"
            )

    # --- the evaluation ------------------------------------------------------------------------

    def _result(self, **fields: Any) -> Evaluation:
        extra = {"model": self.model, "provider": self.provider, **fields.pop("extra", {})}
        return Evaluation(
            evaluator=self.name,
            version=self.version,
            prompt_sha256=PROMPT_SHA256,
            extra={"prompt_version": PROMPT_VERSION, **extra},
            **fields,
        )

    def evaluate(
        self, answer: str, sources: Sequence[str], *, question: str | None = None
    ) -> Evaluation:
        """Judge ``answer`` against ``sources``. Never raises."""
        claims = split_claims(answer)
        texts = [s for s in sources if s and s.strip()]
        if not claims:
            return self._result(
                score=0.0, label=LABEL_GROUNDED, explanation="the answer makes no claim"
            )
        if not texts:
            return self._result(
                score=1.0,
                label=LABEL_HALLUCINATED,
                explanation="no sources: no claim can be supported",
                claims=tuple(ClaimVerdict(lo, hi, 0.0, None, "no sources") for _, lo, hi in claims),
            )
        user = render_prompt([c for c, _, _ in claims], texts, question)
        problem = ""
        failed_requests = 0
        attempts = self.retries + 1
        for _attempt in range(attempts):
            try:
                reply = self._ask(user)
            except Exception as exc:  # timeouts, connection errors, API errors
                failed_requests += 1
                problem = f"request failed: {type(exc).__name__}: {exc}"[:500]
                logger.warning("tracerail: llm-judge %s", problem)
                continue
            try:
                verdicts = parse_verdicts(reply, len(claims), len(texts))
            except UnparseableVerdict as exc:
                problem = f"unparseable judge output: {exc}"
                logger.warning("tracerail: llm-judge %s", problem)
                continue
            return self._verdict(claims, verdicts, texts)
        label = LABEL_ERROR if failed_requests == attempts else LABEL_UNPARSEABLE
        return self._result(
            score=0.5,
            label=label,
            explanation=f"no verdict after {attempts} attempt(s); last: {problem}",
            extra={"error": label, "attempts": attempts},
        )

    def _verdict(
        self, claims: list[tuple[str, int, int]], verdicts: list[_Verdict], texts: list[str]
    ) -> Evaluation:
        judged = tuple(
            ClaimVerdict(
                start=lo,
                end=hi,
                support=_VERDICTS[v.verdict],
                source_index=None if v.source is None else v.source - 1,
                reason=f"{v.verdict}: {v.reason}".strip().rstrip(":"),
            )
            for (_, lo, hi), v in zip(claims, verdicts, strict=True)
        )
        bad = [(i, v) for i, v in enumerate(verdicts, 1) if v.verdict != "supported"]
        # Any claim not supported makes the answer hallucinated (score >= 0.5); the share of
        # such claims ranks answers among themselves.
        score = 0.0 if not bad else 0.5 + 0.5 * len(bad) / len(verdicts)
        label = label_for(score, self.threshold) if bad else LABEL_GROUNDED
        if bad:
            details = "; ".join(
                f"C{i} {v.verdict}" + (f" ({v.reason})" if v.reason else "") for i, v in bad
            )
            explanation = f"{len(bad)} of {len(verdicts)} claims not supported: {details}"
        else:
            explanation = f"all {len(verdicts)} claims supported by the sources"
        return self._result(score=score, label=label, explanation=explanation[:4000], claims=judged)

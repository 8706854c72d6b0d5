"""Human review: sample sizing and allocation, reviewer labels, and what a reviewer sees.

Pure functions, no storage (the store samples and counts: ``collector/store/review.py``).

Sizing: the sample size that estimates a proportion ``p`` to within ``margin`` at
``confidence`` is ``n0 = z² p(1 - p) / margin²`` (``z`` the two-sided normal quantile; ``p =
0.5`` is the worst case), corrected for a finite population of ``N`` generations:
``n = n0 / (1 + (n0 - 1) / N)``, rounded up. Every stratum (model x period) is sized on its own,
so each stratum's rate has the stated precision.

Labels: ``grounded`` and ``hallucinated`` become ``human`` scores named ``hallucination``
(0 and 1); ``unsure`` becomes a categorical ``human`` score named ``hallucination_review`` with
label ``unsure``, which no hallucination rate reads. Scores are append-only: an ``unsure``
after a decisive label does not withdraw it; a reviewer corrects a label by labelling again.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from statistics import NormalDist
from typing import Any, Final

from tracerail import semconv
from tracerail.collector.errors import InvalidInput

GROUNDED: Final = "grounded"
HALLUCINATED: Final = "hallucinated"
UNSURE: Final = "unsure"
LABELS: Final = (GROUNDED, HALLUCINATED, UNSURE)
# The score an ``unsure`` label is stored as (categorical, never counted in a rate).
SCORE_REVIEW: Final = "hallucination_review"
REVIEW_SCORES: Final = (semconv.SCORE_HALLUCINATION, SCORE_REVIEW)

PERIODS: Final = ("day", "week", "month", "all")
POPULATIONS: Final = ("sources", "scored", "all")
MAX_NOTE: Final = 4_000
MAX_REVIEWER: Final = 200


class InvalidLabel(InvalidInput):
    """A review label breaking a rule; the message starts with the field's name."""


# --- sizing -----------------------------------------------------------------------------------


def z_value(confidence: float) -> float:
    """The two-sided standard normal quantile for ``confidence`` (0.95 → 1.95996…)."""
    if not 0.0 < confidence < 1.0:
        raise ValueError("confidence: must be between 0 and 1")
    return NormalDist().inv_cdf(0.5 + confidence / 2)


def infinite_sample_size(margin: float, confidence: float = 0.95, p: float = 0.5) -> float:
    """``n0 = z² p(1 - p) / margin²`` (not rounded)."""
    if not 1e-6 <= margin < 1.0:
        raise ValueError("margin: must be at least 0.000001 and below 1")
    if not 0.0 < p < 1.0:
        raise ValueError("p: must be between 0 and 1")
    z = z_value(confidence)
    return z * z * p * (1 - p) / (margin * margin)


def sample_size(population: int, margin: float, confidence: float = 0.95, p: float = 0.5) -> int:
    """The items to label in a stratum of ``population`` items for ``margin`` at
    ``confidence``, finite-population corrected and rounded up (never more than the stratum)."""
    n0 = infinite_sample_size(margin, confidence, p)
    if population <= 0:
        return 0
    n = n0 / (1 + (n0 - 1) / population)
    # Round up, but not past a value that is an integer up to float noise (n0 = 400.0000001).
    return min(population, math.ceil(n - 1e-9))


def achieved_margin(
    labelled: int, population: int, confidence: float = 0.95, p: float = 0.5
) -> float | None:
    """The margin ``labelled`` random items of ``population`` buy:
    ``z * sqrt(p(1-p)/n * (N-n)/(N-1))``; 0 when every item is labelled, None when none is."""
    if labelled <= 0 or population <= 0:
        return None
    if labelled >= population:
        return 0.0
    z = z_value(confidence)
    fpc = (population - labelled) / (population - 1)
    return z * math.sqrt(p * (1 - p) / labelled * fpc)


@dataclass(frozen=True, slots=True)
class Stratum:
    """One model x period cell of the sample: its generations and how many to label."""

    model: str
    period_start: str  # ISO 8601 UTC, "" for period ``all``
    population: int
    sample_size: int


def allocate(
    populations: Sequence[tuple[str, str, int]],
    *,
    margin: float = 0.05,
    confidence: float = 0.95,
    p: float = 0.5,
    per_stratum: int | None = None,
) -> list[Stratum]:
    """Each ``(model, period_start, population)`` with its sample size: ``per_stratum`` items
    (capped at the population) when given, else :func:`sample_size` for ``margin``.
    Sorted by model, then period."""
    if per_stratum is not None and per_stratum < 1:
        raise ValueError("per_stratum: must be at least 1")
    out = []
    for model, period_start, population in sorted(populations):
        if per_stratum is not None:
            size = min(population, per_stratum)
        else:
            size = sample_size(population, margin, confidence, p)
        out.append(Stratum(model, period_start, population, size))
    return out


# --- labels -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ReviewLabel:
    """One reviewer's label on one generation span."""

    trace_id: str
    span_id: str
    label: str
    note: str = ""


@dataclass(frozen=True, slots=True)
class LabelScore:
    """What a label is stored as: a ``human`` score's name, value, data type and label."""

    name: str
    value: float
    data_type: str
    label: str


def label_score(label: str) -> LabelScore:
    """``grounded`` → hallucination 0, ``hallucinated`` → 1, ``unsure`` → categorical review."""
    if label == GROUNDED:
        return LabelScore(semconv.SCORE_HALLUCINATION, 0.0, "boolean", GROUNDED)
    if label == HALLUCINATED:
        return LabelScore(semconv.SCORE_HALLUCINATION, 1.0, "boolean", HALLUCINATED)
    if label == UNSURE:
        return LabelScore(SCORE_REVIEW, 0.0, "categorical", UNSURE)
    raise InvalidLabel(f"label: expected one of {', '.join(LABELS)}, got {label!r}")


def review_label(name: str, value: float, label: str) -> str:
    """The review label a stored human score stands for: the labels this module writes as
    they are; a human ``hallucination`` score from elsewhere (the scores API, an SDK event) by
    its value (at least 0.5: hallucinated)."""
    if label in LABELS:
        return label
    if name == SCORE_REVIEW:
        return UNSURE
    return HALLUCINATED if value >= 0.5 else GROUNDED


def _hex(value: object, field: str, digits: int) -> str:
    if not isinstance(value, str) or len(value) != digits:
        raise InvalidLabel(f"{field}: expected {digits} hex characters")
    try:
        int(value, 16)
    except ValueError:
        raise InvalidLabel(f"{field}: expected {digits} hex characters") from None
    return value.lower()


def check_reviewer(reviewer: object) -> str:
    """The reviewer id, stripped; 1 to 200 characters."""
    if not isinstance(reviewer, str) or not reviewer.strip():
        raise InvalidLabel("reviewer: a reviewer id is required")
    reviewer = reviewer.strip()
    if len(reviewer) > MAX_REVIEWER:
        raise InvalidLabel(f"reviewer: at most {MAX_REVIEWER} characters")
    return reviewer


def parse_label(item: Mapping[str, Any]) -> ReviewLabel | None:
    """A label from an exported (JSONL) item; None when its label field is empty (unlabelled).

    Raises :class:`InvalidLabel` naming the field."""
    raw = item.get("label")
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return None
    if not isinstance(raw, str) or raw.strip().lower() not in LABELS:
        raise InvalidLabel(f"label: expected one of {', '.join(LABELS)}, got {raw!r}")
    note = item.get("note") or ""
    if not isinstance(note, str):
        raise InvalidLabel("note: must be text")
    if len(note) > MAX_NOTE:
        raise InvalidLabel(f"note: at most {MAX_NOTE} characters")
    return ReviewLabel(
        _hex(item.get("trace_id"), "trace_id", 32),
        _hex(item.get("span_id"), "span_id", 16),
        raw.strip().lower(),
        note,
    )


# --- what a reviewer sees -----------------------------------------------------------------------


def _part_text(part: object) -> str:
    if isinstance(part, str):
        return part
    if isinstance(part, Mapping):
        for key in ("content", "text"):
            value = part.get(key)
            if isinstance(value, str):
                return value
        return f"[{part.get('type', 'part')}]"
    return json.dumps(part, ensure_ascii=False)


def _message_text(message: Mapping[str, Any]) -> str:
    parts = message.get("parts")
    if isinstance(parts, list):
        return "\n".join(_part_text(p) for p in parts)
    content = message.get("content")
    if isinstance(content, list):
        return "\n".join(_part_text(p) for p in content)
    return content if isinstance(content, str) else json.dumps(content, ensure_ascii=False)


def content_text(raw: str, *, roles: bool = True) -> str:
    """A stored input or output as readable text (as stored: redacted stays redacted).

    OpenTelemetry GenAI messages (``[{"role", "parts"}]``, or ``content``) become one block per
    message, ``role: text`` when ``roles``; a JSON string becomes its text; a JSON object of
    call arguments (``@observe``) becomes its one text value or ``name: value`` lines; anything
    else is returned unchanged."""
    try:
        value = json.loads(raw)
    except ValueError:
        return raw
    if isinstance(value, str):
        return value
    if isinstance(value, list) and value and all(isinstance(m, Mapping) for m in value):
        if all("role" in m for m in value):
            blocks = [(str(m["role"]), _message_text(m)) for m in value]
            if not roles or len(blocks) == 1:
                return "\n\n".join(text for _, text in blocks)
            return "\n\n".join(f"{role}: {text}" for role, text in blocks)
    if isinstance(value, Mapping) and value:
        texts = [v for v in value.values() if isinstance(v, str)]
        if len(value) == 1 and texts:
            return texts[0]
        return "\n".join(
            f"{k}: {v if isinstance(v, str) else json.dumps(v, ensure_ascii=False)}"
            for k, v in value.items()
        )
    return raw


def review_sources(record: str, retrieved: Sequence[str]) -> list[dict[str, Any]]:
    """The sources a reviewer sees: each source of the provenance ``record`` (id, title, URI,
    SHA-256; the SDK never sends source texts) with the text of the matching retrieved
    document where a retrieval span in the trace stored it (matched by SHA-256, so a redacted
    copy does not match), then the retrieved documents that matched no record entry."""
    from tracerail.provenance import Source, as_sources

    documents: list[Source] = []
    for output in retrieved:
        try:
            value = json.loads(output)
        except ValueError:
            value = output
        documents.extend(s for s in as_sources(value) if s.text)
    by_hash = {doc.digest(): doc for doc in documents}
    out: list[dict[str, Any]] = []
    used: set[str | None] = set()
    try:
        entries = json.loads(record).get("sources") or [] if record else []
    except (ValueError, AttributeError):
        entries = []
    for entry in entries:
        if not isinstance(entry, Mapping):
            continue
        item = {k: entry[k] for k in ("id", "title", "uri", "sha256") if k in entry}
        match = by_hash.get(entry.get("sha256"))
        if match is not None:
            item["text"] = match.text
            used.add(match.digest())
        out.append(item)
    for doc in documents:
        if doc.digest() in used:
            continue
        item = {"id": doc.id, "title": doc.title, "uri": doc.uri, "text": doc.text}
        out.append({k: v for k, v in item.items() if v is not None} | {"retrieved": True})
        used.add(doc.digest())
    return out

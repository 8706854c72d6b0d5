"""Human review, pure parts: sample sizing (hand-computed), allocation, labels, display texts."""

from __future__ import annotations

import hashlib
import json

import pytest

from tracerail.collector.review import (
    LABELS,
    SCORE_REVIEW,
    InvalidLabel,
    ReviewLabel,
    Stratum,
    achieved_margin,
    allocate,
    check_reviewer,
    content_text,
    infinite_sample_size,
    label_score,
    parse_label,
    review_label,
    review_sources,
    sample_size,
    z_value,
)

TRACE = "ab" * 16
SPAN = "cd" * 8


def test_z_for_95_and_99_percent() -> None:
    assert z_value(0.95) == pytest.approx(1.959964, abs=1e-6)
    assert z_value(0.99) == pytest.approx(2.575829, abs=1e-6)


# n0 = z² p(1-p) / m²; n = n0 / (1 + (n0 - 1) / N), rounded up. Worked by hand:
#   m=0.05, 95%: n0 = 1.959964² · 0.25 / 0.0025 = 3.841459 · 100 = 384.146
#     N=1000: 384.146 / (1 + 383.146/1000) = 384.146 / 1.383146 = 277.73 → 278
#     N=100:  384.146 / (1 + 3.83146)     = 384.146 / 4.83146  = 79.51  → 80
#     N=10:   384.146 / (1 + 38.3146)     = 384.146 / 39.3146  = 9.77   → 10
#   m=0.1, N=200: n0 = 96.036; 96.036 / (1 + 95.036/200) = 96.036 / 1.47518 = 65.10 → 66
#   m=0.03, p=0.1: n0 = 3.841459 · 0.09 / 0.0009 = 384.146 → 385 (large N)
#   m=0.05, 99%: n0 = 2.575829² · 0.25 / 0.0025 = 6.634897 · 100 = 663.49 → 664
@pytest.mark.parametrize(
    ("population", "margin", "confidence", "p", "expected"),
    [
        (10**9, 0.05, 0.95, 0.5, 385),
        (1000, 0.05, 0.95, 0.5, 278),
        (100, 0.05, 0.95, 0.5, 80),
        (10, 0.05, 0.95, 0.5, 10),
        (1, 0.05, 0.95, 0.5, 1),
        (0, 0.05, 0.95, 0.5, 0),
        (200, 0.1, 0.95, 0.5, 66),
        (10**9, 0.03, 0.95, 0.1, 385),
        (10**9, 0.05, 0.99, 0.5, 664),
    ],
)
def test_sample_size_hand_computed(
    population: int, margin: float, confidence: float, p: float, expected: int
) -> None:
    assert sample_size(population, margin, confidence, p) == expected


def test_infinite_sample_size() -> None:
    assert infinite_sample_size(0.05) == pytest.approx(384.146, abs=1e-3)


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"margin": 0.0}, "margin"),
        ({"margin": 5e-324}, "margin"),
        ({"margin": 1.0}, "margin"),
        ({"p": 0.0}, "p"),
    ],
)
def test_sizing_refuses_impossible_designs(kwargs: dict[str, float], field: str) -> None:
    args = {"margin": 0.05, "confidence": 0.95, "p": 0.5} | kwargs
    with pytest.raises(ValueError, match=f"^{field}:"):
        infinite_sample_size(**args)


def test_achieved_margin_matches_the_design() -> None:
    # 278 of 1000: 1.959964 · √(0.25/278 · 722/999) = 1.959964 · 0.025494 = 0.049967
    assert achieved_margin(278, 1000) == pytest.approx(0.049967, abs=1e-6)
    assert achieved_margin(278, 1000) <= 0.05  # the rounded-up size meets the margin
    assert achieved_margin(277, 1000) > 0.05  # one fewer does not
    assert achieved_margin(10, 10) == 0.0
    assert achieved_margin(0, 10) is None


def test_allocate_sizes_each_stratum_on_its_own() -> None:
    strata = allocate(
        [("m-b", "2026-01-05T00:00:00Z", 100), ("m-a", "2026-01-05T00:00:00Z", 1000)],
        margin=0.05,
    )
    assert strata == [
        Stratum("m-a", "2026-01-05T00:00:00Z", 1000, 278),
        Stratum("m-b", "2026-01-05T00:00:00Z", 100, 80),
    ]


def test_allocate_per_stratum_is_capped_by_the_stratum() -> None:
    strata = allocate([("a", "", 3), ("b", "", 50)], per_stratum=5)
    assert [(s.model, s.sample_size) for s in strata] == [("a", 3), ("b", 5)]
    with pytest.raises(ValueError, match=r"^per_stratum:"):
        allocate([("a", "", 3)], per_stratum=0)


def test_labels_map_to_scores() -> None:
    grounded, hallucinated, unsure = (label_score(label) for label in LABELS)
    assert (grounded.name, grounded.value, grounded.data_type) == ("hallucination", 0.0, "boolean")
    assert (hallucinated.name, hallucinated.value) == ("hallucination", 1.0)
    # unsure is not a hallucination score: no rate reads it
    assert (unsure.name, unsure.data_type, unsure.label) == (SCORE_REVIEW, "categorical", "unsure")
    with pytest.raises(InvalidLabel, match=r"^label:"):
        label_score("maybe")


@pytest.mark.parametrize(
    ("item", "field"),
    [
        ({"trace_id": TRACE, "span_id": SPAN, "label": "maybe"}, "label"),
        ({"trace_id": TRACE, "span_id": SPAN, "label": 1}, "label"),
        ({"trace_id": "xyz", "span_id": SPAN, "label": "grounded"}, "trace_id"),
        ({"trace_id": TRACE, "span_id": "zz" * 8, "label": "grounded"}, "span_id"),
        ({"span_id": SPAN, "label": "grounded"}, "trace_id"),
        ({"trace_id": TRACE, "span_id": SPAN, "label": "unsure", "note": 5}, "note"),
        ({"trace_id": TRACE, "span_id": SPAN, "label": "unsure", "note": "x" * 4001}, "note"),
    ],
)
def test_parse_label_names_the_bad_field(item: dict[str, object], field: str) -> None:
    with pytest.raises(InvalidLabel, match=f"^{field}:"):
        parse_label(item)


def test_review_label_of_stored_human_scores() -> None:
    assert review_label("hallucination", 1.0, "hallucinated") == "hallucinated"
    assert review_label("hallucination_review", 0.0, "unsure") == "unsure"
    # human hallucination scores written elsewhere, without one of the review labels
    assert review_label("hallucination", 0.8, "") == "hallucinated"
    assert review_label("hallucination", 0.0, "fine") == "grounded"


def test_parse_label_accepts_and_skips() -> None:
    assert parse_label({"trace_id": TRACE, "span_id": SPAN, "label": ""}) is None
    assert parse_label({"trace_id": TRACE, "span_id": SPAN, "label": None}) is None
    got = parse_label(
        {"trace_id": TRACE.upper(), "span_id": SPAN, "label": " Hallucinated ", "note": "n"}
    )
    assert got == ReviewLabel(TRACE, SPAN, "hallucinated", "n")


def test_reviewer_is_required() -> None:
    assert check_reviewer("  alice ") == "alice"
    for bad in ("", "   ", None, "x" * 201):
        with pytest.raises(InvalidLabel, match=r"^reviewer:"):
            check_reviewer(bad)


def test_content_text_renders_stored_messages() -> None:
    messages = [
        {"role": "system", "parts": [{"type": "text", "content": "Answer from the sources."}]},
        {"role": "user", "parts": [{"type": "text", "content": "When is <PERSON_1> back?"}]},
    ]
    assert content_text(json.dumps(messages)) == (
        "system: Answer from the sources.\n\nuser: When is <PERSON_1> back?"
    )
    answer = [{"role": "assistant", "parts": [{"type": "text", "content": "On Monday."}]}]
    assert content_text(json.dumps(answer), roles=False) == "On Monday."
    assert content_text(json.dumps({"question": "Why?"})) == "Why?"
    assert content_text(json.dumps({"q": "Why?", "k": 3})) == "q: Why?\nk: 3"
    assert content_text(json.dumps("plain answer")) == "plain answer"
    assert content_text("not json") == "not json"
    assert content_text("") == ""


def test_review_sources_joins_record_and_retrieved_texts() -> None:
    text = "Refunds take 14 days."
    digest = hashlib.sha256(text.encode()).hexdigest()
    record = json.dumps({"sources": [{"id": "kb-1", "sha256": digest}, {"id": "kb-2"}]})
    retrieved = [json.dumps([{"id": "kb-1", "text": text}, "An extra retrieved text."])]
    assert review_sources(record, retrieved) == [
        {"id": "kb-1", "sha256": digest, "text": text},
        {"id": "kb-2"},
        {"text": "An extra retrieved text.", "retrieved": True},
    ]
    assert review_sources("", []) == []
    assert review_sources("{not json", ["plain text doc"]) == [
        {"text": "plain text doc", "retrieved": True}
    ]


def test_a_label_is_a_ledger_row_with_the_note_only_hashed() -> None:
    from tracerail.collector.ledger import KIND_SCORE, row_hash, score_row

    label = {
        "name": "hallucination",
        "value": 1.0,
        "data_type": "boolean",
        "label": "hallucinated",
        "source": "human",
        "reviewer": "alice",
    }
    row = score_row(
        "p", TRACE, SPAN, score_id="s1", score={**label, "comment": "wrong date"}, time_ns=5
    )
    assert row.kind == KIND_SCORE
    assert json.loads(row.payload) == {
        "kind": "score",
        "project": "p",
        "trace_id": TRACE,
        "span_id": SPAN,
        "score_id": "s1",
        **label,  # every field of the label as given, apart from the note
        "comment_sha256": hashlib.sha256(b"wrong date").hexdigest(),
        "time_ns": 5,
    }
    assert row.row_hash == row_hash(row.payload)

"""The groundedness check: claim splitting, support, and accuracy on the labelled set."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from tracerail.guardrails.grounding import assess_grounding, split_claims

LABELLED = Path(__file__).parent.parent / "data" / "grounding_labelled.jsonl"
SOURCE = (
    "The Eiffel Tower was completed in 1889 for the World's Fair in Paris. It is 330 metres tall."
)


def test_labelled_set_has_200_triples_of_every_kind() -> None:
    rows = [json.loads(line) for line in LABELLED.read_text(encoding="utf-8").splitlines()]
    assert len(rows) >= 200
    kinds = Counter(row["kind"] for row in rows)
    assert set(kinds) == {
        "faithful",
        "paraphrase",
        "wrong_number",
        "wrong_entity",
        "unsupported_addition",
        "negation",
    }
    assert min(kinds.values()) >= 30


def test_balanced_accuracy_on_labelled_set_is_at_least_080() -> None:
    rows = [json.loads(line) for line in LABELLED.read_text(encoding="utf-8").splitlines()]
    hits: Counter[tuple[str, bool]] = Counter()
    for row in rows:
        flagged = assess_grounding(row["answer"], row["sources"]).hallucinated
        truth = row["label"] == "hallucinated"
        hits[(row["label"], flagged == truth)] += 1
    recall_h = hits[("hallucinated", True)] / (
        hits[("hallucinated", True)] + hits[("hallucinated", False)]
    )
    recall_g = hits[("grounded", True)] / (hits[("grounded", True)] + hits[("grounded", False)])
    balanced = (recall_h + recall_g) / 2
    print(
        f"balanced accuracy {balanced:.3f} (hallucinated {recall_h:.3f}, grounded {recall_g:.3f})"
    )
    assert balanced >= 0.80


def test_split_claims_offsets_point_into_the_answer() -> None:
    answer = "  Dr. Smith arrived at 3.5 pm. He left!  Was it late? yes"
    claims = split_claims(answer)
    assert [c[0] for c in claims] == [
        "Dr. Smith arrived at 3.5 pm.",
        "He left!",
        "Was it late? yes",
    ]
    for text, start, end in claims:
        assert answer[start:end] == text


def test_unsupported_sentence_is_flagged_with_its_offsets() -> None:
    answer = "The Eiffel Tower is 330 metres tall. It was painted gold in 2010."
    result = assess_grounding(answer, [SOURCE])
    assert result.hallucinated
    (bad,) = result.unsupported
    assert answer[bad.start : bad.end] == "It was painted gold in 2010."
    assert "2010" in bad.missing_facts
    assert result.hallucination_score == 1.0
    assert result.claims[0].supported()


@pytest.mark.parametrize(
    ("answer", "why"),
    [
        ("The Eiffel Tower was completed in 1901.", "wrong number"),
        ("The Eiffel Tower was completed for the World's Fair in Lyon.", "wrong entity"),
        ("The Eiffel Tower was not completed in 1889.", "negation"),
    ],
)
def test_contradictions_are_unsupported(answer: str, why: str) -> None:
    assert assess_grounding(answer, [SOURCE]).hallucinated, why


def test_faithful_answer_scores_low() -> None:
    result = assess_grounding("Completed in 1889, the Eiffel Tower is 330 metres tall.", [SOURCE])
    assert not result.hallucinated
    assert result.hallucination_score < 0.5


def test_no_sources_means_nothing_is_grounded() -> None:
    assert assess_grounding("Anything at all.", []).hallucination_score == 1.0
    assert assess_grounding("", [SOURCE]).claims == ()

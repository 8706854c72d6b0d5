"""The ``heuristic`` evaluator: each cue on a small hand-written case, and the interface."""

from __future__ import annotations

import pytest

from tracerail.guardrails.evaluators import Evaluator, EvaluatorError, get_evaluator
from tracerail.guardrails.evaluators.heuristic import HeuristicEvaluator, check_claims

SOURCES = [
    "The Kestrel R7 runs for up to 140 minutes on a full charge in Eco mode.",
    "A full recharge from empty takes 3 hours 30 minutes using the included dock.",
    "Mopping is only supported on hard floors; the mop pad is lifted on carpet.",
    "Checked bags may weigh up to 23 kg. The cabin bag limit is 8 kg.",
    "Prices will increase in March 2026.",
]


def _flagged(answer: str, question: str | None = None) -> bool:
    return HeuristicEvaluator().evaluate(answer, SOURCES, question=question).hallucinated


def test_it_is_the_registered_default_with_name_and_version() -> None:
    evaluator = get_evaluator()
    assert isinstance(evaluator, HeuristicEvaluator)
    assert isinstance(evaluator, Evaluator)
    result = evaluator.evaluate("Recharging takes 210 minutes.", SOURCES)
    assert (result.evaluator, result.version) == ("heuristic", HeuristicEvaluator.version)
    assert result.prompt_sha256 == ""
    assert 0.0 <= result.score <= 1.0


def test_bad_threshold_is_a_configuration_error() -> None:
    with pytest.raises(EvaluatorError):
        get_evaluator("heuristic", threshold=2.0)


@pytest.mark.parametrize(
    "answer",
    [
        "Recharging from empty takes 210 minutes on the supplied dock.",
        "In Eco mode expect roughly two hours and twenty minutes per charge.",
        "A checked bag can weigh 23 kilograms.",
        "Prices will increase in March 2026.",
    ],
)
def test_grounded_restatements_pass(answer: str) -> None:
    assert not _flagged(answer)


@pytest.mark.parametrize(
    ("answer", "cue"),
    [
        ("Recharging from empty takes about 230 minutes.", "not in sources"),
        ("The cabin bag limit is 23 kg.", "not in sources"),  # the checked bags' figure
        ("Prices will increase in March 2025.", "not in sources"),
        ("The Kestrel R9 runs for 140 minutes in Eco mode.", "R9"),
        ("Prices will decrease in March 2026.", "antonym"),
        ("Mopping is not supported on hard floors.", "negation"),
        ("Every model runs for up to 140 minutes on a full charge.", "generalises"),
    ],
)
def test_one_detail_hallucinations_are_flagged_with_their_cue(answer: str, cue: str) -> None:
    result = HeuristicEvaluator().evaluate(answer, SOURCES)
    assert result.hallucinated
    assert cue in result.explanation


def test_abstention_is_grounded() -> None:
    answer = "The manual doesn't mention voice assistants, so I can't confirm Alexa support."
    result = HeuristicEvaluator().evaluate(answer, SOURCES)
    assert not result.hallucinated
    assert result.claims[0].reason == "abstains"


def test_an_unrelated_addition_raises_the_score_and_is_the_weakest_claim() -> None:
    # Since 2.1 the label comes from the fitted model; on the labelled dev set a claim sharing
    # no word with the sources is as often a grounded paraphrase, so one such sentence next to
    # a supported one raises the score without always flipping the label (a known weak point).
    evaluator = HeuristicEvaluator()
    answer = "Recharging takes 210 minutes. The vacuum also speaks seven languages fluently."
    result = evaluator.evaluate(answer, SOURCES)
    alone = evaluator.evaluate("Recharging takes 210 minutes.", SOURCES)
    assert result.score > alone.score
    assert evaluator.evaluate("The vacuum speaks seven languages fluently.", SOURCES).hallucinated
    weakest = min(result.claims, key=lambda c: c.support)
    assert answer[weakest.start : weakest.end] == "The vacuum also speaks seven languages fluently."


def test_claims_carry_offsets_and_their_best_source() -> None:
    answer = "It runs 140 minutes in Eco mode. Recharging takes 210 minutes."
    checks = check_claims(answer, SOURCES)
    assert [answer[c.start : c.end] for c in checks] == [
        "It runs 140 minutes in Eco mode.",
        "Recharging takes 210 minutes.",
    ]
    assert [c.source_index for c in checks] == [0, 1]


def test_question_words_count_as_covered() -> None:
    answer = "Yes, the robot handles rugs badly."
    question = "Does the robot handle rugs badly?"
    with_question = HeuristicEvaluator().evaluate(answer, SOURCES, question=question)
    without = HeuristicEvaluator().evaluate(answer, SOURCES)
    assert with_question.score < without.score


def test_no_sources_and_no_claims() -> None:
    assert HeuristicEvaluator().evaluate("Anything at all.", []).score == 1.0
    empty = HeuristicEvaluator().evaluate("", SOURCES)
    assert (empty.score, empty.claims, empty.hallucinated) == (0.0, (), False)


def test_a_thing_of_the_same_kind_in_place_of_the_sources_is_flagged() -> None:
    sources = ["An overdose can seriously damage your liver, even if you feel well."]
    answer = "An overdose can seriously damage your kidneys, even if you feel well."
    result = HeuristicEvaluator().evaluate(answer, sources)
    assert result.hallucinated
    assert "kidney for liver" in result.explanation
    assert not HeuristicEvaluator().evaluate(sources[0], sources).hallucinated


def test_bullet_lines_are_claims_and_a_lead_in_is_not_judged() -> None:
    lines = ["In short:", "Recharging takes 210 minutes.", "Checked bags weigh up to 32 kg."]
    answer = "\n- ".join(lines)  # a lead-in, then two bullets
    checks = check_claims(answer, SOURCES)
    assert [answer[c.start : c.end] for c in checks] == lines
    assert [bool(c.missing_facts) for c in checks] == [False, False, True]


def test_figures_from_the_question_are_not_hallucinations() -> None:
    question = "I have 100 kg of luggage; how much is over the 23 kg limit?"
    answer = "That is 77 kg over the limit."
    assert not HeuristicEvaluator().evaluate(answer, SOURCES, question=question).hallucinated
    assert HeuristicEvaluator().evaluate(answer, SOURCES).hallucinated


def test_two_figures_given_the_other_way_round_are_flagged() -> None:
    sources = ["Nausea was reported by 21% of participants on the drug and 6% on placebo."]
    swapped = "Nausea hit 6% of people on the drug and 21% of those on placebo."
    reordered = "On placebo 6% reported nausea, against 21% of participants on the drug."
    result = HeuristicEvaluator().evaluate(swapped, sources)
    assert result.hallucinated
    assert "swapped: 6% / 21%" in result.explanation
    assert not HeuristicEvaluator().evaluate(reordered, sources).hallucinated

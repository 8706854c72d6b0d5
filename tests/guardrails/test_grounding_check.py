"""The ``grounding`` check: unsupported claims as findings, options, actions, policy wiring."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

import tracerail
from tracerail import GuardrailBlocked, semconv
from tracerail.guardrails import Action, CheckConfig, Policy, PolicyError, PolicyRunner, Verdict
from tracerail.guardrails.checks.grounding import NO_SOURCES, SOURCES_KEY, UNSUPPORTED_CLAIM
from tracerail.guardrails.grounding import assess_grounding
from tracerail.guardrails.registry import create

SOURCE = "The Eiffel Tower is in Paris. It was completed in 1889 and is 330 metres tall."
GOOD = "The Eiffel Tower in Paris was completed in 1889."
BAD = "It was painted gold in 2010."
ANSWER = f"{GOOD} {BAD}"
HALF = "The Eiffel Tower is in Paris, a lovely romantic city."  # half its words in the source


def _half_support() -> float:
    (claim,) = assess_grounding(HALF, [SOURCE]).claims
    return claim.support


def check(
    text: str,
    sources: Any = (SOURCE,),
    action: Action = Action.FLAG,
    **options: Any,
) -> Verdict:
    guardrail = create(CheckConfig("grounding", action, options=options))
    context = {} if sources is None else {SOURCES_KEY: sources}
    return guardrail.check(text, target="output", context=context)


def test_the_context_key_is_the_documented_sdk_constant() -> None:
    assert SOURCES_KEY == semconv.GUARD_CONTEXT_SOURCES


def test_one_finding_per_unsupported_claim_with_its_offsets_and_score() -> None:
    verdict = check(ANSWER)
    assert verdict.action is Action.FLAG
    (finding,) = verdict.findings
    assert finding.type == UNSUPPORTED_CLAIM
    assert ANSWER[finding.start : finding.end] == BAD
    (claim,) = assess_grounding(ANSWER, [SOURCE]).unsupported
    assert finding.score == pytest.approx(1.0 - claim.support)
    assert verdict.reason == f"{UNSUPPORTED_CLAIM} x1"


def test_two_unsupported_claims_are_two_findings() -> None:
    answer = f"{BAD} {GOOD} The tower is in Lyon."
    verdict = check(answer)
    spans = [answer[f.start : f.end] for f in verdict.findings]
    assert spans == [BAD, "The tower is in Lyon."]


def test_a_supported_answer_is_allowed() -> None:
    verdict = check(GOOD)
    assert verdict.action is Action.ALLOW
    assert verdict.findings == ()


def test_support_threshold_decides_what_is_unsupported() -> None:
    support = _half_support()
    assert 0.5 <= support < 0.8
    assert check(HALF).findings == ()
    (finding,) = check(HALF, support_threshold=0.8).findings
    assert finding.score == pytest.approx(1.0 - support)


def test_the_common_score_threshold_does_not_hide_unsupported_claims() -> None:
    guardrail = create(
        CheckConfig("grounding", Action.FLAG, threshold=0.9, options={"support_threshold": 0.8})
    )
    verdict = guardrail.check(HALF, target="output", context={SOURCES_KEY: [SOURCE]})
    assert [f.score for f in verdict.findings] == [pytest.approx(1.0 - _half_support())]


@pytest.mark.parametrize("sources", [None, (), [""], ["   "]])
def test_without_sources_the_check_skips_by_default(sources: Any) -> None:
    verdict = check(ANSWER, sources=sources, action=Action.BLOCK)
    assert verdict.action is Action.ALLOW
    assert verdict.findings == ()


@pytest.mark.parametrize("action", [Action.FLAG, Action.REDACT, Action.BLOCK])
def test_require_sources_flags_an_answer_without_sources(action: Action) -> None:
    verdict = check(ANSWER, sources=None, action=action, require_sources=True)
    assert verdict.action is Action.FLAG
    (finding,) = verdict.findings
    assert (finding.type, finding.start, finding.end) == (NO_SOURCES, 0, len(ANSWER))
    assert verdict.redacted_text is None


def test_require_sources_with_sources_checks_normally() -> None:
    verdict = check(GOOD, require_sources=True)
    assert verdict.action is Action.ALLOW


def test_redact_replaces_unsupported_claims_with_a_placeholder() -> None:
    verdict = check(ANSWER, action=Action.REDACT)
    assert verdict.action is Action.REDACT
    assert verdict.redacted_text == f"{GOOD} <UNSUPPORTED_CLAIM_1>"


def test_a_single_source_string_is_accepted() -> None:
    assert check(ANSWER, sources=SOURCE).findings == check(ANSWER).findings


def test_input_is_never_checked() -> None:
    guardrail = create(CheckConfig("grounding", Action.BLOCK))
    verdict = guardrail.check(BAD, target="input", context={SOURCES_KEY: [SOURCE]})
    assert verdict.action is Action.ALLOW


# --- in a policy -------------------------------------------------------------------------------


def test_policy_runs_grounding_on_output_only() -> None:
    policy = Policy(checks=(CheckConfig("grounding", Action.BLOCK),))
    assert policy.for_target("input") == ()
    assert [c.name for c in policy.for_target("output")] == ["grounding"]
    runner = PolicyRunner(policy)
    result = runner.run([BAD], "output", {SOURCES_KEY: [SOURCE]})
    assert [d.action for d in result.blocked] == [Action.BLOCK]
    assert runner.run([GOOD], "output", {SOURCES_KEY: [SOURCE]}).blocked == []


def test_toml_grounding_defaults_to_output_and_rejects_input(tmp_path: Path) -> None:
    path = tmp_path / "p.toml"
    path.write_text(
        '[checks.grounding]\naction = "flag"\nsupport_threshold = 0.7\nrequire_sources = true\n'
    )
    (entry,) = Policy.from_toml(path).checks
    assert entry.targets == ("output",)
    assert entry.options == {"support_threshold": 0.7, "require_sources": True}
    path.write_text('[checks.grounding]\naction = "flag"\ntargets = ["input"]\n')
    with pytest.raises(PolicyError, match=r"checks\.grounding\.targets"):
        Policy.from_toml(path)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ("support_threshold = true", "checks.grounding.support_threshold"),
        ('require_sources = "yes"', "checks.grounding.require_sources"),
    ],
)
def test_bad_grounding_options_name_the_key(tmp_path: Path, body: str, field: str) -> None:
    path = tmp_path / "p.toml"
    path.write_text(f'[checks.grounding]\naction = "flag"\n{body}\n')
    with pytest.raises(PolicyError) as caught:
        Policy.from_toml(path)
    assert caught.value.field == field


def test_code_policy_with_only_input_target_is_rejected() -> None:
    with pytest.raises(PolicyError, match="grounding checks only output"):
        Policy(checks=(CheckConfig("grounding", Action.FLAG, targets=("input",)),))


def test_out_of_range_support_threshold_fails_as_configured() -> None:
    config = CheckConfig(
        "grounding", Action.FLAG, fail="closed", options={"support_threshold": 2.0}
    )
    result = PolicyRunner(Policy(checks=(config,))).run([BAD], "output", {SOURCES_KEY: [SOURCE]})
    (decision,) = result.decisions
    assert (decision.action, decision.error) == (Action.BLOCK, "ValueError")


def test_run_guardrails_takes_sources_from_the_context() -> None:
    policy = Policy(checks=(CheckConfig("grounding", Action.BLOCK),))
    with pytest.raises(GuardrailBlocked) as caught:
        tracerail.run_guardrails(
            [ANSWER], target="output", policy=policy, context={SOURCES_KEY: [SOURCE]}
        )
    assert caught.value.checks == ("grounding",)
    assert tracerail.run_guardrails([GOOD], target="output", policy=policy) == [GOOD]


def test_observe_generation_checks_its_answer_against_its_sources(spans: Any) -> None:
    policy = Policy(checks=(CheckConfig("grounding", Action.REDACT),))

    @tracerail.observe(kind="generation", policy=policy)
    def generate(question: str) -> str:
        tracerail.sources([SOURCE])
        return ANSWER

    assert generate("the tower?") == f"{GOOD} <UNSUPPORTED_CLAIM_1>"

"""Policy: defaults, TOML loading, version hashing, and errors that name the offending key."""

from __future__ import annotations

from pathlib import Path

import pytest

from tracerail.guardrails import Action, CheckConfig, Policy, PolicyError
from tracerail.guardrails.runner import PolicyRunner


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "tracerail.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_default_policy_redacts_pii_and_secrets_and_flags_the_rest() -> None:
    policy = Policy.default()
    actions = {c.name: c.action for c in policy.checks}
    assert actions == {
        "pii": Action.REDACT,
        "secrets": Action.REDACT,
        "injection": Action.FLAG,
        "content": Action.FLAG,
    }
    assert [c.name for c in policy.for_target("input")] == [
        c.name for c in policy.for_target("output")
    ]


def test_toml_policy_loads_checks_targets_and_options(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
name = "support"
[checks.pii]
action = "block"
targets = ["input"]
threshold = 0.7
entities = ["EMAIL_ADDRESS"]
regions = ["GB"]
fail = "closed"
[checks.out_pii]
type = "pii"
action = "redact"
targets = ["output"]
operator = "mask"
[checks.topics]
action = "block"
topics = { medical = ["diagnosis", "dosage"] }
""",
    )
    policy = Policy.from_toml(path)
    assert policy.name == "support"
    pii, out_pii, topics = policy.checks
    assert (pii.action, pii.targets, pii.threshold, pii.fail) == (
        Action.BLOCK,
        ("input",),
        0.7,
        "closed",
    )
    assert pii.options == {"regions": ["GB"]} and pii.entities == ("EMAIL_ADDRESS",)
    assert (out_pii.type, out_pii.operator) == ("pii", "mask")
    assert [c.name for c in policy.for_target("output")] == ["out_pii", "topics"]
    assert topics.options["topics"] == {"medical": ["diagnosis", "dosage"]}


def test_version_is_a_content_hash(tmp_path: Path) -> None:
    a = Policy.from_toml(write(tmp_path, '[checks.pii]\naction = "redact"\n'))
    b = Policy(checks=(CheckConfig("pii", Action.REDACT),), name="custom")
    c = Policy(checks=(CheckConfig("pii", Action.BLOCK),), name="custom")
    assert a.version == b.version
    assert a.version != c.version
    assert len(a.version) == 16


def test_runner_lists_the_redacting_checks_per_target() -> None:
    policy = Policy(
        checks=(
            CheckConfig("pii", Action.REDACT),
            CheckConfig("secrets", Action.BLOCK),
            CheckConfig("out_secrets", Action.REDACT, type="secrets", targets=("output",)),
        )
    )
    runner = PolicyRunner(policy)
    assert [c.name for c in runner.redacting("input")] == ["pii"]
    assert [c.name for c in runner.redacting("output")] == ["pii", "out_secrets"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ('[checks.pii]\naction = "explode"\n', "checks.pii.action"),
        ("[checks.pii]\n", "checks.pii.action"),
        ('[checks.pii]\naction = "flag"\nregionz = ["US"]\n', "checks.pii.regionz"),
        ('[checks.pii]\naction = "flag"\nthreshold = "high"\n', "checks.pii.threshold"),
        ('[checks.pii]\naction = "flag"\ntargets = ["sideways"]\n', "checks.pii.targets"),
        ('[checks.pii]\naction = "flag"\nfail = "maybe"\n', "checks.pii.fail"),
        ('[checks.pii]\naction = "flag"\noperator = "shred"\n', "checks.pii.operator"),
        ('[checks.pii]\naction = "flag"\nregions = "US"\n', "checks.pii.regions"),
        ('[checks.nope]\naction = "flag"\n', "checks.nope.type"),
        ('colour = "blue"\n', "colour"),
        ("checks = [1]\n", "checks"),
        ("this is not toml", "policy"),
    ],
)
def test_invalid_policy_names_the_offending_key(tmp_path: Path, body: str, field: str) -> None:
    with pytest.raises(PolicyError) as info:
        Policy.from_toml(write(tmp_path, body))
    assert info.value.field == field
    assert field in str(info.value)


def test_missing_file_is_a_policy_error(tmp_path: Path) -> None:
    with pytest.raises(PolicyError, match="cannot read"):
        Policy.from_toml(tmp_path / "absent.toml")


def test_disabled_checks_are_left_out(tmp_path: Path) -> None:
    path = write(tmp_path, '[checks.pii]\naction = "flag"\nenabled = false\n')
    assert Policy.from_toml(path).checks == ()

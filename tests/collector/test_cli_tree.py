"""The ``tracerail`` command tree: every group and command is reachable and documented, help
texts name the environment variables they read, and bad choices are usage errors."""

from __future__ import annotations

import pytest
from typer.main import get_command
from typer.testing import CliRunner

from tracerail.collector.cli import app

runner = CliRunner()

GROUPS = {
    "collector": {"serve", "migrate", "rebuild-stats"},
    "audit": {"verify", "search", "checkpoint", "keygen", "export-pack", "verify-pack"},
    "provenance": {"verify"},
    "keys": {"create", "list", "revoke"},
    "projects": {"set-retention", "list"},
    "eval": {"groundedness", "pii", "content"},
    "content": {"coverage"},
    "review": {"sample", "export", "import"},
}


def test_the_tree_has_every_group_and_command() -> None:
    root = get_command(app)
    commands = root.commands  # type: ignore[attr-defined]
    assert set(commands) == {*GROUPS, "erase", "report"}
    for group, names in GROUPS.items():
        assert set(commands[group].commands) == names, group


@pytest.mark.parametrize("group", sorted(GROUPS))
def test_every_command_has_a_help_line(group: str) -> None:
    for name in GROUPS[group]:
        result = runner.invoke(app, [group, name, "--help"])
        assert result.exit_code == 0, (group, name, result.output)
        assert "Usage:" in result.output or "usage:" in result.output
    listing = runner.invoke(app, [group, "--help"])
    assert listing.exit_code == 0
    for name in GROUPS[group]:
        assert name in listing.output


def test_help_names_the_environment_variable_of_each_setting() -> None:
    result = runner.invoke(app, ["collector", "serve", "--help"], env={"COLUMNS": "200"})
    for variable in ("TRACERAIL_HOST", "TRACERAIL_PORT", "TRACERAIL_STORAGE", "TRACERAIL_AUTH"):
        assert f"(env {variable})" in result.output


def test_verify_pack_help_is_the_offline_verifiers() -> None:
    result = runner.invoke(app, ["audit", "verify-pack", "--help"])
    assert result.exit_code == 0
    assert "usage: tracerail audit verify-pack" in result.output
    assert "--keys" in result.output


@pytest.mark.parametrize(
    ("args", "option"),
    [
        (["audit", "search", "--format", "xml"], "--format"),
        (["report", "--format", "docx"], "--format"),
        (["review", "sample", "--period", "hour"], "--period"),
        (
            [
                "provenance",
                "verify",
                "--text",
                "x",
                "--trace-id",
                "a",
                "--span-id",
                "b",
                "--field",
                "body",
            ],
            "--field",
        ),
    ],
)
def test_a_bad_choice_is_a_usage_error_naming_the_option(args: list[str], option: str) -> None:
    result = runner.invoke(app, args, env={"COLUMNS": "200"})
    assert result.exit_code == 2
    assert option in result.output
    assert "expected one of" in result.output

"""``tracerail eval pii``: measure the PII check on a labelled set (JSON Lines).

The figures come from :mod:`tracerail.guardrails.pii_eval`; this module only reads options,
builds the check from a policy and prints or writes the report.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

if TYPE_CHECKING:
    from tracerail.guardrails.types import Finding


def pii(
    data: Annotated[
        Path,
        typer.Argument(help='Labelled set, JSON Lines: {"text", "entities": [...], "lookalikes"}.'),
    ],
    policy: Annotated[
        Path | None,
        typer.Option("--policy", help="Policy file (TOML); default: the default policy."),
    ] = None,
    check: Annotated[
        str, typer.Option("--check", help="Name of the PII check in the policy.")
    ] = "pii",
    ner: Annotated[
        bool, typer.Option("--ner/--no-ner", help="Add the spaCy tier (needs the [ner] extra).")
    ] = False,
    structured_only: Annotated[
        bool,
        typer.Option("--structured-only", help="Score only pattern types (not PERSON/LOCATION)."),
    ] = False,
    json_out: Annotated[
        Path | None, typer.Option("--json", help="Also write the report as JSON here.")
    ] = None,
) -> None:
    """Precision and recall per type (overlap and exact), look-alikes flagged, coverage, speed."""
    from dataclasses import replace

    from tracerail.guardrails import Policy, PolicyError
    from tracerail.guardrails.checks.pii import PiiCheck
    from tracerail.guardrails.pii_eval import STRUCTURED, evaluate, format_report, load_examples

    try:
        examples = load_examples(data)
    except (OSError, ValueError) as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from exc
    try:
        chosen = Policy.from_toml(policy) if policy is not None else Policy.default()
    except PolicyError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from exc
    config = next((c for c in chosen.checks if c.name == check and c.type == "pii"), None)
    if config is None:
        typer.echo(f"error: the policy has no pii check named {check!r}", err=True)
        raise typer.Exit(2)
    if ner:
        config = replace(config, options={**dict(config.options), "ner": True})
    detector = PiiCheck(config)
    detector.find("warm-up: jane@example.com")

    def find(text: str) -> list[Finding]:
        return list(detector.check(text, target="input", context={}).findings)

    report = evaluate(examples, find, types=STRUCTURED if structured_only else None)
    typer.echo(f"{data} ({len(examples)} texts), policy {chosen.name} v{chosen.version}")
    typer.echo(format_report(report))
    if json_out is not None:
        json_out.write_text(json.dumps(report.as_dict(), indent=2) + "\n", encoding="utf-8")

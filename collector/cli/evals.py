"""``tracerail eval groundedness | pii | content``: measure a check or an evaluator on a
labelled set (JSON Lines).

The figures come from the guardrails package (:mod:`~tracerail.guardrails.evaluators.harness`,
:mod:`~tracerail.guardrails.pii_eval`, :mod:`~tracerail.guardrails.content_eval`); these commands
only read options, build the check, show a progress bar and print or write the report.
"""

from __future__ import annotations

import sys
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from tracerail.collector.cli import common

if TYPE_CHECKING:
    from tracerail.guardrails.types import Finding

eval_app = typer.Typer(help="Measure evaluators on labelled data.", no_args_is_help=True)


@eval_app.command("groundedness")
def groundedness(
    data: Annotated[
        Path, typer.Argument(help="Labelled set, JSON Lines: sources, answer, label[, kind, id].")
    ],
    evaluator: Annotated[
        str, typer.Option("--evaluator", "-e", help="Evaluator name (see the registry).")
    ] = "heuristic",
    threshold: Annotated[
        float | None,
        typer.Option(
            "--threshold",
            min=0.0,
            max=1.0,
            help="Flag an item when its score reaches this; default: the evaluator's own label.",
        ),
    ] = None,
    json_out: common.JsonReportOpt = None,
    progress: common.ProgressOpt = True,
) -> None:
    """Balanced accuracy, AUROC, confusion matrix, accuracy per kind and latency per item."""
    from tracerail.guardrails.evaluators import EvaluatorError, get_evaluator
    from tracerail.guardrails.evaluators.harness import DatasetError, format_report, load_items, run

    with common.exit_on(DatasetError, EvaluatorError):
        items = load_items(data)
        scorer = get_evaluator(evaluator)
    with common.progress_bar(f"evaluating ({evaluator})", len(items), progress) as advance:
        report = run(scorer, items, threshold=threshold, progress=advance)
    typer.echo(format_report(report))
    common.write_json_report(json_out, {"data": str(data), **report.to_dict()})
    sys.stdout.flush()


@eval_app.command("pii")
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
    json_out: common.JsonReportOpt = None,
) -> None:
    """Precision and recall per type (overlap and exact), look-alikes flagged, coverage, speed."""
    from tracerail.guardrails import Policy, PolicyError
    from tracerail.guardrails.checks.pii import PiiCheck
    from tracerail.guardrails.pii_eval import STRUCTURED, evaluate, format_report, load_examples

    with common.exit_on(OSError, ValueError, PolicyError):
        examples = load_examples(data)
        chosen = Policy.from_toml(policy) if policy is not None else Policy.default()
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
    common.write_json_report(json_out, report.as_dict())


@eval_app.command("content")
def content(
    data: Annotated[
        Path,
        typer.Argument(help='Labelled set, JSON Lines: {"id", "text", "lang", "labels", "kind"}.'),
    ],
    library: Annotated[
        list[str] | None,
        typer.Option(
            "--library",
            "-l",
            help="Keyword library (file path or builtin:NAME); repeat for several. "
            "Default: the check's default (builtin:starter).",
        ),
    ] = None,
    pinyin: Annotated[
        bool, typer.Option("--pinyin/--no-pinyin", help="Also match the pinyin of Chinese terms.")
    ] = False,
    profanity: Annotated[
        bool,
        typer.Option("--profanity/--no-profanity", help="Add the offline profanity model."),
    ] = False,
    json_out: common.JsonReportOpt = None,
    progress: common.ProgressOpt = True,
) -> None:
    """Precision and recall per category, false positives on hard negatives, evasion, speed."""
    from tracerail.guardrails import Action, CheckConfig
    from tracerail.guardrails.checks.content import ContentCheck
    from tracerail.guardrails.content_eval import (
        DatasetError,
        evaluate,
        format_report,
        load_examples,
    )
    from tracerail.guardrails.keywords import DEFAULT_LIBRARIES, load_libraries

    specs = list(library) if library else list(DEFAULT_LIBRARIES)
    options: dict[str, Any] = {"libraries": specs, "pinyin": pinyin, "profanity": profanity}
    with common.exit_on(DatasetError, OSError, ValueError):  # LibraryError is a ValueError
        examples = load_examples(data)
        check = ContentCheck(CheckConfig("content", Action.FLAG, options=options))
        covered = {name.lower() for lib in load_libraries(specs) for name in lib.categories}
    check.check("warm-up", target="input", context={})

    def find(text: str) -> list[str]:
        return [f.type for f in check.check(text, target="input", context={}).findings]

    with common.progress_bar("content check", len(examples), progress) as advance:
        report = evaluate(examples, find, covered=covered, progress=advance)
    typer.echo(f"{data} ({len(examples)} texts), libraries: {', '.join(specs)}")
    typer.echo(format_report(report))
    body = {"data": str(data), "libraries": specs, "pinyin": pinyin, **report.as_dict()}
    common.write_json_report(json_out, body)

"""``tracerail eval content``: measure the content check on a labelled set (JSON Lines).

The figures come from :mod:`tracerail.guardrails.content_eval`; this module only reads
options, builds the check, shows a progress bar and prints or writes the report.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from tracerail.collector.eval_cli import progress_bar


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
    json_out: Annotated[
        Path | None,
        typer.Option("--json", help="Also write the report (with every text's result) here."),
    ] = None,
    progress: Annotated[
        bool, typer.Option("--progress/--no-progress", help="Progress bar on long runs.")
    ] = True,
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

    try:
        examples = load_examples(data)
    except DatasetError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from exc
    specs = list(library) if library else list(DEFAULT_LIBRARIES)
    options: dict[str, Any] = {"libraries": specs, "pinyin": pinyin, "profanity": profanity}
    try:
        check = ContentCheck(CheckConfig("content", Action.FLAG, options=options))
        covered = {name.lower() for lib in load_libraries(specs) for name in lib.categories}
    except (OSError, ValueError) as exc:  # LibraryError is a ValueError
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from exc
    check.check("warm-up", target="input", context={})

    def find(text: str) -> list[str]:
        return [f.type for f in check.check(text, target="input", context={}).findings]

    with progress_bar("content check", len(examples), progress) as advance:
        report = evaluate(examples, find, covered=covered, progress=advance)

    typer.echo(f"{data} ({len(examples)} texts), libraries: {', '.join(specs)}")
    typer.echo(format_report(report))
    if json_out is not None:
        body = {"data": str(data), "libraries": specs, "pinyin": pinyin, **report.as_dict()}
        json_out.write_text(json.dumps(body, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        typer.echo(f"report written to {json_out}", err=True)

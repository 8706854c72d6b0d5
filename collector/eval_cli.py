"""``tracerail eval groundedness``: measure an evaluator on a labelled set (JSON Lines).

The figures come from :mod:`tracerail.guardrails.evaluators.harness`; this module only reads
options, shows a progress bar on long runs and writes the JSON report.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Final

import typer

eval_app = typer.Typer(help="Measure evaluators on labelled data.", no_args_is_help=True)

#: Runs with at least this many items show a progress bar (on stderr).
PROGRESS_MIN_ITEMS: Final = 50


@contextmanager
def progress_bar(label: str, total: int, enabled: bool) -> Iterator[Callable[[int], None] | None]:
    """A callback taking the count done, drawing a rich bar on stderr; ``None`` when the bar is
    off or the run is shorter than :data:`PROGRESS_MIN_ITEMS`."""
    if not enabled or total < PROGRESS_MIN_ITEMS:
        yield None
        return
    from rich.console import Console
    from rich.progress import MofNCompleteColumn, Progress

    columns = (*Progress.get_default_columns(), MofNCompleteColumn())
    with Progress(*columns, console=Console(stderr=True), transient=True) as bar:
        task = bar.add_task(label, total=total)
        yield lambda done: bar.update(task, completed=done)


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
    json_out: Annotated[
        Path | None, typer.Option("--json", help="Also write the full report (per item) here.")
    ] = None,
    progress: Annotated[
        bool, typer.Option("--progress/--no-progress", help="Progress bar on long runs.")
    ] = True,
) -> None:
    """Balanced accuracy, AUROC, confusion matrix, accuracy per kind and latency per item."""
    from tracerail.guardrails.evaluators import EvaluatorError, get_evaluator
    from tracerail.guardrails.evaluators.harness import (
        DatasetError,
        format_report,
        load_items,
        run,
    )

    try:
        items = load_items(data)
    except DatasetError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from exc
    try:
        scorer = get_evaluator(evaluator)
    except EvaluatorError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from exc

    with progress_bar(f"evaluating ({evaluator})", len(items), progress) as advance:
        report = run(scorer, items, threshold=threshold, progress=advance)

    typer.echo(format_report(report))
    if json_out is not None:
        body = {"data": str(data), **report.to_dict()}
        json_out.write_text(json.dumps(body, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        typer.echo(f"report written to {json_out}", err=True)
    sys.stdout.flush()

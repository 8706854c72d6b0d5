"""``tracerail content coverage``: term counts of keyword libraries against TC260-003 §8.1.

The counting is :func:`tracerail.guardrails.keywords.coverage`; this module only prints it.
"""

from __future__ import annotations

from typing import Annotated

import typer

from tracerail.collector.cli import common

content_app = typer.Typer(help="Keyword libraries of the content check.", no_args_is_help=True)


@content_app.command("coverage")
def coverage_command(
    library: Annotated[
        list[str] | None,
        typer.Option(
            "--library",
            "-l",
            help="A library file or builtin:NAME (repeatable); default: builtin:starter.",
        ),
    ] = None,
    json_out: common.JsonReportOpt = None,
) -> None:
    """Terms per category and per Appendix A risk, against the standard's minimums."""
    from rich.console import Console
    from rich.table import Table

    from tracerail.guardrails.keywords import (
        DEFAULT_LIBRARIES,
        LibraryError,
        coverage,
        load_libraries,
    )

    with common.exit_on(LibraryError):
        libraries = load_libraries(library or DEFAULT_LIBRARIES)
    report = coverage(libraries)
    console = Console()
    for lib in report["libraries"]:
        console.print(f"library {lib['name']}  sha256 {lib['sha256'][:16]}")
    risks = Table(title="TC260-003 Appendix A risks (§8.1 minimums)")
    for column in ("risk", "description", "terms", "minimum", "meets"):
        risks.add_column(column, justify="right" if column in ("terms", "minimum") else "left")
    for risk in report["risks"]:
        risks.add_row(
            risk["risk"],
            risk["description"],
            str(risk["terms"]),
            str(risk["minimum"]),
            "yes" if risk["meets"] else "NO",
        )
    console.print(risks)
    categories = Table(title="terms per category")
    categories.add_column("category")
    categories.add_column("terms", justify="right")
    for name, count in report["categories"].items():
        categories.add_row(name, str(count))
    console.print(categories)
    verdict = "meets" if report["meets"] else "does NOT meet"
    console.print(
        f"total {report['total']} terms (minimum {report['total_minimum']}): {verdict} §8.1"
    )
    common.write_json_report(json_out, report)

"""The ``tracerail`` command tree: the root app and where each command group hangs.

Each group is one module of this package; what they share (options, settings, time parsing,
the store, the collector's HTTP API, error exits) is in :mod:`.common`.
"""

from __future__ import annotations

from typing import Annotated

import typer

from tracerail.collector.cli.audit import audit_app
from tracerail.collector.cli.collector import collector_app
from tracerail.collector.cli.content import content_app
from tracerail.collector.cli.evals import eval_app
from tracerail.collector.cli.keys import keys_app
from tracerail.collector.cli.projects import erase, projects_app
from tracerail.collector.cli.provenance import provenance_app
from tracerail.collector.cli.report import report
from tracerail.collector.cli.review import review_app
from tracerail.version import __version__

app = typer.Typer(
    help="tracerail: LLM observability and guardrails.", no_args_is_help=True, add_completion=False
)
app.command("erase")(erase)
app.command("report")(report)
app.add_typer(collector_app, name="collector")
app.add_typer(audit_app, name="audit")
app.add_typer(provenance_app, name="provenance")
app.add_typer(keys_app, name="keys")
app.add_typer(projects_app, name="projects")
app.add_typer(eval_app, name="eval")
app.add_typer(content_app, name="content")
app.add_typer(review_app, name="review")


@app.callback(invoke_without_command=True)
def _main(
    version: Annotated[bool, typer.Option("--version", help="Print the version and exit.")] = False,
) -> None:
    if version:
        typer.echo(__version__)
        raise typer.Exit()


def main() -> None:
    """Run the ``tracerail`` command (the console entry point, through ``tracerail._cli``)."""
    app()

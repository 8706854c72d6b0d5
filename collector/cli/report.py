"""``tracerail report``: the compliance officer's report of a period, written by a running
collector (so it works against a remote one, with ``--api-key``)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated

import typer

from tracerail.collector.cli import common
from tracerail.config import DEFAULT_ENDPOINT


def report(
    from_: common.FromOpt = None,
    to: common.ToOpt = None,
    project: common.KeyProjectOpt = None,
    report_format: Annotated[str, typer.Option("--format", help="html, pdf or json.")] = "html",
    threshold: Annotated[
        float, typer.Option(min=0.0, max=1.0, help="Hallucination score threshold.")
    ] = 0.5,
    output: common.OutputOpt = None,
    endpoint: common.EndpointOpt = DEFAULT_ENDPOINT,
    api_key: common.ApiKeyOpt = None,
) -> None:
    """Write a compliance report for a period (default: the last 30 days)."""
    params = {
        "from": common.parse_when(from_),
        "to": common.parse_when(to, end=True),
        "project": project,
        "format": common.check_choice(report_format, ("html", "pdf", "json"), "--format"),
        "threshold": threshold,
    }
    with (
        common.exit_on(common.ApiFailure, prefix="tracerail"),
        common.call_api(endpoint, "/api/v1/reports/compliance", params, api_key) as response,
    ):
        body = response.read()
        disposition = response.headers.get("Content-Disposition", "")
    if output is None:
        match = re.search(r'filename="([^"/\\]+)"', disposition)
        output = Path(match[1] if match else f"compliance-report.{report_format}")
    output.write_bytes(body)
    typer.echo(f"wrote {output} ({len(body):,} bytes)")

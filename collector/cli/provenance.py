"""``tracerail provenance verify``: is this text the prompt or answer a record hashed?"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer

from tracerail.collector.cli import common
from tracerail.config import DEFAULT_ENDPOINT

provenance_app = typer.Typer(help="Check texts against provenance hashes.", no_args_is_help=True)


def _read_text(text: str | None, file: Path | None) -> str:
    if (text is None) == (file is None):
        raise typer.BadParameter("give exactly one of --text or --file ('-' reads stdin)")
    if text is not None:
        return text
    assert file is not None
    if str(file) == "-":
        return sys.stdin.read()
    return file.read_text(encoding="utf-8")


def _stored_hashes(
    endpoint: str, trace_id: str, span_id: str, api_key: str | None
) -> dict[str, str]:
    with common.call_api(
        endpoint, f"/api/v1/traces/{trace_id}", {}, api_key, timeout=30
    ) as response:
        trace = json.load(response)
    from tracerail import semconv

    for span in trace["spans"]:
        if span["span_id"] == span_id:
            attributes = span["attributes"]
            return {
                "prompt": attributes.get(semconv.TRACERAIL_PROVENANCE_PROMPT_SHA256, ""),
                "answer": attributes.get(semconv.TRACERAIL_PROVENANCE_ANSWER_SHA256, ""),
            }
    raise typer.BadParameter(f"span {span_id} is not in trace {trace_id}")


@provenance_app.command("verify")
def provenance_verify(
    text: Annotated[str | None, typer.Option(help="The text to check.")] = None,
    file: Annotated[
        Path | None, typer.Option(help="Read the text from a file ('-': stdin).")
    ] = None,
    sha256: Annotated[str | None, typer.Option(help="The recorded SHA-256 (hex).")] = None,
    trace_id: Annotated[str | None, typer.Option(help="Look the hash up on this trace...")] = None,
    span_id: Annotated[str | None, typer.Option(help="...and this generation span.")] = None,
    field: Annotated[str, typer.Option(help="prompt or answer (with --span-id).")] = "answer",
    endpoint: common.EndpointOpt = DEFAULT_ENDPOINT,
    api_key: common.ApiKeyOpt = None,
) -> None:
    """Check that a text is exactly the prompt or answer a provenance record hashed."""
    from tracerail.provenance import verify_text

    content = _read_text(text, file)
    if sha256 is None:
        if trace_id is None or span_id is None:
            raise typer.BadParameter("give --sha256, or --trace-id and --span-id")
        common.check_choice(field, ("prompt", "answer"), "--field")
        with common.exit_on(
            common.ApiFailure, ValueError, prefix=f"cannot read the record from {endpoint}"
        ):
            sha256 = _stored_hashes(endpoint, trace_id.lower(), span_id.lower(), api_key)[field]
        if not sha256:
            typer.echo(f"span {span_id} has no {field} hash", err=True)
            raise typer.Exit(2)
    if verify_text(content, sha256):
        typer.echo(f"match: the text hashes to {sha256.lower()}")
        return
    typer.echo("MISMATCH: the text is not the one recorded")
    raise typer.Exit(1)

"""``tracerail review sample | export | import``: the human review queue from the command line.

Like ``tracerail audit search`` these talk to a running collector over its HTTP API, never to
storage directly. ``sample`` and ``export`` take the same options (they pick the same sample);
``export`` writes one JSON object per line with empty ``label`` and ``note`` fields for offline
labelling; ``import`` checks every line first and writes nothing unless the whole file is valid.
"""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import IO, Annotated, Any, Final

import typer

from tracerail.collector import review
from tracerail.collector.cli import common
from tracerail.config import DEFAULT_ENDPOINT

review_app = typer.Typer(
    help="Human review: sample generations, export them, import labels.", no_args_is_help=True
)

PAGE: Final = 500
DEFAULT_DAYS: Final = 30
MAX_IMPORT: Final = 1_000  # labels per import: one request, all or nothing
EXPORT_FIELDS: Final = (
    "id",
    "trace_id",
    "span_id",
    "model",
    "period_start",
    "time",
    "question",
    "sources",
    "answer",
)

SeedOpt = Annotated[int, typer.Option(min=0, help="Same seed and data, same sample.")]
MarginOpt = Annotated[
    float,
    typer.Option(min=0.001, max=0.5, help="Half-width of each stratum's interval (0.05 = ±5 pts)."),
]
ConfidenceOpt = Annotated[float, typer.Option(min=0.5, max=0.999, help="Confidence level.")]
PerStratumOpt = Annotated[
    int | None, typer.Option(min=1, help="A fixed number per stratum instead of --margin.")
]
ModelOpt = Annotated[str | None, typer.Option(help="Only this model.")]
PeriodOpt = Annotated[str, typer.Option(help="Strata per day, week, month or all.")]
PopulationOpt = Annotated[
    str,
    typer.Option(help="sources (generations with sources), scored (with an auto score) or all."),
]

#: What a sample command does with the pages of the sample: show or write them.
Writer = Callable[[Iterator[dict[str, Any]], Path | None], None]


def _window(from_: str | None, to: str | None) -> dict[str, str]:
    """``--from``/``--to`` as ISO 8601 UTC. By default whole UTC days, the 30 ending today: the
    window, and so the sample, stays the same all day instead of moving with the clock."""
    end = common.parse_when(to or datetime.now(UTC).date().isoformat(), end=True)
    assert end is not None
    if from_:
        start = common.parse_when(from_)
    else:
        moment = datetime.fromisoformat(end.replace("Z", "+00:00")) - timedelta(days=DEFAULT_DAYS)
        start = common.parse_when(moment.date().isoformat())
    assert start is not None
    return {"from": start, "to": end}


def _pages(endpoint: str, params: dict[str, Any], api_key: str | None) -> Iterator[dict[str, Any]]:
    """Every page of the sample, first to last."""
    offset: int | None = 0
    while offset is not None:
        page_params = {**params, "offset": offset, "limit": PAGE}
        with common.call_api(endpoint, "/api/v1/review/sample", page_params, api_key) as response:
            page: dict[str, Any] = json.load(response)
        yield page
        offset = page["next_offset"]


def _sample_command(write: Writer) -> Callable[..., None]:
    """A command taking the options that pick a sample, handing its pages to ``write``."""

    def command(
        seed: SeedOpt = 1,
        margin: MarginOpt = 0.05,
        confidence: ConfidenceOpt = 0.95,
        per_stratum: PerStratumOpt = None,
        model: ModelOpt = None,
        from_: common.FromOpt = None,
        to: common.ToOpt = None,
        period: PeriodOpt = "week",
        population: PopulationOpt = "sources",
        output: common.OutputOpt = None,
        endpoint: common.EndpointOpt = DEFAULT_ENDPOINT,
        api_key: common.ApiKeyOpt = None,
    ) -> None:
        common.check_choice(period, review.PERIODS, "--period")
        common.check_choice(population, review.POPULATIONS, "--population")
        params = {
            "seed": seed,
            "margin": margin,
            "confidence": confidence,
            "per_stratum": per_stratum,
            "model": model,
            **_window(from_, to),
            "period": period,
            "population": population,
        }
        with common.exit_on(common.ApiFailure, prefix="tracerail"):
            write(_pages(endpoint, params, api_key), output)

    return command


def _pct(value: float | None) -> str:
    return "-" if value is None else f"±{value * 100:.1f} pts"


def show_sample(pages: Iterator[dict[str, Any]], output: Path | None) -> None:
    """Show the sample: strata, sizes, what labelling them buys, and the items.

    With --output, the whole sample (design, strata and items) is saved as JSON."""
    everything = list(pages)
    first = everything[0]
    items = [item for page in everything for item in page["items"]]
    if output is not None:
        output.write_text(json.dumps({**first, "items": items, "next_offset": None}, indent=2))
        typer.echo(f"wrote {len(items)} items to {output}", err=True)
        return
    design = first["design"]
    size = (
        f"{design['per_stratum']} per stratum"
        if design["per_stratum"]
        else f"±{design['margin'] * 100:g} pts at {design['confidence'] * 100:g}% per stratum"
    )
    typer.echo(
        f"seed {design['seed']}, {size}, period {design['period']}, "
        f"population {design['population']}, {design['from']} to {design['to']}"
    )
    typer.echo("model\tperiod\tgenerations\tsample\tlabelled\tmargin when labelled")
    for s in first["strata"]:
        typer.echo(
            f"{s['model'] or '-'}\t{s['period_start'] or 'all'}\t{s['population']}\t"
            f"{s['sample_size']}\t{s['labelled']}\t{_pct(s['margin_when_labelled'])}"
        )
    typer.echo(f"{first['total']} items, {first['labelled']} labelled")
    for item in items:
        label = (item["review"] or {}).get("label", "")
        typer.echo(
            f"{item['id']}\t{item['model']}\t{item['time']}\t{item['trace_id']}\t"
            f"{item['span_id']}\t{label}"
        )


def export_sample(pages: Iterator[dict[str, Any]], output: Path | None) -> None:
    """Write the sample as JSON Lines for offline labelling.

    Fill in "label" (grounded, hallucinated or unsure) and "note" on each line, then run
    tracerail review import FILE --reviewer ID."""
    written = 0
    design: dict[str, Any] = {}
    with ExitStack() as stack:
        out: IO[str] = (
            stack.enter_context(output.open("w", encoding="utf-8"))
            if output is not None
            else sys.stdout
        )
        for page in pages:
            design = page["design"]
            for item in page["items"]:
                line = {key: item[key] for key in EXPORT_FIELDS} | {"label": "", "note": ""}
                out.write(json.dumps(line, ensure_ascii=False) + "\n")
                written += 1
    # What reproduces this sample: record it with the labels.
    typer.echo(
        f"wrote {written} items to {output or 'stdout'}: seed {design.get('seed')}, "
        f"from {design.get('from')} to {design.get('to')}, period {design.get('period')}",
        err=True,
    )


review_app.command("sample", help=show_sample.__doc__)(_sample_command(show_sample))
review_app.command("export", help=export_sample.__doc__)(_sample_command(export_sample))


def _label_of(line: str) -> review.ReviewLabel | None:
    """The label on one exported line; ``None`` when it was left empty."""
    try:
        item = json.loads(line)
    except json.JSONDecodeError as exc:
        raise review.InvalidLabel(f"not JSON ({exc.msg})") from None
    if not isinstance(item, dict):
        raise review.InvalidLabel("expected a JSON object")
    return review.parse_label(item)


def read_labels(path: Path) -> tuple[list[tuple[int, review.ReviewLabel]], list[str]]:
    """The labelled lines of an exported file (line number, label) and every problem, by line.

    Lines with an empty label are skipped; blank lines are ignored."""
    labels: list[tuple[int, review.ReviewLabel]] = []
    problems: list[str] = []
    seen: dict[tuple[str, str], int] = {}
    with path.open(encoding="utf-8") as lines:
        for number, raw in enumerate(lines, start=1):
            if not raw.strip():
                continue
            try:
                label = _label_of(raw)
            except review.InvalidLabel as exc:
                problems.append(f"line {number}: {exc}")
                continue
            if label is None:
                continue
            key = (label.trace_id, label.span_id)
            if key in seen:
                problems.append(f"line {number}: span_id: already labelled on line {seen[key]}")
                continue
            seen[key] = number
            labels.append((number, label))
    return labels, problems


@review_app.command("import")
def import_labels(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="Labelled JSONL.")],
    reviewer: Annotated[str, typer.Option("--reviewer", help="Your reviewer id.")],
    endpoint: common.EndpointOpt = DEFAULT_ENDPOINT,
    api_key: common.ApiKeyOpt = None,
) -> None:
    """Post the labels of an exported file: all of them, or none. Needs an ingest key."""
    try:
        reviewer = review.check_reviewer(reviewer)
    except review.InvalidLabel as exc:
        raise typer.BadParameter(str(exc), param_hint="--reviewer") from None
    labels, problems = read_labels(file)
    if not problems and len(labels) > MAX_IMPORT:
        problems.append(f"{len(labels)} labels: at most {MAX_IMPORT} per import; split the file")
    if problems:
        for problem in problems:
            typer.echo(f"{file}: {problem}", err=True)
        typer.echo(f"{len(problems)} problem(s); nothing was written", err=True)
        raise typer.Exit(2)
    if not labels:
        typer.echo(f"{file}: no labelled lines; nothing to import", err=True)
        return
    body = {
        "reviewer": reviewer,
        "labels": [
            {"trace_id": x.trace_id, "span_id": x.span_id, "label": x.label, "note": x.note}
            for _, x in labels
        ],
    }
    try:
        with common.call_api(endpoint, "/api/v1/review/labels", {}, api_key, body=body) as response:
            result = json.load(response)
    except common.ApiFailure as exc:
        # The collector names labels by index: name the file's line instead.
        message = re.sub(
            r"labels[\[.](\d+)\]?\.?", lambda m: f"line {labels[int(m[1])][0]}: ", str(exc)
        )
        written = "" if message.startswith("cannot reach") else "; nothing was written"
        typer.echo(f"tracerail: {message}{written}", err=True)
        raise typer.Exit(2) from None
    typer.echo(
        f"imported {result['written']} labels by {reviewer} "
        f"(ledger batch {result['ledger']['seq']}, {result['ledger']['chain_hash'][:16]}…)"
    )

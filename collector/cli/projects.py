"""``tracerail projects set-retention | list`` and ``tracerail erase``: what is kept, and for
how long, per project."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from tracerail.collector.cli import common

projects_app = typer.Typer(help="Projects and their retention.", no_args_is_help=True)


@projects_app.command("set-retention")
def projects_set_retention(
    project: Annotated[str, typer.Option("--project", help="Project name.")],
    days: Annotated[int, typer.Option("--days", help="Days new spans are kept (1-3650).")],
    storage: common.StorageOpt = None,
) -> None:
    """Set a project's retention (applied through the spans table's TTL)."""
    from tracerail.collector.store.projects import InvalidProject, save_project

    try:
        with common.opened_store(common.settings_of(storage=storage)) as store:
            saved = save_project(store, project, days)
    except InvalidProject as exc:
        raise typer.BadParameter(str(exc)) from None
    typer.echo(f"{saved.name}: retention {saved.retention_days} days")


@projects_app.command("list")
def projects_list(storage: common.StorageOpt = None) -> None:
    """Projects and their retention."""
    from tracerail.collector.store.projects import list_projects

    with common.opened_store(common.settings_of(storage=storage)) as store:
        for p in list_projects(store):
            typer.echo(f"{p.name}\t{p.retention_days}")


def erase(
    user: Annotated[str, typer.Option("--user", help="The data subject's user id.")],
    project: Annotated[
        str | None, typer.Option("--project", help="Project (default: TRACERAIL_PROJECT).")
    ] = None,
    storage: common.StorageOpt = None,
) -> None:
    """Erase every span of one user in a project, and record the erasure (hash only)."""
    from tracerail.collector.store.erasure import erase_subject

    settings = common.settings_of(storage=storage)
    with common.opened_store(settings) as store:
        erasure = erase_subject(store, project or settings.project, user, "cli")
    typer.echo(json.dumps(erasure.as_json()))

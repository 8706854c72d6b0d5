"""``tracerail keys create | list | revoke``: API keys, stored only as salted hashes."""

from __future__ import annotations

from typing import Annotated

import typer

from tracerail.collector.cli import common

keys_app = typer.Typer(help="Create, list and revoke API keys.", no_args_is_help=True)


@keys_app.command("create")
def keys_create(
    project: Annotated[str, typer.Option("--project", help="Project name.")],
    scope: Annotated[str, typer.Option("--scope", help="ingest, read or admin.")] = "ingest",
    note: Annotated[str, typer.Option("--note", help="What the key is for.")] = "",
    storage: common.StorageOpt = None,
) -> None:
    """Create a key; it is printed once and stored only as a salted hash."""
    from tracerail.collector.store.keys import SCOPES, create_key
    from tracerail.collector.store.projects import InvalidProject, ensure_project

    common.check_choice(scope, SCOPES, "--scope")
    settings = common.settings_of(storage=storage)
    try:
        with common.opened_store(settings) as store:
            ensure_project(store, project, settings.retention_days)
            key, record = create_key(store, project, scope, note)  # type: ignore[arg-type]
    except InvalidProject as exc:
        raise typer.BadParameter(str(exc), param_hint="--project") from None
    typer.echo(key)
    typer.echo(
        f"key {record.key_id} for project {project} (scope {scope}); save it now, it is not "
        "shown again",
        err=True,
    )


@keys_app.command("list")
def keys_list(
    project: Annotated[str | None, typer.Option("--project", help="Only this project.")] = None,
    storage: common.StorageOpt = None,
) -> None:
    """List keys (id, project, scope, created, revoked); never their secrets."""
    from tracerail.collector.store.keys import list_keys

    with common.opened_store(common.settings_of(storage=storage)) as store:
        records = list_keys(store, project)
    for r in records:
        state = "revoked" if r.revoked else "active"
        created = r.created_at.isoformat() if r.created_at else ""
        typer.echo(f"{r.key_id}\t{r.project}\t{r.scope}\t{created}\t{state}\t{r.note}")


@keys_app.command("revoke")
def keys_revoke(
    key_id: Annotated[str, typer.Argument(help="The key id (as listed).")],
    storage: common.StorageOpt = None,
) -> None:
    """Revoke a key: requests with it fail from now on."""
    from tracerail.collector.store.keys import revoke_key

    with common.opened_store(common.settings_of(storage=storage)) as store:
        found = revoke_key(store, key_id)
    if not found:
        typer.echo(f"error: no key {key_id}", err=True)
        raise typer.Exit(1)
    typer.echo(f"revoked {key_id}")

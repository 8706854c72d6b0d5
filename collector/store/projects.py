"""Projects: the tenant every span, key and erasure belongs to, with its retention."""

from __future__ import annotations

import re
from dataclasses import dataclass

from tracerail.collector.errors import InvalidInput
from tracerail.collector.store.clickhouse import ClickHouseStore

PROJECT_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")


class InvalidProject(InvalidInput):
    """A project name or setting is not acceptable."""


@dataclass(frozen=True, slots=True)
class Project:
    name: str
    retention_days: int


def check_name(name: str) -> str:
    if not PROJECT_NAME.match(name):
        raise InvalidProject(
            f"project {name!r}: 1-64 characters, letters, digits, '_', '.', '-', "
            "starting with a letter or digit"
        )
    return name


def get_project(store: ClickHouseStore, name: str) -> Project | None:
    rows = store.query(
        f"SELECT name, retention_days FROM {store.table('projects')} FINAL "
        "WHERE name = {name:String}",
        {"name": name},
    )
    return Project(rows[0]["name"], int(rows[0]["retention_days"])) if rows else None


def list_projects(store: ClickHouseStore) -> list[Project]:
    rows = store.query(
        f"SELECT name, retention_days FROM {store.table('projects')} FINAL ORDER BY name"
    )
    return [Project(r["name"], int(r["retention_days"])) for r in rows]


def save_project(store: ClickHouseStore, name: str, retention_days: int) -> Project:
    """Create a project or change its retention (days spans of it are kept)."""
    check_name(name)
    if not 1 <= retention_days <= 3650:
        raise InvalidProject(f"retention_days must be between 1 and 3650, got {retention_days}")
    store.insert_row("projects", {"name": name, "retention_days": retention_days})
    store.forget_retentions()
    return Project(name, retention_days)


def ensure_project(store: ClickHouseStore, name: str, default_retention_days: int) -> Project:
    """The project, created with ``default_retention_days`` when it does not exist yet."""
    return get_project(store, name) or save_project(store, name, default_retention_days)

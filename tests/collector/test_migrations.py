"""Migrations: one module each, found by name, and an applied migration never changes.

``tests/data/schema/migrations_ddl.json`` records the DDL every migration produced when it was
released (single node and ``ON CLUSTER``). A database that applied a migration never runs it
again, so a change to that text would split installations into two schemas: the recorded
versions must render exactly as recorded. A new migration adds its entry (see the file's
``database`` and ``cluster`` for the names it is rendered with).
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tracerail.collector.store import migrations

RECORDED = Path(__file__).resolve().parent.parent / "data" / "schema" / "migrations_ddl.json"


def _recorded() -> dict[str, object]:
    data: dict[str, object] = json.loads(RECORDED.read_text())
    return data


@pytest.mark.parametrize(
    "entry", _recorded()["migrations"], ids=lambda entry: f"v{entry['version']}"
)
def test_a_released_migration_renders_the_ddl_recorded_for_it(entry: dict[str, object]) -> None:
    recorded = _recorded()
    database, cluster = str(recorded["database"]), str(recorded["cluster"])
    (migration,) = [m for m in migrations.MIGRATIONS if m.version == entry["version"]]
    assert migration.name == entry["name"]
    assert migration.statements(database) == entry["single_node"]
    assert migration.cluster_statements(database, cluster) == entry["cluster"]


def test_versions_run_from_one_without_gaps_one_module_each() -> None:
    versions = [m.version for m in migrations.MIGRATIONS]
    assert versions == list(range(1, len(versions) + 1))
    assert migrations.latest_version() == versions[-1]
    assert migrations.pending(set(versions[:-1])) == [migrations.MIGRATIONS[-1]]
    modules = sorted(p.stem for p in Path(migrations.__file__).parent.glob("m[0-9]*.py"))
    assert [int(name[1:4]) for name in modules] == versions


@pytest.fixture
def package(tmp_path: Path) -> Iterator[Path]:
    """An empty package ``fake_migrations`` importable from ``tmp_path``."""
    root = tmp_path / "fake_migrations"
    root.mkdir()
    (root / "__init__.py").write_text("")
    sys.path.insert(0, str(tmp_path))
    yield root
    sys.path.remove(str(tmp_path))
    for name in [n for n in sys.modules if n.startswith("fake_migrations")]:
        del sys.modules[name]


def _module(package: Path, name: str, version: int) -> None:
    (package / f"{name}.py").write_text(
        "from tracerail.collector.store.ddl import Statement\n"
        "from tracerail.collector.store.migrations import Migration\n"
        f"MIGRATION = Migration({version}, {name!r}, "
        "(Statement('ALTER TABLE {db}.spans DROP COLUMN IF EXISTS x', table='spans'),))\n"
    )


def test_adding_a_module_adds_the_migration(package: Path) -> None:
    _module(package, "m001_first", 1)
    _module(package, "m002_second", 2)
    (package / "helpers.py").write_text("MIGRATION = None\n")  # not mNNN_: not a migration
    found = migrations.discover("fake_migrations", [str(package)])
    assert [(m.version, m.name) for m in found] == [(1, "m001_first"), (2, "m002_second")]


@pytest.mark.parametrize(
    ("modules", "message"),
    [
        ([("m001_first", 2)], r"must define MIGRATION = Migration\(1, \.\.\.\)"),
        ([("m001_first", 1), ("m003_third", 3)], r"without gaps: \[1, 3\]"),
        ([("m001_first", 1), ("m001_again", 1)], r"without gaps: \[1, 1\]"),
    ],
)
def test_a_wrong_or_missing_version_is_refused_at_import(
    package: Path, modules: list[tuple[str, int]], message: str
) -> None:
    for name, version in modules:
        _module(package, name, version)
    with pytest.raises(ImportError, match=message):
        migrations.discover("fake_migrations", [str(package)])

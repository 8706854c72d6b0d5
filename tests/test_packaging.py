"""Packaging: the folder → package mapping, the light SDK import, the public surface."""

from __future__ import annotations

import json
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGE_ROOTS = {
    "sdk": "tracerail",
    "guardrails": "tracerail.guardrails",
    "collector": "tracerail.collector",
}


def _run(code: str) -> str:
    return subprocess.run(
        [sys.executable, "-c", code], check=True, capture_output=True, text=True
    ).stdout


def test_import_tracerail_stays_light() -> None:
    loaded = json.loads(_run("import sys, json, tracerail; print(json.dumps(sorted(sys.modules)))"))
    heavy = {"fastapi", "chdb", "clickhouse_connect", "presidio_analyzer", "spacy", "uvicorn"}
    assert heavy.isdisjoint({name.split(".")[0] for name in loaded})


def test_every_package_folder_is_listed_in_pyproject() -> None:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    listed = set(config["tool"]["setuptools"]["packages"])
    found = set()
    for folder, package in PACKAGE_ROOTS.items():
        for init in (ROOT / folder).rglob("__init__.py"):
            relative = init.parent.relative_to(ROOT / folder).parts
            found.add(".".join((package, *relative)))
    # sdk/ holds tracerail itself; its sub-folders other than the two mapped ones are subpackages.
    assert found == listed


@pytest.mark.slow
def test_non_editable_install_imports_all_three(tmp_path: Path) -> None:
    target = tmp_path / "site"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "-q",
            "--no-deps",
            "--no-build-isolation",
            "--target",
            str(target),
            str(ROOT),
        ],
        check=True,
        capture_output=True,
    )
    code = (
        "import tracerail, tracerail.guardrails, tracerail.collector, tracerail.semconv;"
        "print(tracerail.__file__); print(tracerail.collector.__file__)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        check=True,
        capture_output=True,
        text=True,
        env={"PYTHONPATH": str(target), "PATH": "/usr/bin:/bin"},
        cwd=tmp_path,
    ).stdout.splitlines()
    assert all(line.startswith(str(target)) for line in out)


@pytest.mark.parametrize("module", ["tracerail", "tracerail.collector", "tracerail.guardrails"])
def test_public_surface_is_declared(module: str) -> None:
    imported = __import__(module, fromlist=["__all__"])
    assert isinstance(imported.__all__, list)
    for name in imported.__all__:
        assert hasattr(imported, name), f"{module}.__all__ names missing {name}"


def test_sdk_public_api() -> None:
    import tracerail

    for name in ("init", "observe", "flush", "shutdown", "ConfigError", "GuardrailBlocked"):
        assert name in tracerail.__all__

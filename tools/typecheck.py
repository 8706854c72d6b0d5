"""Run mypy (strict) on the three packages under their import names.

The folders ``sdk/``, ``guardrails/`` and ``collector/`` become ``tracerail``,
``tracerail.guardrails`` and ``tracerail.collector`` only through setuptools' ``package-dir``
mapping, which mypy cannot read. This builds a tree of symlinks with the import layout and
checks that. Runs hold a lock on ``build/typecheck.lock``, so two at once take turns instead of
rebuilding the tree under each other.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TREE = ROOT / "build" / "typecheck"


def build_tree() -> Path:
    package = TREE / "tracerail"
    shutil.rmtree(TREE, ignore_errors=True)
    package.mkdir(parents=True)
    for entry in (ROOT / "sdk").iterdir():
        if entry.name != "__pycache__":
            os.symlink(entry, package / entry.name)
    for name in ("guardrails", "collector"):
        os.symlink(ROOT / name, package / name)
    return package


def main() -> int:
    TREE.parent.mkdir(exist_ok=True)
    with open(TREE.parent / "typecheck.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        return _check()


def _check() -> int:
    build_tree()
    command = [
        sys.executable,
        "-m",
        "mypy",
        "--config-file",
        str(ROOT / "pyproject.toml"),
        "-p",
        "tracerail",
    ]
    return subprocess.call(command, cwd=TREE, env={**os.environ, "MYPYPATH": str(TREE)})


if __name__ == "__main__":
    raise SystemExit(main())

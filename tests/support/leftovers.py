"""Processes the test session started and left running (issue 22: the suite leaves nothing behind).

Every process the tests start inherits :data:`MARKER` in its environment (``tests/conftest.py``
sets it before any is started), so one that was re-parented to init, e.g. an ingest worker of a
collector killed with ``kill -9``, is still found: by the marker in ``/proc/PID/environ``, among
the processes of this user only. The session's own descendants are found by ancestry too.

Not counted: the test process's own ``multiprocessing`` helpers (its forkserver and resource
tracker, which live as long as the process that started them and exit with it) and zombies
(already dead, waiting for their parent to read their status).
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterable
from typing import Final

import psutil

MARKER: Final = "TRACERAIL_TEST_SESSION"
_OWN_HELPERS: Final = (
    "from multiprocessing.forkserver import",
    "from multiprocessing.resource_tracker import",
)


def _alive(process: psutil.Process) -> bool:
    try:
        return process.is_running() and process.status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def _own_helper(process: psutil.Process, me: int) -> bool:
    try:
        if process.ppid() != me:
            return False
        command = " ".join(process.cmdline())
    except psutil.Error:
        return False
    return any(helper in command for helper in _OWN_HELPERS)


def _marked(session: str) -> Iterable[psutil.Process]:
    uid = os.getuid()
    for process in psutil.process_iter():
        try:
            if process.uids().real != uid:
                continue
            if process.environ().get(MARKER) == session:
                yield process
        except psutil.Error:  # gone meanwhile, a zombie, or not readable
            continue


def leftovers(session: str) -> list[psutil.Process]:
    """Live processes of this session other than this one and its own multiprocessing helpers."""
    me = psutil.Process()
    found = {p.pid: p for p in me.children(recursive=True)}
    found.update((p.pid, p) for p in _marked(session))
    found.pop(me.pid, None)
    return sorted(
        (p for p in found.values() if _alive(p) and not _own_helper(p, me.pid)),
        key=lambda p: p.pid,
    )


def wait_for_none(session: str, timeout: float) -> list[psutil.Process]:
    """:func:`leftovers`, waiting up to ``timeout`` seconds for processes that are exiting."""
    deadline = time.monotonic() + timeout
    while True:
        remaining = leftovers(session)
        if not remaining or time.monotonic() >= deadline:
            return remaining
        time.sleep(0.2)


def describe(process: psutil.Process) -> str:
    try:
        command = " ".join(process.cmdline())[:200]
        return f"pid {process.pid} (parent {process.ppid()}): {command}"
    except psutil.Error:
        return f"pid {process.pid} (gone)"


def kill(processes: Iterable[psutil.Process]) -> None:
    """SIGKILL each of ``processes`` (all of them started by this session)."""
    for process in processes:
        try:
            process.kill()
        except psutil.Error:
            pass

"""Children die with the collector: parent-death signal, lifeline pipe, forkserver launcher.

Each check runs in a fresh interpreter (the test process may already run a forkserver of its
own, which would make the checks pass without exercising anything).
"""

from __future__ import annotations

import multiprocessing
import signal
import subprocess
import sys
import textwrap
import time
from multiprocessing.connection import Connection
from pathlib import Path

import psutil
import pytest

from tracerail.collector import lifeline

linux_only = pytest.mark.skipif(
    not sys.platform.startswith("linux"), reason="the parent-death signal is Linux's"
)


def _python(code: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


@linux_only
def test_the_forkserver_preload_sets_the_parent_death_signal_only_in_a_forkserver() -> None:
    # The forkserver's program is `from multiprocessing.forkserver import main; main(...)`.
    in_forkserver = _python(
        f"""
        from multiprocessing.forkserver import main
        import {lifeline.MODULE} as lifeline
        print(lifeline.parent_death_signal())
        """
    )
    elsewhere = _python(
        f"""
        import {lifeline.MODULE} as lifeline
        print(lifeline.parent_death_signal())
        """
    )
    assert in_forkserver.stdout.split() == [str(int(signal.SIGKILL))], in_forkserver.stderr
    assert elsewhere.stdout.split() == ["0"], elsewhere.stderr


@linux_only
def test_ingest_workers_have_the_parent_death_signal() -> None:
    result = _python(
        """
        import asyncio
        from tracerail.collector import lifeline
        from tracerail.collector.prepare import PreparePool

        pool = PreparePool(2)
        asyncio.run(pool.start())
        jobs = [pool._submit(lifeline.parent_death_signal) for _ in range(4)]
        print(*sorted({job.future.result() for job in jobs}))
        pool.close()
        """
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == [str(int(signal.SIGKILL))]


def _gone(process: psutil.Process, timeout: float) -> bool:
    """Whether ``process`` ends within ``timeout`` s (a zombie has ended: init reaps it later)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if process.status() == psutil.STATUS_ZOMBIE:
                return True
        except psutil.NoSuchProcess:
            return True
        time.sleep(0.1)
    return False


def _hold_forever(reader: Connection) -> None:
    lifeline.hold(reader)
    time.sleep(3600)


def test_a_child_holding_a_lifeline_exits_when_the_parent_end_closes() -> None:
    line = lifeline.Lifeline()
    child = multiprocessing.get_context("spawn").Process(target=_hold_forever, args=(line.reader,))
    child.start()
    try:
        child.join(1.0)
        assert child.is_alive()  # holds while the parent's end is open
        line.close()  # what the parent's death does
        child.join(60)
        assert child.exitcode == lifeline.LIFELINE_EXIT_CODE
    finally:
        if child.is_alive():
            child.kill()
            child.join(30)


@linux_only
def test_the_forkserver_outlives_the_thread_that_made_the_first_pool() -> None:
    # The parent-death signal follows the starting *thread*: a forkserver started by a thread
    # that exits would be killed with it, and every worker after it.
    result = _python(
        """
        import asyncio, threading, time
        from tracerail.collector.prepare import PreparePool, _ready

        pools = []

        def first_pool():
            pool = PreparePool(1)
            asyncio.run(pool.start())  # forks its worker, through the forkserver
            pools.append(pool)

        thread = threading.Thread(target=first_pool)
        thread.start()
        thread.join()
        pool = pools[0]
        first = pool._submit(_ready).future.result()
        time.sleep(2)  # the parent-death signal is immediate: the workers would be gone
        second = pool._submit(_ready).future.result()
        print(first == second)
        pool.close()
        """
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["True"]


@linux_only
def test_the_exec_wrapper_runs_the_program_with_the_parent_death_signal(tmp_path: Path) -> None:
    wrapper = lifeline.exec_wrapper(sys.executable, tmp_path)
    code = f"import {lifeline.MODULE} as l, sys; print(l.parent_death_signal(), sys.argv[1:])"
    result = subprocess.run(
        [wrapper, "-c", code, "a b", "c"], capture_output=True, text=True, timeout=120, check=True
    )
    assert result.stdout.strip() == f"{int(signal.SIGKILL)} ['a b', 'c']"


@linux_only
def test_a_program_started_through_the_exec_wrapper_dies_with_its_parent(tmp_path: Path) -> None:
    wrapper = lifeline.exec_wrapper("/bin/sleep", tmp_path)
    # A parent that starts the wrapped program, reports its pid and then is killed.
    parent = subprocess.Popen(
        [
            sys.executable,
            "-c",
            f"import subprocess, time; p = subprocess.Popen([{wrapper!r}, '300']); "
            "print(p.pid, flush=True); time.sleep(300)",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert parent.stdout is not None
    child = psutil.Process(int(parent.stdout.readline()))
    try:
        deadline = time.monotonic() + 60
        while child.name() != "sleep":  # the wrapper has exec'd the program
            assert time.monotonic() < deadline, child.cmdline()
            time.sleep(0.05)
        parent.kill()
        parent.wait(30)
        assert _gone(child, 30), "the program outlived its parent"
    finally:
        if child.is_running():
            child.kill()

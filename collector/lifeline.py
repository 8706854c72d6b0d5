"""Child processes die with the collector, whatever killed it.

A ``kill -9`` (the OOM killer, a crash in native code) gives the collector no chance to stop
its children, so each child watches the collector itself, two ways:

- **Parent-death signal** (Linux): :func:`set_parent_death_signal` asks the kernel
  (``prctl(PR_SET_PDEATHSIG, SIGKILL)``) to kill this process when the *thread* that started it
  exits. It is inherited by neither ``fork`` nor a thread, so every process sets its own, and it
  follows the starting thread, not the process: a child must be started by a thread that lives
  as long as its process (:func:`ensure_forkserver`).
- **Lifeline pipe** (everywhere): the collector holds the only write end of a :class:`Lifeline`;
  :func:`hold` runs a thread in the child that blocks on the read end and ends the process at
  end-of-file, which the kernel delivers when the collector is gone, however it went.

Who gets what:

- the ``multiprocessing`` forkserver imports this module as a preload, which sets its
  parent-death signal (nothing happens on import elsewhere); it is started from a thread that
  never exits. Its portable fallback is multiprocessing's own "alive" pipe: the forkserver exits
  once the collector and every worker have closed it, which the workers' lifeline guarantees;
- ingest workers (:func:`worker_initializer`): the parent-death signal, relative to the
  forkserver (a single-threaded process), and a lifeline to the collector; they ignore SIGINT
  and stop when the collector, shutting down, closes their pool;
- multiprocessing's resource tracker exits by itself once the collector and the workers are gone
  (it reads a pipe they all hold);
- Chromium for PDF reports is started through :func:`exec_wrapper`, a script that sets the
  parent-death signal (relative to Playwright's driver) and execs Chromium. The driver itself
  exits when its standard input, a pipe from our process, closes, and takes the browser with
  it (Playwright's own lifeline); Chromium also exits when the driver's pipe to it closes.

All of them are in the collector's process group (Chromium aside: Playwright starts it in a
session of its own and stops it when the driver is signalled), so SIGTERM to the group stops
them at once, and SIGINT (Ctrl-C) stops them through the collector's shutdown.
"""

from __future__ import annotations

import os
import shlex
import signal
import sys
import threading
from concurrent.futures import Future
from pathlib import Path
from queue import SimpleQueue
from typing import TYPE_CHECKING, Any, Final

if TYPE_CHECKING:
    from collections.abc import Callable
    from multiprocessing.connection import Connection

MODULE: Final = "tracerail.collector.lifeline"  # the forkserver preloads it
PR_SET_PDEATHSIG: Final = 1  # <linux/prctl.h>
PR_GET_PDEATHSIG: Final = 2
LIFELINE_EXIT_CODE: Final = 70  # a worker whose collector is gone (EX_SOFTWARE)


def set_parent_death_signal(sig: int = signal.SIGKILL) -> bool:
    """Linux: have the kernel send ``sig`` to this process when its parent thread exits.

    Returns False where there is no such call (other systems) or it failed; the lifeline pipe
    then is the only watch.
    """
    if not sys.platform.startswith("linux"):
        return False
    import ctypes

    libc = ctypes.CDLL(None, use_errno=True)
    return int(libc.prctl(PR_SET_PDEATHSIG, int(sig), 0, 0, 0)) == 0


def parent_death_signal() -> int:
    """The parent-death signal of this process (0: none, or not Linux)."""
    if not sys.platform.startswith("linux"):
        return 0
    import ctypes

    libc = ctypes.CDLL(None, use_errno=True)
    value = ctypes.c_int(0)
    if int(libc.prctl(PR_GET_PDEATHSIG, ctypes.byref(value), 0, 0, 0)) != 0:
        return 0
    return value.value


class Lifeline:
    """A pipe whose write end only the parent holds: its read end says when the parent is gone.

    Pass :attr:`reader` to the children (pickled when they are started) and call :func:`hold`
    there; :meth:`close` in the parent ends them, as the parent's death would.
    """

    def __init__(self) -> None:
        from multiprocessing import Pipe

        self.reader, self._writer = Pipe(duplex=False)

    def close(self) -> None:
        self._writer.close()
        self.reader.close()


def _watch(reader: Connection) -> None:
    try:
        while True:
            reader.recv_bytes()  # the parent never writes: this returns only at end-of-file
    except (EOFError, OSError):
        pass
    os._exit(LIFELINE_EXIT_CODE)


def hold(reader: Connection) -> threading.Thread:
    """In a child: end this process (``os._exit``) as soon as the lifeline's parent is gone."""
    thread = threading.Thread(target=_watch, args=(reader,), name="tracerail-lifeline", daemon=True)
    thread.start()
    return thread


def worker_initializer(reader: Connection) -> None:
    """A worker process's first step: die with the forkserver (signal) and the collector (pipe).

    Ctrl-C (SIGINT to the process group) is left to the collector, which stops its workers as
    it shuts down, as multiprocessing's forkserver does; a worker would otherwise print a
    ``KeyboardInterrupt`` traceback and break its pool while the collector drains.
    """
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    set_parent_death_signal()
    hold(reader)


class _Launcher:
    """A daemon thread that runs what must be started by a thread living as long as the process."""

    def __init__(self) -> None:
        self.pid = os.getpid()
        self._jobs: SimpleQueue[tuple[Callable[[], Any], Future[Any]]] = SimpleQueue()
        threading.Thread(target=self._run, name="tracerail-launcher", daemon=True).start()

    def _run(self) -> None:
        while True:
            fn, future = self._jobs.get()
            try:
                future.set_result(fn())
            except BaseException as exc:
                future.set_exception(exc)

    def call(self, fn: Callable[[], Any]) -> Any:
        future: Future[Any] = Future()
        self._jobs.put((fn, future))
        return future.result()


_launcher_lock = threading.Lock()
_launchers: dict[int, _Launcher] = {}  # by pid: a forked child needs a thread of its own


def _launcher() -> _Launcher:
    with _launcher_lock:
        pid = os.getpid()
        if pid not in _launchers:
            _launchers.clear()
            _launchers[pid] = _Launcher()
        return _launchers[pid]


def ensure_forkserver() -> None:
    """Start multiprocessing's forkserver if it is not running, from a thread that never exits.

    The forkserver's parent-death signal fires when the thread that started it exits; started
    from, say, a request's thread it would die with that thread and take the workers with it.
    """
    from multiprocessing import forkserver

    _launcher().call(forkserver.ensure_running)


# Run as ``python -I -S -c EXEC_PROGRAM PARENT_PID PROGRAM ARGS...`` (stdlib only, no site: ~20
# ms): sets the parent-death signal, exits at once if PARENT_PID (the shell's $PPID, read as it
# started) is no longer the parent, i.e. it died before the signal was set, else execs PROGRAM.
EXEC_PROGRAM: Final = (
    "import ctypes, os, sys\n"
    f"ctypes.CDLL(None).prctl({PR_SET_PDEATHSIG}, {int(signal.SIGKILL)}, 0, 0, 0)\n"
    f"os.getppid() == int(sys.argv[1]) or os._exit({LIFELINE_EXIT_CODE})\n"
    "os.execv(sys.argv[2], sys.argv[2:])\n"
)


def exec_wrapper(program: str, directory: Path) -> str:
    """A program to start instead of ``program`` that dies with its parent (Linux).

    Writes a script into ``directory`` that sets the parent-death signal and execs ``program``
    with the arguments it is given; elsewhere (no such signal) returns ``program`` itself.
    """
    if not sys.platform.startswith("linux"):
        return program
    script = directory / f"{Path(program).name}-lifeline"
    python, code, target = (shlex.quote(v) for v in (sys.executable, EXEC_PROGRAM, program))
    script.write_text(f'#!/bin/sh\nexec {python} -I -S -c {code} "$PPID" {target} "$@"\n')
    script.chmod(0o700)
    return str(script)


def _in_forkserver() -> bool:
    """True in multiprocessing's forkserver (its ``-c`` program calls ``forkserver.main``)."""
    from multiprocessing import forkserver

    return getattr(sys.modules.get("__main__"), "main", None) is forkserver.main


if _in_forkserver():
    set_parent_death_signal()

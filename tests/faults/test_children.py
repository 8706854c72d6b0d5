"""The collector's child processes end with it, however it ends (issue 22).

``test_kill9.py`` kills a collector under load with ``kill -9`` and checks its processes are
gone; here: a signal to the collector's process group (a terminal's Ctrl-C, a supervisor's
SIGTERM to the group), and ``kill -9`` of a process that is printing a PDF (Playwright's driver
and Chromium).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest

from tests.support.subprocess_collector import CollectorProcess, still_running

pytestmark = [pytest.mark.slow, pytest.mark.e2e]

INGEST_WORKERS = 2
GONE_WITHIN_SECONDS = 10.0  # "a few seconds"; measured well under one (see the test output)


@pytest.fixture
def group_collector(tmp_path: Path) -> Iterator[CollectorProcess]:
    process = CollectorProcess(
        tmp_path / "collector",
        env={"TRACERAIL_INGEST_WORKERS": str(INGEST_WORKERS)},
        new_session=True,  # so signalling its group does not signal the tests
    )
    yield process
    process.stop()


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_signalling_the_collectors_process_group_ends_all_its_processes(
    group_collector: CollectorProcess, sig: signal.Signals
) -> None:
    group_collector.start()
    assert group_collector.process is not None
    below = group_collector.descendants()
    # forkserver, resource tracker and the ingest workers below the forkserver
    assert len(below) >= 2 + INGEST_WORKERS, [p.cmdline() for p in below]
    os.killpg(group_collector.process.pid, sig)
    signalled = time.monotonic()
    assert group_collector.process.wait(timeout=60) is not None
    survivors = still_running(below, GONE_WITHIN_SECONDS)
    assert not survivors, [(p.pid, p.cmdline()) for p in survivors]
    print(f"\n{sig.name} to the group: all gone after {time.monotonic() - signalled:.2f} s")
    log = group_collector.log.read_text() if group_collector.log else ""
    assert "Traceback" not in log, log[-3000:]


_PRINT_FOREVER = """
from tracerail.collector.reports.render import render_pdf
# The page never finishes loading (its script never returns), so the browser stays up until
# Playwright's 30 s timeout: long enough to kill this process while Chromium is running.
render_pdf("<script>for (;;) {}</script>")
"""


@pytest.mark.browser
def test_kill9_while_printing_a_pdf_leaves_no_browser_behind() -> None:
    from tracerail.collector.reports.render import find_chromium

    chromium = Path(os.path.realpath(find_chromium())).name  # PdfUnavailable says what to install
    printer = subprocess.Popen([sys.executable, "-c", _PRINT_FOREVER])
    try:
        parent = psutil.Process(printer.pid)
        deadline = time.monotonic() + 120
        while not any(chromium in p.name() for p in _safe(parent.children(recursive=True))):
            assert printer.poll() is None, "the printing process ended before Chromium was up"
            assert time.monotonic() < deadline, "Chromium did not start"
            time.sleep(0.1)
        time.sleep(1.0)  # Chromium's own helper processes (zygote, renderer) start
        below = parent.children(recursive=True)
        names = ", ".join(sorted({p.name() for p in _safe(below)}))
        printer.send_signal(signal.SIGKILL)
        printer.wait(timeout=30)
        killed = time.monotonic()
        survivors = still_running(below, GONE_WITHIN_SECONDS)
        assert not survivors, [(p.pid, p.cmdline()[:3]) for p in survivors]
        print(f"\n{len(below)} processes ({names}) gone after {time.monotonic() - killed:.2f} s")
    finally:
        if printer.poll() is None:
            printer.kill()
            printer.wait(timeout=30)


def _safe(processes: list[psutil.Process]) -> list[psutil.Process]:
    """Those of ``processes`` whose name can still be read."""
    readable = []
    for process in processes:
        try:
            process.name()
        except psutil.Error:
            continue
        readable.append(process)
    return readable

"""Moves this interpreter's clock when ``TRACERAIL_TEST_TIME_SHIFT_DAYS`` is set.

``make test-future`` / ``make test-past`` put this directory first on ``PYTHONPATH``, so the
test process and every Python process the tests start (collectors, workers, the forkserver,
the demo) import it at start-up and see "now" that many days away, ticking normally.
time-machine replaces the time functions inside Python only: thread waits and sleeps keep
working (libfaketime's ``faketime`` made ``threading.Event.wait(timeout)`` hang here), and the
in-process chDB keeps the real clock, as it would under any tool (it is linked statically).
"""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta

_DAYS = os.environ.get("TRACERAIL_TEST_TIME_SHIFT_DAYS")
if _DAYS:
    import time_machine

    _TRAVEL = time_machine.travel(datetime.now(UTC) + timedelta(days=float(_DAYS)), tick=True)
    _TRAVEL.start()

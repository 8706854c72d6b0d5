"""Timing one function for the micro-benchmarks: a few untimed warm-up calls, then one sample
per call (milliseconds), sorted."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any


def samples_ms(fn: Callable[[str], Any], arg: str, rounds: int, warmup: int = 3) -> list[float]:
    """Milliseconds of each of ``rounds`` calls ``fn(arg)`` after ``warmup`` untimed ones."""
    for _ in range(warmup):
        fn(arg)
    samples = []
    for _ in range(rounds):
        started = time.perf_counter()
        fn(arg)
        samples.append((time.perf_counter() - started) * 1e3)
    return sorted(samples)

"""Wall-clock timing for the chapters' benchmarks (the recipe for latency is ``mlsys_course.latency``)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from mlsys_course._validation import check_int


def best_time(func: Callable[[], Any], repeat: int = 3) -> tuple[float, Any]:
    """Run ``func`` ``repeat`` times; return the fastest run's seconds and the last result.

    The minimum is the least noisy estimate of the cost on a shared machine (other work only adds time).

    >>> seconds, value = best_time(lambda: sum(range(1000)), repeat=3)
    >>> value, seconds >= 0
    (499500, True)
    """
    repeat = check_int("repeat", repeat, minimum=1)
    best, result = float("inf"), None
    for _ in range(repeat):
        start = time.perf_counter()
        result = func()
        best = min(best, time.perf_counter() - start)
    return best, result

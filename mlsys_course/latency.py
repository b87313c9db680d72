"""Latency as a distribution: percentiles under a named definition, and timing a call.

In production a model is judged by the latency its slowest users see, not by the mean: one slow
request out of ten moves the mean a lot and the median not at all. Which value is "the p90" also
depends on the percentile definition, which matters on the small samples a dashboard often shows.
Timing one call many times (:func:`measure`) gives the distribution those percentiles describe.

Book: Chapter 1, "Machine Learning in Research Versus in Production: Computational priorities".
The chapter's experiments (the batch-size curve, the fan-out simulation) are in ``mlsys_course.lab.ch01``.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pandas as pd

from mlsys_course._validation import check_array, check_choice, check_int

__all__ = ["MAX_CALLS", "METHODS", "NUMPY_METHODS", "measure", "percentiles"]

#: The ``method`` values :func:`numpy.percentile` accepts (Hyndman & Fan's nine sample quantiles
#: plus numpy's four legacy ones), as of numpy 1.22+.
NUMPY_METHODS: tuple[str, ...] = (
    "inverted_cdf",
    "averaged_inverted_cdf",
    "closest_observation",
    "interpolated_inverted_cdf",
    "hazen",
    "weibull",
    "linear",
    "median_unbiased",
    "normal_unbiased",
    "lower",
    "higher",
    "midpoint",
    "nearest",
)

#: Every ``method`` :func:`percentiles` accepts: numpy's plus the textbook ``"nearest_rank"``.
METHODS: tuple[str, ...] = NUMPY_METHODS + ("nearest_rank",)

#: Most calls :func:`measure` makes (``repeat`` and ``warmup`` each): a million timings is plenty for any
#: percentile, and a bound keeps a typo such as ``repeat=10**12`` from running for ever.
MAX_CALLS = 1_000_000


def _check_q(q: Any) -> np.ndarray:
    if np.ndim(q) == 0 and not isinstance(q, (str, bytes)):
        q = [q]  # one percentile: a number, a numpy scalar or a 0-d array
    arr = check_array("q", q)
    if np.any((arr < 0) | (arr > 100)):
        raise ValueError(f"q must hold percentiles in [0, 100]; got {arr.tolist()}")
    return arr.astype(float)


def _label(q: float) -> str:
    return f"p{q:g}"


def _nearest_rank(sorted_values: np.ndarray, q: np.ndarray) -> np.ndarray:
    # rank = ceil(q/100 * n); rounding to 9 decimals first drops float noise such as
    # 57 * 100 / 100 landing a hair above 57, which would push ceil one rank too high.
    n = len(sorted_values)
    rank = np.ceil(np.round(q * n / 100.0, 9)).astype(int)
    return sorted_values[np.clip(rank, 1, n) - 1]


def percentiles(
    latencies: Any,
    q: float | Sequence[float] = (50, 90, 95, 99),
    *,
    method: str = "linear",
) -> pd.Series:
    """Latency percentiles under a chosen definition.

    Parameters
    ----------
    latencies : array-like of shape (n,)
        Observed latencies (any unit), finite.
    q : float or sequence of float, default (50, 90, 95, 99)
        Percentiles in [0, 100].
    method : str, default "linear"
        Any ``method`` of :func:`numpy.percentile` (see ``NUMPY_METHODS``; "linear" is numpy's
        default, interpolating between order statistics), or ``"nearest_rank"``: the textbook
        nearest-rank percentile, the smallest observed value such that at least q% of the data are
        <= it, i.e. ``sorted[ceil(q/100 * n) - 1]`` (the minimum for q = 0). It equals numpy's
        ``"inverted_cdf"``.

    Returns
    -------
    pandas.Series
        One value per percentile, indexed ``"p50"``, ``"p90"``, ... and named after ``method``.

    Book: Chapter 1, "Computational priorities" (latency percentiles: p50, p90, p95, p99).

    Example
    -------
    The book's ten request latencies (ms): one slow request out of ten.

    >>> ms = [100, 102, 100, 100, 99, 104, 110, 90, 3000, 95]
    >>> float(np.mean(ms))
    390.0
    >>> percentiles(ms, q=(50, 90)).round(1).tolist()
    [100.0, 399.0]
    >>> percentiles(ms, q=(50, 90), method="nearest_rank").tolist()
    [100, 110]
    """
    values = check_array("latencies", latencies)
    qs = _check_q(q)
    check_choice("method", method, METHODS)
    if method == "nearest_rank":
        result = _nearest_rank(np.sort(values), qs)
    else:
        result = np.percentile(values, qs, method=method)
    return pd.Series(result, index=[_label(x) for x in qs], name=method)


def measure(fn: Callable[..., Any], *args: Any, repeat: int = 100, warmup: int = 5, **kwargs: Any) -> np.ndarray:
    """Wall-clock latency of ``fn(*args, **kwargs)``, one number per call.

    Parameters
    ----------
    fn : callable
        The function to time.
    *args, **kwargs
        Passed to ``fn`` on every call.
    repeat : int, default 100
        Number of timed calls, in [1, ``MAX_CALLS``] (1,000,000).
    warmup : int, default 5
        Untimed calls made first, in [0, ``MAX_CALLS``], so caches, lazy imports and allocations settle.

    Returns
    -------
    numpy.ndarray of shape (repeat,)
        Per-call latencies in milliseconds, measured with :func:`time.perf_counter_ns`, in call order.

    Book: Chapter 1, "Computational priorities" (latency is a distribution: measure many calls).

    Example
    -------
    >>> ms = measure(sum, range(1000), repeat=20)
    >>> ms.shape, bool((ms > 0).all())
    ((20,), True)
    """
    if not callable(fn):
        raise TypeError(f"fn must be callable; got {fn!r} of type {type(fn).__name__}")
    repeat = check_int("repeat", repeat, minimum=1, maximum=MAX_CALLS)
    warmup = check_int("warmup", warmup, minimum=0, maximum=MAX_CALLS)
    for _ in range(warmup):
        fn(*args, **kwargs)
    out = np.empty(repeat, dtype=np.int64)
    clock = time.perf_counter_ns
    for i in range(repeat):
        start = clock()
        fn(*args, **kwargs)
        out[i] = clock() - start
    return out / 1e6

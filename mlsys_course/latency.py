"""Latency as a distribution: percentiles under a named definition, and timing a call.

In production a model is judged by the latency its slowest users see, not by the mean: one slow
request out of ten moves the mean a lot and the median not at all. Which value is "the p90" also
depends on the percentile definition, which matters on the small samples a dashboard often shows.
Timing one call many times (:func:`measure`) gives the distribution those percentiles describe, and
:func:`budget` adds up the parts of a request's path (network, queueing, inference) as distributions.

Book: Chapter 1, "Machine Learning in Research Versus in Production: Computational priorities"; chapter 7,
"ML on the Cloud and on the Edge" for the latency budget.
The chapter's experiments (the batch-size curve, the fan-out simulation) are in ``mlsys_course.lab.ch01``.
"""

from __future__ import annotations

import numbers
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from mlsys_course._validation import (
    RandomState,
    check_array,
    check_choice,
    check_int,
    check_random_state,
    check_real,
    show,
)

__all__ = ["MAX_CALLS", "MAX_SAMPLES", "METHODS", "NUMPY_METHODS", "budget", "measure", "percentiles"]

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

#: Most Monte Carlo draws :func:`budget` makes per component (10 million: 80 MB per component).
MAX_SAMPLES = 10_000_000


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


def _check_component(name: str, value: Any) -> np.ndarray | float:
    scalar = np.ndim(value) == 0
    if isinstance(value, (bool, np.bool_, str, bytes)) or (scalar and not isinstance(value, numbers.Real)):
        raise TypeError(f"{name} must be a number of ms or an array of measured ms; got {show(value)}")
    if scalar:
        return check_real(name, value, low=0.0)
    arr = check_array(name, value).astype(float)
    if np.any(arr < 0):
        raise ValueError(f"{name} must hold latencies >= 0 ms; got a minimum of {arr.min()}")
    return arr


def budget(
    components: Mapping[str, Any],
    *,
    objective_ms: float,
    q: float = 99.0,
    n_samples: int = 100_000,
    random_state: RandomState = None,
) -> pd.DataFrame:
    """The latency budget of a request path: each part's percentiles, their total, and the objective.

    A request's latency is the sum of its parts: network round trip, queueing in the service, inference,
    and so on. Each part is either a fixed number of ms or a distribution given by measured samples. The
    total's distribution is estimated by Monte Carlo: ``n_samples`` times, draw each measured part
    independently (with replacement, from its samples) and add the fixed parts. The p99 of a sum is *not*
    the sum of the p99s: parts are rarely slow at the same time, so adding the parts' p99s overstates
    the total's (a budget that splits its objective into per-part p99 allowances is conservative).
    Independence is the assumption here; when parts are correlated (a slow model also lengthens the
    queue), measure them together and pass their sum as one part.

    Parameters
    ----------
    components : mapping of str to float or array-like
        Part name -> a fixed latency in ms (>= 0) or a 1-d array of measured latencies in ms (>= 0).
    objective_ms : float
        The latency objective at percentile ``q`` (e.g. "p99 under 100 ms"), in ms, > 0.
    q : float, default 99.0
        The percentile the objective is set at, in (0, 100].
    n_samples : int, default 100_000
        Monte Carlo draws, in [1_000, ``MAX_SAMPLES``] (10 million).
    random_state : int, numpy.random.Generator or None, default None
        Seeds the draws.

    Returns
    -------
    pandas.DataFrame
        One row per part, in the given order, and a last row ``"total"``; columns ``kind`` ("fixed",
        "measured" or "sum"), ``mean_ms``, ``p50_ms``, ``p<q>_ms`` (a part's from its own samples, the
        total's from the Monte Carlo sum), ``tail_share`` (the part's share of the slowest requests: its
        mean over the draws whose total is at or above the total's p<q>, divided by their mean total; the
        shares add up to 1) and ``within_objective`` (its p<q> <= ``objective_ms``: for the total, whether
        the path meets the objective; for a part, whether it fits the objective even alone).

    Book: Chapter 7, "ML on the Cloud and on the Edge" (the network's share of latency);
    chapter 1, "Computational priorities" (latency percentiles).

    Example
    -------
    A 40 ms round trip to the cloud, queueing and inference measured (here: drawn) in ms, a p99 objective of 70 ms:

    >>> rng = np.random.default_rng(0)
    >>> queueing = rng.exponential(5.0, size=10_000)
    >>> inference = 4.0 + rng.exponential(1.0, size=10_000)
    >>> parts = {"network": 40.0, "queueing": queueing, "inference": inference}
    >>> table = budget(parts, objective_ms=70, random_state=0)
    >>> table[["kind", "p50_ms", "p99_ms", "tail_share", "within_objective"]].round(2)
                   kind  p50_ms  p99_ms  tail_share  within_objective
    network       fixed   40.00   40.00        0.55              True
    queueing   measured    3.40   22.79        0.38              True
    inference  measured    4.69    8.51        0.07              True
    total           sum   48.50   67.91        1.00              True

    The path meets the objective, although the parts' p99s add up to more than 70 ms:

    >>> round(float(table["p99_ms"].drop("total").sum()), 1)
    71.3
    """
    if not isinstance(components, Mapping) or not components:
        raise TypeError(f"components must be a non-empty dict of name -> ms or array of ms; got {show(components)}")
    parts = {}
    for key, value in components.items():
        if not isinstance(key, str):
            raise TypeError(f"components must have str names; got {show(key)}")
        if key == "total":
            raise ValueError("components must not have a part named 'total' (the name of the sum's row); got 'total'")
        parts[key] = _check_component(f"components[{key!r}]", value)
    objective_ms = check_real("objective_ms", objective_ms, low=0.0, low_open=True)
    q = check_real("q", q, low=0.0, high=100.0, low_open=True)
    n_samples = check_int("n_samples", n_samples, minimum=1_000, maximum=MAX_SAMPLES)
    rng = check_random_state("random_state", random_state)

    qs = [50.0, q] if q != 50 else [50.0]
    labels = [f"{_label(x)}_ms" for x in qs]
    draws = {key: (rng.choice(v, size=n_samples) if isinstance(v, np.ndarray) else np.full(n_samples, v))
             for key, v in parts.items()}
    total = np.sum(list(draws.values()), axis=0)
    total_q = float(np.percentile(total, q))
    tail = total >= total_q
    rows = {}
    for key, v in parts.items():
        measured = isinstance(v, np.ndarray)
        values = percentiles(v, qs).to_numpy() if measured else np.full(len(qs), v)
        rows[key] = {"kind": "measured" if measured else "fixed", "mean_ms": float(np.mean(v)),
                     **dict(zip(labels, values)), "tail_share": float(draws[key][tail].mean() / total[tail].mean())
                     if total[tail].mean() > 0 else float("nan")}
    rows["total"] = {"kind": "sum", "mean_ms": float(total.mean()),
                     **dict(zip(labels, np.percentile(total, qs))), "tail_share": 1.0}
    table = pd.DataFrame.from_dict(rows, orient="index")
    table["within_objective"] = table[labels[-1]] <= objective_ms
    return table

"""Latency as a distribution: percentiles, timing a call, and the batch-size trade-off.

In production a model is judged by the latency its slowest users see, not by the mean: one slow
request out of ten moves the mean a lot and the median not at all. Which value is "the p90" also
depends on the percentile definition, which matters on the small samples a dashboard often shows.
Batching queries raises throughput but makes every query in the batch wait for the whole batch.

Book: Chapter 1, "Machine Learning in Research Versus in Production: Computational priorities".
"""

from __future__ import annotations

import itertools
import math
import time
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pandas as pd

from ._validation import RandomState, check_array, check_choice, check_int, check_random_state

#: The book's ten request latencies in milliseconds (chapter 1): one 3-second outlier among ~100 ms requests.
BOOK_LATENCIES_MS: np.ndarray = np.array([100, 102, 100, 100, 99, 104, 110, 90, 3000, 95], dtype=float)

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


def _check_q(q: Any) -> np.ndarray:
    if np.isscalar(q) and not isinstance(q, (str, bytes)):
        q = [q]
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


def percentile_table(
    latencies: Any,
    q: float | Sequence[float] = (50, 90, 95, 99),
    methods: Sequence[str] = ("linear", "nearest_rank", "lower", "higher", "midpoint", "nearest"),
) -> pd.DataFrame:
    """The same percentiles under several definitions, side by side.

    Parameters
    ----------
    latencies : array-like of shape (n,)
        Observed latencies, finite.
    q : float or sequence of float, default (50, 90, 95, 99)
        Percentiles in [0, 100].
    methods : sequence of str
        Definitions to compare, each accepted by :func:`percentiles`.

    Returns
    -------
    pandas.DataFrame
        One row per method (index named ``"method"``), one column per percentile (``"p50"``, ...),
        as floats.

    Book: Chapter 1, "Computational priorities".

    Example
    -------
    >>> ms = [100, 102, 100, 100, 99, 104, 110, 90, 3000, 95]
    >>> percentile_table(ms, q=(50, 90), methods=("linear", "nearest_rank", "higher")).round(1)
                      p50     p90
    method
    linear          100.0   399.0
    nearest_rank    100.0   110.0
    higher          100.0  3000.0
    """
    if isinstance(methods, str) or not isinstance(methods, Sequence) or len(methods) == 0:
        raise TypeError(f"methods must be a non-empty sequence of method names; got {methods!r}")
    rows = [percentiles(latencies, q, method=m).astype(float) for m in methods]
    table = pd.DataFrame(rows, index=pd.Index(list(methods), name="method"))
    return table


def measure(fn: Callable[..., Any], *args: Any, repeat: int = 100, warmup: int = 5, **kwargs: Any) -> np.ndarray:
    """Wall-clock latency of ``fn(*args, **kwargs)``, one number per call.

    Parameters
    ----------
    fn : callable
        The function to time.
    *args, **kwargs
        Passed to ``fn`` on every call.
    repeat : int, default 100
        Number of timed calls (>= 1).
    warmup : int, default 5
        Untimed calls made first (>= 0), so caches, lazy imports and allocations settle.

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
    repeat = check_int("repeat", repeat, minimum=1)
    warmup = check_int("warmup", warmup, minimum=0)
    for _ in range(warmup):
        fn(*args, **kwargs)
    out = np.empty(repeat, dtype=np.int64)
    clock = time.perf_counter_ns
    for i in range(repeat):
        start = clock()
        fn(*args, **kwargs)
        out[i] = clock() - start
    return out / 1e6


def _batches(X: Any, size: int) -> list[Any]:
    """Consecutive batches of ``size`` rows covering X once (a last short batch is dropped)."""
    take = X.iloc if isinstance(X, (pd.DataFrame, pd.Series)) else X
    n_full = len(X) // size
    return [take[i * size : (i + 1) * size] for i in range(n_full)]


def throughput_curve(
    predict: Callable[[Any], Any],
    X: Any,
    batch_sizes: Sequence[int] = (1, 2, 4, 8, 16, 32, 64, 128, 256),
    *,
    repeat: int = 30,
    warmup: int = 3,
) -> pd.DataFrame:
    """Latency and throughput of a predict function at several batch sizes.

    For each batch size ``b``, the rows of ``X`` are cut into consecutive batches of ``b`` queries,
    which are served one after another (cycling through ``X``), ``warmup`` untimed calls and then
    ``repeat`` timed calls of ``predict(batch)``. The default is 9 sizes x 33 calls: a fraction of a second
    for a small linear scikit-learn model (each call's fixed overhead dominates small batches).

    Parameters
    ----------
    predict : callable
        Takes a batch (rows of ``X``) and returns predictions, e.g. ``model.predict``.
    X : numpy.ndarray or pandas.DataFrame
        Queries, at least ``max(batch_sizes)`` rows.
    batch_sizes : sequence of int, default (1, 2, 4, ..., 256)
        Batch sizes to time, each in [1, len(X)].
    repeat : int, default 30
        Timed calls per batch size (>= 1). The p99 of 30 calls is close to their maximum.
    warmup : int, default 3
        Untimed calls per batch size (>= 0).

    Returns
    -------
    pandas.DataFrame
        One row per batch size with columns ``batch_size``; ``latency_ms_p50`` and
        ``latency_ms_p99``: time to answer one batch (what each query in it waits), numpy "linear"
        percentiles; ``per_query_ms``: ``latency_ms_p50 / batch_size``; ``throughput_qps``: queries
        answered per second at the median, ``batch_size / latency_ms_p50 * 1000``.

    Book: Chapter 1, "Computational priorities" (latency vs throughput, batching queries).

    Example
    -------
    >>> X = np.zeros((8, 3))
    >>> curve = throughput_curve(lambda b: b.sum(axis=1), X, batch_sizes=(1, 8), repeat=5)
    >>> curve.columns.tolist()
    ['batch_size', 'latency_ms_p50', 'latency_ms_p99', 'per_query_ms', 'throughput_qps']
    >>> curve["batch_size"].tolist()
    [1, 8]
    """
    if not callable(predict):
        raise TypeError(f"predict must be callable; got {predict!r} of type {type(predict).__name__}")
    if not hasattr(X, "__len__") or not (hasattr(X, "iloc") or hasattr(X, "shape")):
        raise TypeError(f"X must be a numpy array or a pandas DataFrame; got {type(X).__name__}")
    if len(X) == 0:
        raise ValueError("X must have at least 1 row; got 0")
    if isinstance(batch_sizes, (str, bytes)) or not isinstance(batch_sizes, Sequence) or len(batch_sizes) == 0:
        raise TypeError(f"batch_sizes must be a non-empty sequence of ints; got {batch_sizes!r}")
    sizes = [check_int("batch_sizes", b, minimum=1, maximum=len(X)) for b in batch_sizes]
    repeat = check_int("repeat", repeat, minimum=1)
    warmup = check_int("warmup", warmup, minimum=0)

    rows = []
    for size in sizes:
        served = itertools.cycle(_batches(X, size))
        ms = measure(lambda: predict(next(served)), repeat=repeat, warmup=warmup)
        p50, p99 = np.percentile(ms, [50, 99])
        rows.append(
            {
                "batch_size": size,
                "latency_ms_p50": p50,
                "latency_ms_p99": p99,
                "per_query_ms": p50 / size,
                "throughput_qps": size / p50 * 1000.0 if p50 > 0 else math.inf,
            }
        )
    return pd.DataFrame(rows)


def fan_out(
    latencies: Any, n_calls: int, *, n_samples: int = 10_000, random_state: RandomState = None
) -> np.ndarray:
    """Latencies of a request that fans out to ``n_calls`` parallel calls and waits for the slowest.

    Each simulated request draws ``n_calls`` independent latencies from the observed ``latencies``
    (with replacement) and takes their maximum. With independent calls, the request is slower than a
    single call's p99 with probability ``1 - 0.99 ** n_calls``: at 50 calls, 39% of requests are.

    Parameters
    ----------
    latencies : array-like of shape (n,)
        Observed single-call latencies, finite and non-negative.
    n_calls : int
        Parallel calls per request (>= 1).
    n_samples : int, default 10_000
        Number of requests to simulate (>= 1).
    random_state : int, numpy.random.Generator or None
        Seed for the draws.

    Returns
    -------
    numpy.ndarray of shape (n_samples,)
        The simulated request latencies, in the unit of ``latencies``.

    Book: Chapter 1, "Computational priorities" (why high percentiles matter).

    Example
    -------
    >>> page = fan_out(BOOK_LATENCIES_MS, n_calls=10, n_samples=2000, random_state=0)
    >>> float(np.median(page))   # with 10 calls, most pages include the 3000 ms outlier
    3000.0
    """
    values = check_array("latencies", latencies)
    if np.any(values < 0):
        raise ValueError(f"latencies must be non-negative; got minimum {values.min()}")
    n_calls = check_int("n_calls", n_calls, minimum=1)
    n_samples = check_int("n_samples", n_samples, minimum=1)
    rng = check_random_state("random_state", random_state)
    return values[rng.integers(0, len(values), size=(n_samples, n_calls))].max(axis=1)

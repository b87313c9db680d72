"""Chapter 1: ML in production: the lab code of the chapter's notebook (experiment drivers and exercise checks).

The recipes are in :mod:`mlsys_course.latency` (``percentiles``, ``measure``) and
:mod:`mlsys_course.objectives` (``alerts_at_budget``); this module holds what only the chapter needs: the
book's ten latencies, the batch-size benchmark behind "batch queries or not?", and the fan-out simulation.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pandas as pd

from mlsys_course._validation import RandomState, check_array, check_int, check_random_state
from mlsys_course.datasets import make_transactions
from mlsys_course.exercises import exercise, is_number
from mlsys_course.latency import measure, percentiles

#: The book's ten request latencies in milliseconds (chapter 1): one 3-second outlier among ~100 ms requests.
BOOK_LATENCIES_MS: np.ndarray = np.array([100, 102, 100, 100, 99, 104, 110, 90, 3000, 95], dtype=float)


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
    given = list(batch_sizes) if hasattr(batch_sizes, "__iter__") and not isinstance(batch_sizes, (str, bytes)) else []
    if not given:
        raise TypeError(f"batch_sizes must be a non-empty sequence of ints; got {batch_sizes!r}")
    sizes = [check_int("batch_sizes", b, minimum=1, maximum=len(X)) for b in given]
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


def fan_out(latencies: Any, n_calls: int, *, n_samples: int = 10_000, random_state: RandomState = 0) -> np.ndarray:
    """Latencies of a request that fans out to ``n_calls`` parallel calls and waits for the slowest.

    Each simulated request draws ``n_calls`` independent latencies from the observed ``latencies``
    (with replacement) and takes their maximum. With independent calls, the request is slower than a
    single call's p99 with probability ``1 - 0.99 ** n_calls``: at 50 calls, 39% of requests are.

    Parameters
    ----------
    latencies : array-like of shape (n,)
        Observed single-call latencies, finite and non-negative.
    n_calls : int
        Parallel calls per request, in [1, 10_000]; ``n_calls * n_samples`` at most 100_000_000.
    n_samples : int, default 10_000
        Number of requests to simulate, in [1, 10_000_000].
    random_state : int, numpy.random.Generator or None, default 0
        Seed for the draws (a lab driver: seeded by default, so the notebook's numbers repeat).

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
    n_calls = check_int("n_calls", n_calls, minimum=1, maximum=10_000)
    n_samples = check_int("n_samples", n_samples, minimum=1, maximum=10_000_000)
    if n_calls * n_samples > 100_000_000:
        raise ValueError(f"n_calls * n_samples must be <= 100_000_000 (the draws are held in memory); "
                         f"got {n_calls} * {n_samples} = {n_calls * n_samples}")
    rng = check_random_state("random_state", random_state)
    return values[rng.integers(0, len(values), size=(n_samples, n_calls))].max(axis=1)


# --- Exercise checks ----------------------------------------------------------------------------------
@exercise("1.1")
def _smallest_q_reaching_the_outlier(answer: Any) -> tuple[bool, str]:
    if not is_number(answer):
        return False, f"the answer must be a number; got {type(answer).__name__}."
    q_star = next(q for q in range(1, 101) if percentiles(BOOK_LATENCIES_MS, [q], method="nearest_rank").iloc[0] == 3000)
    if answer == q_star:
        return True, f"the nearest-rank percentile first reaches the 3000 ms outlier at q = {q_star}."
    value = percentiles(BOOK_LATENCIES_MS, [float(answer)], method="nearest_rank").iloc[0] if 0 < answer <= 100 else None
    if value is not None and value == 3000:
        return False, f"at q = {answer} it is already 3000 ms; look for the smallest such q."
    shown = f"{value:g} ms" if value is not None else "undefined (q must be in (0, 100])"
    return False, f"at q = {answer} the nearest-rank percentile is {shown}, not the 3000 ms outlier."


@exercise("1.2")
def _fan_out_calls(answer: Any) -> tuple[bool, str]:
    if not is_number(answer) or answer != int(answer):
        return False, f"the answer must be a whole number of calls; got {answer!r}."
    n_star = int(np.ceil(np.log(0.5) / np.log(0.99) + 1e-12))  # smallest n with 1 - 0.99**n > 0.5
    share = 1 - 0.99 ** int(answer)
    if int(answer) == n_star:
        return True, f"with {n_star} calls, {share:.2%} of page loads hit at least one call slower than its p99."
    side = "too few" if answer < n_star else "more than needed"
    return False, f"with {int(answer)} calls, {share:.2%} of page loads hit a slow call: {side}."


#: The world exercise 1.3 judges a rule on: a new seed, so a rule must generalise, not memorise.
EXERCISE_1_3_WORLD = {"n": 150_000, "random_state": 1}


@exercise("1.3")
def _fraud_rule(answer: Any) -> tuple[bool, str]:
    if not callable(answer):
        return False, f"the answer must be a function of the transactions frame; got {type(answer).__name__}."
    world = make_transactions(**EXERCISE_1_3_WORLD)
    january = world[world["timestamp"].dt.month == 1]
    flags = np.asarray(answer(january))
    if flags.shape != (len(january),) or flags.dtype != bool:
        return False, f"the rule must return one boolean per row ({len(january)}); got shape {flags.shape}, dtype {flags.dtype}."
    fraud = january["is_fraud"].to_numpy() == 1
    caught = int((flags & fraud).sum())
    recall = caught / fraud.sum()
    precision = caught / flags.sum() if flags.any() else 0.0
    summary = f"on a new world's January it catches {recall:.0%} of frauds with {precision:.0%} of alerts being fraud"
    if recall >= 1 / 3 and precision >= 0.3:
        return True, summary + "."
    return False, summary + " (needs at least 33% of frauds with at least 30% of alerts being fraud)."

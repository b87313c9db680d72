"""Chapter 1: ML in production: the lab code of the chapter's notebook (experiment drivers and exercise checks).

The recipes are in :mod:`mlsys_course.latency` (``percentiles``, ``measure``) and
:mod:`mlsys_course.objectives` (``alerts_at_budget``); this module holds what only the chapter needs: the
book's ten latencies, the batch-size benchmark and the fill-wait simulation behind "batch queries or not?",
the fan-out simulation, the simulated analyst who rewrites a fraud rule each month, and the exercise checks.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pandas as pd

from mlsys_course._validation import RandomState, check_array, check_frame, check_int, check_random_state, check_real
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


def poisson_arrivals(rate_qps: float, n: int, *, random_state: RandomState = 0) -> np.ndarray:
    """Arrival times (ms) of ``n`` queries arriving independently at ``rate_qps`` queries per second.

    The gaps are exponential with mean ``1000 / rate_qps`` ms (a Poisson process), the usual model of
    requests from many independent users.

    Parameters
    ----------
    rate_qps : float
        Mean arrival rate, queries per second (> 0).
    n : int
        Number of queries, in [1, 10_000_000].
    random_state : int, numpy.random.Generator or None, default 0
        Seed for the gaps (a lab driver: seeded by default).

    Returns
    -------
    numpy.ndarray of shape (n,)
        Increasing arrival times in milliseconds, the first one gap after 0.

    Book: Chapter 1, "Computational priorities" (batching queries).

    Example
    -------
    >>> t = poisson_arrivals(1000, 50_000, random_state=0)
    >>> round(float(np.diff(t).mean()), 2)   # 1000 queries per second: one every 1 ms on average
    1.0
    """
    rate = check_real("rate_qps", rate_qps, low=0, low_open=True)
    n = check_int("n", n, minimum=1, maximum=10_000_000)
    rng = check_random_state("random_state", random_state)
    return np.cumsum(rng.exponential(1000.0 / rate, size=n))


def batch_latency(arrivals_ms: Any, batch_size: int, service_ms: float) -> np.ndarray:
    """Latency of each query when a server waits for ``batch_size`` queries and answers them together.

    Queries are grouped in arrival order into batches of ``batch_size``. A batch starts when its last query
    has arrived *and* the server has finished the previous batch, and takes ``service_ms``; every query in
    it is answered when the batch ends. A query's latency is its *fill wait* (for the rest of its batch to
    arrive), plus any *queueing* behind earlier batches, plus the service time. A last incomplete batch
    (fewer than ``batch_size`` queries) is not simulated. With the server keeping up
    (``batch_size / service_ms`` above the arrival rate) and evenly spaced arrivals ``1 / rate`` apart,
    the mean latency is ``(batch_size - 1) / (2 rate) + service_ms``; when it cannot keep up, the queue
    and the latencies grow without bound as more queries arrive.

    Parameters
    ----------
    arrivals_ms : array-like of shape (n,)
        Non-decreasing arrival times in ms (e.g. :func:`poisson_arrivals`), ``n >= batch_size``.
    batch_size : int
        Queries per batch, >= 1.
    service_ms : float
        Time to answer one batch of ``batch_size`` queries, in ms (> 0).

    Returns
    -------
    numpy.ndarray of shape (batch_size * (n // batch_size),)
        Each simulated query's latency in ms, in arrival order.

    Book: Chapter 1, "Computational priorities": batching 10 queries in 10 ms or 50 in 20 ms raises
    throughput; the book's arithmetic leaves out the time a query waits for its batch to fill.

    Example
    -------
    >>> every_ms = np.arange(1.0, 1001.0)                  # 1000 queries per second, evenly spaced
    >>> float(batch_latency(every_ms, 1, 0.5).mean())      # one at a time: just the service time
    0.5
    >>> float(batch_latency(every_ms, 10, 2.0).mean())     # + mean fill wait (10 - 1) / 2 ms
    6.5
    """
    arrivals = check_array("arrivals_ms", arrivals_ms)
    if np.any(np.diff(arrivals) < 0):
        raise ValueError("arrivals_ms must be non-decreasing (queries in arrival order)")
    batch_size = check_int("batch_size", batch_size, minimum=1, maximum=len(arrivals))
    service = check_real("service_ms", service_ms, low=0, low_open=True)
    n_batches = len(arrivals) // batch_size
    arrivals = arrivals[: n_batches * batch_size].reshape(n_batches, batch_size)
    ready = arrivals[:, -1]                                  # the batch is full when its last query arrives
    k = np.arange(n_batches)
    # end_k = max(ready_k, end_{k-1}) + s, solved without a loop: end_k = (k + 1) s + max_{j<=k}(ready_j - j s)
    end = (k + 1) * service + np.maximum.accumulate(ready - k * service)
    return (end[:, None] - arrivals).ravel()


#: How much a signal must raise the fraud rate (x) for the simulated analyst to add it to a rule.
RULE_LIFT = 1.3

#: The signals a fraud analyst reads off a pivot table of last month's payments.
SIGNALS: dict[str, Callable[[pd.DataFrame], pd.Series]] = {
    "night": lambda df: df["timestamp"].dt.hour < 6,
    "foreign": lambda df: df["is_foreign"],
    "new account": lambda df: df["account_age_days"] < 30,
    "mobile": lambda df: df["device"] == "mobile",
}


def write_rule(last_month: pd.DataFrame, capacity: int) -> dict[str, Any]:
    """What a fraud analyst writes after reading last month's labelled payments: a rule, as data.

    A simulated analyst, following the steps a person takes with a pivot table: (1) the two merchant
    categories with the most frauds; (2) among :data:`SIGNALS`, those that raise the fraud rate in those
    categories by at least ``RULE_LIFT`` (1.3x; any of them flags a payment; none found: no signal condition); (3) big or
    small tickets, whichever side of the median amount most of those frauds fall on; (4) an amount cutoff
    that makes the rule raise ``capacity`` alerts on last month, the team's review capacity.

    Parameters
    ----------
    last_month : pandas.DataFrame
        Labelled payments (``make_transactions`` columns, with ``is_fraud``), at least one fraud.
    capacity : int
        Alerts the team can review in a month (>= 1).

    Returns
    -------
    dict
        ``categories`` (list of 2), ``any of`` (list of signal names), ``amount`` (``(">=" or "<=", cutoff)``);
        apply it with :func:`apply_rule`.

    Book: Chapter 1, "When to Use Machine Learning" (patterns that change: a rule must be rewritten).

    Example
    -------
    >>> world = make_transactions(n=150_000, random_state=0)
    >>> rule = write_rule(world[world["timestamp"].dt.month == 1], capacity=250)
    >>> rule["categories"]
    ['electronics', 'travel']
    >>> int(apply_rule(rule, world[world["timestamp"].dt.month == 1]).sum()) >= 250
    True
    """
    df = _payments("last_month", last_month, labelled=True)
    capacity = check_int("capacity", capacity, minimum=1)
    fraud = df["is_fraud"].to_numpy() == 1
    if not fraud.any():
        raise ValueError("last_month must hold at least one fraud (is_fraud == 1) for the analyst to read")
    top = df.loc[fraud, "merchant_category"].value_counts().index[:2].tolist()
    segment = df["merchant_category"].isin(top).to_numpy().copy()
    signals = [name for name, signal in SIGNALS.items()
               if fraud[segment & signal(df).to_numpy()].mean() > RULE_LIFT * fraud[segment].mean()]
    if signals:
        segment &= np.logical_or.reduce([SIGNALS[name](df).to_numpy() for name in signals])
    amount = df["amount"].to_numpy()
    big = np.median(amount[segment & fraud]) > np.median(amount[segment])
    ordered = np.sort(amount[segment])
    k = min(capacity, len(ordered))
    cutoff = ordered[-k] if big else ordered[k - 1]
    return {"categories": sorted(top), "any of": signals, "amount": (">=" if big else "<=", round(float(cutoff), 2))}


def apply_rule(rule: dict[str, Any], df: pd.DataFrame) -> np.ndarray:
    """The boolean flags of a rule written by :func:`write_rule`, one per row of ``df``.

    Parameters
    ----------
    rule : dict
        As returned by :func:`write_rule`.
    df : pandas.DataFrame
        Payments with ``make_transactions`` columns.

    Returns
    -------
    numpy.ndarray of bool, shape (len(df),)

    Book: Chapter 1, "When to Use Machine Learning".

    Example
    -------
    >>> world = make_transactions(n=2_000, random_state=0)
    >>> rule = {"categories": ["electronics", "travel"], "any of": ["night"], "amount": (">=", 150.0)}
    >>> apply_rule(rule, world).dtype
    dtype('bool')
    """
    if not isinstance(rule, dict) or set(rule) != {"categories", "any of", "amount"}:
        raise TypeError(f"rule must be a dict from write_rule with keys 'categories', 'any of', 'amount'; got {rule!r}")
    unknown = [name for name in rule["any of"] if name not in SIGNALS]
    if unknown:
        raise ValueError(f"rule['any of'] must name signals in {list(SIGNALS)}; got {unknown}")
    df = _payments("df", df)
    flags = df["merchant_category"].isin(rule["categories"]).to_numpy().copy()
    if rule["any of"]:
        flags &= np.logical_or.reduce([SIGNALS[name](df).to_numpy() for name in rule["any of"]])
    side, cutoff = rule["amount"]
    amount = df["amount"].to_numpy()
    return flags & ((amount >= cutoff) if side == ">=" else (amount <= cutoff))


def _payments(name: str, df: Any, *, labelled: bool = False) -> pd.DataFrame:
    columns = ["timestamp", "merchant_category", "amount", "is_foreign", "account_age_days", "device"]
    return check_frame(name, df, columns=columns + ["is_fraud"] if labelled else columns)


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


#: The worlds exercise 1.3 judges a rule on: new seeds (the notebook uses 0-3), so a rule must generalise.
EXERCISE_1_3_WORLDS = ({"n": 150_000, "random_state": 2026}, {"n": 150_000, "random_state": 2027})


def _january_rule(df: pd.DataFrame) -> np.ndarray:
    """The analyst's January rule, as the notebook writes it (the bar exercise 1.3 must clear)."""
    return (df["merchant_category"].isin(["electronics", "travel"]) & (df["amount"] > 150)
            & ((df["timestamp"].dt.hour < 6) | df["is_foreign"])).to_numpy()


@exercise("1.3")
def _fraud_rule(answer: Any) -> tuple[bool, str]:
    if not callable(answer):
        return False, f"the answer must be a function of the transactions frame; got {type(answer).__name__}."
    lines = []
    for world_args in EXERCISE_1_3_WORLDS:
        world = make_transactions(**world_args)
        january = world[world["timestamp"].dt.month == 1]
        flags = np.asarray(answer(january))
        if flags.shape != (len(january),) or flags.dtype != bool:
            return False, f"the rule must return one boolean per row ({len(january)}); got shape {flags.shape}, dtype {flags.dtype}."
        fraud = january["is_fraud"].to_numpy() == 1
        recall = (flags & fraud).sum() / fraud.sum()
        precision = (flags & fraud).sum() / flags.sum() if flags.any() else 0.0
        bar = (_january_rule(january) & fraud).sum() / fraud.sum()
        ok = recall >= 1.2 * bar and precision >= 0.15
        lines.append((ok, f"world {world_args['random_state']}: {recall:.0%} of frauds (analyst: {bar:.0%}), "
                          f"{precision:.0%} of alerts fraud"))
    summary = "; ".join(text for _, text in lines)
    if all(ok for ok, _ in lines):
        return True, f"on two new worlds' January: {summary}."
    return False, (f"{summary}; needs at least 1.2x the analyst's share of frauds with at least 15% of alerts "
                   "being fraud, in both worlds.")


#: Batch sizes a server offers in exercise 1.4.
EXERCISE_1_4_SIZES = (1, 2, 4, 8, 16, 32, 64)


def _exercise_1_4_cases(n_cases: int = 6, random_state: int = 14) -> list[tuple[float, dict[int, float]]]:
    """Held-out serving situations: (arrival rate in qps, {batch size: ms per batch}), light to heavy traffic."""
    rng = np.random.default_rng(random_state)
    cases = []
    for rate in np.geomspace(20, 3000, n_cases) * rng.uniform(0.8, 1.25, n_cases):
        fixed, per_query = rng.uniform(2, 10), rng.uniform(0.02, 0.2)
        service = {b: round(fixed + per_query * b, 3) for b in EXERCISE_1_4_SIZES}
        if max(b / ms * 1000 for b, ms in service.items()) > 1.2 * rate:   # some batch size keeps up
            cases.append((round(float(rate), 1), service))
    return cases


def batch_p99(rate_qps: float, service_ms: dict[int, float], *, n: int = 20_000, random_state: RandomState = 0) -> dict[int, float]:
    """p99 latency (ms) of each batch size under Poisson traffic, by :func:`batch_latency`.

    Parameters
    ----------
    rate_qps : float
        Arrival rate, queries per second.
    service_ms : dict of int -> float
        Time to answer one batch of each size, in ms.
    n : int, default 20_000
        Queries simulated (the same arrivals for every size).
    random_state : int, numpy.random.Generator or None, default 0
        Seed of the arrivals.

    Returns
    -------
    dict of int -> float
        The p99 latency of each batch size (it grows with ``n`` for a size that cannot keep up).

    Book: Chapter 1, "Computational priorities".

    Example
    -------
    >>> p99 = batch_p99(50, {1: 10.0, 10: 10.0, 50: 20.0}, n=5_000)
    >>> min(p99, key=p99.get)      # light traffic: do not wait for a batch to fill
    1
    """
    if not isinstance(service_ms, dict) or not service_ms:
        raise TypeError(f"service_ms must be a non-empty dict of batch size -> ms per batch; got {service_ms!r}")
    arrivals = poisson_arrivals(rate_qps, n, random_state=random_state)
    return {b: float(np.percentile(batch_latency(arrivals, b, ms), 99)) for b, ms in service_ms.items()}


@exercise("1.4")
def _choose_batch_size(answer: Any) -> tuple[bool, str]:
    if not callable(answer):
        return False, f"the answer must be a function (rate_qps, service_ms) -> batch size; got {type(answer).__name__}."
    cases = _exercise_1_4_cases()
    chosen = []
    for rate, service in cases:
        size = answer(rate, dict(service))
        if size not in service:
            return False, f"at {rate:g} qps the function returned {size!r}, not one of the offered sizes {list(service)}."
        p99 = batch_p99(rate, service, random_state=1)        # fresh arrivals, not the ones a student simulated
        best = min(p99, key=p99.get)
        if p99[size] > 1.1 * p99[best]:
            return False, (f"at {rate:g} qps batch {size} has p99 {p99[size]:,.0f} ms; batch {best} gives "
                           f"{p99[best]:,.0f} ms.")
        chosen.append(f"{rate:g} qps -> {size}")
    return True, f"on {len(cases)} held-out situations your choices are within 10% of the best p99 ({', '.join(chosen)})."

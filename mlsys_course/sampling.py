"""Sampling: simple random, stratified, weighted, reservoir (streams of unknown length) and importance.

Which rows end up in a training set decides what the model can learn. A simple random sample is
unbiased but can miss a rare group entirely (:func:`miss_probability`); a stratified sample fixes
each group's share; a weighted sample encodes what you know about the population; reservoir
sampling keeps a uniform sample of a stream whose length you never learn; importance sampling
estimates an expectation under P from samples of Q, at a cost measured by the effective sample size.

The chapter's experiments (simulated samples that miss a rare group, inclusion frequencies of stream
samplers and their chi-square test, a naive stream sampler as the straw man) are in
:mod:`mlsys_course.lab.ch04a`.

Conventions: a *population* is an int ``n`` (the positions ``0 .. n-1``, n at most
:data:`MAX_POPULATION`), an array-like (its rows along the first axis; a list mixing strings with other
values keeps its items as they are, never turned into strings) or a pandas Series/DataFrame (its rows,
original index kept). Every function that draws randomness takes ``random_state`` with scikit-learn's
meaning: None (the default) for fresh randomness, an int for the same result every time, or a
``numpy.random.Generator``. Draws not bounded by the population (positions of an int population,
weighted draws with replacement) are at most :data:`MAX_DRAWS`, which numpy draws in about a second.

Book: Chapter 4, "Sampling" (nonprobability sampling, simple random sampling, stratified sampling,
weighted sampling, reservoir sampling, importance sampling).
"""

from __future__ import annotations

import math
import numbers
import random
import sys
from collections.abc import Callable, Iterable, Iterator, Mapping
from itertools import islice
from typing import Any

import numpy as np
import pandas as pd

from ._validation import (
    RandomState,
    check_array,
    check_bool,
    check_column,
    check_int,
    check_random_state,
    check_real,
    check_same_length,
    show,
)

__all__ = [
    "MAX_DRAWS",
    "MAX_POPULATION",
    "effective_sample_size",
    "importance_estimate",
    "importance_weights",
    "miss_probability",
    "reservoir_sample_chunks",
    "reservoir_sample_l",
    "reservoir_sample_r",
    "simple_random_sample",
    "stratified_allocation",
    "stratified_sample",
    "weighted_sample",
]


#: Largest population (rows) an int ``population``, a stratum count or :func:`miss_probability` takes.
MAX_POPULATION = 10**18
#: Most draws held in memory where the population does not bound them (about a second of numpy work).
MAX_DRAWS = 10**7


# --- populations ---------------------------------------------------------------------------------


def _population(population: Any) -> tuple[int, Callable[[np.ndarray], Any]]:
    """The number of rows of a population and a function selecting rows by position."""
    if isinstance(population, (bool, np.bool_)):
        raise TypeError(f"population must be an int, an array-like or a pandas object; got {population!r}")
    if isinstance(population, (int, np.integer)):
        n = check_int("population", population, minimum=1, maximum=MAX_POPULATION)
        return n, lambda idx: np.asarray(idx, dtype=np.int64)
    if hasattr(population, "iloc"):  # pandas Series or DataFrame: keep the index
        if len(population) == 0:
            raise ValueError("population must have at least 1 row; got an empty pandas object")
        return len(population), lambda idx: population.iloc[idx]
    if population is None or isinstance(population, (str, bytes, set, frozenset, Mapping, Iterator)):
        raise TypeError(
            "population must be an int, an array-like (list, tuple, range, numpy array) or a pandas object; "
            f"got {show(population)} of type {type(population).__name__}"
        )
    try:
        ndim = np.ndim(population)
    except ValueError:  # a ragged list
        raise ValueError(f"population must be rectangular (every row of the same length); got {show(population)}") from None
    arr = _as_items(check_array("population", population, ndim=ndim or 1, numeric=False), population)
    return len(arr), lambda idx: arr[idx]


def _as_items(arr: np.ndarray, value: Any) -> np.ndarray:
    """``arr = np.asarray(value)``, but a list mixing strings with other values stays a list of its items.

    numpy turns ``["a", 1]`` into ``["a", "1"]``: the sample would hold strings that were never in the
    population (and ``1`` and ``"1"`` would be one stratum). Such a list is kept as an object array instead.
    """
    if arr.dtype.kind not in "US" or isinstance(value, np.ndarray):
        return arr
    items = np.array(value, dtype=object)  # the same shape: numpy found scalars (strings) in every cell
    return arr if all(isinstance(v, (str, bytes)) for v in items.ravel().tolist()) else items


def _check_k(k: Any, n: int) -> int:
    """A sample size in [1, n], the error naming the population it is drawn from."""
    k = check_int("k", k, minimum=1)
    if k > n:
        raise ValueError(f"k must be <= the number of rows of population ({n}); got {k}")
    return k


def simple_random_sample(population: Any, k: int, *, random_state: RandomState = None) -> Any:
    """Draw k rows uniformly at random without replacement: every k-subset is equally likely.

    Parameters
    ----------
    population : int, array-like or pandas Series/DataFrame
        ``n`` for the positions ``0 .. n-1`` (n <= :data:`MAX_POPULATION`), or the rows to sample from
        (first axis).
    k : int
        Sample size, in [1, n]. For an int population at most :data:`MAX_DRAWS`, and at most ``n // 50``
        when n exceeds 10**8 (numpy would otherwise shuffle all n positions in memory).
    random_state : int, numpy.random.Generator or None
        Seed or generator.

    Returns
    -------
    numpy.ndarray or pandas object
        The k sampled rows in the order drawn (a random order, as ``pandas.DataFrame.sample``);
        positions when ``population`` is an int.

    Book: Chapter 4, "Sampling: Simple random sampling" (simple, but a rare group can be missed:
    see :func:`miss_probability`).

    Example
    -------
    >>> sample = simple_random_sample(100_000, 1_000, random_state=0)
    >>> sample.shape, len(np.unique(sample)), bool(sample.min() >= 0 and sample.max() < 100_000)
    ((1000,), 1000, True)
    """
    n, take = _population(population)
    k = _check_k(k, n)
    if isinstance(population, (int, np.integer)):
        if k > MAX_DRAWS:
            raise ValueError(f"k must be <= MAX_DRAWS = {MAX_DRAWS:,} when population is an int; got {k:,}")
        if n > 10**8 and k > n // 50:  # numpy then shuffles an array of all n positions
            raise ValueError(
                f"k must be <= population // 50 = {n // 50:,} when population is an int above 10**8 (numpy would "
                f"hold all {n:,} positions in memory to draw more); got k={k:,}"
            )
    rng = check_random_state("random_state", random_state)
    return take(rng.choice(n, size=k, replace=False))


def miss_probability(n_population: int, n_rare: int, k: int) -> float:
    """Exact probability that a simple random sample of k rows contains none of the n_rare rare rows.

    ``P = C(N - r, k) / C(N, k)``, the hypergeometric probability of 0 rare rows
    (``scipy.stats.hypergeom.pmf(0, N, r, k)``), computed as a product of ``min(r, k)`` ratios.

    Parameters
    ----------
    n_population : int
        Population size N, in [1, :data:`MAX_POPULATION`].
    n_rare : int
        Rare rows in it, r in [0, N].
    k : int
        Sample size, in [1, N].

    Returns
    -------
    float
        Probability of missing every rare row (1.0 when there is none; 0.0 when ``k > N - r``, or when
        it is below the smallest double, about 1e-324). Fast for any sizes up to :data:`MAX_POPULATION`:
        up to 10,000 factors are multiplied, up to 10 million their logs are added in numpy blocks, and
        beyond that the sum of logs is taken by the midpoint rule over a million equal blocks (the terms
        then change so slowly that its relative error is below 1e-20, far under the float's 1e-16).

    Book: Chapter 4, "Sampling: Simple random sampling" (rare classes can be left out entirely).

    Example
    -------
    A 1% sample of 100,000 rows holding 10 rare rows misses all of them 90% of the time:

    >>> round(miss_probability(100_000, 10, 1_000), 4)
    0.9044
    """
    n = check_int("n_population", n_population, minimum=1, maximum=MAX_POPULATION)
    r = check_int("n_rare", n_rare, minimum=0)
    if r > n:
        raise ValueError(f"n_rare must be <= n_population ({n}); got {r}")
    k = check_int("k", k, minimum=1)
    if k > n:
        raise ValueError(f"k must be <= n_population ({n}); got {k}")
    if k > n - r:
        return 0.0
    # C(N-r, k) / C(N, k) = prod_{i<k} (N-r-i)/(N-i) = prod_{i<r} (N-k-i)/(N-i): take the shorter.
    small, large = sorted((r, k))
    if small <= 10_000:
        return math.prod((n - large - i) / (n - i) for i in range(small))
    # Every factor is at most 1 - large/N: when even that product is below the smallest float, so is P.
    if small * math.log1p(-large / n) < -746.0:  # exp(-746) rounds to 0.0
        return 0.0
    if small <= 10_000_000:  # add the logs in numpy blocks, stopping once the product is below the smallest float
        log_p = 0.0
        for start in range(0, small, 1_000_000):
            i = np.arange(start, min(start + 1_000_000, small), dtype=np.float64)
            log_p += float(np.sum(np.log1p(-large / (n - i))))
            if log_p < -746.0:
                return 0.0
        return math.exp(log_p)
    # More than 10**7 factors, yet small * large / N <~ 746: then large / N < 1e-4, the terms log1p(-large / (N - i))
    # vary by a relative 1e-4 at most, and the midpoint rule over 10**6 equal blocks of i is exact to double precision.
    edges = np.round(np.linspace(0.0, float(small), 1_000_001))
    width, middle = np.diff(edges), (edges[:-1] + edges[1:] - 1.0) / 2.0
    log_p = float(np.sum(width * np.log1p(-large / (n - middle))))
    return math.exp(log_p) if log_p >= -746.0 else 0.0


# --- stratified sampling -------------------------------------------------------------------------


def stratified_allocation(counts: Any, k: int, *, min_per_stratum: int = 0) -> np.ndarray:
    """Split a sample size k across strata in proportion to their sizes (largest-remainder rounding).

    Stratum h of size n_h has the quota ``k * n_h / N``. Each stratum gets the integer part of its
    quota, and the ``k - sum(floors)`` units left go one each to the strata with the largest
    fractional parts (Hamilton's method). So every stratum gets its quota rounded down or up, the
    sizes add up to k, and a stratum whose quota is a whole number gets exactly that. Ties between
    equal fractional parts go to the larger stratum, then to the earlier one: the result is
    deterministic. (scikit-learn's ``train_test_split(stratify=)`` allocates its test part the same
    way but breaks ties at random.)

    Proportional allocation can give a rare stratum 0 rows (10 rows out of 100,000 have a 1% quota
    of 0.1). With ``min_per_stratum=m``, every stratum gets at least ``min(m, n_h)`` rows: strata
    whose proportional share falls below that get it, and the rest of k is split again, by the same
    rule, among the other strata in proportion to their sizes.

    Parameters
    ----------
    counts : array-like of int, shape (n_strata,)
        Stratum sizes, each in [1, :data:`MAX_POPULATION`].
    k : int
        Total sample size, in [1, sum(counts)].
    min_per_stratum : int, default 0
        Floor of every stratum's allocation (capped at the stratum's size); the floors must fit in k.

    Returns
    -------
    numpy.ndarray of int, shape (n_strata,)
        Rows to draw from each stratum; sums to k, each <= its count.

    Book: Chapter 4, "Sampling: Stratified sampling".

    Example
    -------
    >>> stratified_allocation([50, 30, 20], 10)
    array([5, 3, 2])
    >>> stratified_allocation([99_990, 10], 1_000)
    array([1000,    0])
    >>> stratified_allocation([99_990, 10], 1_000, min_per_stratum=1)
    array([999,   1])
    """
    arr = check_array("counts", counts)
    if not np.issubdtype(arr.dtype, np.integer) and not np.all(arr == np.round(arr)):
        raise TypeError(f"counts must hold integers; got {show(arr.tolist())}")
    if np.any(arr < 1):
        raise ValueError(f"counts must all be >= 1; got {show(arr.tolist())}")
    if np.any(arr > MAX_POPULATION):
        raise ValueError(f"counts must all be <= MAX_POPULATION = {MAX_POPULATION:.0e}; got {show(arr.tolist())}")
    sizes = [int(c) for c in arr]
    total = sum(sizes)
    k = check_int("k", k, minimum=1)
    if k > total:
        raise ValueError(f"k must be <= the total of counts ({total}); got {k}")
    m = check_int("min_per_stratum", min_per_stratum, minimum=0)
    floors = [min(m, c) for c in sizes]
    if sum(floors) > k:
        raise ValueError(
            f"min_per_stratum={m} needs {sum(floors)} rows for {len(sizes)} strata; got k={k} (raise k or lower min_per_stratum)"
        )
    alloc = [0] * len(sizes)
    free = list(range(len(sizes)))
    budget = k
    while True:
        share = _largest_remainder([sizes[h] for h in free], budget)
        low = [h for h, a in zip(free, share) if a < floors[h]]
        if not low:
            for h, a in zip(free, share):
                alloc[h] = a
            return np.array(alloc, dtype=np.int64)
        for h in low:  # fix these at their floor and split the rest again
            alloc[h] = floors[h]
            budget -= floors[h]
        fixed = set(low)
        free = [h for h in free if h not in fixed]


def _largest_remainder(sizes: list[int], k: int) -> list[int]:
    """Hamilton's method in exact integer arithmetic: quota_h = k * n_h / N."""
    total = sum(sizes)
    alloc = [k * n // total for n in sizes]
    remainders = [k * n % total for n in sizes]
    order = sorted(range(len(sizes)), key=lambda h: (-remainders[h], -sizes[h], h))
    for h in order[: k - sum(alloc)]:
        alloc[h] += 1
    return alloc


def stratified_sample(
    population: Any,
    k: int | None = None,
    *,
    frac: float | None = None,
    strata: Any = None,
    min_per_stratum: int = 0,
    random_state: RandomState = None,
) -> Any:
    """Sample each stratum separately, in proportion to its size, so no group's share is left to chance.

    The per-stratum sizes come from :func:`stratified_allocation` (largest-remainder rounding:
    each stratum gets its exact share ``k * n_h / N`` when that is a whole number, otherwise that
    share rounded down or up); within each stratum the rows are a simple random sample.

    Parameters
    ----------
    population : int, array-like or pandas Series/DataFrame
        The rows to sample. With ``strata=None`` its values are the stratum labels (e.g. the class
        labels themselves).
    k : int, optional
        Total sample size, in [1, N]. Give exactly one of ``k`` and ``frac``.
    frac : float, optional
        Fraction of the population, in (0, 1]; ``k = round(frac * N)`` (halves rounded up), at least 1.
    strata : column name, array-like of shape (N,) or None
        The stratum of each row: a column of a DataFrame ``population``, or one label per row.
    min_per_stratum : int, default 0
        Guarantee at least this many rows (or all of them, if fewer) from every stratum; see
        :func:`stratified_allocation`. Use 1 to make sure a rare group is in the sample at all.
    random_state : int, numpy.random.Generator or None
        Seed or generator.

    Returns
    -------
    numpy.ndarray or pandas object
        The sampled rows in population order (positions when ``population`` is an int).

    Book: Chapter 4, "Sampling: Stratified sampling".

    Example
    -------
    >>> labels = np.array(["a"] * 6 + ["b"] * 3 + ["c"])
    >>> stratified_sample(labels, 5, random_state=0).tolist()  # quotas 3, 1.5, 0.5
    ['a', 'a', 'a', 'b', 'b']
    >>> stratified_sample(labels, 5, min_per_stratum=1, random_state=0).tolist()
    ['a', 'a', 'a', 'b', 'c']
    >>> stratified_sample(labels, frac=0.2, random_state=0).tolist()  # quotas 1.2, 0.6, 0.2
    ['a', 'b']
    """
    n, take = _population(population)
    if (k is None) == (frac is None):
        raise ValueError(f"give exactly one of k and frac; got k={k!r}, frac={frac!r}")
    if k is None:
        f = check_real("frac", frac, low=0.0, high=1.0, low_open=True)
        k = max(1, math.floor(f * n + 0.5))
    k = _check_k(k, n)
    labels = _strata_labels(population, strata, n)
    _, inverse, counts = np.unique(labels, return_inverse=True, return_counts=True)
    alloc = stratified_allocation(counts, k, min_per_stratum=min_per_stratum)
    rng = check_random_state("random_state", random_state)
    order = np.argsort(inverse, kind="stable")  # positions grouped by stratum
    starts = np.concatenate([[0], np.cumsum(counts)])
    chosen = [rng.choice(order[starts[h] : starts[h + 1]], size=a, replace=False) for h, a in enumerate(alloc)]
    return take(np.sort(np.concatenate(chosen)))


def _strata_labels(population: Any, strata: Any, n: int) -> np.ndarray:
    if strata is None:
        if isinstance(population, (int, np.integer)):
            raise ValueError("strata must be given when population is an int; got None")
        if hasattr(population, "columns"):
            raise ValueError("strata must name a column or give one label per row for a DataFrame; got None")
        labels = _as_items(np.asarray(population), population)
        if labels.ndim != 1:
            raise ValueError(f"strata must be given when population is not 1-d; got population of shape {labels.shape}")
        return _check_strata(labels, "population (its values are the strata when strata=None)")
    if hasattr(population, "columns") and isinstance(strata, str):
        if strata not in population.columns:
            raise ValueError(f"strata must be a column of population; got {strata!r}, columns are {list(population.columns)}")
        return _check_strata(population[strata].to_numpy())
    if hasattr(population, "columns") and np.ndim(strata) == 0:  # a column name that is not a string (e.g. 0)
        return _check_strata(population[check_column("strata", population, strata, frame="population")].to_numpy())
    if isinstance(strata, pd.Series) and hasattr(population, "index") and not strata.index.equals(population.index):
        raise ValueError(
            "strata must have the same index as population when both are pandas objects (rows are matched by "
            "position, so a different index would pair rows with the wrong labels); got different indexes "
            "(use strata.to_numpy() to pair them by position)"
        )
    labels = _as_items(check_array("strata", strata, min_len=0, numeric=False), strata)
    if len(labels) != n:
        raise ValueError(f"strata must have one label per row of population ({n}); got length {len(labels)}")
    return _check_strata(labels)


def _check_strata(labels: np.ndarray, name: str = "strata") -> np.ndarray:
    """Stratum labels: no missing label (it would silently form a stratum of its own), one sortable type."""
    missing = pd.isna(labels)
    if missing.any():
        raise ValueError(f"{name} must have no missing labels; got {int(missing.sum())} missing (NaN or None)")
    if labels.dtype == object:  # one kind of label: a string and a number (or a bool) are never one stratum
        kinds = {"str" if isinstance(v, (str, bytes)) else "bool" if isinstance(v, (bool, np.bool_))
                 else "number" if isinstance(v, numbers.Number) else type(v).__name__ for v in labels.tolist()}
        if len(kinds) > 1:
            raise TypeError(f"{name} must hold labels of one kind (all strings or all numbers); got a mix of {sorted(kinds)}")
    try:
        np.unique(labels)
    except TypeError:
        kinds = sorted({type(v).__name__ for v in labels.tolist()})
        raise TypeError(f"{name} must hold labels of one kind (all strings or all numbers); got a mix of {kinds}") from None
    return labels


# --- weighted sampling ---------------------------------------------------------------------------


def _check_weights(name: str, weights: Any, n: int | None = None) -> np.ndarray:
    w = check_array(name, weights).astype(float)
    if n is not None and len(w) != n:
        raise ValueError(f"{name} must have one value per row of population ({n}); got length {len(w)}")
    if np.any(w < 0):
        raise ValueError(f"{name} must be non-negative; got {int(np.sum(w < 0))} negative value(s), e.g. {w[w < 0][0]}")
    if not np.any(w > 0):
        raise ValueError(f"{name} must not all be zero; got {len(w)} zero weight(s)")
    return w


def weighted_sample(
    population: Any, k: int, weights: Any, *, replace: bool = True, random_state: RandomState = None
) -> Any:
    """Draw k rows, each draw picking row i with probability proportional to ``weights[i]``.

    With replacement (the default, as Python's ``random.choices``), the draws are independent and
    row i is drawn with probability ``w_i / sum(w)`` each time. Without replacement, each draw picks
    among the rows not drawn yet, in proportion to their weights (successive sampling, as
    ``numpy.random.Generator.choice(replace=False, p=...)``): a row's chance of being in the sample
    then grows with its weight, but is not proportional to it.

    Parameters
    ----------
    population : int, array-like or pandas Series/DataFrame
        ``n`` for the positions ``0 .. n-1``, or the rows.
    k : int
        Number of draws, >= 1: with replacement at most :data:`MAX_DRAWS`, without it at most the number
        of rows with positive weight.
    weights : array-like of shape (n,)
        Non-negative, finite, not all zero; need not sum to 1.
    replace : bool, default True
        Draw with replacement.
    random_state : int, numpy.random.Generator or None
        Seed or generator.

    Returns
    -------
    numpy.ndarray or pandas object
        The k drawn rows, in draw order.

    Book: Chapter 4, "Sampling: Weighted sampling" (e.g. weight recent data or a rare class up).

    Example
    -------
    >>> draws = weighted_sample(3, 10_000, [1, 2, 7], random_state=0)
    >>> np.bincount(draws) / 10_000
    array([0.1033, 0.1975, 0.6992])
    """
    n, take = _population(population)
    _check_paired("weights", weights, "population", population)
    w = _check_weights("weights", weights, n)
    replace = check_bool("replace", replace)
    k = check_int("k", k, minimum=1)
    if replace and k > MAX_DRAWS:
        raise ValueError(f"k must be <= MAX_DRAWS = {MAX_DRAWS:,} draws with replacement; got {k:,}")
    positive = int(np.count_nonzero(w))
    if not replace and k > positive:
        raise ValueError(f"k must be <= the number of rows with positive weight ({positive}) when replace=False; got {k}")
    rng = check_random_state("random_state", random_state)
    w = w / w.max()  # no overflow in the sum
    return take(rng.choice(n, size=k, replace=replace, p=w / w.sum()))


# --- reservoir sampling --------------------------------------------------------------------------


def _iterate(name: str, stream: Any) -> Any:
    try:
        return iter(stream)
    except TypeError:
        raise TypeError(f"{name} must be an iterable (a list, a range, a generator, ...); got {show(stream)}") from None


def _python_rng(rng: np.random.Generator) -> random.Random:
    """A stdlib generator seeded from ``rng``: per-item calls cost a fraction of a numpy call's."""
    return random.Random(int(rng.integers(2**63)))


def _first(stream: Any, k: Any, random_state: RandomState) -> tuple[Any, list, int, random.Random]:
    """Shared start of the stream samplers: validate, and fill the reservoir with the first k items."""
    k = check_int("k", k, minimum=1)
    rand = _python_rng(check_random_state("random_state", random_state))
    it = _iterate("stream", stream)
    reservoir = list(islice(it, k))
    if not reservoir:
        raise ValueError("stream must yield at least one item; got an empty stream")
    return it, reservoir, k, rand


def reservoir_sample_r(stream: Iterable, k: int, *, random_state: RandomState = None) -> list:
    """Uniform sample of k items from a stream of unknown length, one pass (Algorithm R).

    Keep the first k items. Item number i (0-based, i >= k) then replaces a uniformly chosen slot
    with probability ``k / (i + 1)``: draw ``j`` uniform in ``0 .. i`` and replace slot ``j`` if
    ``j < k``. By induction, after n items each is in the reservoir with probability ``k / n``, and
    every k-subset is equally likely. One random draw per item.

    Vitter, J. S. (1985). Random sampling with a reservoir. ACM TOMS 11(1), 37-57 (Algorithm R,
    credited there to Waterman).

    Parameters
    ----------
    stream : iterable
        Any iterable, read once (a generator works).
    k : int
        Reservoir size, >= 1.
    random_state : int, numpy.random.Generator or None
        Seed or generator (it seeds a stdlib ``random.Random``, cheaper per draw).

    Returns
    -------
    list
        ``min(k, n)`` items: a uniform sample of k items, or every item when the stream holds
        n < k (a stream can't hold more than it has). In reservoir-slot order, not shuffled.

    Raises
    ------
    ValueError
        If the stream is empty.

    Book: Chapter 4, "Sampling: Reservoir sampling".

    Example
    -------
    >>> reservoir_sample_r((x * x for x in range(1_000)), 5, random_state=0)
    [13924, 2500, 97969, 22201, 190096]
    >>> reservoir_sample_r("abc", 5, random_state=0)
    ['a', 'b', 'c']
    """
    it, reservoir, k, rand = _first(stream, k, random_state)
    for i, item in enumerate(it, start=k):
        j = rand.randrange(i + 1)
        if j < k:
            reservoir[j] = item
    return reservoir


_END = object()


def _uniform(rand: random.Random) -> float:
    """Uniform in the open interval (0, 1), so that its log is finite."""
    u = rand.random()
    while u == 0.0:
        u = rand.random()
    return u


def _skip(rand: random.Random, log_w: float) -> int:
    """Items to pass over before the next one enters the reservoir: geometric, floor(log U / log(1 - W))."""
    return math.floor(math.log(_uniform(rand)) / math.log(-math.expm1(log_w)))


def reservoir_sample_l(stream: Iterable, k: int, *, random_state: RandomState = None) -> list:
    """Uniform sample of k items from a stream, skipping ahead instead of drawing per item (Algorithm L).

    Same result distribution as :func:`reservoir_sample_r`, with about ``k * (1 + ln(n / k))``
    random draws instead of ``n - k``. After the first k items, keep a number ``W`` distributed as
    the largest of k uniforms (``W = U ** (1/k)``). The number of items to skip before the next
    one that enters the reservoir is geometric: ``floor(log(U) / log(1 - W))``. Skip them (with
    ``itertools.islice``, in C), put the next item in a random slot, and shrink
    ``W *= U ** (1/k)``. ``W`` is kept as its log, so ``1 - W`` stays accurate when W is near 1.

    Li, K.-H. (1994). Reservoir-sampling algorithms of time complexity O(n(1 + log(N/n))).
    ACM TOMS 20(4), 481-493 (Algorithm L).

    Parameters
    ----------
    stream : iterable
        Any iterable, read once (a generator works).
    k : int
        Reservoir size, >= 1.
    random_state : int, numpy.random.Generator or None
        Seed or generator.

    Returns
    -------
    list
        ``min(k, n)`` items, as :func:`reservoir_sample_r` (all items when n < k).

    Raises
    ------
    ValueError
        If the stream is empty.

    Book: Chapter 4, "Sampling: Reservoir sampling".

    Example
    -------
    >>> reservoir_sample_l(range(10_000_000), 3, random_state=0)
    [7049980, 2774683, 7772740]
    """
    it, reservoir, k, rand = _first(stream, k, random_state)
    log_w = math.log(_uniform(rand)) / k
    while True:
        item = next(islice(it, min(_skip(rand, log_w), sys.maxsize), None), _END)
        if item is _END:
            return reservoir
        reservoir[rand.randrange(k)] = item
        log_w += math.log(_uniform(rand)) / k


def reservoir_sample_chunks(chunks: Iterable, k: int, *, random_state: RandomState = None) -> np.ndarray:
    """Algorithm L over a stream that arrives in batches (arrays): skipped rows are never touched.

    Many streams are read in batches (a message-queue poll, a Parquet row group, a CSV chunk). The
    skips of :func:`reservoir_sample_l` are then plain arithmetic on positions: a row is read only
    when it enters the reservoir, so the Python work is per chunk and per replacement
    (about ``k * (1 + ln(n / k))`` of them), not per row. Same sample distribution as Algorithms R
    and L; chunk boundaries do not matter.

    Li, K.-H. (1994). Reservoir-sampling algorithms of time complexity O(n(1 + log(N/n))).
    ACM TOMS 20(4), 481-493 (Algorithm L).

    Parameters
    ----------
    chunks : iterable of array-like
        Batches of rows (rows along the first axis), read once; empty batches are allowed. Every batch
        holds one kind of value (numbers, strings, ...), the same kind as the first, and later batches
        must cast safely to the dtype of the first k rows (no silent truncation, no number turned into
        a string).
    k : int
        Reservoir size, >= 1.
    random_state : int, numpy.random.Generator or None
        Seed or generator.

    Returns
    -------
    numpy.ndarray
        ``min(k, n)`` rows: a uniform sample of k rows, or every row when there are n < k.

    Raises
    ------
    ValueError
        If the chunks hold no row at all.

    Book: Chapter 4, "Sampling: Reservoir sampling".

    Example
    -------
    With the same seed it keeps the same rows as :func:`reservoir_sample_l` on the flat stream:

    >>> batches = (np.arange(start, start + 100_000) for start in range(0, 10_000_000, 100_000))
    >>> reservoir_sample_chunks(batches, 3, random_state=0)
    array([7049980, 2774683, 7772740])
    """
    k = check_int("k", k, minimum=1)
    rand = _python_rng(check_random_state("random_state", random_state))
    first: list[np.ndarray] = []  # pieces of the first k rows
    n_first = 0
    reservoir = None
    row_shape = None
    start = 0  # stream position of the current chunk's first row
    kind = None
    for number, chunk in enumerate(_iterate("chunks", chunks)):
        try:
            chunk = np.asarray(chunk)
        except ValueError:  # a ragged list of rows
            raise ValueError(f"chunks must yield rectangular array-likes of rows; got a ragged chunk {number}") from None
        if chunk.ndim == 0:
            raise TypeError(f"chunks must yield array-likes of rows; got chunk {number} = {show(chunk.item())}")
        m = len(chunk)
        if m == 0:
            continue
        if row_shape is None:
            row_shape, kind = chunk.shape[1:], _kind(chunk.dtype)
        elif chunk.shape[1:] != row_shape:
            raise ValueError(
                f"chunks must all hold rows of the same shape {row_shape}; "
                f"got chunk {number} with rows of shape {chunk.shape[1:]}"
            )
        elif _kind(chunk.dtype) != kind:
            raise TypeError(
                f"chunks must all hold one kind of value ({kind}, as the first); got chunk {number} of dtype {chunk.dtype}"
            )
        if reservoir is None:
            take = min(k - n_first, m)
            first.append(chunk[:take])
            n_first += take
            if n_first < k:
                start += m
                continue
            reservoir = np.concatenate(first)
            log_w = math.log(_uniform(rand)) / k
            next_row = start + take + _skip(rand, log_w)  # stream position of the next row to keep
        elif not np.can_cast(chunk.dtype, reservoir.dtype, casting="safe"):
            raise TypeError(
                f"chunks must all cast safely to the dtype of the first rows ({reservoir.dtype}); "
                f"got chunk {number} of dtype {chunk.dtype}"
            )
        while next_row < start + m:
            reservoir[rand.randrange(k)] = chunk[next_row - start]
            log_w += math.log(_uniform(rand)) / k
            next_row += 1 + _skip(rand, log_w)
        start += m
    if reservoir is not None:
        return reservoir
    if n_first == 0:
        raise ValueError("chunks must hold at least one row; got an empty stream")
    return np.concatenate(first)


# --- importance sampling -------------------------------------------------------------------------


def _kind(dtype: np.dtype) -> str:
    """The kind of value a dtype holds, for chunks that numpy would otherwise silently promote to strings."""
    if dtype.kind in "biufc":
        return "numbers"
    return {"U": "strings", "S": "bytes", "M": "datetimes", "m": "durations", "O": "objects"}.get(dtype.kind, str(dtype))


def _check_paired(name: str, value: Any, other_name: str, other: Any) -> None:
    """Two pandas objects paired row by row must share their index: pairing by position would mismatch rows."""
    pandas = (pd.Series, pd.DataFrame)
    if isinstance(value, pandas) and isinstance(other, pandas) and not value.index.equals(other.index):
        raise ValueError(
            f"{name} must have the same index as {other_name} when both are pandas objects (rows are paired by "
            f"position); got different indexes (use {name}.to_numpy() to pair them by position)"
        )


def importance_weights(p_density: Any, q_density: Any) -> np.ndarray:
    """Importance weights ``w = P(x) / Q(x)`` of samples x drawn from Q, to reweight them towards P.

    Parameters
    ----------
    p_density : array-like of shape (n,)
        Target density (or probability) P at each sample; finite, >= 0. An unnormalized P is fine
        for :func:`importance_estimate` with ``self_normalized=True``.
    q_density : array-like of shape (n,)
        Density Q the samples were drawn from, at each sample; finite, > 0 (Q must cover every x
        it produced, and P's support must lie inside Q's for the estimate to be unbiased). Paired with
        ``p_density`` by position; two pandas Series must share their index.

    Returns
    -------
    numpy.ndarray of shape (n,)
        The weights.

    Book: Chapter 4, "Sampling: Importance sampling".

    Example
    -------
    >>> importance_weights([0.2, 0.3, 0.5], [0.4, 0.3, 0.25])
    array([0.5, 1. , 2. ])
    """
    _check_paired("q_density", q_density, "p_density", p_density)
    p = check_array("p_density", p_density).astype(float)
    q = check_array("q_density", q_density).astype(float)
    check_same_length(p_density=p, q_density=q)
    if np.any(p < 0):
        raise ValueError(f"p_density must be >= 0; got {int(np.sum(p < 0))} negative value(s)")
    if np.any(q <= 0):
        raise ValueError(
            f"q_density must be > 0 at every sample drawn from Q; got {int(np.sum(q <= 0))} value(s) <= 0"
        )
    with np.errstate(over="ignore"):
        w = p / q
    if not np.isfinite(w).all():
        raise ValueError(
            f"p_density / q_density must be finite; got {int((~np.isfinite(w)).sum())} ratio(s) beyond the float range "
            "(Q is far too small where P is not: the weights cannot be trusted)"
        )
    return w


def importance_estimate(values: Any, weights: Any, *, self_normalized: bool = False) -> float:
    """Estimate ``E_P[f(X)]`` from samples of Q: the weighted mean of ``values = f(x)``.

    Plain (``self_normalized=False``): ``mean(w * f)``, unbiased when ``w = P/Q`` with both
    densities normalized. Self-normalized: ``sum(w * f) / sum(w)``, which needs P and Q only up to
    constants and has lower variance when the weights vary a lot, at the price of a bias that
    vanishes as n grows.

    Parameters
    ----------
    values : array-like of shape (n,)
        f at each sample; finite.
    weights : array-like of shape (n,)
        Importance weights (:func:`importance_weights`); non-negative, finite, not all zero. Paired with
        ``values`` by position; two pandas Series must share their index.
    self_normalized : bool, default False
        Divide by the sum of the weights instead of n.

    Returns
    -------
    float
        The estimate. Sums that overflow are redone on scaled values; an estimate beyond the float
        range itself is refused.

    Book: Chapter 4, "Sampling: Importance sampling".

    Example
    -------
    >>> importance_estimate([1.0, 2.0, 3.0], [0.5, 1.0, 2.0])
    2.8333333333333335
    >>> importance_estimate([1.0, 2.0, 3.0], [0.5, 1.0, 2.0], self_normalized=True)
    2.4285714285714284
    """
    _check_paired("weights", weights, "values", values)
    f = check_array("values", values).astype(float)
    w = _check_weights("weights", weights)
    check_same_length(values=f, weights=w)
    self_normalized = check_bool("self_normalized", self_normalized)
    with np.errstate(over="ignore"):
        total, w_sum = float(np.sum(w * f)), float(np.sum(w))
    estimate = total / w_sum if self_normalized else total / len(f)
    if not (math.isfinite(total) and math.isfinite(w_sum)):  # a sum overflowed: the same sums on scaled values
        w_max, f_max = float(w.max()), float(np.abs(f).max()) or 1.0
        scaled = float(np.sum((w / w_max) * (f / f_max)))
        with np.errstate(over="ignore"):
            estimate = scaled / float(np.sum(w / w_max)) * f_max if self_normalized else scaled / len(f) * w_max * f_max
        if not math.isfinite(estimate):
            raise ValueError(
                "values and weights give an estimate beyond the float range (about 1.8e308); got "
                f"max |values| = {f_max:.3g} and max weights = {w_max:.3g}"
            )
    return estimate


def effective_sample_size(weights: Any) -> float:
    """Kish's effective sample size ``(sum w) ** 2 / sum(w ** 2)`` of weighted samples.

    n for equal weights, 1 when a single weight carries everything. With importance weights, it is
    roughly how many samples from P the weighted samples from Q are worth: for P = N(mu, 1) and
    Q = N(0, 1) it tends to ``n * exp(-mu ** 2)``.

    Parameters
    ----------
    weights : array-like of shape (n,)
        Non-negative, finite, not all zero.

    Returns
    -------
    float
        The effective sample size, in [1, n].

    Book: Chapter 4, "Sampling: Importance sampling".

    Example
    -------
    >>> effective_sample_size([1.0, 1.0, 1.0, 1.0])
    4.0
    >>> round(effective_sample_size([1.0, 1.0, 1.0, 5.0]), 4)  # 8 ** 2 / 28
    2.2857
    """
    w = _check_weights("weights", weights)
    w = w / w.max()  # scale-free; avoids overflow of w ** 2
    return float(w.sum() ** 2 / np.sum(w**2))

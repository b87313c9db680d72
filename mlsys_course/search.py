"""Hyperparameter search at an equal budget, and whether a gain is real or seed noise.

Grid search, random search and successive halving (scikit-learn's ``GridSearchCV``,
``RandomizedSearchCV`` and ``HalvingRandomSearchCV``) should get the same budget, so a comparison
measures the strategy, not the compute: :func:`budget_grid` gives grid search a lattice of at most
``budget`` candidates drawn from the same search space random search samples. And before believing that
model B beats model A, compare the gain with the run-to-run spread, paired by seed or fold
(:func:`is_gain_real`, the paired test behind :func:`mlsys_course.comparison.paired_difference`).

Book: Chapter 6, "AutoML: Soft AutoML: hyperparameter tuning" and "Evaluating ML models" (is a gain real?).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from scipy.stats import rv_continuous, rv_discrete
from scipy.stats import t as student_t

from ._validation import check_array, check_int, check_probability, show

__all__ = ["budget_grid", "is_gain_real"]

_MAX_BUDGET = 1_000_000  # candidates: far more than any search runs, far less than exhausts memory


def _check_space(name: str, space: Any) -> Any:
    """One parameter's space: a frozen scipy.stats distribution as given, or its values as a non-empty list."""
    if hasattr(space, "ppf"):
        if not isinstance(getattr(space, "dist", None), (rv_continuous, rv_discrete)):
            raise TypeError(
                f"param_space[{name!r}] must be a frozen scipy.stats distribution such as loguniform(1e-3, 1e2) "
                f"(with its parameters); got {show(space)}"
            )
        return space
    if isinstance(space, (pd.Series, pd.Index)):
        space = space.to_numpy()
    if isinstance(space, np.ndarray) and space.ndim != 1:
        raise ValueError(f"param_space[{name!r}] must be a 1-d array of values; got shape {space.shape}")
    if isinstance(space, (Sequence, np.ndarray)) and not isinstance(space, (str, bytes)) and len(space) > 0:
        return space.tolist() if isinstance(space, np.ndarray) else list(space)
    raise TypeError(
        f"param_space[{name!r}] must be a non-empty list (or tuple, array, range, Series) of values or a scipy.stats "
        f"distribution; got {show(space)}"
    )


def _grid_values(name: str, space: Any, k: int) -> list:
    """At most k values of one parameter: an evenly spaced subset of a list, or quantiles of a distribution."""
    if isinstance(space, list):
        if len(space) <= k:
            return space
        idx = np.unique(np.round(np.linspace(0, len(space) - 1, k)).astype(int))
        return [space[i] for i in idx]
    with np.errstate(invalid="ignore"):
        values = np.asarray(space.ppf((np.arange(k) + 0.5) / k), dtype=float)
    if not np.all(np.isfinite(values)):
        raise ValueError(
            f"param_space[{name!r}] must be a distribution with valid parameters; its quantiles are "
            f"{show(values.tolist())} (are its bounds in the right order, e.g. loguniform(low, high)?)"
        )
    if isinstance(space.dist, rv_discrete):  # integers, each at most once
        values = np.unique(values.astype(int))
    return values.tolist()


def budget_grid(param_space: dict, budget: int) -> dict:
    """A grid with at most ``budget`` candidates from a random-search space, for a search at equal budget.

    Each parameter gets about ``budget ** (1/d)`` values (``d`` parameters): an evenly spaced subset of
    a list, or the quantiles ``(i + 0.5) / k`` of a ``scipy.stats`` distribution. A list shorter than its
    share keeps all its values and leaves the rest of the budget to the other parameters. The result is
    a ``param_grid`` for ``GridSearchCV``; give ``RandomizedSearchCV`` ``n_iter=budget`` on the same
    ``param_space`` and both evaluate at most ``budget`` candidates.

    Parameters
    ----------
    param_space : dict
        Parameter name -> list (or tuple, 1-d array, range, Series) of values, or a frozen ``scipy.stats``
        distribution.
    budget : int
        The most candidates the grid may have (1 to 1,000,000).

    Returns
    -------
    dict
        Parameter name -> list of values, in the order of ``param_space``.

    Book: Chapter 6, "AutoML: hyperparameter tuning" (grid search spends its budget on a lattice).

    Example
    -------
    >>> budget_grid({"C": [0.01, 0.1, 1, 10, 100], "penalty": ["l2"]}, 4)
    {'C': [0.01, 0.1, 10, 100], 'penalty': ['l2']}
    >>> from scipy.stats import loguniform
    >>> {k: np.round(v, 3).tolist() for k, v in budget_grid({"C": loguniform(0.01, 100)}, 3).items()}
    {'C': [0.046, 1.0, 21.544]}
    """
    if not isinstance(param_space, dict) or not param_space:
        raise TypeError(
            f"param_space must be a non-empty dict of parameter -> list or distribution; got {show(param_space)}"
        )
    for name in param_space:
        if not isinstance(name, str):
            raise TypeError(f"param_space keys must be parameter names (str); got {show(name)}")
    budget = check_int("budget", budget, minimum=1, maximum=_MAX_BUDGET)
    spaces = {p: _check_space(p, v) for p, v in param_space.items()}
    # lists shorter than the per-parameter share free budget for the others
    sizes = {p: len(v) if isinstance(v, list) else None for p, v in spaces.items()}
    grid = {}
    remaining, free = budget, len(spaces)
    for p in sorted(spaces, key=lambda q: (sizes[q] is None, sizes[q] or 0)):
        k = max(1, int(math.floor(remaining ** (1.0 / free) + 1e-9)))
        grid[p] = _grid_values(p, spaces[p], k)
        remaining = max(1, remaining // len(grid[p]))
        free -= 1
    return {p: grid[p] for p in param_space}


def is_gain_real(scores_a: Any, scores_b: Any, *, confidence: float = 0.95) -> dict[str, float | bool]:
    """Is B's gain over A larger than run-to-run noise? A paired t-test on per-seed (or per-fold) scores.

    ``scores_a[i]`` and ``scores_b[i]`` come from the same seed or fold, so the noise they share cancels
    in the differences ``d = b - a``. The gain is ``mean(d)``; its interval is
    ``mean(d) +- t_{n-1} * sd(d) / sqrt(n)`` and the p-value is the two-sided paired t-test's
    (``scipy.stats.ttest_rel(b, a)``). B's gain is ``real`` when the whole interval is above 0, which is
    the test rejecting "no gain" at level ``1 - confidence`` with a positive gain. This is the same
    interval as :func:`mlsys_course.comparison.paired_difference`, which the course's comparisons use.

    Parameters
    ----------
    scores_a, scores_b : array-like of shape (n,), n >= 2
        Scores of the baseline A and the challenger B, one per seed or fold, in the same order.
    confidence : float, default 0.95
        Coverage of the interval, in (0, 1).

    Returns
    -------
    dict
        ``mean_gain`` (mean of ``b - a``), ``low`` and ``high`` (its interval), ``p_value``, ``spread``
        (the seed-to-seed standard deviation of one model's score, pooled over A and B: a single run's
        noise, to set the gain against) and ``real`` (``low > 0``).

    Book: Chapter 6, "Evaluating ML models" (is a gain real, or within run-to-run variance?).

    Example
    -------
    >>> r = is_gain_real([0.80, 0.82, 0.81, 0.79], [0.85, 0.86, 0.86, 0.84])
    >>> round(r["mean_gain"], 3), round(r["low"], 3), r["real"]
    (0.047, 0.04, True)
    """
    a = check_array("scores_a", scores_a, min_len=2).astype(float)
    b = check_array("scores_b", scores_b, min_len=2).astype(float)
    if len(a) != len(b):
        raise ValueError(f"scores_a and scores_b must be paired (one score each per seed or fold); got {len(a)} and {len(b)}")
    confidence = check_probability("confidence", confidence)
    n = len(a)
    diff = b - a
    gain = float(diff.mean())
    sd = float(diff.std(ddof=1))
    if sd > 0:
        se = sd / math.sqrt(n)
        p_value = float(2 * student_t.sf(abs(gain) / se, n - 1))
        half = float(student_t.ppf((1 + confidence) / 2, n - 1) * se)
    else:  # every pair differs by the same amount: no noise in the difference at all
        p_value, half = (1.0 if gain == 0 else 0.0), 0.0
    return {
        "mean_gain": gain,
        "low": gain - half,
        "high": gain + half,
        "p_value": p_value,
        "spread": float(np.sqrt((np.var(a, ddof=1) + np.var(b, ddof=1)) / 2)),
        "real": bool(gain - half > 0),
    }

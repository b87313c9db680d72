"""Hyperparameter search at an equal budget, and whether a gain is real or seed noise.

Grid search, random search and successive halving get the same budget, so the comparison measures
the strategy, not the compute. And before believing that model B beats model A, compare the gain
with the spread of each model's score across random seeds.

Book: Chapter 6, "AutoML: Soft AutoML: hyperparameter tuning" and "Evaluating ML models" (is a gain real?).
"""

from __future__ import annotations

import itertools
import math
import time
from collections.abc import Callable, Iterable
from typing import Any

import numpy as np
import pandas as pd

from ._validation import RandomState, _show, check_array, check_int, check_random_state, check_real


def _grid_values(name: str, space: Any, k: int) -> list:
    """At most k values of one parameter: an evenly spaced subset of a list, or quantiles of a distribution."""
    if hasattr(space, "ppf"):
        values = space.ppf((np.arange(k) + 0.5) / k)
        if getattr(space.dist, "name", "") in ("randint",):
            values = np.unique(values.astype(int))
        return values.tolist()
    if isinstance(space, (list, tuple)) and len(space) > 0:
        if len(space) <= k:
            return list(space)
        idx = np.unique(np.round(np.linspace(0, len(space) - 1, k)).astype(int))
        return [space[i] for i in idx]
    raise TypeError(f"param_space[{name!r}] must be a non-empty list or a scipy.stats distribution; got {_show(space)}")


def budget_grid(param_space: dict, budget: int) -> dict:
    """A grid with at most ``budget`` candidates: ``floor(budget ** (1/d))`` values per parameter.

    Book: Chapter 6, "AutoML: hyperparameter tuning" (grid search spends its budget on a lattice).

    Example
    -------
    >>> budget_grid({"C": [0.01, 0.1, 1, 10, 100], "penalty": ["l2"]}, 4)
    {'C': [0.01, 0.1, 10, 100], 'penalty': ['l2']}
    """
    if not isinstance(param_space, dict) or not param_space:
        raise TypeError(f"param_space must be a non-empty dict of parameter -> list or distribution; got {_show(param_space)}")
    budget = check_int("budget", budget, minimum=1)
    # lists shorter than the per-parameter share free budget for the others
    sizes = {p: (len(v) if isinstance(v, (list, tuple)) else None) for p, v in param_space.items()}
    grid = {}
    remaining, free = budget, len(param_space)
    for p in sorted(param_space, key=lambda q: (sizes[q] is None, sizes[q] or 0)):
        k = max(1, int(math.floor(remaining ** (1.0 / free) + 1e-9)))
        grid[p] = _grid_values(p, param_space[p], k)
        remaining = max(1, remaining // len(grid[p]))
        free -= 1
    return {p: grid[p] for p in param_space}


def search_comparison(
    estimator: Any,
    param_space: dict,
    X: Any,
    y: Any,
    *,
    budget: int = 12,
    cv: int = 3,
    scoring: str = "average_precision",
    X_test: Any = None,
    y_test: Any = None,
    random_state: int = 0,
) -> pd.DataFrame:
    """Grid vs random vs successive-halving search, each given the same budget.

    Budget: ``budget`` candidates evaluated on all the data, i.e. ``budget * cv`` (candidate, fold)
    fits on full training folds. Grid search gets :func:`budget_grid` (at most ``budget``
    candidates); random search ``n_iter=budget``. Successive halving (``HalvingRandomSearchCV``,
    factor 3, resource = training rows) runs ``r`` rounds from ``n / 3**(r-1)`` rows up to all ``n``
    rows; every round costs about ``n_candidates * n / 3**(r-1)`` rows, so it starts with
    ``n_candidates = budget * 3**(r-1) / r`` candidates to consume the same total number of rows.
    ``fit_equivalents`` reports the rows actually consumed, in units of one full-data fold fit.

    Parameters
    ----------
    estimator : scikit-learn estimator
    param_space : dict
        Parameter name -> list of values or ``scipy.stats`` distribution (grid search uses quantiles).
    X, y : array-like
        Search data.
    budget : int, default 12
        Full-data candidate evaluations (>= 1).
    cv : int, default 3
        Folds (>= 2).
    scoring : str, default "average_precision"
        A scikit-learn scorer name.
    X_test, y_test : array-like, optional
        If given, each search's refitted best model is scored on them.
    random_state : int, default 0
        Seeds the folds and the random candidates.

    Returns
    -------
    DataFrame
        One row per strategy: ``strategy``, ``candidates``, ``fits`` ((candidate, fold) fits, any
        size), ``fit_equivalents``, ``best_cv_score``, ``test_score`` (NaN without a test set),
        ``seconds`` and ``best_params``.

    Book: Chapter 6, "AutoML: Soft AutoML: hyperparameter tuning" (grid, random, successive halving).

    Example
    -------
    >>> from scipy.stats import loguniform
    >>> from sklearn.datasets import make_classification
    >>> from sklearn.linear_model import LogisticRegression
    >>> X, y = make_classification(600, random_state=0)
    >>> t = search_comparison(LogisticRegression(), {"C": loguniform(1e-3, 1e2)}, X, y, budget=6)
    >>> print(t[["strategy", "candidates", "fits", "fit_equivalents"]].round(1).to_string(index=False))
    strategy  candidates  fits  fit_equivalents
        grid           6    18             18.0
      random           6    18             18.0
     halving          18    78             17.8
    """
    from sklearn.base import clone
    from sklearn.experimental import enable_halving_search_cv  # noqa: F401
    from sklearn.metrics import get_scorer
    from sklearn.model_selection import GridSearchCV, HalvingRandomSearchCV, RandomizedSearchCV, StratifiedKFold, KFold
    from sklearn.base import is_classifier
    from threadpoolctl import threadpool_limits

    from .features import _check_estimator, _check_scoring

    _check_estimator("estimator", estimator)
    scoring = _check_scoring("scoring", scoring)
    budget = check_int("budget", budget, minimum=1)
    folds = check_int("cv", cv, minimum=2)
    seed = check_int("random_state", random_state, minimum=0)
    grid = budget_grid(param_space, budget)
    X = X if isinstance(X, pd.DataFrame) else check_array("X", X, ndim=2)
    y = check_array("y", y, numeric=False)
    if len(X) != len(y):
        raise ValueError(f"X and y must have the same length; got X={len(X)}, y={len(y)}")
    if (X_test is None) != (y_test is None):
        raise ValueError("X_test and y_test must be given together")
    n = len(y)
    splitter = (StratifiedKFold if is_classifier(estimator) else KFold)(folds, shuffle=True, random_state=seed)
    fold_rows = n * (folds - 1) / folds

    min_rows = 20 * folds
    rounds = 1
    while rounds < budget and n / 3 ** rounds >= min_rows and rounds < 4:
        rounds += 1
    n_candidates = max(1, int(budget * 3 ** (rounds - 1) / rounds))
    refit = X_test is not None
    searches = {
        "grid": GridSearchCV(clone(estimator), grid, cv=splitter, scoring=scoring, refit=refit),
        "random": RandomizedSearchCV(clone(estimator), param_space, n_iter=budget, cv=splitter, scoring=scoring,
                                     refit=refit, random_state=seed),
        "halving": HalvingRandomSearchCV(clone(estimator), param_space, n_candidates=n_candidates, factor=3,
                                         resource="n_samples", min_resources=int(n // 3 ** (rounds - 1)),
                                         cv=splitter, scoring=scoring, refit=refit, random_state=seed),
    }
    rows = []
    for name, search in searches.items():
        with threadpool_limits(1):
            start = time.perf_counter()
            search.fit(X, y)
            seconds = time.perf_counter() - start
        res = search.cv_results_
        resources = np.asarray(res.get("n_resources", np.full(len(res["params"]), n)), dtype=float)
        test = float(get_scorer(scoring)(search, X_test, y_test)) if refit else float("nan")
        rows.append({
            "strategy": name,
            "candidates": len({repr(sorted(p.items())) for p in res["params"]}),
            "fits": len(res["params"]) * folds,
            "fit_equivalents": float(np.sum(resources * (folds - 1) / folds) * folds / fold_rows),
            "best_cv_score": float(search.best_score_),
            "test_score": test,
            "seconds": seconds,
            "best_params": search.best_params_,
        })
    return pd.DataFrame(rows)


def seed_spread(
    make_model: Callable[[int], Any],
    X_train: Any,
    y_train: Any,
    X_test: Any,
    y_test: Any,
    *,
    seeds: Iterable[int] = range(5),
    scoring: str = "average_precision",
) -> pd.DataFrame:
    """Train the same model with different seeds and score each on the test set.

    Parameters
    ----------
    make_model : callable
        ``make_model(seed)`` returns an unfitted estimator whose randomness depends on ``seed``.
    X_train, y_train, X_test, y_test : array-like
        The split.
    seeds : iterable of int, default range(5)
    scoring : str, default "average_precision"
        A scikit-learn scorer name.

    Returns
    -------
    DataFrame
        Columns ``seed`` and ``score``, one row per seed.

    Book: Chapter 6, "Evaluating ML models" (a gain smaller than seed-to-seed spread is noise).

    Example
    -------
    >>> from sklearn.datasets import make_classification
    >>> from sklearn.ensemble import RandomForestClassifier
    >>> X, y = make_classification(400, random_state=0)
    >>> s = seed_spread(lambda s: RandomForestClassifier(10, random_state=s), X[:300], y[:300], X[300:], y[300:], seeds=[0, 1, 2])
    >>> list(s["seed"]), bool(s["score"].std() > 0)
    ([0, 1, 2], True)
    """
    from sklearn.metrics import get_scorer

    from .features import _check_scoring

    if not callable(make_model):
        raise TypeError(f"make_model must be a callable seed -> estimator; got {_show(make_model)}")
    scoring = _check_scoring("scoring", scoring)
    seeds = [check_int("seeds", s, minimum=0) for s in seeds] if not isinstance(seeds, (str, bytes)) else None
    if not seeds:
        raise ValueError("seeds must be a non-empty iterable of non-negative ints")
    scorer = get_scorer(scoring)
    rows = []
    for s in seeds:
        model = make_model(s).fit(X_train, y_train)
        rows.append({"seed": s, "score": float(scorer(model, X_test, y_test))})
    return pd.DataFrame(rows)


def is_gain_real(scores_a: Any, scores_b: Any, *, alpha: float = 0.05) -> dict[str, float | bool]:
    """Is B's gain over A larger than seed noise? Paired comparison of per-seed scores.

    ``scores_a[i]`` and ``scores_b[i]`` come from the same seed (or fold). Reports the mean gain
    ``mean(b - a)``, the seed-to-seed ``spread`` (pooled standard deviation of each model's scores),
    their ratio, and the two-sided paired t-test p-value (``scipy.stats.ttest_rel``).

    Parameters
    ----------
    scores_a, scores_b : array-like of shape (k,), k >= 2
    alpha : float, default 0.05
        Significance level for ``real``.

    Returns
    -------
    dict
        ``mean_gain``, ``spread``, ``gain_over_spread``, ``p_value``, ``real`` (p < alpha and gain > 0).

    Book: Chapter 6, "Evaluating ML models" (is a gain real, or within run-to-run variance?).

    Example
    -------
    >>> r = is_gain_real([0.80, 0.82, 0.81, 0.79], [0.85, 0.86, 0.86, 0.84])
    >>> round(r["mean_gain"], 3), r["real"]
    (0.047, True)
    """
    from scipy.stats import ttest_rel

    a = check_array("scores_a", scores_a, min_len=2).astype(float)
    b = check_array("scores_b", scores_b, min_len=2).astype(float)
    if len(a) != len(b):
        raise ValueError(f"scores_a and scores_b must be paired (same length); got {len(a)} and {len(b)}")
    alpha = check_real("alpha", alpha, low=0.0, high=1.0, low_open=True, high_open=True)
    gain = float(np.mean(b - a))
    spread = float(np.sqrt((np.var(a, ddof=1) + np.var(b, ddof=1)) / 2))
    diff = b - a
    p = 1.0 if np.all(diff == diff[0]) and diff[0] == 0 else float(ttest_rel(b, a).pvalue)
    if np.isnan(p):  # constant non-zero difference: no variance, certainly not noise
        p = 0.0
    return {
        "mean_gain": gain,
        "spread": spread,
        "gain_over_spread": gain / spread if spread > 0 else float("inf") if gain else 0.0,
        "p_value": p,
        "real": bool(p < alpha and gain > 0),
    }

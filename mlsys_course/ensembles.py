"""Ensembles: why a vote of weak models beats each of them, and why correlation erodes the gain.

Three independent classifiers that are each right 70% of the time are right 78.4% of the time by
majority vote; the gain rests on their errors being independent. :func:`simulate_majority_vote`
makes the voters correlated and shows the vote falling back toward a single voter's accuracy.
:func:`ensemble_comparison` then puts bagging, boosting, stacking and a random forest next to a
single tree and a logistic regression on score, training time, latency and size.

Book: Chapter 6, "Model Development and Training: Ensembles" (bagging, boosting, stacking).
"""

from __future__ import annotations

import pickle
import time
from typing import Any

import numpy as np
import pandas as pd

from ._validation import RandomState, check_binary_labels, check_int, check_probability, check_random_state, check_real, check_same_length
from .baselines import _check_X


def _check_voters(n_voters: Any) -> int:
    n = check_int("n_voters", n_voters, minimum=1)
    if n % 2 == 0:
        raise ValueError(f"n_voters must be odd (so a binary majority has no ties); got {n}")
    return n


def majority_vote_accuracy(n_voters: int, p: float) -> float:
    """Exact accuracy of a majority vote of independent binary classifiers, each right with probability p.

    ``P(more than half right) = sum_{k > n/2} C(n, k) p^k (1 - p)^(n - k)``, the binomial upper tail.

    Parameters
    ----------
    n_voters : int
        Number of voters, odd.
    p : float
        Accuracy of each voter, in (0, 1).

    Returns
    -------
    float
        Accuracy of the vote.

    Book: Chapter 6, "Ensembles" (three models at 70% accuracy vote to 78.4%).

    Example
    -------
    >>> round(majority_vote_accuracy(3, 0.7), 3)
    0.784
    """
    from scipy.stats import binom

    n = _check_voters(n_voters)
    p = check_probability("p", p)
    return float(binom.sf(n // 2, n, p))


def simulate_majority_vote(
    n_voters: int,
    p: float,
    *,
    correlation: float = 0.0,
    n_trials: int = 100_000,
    random_state: RandomState = 0,
) -> float:
    """Monte Carlo accuracy of a majority vote of voters whose correctness is correlated.

    Model: each trial draws one shared "common" outcome (right with probability ``p``). Each voter
    copies the common outcome with probability ``c = sqrt(correlation)``, otherwise draws its own
    (right with probability ``p``). Every voter is still right with probability ``p``, and two voters
    agree through the common draw only when both copy it, so the pairwise correlation of their
    correctness is ``c**2 = correlation``. ``correlation=0`` gives independent voters (the binomial
    formula of :func:`majority_vote_accuracy`); ``correlation=1`` gives clones, whose vote is right
    with probability ``p``.

    Parameters
    ----------
    n_voters : int
        Number of voters, odd.
    p : float
        Accuracy of each voter, in (0, 1).
    correlation : float, default 0.0
        Pairwise correlation of the voters' correctness, in [0, 1].
    n_trials : int, default 100_000
        Simulated examples; the standard error of the result is about ``sqrt(a (1 - a) / n_trials)``.
    random_state : int, Generator or None, default 0
        Seed.

    Returns
    -------
    float
        Share of trials where the majority is right.

    Book: Chapter 6, "Ensembles" (the gain needs base learners whose errors are uncorrelated).

    Example
    -------
    >>> round(simulate_majority_vote(3, 0.7, correlation=0.0, random_state=0), 2)
    0.78
    >>> round(simulate_majority_vote(3, 0.7, correlation=1.0, random_state=0), 2)
    0.7
    """
    n = _check_voters(n_voters)
    p = check_probability("p", p)
    rho = check_real("correlation", correlation, low=0.0, high=1.0)
    trials = check_int("n_trials", n_trials, minimum=1)
    rng = check_random_state("random_state", random_state)
    copy_prob = np.sqrt(rho)
    common = rng.random(trials) < p
    own = rng.random((trials, n)) < p
    copies = rng.random((trials, n)) < copy_prob
    right = np.where(copies, common[:, None], own)
    return float(np.mean(right.sum(axis=1) > n // 2))


def _models(random_state: int) -> dict[str, tuple[str, Any]]:
    from sklearn.ensemble import (BaggingClassifier, HistGradientBoostingClassifier, RandomForestClassifier,
                                  StackingClassifier)
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler
    from sklearn.tree import DecisionTreeClassifier

    def logistic() -> Any:
        return make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000))

    def tree(depth: int | None = 8) -> Any:
        return DecisionTreeClassifier(max_depth=depth, min_samples_leaf=5, random_state=random_state)

    return {
        "decision tree": ("single", tree()),
        "logistic regression": ("single", logistic()),
        "bagging (20 trees)": (
            "bagging",
            BaggingClassifier(tree(None), n_estimators=20, max_samples=0.5, random_state=random_state),
        ),
        "random forest (50 trees)": (
            "bagging",
            RandomForestClassifier(n_estimators=50, min_samples_leaf=5, max_features="sqrt", n_jobs=1,
                                   random_state=random_state),
        ),
        "gradient boosting (HistGB)": (
            "boosting",
            HistGradientBoostingClassifier(max_iter=100, learning_rate=0.1, random_state=random_state),
        ),
        "stacking (tree + logistic -> logistic)": (
            "stacking",
            StackingClassifier([("tree", tree()), ("logistic", logistic())],
                               final_estimator=LogisticRegression(max_iter=1000), cv=3),
        ),
    }


def ensemble_comparison(
    X_train: Any,
    y_train: Any,
    X_test: Any,
    y_test: Any,
    *,
    random_state: int = 0,
) -> pd.DataFrame:
    """Single models against bagging, boosting, stacking and a random forest: score and cost.

    Models (scikit-learn): a depth-8 decision tree; a scaled logistic regression; bagging of 20 full
    trees on half-samples; a random forest of 50 trees; ``HistGradientBoostingClassifier`` (100
    rounds); a ``StackingClassifier`` of the tree and the logistic regression under a logistic
    regression (3-fold out-of-fold predictions). Everything runs on one core, so times compare.

    Parameters
    ----------
    X_train, X_test : array-like or DataFrame of shape (n, d)
        Features.
    y_train, y_test : array-like of shape (n,)
        0/1 labels.
    random_state : int, default 0
        Seed of every model.

    Returns
    -------
    DataFrame
        One row per model: ``model``, ``kind`` (single, bagging, boosting, stacking), ``pr_auc``
        (average precision on the test set), ``fit_seconds``, ``predict_ms_per_row`` (batch
        ``predict_proba`` on the test set divided by its rows) and ``size_bytes`` (pickled model).

    Book: Chapter 6, "Ensembles" (better scores, at the cost of training, latency and size).

    Example
    -------
    >>> from sklearn.datasets import make_classification
    >>> X, y = make_classification(600, n_features=8, random_state=0)
    >>> t = ensemble_comparison(X[:400], y[:400], X[400:], y[400:])
    >>> list(t["kind"])
    ['single', 'single', 'bagging', 'bagging', 'boosting', 'stacking']
    >>> bool(t.set_index("kind").loc["bagging", "size_bytes"].max() > t.set_index("kind").loc["single", "size_bytes"].max())
    True
    """
    from sklearn.metrics import average_precision_score
    from threadpoolctl import threadpool_limits

    X_train = _check_X("X_train", X_train)
    X_test = _check_X("X_test", X_test)
    y_train = check_binary_labels("y_train", y_train)
    y_test = check_binary_labels("y_test", y_test)
    check_same_length(X_train=X_train, y_train=y_train)
    check_same_length(X_test=X_test, y_test=y_test)
    seed = check_int("random_state", random_state, minimum=0)
    if len(np.unique(y_train)) < 2:
        raise ValueError("y_train must contain both classes")

    rows = []
    for name, (kind, model) in _models(seed).items():
        with threadpool_limits(1):  # one core for every model (OpenMP in HistGB otherwise competes)
            start = time.perf_counter()
            model.fit(X_train, y_train)
            fit_seconds = time.perf_counter() - start
            start = time.perf_counter()
            scores = model.predict_proba(X_test)[:, 1]
            predict_seconds = time.perf_counter() - start
        pr_auc = float(average_precision_score(y_test, scores)) if len(np.unique(y_test)) == 2 else float("nan")
        rows.append({
            "model": name,
            "kind": kind,
            "pr_auc": pr_auc,
            "fit_seconds": fit_seconds,
            "predict_ms_per_row": 1000 * predict_seconds / len(y_test),
            "size_bytes": len(pickle.dumps(model)),
        })
    return pd.DataFrame(rows)

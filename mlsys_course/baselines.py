"""Baselines: the scores any model must beat before it earns its complexity.

A model's score means little on its own: 99% accuracy on 1% fraud is what "always legitimate" gets.
This module scores the book's baselines side by side on the same test set: uniform random, random
by the label distribution, the zero rule (always the most frequent class), a simple heuristic, and
optionally the model under study.

Book: Chapter 6, "Model Development and Training: Evaluating ML models: Baselines".
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pandas as pd

from ._validation import RandomState, _show, check_array, check_binary_labels, check_random_state, check_real, check_same_length

#: Metrics computed from hard 0/1 decisions.
LABEL_METRICS = ("accuracy", "balanced_accuracy", "precision", "recall", "f1")
#: Metrics computed from scores (ranking quality).
SCORE_METRICS = ("average_precision", "roc_auc")

#: The scikit-learn ``DummyClassifier`` strategies scored, with the book's names.
DUMMIES = (
    ("uniform random", "uniform", "predict each class with equal probability"),
    ("label-distribution random", "stratified", "predict classes at their training frequency"),
    ("zero rule", "most_frequent", "always predict the most frequent training class"),
)


def _check_scoring(scoring: Any) -> tuple[str, ...]:
    if isinstance(scoring, str):
        scoring = (scoring,)
    if not isinstance(scoring, Sequence) or len(scoring) == 0:
        raise TypeError(f"scoring must be a metric name or a non-empty sequence of names; got {_show(scoring)}")
    allowed = LABEL_METRICS + SCORE_METRICS
    for name in scoring:
        if name not in allowed:
            raise ValueError(f"scoring must name metrics among {', '.join(map(repr, allowed))}; got {_show(name)}")
    return tuple(scoring)


def _metric(name: str, y: np.ndarray, labels: np.ndarray, scores: np.ndarray) -> float:
    from sklearn import metrics

    if name in SCORE_METRICS:
        if len(np.unique(y)) < 2:
            return float("nan")
        return float(getattr(metrics, f"{name}_score")(y, scores))
    fn = getattr(metrics, f"{name}_score")
    if name in ("precision", "recall", "f1"):
        return float(fn(y, labels, zero_division=0.0))
    return float(fn(y, labels))


def _check_X(name: str, X: Any) -> Any:
    if isinstance(X, pd.DataFrame):
        if len(X) == 0:
            raise ValueError(f"{name} must have at least one row; got 0")
        return X
    return check_array(name, X, ndim=2)


def baseline_table(
    X_train: Any,
    y_train: Any,
    X_test: Any,
    y_test: Any,
    *,
    heuristic: Callable[[Any], Any] | None = None,
    heuristic_threshold: float = 0.5,
    model: Any = None,
    scoring: str | Sequence[str] = ("accuracy", "f1", "average_precision"),
    random_state: RandomState = 0,
) -> pd.DataFrame:
    """Score the book's baselines (and optionally a heuristic and a model) on one test set.

    The three random/zero-rule baselines are ``sklearn.dummy.DummyClassifier`` with strategies
    ``"uniform"``, ``"stratified"`` and ``"most_frequent"``; their scores for the score metrics are
    ``predict_proba[:, 1]`` (a constant for uniform and zero rule, so their PR-AUC is the test
    prevalence and their ROC-AUC 0.5).

    Parameters
    ----------
    X_train, X_test : array-like or DataFrame of shape (n, d)
        Features.
    y_train, y_test : array-like of shape (n,)
        0/1 labels.
    heuristic : callable, optional
        ``heuristic(X_test)`` returns one number per test row: 0/1 labels, or scores where a higher
        score means "more likely positive" (labels are then ``score >= heuristic_threshold``).
    heuristic_threshold : float, default 0.5
        Threshold turning heuristic scores into labels (unused when the heuristic returns 0/1).
    model : scikit-learn classifier with ``predict_proba``, optional
        Fitted on the training set (a clone is fitted; the argument is untouched) and scored too.
    scoring : str or sequence of str
        Among ``accuracy, balanced_accuracy, precision, recall, f1`` (from labels) and
        ``average_precision, roc_auc`` (from scores).
    random_state : int, Generator or None, default 0
        Seeds the random baselines.

    Returns
    -------
    DataFrame
        One row per baseline: ``baseline``, ``description``, ``positive_rate`` (share of test rows
        predicted positive) and one column per metric.

    Book: Chapter 6, "Evaluating ML models: Baselines" (random, zero rule, simple heuristic).

    Example
    -------
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(2000, 2)); y = (X[:, 0] + rng.normal(size=2000) > 2).astype(int)
    >>> t = baseline_table(X[:1000], y[:1000], X[1000:], y[1000:], heuristic=lambda X: X[:, 0] > 1.5)
    >>> print(t[["baseline", "accuracy", "average_precision"]].round(3).to_string(index=False))
                     baseline  accuracy  average_precision
               uniform random     0.519              0.081
    label-distribution random     0.855              0.081
                    zero rule     0.919              0.081
                    heuristic     0.919              0.241
    """
    from sklearn.base import clone
    from sklearn.dummy import DummyClassifier

    X_train = _check_X("X_train", X_train)
    X_test = _check_X("X_test", X_test)
    y_train = check_binary_labels("y_train", y_train)
    y_test = check_binary_labels("y_test", y_test)
    check_same_length(X_train=X_train, y_train=y_train)
    check_same_length(X_test=X_test, y_test=y_test)
    metrics = _check_scoring(scoring)
    rng = check_random_state("random_state", random_state)
    threshold = check_real("heuristic_threshold", heuristic_threshold)
    if heuristic is not None and not callable(heuristic):
        raise TypeError(f"heuristic must be a callable taking X_test; got {_show(heuristic)}")
    if model is not None and not (hasattr(model, "fit") and hasattr(model, "predict_proba")):
        raise TypeError(f"model must be a scikit-learn classifier with fit and predict_proba; got {_show(model)}")

    rows = []

    def add(name: str, description: str, labels: np.ndarray, scores: np.ndarray) -> None:
        row = {"baseline": name, "description": description, "positive_rate": float(np.mean(labels))}
        row.update({m: _metric(m, y_test, labels, scores) for m in metrics})
        rows.append(row)

    for name, strategy, description in DUMMIES:
        dummy = DummyClassifier(strategy=strategy, random_state=int(rng.integers(2**31)))
        dummy.fit(X_train, y_train)
        proba = dummy.predict_proba(X_test)
        positive = list(dummy.classes_).index(1) if 1 in dummy.classes_ else None
        scores = proba[:, positive] if positive is not None else np.zeros(len(y_test))
        add(name, description, np.asarray(dummy.predict(X_test)).astype(int), scores)

    if heuristic is not None:
        out = np.asarray(heuristic(X_test))
        if out.ndim != 1 or len(out) != len(y_test):
            raise ValueError(f"heuristic must return one value per test row ({len(y_test)}); got shape {out.shape}")
        if out.dtype == bool:
            out = out.astype(int)
        if not np.issubdtype(out.dtype, np.number) or not np.all(np.isfinite(out)):
            raise ValueError("heuristic must return finite numbers (labels or scores)")
        binary = bool(np.isin(out, (0, 1)).all())
        labels = out.astype(int) if binary else (out >= threshold).astype(int)
        add("heuristic", "hand-written rule" if binary else f"hand-written score >= {threshold:g}", labels, out.astype(float))

    if model is not None:
        fitted = clone(model).fit(X_train, y_train)
        scores = fitted.predict_proba(X_test)[:, list(fitted.classes_).index(1)]
        add("model", type(model).__name__, np.asarray(fitted.predict(X_test)).astype(int), scores)

    return pd.DataFrame(rows)

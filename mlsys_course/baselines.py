"""Baselines: the scores any model must beat before it earns its complexity.

A model's score means little on its own: 99% accuracy on 1% fraud is what "always legitimate" gets.
The book's baselines are scikit-learn's ``DummyClassifier`` strategies, plus a simple heuristic:

============================  =================================================
book                          scikit-learn
============================  =================================================
uniform random                ``DummyClassifier(strategy="uniform")``
random by label distribution  ``DummyClassifier(strategy="stratified")``
zero rule (most frequent)     ``DummyClassifier(strategy="most_frequent")``
simple heuristic              :class:`HeuristicClassifier` (this module)
============================  =================================================

:class:`HeuristicClassifier` turns a hand-written rule into a scikit-learn classifier, so the heuristic
is fitted, scored and cross-validated exactly like the model it is compared with.

Book: Chapter 6, "Model Offline Evaluation: Baselines" (random, zero rule, simple heuristic).
"""

from __future__ import annotations

import numbers
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.utils import assert_all_finite, column_or_1d
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, validate_data

from ._validation import check_frame, check_real, show

__all__ = ["HeuristicClassifier"]


class HeuristicClassifier(ClassifierMixin, BaseEstimator):
    """A hand-written rule as a binary scikit-learn classifier: the book's "simple heuristic" baseline.

    ``rule(X)`` returns one number per row: 0/1 flags, or a score where higher means "more likely the
    positive class". The classifier's ``decision_function`` is ``rule(X) - threshold`` and ``predict``
    gives the positive class (``classes_[1]``, the larger label) where it is positive. ``fit`` learns
    nothing but the two class labels; it runs the rule on the training rows so that a broken rule fails
    at ``fit`` rather than at scoring time. Ranking metrics (``"average_precision"``, ``"roc_auc"``) use
    the scores, label metrics the thresholded flags.

    A DataFrame ``X`` is handed to the rule as it is, so the rule can use column names
    (``lambda X: X["is_foreign"]``); other inputs are validated as by any scikit-learn estimator and
    handed over as a numpy array.

    Parameters
    ----------
    rule : callable, default None
        ``rule(X) -> array-like of shape (n_rows,)`` of finite numbers (booleans count as 0/1). It must
        score each row on its own (no statistics over the rows it is given). Required: ``None`` fails
        at ``fit``. An error inside the rule (a missing column) is raised as a ValueError that says what
        ``X`` the rule was given, with the rule's own exception as its cause. Use a named function rather
        than a lambda if the fitted model must be pickled.
    threshold : float, default 0.5
        Scores above it are predicted positive (0.5 suits 0/1 flags).

    Attributes
    ----------
    classes_ : ndarray of shape (2,)
        The two class labels seen in ``fit``; ``classes_[1]`` is the positive class.
    n_features_in_ : int
    feature_names_in_ : ndarray of str
        Only when ``X`` in ``fit`` is a DataFrame with string column names.

    Book: Chapter 6, "Model Offline Evaluation: Baselines" (a simple heuristic as a baseline).

    Example
    -------
    >>> from sklearn.dummy import DummyClassifier
    >>> from sklearn.model_selection import cross_val_score
    >>> rng = np.random.default_rng(0)
    >>> X = pd.DataFrame({"amount": rng.exponential(100, 2000), "is_foreign": rng.random(2000) < 0.1})
    >>> y = (rng.random(2000) < np.where(X["is_foreign"], 0.2, 0.02)).astype(int)
    >>> for name, model in {"zero rule": DummyClassifier(strategy="most_frequent"),
    ...                     "heuristic": HeuristicClassifier(lambda X: X["is_foreign"])}.items():
    ...     print(name, cross_val_score(model, X, y, scoring="average_precision").mean().round(2))
    zero rule 0.03
    heuristic 0.1
    """

    def __init__(self, rule: Callable[[Any], Any] | None = None, threshold: float = 0.5) -> None:
        self.rule = rule
        self.threshold = threshold

    def _validate(self, X: Any, *, reset: bool) -> Any:
        if isinstance(X, pd.DataFrame):
            check_frame("X", X)
            validate_data(self, X, reset=reset, skip_check_array=True)  # feature names and count only
            return X
        if X is None or isinstance(X, (str, bytes, dict)) or np.isscalar(X) or not (
            hasattr(X, "__array__") or hasattr(X, "__len__")
        ):
            raise TypeError(
                f"X must be a pandas DataFrame or a 2-d array-like of shape (n_rows, n_features); got {show(X)} "
                f"of type {type(X).__name__}"
            )
        try:
            return validate_data(self, X, reset=reset, dtype=None)
        except ValueError as exc:
            if "X" in str(exc):
                raise
            raise ValueError(f"X must be a 2-d array-like of shape (n_rows, n_features): {exc}") from None

    def _scores(self, X: Any) -> np.ndarray:
        try:
            out = np.asarray(self.rule(X))
        except MemoryError:
            raise
        except Exception as exc:  # the user's rule failed on X (a missing column, a NumPy array given a column name)
            columns = f"a DataFrame with columns {show(list(X.columns))}" if isinstance(X, pd.DataFrame) else (
                f"a numpy array of shape {np.shape(X)}"
            )
            raise ValueError(
                f"rule(X) failed with {type(exc).__name__}: {show(str(exc))}; rule must accept X as given ({columns}) "
                "and return one number per row"
            ) from exc
        n = len(X)
        if out.ndim != 1 or len(out) != n:
            raise ValueError(f"rule must return one number per row of X ({n}); got shape {out.shape}")
        if out.dtype == object:  # numbers held as Python objects (an object column or array) are fine; text is not
            bad = [v for v in out.tolist() if not isinstance(v, (numbers.Real, np.bool_))]
            if bad:
                raise TypeError(
                    f"rule must return numbers (or booleans); got {show(bad[:3])}: each argument must be a real "
                    "number or a bool, not a string (even one holding a number) or another object"
                )
            out = out.astype(float)
        if out.dtype != bool and not np.issubdtype(out.dtype, np.number):
            raise TypeError(f"rule must return numbers (or booleans); got dtype {out.dtype}")
        out = out.astype(float)
        if not np.all(np.isfinite(out)):
            raise ValueError(
                f"rule must return finite scores (no NaN or inf); got {int(np.sum(~np.isfinite(out)))} "
                "non-finite value(s): does X hold missing values?"
            )
        return out

    def fit(self, X: Any, y: Any) -> HeuristicClassifier:
        """Record the two class labels and check the rule on the training rows.

        Parameters
        ----------
        X : DataFrame or array-like of shape (n, n_features)
        y : array-like of shape (n,)
            Two classes.

        Returns
        -------
        self
        """
        if not callable(self.rule):
            raise TypeError(f"rule must be a callable rule(X) -> one number per row; got {show(self.rule)}")
        check_real("threshold", self.threshold)
        if y is None:
            raise ValueError(f"{type(self).__name__} requires y to be passed, but the target y is None.")
        X = self._validate(X, reset=True)
        y = column_or_1d(y, warn=True)
        assert_all_finite(y, input_name="y")
        if len(y) != len(X):
            raise ValueError(f"X and y must have the same number of rows; got X={len(X)} and y={len(y)}")
        check_classification_targets(y)
        classes = np.unique(y)
        if len(classes) > 2:
            raise ValueError(
                f"Only binary classification is supported: a rule separates a positive class from a negative "
                f"one; y has {len(classes)} classes: {show(classes.tolist())}"
            )
        if len(classes) < 2:
            raise ValueError(f"y must contain 2 classes; got 1 class: {show(classes.tolist())}")
        self._scores(X)
        self.classes_ = classes
        return self

    def decision_function(self, X: Any) -> np.ndarray:
        """``rule(X) - threshold``: positive for rows predicted as ``classes_[1]``.

        Parameters
        ----------
        X : DataFrame or array-like of shape (n, n_features)

        Returns
        -------
        ndarray of shape (n,)
        """
        check_is_fitted(self)
        X = self._validate(X, reset=False)
        return self._scores(X) - float(self.threshold)

    def predict(self, X: Any) -> np.ndarray:
        """``classes_[1]`` where the rule's score exceeds ``threshold``, else ``classes_[0]``.

        Parameters
        ----------
        X : DataFrame or array-like of shape (n, n_features)

        Returns
        -------
        ndarray of shape (n,)
        """
        positive = self.decision_function(X) > 0
        return self.classes_[positive.astype(int)]

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_class = False
        return tags

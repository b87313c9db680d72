"""Offline evaluation beyond one metric: robustness, fairness, calibration, confidence and slices.

A single test-set score says nothing about how a model behaves when an input is slightly noisy, when a
sensitive attribute changes, when a feature moves in a direction whose effect we know, whether its
probabilities can be taken at face value, when it should abstain, or on which subgroups it fails.
These helpers are what a practitioner copies: each takes a fitted model and data and returns a tidy
report (a ``pandas.DataFrame``, one row per repeat, value, bin, threshold, method or slice).

Models are anything with ``predict_proba`` (the positive-class column is the score) or
``decision_function``; decisions are ``model.predict`` unless a ``threshold`` on the score is given.

Book: Chapter 6, "Model Offline Evaluation" (perturbation tests, invariance tests, directional
expectation tests, model calibration, confidence measurement, slice-based evaluation).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from ._validation import (
    RandomState,
    check_array,
    check_binary_labels,
    check_choice,
    check_int,
    check_probability,
    check_random_state,
    check_real,
    check_same_length,
)

Metric = Callable[[np.ndarray, np.ndarray], float]


# --- shared helpers ---------------------------------------------------------------------------------------


def _check_frame(name: str, value: Any) -> pd.DataFrame:
    if not isinstance(value, pd.DataFrame):
        raise TypeError(f"{name} must be a pandas DataFrame (columns are addressed by name); got {type(value).__name__}")
    if len(value) == 0:
        raise ValueError(f"{name} must have at least one row; got 0")
    return value


def _check_model(model: Any) -> None:
    if not (hasattr(model, "predict_proba") or hasattr(model, "decision_function")):
        raise TypeError(
            f"model must be a fitted estimator with predict_proba or decision_function; got {type(model).__name__}"
        )


def _check_columns(name: str, columns: Any, X: pd.DataFrame, *, numeric: bool) -> list[str]:
    cols = [columns] if isinstance(columns, str) else columns
    if not isinstance(cols, Sequence) or isinstance(cols, (bytes,)) or len(cols) == 0:
        raise TypeError(f"{name} must be a column name or a non-empty sequence of column names; got {columns!r}")
    cols = list(cols)
    missing = [c for c in cols if c not in X.columns]
    if missing:
        raise ValueError(f"{name} must name columns of X; got unknown column(s) {missing}")
    if numeric:
        bad = [c for c in cols if X[c].dtype == bool or not pd.api.types.is_numeric_dtype(X[c])]
        if bad:
            raise TypeError(f"{name} must name numeric (non-boolean) columns; got {bad}")
    return cols


def _score(model: Any, X: pd.DataFrame) -> np.ndarray:
    """Positive-class probability, else the decision function."""
    if hasattr(model, "predict_proba"):
        return np.asarray(model.predict_proba(X))[:, -1].astype(float)
    return np.asarray(model.decision_function(X), dtype=float)


def _decide(model: Any, X: pd.DataFrame, score: np.ndarray, threshold: float | None) -> np.ndarray:
    if threshold is None:
        return np.asarray(model.predict(X))
    return (score >= threshold).astype(np.int8)


def _check_threshold(threshold: Any) -> float | None:
    return None if threshold is None else check_real("threshold", threshold)


def _change_summary(base: np.ndarray, new: np.ndarray, base_dec: np.ndarray, new_dec: np.ndarray) -> dict[str, float]:
    diff = new - base
    return {
        "mean_change": float(diff.mean()),
        "mean_abs_change": float(np.abs(diff).mean()),
        "max_abs_change": float(np.abs(diff).max()),
        "flip_rate": float(np.mean(new_dec != base_dec)),
    }


# --- 1. perturbation ------------------------------------------------------------------------------------


def perturbation_test(
    model: Any,
    X: pd.DataFrame,
    *,
    columns: str | Sequence[str] | None = None,
    scale: float = 0.01,
    noise: str = "gaussian",
    n_repeats: int = 5,
    y: Any = None,
    scoring: Metric | None = None,
    threshold: float | None = None,
    random_state: RandomState = None,
) -> pd.DataFrame:
    """How much predictions (and the score) move when numeric inputs get small noise.

    Each column in ``columns`` is perturbed alone, then all of them together (row ``"(all)"``), with
    noise of standard deviation ``scale * std(column)`` (``"gaussian"``) or uniform on
    ``± scale * std(column) * sqrt(3)`` (``"uniform"``, same standard deviation). Results are averaged
    over ``n_repeats`` draws.

    Parameters
    ----------
    model : fitted estimator
        With ``predict_proba`` or ``decision_function`` (and ``predict`` unless ``threshold`` is given).
    X : DataFrame
        Inputs the model accepts.
    columns : str or sequence of str, optional
        Numeric columns to perturb. Default: the numeric, non-boolean columns with more than two
        distinct values (one-hot and flag columns are left alone).
    scale : float, default 0.01
        Noise standard deviation as a fraction of each column's standard deviation, > 0.
    noise : {"gaussian", "uniform"}, default "gaussian"
    n_repeats : int, default 5
    y : array-like of 0/1, optional
        True labels; when given, ``scoring`` is computed on clean and perturbed scores.
    scoring : callable ``(y_true, score) -> float``, optional
        Default ``sklearn.metrics.average_precision_score`` (PR-AUC). Needs ``y``.
    threshold : float, optional
        Decide ``score >= threshold`` instead of calling ``model.predict``.
    random_state : int, Generator or None

    Returns
    -------
    DataFrame
        One row per perturbed column plus ``"(all)"``: ``column``, ``noise_std``, ``mean_abs_change``,
        ``max_abs_change`` (of the score, averaged / maximised over repeats), ``flip_rate`` (share of
        decisions that change), and with ``y``: ``score_clean``, ``score_perturbed``, ``score_change``.

    Book: Chapter 6, "Model Offline Evaluation: Perturbation tests" (a model that flips on noise of
    the size of measurement error is fragile in production).

    Example
    -------
    >>> from sklearn.linear_model import LogisticRegression
    >>> rng = np.random.default_rng(0)
    >>> X = pd.DataFrame({"a": rng.normal(size=200), "b": rng.normal(size=200)})
    >>> model = LogisticRegression().fit(X, X["a"] > 0)
    >>> report = perturbation_test(model, X, scale=0.01, random_state=0)
    >>> report["column"].tolist()
    ['a', 'b', '(all)']
    >>> bool((report["flip_rate"] < 0.05).all())
    True
    """
    _check_model(model)
    X = _check_frame("X", X)
    if columns is None:
        columns = [
            c
            for c in X.columns
            if X[c].dtype != bool and pd.api.types.is_numeric_dtype(X[c]) and X[c].nunique(dropna=True) > 2
        ]
        if not columns:
            raise ValueError("columns must be given: X has no numeric column with more than two distinct values")
    cols = _check_columns("columns", columns, X, numeric=True)
    scale = check_real("scale", scale, low=0.0, low_open=True)
    noise = check_choice("noise", noise, ("gaussian", "uniform"))
    n_repeats = check_int("n_repeats", n_repeats, minimum=1)
    threshold = _check_threshold(threshold)
    rng = check_random_state("random_state", random_state)
    if scoring is not None and not callable(scoring):
        raise TypeError(f"scoring must be a callable (y_true, score) -> float; got {type(scoring).__name__}")
    if scoring is not None and y is None:
        raise ValueError("scoring needs y: pass the true labels as y")
    if y is not None:
        y = check_binary_labels("y", y)
        check_same_length(X=X, y=y)
        if scoring is None:
            from sklearn.metrics import average_precision_score as scoring

    base = _score(model, X)
    base_dec = _decide(model, X, base, threshold)
    base_metric = float(scoring(y, base)) if y is not None else None
    stds = X[cols].astype(float).std(ddof=0).to_numpy()

    rows = []
    for label, group in [*[(c, [c]) for c in cols], ("(all)", cols)]:
        idx = [cols.index(c) for c in group]
        acc: dict[str, list[float]] = {"mean_abs_change": [], "max_abs_change": [], "flip_rate": [], "score": []}
        for _ in range(n_repeats):
            Xp = X.copy()
            for j in idx:
                sd = scale * stds[j]
                if noise == "gaussian":
                    eps = rng.normal(0.0, sd, size=len(X))
                else:
                    eps = rng.uniform(-sd * np.sqrt(3.0), sd * np.sqrt(3.0), size=len(X))
                Xp[cols[j]] = X[cols[j]].astype(float) + eps
            new = _score(model, Xp)
            s = _change_summary(base, new, base_dec, _decide(model, Xp, new, threshold))
            for k in ("mean_abs_change", "max_abs_change", "flip_rate"):
                acc[k].append(s[k])
            if y is not None:
                acc["score"].append(float(scoring(y, new)))
        row: dict[str, Any] = {
            "column": label,
            "noise_std": float(scale * stds[idx].mean()) if len(idx) == 1 else np.nan,
            "mean_abs_change": float(np.mean(acc["mean_abs_change"])),
            "max_abs_change": float(np.max(acc["max_abs_change"])),
            "flip_rate": float(np.mean(acc["flip_rate"])),
        }
        if y is not None:
            row["score_clean"] = base_metric
            row["score_perturbed"] = float(np.mean(acc["score"]))
            row["score_change"] = row["score_perturbed"] - base_metric
        rows.append(row)
    return pd.DataFrame(rows)


# --- 2. invariance --------------------------------------------------------------------------------------


def invariance_test(
    model: Any,
    X: pd.DataFrame,
    *,
    column: str | Sequence[str],
    values: Sequence[Any] | None = None,
    threshold: float | None = None,
) -> pd.DataFrame:
    """Set a (sensitive) attribute to each value for every row and report how far predictions move.

    A model that does not use the attribute passes with zero change. A one-hot encoded attribute is
    handled by passing all its columns as ``column`` and one tuple per level as ``values``.

    Parameters
    ----------
    model : fitted estimator
    X : DataFrame
    column : str or sequence of str
        The attribute's column, or its one-hot columns.
    values : sequence, optional
        Values to assign (tuples, one entry per column, when ``column`` is a sequence). Default: the
        distinct values of ``column`` (of its rows, for several columns) in X.
    threshold : float, optional
        Decide ``score >= threshold`` instead of calling ``model.predict``.

    Returns
    -------
    DataFrame
        One row per value: ``value``, ``mean_change`` (signed), ``mean_abs_change``, ``max_abs_change``
        of the score against the unmodified rows, ``flip_rate`` (share of decisions that change) and
        ``mean_score``. ``attrs["max_abs_change"]`` holds the worst change over all values.

    Book: Chapter 6, "Model Offline Evaluation: Invariance tests" (changing a sensitive attribute alone
    should not change the output).

    Example
    -------
    >>> from sklearn.linear_model import LogisticRegression
    >>> rng = np.random.default_rng(0)
    >>> X = pd.DataFrame({"income": rng.normal(size=200), "sex": rng.integers(0, 2, 200)})
    >>> from sklearn.compose import make_column_transformer
    >>> from sklearn.pipeline import make_pipeline
    >>> model = make_pipeline(make_column_transformer(("passthrough", ["income"])), LogisticRegression())
    >>> model = model.fit(X, X["income"] > 0)
    >>> invariance_test(model, X, column="sex")[["value", "max_abs_change", "flip_rate"]]
       value  max_abs_change  flip_rate
    0      0             0.0        0.0
    1      1             0.0        0.0
    """
    _check_model(model)
    X = _check_frame("X", X)
    cols = _check_columns("column", column, X, numeric=False)
    threshold = _check_threshold(threshold)
    multi = not isinstance(column, str)
    if values is None:
        if multi:
            values = list(X[cols].drop_duplicates().itertuples(index=False, name=None))
        else:
            values = X[cols[0]].dropna().unique().tolist()
            try:
                values = sorted(values)
            except TypeError:
                pass
    if isinstance(values, (str, bytes)) or not isinstance(values, Sequence) or len(values) == 0:
        raise TypeError(f"values must be a non-empty sequence of values; got {values!r}")
    if multi:
        for v in values:
            if not isinstance(v, Sequence) or isinstance(v, str) or len(v) != len(cols):
                raise ValueError(f"values must hold one tuple of {len(cols)} entries per level when column is a sequence; got {v!r}")

    base = _score(model, X)
    base_dec = _decide(model, X, base, threshold)
    rows = []
    for v in values:
        Xv = X.copy()
        if multi:
            for c, vc in zip(cols, v):
                Xv[c] = pd.Series([vc] * len(X), index=X.index).astype(X[c].dtype)
        else:
            Xv[cols[0]] = pd.Series([v] * len(X), index=X.index).astype(X[cols[0]].dtype)
        new = _score(model, Xv)
        rows.append({"value": v, **_change_summary(base, new, base_dec, _decide(model, Xv, new, threshold)), "mean_score": float(new.mean())})
    out = pd.DataFrame(rows)
    out.attrs["max_abs_change"] = float(out["max_abs_change"].max())
    return out


# --- 3. directional expectation -------------------------------------------------------------------------


def directional_test(
    model: Any,
    X: pd.DataFrame,
    *,
    column: str,
    delta: float,
    expected: str = "increase",
    tolerance: float = 0.0,
) -> pd.DataFrame:
    """Share of rows whose score moves against the expected direction when ``column`` grows by ``delta``.

    Parameters
    ----------
    model : fitted estimator
    X : DataFrame
        The rows to test (subset it to test an expectation on a slice, e.g. big-ticket categories).
    column : str
        A numeric column.
    delta : float
        Amount added to ``column`` (non-zero; negative to decrease it).
    expected : {"increase", "decrease", "no_decrease", "no_increase"}, default "increase"
        Expected movement of the score. ``"increase"`` counts a row as violating when its score goes
        down by more than ``tolerance``; the ``no_*`` forms are aliases kept for readability.
    tolerance : float, default 0.0
        Changes within ``tolerance`` of zero are not violations.

    Returns
    -------
    DataFrame
        One row: ``column``, ``delta``, ``expected``, ``n``, ``violation_rate``, ``n_violations``,
        ``mean_change``, ``worst_violation`` (the largest move against the expected direction, 0 when
        none).

    Book: Chapter 6, "Model Offline Evaluation: Directional expectation tests".

    Example
    -------
    >>> from sklearn.linear_model import LogisticRegression
    >>> rng = np.random.default_rng(0)
    >>> X = pd.DataFrame({"amount": rng.normal(size=300)})
    >>> model = LogisticRegression().fit(X, X["amount"] + rng.normal(size=300) > 1)
    >>> directional_test(model, X, column="amount", delta=1.0)[["expected", "violation_rate"]]
       expected  violation_rate
    0  increase             0.0
    """
    _check_model(model)
    X = _check_frame("X", X)
    col = _check_columns("column", column, X, numeric=True)[0]
    if not isinstance(column, str):
        raise TypeError(f"column must be a single column name; got {column!r}")
    delta = check_real("delta", delta)
    if delta == 0:
        raise ValueError("delta must be non-zero; got 0.0")
    expected = check_choice("expected", expected, ("increase", "decrease", "no_decrease", "no_increase"))
    tolerance = check_real("tolerance", tolerance, low=0.0)
    sign = 1.0 if expected in ("increase", "no_decrease") else -1.0

    base = _score(model, X)
    Xd = X.copy()
    Xd[col] = X[col].astype(float) + delta
    diff = _score(model, Xd) - base
    against = -sign * diff  # > 0 means moving against the expectation
    violated = against > tolerance
    return pd.DataFrame(
        [
            {
                "column": col,
                "delta": delta,
                "expected": expected,
                "n": len(X),
                "violation_rate": float(violated.mean()),
                "n_violations": int(violated.sum()),
                "mean_change": float(diff.mean()),
                "worst_violation": float(max(against.max(), 0.0)),
            }
        ]
    )


# --- 4. calibration -------------------------------------------------------------------------------------


def _check_probs(y_true: Any, y_prob: Any) -> tuple[np.ndarray, np.ndarray]:
    y = check_binary_labels("y_true", y_true)
    p = check_array("y_prob", y_prob).astype(float)
    check_same_length(y_true=y, y_prob=p)
    if p.min() < 0 or p.max() > 1:
        raise ValueError(f"y_prob must be probabilities in [0, 1]; got range [{p.min()}, {p.max()}]")
    return y, p


def _bin_ids(p: np.ndarray, n_bins: int, strategy: str) -> tuple[np.ndarray, np.ndarray]:
    """Bin edges and bin index per prediction, exactly as ``sklearn.calibration.calibration_curve``."""
    if strategy == "uniform":
        edges = np.linspace(0.0, 1.0, n_bins + 1)
    else:
        edges = np.percentile(p, np.linspace(0, 1, n_bins + 1) * 100)
    return edges, np.searchsorted(edges[1:-1], p)


def reliability_table(y_true: Any, y_prob: Any, *, n_bins: int = 10, strategy: str = "uniform") -> pd.DataFrame:
    """Per-bin mean predicted probability vs observed frequency of positives (the reliability diagram).

    Bins are those of ``sklearn.calibration.calibration_curve``: equal-width on [0, 1] (``"uniform"``)
    or equal-count quantiles of ``y_prob`` (``"quantile"``); a bin is closed on the right
    (``searchsorted``); empty bins are dropped.

    Parameters
    ----------
    y_true : array-like of 0/1
    y_prob : array-like of float in [0, 1]
        Predicted probability of the positive class.
    n_bins : int, default 10
    strategy : {"uniform", "quantile"}, default "uniform"

    Returns
    -------
    DataFrame
        One row per non-empty bin: ``bin``, ``lower``, ``upper`` (edges), ``mean_predicted``,
        ``fraction_positive``, ``count``, ``gap`` (``fraction_positive - mean_predicted``).

    Book: Chapter 6, "Model Offline Evaluation: Model calibration".

    Example
    -------
    >>> reliability_table([0, 0, 1, 1], [0.1, 0.2, 0.7, 0.9], n_bins=2)
       bin  lower  upper  mean_predicted  fraction_positive  count  gap
    0    0    0.0    0.5            0.15                0.0      2 -0.15
    1    1    0.5    1.0            0.80                1.0      2  0.20
    """
    y, p = _check_probs(y_true, y_prob)
    n_bins = check_int("n_bins", n_bins, minimum=1)
    strategy = check_choice("strategy", strategy, ("uniform", "quantile"))
    edges, ids = _bin_ids(p, n_bins, strategy)
    count = np.bincount(ids, minlength=n_bins)
    sum_p = np.bincount(ids, weights=p, minlength=n_bins)
    sum_y = np.bincount(ids, weights=y, minlength=n_bins)
    keep = np.flatnonzero(count)
    out = pd.DataFrame(
        {
            "bin": keep,
            "lower": edges[keep],
            "upper": edges[keep + 1],
            "mean_predicted": sum_p[keep] / count[keep],
            "fraction_positive": sum_y[keep] / count[keep],
            "count": count[keep],
        }
    )
    out["gap"] = out["fraction_positive"] - out["mean_predicted"]
    return out


def expected_calibration_error(y_true: Any, y_prob: Any, *, n_bins: int = 10, strategy: str = "uniform") -> float:
    """Expected calibration error: count-weighted mean of ``|fraction_positive - mean_predicted|`` per bin.

    ``ECE = sum_b (n_b / n) * |mean(y in b) - mean(p in b)|`` over the bins of
    :func:`reliability_table` (the same bins as ``sklearn.calibration.calibration_curve``).

    Parameters
    ----------
    y_true : array-like of 0/1
    y_prob : array-like of float in [0, 1]
    n_bins : int, default 10
    strategy : {"uniform", "quantile"}, default "uniform"

    Returns
    -------
    float
        In [0, 1]; 0 for a perfectly calibrated model (at this binning).

    Book: Chapter 6, "Model Offline Evaluation: Model calibration".

    Example
    -------
    >>> round(expected_calibration_error([0, 0, 1, 1], [0.1, 0.2, 0.7, 0.9], n_bins=2), 3)
    0.175
    """
    table = reliability_table(y_true, y_prob, n_bins=n_bins, strategy=strategy)
    w = table["count"] / table["count"].sum()
    return float((w * table["gap"].abs()).sum())


def calibration_comparison(
    estimator: Any,
    X_train: Any,
    y_train: Any,
    X_test: Any,
    y_test: Any,
    *,
    methods: Sequence[str] = ("none", "sigmoid", "isotonic"),
    cv: int = 3,
    n_bins: int = 10,
    strategy: str = "uniform",
) -> pd.DataFrame:
    """Fit the estimator uncalibrated and with Platt (sigmoid) / isotonic calibration; score each.

    ``"none"`` fits a clone of ``estimator`` on the training data; the others wrap a clone in
    ``sklearn.calibration.CalibratedClassifierCV(method=..., cv=cv)``.

    Parameters
    ----------
    estimator : unfitted scikit-learn classifier
    X_train, y_train, X_test, y_test : array-likes
        y are 0/1 labels.
    methods : sequence of {"none", "sigmoid", "isotonic"}
    cv : int, default 3
        Folds used by ``CalibratedClassifierCV``, >= 2.
    n_bins, strategy
        Binning of the ECE (see :func:`expected_calibration_error`).

    Returns
    -------
    DataFrame
        One row per method: ``method``, ``ece``, ``brier``, ``log_loss``, ``pr_auc``, ``fit_seconds``.

    Book: Chapter 6, "Model Offline Evaluation: Model calibration" (Platt scaling).

    Example
    -------
    >>> from sklearn.naive_bayes import GaussianNB
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(600, 3))
    >>> y = (X.sum(axis=1) + rng.normal(size=600) > 0).astype(int)
    >>> report = calibration_comparison(GaussianNB(), X[:400], y[:400], X[400:], y[400:])
    >>> report["method"].tolist()
    ['none', 'sigmoid', 'isotonic']
    """
    from sklearn.base import clone
    from sklearn.calibration import CalibratedClassifierCV
    from sklearn.metrics import average_precision_score, brier_score_loss, log_loss

    if not hasattr(estimator, "fit"):
        raise TypeError(f"estimator must be a scikit-learn classifier with fit; got {type(estimator).__name__}")
    if isinstance(methods, str) or not isinstance(methods, Sequence) or len(methods) == 0:
        raise TypeError(f"methods must be a non-empty sequence of method names; got {methods!r}")
    for m in methods:
        check_choice("methods", m, ("none", "sigmoid", "isotonic"))
    cv = check_int("cv", cv, minimum=2)
    y_train = check_binary_labels("y_train", y_train)
    y_test = check_binary_labels("y_test", y_test)
    check_same_length(X_train=X_train, y_train=y_train)
    check_same_length(X_test=X_test, y_test=y_test)

    rows = []
    for m in methods:
        model = clone(estimator) if m == "none" else CalibratedClassifierCV(clone(estimator), method=m, cv=cv)
        t0 = time.perf_counter()
        model.fit(X_train, y_train)
        fit_seconds = time.perf_counter() - t0
        p = np.clip(model.predict_proba(X_test)[:, 1], 0.0, 1.0)
        rows.append(
            {
                "method": m,
                "ece": expected_calibration_error(y_test, p, n_bins=n_bins, strategy=strategy),
                "brier": float(brier_score_loss(y_test, p)),
                "log_loss": float(log_loss(y_test, p, labels=[0, 1])),
                "pr_auc": float(average_precision_score(y_test, p)),
                "fit_seconds": fit_seconds,
            }
        )
    return pd.DataFrame(rows)


# --- 5. confidence vs coverage --------------------------------------------------------------------------


def coverage_curve(y_true: Any, y_prob: Any, *, thresholds: Any = None) -> pd.DataFrame:
    """Accuracy when the model answers only if confident, ``max(p, 1 - p) >= t``, against coverage.

    The decision is ``p >= 0.5``. Raising ``t`` answers fewer rows (coverage) and, for a useful
    confidence, gets them right more often.

    Parameters
    ----------
    y_true : array-like of 0/1
    y_prob : array-like of float in [0, 1]
        Predicted probability of the positive class.
    thresholds : array-like of float in [0.5, 1], optional
        Default ``0.5, 0.55, ..., 0.95, 0.99``.

    Returns
    -------
    DataFrame
        One row per threshold: ``threshold``, ``coverage`` (share answered), ``n_answered``,
        ``accuracy`` (on answered rows; NaN when none), ``positives_answered`` (share of all positives
        that fall in the answered rows: for rare classes, confidence can come from abstaining on them).

    Book: Chapter 6, "Model Offline Evaluation: Confidence measurement".

    Example
    -------
    >>> coverage_curve([0, 1, 1, 0], [0.1, 0.9, 0.6, 0.55], thresholds=[0.5, 0.8])
       threshold  coverage  n_answered  accuracy  positives_answered
    0        0.5       1.0           4      0.75                 1.0
    1        0.8       0.5           2      1.00                 0.5
    """
    y, p = _check_probs(y_true, y_prob)
    if thresholds is None:
        thresholds = np.r_[np.round(np.arange(0.5, 0.951, 0.05), 2), 0.99]
    t = check_array("thresholds", thresholds).astype(float)
    if t.min() < 0.5 or t.max() > 1.0:
        raise ValueError(f"thresholds must be in [0.5, 1]; got range [{t.min()}, {t.max()}]")
    confidence = np.maximum(p, 1.0 - p)
    correct = (p >= 0.5).astype(np.int8) == y
    n_pos = int(y.sum())
    rows = []
    for ti in t:
        answered = confidence >= ti
        k = int(answered.sum())
        rows.append(
            {
                "threshold": float(ti),
                "coverage": k / len(y),
                "n_answered": k,
                "accuracy": float(correct[answered].mean()) if k else np.nan,
                "positives_answered": float(y[answered].sum() / n_pos) if n_pos else np.nan,
            }
        )
    return pd.DataFrame(rows)


# --- 6. slices and Simpson's paradox --------------------------------------------------------------------


def _default_metrics(threshold: float) -> dict[str, Metric]:
    from sklearn.metrics import average_precision_score, roc_auc_score

    def _decisions(s: np.ndarray) -> np.ndarray:
        return (s >= threshold).astype(np.int8)

    def precision(y: np.ndarray, s: np.ndarray) -> float:
        d = _decisions(s)
        return float(y[d == 1].mean()) if d.any() else np.nan

    def recall(y: np.ndarray, s: np.ndarray) -> float:
        return float(_decisions(s)[y == 1].mean()) if y.any() else np.nan

    def accuracy(y: np.ndarray, s: np.ndarray) -> float:
        return float((_decisions(s) == y).mean())

    def roc_auc(y: np.ndarray, s: np.ndarray) -> float:
        return float(roc_auc_score(y, s)) if 0 < y.sum() < len(y) else np.nan

    def pr_auc(y: np.ndarray, s: np.ndarray) -> float:
        return float(average_precision_score(y, s)) if y.any() else np.nan

    return {"accuracy": accuracy, "precision": precision, "recall": recall, "roc_auc": roc_auc, "pr_auc": pr_auc}


def slice_report(
    y_true: Any,
    y_score: Any,
    slices: pd.Series,
    *,
    metrics: Mapping[str, Metric] | None = None,
    threshold: float = 0.5,
) -> pd.DataFrame:
    """Metrics per slice and overall, with each slice's size and prevalence.

    Parameters
    ----------
    y_true : array-like of 0/1
    y_score : array-like of float
        Scores or 0/1 decisions (decisions give ROC/PR-AUC of a single operating point).
    slices : Series
        The slice of each row (e.g. ``merchant_category``); aligned by position.
    metrics : mapping of name -> callable ``(y_true, y_score) -> float``, optional
        Default: ``accuracy``, ``precision``, ``recall`` (of ``y_score >= threshold``), ``roc_auc``,
        ``pr_auc``; each is NaN where undefined (no positive decision, one class in the slice). A
        user metric that raises ``ValueError`` on a slice is reported as NaN on that slice.
    threshold : float, default 0.5
        Decision threshold of the default metrics.

    Returns
    -------
    DataFrame
        Indexed by slice (category order, else sorted), then ``"overall"``: ``n``, ``share``, ``positives``, ``prevalence`` and one
        column per metric, plus ``<metric>_gap`` (slice minus overall) for each metric.

    Book: Chapter 6, "Model Offline Evaluation: Slice-based evaluation" (an aggregate can hide a
    slice where the model fails).

    Example
    -------
    >>> y = [0, 1, 0, 1, 0, 1]
    >>> score = [0.2, 0.8, 0.3, 0.4, 0.6, 0.9]
    >>> group = pd.Series(["a", "a", "a", "b", "b", "b"])
    >>> slice_report(y, score, group)[["n", "accuracy", "recall"]].round(3)
             n  accuracy  recall
    a        3     1.000   1.000
    b        3     0.333   0.500
    overall  6     0.667   0.667
    """
    y = check_binary_labels("y_true", y_true)
    s = check_array("y_score", y_score).astype(float)
    check_same_length(y_true=y, y_score=s)
    if not isinstance(slices, pd.Series):
        raise TypeError(f"slices must be a pandas Series; got {type(slices).__name__}")
    check_same_length(y_true=y, slices=slices)
    if slices.isna().any():
        raise ValueError(f"slices must not contain missing values; got {int(slices.isna().sum())}")
    threshold = check_real("threshold", threshold)
    if metrics is None:
        metrics = _default_metrics(threshold)
    elif not isinstance(metrics, Mapping) or not all(callable(f) for f in metrics.values()):
        raise TypeError("metrics must be a mapping of name -> callable(y_true, y_score)")

    def _row(mask: np.ndarray) -> dict[str, float]:
        yy, ss = y[mask], s[mask]
        row: dict[str, float] = {"n": int(mask.sum()), "share": float(mask.mean()), "positives": int(yy.sum()), "prevalence": float(yy.mean())}
        for name, f in metrics.items():
            try:
                row[name] = float(f(yy, ss))
            except ValueError:
                row[name] = np.nan
        return row

    keys = slices.to_numpy()
    if isinstance(slices.dtype, pd.CategoricalDtype):
        levels = list(slices.cat.categories)
    else:
        levels = list(pd.unique(keys))
        try:
            levels = sorted(levels)
        except TypeError:
            pass
    rows, index = [], []
    for level in levels:
        mask = keys == level
        if mask.any():
            rows.append(_row(mask))
            index.append(level)
    rows.append(_row(np.ones(len(y), dtype=bool)))
    index.append("overall")
    out = pd.DataFrame(rows, index=pd.Index(index, dtype=object, name=slices.name))
    for name in metrics:
        out[f"{name}_gap"] = out[name] - out.loc["overall", name]
    return out


def kidney_stones() -> pd.DataFrame:
    """The kidney-stone treatment data of Charig et al. (1986), the textbook Simpson's paradox.

    Returns
    -------
    DataFrame
        Four rows: ``treatment`` ("A" open surgery, "B" percutaneous nephrolithotomy), ``stone_size``
        ("small", "large"), ``successes``, ``patients``.

    Book: Chapter 6, "Model Offline Evaluation: Slice-based evaluation" (Simpson's paradox).

    Example
    -------
    >>> kidney_stones().groupby("treatment")[["successes", "patients"]].sum()
               successes  patients
    treatment
    A                273       350
    B                289       350
    """
    return pd.DataFrame(
        {
            "treatment": ["A", "A", "B", "B"],
            "stone_size": ["small", "large", "small", "large"],
            "successes": [81, 192, 234, 55],
            "patients": [87, 263, 270, 80],
        }
    )


def simpsons_paradox(
    data: pd.DataFrame,
    *,
    group: str = "treatment",
    slice: str = "stone_size",
    successes: str = "successes",
    total: str = "patients",
) -> dict[str, Any]:
    """Success rate of each group per slice and overall (pooled counts), and whether the winner flips.

    Parameters
    ----------
    data : DataFrame
        One row per (group, slice) with counts, like :func:`kidney_stones`.
    group, slice, successes, total : str
        Column names.

    Returns
    -------
    dict
        ``rates``: DataFrame indexed by group, one column per slice plus ``"overall"``
        (``sum(successes) / sum(total)``, not the mean of the slice rates);
        ``slice_winners``: slice -> group with the highest rate; ``overall_winner``: group;
        ``paradox``: True when one group wins every slice yet another wins overall.

    Book: Chapter 6, "Model Offline Evaluation: Slice-based evaluation" (Simpson's paradox: the slice
    sizes differ across groups, so the aggregate reverses the per-slice comparison).

    Example
    -------
    >>> result = simpsons_paradox(kidney_stones())
    >>> result["slice_winners"], result["overall_winner"], result["paradox"]
    ({'large': 'A', 'small': 'A'}, 'B', True)
    """
    data = _check_frame("data", data)
    _check_columns("group/slice/successes/total", [group, slice, successes, total], data, numeric=False)
    _check_columns("successes/total", [successes, total], data, numeric=True)
    if (data[successes] < 0).any() or (data[successes] > data[total]).any() or (data[total] <= 0).any():
        raise ValueError("successes and total must satisfy 0 <= successes <= total and total > 0 on every row")
    counts = data.groupby([group, slice], observed=True)[[successes, total]].sum()
    rates = (counts[successes] / counts[total]).unstack(slice)
    pooled = data.groupby(group, observed=True)[[successes, total]].sum()
    rates["overall"] = pooled[successes] / pooled[total]
    slice_cols = [c for c in rates.columns if c != "overall"]
    slice_winners = {str(c): rates[c].idxmax() for c in slice_cols}
    overall_winner = rates["overall"].idxmax()
    winners = set(slice_winners.values())
    paradox = len(winners) == 1 and next(iter(winners)) != overall_winner
    return {"rates": rates, "slice_winners": slice_winners, "overall_winner": overall_winner, "paradox": bool(paradox)}

"""Offline evaluation beyond one metric: robustness, fairness, calibration, confidence and slices.

A single test-set score says nothing about how a model behaves when an input is slightly noisy, when a
sensitive attribute changes, when a feature moves in a direction whose effect we know, whether its
probabilities can be taken at face value, when it should abstain, or on which subgroups it fails.
These helpers are what a practitioner copies: each takes a fitted model and data and returns a tidy
report (a ``pandas.DataFrame``, one row per repeat, value, bin, threshold, method or slice).

Models are fitted scikit-learn binary classifiers (or anything with ``get_params`` and ``predict_proba``,
whose second column is the score, or ``decision_function``); decisions are ``model.predict`` unless a
``threshold`` on the score is given. Calibrating a model is scikit-learn's ``CalibratedClassifierCV``;
these helpers measure it.

Book: Chapter 6, "Model Offline Evaluation" (perturbation tests, invariance tests, directional
expectation tests, model calibration, confidence measurement, slice-based evaluation). The chapter's
experiment drivers (the calibration arms, the kidney-stone data) are in ``mlsys_course.lab.ch06b``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
import pandas as pd
from sklearn.metrics import average_precision_score, roc_auc_score

from mlsys_course._validation import (
    RandomState,
    check_array,
    check_binary_labels,
    check_choice,
    check_column,
    check_columns,
    check_estimator,
    check_frame,
    check_int,
    check_random_state,
    check_real,
    check_same_length,
    check_scoring,
    show,
)

__all__ = [
    "MAX_BINS",
    "MAX_SLICES",
    "coverage_curve",
    "directional_test",
    "expected_calibration_error",
    "invariance_test",
    "perturbation_test",
    "reliability_table",
    "simpsons_paradox",
    "slice_report",
]

Metric = Callable[[np.ndarray, np.ndarray], float]

#: Most distinct slices :func:`slice_report` reports: more than this is one row per id, not a slice report.
MAX_SLICES = 10_000

#: Most bins :func:`reliability_table` and :func:`expected_calibration_error` accept: more bins than this
#: hold a handful of predictions each (and would only cost memory).
MAX_BINS = 10_000


# --- shared helpers ---------------------------------------------------------------------------------------


def _check_model(model: Any, *, needs_predict: bool) -> Any:
    """A fitted binary classifier with ``predict_proba`` or ``decision_function`` (and ``predict`` if needed)."""
    check_estimator("model", model, methods=("predict",) if needs_predict else ())
    if not (callable(getattr(model, "predict_proba", None)) or callable(getattr(model, "decision_function", None))):
        raise TypeError(
            f"model must be a fitted estimator with predict_proba or decision_function; got {type(model).__name__}"
        )
    return model


def _column_list(name: str, X: pd.DataFrame, columns: Any, *, numeric: bool) -> list:
    """One column name or a list of them, as a list of columns of X (numeric, non-boolean if asked)."""
    cols = check_columns(name, X, [columns] if isinstance(columns, str) else columns, frame="X")
    if numeric:
        bad = [c for c in cols if X[c].dtype == bool or not pd.api.types.is_numeric_dtype(X[c])]
        if bad:
            raise TypeError(f"{name} must name numeric (non-boolean) columns of X; got {show(bad)}")
    return cols


def _score(model: Any, X: pd.DataFrame) -> np.ndarray:
    """Positive-class probability, else the decision function."""
    if callable(getattr(model, "predict_proba", None)):
        proba = np.asarray(model.predict_proba(X))
        if proba.ndim != 2 or proba.shape[1] != 2:
            raise ValueError(f"model must be a binary classifier (predict_proba with 2 columns); got shape {proba.shape}")
        return proba[:, 1].astype(float)
    score = np.asarray(model.decision_function(X), dtype=float)
    if score.ndim != 1:
        raise ValueError(f"model must be a binary classifier (a 1-d decision_function); got shape {score.shape}")
    return score


def _decide(model: Any, X: pd.DataFrame, score: np.ndarray, threshold: float | None) -> np.ndarray:
    if threshold is None:
        return np.asarray(model.predict(X))
    return (score >= threshold).astype(np.int8)


def _check_threshold(threshold: Any) -> float | None:
    return None if threshold is None else check_real("threshold", threshold)


def _own_score(estimator: Any, X: Any, y: Any) -> float:
    """scikit-learn's ``scoring=None``: the estimator's own ``score``."""
    return estimator.score(X, y)


def _total_label(labels: Any) -> str:
    """"overall", or "(overall)" (and so on) when a slice already has that name."""
    label = "overall"
    taken = set(labels)
    while label in taken:
        label = f"({label})"
    return label


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
    columns: Any = None,
    scale: float = 0.01,
    noise: str = "gaussian",
    n_repeats: int = 5,
    y: Any = None,
    scoring: Any = None,
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
    columns : str or list of str, optional
        Numeric columns to perturb (one name or a list). Default: the numeric, non-boolean columns with
        more than two distinct values (one-hot and flag columns are left alone).
    scale : float, default 0.01
        Noise standard deviation as a fraction of each column's standard deviation, in (0, 100].
    noise : {"gaussian", "uniform"}, default "gaussian"
    n_repeats : int, default 5
        Draws per column, in [1, 1000].
    y : array-like of 0/1, optional
        True labels; when given, ``scoring`` is computed on the clean and the perturbed inputs.
    scoring : str, callable or None, default None
        scikit-learn's ``scoring``: a scorer name such as ``"average_precision"``, a callable
        ``scorer(model, X, y)``, or None for the model's own ``score`` (accuracy for a classifier).
        Needs ``y``.
    threshold : float, optional
        Decide ``score >= threshold`` instead of calling ``model.predict``.
    random_state : int, numpy.random.Generator or None, default None
        Seed for the noise.

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
    X = check_frame("X", X)
    threshold = _check_threshold(threshold)
    _check_model(model, needs_predict=threshold is None)
    if columns is None:
        columns = [
            c
            for c in X.columns
            if X[c].dtype != bool and pd.api.types.is_numeric_dtype(X[c]) and X[c].nunique(dropna=True) > 2
        ]
        if not columns:
            raise ValueError("columns must be given: X has no numeric column with more than two distinct values")
    cols = _column_list("columns", X, columns, numeric=True)
    scale = check_real("scale", scale, low=0.0, high=100.0, low_open=True)
    noise = check_choice("noise", noise, ("gaussian", "uniform"))
    n_repeats = check_int("n_repeats", n_repeats, minimum=1, maximum=1000)
    rng = check_random_state("random_state", random_state)
    if scoring is not None and y is None:
        raise ValueError("scoring needs y: pass the true labels as y")
    scorer = check_scoring("scoring", scoring)
    if y is not None:
        y = check_binary_labels("y", y)
        check_same_length(X=X, y=y)
        if scorer is None:
            if not callable(getattr(model, "score", None)):
                raise TypeError(f"scoring=None uses model.score, which {type(model).__name__} lacks; pass a scorer name")
            scorer = _own_score

    base = _score(model, X)
    base_dec = _decide(model, X, base, threshold)
    base_metric = float(scorer(model, X, y)) if y is not None else None
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
                acc["score"].append(float(scorer(model, Xp, y)))
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


def _constant_column(X: pd.DataFrame, column: Any, value: Any) -> pd.Series:
    """``value`` on every row of ``X[column]``, in the column's dtype; refused if the dtype cannot hold it."""
    dtype = X[column].dtype
    missing = pd.api.types.is_scalar(value) and bool(pd.isna(value))
    try:
        if isinstance(dtype, pd.CategoricalDtype) and not missing and value not in dtype.categories:
            same = False
        else:
            held = pd.Series([value]).astype(dtype).iloc[0]
            same = bool(pd.isna(held)) if missing else bool(held == value)
    except (TypeError, ValueError):
        same = False
    if not same:
        raise ValueError(
            f"values must be held exactly by X[{column!r}] (dtype {dtype}); got {show(value)}, "
            + ("not one of its categories" if isinstance(dtype, pd.CategoricalDtype) else "which that dtype cannot represent")
        )
    return pd.Series([value] * len(X), index=X.index).astype(dtype)


def invariance_test(
    model: Any,
    X: pd.DataFrame,
    *,
    column: Any,
    values: Any = None,
    threshold: float | None = None,
) -> pd.DataFrame:
    """Set a (sensitive) attribute to each value for every row and report how far predictions move.

    A model that does not use the attribute passes with zero change. A one-hot encoded attribute is
    handled by passing all its columns as ``column`` and one tuple per level as ``values``.

    Parameters
    ----------
    model : fitted estimator
    X : DataFrame
    column : str or list of str
        The attribute's column, or its one-hot columns.
    values : array-like, optional
        Values to assign (tuples, one entry per column, when ``column`` is a list). Each must be held
        exactly by the column's dtype: ``1.5`` is refused for an int column (it would become ``1``), an
        unknown category for a categorical one (it would become NaN). Default: the distinct values of
        ``column`` (of its rows, for several columns) in X.
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
    X = check_frame("X", X)
    threshold = _check_threshold(threshold)
    _check_model(model, needs_predict=threshold is None)
    multi = not isinstance(column, str)
    cols = _column_list("column", X, column, numeric=False)
    if values is None:
        if multi:
            values = list(X[cols].drop_duplicates().itertuples(index=False, name=None))
        else:
            values = X[cols[0]].dropna().unique().tolist()
            try:
                values = sorted(values)
            except TypeError:
                pass
    if isinstance(values, (str, bytes, dict)) or not hasattr(values, "__iter__"):
        raise TypeError(f"values must be a non-empty list of values; got {show(values)}")
    values = list(values)
    if not values:
        raise ValueError("values must hold at least one value; got none")
    if multi:
        for v in values:
            if isinstance(v, (str, bytes)) or not hasattr(v, "__len__") or len(v) != len(cols):
                raise ValueError(f"values must hold one tuple of {len(cols)} entries per level when column is a list; got {show(v)}")
    levels = [tuple(v) if multi else (v,) for v in values]
    for level in levels:  # refuse a value the column cannot hold before any scoring
        for c, vc in zip(cols, level):
            _constant_column(X.iloc[:1], c, vc)

    base = _score(model, X)
    base_dec = _decide(model, X, base, threshold)
    rows = []
    for v, level in zip(values, levels):
        Xv = X.copy()
        for c, vc in zip(cols, level):
            Xv[c] = _constant_column(X, c, vc)
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
    X = check_frame("X", X)
    _check_model(model, needs_predict=False)
    col = check_column("column", X, column, frame="X")
    if X[col].dtype == bool or not pd.api.types.is_numeric_dtype(X[col]):
        raise TypeError(f"column must name a numeric (non-boolean) column of X; got {col!r} of dtype {X[col].dtype}")
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
        Number of bins, in [1, ``MAX_BINS``] (10,000).
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
    n_bins = check_int("n_bins", n_bins, minimum=1, maximum=MAX_BINS)
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
        Number of bins, in [1, ``MAX_BINS``] (10,000).
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
    slices: Any,
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
    slices : array-like of shape (n,)
        The slice of each row (e.g. ``df_test["merchant_category"]``), aligned with ``y_true`` by
        position (a Series' index is ignored); no missing values; at most ``MAX_SLICES`` (10,000)
        distinct values.
    metrics : mapping of name -> callable ``(y_true, y_score) -> float``, optional
        Default: ``accuracy``, ``precision``, ``recall`` (of ``y_score >= threshold``), ``roc_auc``,
        ``pr_auc``; each is NaN where undefined (no positive decision, one class in the slice). A
        user metric that raises ``ValueError`` on a slice is reported as NaN on that slice.
    threshold : float, default 0.5
        Decision threshold of the default metrics.

    Returns
    -------
    DataFrame
        Indexed by slice (category order, else sorted), then the row of all rows, labelled
        ``"overall"`` (``"(overall)"`` if a slice is itself called "overall"): ``n``, ``share``,
        ``positives``, ``prevalence`` and one column per metric, plus ``<metric>_gap`` (slice minus
        overall) for each metric. The index is named after ``slices`` when it is a named Series.

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
    if isinstance(slices, (str, bytes, dict)) or np.ndim(slices) != 1:
        raise TypeError(f"slices must be a 1-d array-like (e.g. a pandas Series) of slice labels; got {show(slices)}")
    keys = slices.reset_index(drop=True) if isinstance(slices, pd.Series) else pd.Series(slices)
    check_same_length(y_true=y, slices=keys)
    if keys.isna().any():
        raise ValueError(f"slices must not contain missing values; got {int(keys.isna().sum())}")
    threshold = check_real("threshold", threshold)
    if metrics is None:
        metrics = _default_metrics(threshold)
    elif not isinstance(metrics, Mapping) or not metrics or not all(callable(f) for f in metrics.values()):
        raise TypeError(f"metrics must be a non-empty mapping of name -> callable(y_true, y_score); got {show(metrics)}")
    clash = [name for name in metrics if name in ("n", "share", "positives", "prevalence")]
    if clash:
        raise ValueError(f"metrics must not be named like the report's own columns (n, share, positives, prevalence); got {clash}")

    def _row(rows: np.ndarray) -> dict[str, float]:
        yy, ss = y[rows], s[rows]
        row: dict[str, float] = {"n": len(rows), "share": len(rows) / len(y), "positives": int(yy.sum()), "prevalence": float(yy.mean())}
        for name, f in metrics.items():
            try:
                row[name] = float(f(yy, ss))
            except ValueError:
                row[name] = np.nan
        return row

    positions = keys.groupby(keys, observed=True, sort=False).indices  # slice -> its row positions, in one pass
    if len(positions) > MAX_SLICES:
        raise ValueError(f"slices must have at most {MAX_SLICES:,} distinct values (a slice report, not one row per "
                         f"id); got {len(positions):,}")
    if isinstance(keys.dtype, pd.CategoricalDtype):
        levels = [c for c in keys.cat.categories if c in positions]
    else:
        levels = list(positions)
        try:
            levels = sorted(levels)
        except TypeError:
            pass
    rows = [_row(positions[level]) for level in levels]
    index = list(levels)
    total = _row(np.arange(len(y)))
    rows.append(total)
    index.append(_total_label(index))
    out = pd.DataFrame(rows, index=pd.Index(index, dtype=object, name=slices.name if isinstance(slices, pd.Series) else None))
    for name in metrics:
        out[f"{name}_gap"] = out[name] - total[name]
    return out


def _check_counts(name: str, data: pd.DataFrame, column: Any) -> np.ndarray:
    values = data[column]
    if values.dtype == bool or not pd.api.types.is_numeric_dtype(values):
        raise TypeError(f"{name} must name a numeric column of data; got {column!r} of dtype {values.dtype}")
    arr = values.to_numpy(dtype=float)
    if not np.isfinite(arr).all():
        raise ValueError(f"data[{column!r}] must hold finite counts (no NaN or inf); got {int((~np.isfinite(arr)).sum())} such value(s)")
    return arr


def simpsons_paradox(
    data: pd.DataFrame,
    *,
    group: Any = "treatment",
    slice: Any = "stone_size",
    successes: Any = "successes",
    total: Any = "patients",
) -> dict[str, Any]:
    """Success rate of each group per slice and overall (pooled counts), and whether the winner flips.

    Parameters
    ----------
    data : DataFrame
        One row per (group, slice) with counts (rows repeating a pair are added up), like the
        kidney-stone study in ``mlsys_course.lab.ch06b.kidney_stones``.
    group, slice : column names, default "treatment" and "stone_size"
        The columns naming each row's group and slice; no missing values.
    successes, total : column names, default "successes" and "patients"
        Numeric count columns with ``0 <= successes <= total`` and ``total > 0`` on every row.

    Returns
    -------
    dict
        ``rates``: DataFrame indexed by group, one column per slice plus the pooled rate
        (``sum(successes) / sum(total)``, not the mean of the slice rates) in column ``"overall"``
        (``"(overall)"`` if a slice is itself called "overall");
        ``slice_winners``: slice -> group with the highest rate; ``overall_winner``: group;
        ``paradox``: True when one group wins every slice yet another wins overall.

    Book: Chapter 6, "Model Offline Evaluation: Slice-based evaluation" (Simpson's paradox: the slice
    sizes differ across groups, so the aggregate reverses the per-slice comparison).

    Example
    -------
    Kidney-stone treatments A and B (Charig et al. 1986), by stone size:

    >>> data = pd.DataFrame({"treatment": ["A", "A", "B", "B"], "stone_size": ["small", "large", "small", "large"],
    ...                      "successes": [81, 192, 234, 55], "patients": [87, 263, 270, 80]})
    >>> result = simpsons_paradox(data)
    >>> result["slice_winners"], result["overall_winner"], result["paradox"]
    ({'large': 'A', 'small': 'A'}, 'B', True)
    """
    data = check_frame("data", data)
    names = {"group": group, "slice": slice, "successes": successes, "total": total}
    for name, column in names.items():
        check_column(name, data, column, frame="data")
    if len(set(names.values())) != len(names):
        raise ValueError(f"group, slice, successes and total must be four different columns; got {show(list(names.values()))}")
    for name in ("group", "slice"):
        if data[names[name]].isna().any():
            raise ValueError(f"data[{names[name]!r}] ({name}) must not contain missing values; got {int(data[names[name]].isna().sum())}")
    wins, counts = _check_counts("successes", data, successes), _check_counts("total", data, total)
    bad = (wins < 0) | (wins > counts) | (counts <= 0)
    if bad.any():
        raise ValueError(f"data must satisfy 0 <= successes <= total and total > 0 on every row; "
                         f"got {int(bad.sum())} row(s) that do not, e.g. row {show(data.index[bad][0])}")
    summed = data.groupby([group, slice], observed=True, sort=True)[[successes, total]].sum()
    rates = (summed[successes] / summed[total]).unstack(slice)
    pooled = data.groupby(group, observed=True, sort=True)[[successes, total]].sum()
    slice_cols = list(rates.columns)
    overall = _total_label(slice_cols)
    rates[overall] = pooled[successes] / pooled[total]
    slice_winners = {c: rates[c].idxmax() for c in slice_cols}
    overall_winner = rates[overall].idxmax()
    winners = set(slice_winners.values())
    paradox = len(winners) == 1 and next(iter(winners)) != overall_winner
    return {"rates": rates, "slice_winners": slice_winners, "overall_winner": overall_winner, "paradox": bool(paradox)}

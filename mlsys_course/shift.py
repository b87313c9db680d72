"""Data distribution shifts: simulate each kind on purpose, and address the ones that can be corrected.

A model learns ``P(X, Y)`` from its training data and is served data from another distribution. The book
(Chapter 8) names the kinds by what changes: **covariate shift** (``P(X)`` changes, ``P(Y | X)`` is kept),
**label shift** (``P(Y)`` changes, ``P(X | Y)`` is kept), **concept drift** (``P(Y | X)`` changes,
``P(X)`` is kept), and shifts of the joint that no single feature shows (a correlation between two
features changes while each feature's own distribution stays). :func:`simulate_shift` produces each one
from a frame, from a start time on, with a size knob, so that monitors can be tried on a shift whose kind
and size are known.

Two kinds can be corrected without new labels:

- covariate shift, by **importance weighting**: weight each training row by ``P_current(x) /
  P_reference(x)``, estimated from a classifier that tells the two windows apart
  (:func:`importance_weights`);
- label shift, by **re-estimating the class priors** on unlabelled current data with black-box shift
  estimation (:func:`estimate_label_shift`, Lipton, Wang & Smola 2018) and **adjusting the predicted
  probabilities** to them (:func:`adjust_priors`, Saerens, Latinne & Decaestecker 2002).

Concept drift cannot be corrected without labels: the remedy is retraining on recent labelled data.

Book: Chapter 8, "Data Distribution Shifts" (types of shifts) and "Addressing Data Distribution Shifts".
"""

from __future__ import annotations

import numbers
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from scipy.stats import rankdata
from sklearn.base import clone
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from mlsys_course._validation import (
    RandomState,
    check_array,
    check_choice,
    check_column,
    check_columns,
    check_estimator,
    check_frame,
    check_int,
    check_random_state,
    check_real,
    check_seed,
    check_time_column,
    check_timestamp,
    show,
)

__all__ = ["DEFAULT_SHIFT_COLUMNS", "SHIFT_KINDS", "adjust_priors", "estimate_label_shift", "importance_weights",
           "simulate_shift"]

#: The kinds :func:`simulate_shift` makes.
SHIFT_KINDS = ("covariate", "label", "concept", "correlation")

#: The columns each kind uses when ``columns=None`` (chosen for :func:`mlsys_course.datasets.make_transactions`):
#: covariate shift and concept drift act on ``amount``; the correlation shift re-pairs ``account_age_days``
#: with ``amount`` (two complete numeric features that are nearly independent at baseline: Spearman about 0.01).
DEFAULT_SHIFT_COLUMNS = {"covariate": ("amount",), "concept": ("amount",),
                         "correlation": ("amount", "account_age_days")}


def _rank_score(frame: pd.DataFrame, columns: list, name: str = "columns") -> np.ndarray:
    """The rows' position in (0, 1) by ``columns``: mid-ranks of the mean of each column's mid-rank."""
    n = len(frame)
    if n == 0:
        return np.empty(0)
    per_column = []
    for c in columns:
        values = frame[c].to_numpy()
        if values.dtype == object or not (np.issubdtype(values.dtype, np.number) or values.dtype == bool):
            raise TypeError(f"{name} must name numeric (or boolean) columns; got {c!r} of dtype {frame[c].dtype}")
        values = values.astype(float)
        if not np.all(np.isfinite(values)):
            raise ValueError(f"{name} must name columns with no missing or infinite values; {c!r} has "
                             f"{int(np.sum(~np.isfinite(values)))} (fill them first or choose other columns)")
        per_column.append(rankdata(values))
    mean_rank = np.mean(per_column, axis=0)
    return (rankdata(mean_rank) - 0.5) / n


def _binary_target(frame: pd.DataFrame, target: Any, kind: str) -> np.ndarray:
    check_column("target", frame, target, frame="frame")
    values = frame[target].to_numpy()
    if values.dtype != bool and not np.issubdtype(values.dtype, np.number):
        raise TypeError(f"target must name a 0/1 or boolean column for kind={kind!r}; got {target!r} of dtype "
                        f"{frame[target].dtype}")
    bad = ~np.isin(values, (0, 1))
    if bad.any():
        raise ValueError(f"target must name a column holding only 0 and 1 for kind={kind!r}; {target!r} holds "
                         f"{show(pd.unique(values[bad])[:5].tolist())}")
    return values.astype(bool)


def simulate_shift(
    frame: pd.DataFrame,
    kind: str,
    *,
    size: float,
    start: Any,
    columns: Sequence | None = None,
    target: Any = "is_fraud",
    time: Any = "timestamp",
    label_time: Any = "label_known_at",
    random_state: RandomState = None,
) -> pd.DataFrame:
    """Shift a frame's distribution on purpose from ``start`` on: a covariate, label, concept or correlation shift.

    Rows with ``frame[time] < start`` are returned as they are; the rows from ``start`` on (the *window*)
    are changed so that exactly one part of the distribution moves, by an amount set by ``size``:

    - ``"covariate"``: ``P(X)`` changes, ``P(y | X)`` is kept. Each window row is kept with probability
      ``u ** size``, where ``u`` in (0, 1) is its rank position by ``columns`` (mid-rank / n; with several
      columns, the rank of their mean rank). Keeping rows by their features alone leaves ``P(y | X)``
      exactly as it was, rows keep their labels; the window's rank positions go from uniform to
      Beta(1 + size, 1) (density ``(1 + size) u ** size``): larger values of ``columns`` become more common.
      About ``1 / (1 + size)`` of the window's rows remain (size 1: half, mean position 0.67 instead of 0.5).
    - ``"label"``: ``P(y)`` changes, ``P(X | y)`` is kept. Every positive row of the window is kept and
      each negative row is kept with probability ``1 / (1 + size)``: the odds of the positive class are
      multiplied by ``1 + size`` (a prior ``p`` becomes ``p (1 + size) / (1 + p size)``; 1% becomes 1.98%
      at size 1, 9.2% at size 9) and rows are dropped by class only, so each class's features keep their
      distribution. ``columns`` is not used.
    - ``"concept"``: ``P(y | X)`` changes, ``P(X)`` is kept exactly (the rows and their features are the
      same). The window's rows are paired by rank position by ``columns``, lowest with highest, second
      lowest with second highest, ...; each pair swaps its labels with probability ``size``. The number of
      positives is unchanged and at size 1 the positive rate at position ``u`` becomes the one that was at
      ``1 - u`` (on the case study: fraud moves from small amounts to large ones and back). A monitor of
      the inputs, or of a model's predictions, cannot see it; only labels can. Each swapped row also takes
      its partner's label delay: ``frame[label_time] - frame[time]`` is swapped with the label, so a row
      that became fraud gets a chargeback's delay (set ``label_time=None`` for a frame without one).
    - ``"correlation"``: every column keeps its values exactly (those of the window are a permutation of
      what they were), while the joint of ``columns`` (two or more numeric columns) changes. Each window
      row is selected with probability ``size``; among the selected rows the values of ``columns[1:]`` are
      re-paired *counter-monotone* with ``columns[0]``: the row with the largest ``columns[0]`` gets the
      smallest value of each other column. At size 1 the window's rank correlation is exactly -1; an
      independent pair goes to about ``-size``. Rows not selected, and ``columns[0]``, are untouched; the
      moved values also change their relation with the other columns (the target included).

    ``size=0`` returns the rows unchanged. Rows are never duplicated, so the resampling kinds return
    *fewer* rows from ``start`` on (an independent thinning, about ``1 / (1 + size)`` of the window for
    covariate shift and of its negatives for label shift), and a drift test sees no more sampling noise
    than on real data. ``start`` before the first row shifts every row; after the last, none.

    Parameters
    ----------
    frame : pandas.DataFrame
        The data, e.g. from :func:`mlsys_course.datasets.make_transactions`; any frame with a datetime
        ``time`` column (and a 0/1 ``target`` column for ``"label"`` and ``"concept"``).
    kind : {"covariate", "label", "concept", "correlation"}
        The kind of shift.
    size : float
        The strength, >= 0 (at most 1 for ``"concept"`` and ``"correlation"``, where it is a probability);
        0 leaves the distribution unchanged. See the kinds above for what it means.
    start : str, datetime or numpy.datetime64
        Rows with ``frame[time] >= start`` are shifted.
    columns : list of str, optional
        The numeric columns the shift acts on (``"covariate"``, ``"concept"``: one or more;
        ``"correlation"``: two or more; must be None for ``"label"``). None: ``DEFAULT_SHIFT_COLUMNS[kind]``.
        They must have no missing values.
    target : str, default "is_fraud"
        The 0/1 label column (``"label"`` and ``"concept"`` only; otherwise it need not exist).
    time : str, default "timestamp"
        The datetime column that decides which rows are shifted.
    label_time : str or None, default "label_known_at"
        ``"concept"`` only: the datetime column of when each label becomes known; its delay after ``time``
        moves with the label. None when the frame has no such column.
    random_state : int, numpy.random.Generator or None
        Seed of the random draws.

    Returns
    -------
    pandas.DataFrame
        The same columns and dtypes (categoricals keep their categories), sorted by ``time`` (stable), with
        a fresh RangeIndex.

    Book: Chapter 8, "Types of Data Distribution Shifts" (covariate shift, label shift, concept drift) and
    "Detecting Data Distribution Shifts" (a shift in the joint that per-feature tests miss).

    Examples
    --------
    >>> from mlsys_course.datasets import make_transactions
    >>> df = make_transactions(20_000, random_state=0)
    >>> late = df["timestamp"] >= "2024-04-01"
    >>> shifted = simulate_shift(df, "label", size=4.0, start="2024-04-01", random_state=0)
    >>> before = df.loc[late, "is_fraud"].mean()
    >>> after = shifted.loc[shifted["timestamp"] >= "2024-04-01", "is_fraud"].mean()
    >>> round(float(before), 4), round(float(before * 5 / (1 + 4 * before)), 4), round(float(after), 4)
    (0.0109, 0.0524, 0.0513)
    >>> concept = simulate_shift(df, "concept", size=1.0, start="2024-04-01", random_state=0)
    >>> concept.drop(columns=["is_fraud", "label_known_at"]).equals(df.drop(columns=["is_fraud", "label_known_at"]))
    True
    >>> int(concept["is_fraud"].sum()) == int(df["is_fraud"].sum())
    True
    """
    check_frame("frame", frame)
    kind = check_choice("kind", kind, SHIFT_KINDS)
    size = check_real("size", size, low=0.0, high=1.0 if kind in ("concept", "correlation") else None)
    start = check_timestamp("start", start)
    check_column("time", frame, time, frame="frame")
    t = check_time_column("frame", frame, time, "time")
    rng = check_random_state("random_state", random_state)
    if kind == "label":
        if columns is not None:
            raise ValueError(f"columns must be None for kind='label' (the shift acts on the target); got {show(columns)}")
    else:
        columns = check_columns("columns", frame, DEFAULT_SHIFT_COLUMNS[kind] if columns is None else columns,
                                frame="frame", min_len=2 if kind == "correlation" else 1)
    y = _binary_target(frame, target, kind) if kind in ("label", "concept") else None
    if kind == "concept" and label_time is not None:
        check_column("label_time", frame, label_time, frame="frame")
        label_t = check_time_column("frame", frame, label_time, "label_time")
    elif kind == "concept":
        label_t = None

    after = np.flatnonzero(t >= start.value)
    window = frame.iloc[after]
    keep = np.ones(len(frame), dtype=bool)
    out = frame.copy()
    if kind == "covariate":
        u = _rank_score(window, columns)
        keep[after] = rng.random(len(after)) < u ** size
    elif kind == "label":
        negative = after[~y[after]]
        keep[negative] = rng.random(len(negative)) < 1.0 / (1.0 + size)
    elif kind == "concept":
        u = _rank_score(window, columns)
        order = after[np.lexsort((rng.random(len(after)), u))]  # by rank position, ties in random order
        half = len(order) // 2
        low, high = order[:half], order[::-1][:half]
        swap = rng.random(half) < size
        a, b = low[swap], high[swap]
        labels = frame[target].to_numpy().copy()
        labels[a], labels[b] = labels[b], labels[a].copy()
        out[target] = pd.Series(labels, index=frame.index, dtype=frame[target].dtype)
        if label_t is not None:
            delay = label_t - t
            delay[a], delay[b] = delay[b], delay[a].copy()
            out[label_time] = pd.Series((t + delay).view("datetime64[ns]"), index=frame.index).astype(
                frame[label_time].dtype)
    else:  # correlation
        u0 = _rank_score(window, columns[:1])
        _rank_score(window, columns[1:])  # validates the other columns
        chosen = after[rng.random(len(after)) < size]
        if len(chosen):
            by_first = chosen[np.lexsort((rng.random(len(chosen)), u0[np.searchsorted(after, chosen)]))]
            for c in columns[1:]:
                values = frame[c].to_numpy()
                new = values.copy()
                new[by_first] = np.sort(values[chosen], kind="stable")[::-1]
                out[c] = pd.Series(new, index=frame.index, dtype=frame[c].dtype)
    out = out.iloc[np.flatnonzero(keep)]
    order = np.argsort(check_time_column("frame", out, time, "time"), kind="stable")
    return out.iloc[order].reset_index(drop=True)


def _two_windows(reference: Any, current: Any) -> tuple[Any, Any]:
    for name, value in (("reference", reference), ("current", current)):
        if isinstance(value, pd.DataFrame):
            check_frame(name, value)
        elif isinstance(value, np.ndarray) or isinstance(value, list):
            check_array(name, value, ndim=2, numeric=False)
        else:
            raise TypeError(f"{name} must be a pandas DataFrame or a 2-D array; got {show(value)} of type "
                            f"{type(value).__name__}")
    if isinstance(reference, pd.DataFrame) != isinstance(current, pd.DataFrame):
        raise TypeError(f"current must be of the same kind as reference (both DataFrames or both arrays); got "
                        f"{type(reference).__name__} and {type(current).__name__}")
    if isinstance(reference, pd.DataFrame):
        if list(reference.columns) != list(current.columns):
            raise ValueError(f"current must have the columns of reference, in the same order; got "
                             f"{show(list(current.columns))}, expected {show(list(reference.columns))}")
        return reference, current
    reference, current = np.asarray(reference), np.asarray(current)
    if reference.shape[1] != current.shape[1]:
        raise ValueError(f"current must have as many columns as reference ({reference.shape[1]}); got {current.shape[1]}")
    return reference, current


def importance_weights(
    reference: Any,
    current: Any,
    *,
    estimator: Any = None,
    cv: int = 5,
    clip: float | None = 20.0,
    random_state: RandomState = None,
) -> np.ndarray:
    """Importance weights of the reference rows, ``P_current(x) / P_reference(x)``, from a domain classifier.

    A classifier learns to tell current rows (label 1) from reference rows (label 0). By Bayes' rule its
    probability ``p(x)`` of "current" gives the density ratio ``P_cur(x) / P_ref(x) = p / (1 - p) *
    n_ref / n_cur``. The probabilities are *cross-fitted*: each reference row is scored by a model fitted
    on the other ``cv - 1`` folds, so a flexible classifier cannot memorise its own rows (which would
    push every reference row's weight toward 0). Raw ratios are clipped at ``clip`` (a few rows with huge
    weights make a weighted fit noisy), then divided by their mean, so the weights average 1.

    Fit the model on the reference rows with ``sample_weight=weights`` to target the current window.
    It helps most when the model is too simple to be right everywhere (it then spends its capacity
    where the current data are); a flexible, well-specified model gains little.

    Parameters
    ----------
    reference, current : pandas.DataFrame or 2-D array
        The training (reference) window and the current window, with the same columns. With the default
        estimator they must be numeric and finite.
    estimator : scikit-learn classifier, optional
        The domain classifier, with ``predict_proba`` (cloned for each fold). None: a
        ``StandardScaler`` + ``LogisticRegression`` pipeline (a log density ratio linear in ``x``, exact for
        two Gaussians with a common covariance); pass e.g. a ``HistGradientBoostingClassifier`` for shifts a
        linear model cannot express.
    cv : int, default 5
        Number of cross-fitting folds (>= 2), stratified by window.
    clip : float or None, default 20.0
        The largest raw density ratio kept (> 0); None for no clipping.
    random_state : int, numpy.random.Generator or None
        Seed of the fold assignment (and of the estimator, when it takes one and none is set).

    Returns
    -------
    numpy.ndarray
        One weight per reference row, float64, mean 1.

    Book: Chapter 8, "Addressing Data Distribution Shifts" (importance weighting: the ratio of the new to
    the training density, estimated here by a classifier, as in Bickel, Brückner & Scheffer 2007).

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> reference, current = rng.normal(0, 1, (2_000, 1)), rng.normal(0.5, 1, (2_000, 1))
    >>> w = importance_weights(reference, current, random_state=0)
    >>> round(float(w.mean()), 6), round(float(np.average(reference[:, 0], weights=w)), 1)
    (1.0, 0.5)
    """
    reference, current = _two_windows(reference, current)
    cv = check_int("cv", cv, minimum=2)
    if clip is not None:
        clip = check_real("clip", clip, low=0.0, low_open=True)
    seed = check_seed("random_state", random_state)
    if estimator is None:
        for name, value in (("reference", reference), ("current", current)):
            values = np.asarray(value)
            if values.dtype == object or not (np.issubdtype(values.dtype, np.number) or values.dtype == bool):
                raise TypeError(f"{name} must be numeric with the default estimator; got dtype {values.dtype} "
                                f"(pass an estimator that handles it)")
            if not np.all(np.isfinite(values.astype(float))):
                raise ValueError(f"{name} must be finite (no NaN or inf) with the default estimator")
        estimator = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000))
    else:
        check_estimator("estimator", estimator, methods=("fit", "predict_proba"))
    n_ref, n_cur = len(reference), len(current)
    if min(n_ref, n_cur) < cv:
        raise ValueError(f"reference and current must each have at least cv={cv} rows; got {n_ref} and {n_cur}")
    if isinstance(reference, pd.DataFrame):
        X = pd.concat([reference, current], ignore_index=True)
    else:
        X = np.concatenate([reference, current])
    domain = np.r_[np.zeros(n_ref, dtype=int), np.ones(n_cur, dtype=int)]
    p = np.empty(n_ref)
    splitter = StratifiedKFold(n_splits=cv, shuffle=True, random_state=seed)
    for train, test in splitter.split(np.zeros(len(domain)), domain):
        model = clone(estimator)
        if seed is not None and "random_state" in model.get_params() and model.get_params()["random_state"] is None:
            model.set_params(random_state=seed)
        rows = X.iloc[train] if isinstance(X, pd.DataFrame) else X[train]
        model.fit(rows, domain[train])
        test_ref = test[test < n_ref]
        if len(test_ref):
            rows = X.iloc[test_ref] if isinstance(X, pd.DataFrame) else X[test_ref]
            p[test_ref] = model.predict_proba(rows)[:, list(model.classes_).index(1)]
    p = np.clip(p, 1e-12, 1 - 1e-12)
    ratio = p / (1 - p) * n_ref / n_cur
    if clip is not None:
        ratio = np.minimum(ratio, clip)
    return ratio / ratio.mean()


def _probabilities(name: str, proba: Any) -> np.ndarray:
    """Class probabilities as an (n, k) array: a 1-d array is P(class 1) of a binary problem."""
    try:
        ndim = np.ndim(proba)
    except ValueError:  # a ragged list
        raise ValueError(f"{name} must be a 1-d or 2-d array of probabilities; got a ragged {show(proba)}") from None
    arr = check_array(name, proba, ndim=ndim if ndim in (1, 2) else 1)
    if np.any(arr < 0) or np.any(arr > 1):
        raise ValueError(f"{name} must hold probabilities in [0, 1]; got values from {arr.min():.4g} to {arr.max():.4g}")
    if arr.ndim == 1:
        return np.column_stack([1.0 - arr, arr])
    if arr.shape[1] < 2:
        raise ValueError(f"{name} must have one column per class (at least 2); got shape {arr.shape}")
    sums = arr.sum(axis=1)
    if not np.allclose(sums, 1.0, atol=1e-6):
        raise ValueError(f"{name} must have rows that sum to 1 (one column per class); got row sums from "
                         f"{sums.min():.6g} to {sums.max():.6g}")
    return arr.astype(float)


def _priors(name: str, value: Any, k: int, *, closed: bool = False) -> np.ndarray:
    interval = "[0, 1]" if closed else "(0, 1)"
    if isinstance(value, numbers.Real) and not isinstance(value, bool) and k == 2:
        p = check_real(name, value, low=0.0, high=1.0, low_open=not closed, high_open=not closed)
        return np.array([1.0 - p, p])
    arr = check_array(name, value, ndim=1)
    if len(arr) != k:
        raise ValueError(f"{name} must have one prior per class ({k}); got {len(arr)}")
    if (np.any(arr < 0) or np.any(arr > 1)) if closed else (np.any(arr <= 0) or np.any(arr >= 1)):
        raise ValueError(f"{name} must hold priors in {interval}; got {show(arr.tolist())}")
    if not np.isclose(arr.sum(), 1.0, atol=1e-6):
        raise ValueError(f"{name} must sum to 1; got {show(arr.tolist())}, which sums to {arr.sum():.6g}")
    return arr.astype(float)


def adjust_priors(proba: Any, *, train_priors: Any, new_priors: Any) -> np.ndarray:
    """Correct predicted probabilities for new class priors (label shift): ``p'(y|x) ∝ p(y|x) new(y) / old(y)``.

    Under label shift ``P(x | y)`` is unchanged, so Bayes' rule gives the new posterior from the old one by
    reweighting each class by the ratio of its new to its training prior and renormalising (Saerens,
    Latinne & Decaestecker 2002, eq. 2.4). A calibrated model stays calibrated on the new data; the
    ranking of rows (and so ROC-AUC) does not change in the binary case, the probabilities and the alert
    rate at a fixed threshold do.

    Parameters
    ----------
    proba : array-like
        Predicted probabilities: shape (n,) for P(class 1) of a binary problem, or (n, k) with rows
        summing to 1.
    train_priors, new_priors : array-like or float
        Class priors in the training data and in the new data: k values summing to 1, in the column order
        of ``proba``; for a binary problem also a float, the prior of class 1. Training priors must lie in
        (0, 1); new priors in [0, 1] (a class :func:`estimate_label_shift` clipped to 0 gets probability 0).

    Returns
    -------
    numpy.ndarray
        The corrected probabilities, of the shape of ``proba``.

    Book: Chapter 8, "Addressing Data Distribution Shifts" (label shift: correct for the new prior).

    Examples
    --------
    >>> adjust_priors(np.array([0.1, 0.5, 0.9]), train_priors=0.5, new_priors=0.2).round(3)
    array([0.027, 0.2  , 0.692])
    >>> adjust_priors(np.array([0.1, 0.5]), train_priors=[0.7, 0.3], new_priors=[0.7, 0.3])
    array([0.1, 0.5])
    """
    P = _probabilities("proba", proba)
    binary = np.ndim(proba) == 1
    k = P.shape[1]
    old = _priors("train_priors", train_priors, k)
    new = _priors("new_priors", new_priors, k, closed=True)
    scaled = P * (new / old)
    total = scaled.sum(axis=1, keepdims=True)
    if np.any(total <= 0):
        raise ValueError("proba must give every row a positive probability for some class")
    out = scaled / total
    return out[:, 1] if binary else out


def estimate_label_shift(y_true: Any, proba_val: Any, proba_current: Any, *, method: str = "soft") -> np.ndarray:
    """Estimate the class priors of unlabelled current data by black-box shift estimation (BBSE).

    Under label shift ``P(x | y)`` is fixed, so for any fixed classifier ``f`` the distribution of its
    outputs on the current data is a mix of its per-class output distributions with the new priors as
    weights: ``mu = C w``, where ``C[i, j] = P_val(f = i, y = j)`` is the joint confusion matrix on
    labelled validation data, ``mu[i] = P_cur(f = i)`` the output distribution on the current data and
    ``w[j] = q(y = j) / p(y = j)`` the prior ratio (Lipton, Wang & Smola 2018, BBSE). Solving the
    k x k system gives ``w``; the new priors are ``w * p`` with ``p`` the validation priors. Negative
    ratios (sampling noise) are set to 0 and the priors renormalised so they sum to 1.

    ``method="hard"`` uses the predicted class (argmax; 0.5 in the binary case) as in the paper;
    ``"soft"`` (default) uses the predicted probabilities themselves (``C[i, j] = E_val[f_i(x) 1{y = j}]``,
    ``mu = E_cur[f(x)]``), which keeps ``C`` well conditioned when a rare class is seldom the argmax.
    The classifier need not be calibrated, only fixed and informative (``C`` invertible).

    Parameters
    ----------
    y_true : array-like of int, shape (n_val,)
        Validation labels, ``0 .. k-1`` (the column order of the probabilities).
    proba_val, proba_current : array-like
        The model's probabilities on the validation rows and on the current (unlabelled) rows: shape (n,)
        for P(class 1) of a binary problem, or (n, k) with rows summing to 1.
    method : {"soft", "hard"}, default "soft"
        Soft (probabilities) or hard (argmax) confusion matrix.

    Returns
    -------
    numpy.ndarray
        The estimated priors of the current data, shape (k,), summing to 1 (binary: ``[P(0), P(1)]``).

    Book: Chapter 8, "Addressing Data Distribution Shifts" (label shift: estimate the new label
    distribution without labels, Lipton et al. 2018).

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> y_val = rng.random(20_000) < 0.2
    >>> proba_val = np.clip(0.2 + 0.5 * y_val + rng.normal(0, 0.1, 20_000), 0, 1)
    >>> y_cur = rng.random(20_000) < 0.5
    >>> proba_cur = np.clip(0.2 + 0.5 * y_cur + rng.normal(0, 0.1, 20_000), 0, 1)
    >>> estimate_label_shift(y_val.astype(int), proba_val, proba_cur).round(2)
    array([0.5, 0.5])
    """
    method = check_choice("method", method, ("soft", "hard"))
    Pv = _probabilities("proba_val", proba_val)
    Pc = _probabilities("proba_current", proba_current)
    k = Pv.shape[1]
    if Pc.shape[1] != k:
        raise ValueError(f"proba_current must have the classes of proba_val ({k}); got {Pc.shape[1]}")
    y = np.asarray(y_true)
    if y.dtype == bool:
        y = y.astype(int)
    y = check_array("y_true", y, ndim=1)
    if len(y) != len(Pv):
        raise ValueError(f"y_true must have one label per row of proba_val ({len(Pv)}); got {len(y)}")
    if not np.all(np.isin(y, np.arange(k))):
        raise ValueError(f"y_true must hold class indices 0 .. {k - 1} (the columns of proba_val); got "
                         f"{show(np.unique(y[~np.isin(y, np.arange(k))])[:5].tolist())}")
    y = y.astype(int)
    p_val = np.bincount(y, minlength=k) / len(y)
    if np.any(p_val == 0):
        raise ValueError(f"y_true must contain every class 0 .. {k - 1}; missing {np.flatnonzero(p_val == 0).tolist()}")
    if method == "hard":
        Pv = np.eye(k)[Pv.argmax(axis=1)]
        Pc = np.eye(k)[Pc.argmax(axis=1)]
    C = Pv.T @ np.eye(k)[y] / len(y)  # C[i, j] = P(f = i, y = j)
    mu = Pc.mean(axis=0)
    if np.linalg.cond(C) > 1e12:
        raise ValueError("proba_val gives a singular confusion matrix: the model never predicts some class "
                         "or cannot tell the classes apart; use method='soft' or a better model")
    w = np.maximum(np.linalg.solve(C, mu), 0.0)
    priors = w * p_val
    if priors.sum() <= 0:
        raise ValueError("proba_current gives no valid prior estimate (every class ratio came out <= 0)")
    return priors / priors.sum()

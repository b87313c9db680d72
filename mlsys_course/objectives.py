"""Business and ML objectives: value a decision policy in money, and decouple competing objectives.

An ML metric (F1) and a business metric (profit) rank thresholds differently as soon as errors have
different, example-dependent costs: letting a large fraud through costs more than blocking a small
legitimate payment. And when a product balances two objectives (quality and engagement), scoring
each with its own model lets you re-weight them at serving time, without retraining.

Book: Chapter 2, "Business and ML Objectives" and "Objective Functions: Decoupling objectives".
The chapter's experiment (the quality-engagement frontier of decoupled and combined models) is in
``mlsys_course.lab.ch02``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from mlsys_course._validation import (
    check_array,
    check_binary_labels,
    check_choice,
    check_int,
    check_real,
    check_same_length,
)

__all__ = ["MAX_THRESHOLDS", "alerts_at_budget", "best_threshold", "combine_scores", "profit", "threshold_sweep"]

#: Above this many distinct scores, :func:`threshold_sweep` uses at most this many quantiles.
MAX_THRESHOLDS = 1000

Gain = float | Sequence[float] | np.ndarray


def _gain(name: str, value: Any, n: int) -> np.ndarray:
    """A scalar or a per-row array of gains, as an array of length n."""
    if np.ndim(value) == 0 and not isinstance(value, (str, bytes)):
        return np.full(n, check_real(name, value))
    arr = check_array(name, value).astype(float)
    if len(arr) != n:
        raise ValueError(f"{name} must be a scalar or have one value per row ({n}); got length {len(arr)}")
    return arr


def profit(y_true: Any, y_pred: Any, *, tp: Gain = 0.0, fp: Gain = 0.0, fn: Gain = 0.0, tn: Gain = 0.0) -> float:
    """Total value of binary decisions under a gain/cost matrix.

    Each row earns the entry of its cell: ``tp`` (predicted 1, truly 1), ``fp`` (predicted 1, truly 0),
    ``fn`` (predicted 0, truly 1) or ``tn`` (predicted 0, truly 0). Gains are positive, costs negative.

    Parameters
    ----------
    y_true : array-like of shape (n,)
        True 0/1 labels.
    y_pred : array-like of shape (n,)
        Decisions, 0/1 (1 = the positive action, e.g. block the payment).
    tp, fp, fn, tn : float or array-like of shape (n,), default 0.0
        Value of each cell, the same for every row (scalar) or per row (example-dependent, e.g.
        minus the transaction amount for a missed fraud).

    Returns
    -------
    float
        The sum over rows of the value of their cell.

    Book: Chapter 2, "Business and ML Objectives" (tie the model to the metric the business pays for).

    Example
    -------
    Fraud on three payments: blocking a fraud saves nothing but loses no money, a missed fraud costs
    its amount, a blocked legitimate payment costs a friction of 5, an approved one earns a fee of 2%.

    >>> amount = np.array([100.0, 50.0, 200.0])
    >>> y_true = [1, 0, 0]
    >>> profit(y_true, [1, 1, 0], tp=0.0, fp=-5.0, fn=-amount, tn=0.02 * amount)
    -1.0
    """
    y = check_binary_labels("y_true", y_true)
    pred = check_binary_labels("y_pred", y_pred)
    check_same_length(y_true=y, y_pred=pred)
    n = len(y)
    g = {k: _gain(k, v, n) for k, v in {"tp": tp, "fp": fp, "fn": fn, "tn": tn}.items()}
    value = np.where(pred == 1, np.where(y == 1, g["tp"], g["fp"]), np.where(y == 1, g["fn"], g["tn"]))
    return float(value.sum())


def _default_thresholds(scores: np.ndarray) -> np.ndarray:
    unique = np.unique(scores)
    if len(unique) <= MAX_THRESHOLDS:
        return unique
    grid = np.linspace(0.0, 1.0, MAX_THRESHOLDS)
    return np.unique(np.quantile(scores, grid, method="inverted_cdf"))


def threshold_sweep(
    y_true: Any,
    scores: Any,
    thresholds: Any = None,
    *,
    tp: Gain = 0.0,
    fp: Gain = 0.0,
    fn: Gain = 0.0,
    tn: Gain = 0.0,
) -> pd.DataFrame:
    """Precision, recall, F1 and profit of "predict 1 when score >= threshold", for many thresholds.

    Vectorized: the scores are sorted once and every count and every (per-row) profit comes from
    cumulative sums, so 100k rows and 1000 thresholds take milliseconds.

    Parameters
    ----------
    y_true : array-like of shape (n,)
        True 0/1 labels.
    scores : array-like of shape (n,)
        Model scores, higher = more likely positive; finite.
    thresholds : array-like, optional
        Thresholds to evaluate, in the order given (``numpy.inf`` = predict nothing positive is
        allowed; NaN is not). Default: the sorted unique scores, or, when there are more than
        ``MAX_THRESHOLDS`` (1000) of them, the unique values among 1000 evenly spaced quantiles of
        the scores (``inverted_cdf``, so every threshold is an observed score).
    tp, fp, fn, tn : float or array-like of shape (n,), default 0.0
        Gain/cost matrix as in :func:`profit`.

    Returns
    -------
    pandas.DataFrame
        One row per threshold with columns ``threshold``, ``precision``, ``recall``, ``f1``,
        ``profit``. As scikit-learn's default ``zero_division`` (without its warning): precision is
        0 when nothing is predicted positive, recall is 0 when ``y_true`` has no positive, and F1
        (= 2TP / (2TP + FP + FN)) is 0 when both hold.

    Book: Chapter 2, "Business and ML Objectives".

    Example
    -------
    >>> sweep = threshold_sweep([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8], fp=-1.0, fn=-3.0)
    >>> sweep.round(3)
       threshold  precision  recall     f1  profit
    0       0.10      0.500     1.0  0.667    -2.0
    1       0.35      0.667     1.0  0.800    -1.0
    2       0.40      0.500     0.5  0.500    -4.0
    3       0.80      1.000     0.5  0.667    -3.0
    """
    y = check_binary_labels("y_true", y_true)
    s = check_array("scores", scores).astype(float)
    check_same_length(y_true=y, scores=s)
    n = len(y)
    g = {k: _gain(k, v, n) for k, v in {"tp": tp, "fp": fp, "fn": fn, "tn": tn}.items()}
    if thresholds is None:
        t = _default_thresholds(s)
    else:
        t = check_array("thresholds", thresholds, finite=False).astype(float)
        if np.isnan(t).any():
            raise ValueError(f"thresholds must not contain NaN; got {int(np.isnan(t).sum())} NaN value(s)")

    order = np.argsort(-s, kind="stable")  # highest score first
    n_pred = n - np.searchsorted(s[order][::-1], t, side="left")  # rows with score >= t
    zero = np.zeros(1)
    tp_count = np.concatenate([zero, np.cumsum(y[order])])[n_pred]
    fp_count = n_pred - tp_count
    positives = y.sum()
    fn_count = positives - tp_count
    # Predicting row i positive instead of negative changes the total by delta_i.
    delta = np.where(y == 1, g["tp"] - g["fn"], g["fp"] - g["tn"])
    base = np.where(y == 1, g["fn"], g["tn"]).sum()  # everything predicted negative
    total = base + np.concatenate([zero, np.cumsum(delta[order])])[n_pred]

    with np.errstate(divide="ignore", invalid="ignore"):
        precision = np.where(n_pred > 0, tp_count / n_pred, 0.0)
        recall = np.where(positives > 0, tp_count / max(positives, 1), 0.0)
        denom = 2 * tp_count + fp_count + fn_count
        f1 = np.where(denom > 0, 2 * tp_count / np.where(denom > 0, denom, 1), 0.0)
    return pd.DataFrame({"threshold": t, "precision": precision, "recall": recall, "f1": f1, "profit": total})


def best_threshold(
    y_true: Any,
    scores: Any,
    *,
    objective: str = "f1",
    thresholds: Any = None,
    tp: Gain | None = None,
    fp: Gain | None = None,
    fn: Gain | None = None,
    tn: Gain | None = None,
) -> float:
    """The threshold that maximises F1 or profit over the candidates of :func:`threshold_sweep`.

    Parameters
    ----------
    y_true : array-like of shape (n,)
        True 0/1 labels.
    scores : array-like of shape (n,)
        Model scores.
    objective : {"f1", "profit"}, default "f1"
        What to maximise. "profit" needs at least one of ``tp``, ``fp``, ``fn``, ``tn``; "f1"
        accepts none of them (they would be ignored).
    thresholds : array-like, optional
        Candidates; default as in :func:`threshold_sweep`.
    tp, fp, fn, tn : float or array-like of shape (n,), optional
        Gain/cost matrix as in :func:`profit` (missing entries are 0).

    Returns
    -------
    float
        The maximising threshold; among ties (equal up to floating-point rounding, relative 1e-9)
        the smallest one.

    Book: Chapter 2, "Business and ML Objectives".

    Example
    -------
    >>> y, s = [0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8]
    >>> best_threshold(y, s)
    0.35
    >>> best_threshold(y, s, objective="profit", fp=-1.0, fn=-0.5)
    0.8
    """
    check_choice("objective", objective, ("f1", "profit"))
    given = {k: v for k, v in {"tp": tp, "fp": fp, "fn": fn, "tn": tn}.items() if v is not None}
    if objective == "f1" and given:
        raise ValueError(f"objective='f1' takes no gains; got {', '.join(given)} (use objective='profit')")
    if objective == "profit" and not given:
        raise ValueError("objective='profit' needs at least one of tp, fp, fn, tn; got none")
    sweep = threshold_sweep(y_true, scores, thresholds, **given)
    values = sweep[objective].to_numpy()
    best = values.max()
    ties = values >= best - 1e-9 * max(1.0, abs(best))
    return float(sweep["threshold"].to_numpy()[ties].min())


def _zscore(name: str, x: np.ndarray) -> np.ndarray:
    sd = x.std()
    if sd == 0:
        raise ValueError(f"{name} must not be constant (its standard deviation is 0); got all values = {x[0]}")
    return (x - x.mean()) / sd


def combine_scores(scores_a: Any, scores_b: Any, weight: float) -> np.ndarray:
    """Blend two models' scores: ``weight * z(a) + (1 - weight) * z(b)``.

    Each score is standardized first (z-score: minus its mean, divided by its population standard
    deviation, over the items given), so that the weight trades comparable units: without it, a score
    on a larger scale would dominate whatever the weight.

    Parameters
    ----------
    scores_a, scores_b : array-like of shape (n,)
        Scores of the same n items by two models (e.g. quality and engagement); each non-constant.
    weight : float
        Weight of ``scores_a``, in [0, 1].

    Returns
    -------
    numpy.ndarray of shape (n,)
        The combined score.

    Book: Chapter 2, "Objective Functions: Decoupling objectives".

    Example
    -------
    >>> combine_scores([1.0, 2.0, 3.0], [300.0, 100.0, 200.0], weight=0.5).round(3)
    array([ 0.   , -0.612,  0.612])
    """
    a = check_array("scores_a", scores_a).astype(float)
    b = check_array("scores_b", scores_b).astype(float)
    check_same_length(scores_a=a, scores_b=b)
    w = check_real("weight", weight, low=0.0, high=1.0)
    return w * _zscore("scores_a", a) + (1.0 - w) * _zscore("scores_b", b)


def alerts_at_budget(y_true: Any, scores: Any, n_alerts: int) -> dict[str, float]:
    """What a model catches when it may raise ``n_alerts`` alerts: flag the top-scored rows.

    This compares a model with a rule (or two models) fairly: at the same number of alerts, the
    same review cost. Ties in the score go to the row that comes first.

    Parameters
    ----------
    y_true : array-like of shape (n,)
        0/1 labels.
    scores : array-like of shape (n,)
        Higher means more likely positive.
    n_alerts : int
        How many rows to flag, in [0, n].

    Returns
    -------
    dict
        ``alerts``, ``caught`` (true positives among the alerts), ``precision`` (caught / alerts, 0 when
        there are no alerts) and ``recall`` (caught / positives, 0 when there are no positives).

    Book: Chapter 2, "Business and ML Objectives" (a budget of reviews is a business constraint).

    Example
    -------
    >>> alerts_at_budget([0, 1, 0, 1, 1], [0.1, 0.9, 0.2, 0.3, 0.7], n_alerts=2)
    {'alerts': 2, 'caught': 2, 'precision': 1.0, 'recall': 0.6666666666666666}
    """
    y = check_binary_labels("y_true", y_true)
    s = check_array("scores", scores)
    check_same_length(y_true=y, scores=s)
    n_alerts = check_int("n_alerts", n_alerts, minimum=0, maximum=len(y))
    top = np.argsort(-s, kind="stable")[:n_alerts]
    caught = int(y[top].sum())
    positives = int(y.sum())
    return {
        "alerts": n_alerts,
        "caught": caught,
        "precision": caught / n_alerts if n_alerts else 0.0,
        "recall": caught / positives if positives else 0.0,
    }

"""Chapter 6b: offline evaluation: the lab code of the chapter's notebook (experiment plumbing and exercise checks).

The recipes are in :mod:`mlsys_course.evaluation` (perturbation, invariance and directional tests, the
reliability table and ECE, the coverage curve, slice reports, Simpson's paradox); calibrating is
scikit-learn's ``CalibratedClassifierCV``; the rolling time folds are :func:`mlsys_course.comparison.folds`.
This module holds what only the chapter needs: fitting the arms on every fold, their out-of-fold scores,
the per-fold scores of the calibration arms, slice ROC-AUC with bootstrap intervals, the kidney-stone data
and the exercise checks.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
from scipy.stats import rankdata
from sklearn.base import clone
from sklearn.metrics import average_precision_score, brier_score_loss, log_loss

from mlsys_course._validation import (
    check_binary_labels,
    check_estimator,
    check_int,
    check_random_state,
    check_same_length,
    show,
)
from mlsys_course.datasets import make_transactions
from mlsys_course.evaluation import directional_test, expected_calibration_error
from mlsys_course.exercises import exercise
from mlsys_course.features import transaction_features
from mlsys_course.leakage import time_split

__all__ = ["calibration_scores", "fit_folds", "kidney_stones", "predict_folds", "slice_intervals"]


def _check_arms(arms: Any) -> None:
    if not isinstance(arms, Mapping) or not arms:
        raise TypeError(f"arms must be a non-empty dict of name -> unfitted classifier; got {show(arms)}")
    for name, arm in arms.items():
        check_estimator(f"arms[{name!r}]", arm, methods=("fit", "predict_proba"))


def _check_splits(splits: Any, n: int) -> list:
    if not isinstance(splits, Sequence) or not splits:
        raise TypeError(f"splits must be a non-empty list of (train, test) position arrays; got {show(splits)}")
    out = []
    for train, test in splits:
        train, test = np.asarray(train), np.asarray(test)
        if train.size == 0 or test.size == 0 or max(train.max(), test.max()) >= n or min(train.min(), test.min()) < 0:
            raise ValueError(f"splits must hold non-empty positions in [0, {n}); got a fold of sizes {train.size}, {test.size}")
        out.append((train, test))
    return out


def fit_folds(arms: Mapping[str, Any], X: pd.DataFrame, y: Any, splits: Sequence) -> dict[str, list]:
    """Fit a clone of every arm on the training rows of every fold: ``{name: [fitted model per fold]}``."""
    _check_arms(arms)
    y = check_binary_labels("y", y)
    check_same_length(X=X, y=y)
    splits = _check_splits(splits, len(y))
    return {name: [clone(arm).fit(X.iloc[train], y[train]) for train, _ in splits] for name, arm in arms.items()}


def predict_folds(fitted: Mapping[str, list], X: pd.DataFrame, y: Any, splits: Sequence) -> pd.DataFrame:
    """Out-of-fold scores: one row per test row of every fold (``fold``, ``row`` position, ``y``), one column per model."""
    y = check_binary_labels("y", y)
    check_same_length(X=X, y=y)
    splits = _check_splits(splits, len(y))
    parts = []
    for k, (_, test) in enumerate(splits):
        part = pd.DataFrame({"fold": k, "row": test, "y": y[test]})
        for name, models in fitted.items():
            part[name] = models[k].predict_proba(X.iloc[test])[:, 1]
        parts.append(part)
    return pd.concat(parts, ignore_index=True)


def calibration_scores(scores: pd.DataFrame, arms: Sequence[str], *, n_bins: int = 10) -> pd.DataFrame:
    """Per arm and fold, score out-of-fold probabilities the same way (a tidy table).

    Columns: ``arm``, ``fold``, ``ece_uniform`` and ``ece_quantile`` (:func:`expected_calibration_error`
    with ``n_bins`` equal-width or equal-count bins), ``brier``, ``log_loss``, ``pr_auc`` (average
    precision: calibration should leave the ranking, so this column, unchanged) and ``p99`` (the 99th
    percentile of the probabilities: the range a reliability diagram needs to show).
    """
    n_bins = check_int("n_bins", n_bins, minimum=1)
    rows = []
    for arm in arms:
        for k, part in scores.groupby("fold"):
            y, p = part["y"].to_numpy(), np.clip(part[arm].to_numpy(), 0.0, 1.0)
            rows.append({"arm": arm, "fold": k,
                         "ece_uniform": expected_calibration_error(y, p, n_bins=n_bins),
                         "ece_quantile": expected_calibration_error(y, p, n_bins=n_bins, strategy="quantile"),
                         "brier": float(brier_score_loss(y, p)), "log_loss": float(log_loss(y, p, labels=[0, 1])),
                         "pr_auc": float(average_precision_score(y, p)), "p99": float(np.quantile(p, 0.99))})
    return pd.DataFrame(rows)


def _auc(y: np.ndarray, s: np.ndarray) -> float:
    """ROC-AUC as the Mann-Whitney statistic (ties count one half), NaN with one class."""
    pos = int(y.sum())
    neg = len(y) - pos
    if pos == 0 or neg == 0:
        return float("nan")
    ranks = rankdata(s)
    return float((ranks[y == 1].sum() - pos * (pos + 1) / 2) / (pos * neg))


def slice_intervals(y_true: Any, y_score: Any, slices: Any, *, min_positives: int = 20, n_boot: int = 200,
                    confidence: float = 0.9, random_state: Any = None) -> pd.DataFrame:
    """ROC-AUC per slice with a stratified bootstrap interval, reported only where a slice has enough positives.

    One row per slice (sorted) and ``"overall"``: ``n``, ``positives``, ``roc_auc``, ``low``, ``high``
    (the ``confidence`` percentile interval of ``n_boot`` resamples of the slice's positives and negatives),
    and ``enough`` (``positives >= min_positives``); the AUC and its interval are NaN where there are fewer.
    """
    y = check_binary_labels("y_true", y_true)
    s = np.asarray(y_score, dtype=float)
    g = np.asarray(slices)
    check_same_length(y_true=y, y_score=s, slices=g)
    min_positives = check_int("min_positives", min_positives, minimum=1)
    n_boot = check_int("n_boot", n_boot, minimum=10, maximum=10_000)
    rng = check_random_state("random_state", random_state)
    rows = {}
    for name, mask in [*[(v, g == v) for v in sorted(set(g.tolist()))], ("overall", np.ones(len(y), bool))]:
        ys, ss = y[mask], s[mask]
        pos, neg = np.flatnonzero(ys == 1), np.flatnonzero(ys == 0)
        row = {"n": int(mask.sum()), "positives": len(pos), "roc_auc": np.nan, "low": np.nan, "high": np.nan,
               "enough": len(pos) >= min_positives}
        if row["enough"] and len(neg):
            boots = [_auc(ys[idx], ss[idx]) for idx in (np.concatenate([rng.choice(pos, len(pos)), rng.choice(neg, len(neg))])
                                                       for _ in range(n_boot))]
            tail = (1 - confidence) / 2 * 100
            row.update(roc_auc=_auc(ys, ss), low=float(np.percentile(boots, tail)), high=float(np.percentile(boots, 100 - tail)))
        rows[name] = row
    return pd.DataFrame.from_dict(rows, orient="index")


def kidney_stones() -> pd.DataFrame:
    """The kidney-stone treatment data of Charig et al. (1986), the textbook Simpson's paradox.

    Four rows: ``treatment`` ("A" open surgery, "B" percutaneous nephrolithotomy), ``stone_size``
    ("small", "large"), ``successes``, ``patients``.

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


# --- Exercise checks ----------------------------------------------------------------------------------
def _rare_case(seed: int, n: int = 5_000) -> tuple[np.ndarray, np.ndarray]:
    """A held-out case at about 1% prevalence: probabilities that are miscalibrated in the low range."""
    rng = np.random.default_rng(seed)
    p = np.clip(rng.beta(0.3, 25.0, size=n), 0.0, 1.0)
    y = (rng.random(n) < np.clip(1.6 * p, 0, 1)).astype(int)
    return y, p


@exercise("6b.1")
def _quantile_ece(answer: Any) -> tuple[bool, str]:
    if not callable(answer):
        return False, f"the answer must be a function quantile_ece(y_true, y_prob, n_bins); got {type(answer).__name__}."
    for seed in (101, 202, 303):  # fresh held-out cases, not the notebook's data
        y, p = _rare_case(seed)
        for n_bins in (5, 10, 20):
            expected = expected_calibration_error(y, p, n_bins=n_bins, strategy="quantile")
            try:
                got = float(answer(y, p, n_bins))
            except Exception as error:  # a learner's function may fail in any way: report it as a verdict
                return False, f"your function raised {type(error).__name__}: {error}"
            if not abs(got - expected) < 1e-9:
                uniform = expected_calibration_error(y, p, n_bins=n_bins)
                hint = " (that is the equal-width ECE)" if abs(got - uniform) < 1e-9 else ""
                return False, f"on a held-out case with {n_bins} bins you gave {got:.5f}{hint}; the quantile-bin ECE is {expected:.5f}."
    return True, "your quantile-bin ECE matches on 3 held-out cases at about 1% prevalence, with 5, 10 and 20 bins."


@exercise("6b.2")
def _directional_model(answer: Any, *, world_seed: int = 2024) -> tuple[bool, str]:
    if isinstance(answer, type) or not callable(getattr(answer, "fit", None)) or not callable(getattr(answer, "predict_proba", None)):
        return False, f"the answer must be an unfitted classifier with fit and predict_proba; got {type(answer).__name__}."
    world = make_transactions(n=20_000, random_state=world_seed)  # a fresh world the notebook never saw
    X = transaction_features(world)
    X = X.fillna(X.median())
    y = world["is_fraud"].to_numpy()
    train, test = time_split(world, test_size=0.3)
    model = clone(answer).fit(X.iloc[train], y[train])
    X_test = X.iloc[test]
    big_ticket = (X_test["category_electronics"] + X_test["category_travel"]) > 0
    report = directional_test(model, X_test[big_ticket], column="log_amount", delta=np.log(2), expected="increase").iloc[0]
    pr_auc = float(average_precision_score(y[test], model.predict_proba(X_test)[:, 1]))
    base = float(y[test].mean())
    if report["n_violations"] > 0:
        return False, f"on a fresh world, doubling the amount lowered the score of {int(report['n_violations'])} of {int(report['n'])} big-ticket payments."
    if pr_auc < 2 * base:
        return False, f"no wrong-way moves, but PR-AUC {pr_auc:.3f} is under twice the fraud rate ({base:.3f}): the model barely ranks."
    return True, f"on a fresh world: 0 wrong-way moves on {int(report['n'])} big-ticket payments, PR-AUC {pr_auc:.3f} (fraud rate {base:.3f})."


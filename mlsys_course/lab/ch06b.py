"""Chapter 6b: offline evaluation: the lab code of the chapter's notebook (experiment drivers and exercise checks).

The recipes are in :mod:`mlsys_course.evaluation` (perturbation, invariance and directional tests, the
reliability table and ECE, the coverage curve, slice reports, Simpson's paradox); calibrating is
scikit-learn's ``CalibratedClassifierCV``. This module holds what only the chapter needs: the scoring of the
calibration arms and the kidney-stone data.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import clone
from sklearn.metrics import average_precision_score, brier_score_loss, log_loss

from mlsys_course._validation import check_binary_labels, check_estimator, check_same_length, show
from mlsys_course.evaluation import expected_calibration_error
from mlsys_course.exercises import exercise, is_number


def calibration_report(
    arms: Mapping[str, Any], X_train: Any, y_train: Any, X_test: Any, y_test: Any, *, n_bins: int = 10
) -> pd.DataFrame:
    """Fit a clone of each arm on the training rows; score its test probabilities the same way for every arm.

    One row per arm (index ``method``): ``ece`` (:func:`mlsys_course.evaluation.expected_calibration_error`,
    ``n_bins`` equal-width bins), ``brier``, ``log_loss`` and ``pr_auc`` (average precision: calibration
    should leave the ranking, so this column, unchanged).
    """
    if not isinstance(arms, Mapping) or not arms:
        raise TypeError(f"arms must be a non-empty dict of name -> unfitted classifier; got {show(arms)}")
    for name, arm in arms.items():
        check_estimator(f"arms[{name!r}]", arm, methods=("fit", "predict_proba"))
    y_train = check_binary_labels("y_train", y_train)
    y_test = check_binary_labels("y_test", y_test)
    check_same_length(X_train=X_train, y_train=y_train)
    check_same_length(X_test=X_test, y_test=y_test)
    rows = {}
    for name, arm in arms.items():
        p = np.clip(clone(arm).fit(X_train, y_train).predict_proba(X_test)[:, 1], 0.0, 1.0)
        rows[name] = {
            "ece": expected_calibration_error(y_test, p, n_bins=n_bins),
            "brier": float(brier_score_loss(y_test, p)),
            "log_loss": float(log_loss(y_test, p, labels=[0, 1])),
            "pr_auc": float(average_precision_score(y_test, p)),
        }
    return pd.DataFrame.from_dict(rows, orient="index").rename_axis("method")


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
@exercise("6b.1")
def _expected_calibration_error(answer: Any, *, y_true: Any, y_prob: Any) -> tuple[bool, str]:
    if not is_number(answer):
        return False, f"the answer must be a number; got {type(answer).__name__}."
    y, p = np.asarray(y_true, dtype=float), np.asarray(y_prob, dtype=float)
    bins = np.clip((p * 10).astype(int), 0, 9)  # 10 equal-width bins, written out independently of the helper
    ece = sum(abs(p[bins == b].mean() - y[bins == b].mean()) * (bins == b).mean() for b in range(10) if (bins == b).any())
    if abs(answer - ece) < 1e-9:
        return True, f"ECE = {ece:.3f}: on average the predicted probability is off by {ece:.1%} from the observed rate."
    return False, f"{answer:.4f} is not the ECE of these probabilities with 10 equal-width bins."


@exercise("6b.2")
def _pooled_success_rate(answer: Any) -> tuple[bool, str]:
    if not is_number(answer):
        return False, f"the answer must be a rate; got {type(answer).__name__}."
    rate = (234 + 55) / (270 + 80)  # Charig et al. 1986, treatment B: small and large stones pooled
    if abs(answer - rate) < 1e-9:
        return True, f"B succeeds in {rate:.1%} of all cases, more than A's {(81 + 192) / (87 + 263):.1%}, though A wins each stone size."
    return False, f"{answer:.3f} is not B's pooled success rate (successes over patients, both stone sizes)."

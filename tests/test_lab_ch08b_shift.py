"""Lab code of notebook 08b's "How do we address a shift?" section and the check of exercise 8b.2."""

import numpy as np
import pandas as pd

from mlsys_course.exercises import evaluate
from mlsys_course.lab.ch08b import (
    SHIFTLAB_MATURITY,
    shiftlab_exercise_case,
    shiftlab_matured,
    shiftlab_month,
    shiftlab_paired,
    shiftlab_scores,
    shiftlab_world,
)
from mlsys_course.shift import adjust_priors, estimate_label_shift


def test_matured_rows_use_only_labels_known_at_the_training_time():
    world, X = shiftlab_world(0)
    t = pd.Timestamp("2024-06-01")
    rows, y = shiftlab_matured(world, t)
    ts = world["timestamp"].iloc[rows]
    assert ts.max() < t - SHIFTLAB_MATURITY and ts.min() >= t - SHIFTLAB_MATURITY - pd.DateOffset(months=2)
    known = world["label_known_at"].iloc[rows] <= t
    assert (y == ((world["is_fraud"].iloc[rows] == 1) & known)).all()
    assert y.sum() < world["is_fraud"].iloc[rows].sum()  # a few chargebacks arrive after 60 days: unknown at t
    assert len(X) == len(world) and len(shiftlab_month(world, t)) > 3_000


def test_scores_follow_their_definitions():
    y = np.array([0, 0, 1, 1])
    p = np.array([0.1, 0.3, 0.2, 0.9])
    s = shiftlab_scores(y, p, threshold=0.25)
    assert s["alert_rate"] == 0.5 and s["recall"] == 0.5
    assert s["cost"] == (0.25 * 1 + 0.75 * 1) / 4
    assert s["calibration"] == np.mean(p) / 0.5


def test_paired_summary_matches_the_paired_difference():
    results = pd.DataFrame({"arm": ["a", "b"] * 3, "fold": [1, 1, 2, 2, 3, 3], "m": [1.0, 0.5, 2.0, 1.0, 3.0, 2.0]})
    row = shiftlab_paired(results, "m", "a", "b")
    assert row["difference"] == 5 / 6 and row["low"] < row["difference"] < row["high"]


def _reference(model, X_val, y_val, X_current):
    p_val, p_cur = model.predict_proba(X_val)[:, 1], model.predict_proba(X_current)[:, 1]
    return adjust_priors(p_cur, train_priors=y_val.mean(), new_priors=estimate_label_shift(y_val, p_val, p_cur)[1])


def test_exercise_8b2_passes_the_reference_and_refuses_wrong_answers():
    assert evaluate("8b.2", _reference).passed
    uncorrected = evaluate("8b.2", lambda model, X_val, y_val, X_current: model.predict_proba(X_current)[:, 1])
    assert not uncorrected.passed and "log loss" in uncorrected.message
    # a fixed guess of the wave (odds x5) fails: the waves differ in size
    fixed = evaluate("8b.2", lambda model, X_val, y_val, X_current: adjust_priors(
        model.predict_proba(X_current)[:, 1], train_priors=0.03, new_priors=0.134))
    assert not fixed.passed
    assert not evaluate("8b.2", 0.1).passed
    assert not evaluate("8b.2", lambda **kw: np.ones(3)).passed
    crashed = evaluate("8b.2", lambda model, X_val, y_val, X_current: 1 / 0)
    assert not crashed.passed and "ZeroDivisionError" in crashed.message


def test_exercise_case_is_a_label_shift_of_a_fresh_world():
    case = shiftlab_exercise_case(2031, 2.0)
    assert case["y_current"].mean() > 1.5 * case["y_val"].mean()
    assert case["X_current"].shape[1] == case["X_val"].shape[1]

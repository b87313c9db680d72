"""Lab code of notebook 09a's first two sections (stateless vs stateful; freshness): no label leaks, right windows."""

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression, SGDClassifier

from mlsys_course.exercises import evaluate
from mlsys_course.lab.ch09a import (CL_DEPLOY, CL_LABEL_WAIT, cl_ex_check_stateful, cl_freshness, cl_labels, cl_rows,
                                    cl_run, cl_staleness_slope, cl_world)


@pytest.fixture(scope="module")
def world():
    return cl_world(0)


def test_labels_are_only_those_known_at_now(world):
    rows = cl_rows(world, "2024-03-01", "2024-04-01")
    now = pd.Timestamp("2024-04-15")
    known = cl_labels(world, rows, now)
    assert known.sum() < world["y"][rows].sum()  # some chargebacks had not arrived
    assert np.all(world["known_at"][rows][known == 1] <= np.datetime64(now))
    assert np.array_equal(cl_labels(world, rows, "2030-01-01"), world["y"][rows])


def test_run_gives_each_arm_only_rows_labelled_by_now(world):
    seen = []

    def keep(model, window, new):
        seen.append((len(window[1]), len(new[1]), int(window[1].sum()), int(new[1].sum())))
        return model, 0

    def refit(model, window, new):
        return LogisticRegression(solver="newton-cholesky").fit(*window), len(window[1])

    weekly = cl_run(world, SGDClassifier(loss="log_loss", random_state=0), {"keep": keep, "refit": refit})
    assert len(seen) == weekly["week"].nunique() - 1 == 25
    keep_scores = weekly[weekly["arm"] == "keep"]
    assert (keep_scores["rows"] == 0).all()
    refit_rows = weekly[weekly["arm"] == "refit"]["rows"].to_numpy()
    assert refit_rows[0] == 0 and refit_rows[1] == seen[0][0]
    # the first update's window ends at now - label wait; its labels are those known then
    now = CL_DEPLOY + pd.Timedelta("7D")
    hi = now - CL_LABEL_WAIT
    win = cl_rows(world, hi - pd.Timedelta("56D"), hi)
    assert seen[0][0] == win.stop - win.start and seen[0][2] == cl_labels(world, win, now).sum()
    new = cl_rows(world, hi - pd.Timedelta("7D"), hi)
    assert seen[0][1] == new.stop - new.start


def test_freshness_windows_and_slope(world):
    fresh = cl_freshness(world, LogisticRegression(solver="newton-cholesky"), test_weeks=["2024-08-04"], staleness=[0, 2],
                         window_weeks=[1, None])
    assert list(fresh["window"]) == ["1 week", "1 week", "all history", "all history"]
    assert fresh["staleness"].tolist() == [0, 2, 0, 2]
    frame = pd.DataFrame({"test_week": np.repeat([1, 2], 3), "staleness": [0, 1, 2] * 2,
                          "ne": [1.0, 1.01, 1.02, 2.0, 2.06, 2.12], "pr_auc": [0.5, 0.4, 0.3, 0.5, 0.5, 0.5]})
    slope = cl_staleness_slope(frame)
    assert slope.loc["NE change (%)", "mean"] == pytest.approx(2.0)
    assert slope.loc["PR-AUC change", "mean"] == pytest.approx(-0.05)


def test_exercise_9a2_reference_passes_default_learning_rate_fails():
    reference = SGDClassifier(loss="log_loss", learning_rate="constant", eta0=0.01, random_state=0)
    verdict = evaluate("9a.2", reference)
    assert verdict.passed, verdict.message
    ok, message = cl_ex_check_stateful(SGDClassifier(loss="log_loss", random_state=0))  # learning_rate="optimal"
    assert not ok and "log loss too high" in message
    ok, message = cl_ex_check_stateful((reference, 4), seeds=(2093,))  # 4 passes: only ~17x fewer rows
    assert not ok and "too much compute" in message


@pytest.mark.parametrize("answer", [None, "sgd", SGDClassifier, lambda: SGDClassifier(loss="log_loss"),
                                    LogisticRegression(), SGDClassifier(), (SGDClassifier(loss="log_loss"), 0),
                                    (SGDClassifier(loss="log_loss"), "2"), (SGDClassifier(loss="log_loss"), 1, 2),
                                    SGDClassifier(loss="log_loss", learning_rate="constant", eta0=-1.0)])
def test_exercise_9a2_malformed_answers_fail_without_raising(answer):
    ok, message = cl_ex_check_stateful(answer, seeds=(2093,))
    assert ok is False and isinstance(message, str) and message

"""Cases of mlsys_course.shift: simulating shifts and the corrections for covariate and label shift."""

import numpy as np
from sklearn.linear_model import LogisticRegression

from api_cases import Case
from mlsys_course.datasets import make_transactions
from mlsys_course.shift import simulate_shift  # noqa: F401

_FRAME = make_transactions(300, random_state=0)


def _frame():
    return _FRAME.copy()


def _windows():
    rng = np.random.default_rng(0)
    return {"reference": rng.normal(0, 1, (60, 2)), "current": rng.normal(0.5, 1, (60, 2)), "cv": 3,
            "random_state": 0}


def _label_shift_call():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 40)
    return {"y_true": y.tolist(), "proba_val": np.clip(0.2 + 0.6 * y + rng.normal(0, 0.1, 40), 0, 1),
            "proba_current": np.clip(0.5 + rng.normal(0, 0.2, 30), 0, 1)}


CASES = {
    "simulate_shift": Case(  # concept drift: the kind that uses every argument but columns' second form
        call=lambda: {"frame": _frame(), "kind": "concept", "size": 0.5, "start": "2024-03-01",
                      "columns": None, "random_state": 0},
        bad={"frame": [_frame().to_numpy(), _frame().iloc[:0], _frame().assign(timestamp=_frame()["timestamp"].astype(str))],
             "kind": ["shift", None, 1],
             "size": [-1.0, 1.5, np.nan, "1"],
             "start": [None, "not a date", 5],
             "columns": ["amount", ["nope"], ["device"], ["user_age"], [], ["amount", "amount"]],
             "target": ["nope", "amount", None],
             "time": ["amount", "nope", None],
             "label_time": ["nope", "amount"],
             "random_state": [-1, 2.5]},
        valid={"kind": ["covariate", "correlation"], "columns": [("amount", "account_age_days"), np.array(["amount"]), ["amount"]],
               "label_time": [None], "start": [np.datetime64("2024-03-01"), "2020-01-01", "2030-01-01"],
               "random_state": [np.random.default_rng(0), None], "size": [0, 1]},
    ),
    "importance_weights": Case(
        call=_windows,
        bad={"reference": [np.zeros((60, 3)), np.full((60, 2), np.nan), [1.0, 2.0], "x"],
             "current": [np.zeros((60, 3)), np.zeros((2, 2))],
             "cv": [1, 0, 2.5, 1000],
             "clip": [0.0, -1.0, np.nan, "20"],
             "estimator": [object(), LogisticRegression, "lr"],
             "random_state": [-1, 2.5]},
        valid={"clip": [None, 1], "estimator": [LogisticRegression()], "cv": [np.int64(2)],
               "reference": [np.random.default_rng(1).normal(size=(30, 2))]},
    ),
    "estimate_label_shift": Case(
        call=_label_shift_call,
        bad={"y_true": [[0, 1] * 19 + [2, 1], [0] * 40, [0, 1] * 10, ["a", "b"] * 20],
             "proba_val": [np.linspace(0, 1.5, 40), np.full(40, 0.2), np.ones((40, 3)) / 2],
             "proba_current": [np.full((30, 3), 1 / 3), [[0.5, 0.5], [0.5]], [np.nan] * 30],
             "method": ["exact", None]},
        valid={"method": ["hard"], "y_true": [np.array([0, 1] * 20, dtype=bool)]},
    ),
    "adjust_priors": Case(
        call=lambda: {"proba": np.array([0.1, 0.5, 0.9]), "train_priors": 0.5, "new_priors": 0.2},
        bad={"proba": [np.array([0.1, 1.5]), np.array([[0.5, 0.6]]), [[0.5, 0.5], [1.0]], "0.5"],
             "train_priors": [[0.5, 0.6], [1.0, 0.0], [0.2, 0.3, 0.5], 1.0, 0.0],
             "new_priors": [[0.7, 0.4], -0.2, np.nan, "0.2"]},
        valid={"train_priors": [[0.5, 0.5], np.array([0.5, 0.5]), np.float32(0.5)], "new_priors": [(0.8, 0.2), 0.0, [1, 0]],
               "proba": [np.array([[0.9, 0.1], [0.5, 0.5]])]},
    ),
}

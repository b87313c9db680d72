"""Cases of mlsys_course.baselines: a hand-written rule as a scikit-learn classifier."""

import numpy as np
import pandas as pd

from api_cases import Case
from mlsys_course.baselines import HeuristicClassifier

_X = pd.DataFrame({"amount": [10.0, 250.0, 30.0, 900.0, 5.0, 40.0], "is_foreign": [False, True, False, True, False, True]})
_Y = [0, 1, 0, 1, 0, 0]


def foreign(X):
    return X["is_foreign"]


def first_column(X):
    return np.asarray(X)[:, 0]


def _fit_predict(X, y, **params):
    """Fit on (X, y), then score and label the same rows: a bad parameter surfaces in fit or predict."""
    model = HeuristicClassifier(**params).fit(X, y)
    return model.decision_function(X), model.predict(X)


def _frame(**changes):
    return _X.assign(**changes)


CASES = {
    "HeuristicClassifier": Case(
        call=lambda: {"X": _X.copy(), "y": list(_Y), "rule": foreign, "threshold": 0.5},
        fn=_fit_predict,
        bad={
            "rule": [None, "is_foreign", 0.5, lambda X: X["is_foregn"], lambda X: X["amount"].iloc[:3],
                     lambda X: X[["amount", "is_foreign"]], lambda X: X["amount"].astype(str),
                     lambda X: X["amount"].where(X["amount"] < 800), lambda X: X["amount"] * np.inf,
                     lambda X: np.ones((len(X), 2)), lambda X: 1.0, lambda X: [{"a": 1}] * len(X)],
            "threshold": [None, "0.5", np.nan, np.inf, -np.inf, True, [0.5], np.array([0.5, 0.5])],
            "X": [pd.DataFrame(), _X.iloc[:0], _X.iloc[:4], _frame(is_foreign=[False, True, np.nan, True, False, True]),
                  pd.concat([_X, _X[["is_foreign"]]], axis=1), "X", None, _X.drop(columns="is_foreign")],
            "y": [[0] * 6, [0, 1, 2, 0, 1, 0], [0, 1, np.nan, 1, 0, 0], _Y[:4], None, [0.5, 1.5, 0.5, 1.5, 0.5, 0.5],
                  [[0, 1]] * 6, "y"],
        },
        valid={
            "X": [_X.set_index(pd.Index([10, 20, 30, 40, 50, 60])), _X.astype({"amount": np.float32}),
                  _frame(is_foreign=[0, 1, 0, 1, 0, 1]), _frame(is_foreign=pd.array([0, 1, 0, 1, 0, 1], dtype="Int64"))],
            "y": [np.array(["legit", "fraud", "legit", "fraud", "legit", "legit"]), np.array(_Y, dtype=bool),
                  pd.Series(_Y, index=range(100, 106)), np.array(_Y, dtype=np.float32)],
            "rule": [lambda X: X["amount"] > 100, lambda X: X["amount"].to_numpy(np.float32),
                     lambda X: X["is_foreign"].astype(object), lambda X: list(X["is_foreign"])],
            "threshold": [np.float32(0.5), 0, np.int64(100), -1.5],
        },
    ),
}

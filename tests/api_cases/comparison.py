"""Cases of mlsys_course.comparison: the experiment harness."""

import matplotlib
import numpy as np
import pandas as pd
from sklearn.dummy import DummyClassifier
from sklearn.linear_model import LogisticRegression

from api_cases import Case
from mlsys_course.comparison import Comparison, compare

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def _data(n=120):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(n, 2))
    return X, (X[:, 0] + rng.normal(size=n) > 0).astype(int)


def _compare_call():
    X, y = _data()
    return {"arms": {"prior": DummyClassifier(), "logistic": LogisticRegression()}, "X": X, "y": y,
            "time": np.arange(len(y)), "random_state": 0}


def _folds_call():
    X, y = _data()
    return {"X": X, "y": y, "time": np.arange(len(y)), "random_state": 0}


def _record_call():
    X, y = _data()
    result = compare({"prior": DummyClassifier(), "logistic": LogisticRegression()}, X, y, split="random",
                     reason="simulated", random_state=0)
    return {"scores": result.scores, "summary": result.summary, "baseline": "prior", "scoring": "roc_auc"}


def _close(ax):
    plt.close(ax.figure)
    return ax


CASES = {
    "compare": Case(
        call=_compare_call,
        bad={"arms": [{}, {"a": 1}, [DummyClassifier()]], "split": ["shuffle", "random"], "scoring": ["nope", 3],
             "baseline": ["missing"], "n_repeats": [1, 0, 10**6], "test_size": [0.0, 1.0, 0.5], "confidence": [1.0, 0.0],
             "time": [np.arange(3), None], "y": [np.arange(5)], "random_state": [-1]},
        valid={"scoring": [None, "roc_auc"], "test_size": [0.1]},
        skip={"groups", "reason"},  # used only by the group and random policies
    ),
    "folds": Case(
        call=_folds_call,
        bad={"split": ["kfold"], "n_repeats": [0, 10**6], "test_size": [0.0, 2.0], "time": [np.arange(5), None],
             "y": [np.arange(5)]},
        skip={"groups", "reason"},
    ),
    "paired_difference": Case(
        call=lambda: {"scores": [0.8, 0.82, 0.81], "baseline": [0.79, 0.8, 0.8]},
        bad={"scores": [[0.8], [0.8, np.nan, 0.8], "abc"], "baseline": [[0.1, 0.2]], "confidence": [0.0, 1.0, 95]},
    ),
    "with_seed": Case(
        call=lambda: {"estimator": LogisticRegression(), "seed": 3},
        bad={"estimator": [LogisticRegression, "model", None], "seed": [-1, 2.5, "3", 2**40]},
    ),
    "Comparison": Case(  # the record validates its fields; its plot draws every arm
        call=_record_call,
        fn=lambda **fields: _close(Comparison(**fields).plot()),
        bad={"scores": [None, pd.DataFrame({"arm": ["prior"]})], "summary": [None, pd.DataFrame()],
             "baseline": ["missing", 3], "scoring": [None, 3]},
    ),
}

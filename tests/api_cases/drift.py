"""Cases of mlsys_course.drift: two-sample drift tests with one interface (fit on a reference, test a current window)."""

import numpy as np
import pandas as pd
from sklearn.linear_model import LogisticRegression

from api_cases import Case
from mlsys_course.drift import (
    ChiSquareDetector,
    DomainClassifierDetector,
    KSDetector,
    MMDDetector,
    PSIDetector,
)


def _numeric(seed, n=40, shift=0.0):
    rng = np.random.default_rng(seed)
    return pd.DataFrame({"amount": rng.normal(shift, 1.0, n), "age": rng.integers(18, 80, n)})


def _categorical(seed, n=40):
    rng = np.random.default_rng(seed)
    return pd.DataFrame({"device": rng.choice(["app", "web", "kiosk"], n),
                         "country": pd.Categorical(rng.choice(["FR", "DE"], n)),
                         "is_new": rng.random(n) < 0.3})


def _mixed(seed, n=40):
    return pd.concat([_numeric(seed, n), _categorical(seed + 100, n)], axis=1)


def _with_nan(frame, column="amount"):
    frame = frame.copy()
    frame.loc[frame.index[0], column] = np.nan
    return frame


def _detector(cls):
    def run(reference, current, **params):
        return cls(**params).fit(reference).test(current)
    return run


# Windows every detector refuses: empty, missing values (nan_policy="raise"), other columns, other kinds,
# a non-window, a datetime column.
_BAD_NUMERIC = {
    "reference": [None, "nonsense", [], _numeric(0).iloc[:0], _with_nan(_numeric(0)), pd.DataFrame(),
                  _numeric(0).assign(when=pd.Timestamp("2024-01-01")), np.ones((3, 2, 2))],
    "current": [None, _numeric(1).iloc[:0], _with_nan(_numeric(1)), _numeric(1).drop(columns="age"),
                _numeric(1).assign(extra=1.0), _numeric(1).assign(age=lambda f: f["age"].astype(str)),
                _numeric(1).assign(amount=np.inf)],
    "nan_policy": ["drop", None, "RAISE"],
}

_BAD_CATEGORICAL = {
    "reference": [None, [], _categorical(0).iloc[:0], _categorical(0).assign(device=None),
                  _numeric(0)],
    "current": [None, _categorical(1).iloc[:0], _categorical(1).drop(columns="device"),
                _categorical(1).assign(device=1.5), _categorical(1).assign(is_new=None)],
    "nan_policy": ["drop"],
}

CASES = {
    "DriftResult": Case(
        call=lambda: {"method": "ks", "statistic": 0.3, "p_value": 0.01, "threshold": 0.05, "drifted": True,
                      "columns": KSDetector().fit(_numeric(0)).test(_numeric(1)).columns},
        bad={"method": ["kl", None], "statistic": ["0.3", np.nan, None], "p_value": [1.5, -0.1, "0.01"],
             "threshold": [None, np.inf], "drifted": [1, "yes", None],
             "columns": [[1, 2], pd.DataFrame({"statistic": [0.1]})]},
        valid={"p_value": [None, np.float64(0.5)], "columns": [None], "drifted": [np.bool_(False)],
               "statistic": [np.float32(0.2), 1]},
    ),
    "KSDetector": Case(
        call=lambda: {"reference": _numeric(0), "current": _numeric(1, shift=1.0)},
        fn=_detector(KSDetector),
        bad=_BAD_NUMERIC | {"alpha": [0.0, 1.0, 1.5, "0.05", None], "correction": ["sidak", "Holm", 1],
                            "alternative": ["two_sided", "both", None]} | {
            "reference": _BAD_NUMERIC["reference"] + [_categorical(0)]},
        valid={"alpha": [np.float64(0.01)], "correction": [None, "bonferroni", "fdr_bh"],
               "alternative": ["less", "greater"], "nan_policy": ["omit"],
               "current": [_numeric(1, n=1), _numeric(2, n=500)[["age", "amount"]],
                           _numeric(1).assign(age=lambda f: f["age"].astype(float))]},
    ),
    "ChiSquareDetector": Case(
        call=lambda: {"reference": _categorical(0), "current": _categorical(1)},
        fn=_detector(ChiSquareDetector),
        bad=_BAD_CATEGORICAL | {"alpha": [0, -0.5, "x"], "correction": ["BH"]},
        valid={"correction": [None, "fdr_bh"], "nan_policy": ["omit"],
               "current": [_categorical(1).assign(device="tablet"), _categorical(1, n=1),
                           _categorical(1).assign(device=lambda f: f["device"].astype("category"))]},
    ),
    "PSIDetector": Case(
        call=lambda: {"reference": _mixed(0), "current": _mixed(1)},
        fn=_detector(PSIDetector),
        bad=_BAD_NUMERIC | {"bins": [0, -3, 2.5, "10", 10**6], "threshold": [0.0, -0.1, "0.2", np.nan]},
        valid={"bins": [1, np.int64(20)], "threshold": [np.float64(0.1), 1], "nan_policy": ["omit"],
               "current": [_mixed(1, n=1), _mixed(1).assign(device="tablet")]},
    ),
    "MMDDetector": Case(
        call=lambda: {"reference": _numeric(0), "current": _numeric(1), "random_state": 0, "n_permutations": 20},
        fn=_detector(MMDDetector),
        bad=_BAD_NUMERIC | {"n_permutations": [0, -1, 1.5, 10**9], "bandwidth": ["mean", 0.0, -1.0, None],
                            "alpha": [1.0], "random_state": [-1, "seed", 1.5],
                            "current": _BAD_NUMERIC["current"] + [_numeric(1, n=1), _numeric(1, n=10_000)],
                            "reference": _BAD_NUMERIC["reference"] + [_numeric(0, n=1), _mixed(0)]},
        valid={"bandwidth": [np.float64(1.5), 2], "random_state": [None, np.random.default_rng(0)],
               "nan_policy": ["omit"], "n_permutations": [1, np.int64(5)], "current": [_numeric(1, n=2)]},
    ),
    "DomainClassifierDetector": Case(
        call=lambda: {"reference": _mixed(0), "current": _mixed(1), "random_state": 0, "cv": 3},
        fn=_detector(DomainClassifierDetector),
        bad=_BAD_NUMERIC | {"cv": [1, 0, 2.0, 1000], "estimator": ["logistic", np.mean, object()],
                            "alpha": [2.0], "random_state": [-1],
                            "current": _BAD_NUMERIC["current"] + [_mixed(1, n=2)]},
        valid={"estimator": [LogisticRegression()],
               "random_state": [None, np.random.default_rng(1)], "cv": [np.int64(2)], "nan_policy": ["omit"]},
    ),
    "ks_test": Case(
        call=lambda: {"reference": np.random.default_rng(0).normal(size=30).tolist(),
                      "current": np.random.default_rng(1).normal(size=25).tolist()},
        bad={"reference": [None, [], [np.nan, 1.0], ["a", "b"], np.ones((3, 2)), 5.0],
             "current": [[], [np.inf, 1.0], pd.DataFrame({"x": [1.0]})],
             "alternative": ["two_sided", None], "nan_policy": ["propagate"],
             "method": ["stephens", "Exact", None], "axis": [2, -1, "0", 1.0, True]},
        valid={"alternative": ["less", "greater"], "nan_policy": ["omit"], "current": [[0.5], np.arange(3)],
               "method": ["exact", "asymp"]},
    ),
    "chi2_test": Case(
        call=lambda: {"reference": ["a", "b", "a", "c", "b", "a"], "current": ["b", "b", "a", "c", "c"]},
        bad={"reference": [None, [], [1.0, 2.0], ["a", None]], "current": [[], [1, 2], np.ones((2, 2))],
             "nan_policy": ["ignore"]},
        valid={"current": [["a"], ["z", "z"], pd.Categorical(["a", "b"], categories=["a", "b", "q"])],
               "reference": [[True, False, True]], "nan_policy": ["omit"]},
    ),
    "psi": Case(
        call=lambda: {"reference": np.random.default_rng(0).normal(size=50).tolist(),
                      "current": np.random.default_rng(1).normal(size=40).tolist()},
        bad={"reference": [None, [], [np.nan, 1.0], np.ones((3, 2))], "current": [[], ["a", "b"], [np.inf]],
             "bins": [0, -1, 2.5, 10**9], "nan_policy": [1], "axis": [3, "columns", 0.0, False]},
        valid={"bins": [1, 3], "current": [[0.0]], "nan_policy": ["omit"]},
    ),
    "chi2_counts": Case(
        call=lambda: {"reference_counts": [[30, 20, 10], [5, 5, 0]], "current_counts": [[20, 25, 15], [2, 8, 0]]},
        bad={"reference_counts": [None, [], [[1, 2, 3]], [-1, 2, 3], "abc", [[0, 0, 0], [1, 1, 1]], [np.nan, 1, 2],
                                  np.ones((2, 3, 1))],
             "current_counts": [[1, 2], [["a", "b", "c"]] * 2, 5],
             "correction": ["yes", 1, None]},
        valid={"correction": [False, np.bool_(True)], "reference_counts": [[[1.5, 2, 0], [1, 1, 0]]]},
    ),
    "psi_counts": Case(
        call=lambda: {"reference_counts": [70, 30, 0], "current_counts": [50, 40, 10]},
        bad={"reference_counts": [None, [], [70, 30], [0, 0, 0], [1, np.inf, 1], [[1, 2, 3]]],
             "current_counts": [[-5, 40, 10], "abc", 3.0]},
        valid={"reference_counts": [np.array([7, 3, 0], dtype=np.int8)], "current_counts": [[0, 0, 1]]},
    ),
    "mmd_test": Case(
        call=lambda: {"reference": np.random.default_rng(0).normal(size=(20, 2)),
                      "current": np.random.default_rng(1).normal(size=(15, 2)), "n_permutations": 20, "random_state": 0},
        bad={"reference": [None, [], np.ones((1, 2)), [[np.nan, 1.0], [1.0, 2.0]]], "current": [np.ones((3, 3))],
             "n_permutations": [0, 10**9], "bandwidth": ["scott", -1.0], "random_state": ["x"]},
        valid={"bandwidth": [0.5], "random_state": [None]},
    ),
    "correct_pvalues": Case(
        call=lambda: {"p_values": [0.01, 0.2, 0.03, 0.04], "method": "holm"},
        bad={"p_values": [None, [], [1.5], [np.nan, 0.1], "0.1", [[0.1, 0.2]], [True, False]],
             "method": ["sidak", "Holm", 3]},
        valid={"method": [None, "bonferroni", "fdr_bh"], "p_values": [[0, 1], np.array([0.5])]},
    ),
    "drift_report": Case(
        call=lambda: {"reference": _mixed(0), "current": _mixed(1)},
        bad=_BAD_NUMERIC | {"alpha": [0.0, "0.05"], "correction": ["BY"], "bins": [0, 10**6]},
        valid={"correction": [None], "bins": [1], "nan_policy": ["omit"], "current": [_mixed(1, n=1)]},
    ),
}

"""Cases of mlsys_course.evaluation: behavioural tests, calibration, coverage and slices of a fitted model."""

import numpy as np
import pandas as pd
from sklearn.compose import make_column_transformer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline

from api_cases import Case

_RNG = np.random.default_rng(0)
_X = pd.DataFrame({"amount": _RNG.normal(size=60), "income": _RNG.normal(size=60), "sex": _RNG.integers(0, 2, 60),
                   "device": pd.Categorical(_RNG.choice(["mobile", "desktop"], 60))})
_Y = (_X["amount"] + _X["sex"] + _RNG.normal(size=60) > 0.5).astype(int).to_numpy()
_MODEL = make_pipeline(make_column_transformer(("passthrough", ["amount", "income", "sex"])), LogisticRegression()).fit(_X, _Y)
_P = np.clip(_RNG.random(60), 0.01, 0.99)


def _model_call(**extra):
    return lambda: {"model": _MODEL, "X": _X.copy(), **extra}


CASES = {
    "perturbation_test": Case(
        call=_model_call(columns=["amount"], n_repeats=2, y=_Y.copy(), scoring="average_precision", random_state=0),
        bad={"columns": [["device"], ["nope"], "nope", []], "scale": [0.0, -1.0, 1e6, np.nan], "noise": ["laplace"],
             "n_repeats": [0, 10**6], "y": [_Y[:10], np.full(60, 2)], "scoring": ["auc", 3],
             "model": [LogisticRegression, object(), None], "X": [_X.to_numpy(), pd.concat([_X, _X[["amount"]]], axis=1)],
             "threshold": [np.nan, "half"]},
        valid={"columns": ["amount", np.array(["amount", "income"]), None], "scoring": [None, "roc_auc"],
               "y": [pd.Series(_Y, index=range(100, 160))], "scale": [np.float32(0.1)], "n_repeats": [np.int64(1)]},
    ),
    "invariance_test": Case(
        call=_model_call(column="sex", values=[0, 1], threshold=0.5),
        bad={"values": [[0, 1.5], ["zero"], [np.nan], [], 3], "column": ["nope", [], ["sex", "sex"]],
             "threshold": [np.nan]},
        valid={"values": [np.array([0, 1]), range(2), pd.Series([1, 0], index=[5, 6]), [0, 1.0], None],
               },
        skip={"column"},  # a column of X or a list of them: generic values are unknown columns (listed in bad)
    ),
    "directional_test": Case(
        call=_model_call(column="amount", delta=0.5, expected="increase"),
        bad={"column": ["device", "nope", ["amount"]], "delta": [0, 0.0, np.nan, "up"], "expected": ["up", None],
             "tolerance": [-1.0, np.nan]},
        valid={"delta": [np.float32(-0.5), np.int64(1)], "tolerance": [np.float64(0.01)]},
    ),
    "reliability_table": Case(
        call=lambda: {"y_true": (_P > 0.5).astype(int), "y_prob": _P.copy(), "n_bins": 5, "strategy": "uniform"},
        bad={"n_bins": [0, 10**10, 2.0], "y_prob": [np.r_[_P[:-1], 1.2], np.r_[_P[:-1], np.nan]], "strategy": ["kmeans"],
             "y_true": [np.full(60, 2)]},
        valid={"y_prob": [_P.astype(np.float32), pd.Series(_P, index=range(60, 120))], "n_bins": [np.int64(3)],
               "strategy": ["quantile"]},
    ),
    "expected_calibration_error": Case(
        call=lambda: {"y_true": (_P > 0.5).astype(int), "y_prob": _P.copy(), "n_bins": 5},
        bad={"n_bins": [0, 10**10], "y_prob": [np.r_[_P[:-1], -0.1]], "strategy": ["kmeans"]},
        valid={"y_prob": [_P.astype(np.float32)], "n_bins": [np.int32(4)]},
    ),
    "coverage_curve": Case(
        call=lambda: {"y_true": (_P > 0.5).astype(int), "y_prob": _P.copy(), "thresholds": [0.5, 0.9]},
        bad={"thresholds": [[0.3], [0.5, 1.5], [0.5, np.nan], 0.9], "y_prob": [_P[:5]]},
        valid={"thresholds": [None, np.array([0.6]), range(1, 2)], "y_prob": [_P.astype(np.float32)]},
    ),
    "slice_report": Case(
        call=lambda: {"y_true": [0, 1, 0, 1, 0, 1], "y_score": [0.2, 0.8, 0.3, 0.4, 0.6, 0.9],
                      "slices": pd.Series(["a", "a", "a", "b", "b", "b"])},
        bad={"slices": [["a", None, "a", "b", "b", "b"], ["a"] * 5, "a"], "metrics": [{"auc": "roc_auc"}, {"n": len}],
             "y_score": [[0.2, np.nan, 0.3, 0.4, 0.6, 0.9]], "threshold": [np.nan]},
        valid={"slices": [np.array(list("aaabbb")), list("aaabbb"), pd.Series(list("aaabbb"), index=range(6)[::-1]),
                          pd.Categorical(list("aaabbb")), ["overall"] * 3 + ["b"] * 3, [1, 1, 1, 2, 2, 2]],
               "y_score": [np.array([0.2, 0.8, 0.3, 0.4, 0.6, 0.9], dtype=np.float32)]},
    ),
    "simpsons_paradox": Case(
        call=lambda: {"data": pd.DataFrame({"treatment": ["A", "A", "B", "B"], "stone_size": ["small", "large", "small", "large"],
                                            "successes": [81, 192, 234, 55], "patients": [87, 263, 270, 80]})},
        bad={"data": [pd.DataFrame({"treatment": ["A", "A", "B", "B"], "stone_size": ["small", "large", "small", "large"],
                                    "successes": [81, np.nan, 234, 55], "patients": [87, 263, 270, 80]}),
                      pd.DataFrame({"treatment": ["A", None, "B", "B"], "stone_size": ["small", "large", "small", "large"],
                                    "successes": [81, 192, 234, 55], "patients": [87, 263, 270, 80]}),
                      pd.DataFrame({"treatment": ["A", "A", "B", "B"], "stone_size": ["small", "large", "small", "large"],
                                    "successes": [81, 300, 234, 55], "patients": [87, 263, 270, 80]})],
             "group": ["arm", "stone_size"], "successes": ["treatment"], "total": ["nope"]},
        valid={"data": [pd.DataFrame({"treatment": ["A", "A", "B", "B"], "stone_size": ["small", "overall", "small", "overall"],
                                      "successes": [81.0, 192.0, 234.0, 55.0], "patients": [87, 263, 270, 80]},
                                     index=[10, 11, 12, 13])]},
    ),
}

"""Cases of mlsys_course.imbalance: auc_skill, class weights, the focal loss and its classifier."""

import numpy as np
import pandas as pd

from api_cases import Case
from mlsys_course.imbalance import FocalLossClassifier

Y = [0, 0, 0, 1, 0, 1, 0, 0]
S = [0.1, 0.3, 0.2, 0.8, 0.4, 0.35, 0.05, 0.6]
X = [[0.0, 1.0], [1.0, 0.5], [2.0, 0.0], [3.0, 1.5], [4.0, 0.2], [5.0, 1.0], [0.5, 0.1], [1.5, 0.9]]


def _fit_focal(X, y, sample_weight=None, **params):
    return FocalLossClassifier(**params).fit(X, y, sample_weight=sample_weight).predict_proba(X)


CASES = {
    "auc_skill": Case(
        call=lambda: {"y_true": list(Y), "scores": list(S)},
        bad={"y_true": [[0] * 8, [0, 1, 2, 0, 1, 0, 0, 0], [0, 1], [0.0, np.nan, 1, 0, 1, 0, 0, 0]],
             "scores": [[0.1] * 7, [np.nan] + S[1:], "high"]},
        valid={"y_true": [np.array(Y, dtype=bool), pd.Series(Y, index=range(50, 58))],
               "scores": [np.array(S, dtype=np.float32)]},
    ),
    "effective_number": Case(
        call=lambda: {"n": [1, 10, 1000], "beta": 0.99},
        bad={"n": [[0, 3], [np.nan], ["a"]], "beta": [1.0, -0.1, "0.9", np.nan]},
        valid={"n": [np.int64(10), pd.Series([3, 4], index=[9, 8])], "beta": [np.float32(0.9), 0]},
    ),
    "inverse_frequency_weights": Case(
        call=lambda: {"y": list(Y)},
        bad={"y": [[0.0, np.nan], ["a", None], {0: 3}, ["a", 1]], "counts": [np.array([3, 4]), {0: 0}, {0: 2.5}, {np.nan: 3}],
             "normalize": ["sum", None]},
        valid={"y": [pd.Series(Y, index=range(100, 108)), np.array(Y, dtype=np.float32), ["a", "b", "a"]]},
    ),
    "class_balanced_weights": Case(
        call=lambda: {"y": list(Y), "beta": 0.99},
        bad={"beta": [1.0, np.nan, "x"], "y": [[np.inf, 0.0]], "normalize": ["sum"]},
        valid={"beta": [np.float64(0.9), 0]},
    ),
    "focal_loss": Case(
        call=lambda: {"y_true": list(Y), "p": list(S), "gamma": 2.0},
        bad={"p": [[1.5] + S[1:], [np.nan] + S[1:]], "gamma": [-1.0, np.nan], "alpha": [0.0, 1.0, 2.0],
             "sample_weight": [[-1.0] + [1.0] * 7, [0.0] * 8, [1.0] * 3]},
        valid={"alpha": [0.25, np.float32(0.5)], "sample_weight": [np.ones(8, dtype=np.float32)]},
    ),
    "focal_loss_gradient": Case(
        call=lambda: {"y_true": list(Y), "logits": [0.0, 1.0, -1.0, 2.0, 0.5, -3.0, 1.0, 0.0], "gamma": 2.0},
        bad={"logits": [[np.inf] * 8], "gamma": [-0.1]},
    ),
    "FocalLossClassifier": Case(
        call=lambda: {"X": [list(r) for r in X], "y": list(Y)},
        fn=_fit_focal,
        bad={"gamma": [-1.0], "C": [0.0, np.nan], "max_iter": [0, 2.5], "fit_intercept": ["yes"], "class_weight": ["even"],
             "y": [[0] * 8, [0, 1, 2, 0, 1, 0, 0, 0]], "sample_weight": [[-1.0] * 8, [np.nan] * 8]},
        valid={"y": [np.array(["a", "b", "a", "b", "a", "a", "a", "a"]), pd.Series(Y, index=range(8, 16))],
               "X": [np.array(X, dtype=np.float32), pd.DataFrame(X, columns=["u", "v"], index=range(3, 11))],
               "sample_weight": [np.float32(2.0), np.ones(8)], "class_weight": ["balanced", {0: 1.0, 1: 4.0}]},
    ),
}

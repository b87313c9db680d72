"""Cases of mlsys_course.compression: quantization, pruning, low rank, distillation and the size measure."""

import numpy as np
import pandas as pd
from sklearn.datasets import make_classification
from sklearn.ensemble import RandomForestClassifier
from sklearn.frozen import FrozenEstimator
from sklearn.linear_model import LogisticRegression
from sklearn.neural_network import MLPClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVC
from sklearn.tree import DecisionTreeClassifier

from api_cases import Case
from mlsys_course.compression import DistilledClassifier, LowRankClassifier, PrunedClassifier, QuantizedClassifier

_X, _Y = make_classification(120, 6, random_state=0)
# X and y are scikit-learn's validate_data's to check (its messages are scikit-learn's contract), not listed here.
_W = np.random.default_rng(0).normal(size=(6, 4))
_LINEAR = LogisticRegression().fit(_X, _Y)
_NET = MLPClassifier((8,), max_iter=2_000, random_state=0).fit(_X, _Y)


def _fit(cls):
    def run(estimator=None, X=_X, y=_Y, **params):
        model = cls(estimator, **params).fit(X, y)
        return model.predict_proba(X), model.nbytes_
    return run


def _distil(teacher, student, soft=True, X=_X, y=_Y):
    model = DistilledClassifier(teacher, student, soft=soft).fit(X, y)
    return model.predict_proba(X), model.nbytes_


_NOT_A_MODEL = [None, "model", LogisticRegression, object()]

CASES = {
    "quantize": Case(
        call=lambda: {"weights": _W.copy(), "bits": 8},
        bad={"bits": [1, 33, 8.0, "8", None, True], "weights": [np.ones((2, 2, 2)), [[1.0, np.nan]], [["a"]], []]},
        valid={"bits": [2, 32, np.int64(4)], "weights": [_W.astype(np.float32), [0.0, 0.0], _W[0].tolist(),
                                                         pd.Series([0.5, -1.0], index=[7, 9])]},
    ),
    "dequantize": Case(
        call=lambda: {"q": np.array([[1, -2], [127, 0]], dtype=np.int8), "scale": 0.5},
        bad={"q": [[0.5, 1.0], ["a"], []], "scale": [0.0, -1.0, np.inf, "1", None]},
        valid={"q": [[1, 2], np.array([3], dtype=np.int32)], "scale": [np.float32(0.25), 3]},
    ),
    "prune": Case(
        call=lambda: {"weights": _W.copy(), "sparsity": 0.5},
        bad={"sparsity": [-0.1, 1.1, np.nan, "half", None], "weights": [np.ones((2, 2, 2)), [np.inf, 1.0]]},
        valid={"sparsity": [0, 1, np.float32(0.25)], "weights": [_W[0], _W.tolist()]},
    ),
    "low_rank": Case(
        call=lambda: {"weights": _W.copy(), "rank": 2},
        bad={"rank": [0, -1, 2.0, None], "weights": [_W[0], np.ones((2, 2, 2)), [[np.nan, 1.0]]]},
        valid={"rank": [1, 100, np.int64(3)], "weights": [_W.tolist(), _W.astype(np.float32)]},
    ),
    "model_nbytes": Case(
        call=lambda: {"model": _LINEAR},
        bad={"model": [LogisticRegression(), SVC().fit(_X, _Y), *_NOT_A_MODEL]},
        valid={"model": [_NET, FrozenEstimator(_LINEAR), DecisionTreeClassifier(max_depth=2).fit(_X, _Y),
                         RandomForestClassifier(n_estimators=3, random_state=0).fit(_X, _Y)]},
    ),
    "QuantizedClassifier": Case(
        call=lambda: {"estimator": LogisticRegression(), "bits": 8},
        fn=_fit(QuantizedClassifier),
        bad={"estimator": [DecisionTreeClassifier(), *_NOT_A_MODEL], "bits": [1, 33, 8.5, "8"]},
        valid={"estimator": [FrozenEstimator(_NET), MLPClassifier((4,), max_iter=2_000, random_state=0)],
               "bits": [2, 32, np.int64(4)], "X": [pd.DataFrame(_X, columns=list("abcdef"))]},
    ),
    "PrunedClassifier": Case(
        call=lambda: {"estimator": LogisticRegression(), "sparsity": 0.5},
        fn=_fit(PrunedClassifier),
        bad={"estimator": [DecisionTreeClassifier(), *_NOT_A_MODEL], "sparsity": [-0.1, 1.5, np.nan, "0.5"]},
        valid={"estimator": [FrozenEstimator(_NET)], "sparsity": [0, 1, np.float64(0.9)]},
    ),
    "LowRankClassifier": Case(
        call=lambda: {"estimator": FrozenEstimator(_NET), "rank": 2},
        fn=_fit(LowRankClassifier),
        bad={"estimator": [DecisionTreeClassifier(), *_NOT_A_MODEL], "rank": [0, 2.0, "2"]},
        valid={"estimator": [LogisticRegression()], "rank": [1, 10**6, np.int64(3)]},
    ),
    "DistilledClassifier": Case(
        call=lambda: {"teacher": RandomForestClassifier(n_estimators=5, random_state=0),
                      "student": DecisionTreeClassifier(max_depth=2, random_state=0)},
        fn=_distil,
        bad={"teacher": _NOT_A_MODEL, "soft": ["yes", None, 1],
             "student": [*_NOT_A_MODEL, make_pipeline(StandardScaler(), LogisticRegression())]},  # no sample_weight
        valid={"soft": [False, np.bool_(True)], "teacher": [FrozenEstimator(_LINEAR)],
               "student": [LogisticRegression()]},
    ),
}

"""Cases of mlsys_course.continual: update (stateful training) and the retrain triggers."""

import numpy as np
import pandas as pd
from sklearn.linear_model import LogisticRegression, SGDClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from api_cases import Case
from mlsys_course.continual import DriftTrigger, PerformanceTrigger, ScheduleTrigger
from mlsys_course.drift import KSDetector
from mlsys_course.monitoring import PageHinkley

_RNG = np.random.default_rng(0)
_X = _RNG.normal(size=(60, 3))
_Y = (_X[:, 0] > 0).astype(int)


def _sgd():
    return SGDClassifier(loss="log_loss", random_state=0).fit(_X[:30], _Y[:30])


def _schedule(every):
    trigger = ScheduleTrigger(every=every).reset("2024-01-01")
    return trigger.check("2024-01-08")


def _drift(detector):
    trigger = DriftTrigger(detector)
    reference = pd.DataFrame({"a": _X[:, 0]})
    trigger.reset("2024-01-01", inputs=reference)
    if trigger.batch_:
        return trigger.check("2024-01-02", inputs=reference)
    return trigger.check("2024-01-02", values=_X[:, 0])


def _performance(metric, drop, min_labels):
    trigger = PerformanceTrigger(metric=metric, drop=drop, min_labels=min_labels)
    trigger.reset("2024-01-01", y_true=_Y, y_score=_X[:, 0])
    return trigger.check("2024-01-02", y_true=_Y, y_score=_X[:, 1])


CASES = {
    "update": Case(
        call=lambda: {"model": _sgd(), "X": _X[30:], "y": _Y[30:]},
        bad={"model": [SGDClassifier(), LogisticRegression().fit(_X, _Y), SGDClassifier, "sgd", None],
             "X": [_X[30:, 0], "X", None, np.full((30, 3), np.nan), np.zeros((0, 3))],
             "y": [_Y[31:], _Y[30:] + 5, None, [np.nan] * 30, "y"],
             "classes": [[0, 1, 2]],
             "n_new": [0, -1, 2.5, "2", 10**12]},
        valid={"model": [make_pipeline(StandardScaler(), SGDClassifier(random_state=0)).fit(_X, _Y)],
               "X": [pd.DataFrame(_X[30:])],
               "y": [pd.Series(_Y[30:], index=np.arange(30) + 500), _Y[30:].astype(bool)],
               "classes": [[0, 1], np.array([0, 1])],
               "n_new": [1, np.int64(3)]},
        skip={"model"},  # an estimator has no numeric variants
    ),
    "ScheduleTrigger": Case(
        call=lambda: {"every": "7D"},
        fn=_schedule,
        bad={"every": [0, "0D", "-1D", "soon", None, 7.0]},
        valid={"every": [pd.Timedelta(days=1), np.timedelta64(3, "D"), "12h"]},
    ),
    "DriftTrigger": Case(
        call=lambda: {"detector": KSDetector(alpha=0.01)},
        fn=_drift,
        bad={"detector": [None, "ks", KSDetector, np.mean, 3, pd.DataFrame()]},
        valid={"detector": [PageHinkley(), PageHinkley(threshold=1.0)]},
    ),
    "PerformanceTrigger": Case(
        call=lambda: {"metric": "roc_auc", "drop": 0.05, "min_labels": 20},
        fn=_performance,
        bad={"metric": ["accuracy", None, 3, "AUC"], "drop": [0.0, -0.1, np.nan, "0.1", None],
             "min_labels": [0, -5, 2.5, None]},
        valid={"metric": ["average_precision", lambda y, s: float(np.mean(s))], "min_labels": [10**6, 1]},
    ),
}

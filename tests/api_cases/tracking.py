"""Cases of mlsys_course.tracking: MLflow stores, runs, the best run, models, data fingerprints.

Creating an MLflow store's tables costs seconds, reopening one milliseconds. So the cases share ONE store
per process: a directory whose tables (and a run to query) are created by the first call that needs them,
inside the call, never at import or in ``Case.call`` (test_public_api calls ``call()`` while collecting, and
collecting must not import MLflow); every later call reopens it. Calls that would create yet another store
(``tracking_store(None)``, a fresh directory) are left to tests/test_tracking.py. Bad input is refused before
a store is opened, so bad-input cases cost milliseconds.
"""

import os
from pathlib import Path

# MLflow decides when first imported whether to send usage data: tell it not to (test code; recipes never do).
os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from sklearn.linear_model import LogisticRegression  # noqa: E402

from api_cases import Case, scratch_dir  # noqa: E402
from mlsys_course import tracking  # noqa: E402

_DIR = str(scratch_dir("tracking"))
_STORE = os.path.join(_DIR, "store")
_FILE = os.path.join(_DIR, "a-file")
open(_FILE, "w").close()
_NOT_A_DB = os.path.join(_DIR, "not-a-store")
os.makedirs(_NOT_A_DB)
with open(os.path.join(_NOT_A_DB, "mlflow.db"), "w") as f:
    f.write("this is not an SQLite database\n" * 100)

_X = pd.DataFrame({"a": [0.0, 1.0, 2.0, 3.0, 4.0, 5.0], "b": [1.0, 0.0, 1.0, 0.0, 1.0, 1.0]})
_Y = np.array([0, 0, 0, 1, 1, 1])
_MODEL = LogisticRegression().fit(_X, _Y)
_RUNS: dict = {}


class _RunWithModel:
    """Stands for the id of the shared store's run that logged a model, made on first use (seconds)."""

    def __repr__(self) -> str:
        return "<the id of a run that logged a model>"


_RUN_WITH_MODEL = _RunWithModel()


def _store() -> str:
    """The shared store's directory, its tables and one run (in experiment "course") created on first use."""
    if not _RUNS:
        with tracking.tracking_store(_STORE):
            _RUNS["without_model"] = tracking.log_run(_MODEL, params={"C": 0.1}, metrics={"accuracy": 0.5}, X_train=_X,
                                                      y_train=_Y, run_name="without model", log_model=False)
    return _STORE


def _in_store(fn):
    """``fn`` called inside the shared store (reopened: milliseconds)."""
    def call(**kwargs):
        with tracking.tracking_store(_store()):
            return fn(**kwargs)

    return call


def _open(directory):
    with tracking.tracking_store(directory) as uri:
        return uri


def _load_and_predict(run_id):
    if run_id is _RUN_WITH_MODEL:
        if "with_model" not in _RUNS:
            _RUNS["with_model"] = tracking.log_run(_MODEL, params={"C": 1.0}, metrics={"accuracy": 1.0}, X_train=_X,
                                                   y_train=_Y, run_name="with model")
        run_id = _RUNS["with_model"]
    return tracking.load_model(run_id).predict(_X)


def _log_call():
    return {"model": _MODEL, "params": {"C": 1.0, "solver": "lbfgs"}, "metrics": {"accuracy": 0.9}, "X_train": _X.copy(),
            "y_train": _Y.copy(), "experiment": "cases", "run_name": "a run", "log_model": False}


CASES = {
    "tracking_store": Case(
        call=lambda: {"directory": _STORE},  # created by the first call if no other case did
        fn=_open,
        bad={"directory": [3, "", "   ", b"/tmp", ["a"], _FILE, _NOT_A_DB, 2.5, True]},
        valid={"directory": [Path(_STORE)]},
        # any path is valid, and the generic values that are valid make new stores (seconds each): "nonsense" in
        # the working directory, None in a temporary one (tests/test_tracking.py covers None); the wrong types are
        # listed in bad above
        skip={"directory"},
    ),
    "data_fingerprint": Case(
        call=lambda: {"X": _X.copy(), "y": list(_Y)},
        bad={"X": [None, 3.0, "abc", [[1], [1, 2]], {"a": [1]}, pd.DataFrame({"a": [{"k": 1}]}), np.float64(3.0)],
             "y": ["ab", 3, {"a": 1}, [0, 1], np.zeros(7)]},
        valid={"X": [_X.to_numpy(), _X.to_numpy(np.float32), _X.set_index(pd.Index(range(10, 16))), [[1.0, 2.0]] * 6,
                     pd.DataFrame({"t": pd.to_datetime(["2024-01-01", None] * 3), "s": ["x", None] * 3}),
                     pd.Series(np.arange(6.0), index=range(6, 0, -1))],
               "y": [None, pd.Series(_Y, index=range(50, 56)), _Y.astype(bool), ["a", "b", "a", "b", "a", "b"]]},
    ),
    "log_run": Case(
        call=_log_call,
        fn=_in_store(tracking.log_run),
        bad={"model": ["LogisticRegression", LogisticRegression, 3, {"C": 1}],
             "params": [[("C", 1)], {1: 2}, {"a?b": 2}, {"a/../b": 2}, {"C": [1, 2]}, {"C": "x" * 6001},
                        {"data_fingerprint": "x"}, None, "C=1", {"": 1}],
             "metrics": [0.9, {"a b?": 1.0}, {"acc": np.nan}, {"acc": np.inf}, {"acc": "0.9"}, {"acc": None},
                         {"acc": True}, None, [0.9], {"acc": [0.9]}],
             "X_train": [None, 3.0, "abc", pd.DataFrame(), np.array([]), _X.iloc[:0], _X.iloc[:4]],
             "y_train": ["ab", 3, _Y[:4], np.zeros(7)],
             "experiment": ["", "  ", None, 3, ["cases"], "x" * 257],
             "run_name": ["", 3, ["a"], "x" * 300],
             "log_model": ["yes", 1, None, np.array([True])]},
        valid={"model": [None], "params": [{}, {"C": np.float32(0.5), "n": np.int64(3), "flag": np.bool_(True), "none": None}],
               "metrics": [{}, {"acc": np.float32(0.5), "n": np.int64(3), "neg": -2}],
               "X_train": [_X.to_numpy(), _X.set_index(pd.Index(range(10, 16))), [[1.0, 2.0]] * 6],
               "y_train": [None, pd.Series(_Y, index=range(50, 56)), list(_Y)],
               "run_name": [None], "experiment": ["another/experiment 1"], "log_model": [np.bool_(False)]},
    ),
    "runs": Case(
        call=lambda: {"experiment": "course"},
        fn=_in_store(tracking.runs),
        bad={"experiment": ["", "no such experiment", None, 3, ["course"]]},
    ),
    "best_run": Case(
        call=lambda: {"experiment": "course", "metric": "accuracy", "maximize": True},
        fn=_in_store(tracking.best_run),
        bad={"experiment": ["", "no such experiment", None], "metric": ["", "f1", "metrics.accuracy", None, 3, ["accuracy"]],
             "maximize": [1, "yes", None, "max"]},
        valid={"maximize": [False, np.bool_(True)]},
    ),
    "load_model": Case(
        call=lambda: {"run_id": _RUN_WITH_MODEL},
        fn=_in_store(_load_and_predict),
        bad={"run_id": ["", "0" * 32, "not a run", None, 3, ["abc"], "../../etc"]},
    ),
}

"""Cases of mlsys_course.monitoring: the schema check, operational metrics, windows and streaming detectors."""

import numpy as np
import pandas as pd

from api_cases import Case
from mlsys_course.monitoring import ADWIN, PageHinkley, Schema


def _reference():
    return pd.DataFrame({"amount": [5.0, 20.0, 80.0, 12.5, 40.0], "device": ["mobile", "desktop", "mobile", None, "tablet"],
                         "n_items": [1, 2, 1, 3, 1]})


def _current():
    return pd.DataFrame({"amount": [500.0, 2000.0, 7.0, 9.0], "device": ["mobile", "watch", "desktop", None],
                         "n_items": [1, 1, 2, 1]})


def _schema(reference, current, **params):
    schema = Schema(**params).fit(reference)
    return schema.validate(current)


def _assert_valid(reference, current):
    Schema().fit(reference).assert_valid(current)


def _log():
    return pd.DataFrame({
        "time": pd.to_datetime(["2024-01-01 00:00:10", "2024-01-01 00:00:10", "2024-01-01 00:00:50",
                                "2024-01-01 00:02:30"]),
        "request_id": ["a", "a", "b", "c"], "model_version": "v1", "status": [200, 200, 500, 200],
        "latency_ms": [12.0, 12.0, 40.0, 8.0], "n_rows": [2, 2, 1, 1], "prediction": [0.1, 0.3, np.nan, 0.9],
        "amount": [5.0, 7.0, 3.0, 1.0]})


def _frame():
    return pd.DataFrame({"t": pd.date_range("2024-01-01", periods=10, freq="12h"),
                         "x": [1.0, 2.0, np.nan, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0, 10.0], "flag": [True, False] * 5,
                         "name": list("abcdefghij")})


def _stream():
    rng = np.random.default_rng(0)
    return np.concatenate([rng.normal(0, 1, 200), rng.normal(3, 1, 200)])


def _ph(stream, **params):
    return PageHinkley(**params).detect(stream)


def _adwin(stream, **params):
    return ADWIN(**params).detect(stream)


_BAD_STREAM = [np.array([1.0, np.nan]), np.array([[1.0, 2.0]]), ["a", "b"], "abc", np.array([1.0, np.inf])]

CASES = {
    "Schema": Case(  # fit on a reference, validate a current frame
        call=lambda: {"reference": _reference(), "current": _current(), "range_tolerance": 0.1,
                      "max_out_of_range": 0.0, "missing_tolerance": 0.05},
        fn=_schema,
        bad={"reference": [_reference().to_numpy(), _reference().iloc[:0], pd.DataFrame(index=[0, 1]),
                           pd.DataFrame({"x": [[1], [2]]}, dtype=object)],
             "current": [None, _current().to_numpy(), _current().iloc[:0]],
             "range_tolerance": [-0.1, np.nan, "0.1", None],
             "max_out_of_range": [1.0, -0.1, "0"],
             "missing_tolerance": [1.5, -1e-3, None]},
        valid={"current": [_reference(), _current().drop(columns="n_items").assign(extra=1),
                           _current().astype({"device": "category"})],
               "range_tolerance": [np.float64(0.0), 2],
               "max_out_of_range": [np.float32(0.5)]},
    ),
    "operational_metrics": Case(
        call=lambda: {"log": _log(), "window": "1min"},
        bad={"log": [_log().drop(columns="latency_ms"), _log().assign(time=_log()["time"].astype(str)),
                     _log().assign(status=["200"] * 4), _log().assign(latency_ms=[1.0, 1.0, np.nan, 2.0]),
                     _log().assign(request_id=["a", None, "b", "c"]), _log().iloc[:0], _log().to_numpy()],
             "window": ["0min", "-1min", 60, "nonsense", "1ns"]},
        valid={"window": [pd.Timedelta("30s"), "1h", np.timedelta64(1, "m")],
               "log": [_log().iloc[::-1], _log().assign(request_id=[1, 1, 2, 3]),
                       _log().assign(prediction=np.nan)]},
    ),
    "windowed_metric": Case(
        call=lambda: {"frame": _frame(), "time": "t", "value": "x", "window": "1D", "kind": "sliding",
                      "step": "12h", "min_rows": 1},
        bad={"frame": [None, _frame().iloc[:0], _frame().to_numpy()],
             "time": ["x", "nope", ["t"], None],
             "value": ["name", "nope", ["x"], None, 3],
             "window": ["0D", 5, "soon"],
             "kind": ["daily", None, 1],
             "step": ["0D", 3, "1ns"],
             "min_rows": [0, 1.5, True]},
        valid={"value": ["flag", lambda sub: float(sub["x"].max()), lambda sub: np.float32(len(sub))],
               "kind": ["cumulative"], "step": [None, pd.Timedelta("6h")],
               "frame": [_frame().iloc[::-1]], "min_rows": [np.int64(3), 100]},
    ),
    "PageHinkley": Case(
        call=lambda: {"stream": _stream(), "delta": 0.005, "threshold": 50.0, "alpha": 0.9999,
                      "min_instances": 30, "mode": "both"},
        fn=_ph,
        bad={"stream": _BAD_STREAM, "delta": [-1.0, np.nan, "0"], "threshold": [0.0, -1.0, None],
             "alpha": [0.0, 1.5, "1"], "min_instances": [0, 2.5, True], "mode": ["left", None, 1]},
        valid={"stream": [np.array([], dtype=float), list(range(50)), np.arange(100, dtype=np.int32)],
               "alpha": [1], "mode": ["up", "down"]},
    ),
    "ADWIN": Case(
        call=lambda: {"stream": _stream(), "delta": 0.002, "clock": 32, "max_buckets": 5, "min_window_length": 5,
                      "grace_period": 10},
        fn=_adwin,
        bad={"stream": _BAD_STREAM, "delta": [0.0, 1.0, np.nan, None], "clock": [0, 1.5, "32", 10**12],
             "max_buckets": [1, None, 10**12],  # river's Rust core would try to allocate 8 TB and abort the process
             "min_window_length": [0, 2.0, 10**12], "grace_period": [0, True, 10**12]},
        valid={"stream": [np.array([], dtype=float), list(range(50))], "clock": [np.int64(1)]},
    ),
}

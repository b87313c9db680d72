"""Cases of mlsys_course.skew: the train-serving skew report and its assertion."""

import numpy as np
import pandas as pd

from api_cases import Case
from mlsys_course.skew import SkewReport, skew_report


def _offline():
    return pd.DataFrame({"id": [1, 2, 3, 4], "amount": [1.0, 2.0, np.nan, 4.0], "count": [1, 2, 3, 4],
                         "device": ["mobile", None, "tablet", "mobile"]})


def _online():
    return pd.DataFrame({"id": [4, 3, 2, 1], "amount": [4.0, np.nan, 2.0, 1.0], "count": [4.0, 3.0, 2.0, 1.0],
                         "device": pd.Categorical(["mobile", "tablet", None, "mobile"])})


def _call():
    return {"offline": _offline(), "online": _online(), "key": "id"}


def _record_call():
    report = skew_report(_offline(), _online(), key="id")
    return {"key": report.key, "n_rows": report.n_rows, "features": report.features,
            "offline_only_keys": report.offline_only_keys, "online_only_keys": report.online_only_keys,
            "offline_only_columns": report.offline_only_columns, "online_only_columns": report.online_only_columns}


_BAD = {
    "offline": [_offline().to_numpy(), _offline().iloc[:0], _offline().assign(id=[1, 1, 2, 3]),
                _offline().assign(id=[1.0, np.nan, 3.0, 4.0]), _offline().assign(id=["1", "2", "3", "4"]),
                pd.concat([_offline(), _offline()[["amount"]]], axis=1)],
    "online": [None, _online().drop(columns="id"), _online().assign(id=[4, 4, 2, 1])],
    "key": ["nope", [], ["id", "id"], None, {"id"}, ["id", "nope"]],
    "columns": ["amount", [], ["nope"], ["amount", "amount"], ["id"]],
    "rtol": [-1.0, np.nan, "0.1", None],
    "atol": [-0.5, np.inf, "0"],
}

_VALID = {
    "key": [["id"], ("id",)],
    "columns": [["amount"], ("count", "device"), pd.Index(["amount"]), np.array(["amount", "count"])],
    "rtol": [np.float64(0.0), 1],
    "atol": [np.float32(1e-6), np.int64(0)],
    "online": [_online().assign(count=[4, 3, 2, 1]), _online().assign(extra=0.0), _online().iloc[:2]],
}

CASES = {
    "skew_report": Case(call=_call, bad=_BAD, valid=_VALID),
    "assert_no_skew": Case(  # equal frames: the assertion passes and returns the report
        call=lambda: {"offline": _offline(), "online": _offline().sample(frac=1.0, random_state=0), "key": "id"},
        bad=_BAD | {"allow_unmatched_keys": ["yes", 1, None]},
        valid={"allow_unmatched_keys": [np.bool_(True), False], "columns": [["amount"]], "rtol": [np.float64(0.0)]},
    ),
    "SkewReport": Case(  # the record validates its fields; str() renders it
        call=_record_call,
        fn=lambda **fields: str(SkewReport(**fields)),
        bad={"key": ["id", (), None], "n_rows": [-1, True, 2.5, None], "features": [None, pd.DataFrame({"rows": [1]})],
             "offline_only_keys": [[1], None], "online_only_keys": [np.array([1])],
             "offline_only_columns": [["x"], None], "online_only_columns": ["x"]},
        valid={"n_rows": [np.int64(4), 0]},
    ),
}

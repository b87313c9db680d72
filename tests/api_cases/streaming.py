"""Cases of mlsys_course.streaming: a sliding-window feature computed in batch, in SQL and on a stream."""

import datetime as dt

import numpy as np
import pandas as pd

from api_cases import Case
from mlsys_course.datasets import make_transactions
from mlsys_course.streaming import WindowCounter

_TX = make_transactions(80, random_state=0)
_UNSORTED = _TX.iloc[::-1]


def _count(window="10min", closed="right", key="card-1", timestamp="2024-01-01 00:05", value=1.0):
    """Build the counter, feed it one event at 00:00 and the given one (a bad parameter or event surfaces here)."""
    counter = WindowCounter(window, closed=closed)
    counter.update("card-1", "2024-01-01 00:00")
    return counter.update(key, timestamp, value)


_FEATURE = {
    "call": lambda: {"df": _TX.copy(), "window": "10min", "agg": "sum", "value": "amount"},
    "bad": {"df": [_UNSORTED, _TX.to_numpy(), _TX.assign(timestamp=_TX["timestamp"].astype(str)),
                   _TX.assign(amount=np.nan), pd.concat([_TX, _TX[["amount"]]], axis=1)],
            "window": ["0min", "-1h", 600, "ten minutes"], "agg": ["mean", None], "value": ["nope", "country"],
            "key": ["card"], "time": ["ts"], "closed": ["left"]},
    "valid": {"window": [pd.Timedelta("10min"), dt.timedelta(minutes=10), np.timedelta64(600, "s")],
              "df": [_TX.iloc[:0], _TX.set_index(_TX.index + 1_000), _TX.assign(amount=_TX["amount"].astype(np.float32)),
                     _TX.assign(user_id=_TX["user_id"].astype("category"))],
              "key": ["merchant_category"], "agg": ["count"], "closed": ["both"]},
}

CASES = {
    "window_count_batch": Case(**_FEATURE),
    "window_count_stream": Case(**_FEATURE),
    "stale_batch_feature": Case(
        call=lambda: {"df": _TX.copy(), "refresh": "1h", "window": "10min", "agg": "sum", "value": "amount"},
        bad={**_FEATURE["bad"], "refresh": ["0s", 3600, None], "include_current": [1, "yes", None]},
        valid={"refresh": [np.timedelta64(1, "h"), dt.timedelta(hours=1)], "include_current": [np.bool_(False)]},
    ),
    "window_query": Case(
        call=lambda: {"window": "10min", "agg": "count", "closed": "right"},
        bad={"window": [pd.Timedelta(nanoseconds=1500), "0s", 3], "agg": ["max"], "closed": ["neither"]},
        valid={"window": [dt.timedelta(hours=1), np.timedelta64(90, "s")], "closed": ["both"]},
    ),
    "WindowCounter": Case(
        call=lambda: {"window": "10min", "closed": "right"},
        fn=_count,
        bad={"window": ["-1min", 600, None], "closed": ["left"], "key": [["a"], {"a": 1}],
             "timestamp": ["2023-12-31 23:59", 1_700_000_000, "not a time", pd.Timestamp("2024-01-01 00:05", tz="UTC")],
             "value": [float("nan"), "1", None]},
        valid={"key": [np.int64(1), ("card", 1)], "timestamp": [np.datetime64("2024-01-01T00:05"), pd.Timestamp("2024-01-01 00:05")],
               "value": [np.float32(2.5), np.int64(3)]},
    ),
}

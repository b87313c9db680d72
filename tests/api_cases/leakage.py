"""Cases of mlsys_course.leakage: leakage-safe splits, point-in-time joins, the chargeback log and the scan."""

import datetime as dt

import numpy as np
import pandas as pd

from api_cases import Case

_T = pd.date_range("2024-01-01", periods=12, freq="D")
# 12 rows in time order, 4 users of 3 rows each, labels known 2 or 5 days after the event (the last one not yet).
_DF = pd.DataFrame({
    "timestamp": _T,
    "user_id": [1, 2, 3, 4] * 3,
    "y": [0, 1, 1, 0, 0, 1, 1, 0, 0, 1, 1, 0],
    "label_known_at": _T + pd.to_timedelta([2, 5] * 6, unit="D"),
    "amount": np.linspace(1.0, 12.0, 12) ** 1.5,
})
_DF.loc[11, "label_known_at"] = pd.NaT


def _df(**changes):
    """A copy of the small frame with some columns replaced (a value, or a function of the frame)."""
    df = _DF.copy()
    for column, value in changes.items():
        df[column] = value(df) if callable(value) else value
    return df


def _first(column, value, df=None):
    """The frame with the first row's ``column`` set to ``value`` (the column becomes object if need be)."""
    df = (_DF if df is None else df).copy()
    values = df[column].astype(object).to_numpy().copy()
    values[0] = value
    df[column] = pd.Series(values, index=df.index).infer_objects()
    return df


_DUP = pd.concat([_DF, _DF[["user_id"]]], axis=1)
_TZ = _df(timestamp=lambda d: d["timestamp"].dt.tz_localize("UTC"))
_STR_TIME = _df(timestamp=lambda d: d["timestamp"].astype(str))
_NAT = _first("timestamp", pd.NaT)
_ONE_TIME = _df(timestamp=pd.Timestamp("2024-01-01"))
_US = _df(timestamp=lambda d: d["timestamp"].astype("datetime64[us]"),
          label_known_at=lambda d: d["label_known_at"].astype("datetime64[s]"))
_FAR = _df(timestamp=lambda d: d["timestamp"].astype("datetime64[s]") + np.timedelta64(400 * 365, "D"))
_REINDEXED = _DF.set_index(pd.Index(np.arange(12) * 7 + 1_000))

# --- joins: six label rows (unsorted), a feature log of eight rows (in time order) ------------------------
_LABELS = pd.DataFrame({"user_id": [1, 2, 1, 3, 2, 4],
                        "timestamp": pd.to_datetime(["2024-01-05", "2024-01-05", "2024-01-03", "2024-01-04",
                                                     "2024-01-09", "2024-01-02"]),
                        "y": [0, 1, 0, 1, 0, 0]})
_LOG = pd.DataFrame({"user_id": [1, 2, 1, 3, 2, 1, 3, 2],
                     "feature_time": pd.to_datetime(["2024-01-01", "2024-01-02", "2024-01-04", "2024-01-04",
                                                     "2024-01-06", "2024-01-06", "2024-01-07", "2024-01-08"]),
                     "chargebacks": [1, 1, 2, 1, 2, 3, 2, 3],
                     "amount": [10.0, 5.0, 7.5, 1.0, 2.0, 3.0, 4.0, 6.0]})


def _labels(**changes):
    df = _LABELS.copy()
    for column, value in changes.items():
        df[column] = value(df) if callable(value) else value
    return df


def _log(**changes):
    df = _LOG.copy()
    for column, value in changes.items():
        df[column] = value(df) if callable(value) else value
    return df


_JOIN_BAD_LABELS = [
    None, _LABELS.to_numpy(), pd.concat([_LABELS, _LABELS[["y"]]], axis=1), _LABELS.drop(columns="user_id"),
    _LABELS.drop(columns="timestamp"), _labels(timestamp=lambda d: d["timestamp"].astype(str)),
    _labels(timestamp=lambda d: d["timestamp"].dt.tz_localize("UTC")), _first("timestamp", pd.NaT, _LABELS),
    _first("user_id", np.nan, _LABELS), _labels(user_id=lambda d: d["user_id"].astype(str)),
    _first("user_id", [1], _LABELS), _labels(user_id=lambda d: pd.Timestamp("2024-01-01") + pd.to_timedelta(d["user_id"], unit="D")),
    # a feature column named like a label column gets the suffix; the suffixed name must not clash in turn
    _labels(amount=1.0, amount_feature=2.0),
]
_JOIN_BAD_FEATURES = [
    None, _LOG.to_numpy(), pd.concat([_LOG, _LOG[["amount"]]], axis=1), _LOG.drop(columns="user_id"),
    _LOG.drop(columns="feature_time"), _log(feature_time=lambda d: d["feature_time"].astype(str)),
    _log(feature_time=lambda d: d["feature_time"].dt.tz_localize("UTC")), _first("feature_time", pd.NaT, _LOG),
    _first("user_id", np.nan, _LOG), _log(user_id=lambda d: d["user_id"].astype(str)),
    _log(y=1.0, y_feature=2.0),
]
_JOIN_VALID_LABELS = [
    _LABELS.iloc[:0], _LABELS.set_index(pd.Index([9, 7, 5, 3, 1, 0])), _LABELS.set_index(pd.Index([0, 0, 1, 1, 2, 2])),
    _labels(timestamp=lambda d: d["timestamp"].astype("datetime64[s]")),
    _labels(user_id=lambda d: d["user_id"].astype(np.int32)), _labels(user_id=lambda d: d["user_id"].astype("Int64")),
    _labels(user_id=lambda d: d["user_id"].astype(float)), _labels(user_id=lambda d: d["user_id"].astype(np.uint64)),
    _labels(chargebacks=-1), _labels(user_id=lambda d: d["user_id"].astype("category")),
    _labels(user_id=lambda d: d["user_id"].astype(object)),
]
_JOIN_VALID_FEATURES = [
    _LOG.iloc[:0], _LOG.iloc[::-1], _LOG.set_index(pd.Index(np.arange(8) + 100)),
    _log(feature_time=lambda d: d["feature_time"].astype("datetime64[ms]")),
    _log(user_id=lambda d: d["user_id"].astype("Int64")), _log(chargebacks=lambda d: d["chargebacks"].astype("Int64")),
    _log(amount=lambda d: d["amount"].astype(np.float32), note=list("abcdefgh")),
    _log(timestamp=_LOG["feature_time"]),
]

# --- the chargeback log: 8 transactions, 4 of them fraud -------------------------------------------------
# (a "chargebacks" column of the source system's own count is carried along, not read)
_TX = pd.DataFrame({"user_id": [7, 7, 8, 7, 9, 8, 9, 9], "is_fraud": [1, 0, 1, 1, 0, 0, 1, 0],
                    "label_known_at": pd.to_datetime(["2024-02-01", "2024-03-01", "2024-01-20", "2024-01-25",
                                                      None, "2024-03-05", "2024-02-10", None]),
                    "chargebacks": [0, 1, 0, 1, 0, 1, 0, 1]})


def _tx(**changes):
    df = _TX.copy()
    for column, value in changes.items():
        df[column] = value(df) if callable(value) else value
    return df


# --- the scan: 40 training rows, 12 test rows --------------------------------------------------------------
_RNG = np.random.default_rng(0)
_Y = np.array([0, 1] * 26)
_X = pd.DataFrame({
    "amount": _RNG.normal(50.0, 10.0, 52).round(2),
    "leak": _Y + _RNG.normal(0.0, 0.1, 52),
    "city": _RNG.choice(["a", "b", "c"], 52),
    "foreign": _RNG.random(52) < 0.3,
    "feature_time": pd.Timestamp("2024-01-01") + pd.to_timedelta(np.arange(52), unit="h"),
    "predicted_at": pd.Timestamp("2024-01-01") + pd.to_timedelta(np.arange(52) + 1, unit="h"),
})
_XTR, _XTE, _YTR = _X.iloc[:40].copy(), _X.iloc[40:].copy(), _Y[:40]


def _xtr(**changes):
    df = _XTR.copy()
    for column, value in changes.items():
        df[column] = value(df) if callable(value) else value
    return df


def _scan_call():
    return {"X_train": _XTR.copy(), "y_train": _YTR.copy(), "X_test": _XTE.copy(), "time": "feature_time",
            "label_time": "predicted_at", "cv": 3, "random_state": 0}


CASES = {
    "time_split": Case(
        call=lambda: {"df": _DF.copy(), "time": "timestamp", "test_size": 0.25},
        bad={"df": [None, _DF.to_numpy(), _DF.iloc[:1], _DF.iloc[:0], _DUP, _DF.drop(columns="timestamp"), _TZ,
                    _STR_TIME, _NAT, _ONE_TIME, _FAR, _df(timestamp=lambda d: d["timestamp"].astype("int64"))],
             "time": ["nope", None, ["timestamp"], "user_id", "y", 0],
             "test_size": [0.0, 1.0, -0.1, 1.5, np.nan, np.inf, "0.2", True, None, [0.2]]},
        valid={"df": [_REINDEXED, _DF.iloc[::-1], _DF.sample(frac=1.0, random_state=0), _US, _DF.iloc[:2],
                      _df(timestamp=lambda d: d["timestamp"].where(d.index > 2, d["timestamp"].iloc[0]))],
               "time": [np.str_("timestamp")],
               "test_size": [np.float32(0.3), np.float64(0.5), 0.99, 0.01]},
    ),
    "time_series_cv": Case(
        call=lambda: {"df": _DF.copy(), "time": "timestamp", "n_splits": 3, "gap": 1, "max_train_size": 5},
        bad={"df": [None, _DF.to_numpy(), _DF.iloc[:0], _DUP, _DF.iloc[::-1], _TZ, _STR_TIME, _NAT, _FAR,
                    _DF.iloc[:4]],
             "time": ["nope", None, ["timestamp"], "y"],
             "n_splits": [1, 0, -2, 2.5, "3", None, True, 10**12, 12],
             "gap": [-1, 1.5, "1", None, 10**12, 9],
             "max_train_size": [0, -5, 2.5, "5", True]},
        valid={"df": [_REINDEXED, _US, _df(timestamp=lambda d: d["timestamp"].where(d.index % 2 == 0, d["timestamp"].shift()))],
               "time": [np.str_("timestamp")], "n_splits": [np.int64(2), 2, 5], "gap": [0, np.int32(2)],
               "max_train_size": [None, 1, 10**12]},
    ),
    "group_split": Case(
        call=lambda: {"df": _DF.copy(), "group": "user_id", "test_size": 0.25, "random_state": 0},
        bad={"df": [None, _DF.to_numpy(), _DF.iloc[:0], _DUP, _df(user_id=1), _first("user_id", np.nan),
                    _first("user_id", None), _first("user_id", [1])],
             "group": ["nope", None, ["user_id"], 5],
             "test_size": [0.0, 1.0, 0.9, 0.76, np.nan, "0.25", True, None],
             "random_state": [-1, 1.5, "0", 2**40, True]},
        valid={"df": [_REINDEXED, _df(user_id=lambda d: d["user_id"].map({1: "a", 2: "b", 3: "c", 4: "d"})),
                      _df(user_id=lambda d: d["user_id"].astype("category")),
                      _df(user_id=lambda d: d["user_id"].astype(object).where(d.index % 2 == 0, "x")),
                      _df(user_id=lambda d: d["user_id"].astype(float))],
               "group": [np.str_("user_id"), "y", "timestamp"], "test_size": [np.float32(0.5), 0.75, 0.01],
               "random_state": [None, np.random.default_rng(1), np.int64(3)]},
    ),
    "group_kfold": Case(
        call=lambda: {"df": _DF.copy(), "group": "user_id", "n_splits": 2, "stratify": "y", "random_state": 0},
        bad={"df": [None, _DF.to_numpy(), _DF.iloc[:0], _DUP, _df(user_id=1), _first("user_id", np.nan),
                    _first("y", np.nan)],
             "group": ["nope", None, ["user_id"]],
             "n_splits": [1, 0, 5, 10**12, 2.5, "2", None, True],
             "stratify": ["nope", ["y"], "amount", 3],
             "random_state": [-1, 1.5, "0", 2**40]},
        valid={"df": [_REINDEXED, _df(y=lambda d: d["y"].map({0: "no", 1: "yes"})), _df(y=lambda d: d["y"].astype(bool)),
                      _df(user_id=lambda d: d["user_id"].astype(str))],
               "group": [np.str_("user_id")], "n_splits": [np.int64(4), 3], "stratify": [None, np.str_("y")],
               "random_state": [None, np.random.default_rng(1)]},
    ),
    "label_available_split": Case(
        call=lambda: {"df": _DF.copy(), "cutoff": "2024-01-08", "time": "timestamp", "label_time": "label_known_at",
                      "horizon": "3D"},
        bad={"df": [None, _DF.to_numpy(), _DF.iloc[:0], _DUP, _TZ, _STR_TIME, _NAT,
                    _df(label_known_at=lambda d: d["timestamp"] - pd.Timedelta("1D")),
                    _df(label_known_at=lambda d: d["label_known_at"].astype(str)),
                    _df(label_known_at=lambda d: d["label_known_at"].dt.tz_localize("UTC"))],
             "cutoff": [None, "nonsense", 5, 2.5, True, "2024-01-01T00:00+01:00", np.datetime64("NaT"), "2023-01-01",
                        "2030-01-01", pd.Timestamp("2024-01-08", tz="UTC"), "3000-01-01", ["2024-01-08"]],
             "time": ["nope", None, ["timestamp"], "y"],
             "label_time": ["nope", None, "y", ["label_known_at"]],
             "horizon": ["-1D", "0s", "abc", 3, 2.5, pd.NaT, [], True]},
        valid={"df": [_REINDEXED, _DF.sample(frac=1.0, random_state=0), _US,
                      _df(label_known_at=lambda d: d["timestamp"])],
               "cutoff": [pd.Timestamp("2024-01-08"), dt.date(2024, 1, 8), dt.datetime(2024, 1, 8, 12),
                          np.datetime64("2024-01-08"), np.datetime64("2024-01-08T00:00:00.000000000")],
               "label_time": [np.str_("label_known_at")],
               "horizon": [None, pd.Timedelta("1D"), dt.timedelta(days=2), np.timedelta64(1, "D"), "106751D",
                           pd.Timedelta.max]},
    ),
    "point_in_time_join": Case(
        call=lambda: {"labels": _LABELS.copy(), "features": _LOG.copy(), "on": "user_id", "label_time": "timestamp",
                      "feature_time": "feature_time", "tolerance": "3D", "allow_exact_matches": True,
                      "engine": "pandas", "suffix": "_feature"},
        bad={"labels": _JOIN_BAD_LABELS, "features": _JOIN_BAD_FEATURES,
             "on": ["nope", None, ["user_id"], "y", "chargebacks"],
             "label_time": ["nope", None, "y", ["timestamp"]],
             "feature_time": ["nope", None, "amount", "chargebacks"],
             "tolerance": ["-1D", "0s", "abc", 3, 2.5, pd.NaT, [], True],
             "allow_exact_matches": ["yes", 1, None, np.nan],
             "engine": ["spark", "Pandas", None, 1, ["pandas"], np.array(["duckdb"])],
             "suffix": ["", 3, None, b"_x"]},
        valid={"labels": _JOIN_VALID_LABELS, "features": _JOIN_VALID_FEATURES,
               "on": [np.str_("user_id")], "tolerance": [None, pd.Timedelta("1h"), dt.timedelta(days=1),
                                                         np.timedelta64(2, "D"), pd.Timedelta.max],
               "allow_exact_matches": [False, np.bool_(False)], "engine": ["duckdb", np.str_("duckdb")],
               "suffix": [np.str_("_f"), "_at_feature_time"]},
    ),
    "naive_latest_join": Case(
        call=lambda: {"labels": _LABELS.copy(), "features": _LOG.copy(), "on": "user_id", "label_time": "timestamp",
                      "feature_time": "feature_time", "suffix": "_feature"},
        bad={"labels": _JOIN_BAD_LABELS, "features": _JOIN_BAD_FEATURES,
             "on": ["nope", None, ["user_id"], "y"],
             "label_time": ["nope", None, "y"],
             "feature_time": ["nope", None, "amount"],
             "suffix": ["", 3, None]},
        valid={"labels": _JOIN_VALID_LABELS, "features": _JOIN_VALID_FEATURES, "on": [np.str_("user_id")],
               "suffix": [np.str_("_f")]},
    ),
    "chargeback_log": Case(
        call=lambda: {"df": _TX.copy(), "key": "user_id"},
        bad={"df": [None, _TX.to_numpy(), pd.concat([_TX, _TX[["user_id"]]], axis=1), _TX.drop(columns="is_fraud"),
                    _TX.drop(columns="label_known_at"), _tx(is_fraud=2), _first("is_fraud", np.nan, _TX),
                    _tx(is_fraud=lambda d: d["is_fraud"].map({0: "no", 1: "yes"})),
                    _first("label_known_at", pd.NaT, _TX), _first("user_id", np.nan, _TX),
                    _tx(label_known_at=lambda d: d["label_known_at"].astype(str)),
                    _tx(label_known_at=lambda d: d["label_known_at"].dt.tz_localize("UTC"))],
             "key": ["nope", None, ["user_id"], 1, "chargebacks"]},  # chargebacks: the log's own count column
        valid={"df": [_TX.iloc[:0], _TX.set_index(pd.Index(np.arange(8) + 50)), _tx(is_fraud=lambda d: d["is_fraud"].astype(bool)),
                      _tx(user_id=lambda d: d["user_id"].astype(str)), _tx(is_fraud=0),
                      _first("user_id", np.nan, _TX.iloc[[1, 0, 2, 3, 4, 5, 6, 7]].reset_index(drop=True)),
                      _tx(label_known_at=lambda d: d["label_known_at"].astype("datetime64[s]"))],
               "key": [np.str_("user_id")]},
    ),
    "leakage_scan": Case(
        call=_scan_call,
        bad={"X_train": [None, _XTR.to_numpy(), _XTR.iloc[:0], pd.concat([_XTR, _XTR[["amount"]]], axis=1),
                         _xtr(amount=lambda d: d["amount"].astype(complex)), _xtr(city=[[1]] * 40),
                         _XTR.drop(columns="feature_time"), _xtr(feature_time=lambda d: d["feature_time"].astype(str))],
                "y_train": [None, _YTR[:-1], np.r_[_YTR[:-1], 2], np.r_[_YTR[:-1].astype(float), np.nan], np.zeros(40),
                            np.where(_YTR == 1, "yes", "no"), np.r_[np.zeros(38), 1, 1], _YTR.reshape(-1, 1), "abc"],
                "X_test": [_XTE.to_numpy(), _XTE[_XTE.columns[::-1]], _XTE.drop(columns="city"),
                           _XTE.assign(extra=1), pd.concat([_XTE, _XTE[["amount"]]], axis=1),
                           _XTE.assign(feature_time=_XTE["feature_time"].astype(str)), _XTE.assign(city=[["a"]] * 12)],
                "time": ["nope", ["feature_time", "nope"], ["feature_time", "feature_time"], "amount", "predicted_at", []],
                "label_time": ["nope", None, "feature_time", "amount", ["predicted_at"]],
                "auc_threshold": [0.5, 0.4, 1.01, np.nan, "0.9", True, None],
                "error_ratio": [1.0, 0.5, np.nan, "2", True],
                "max_duplicate_share": [1.0, -0.1, np.nan, "0", None],
                "cv": [1, 0, 2.5, "3", None, True, 10**12, 21],
                "random_state": [-1, 1.5, "0", 2**40]},
        valid={"X_train": [_XTR.set_index(pd.Index(np.arange(40) * 3 + 7)), _xtr(city=lambda d: d["city"].astype("category")),
                           _xtr(amount=lambda d: d["amount"].astype(np.float32)), _xtr(amount=lambda d: d["amount"].where(d.index > 3)),
                           _xtr(amount=lambda d: pd.to_timedelta(d["amount"], unit="s")),
                           _xtr(foreign=lambda d: d["foreign"].astype("boolean")),
                           _xtr(city=lambda d: d["city"].where(d.index % 3 > 0, 7).astype(object))],  # mixed categories
               "y_train": [pd.Series(_YTR, index=np.arange(40) + 100), _YTR.astype(bool), list(_YTR), _YTR.astype(np.float32)],
               "X_test": [None, _XTE.iloc[:0], _XTE.set_index(pd.Index(np.arange(12) + 500))],
               "time": [["feature_time"], np.str_("feature_time"), ("feature_time",)],
               "auc_threshold": [1.0, np.float32(0.9)], "error_ratio": [None, 1.5, np.float32(3)], "max_duplicate_share": [0.0, np.float64(0.5)],
               "cv": [np.int64(2), 20], "random_state": [None, np.random.default_rng(1), np.int64(1)]},
    ),
}

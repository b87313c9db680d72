"""Cases of mlsys_course.importance: feature coverage and distribution shift between train and test."""

import numpy as np
import pandas as pd

from api_cases import Case

_RNG = np.random.default_rng(0)
_TRAIN = pd.DataFrame({"amount": _RNG.normal(0, 1, 60), "merchant_id": _RNG.integers(0, 8, 60),
                       "device": _RNG.choice(["mobile", "desktop"], 60),
                       "when": pd.date_range("2024-01-01", periods=60, freq="h")})
_TEST = pd.DataFrame({"amount": _RNG.normal(0.5, 1, 40), "merchant_id": _RNG.integers(4, 12, 40),
                      "device": _RNG.choice(["mobile", "desktop", "tablet"], 40),
                      "when": pd.date_range("2024-02-01", periods=40, freq="h")})
_TEST.loc[::5, "amount"] = np.nan


def _test(**changes):
    df = _TEST.copy()
    for column, value in changes.items():
        df[column] = value
    return df


def _train(**changes):
    df = _TRAIN.copy()
    for column, value in changes.items():
        df[column] = value
    return df


_BAD_FRAMES = [None, _TRAIN.to_numpy(), pd.concat([_TRAIN, _TRAIN[["amount"]]], axis=1), pd.DataFrame()]
_BAD_TEST = _BAD_FRAMES + [_TEST.drop(columns="device"), _test(amount=["x"] * 40), _test(amount=np.inf),
                           _test(device=[[1]] * 40), _test(when=np.arange(40.0)), _test(amount=_TEST["when"]),
                           _test(when=_TEST["when"].dt.tz_localize("UTC")), _test(amount=_TEST["amount"] + 1j),
                           _test(when=_TEST["when"] - _TEST["when"].min())]
_BAD_TRAIN = _BAD_FRAMES + [_train(amount=np.nan), _train(device=[{"a": 1}] * 60)]
_VALID_PAIRS = [_test(amount=_TEST["amount"].astype(np.float32)), _TEST.set_index(_TEST.index + 1_000),
                _test(extra=1), _test(device=pd.Categorical(_TEST["device"])), _test(merchant_id=_TEST["merchant_id"].astype("Int64"))]

CASES = {
    "feature_coverage": Case(
        call=lambda: {"train": _TRAIN.copy(), "test": _TEST.copy(), "categorical": ["merchant_id"]},
        bad={"train": [None, _TRAIN.to_numpy(), pd.concat([_TRAIN, _TRAIN[["amount"]]], axis=1), pd.DataFrame(),
                       _train(device=[{"a": 1}] * 60)],
             "test": [None, _TEST.to_numpy(), pd.concat([_TEST, _TEST[["amount"]]], axis=1), _TEST.drop(columns="device"),
                      _test(device=[[1]] * 40)],
             "categorical": ["nope", ["nope"], [["amount"]], ["amount", "amount"], {"amount": 1}, 3, _TRAIN[["amount"]]]},
        valid={"train": [_TRAIN.set_index(_TRAIN.index + 7), _train(amount=np.nan)],
               "test": _VALID_PAIRS,
               "categorical": [None, "merchant_id", np.array(["merchant_id"]), ("merchant_id", "amount"), [],
                               np.str_("merchant_id")]},
    ),
    "distribution_shift": Case(
        call=lambda: {"train": _TRAIN.copy(), "test": _TEST.copy(), "categorical": ["merchant_id"], "bins": 5},
        bad={"train": _BAD_TRAIN,
             "test": _BAD_TEST + [_TEST.iloc[:0], _test(device=None)],
             "categorical": ["nope", ["nope"], [["amount"]], {"amount": 1}, _TRAIN[["amount"]]],
             "bins": [1, 0, 10**12, 2.5, None, "10", True]},
        valid={"train": [_TRAIN.set_index(_TRAIN.index + 7), _train(amount=_TRAIN["amount"].astype(np.float32)),
                         _train(when=_TRAIN["when"].astype("datetime64[s]")), _train(device=pd.Categorical(_TRAIN["device"]))],
               "test": _VALID_PAIRS,
               "categorical": [None, "merchant_id", np.array(["merchant_id"]), np.str_("merchant_id")],
               "bins": [np.int64(3), 2, 10_000]},
    ),
    "psi": Case(
        call=lambda: {"expected": _RNG.normal(0, 1, 50), "actual": _RNG.normal(0.3, 1, 50), "bins": 5},
        bad={"expected": ["abc", 5, None, [], [np.nan], np.zeros((3, 2)), ["a", "b"], [np.inf, 1.0], [[1, 2], [3]],
                          {"a": 1}, pd.Series(pd.date_range("2024-01-01", periods=50)), np.arange(50) + 1j],
             "actual": ["abc", None, [], [np.nan, np.nan], [1.0, np.inf], ["a"], pd.to_timedelta([1, 2], "D")],
             "bins": [1, 0, 10**12, 2.5, None, "10", True],
             "categorical": ["yes", 1, None],
             "eps": [0, -1e-4, 0.5, np.nan, "0.001", None]},
        valid={"expected": [np.arange(50), range(50), pd.Series(np.arange(50.0), index=np.arange(50) + 100),
                            np.arange(50, dtype=np.float32), [1.0, np.nan, 2.0]],
               "actual": [pd.Series(np.ones(5), index=[9, 8, 7, 6, 5]), np.float32([0.1, 0.2])],
               "bins": [np.int64(4), 2, 10_000], "categorical": [np.bool_(False)], "eps": [np.float32(0.01), 0.1]},
    ),
}

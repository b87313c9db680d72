"""Cases of mlsys_course.features: the case study's feature matrix, missing values, hashing, crossing, Fourier."""

import numpy as np
import pandas as pd
import scipy.sparse as sp

from api_cases import Case
from mlsys_course.datasets import make_transactions
from mlsys_course.features import HashingEncoder

_TX = make_transactions(40, random_state=0)


def _tx(**changes):
    """A copy of the small transactions frame with some columns replaced (a value or a function of the frame)."""
    df = _TX.copy()
    for column, value in changes.items():
        df[column] = value(df) if callable(value) else value
    return df


def _with_first(column, value):
    """The frame with the first row's ``column`` set to ``value`` (as an object column if needed)."""
    df = _TX.copy()
    values = df[column].astype(object).to_numpy().copy()
    values[0] = value
    df[column] = values if isinstance(value, str) else pd.Series(values, index=df.index).infer_objects()
    return df


_RNG = np.random.default_rng(0)
_FRAME = pd.DataFrame({"income": _RNG.normal(50.0, 10.0, 30), "age": _RNG.integers(18, 80, 30),
                       "city": _RNG.choice(["a", "b", "c"], 30), "member": _RNG.random(30) < 0.5})
_DUP = pd.concat([_FRAME, _FRAME[["income"]]], axis=1)


def _frame(**changes):
    df = _FRAME.copy()
    for column, value in changes.items():
        df[column] = value
    return df


def _hash(X, n_features=16, signed=True):
    """Build the encoder from its parameters, fit it and transform (a bad parameter or X surfaces here)."""
    return HashingEncoder(n_features, signed=signed).fit(X).transform(X)


_CAT = pd.DataFrame({"merchant": ["m1", "m2", "m1", None], "device": ["mobile", "desktop", "mobile", "tablet"]})
_CROSS = pd.DataFrame({"night": [True, False, True, False], "foreign": [True, True, False, False],
                       "city": ["a", "b", "a", "c"], "amount": [1.0, 2.0, 3.0, 4.0], "lists": [[1], [2], [1], [3]]})

CASES = {
    "transaction_features": Case(
        call=lambda: {"df": _TX.copy()},
        bad={"df": [
            _TX.to_numpy(), _TX.drop(columns="amount"), pd.concat([_TX, _TX[["amount"]]], axis=1),
            _tx(amount=lambda d: -d["amount"]), _tx(account_age_days=lambda d: d["account_age_days"] - 10_000),
            _tx(user_age=-3.0), _with_first("amount", np.nan), _with_first("amount", np.inf),
            _with_first("account_age_days", np.inf), _with_first("user_age", np.inf),
            _with_first("merchant_category", "casino"), _with_first("device", "watch"),
            _tx(is_foreign=lambda d: np.where(d["is_foreign"], "yes", "no")), _tx(is_foreign=2),
            _with_first("is_foreign", np.nan), _tx(timestamp=lambda d: d["timestamp"].astype(str)),
            _tx(amount=lambda d: d["amount"].astype(str)), _with_first("timestamp", pd.NaT),
            _with_first("merchant_category", None),
        ]},
        valid={"df": [
            _TX.iloc[:0].copy(), _TX.set_index(_TX.index + 1_000), _tx(amount=lambda d: d["amount"].astype(np.float32)),
            _tx(is_foreign=lambda d: d["is_foreign"].astype(int)), _tx(user_age=lambda d: d["user_age"].astype("Float64")),
            _tx(merchant_category=lambda d: d["merchant_category"].astype(str), device=lambda d: d["device"].astype(object)),
            _tx(account_age_days=lambda d: d["account_age_days"].astype("Int64")), _tx(user_age=np.nan, device=None),
            _tx(amount=0.0, account_age_days=0, user_age=0.0),
        ]},
    ),
    "make_missing": Case(
        call=lambda: {"df": _FRAME.copy(), "column": "income", "mechanism": "MAR", "depends_on": "age", "rate": 0.3,
                      "random_state": 0},
        bad={"df": [_FRAME.to_numpy(), _DUP, _FRAME.iloc[:0]],
             "column": ["nope", None, ["income"], "city", 3],
             "mechanism": ["mcar", "XYZ", None, 1],
             "rate": [0.0, 1.0, -0.1, 1.5, np.nan, "0.2", True, None],
             "depends_on": ["nope", "income", "city", None, ["age"]],
             "strength": [np.nan, np.inf, 100.0, "3", None],
             "random_state": [-1, 1.5, "0", 2**40]},
        valid={"df": [_FRAME.set_index(_FRAME.index + 500), _frame(income=_FRAME["income"].astype(np.float32)),
                      _frame(age=_FRAME["age"].astype("Int64"))],
               "column": [np.str_("income"), "member"], "depends_on": [np.str_("age"), "member"],
               "rate": [np.float32(0.25), np.float64(0.5)], "strength": [np.int64(-2), 0.0, np.float32(1.5)],
               "random_state": [np.random.default_rng(1), None, np.int64(3)]},
    ),
    "HashingEncoder": Case(
        call=lambda: {"X": _CAT.copy(), "n_features": 16, "signed": True},
        fn=_hash,
        bad={"X": [None, "m1", ["m1", "m2"], np.zeros((2, 2, 2)), pd.DataFrame(), _CAT.iloc[:0], _CAT.iloc[:, :0],
                   sp.csr_matrix(np.eye(3)), np.ones((3, 2), dtype=complex),
                   pd.concat([_CAT, _CAT[["merchant"]]], axis=1), pd.DataFrame({"x": [[1], [2]]}),
                   pd.DataFrame({0: ["a", "b"], "name": ["c", "d"]}), [["a", "b"], ["c"]]],
             "n_features": [0, -1, 2**31, 2.5, "16", None, True, np.nan],
             "signed": ["yes", 1, None, np.nan]},
        valid={"X": [_CAT.to_numpy(), np.array([[1, 2], [3, 4]]), _CAT.set_index(pd.Index([7, 5, 3, 1])),
                     _CAT.astype("category"), pd.DataFrame({0: ["a", "b"], 1: [1.5, np.nan]}),
                     pd.DataFrame({"d": pd.to_datetime(["2024-01-01", None]), "n": pd.array([1, None], dtype="Int64")}),
                     [["a", 1], ["b", 2]], np.array([[1.0, 2.0]])],
               "n_features": [np.int64(8), np.int32(1), 2**31 - 1], "signed": [np.bool_(False), False]},
    ),
    "collision_rate": Case(
        call=lambda: {"values": np.arange(100), "n_buckets": 256},
        bad={"values": ["abc", 5, None, np.zeros((3, 2)), [[1, 2], [3, 4]], [{"a": 1}, {"b": 2}], pd.DataFrame({"a": [1]})],
             "n_buckets": [0, -1, 2**31, 2.5, None, "8", True, np.nan],
             "column": [["a"], {"a": 1}, np.array(["a"])]},
        valid={"values": [range(10), pd.Series(["a", "b", "a"], index=[9, 8, 7]), pd.Categorical(["x", "y"]),
                          pd.Index([1, 2, 3]), [1, "a", None, 2.5], [], np.array([np.nan, 1.0])],
               "n_buckets": [np.int64(16), 1, 2**31 - 1], "column": ["merchant", np.str_("merchant"), 3, None]},
        # column: any hashable label is a valid column name ("nonsense", -1, 2.5 and NaN included)
    ),
    "cross_features": Case(
        call=lambda: {"df": _CROSS.copy(), "a": "night", "b": "city"},
        bad={"df": [_CROSS.to_numpy(), pd.concat([_CROSS, _CROSS[["city"]]], axis=1), None],
             "a": ["nope", None, ["night"], "city", "amount", "lists"],
             "b": ["nope", "amount", ["city"]],
             "sep": [3, None, b"_x_"]},
        valid={"df": [_CROSS.iloc[:0], _CROSS.set_index(pd.Index([4, 3, 2, 1])),
                      _CROSS.astype({"night": "category", "city": "category"}),
                      _CROSS.assign(city=["a", None, "a", "c"]), _CROSS.assign(city=["a", 1, "a", 2.5]),
                      _CROSS.assign(city=[pd.Timestamp("2024-01-01"), 1, None, 1])],
               "a": [np.str_("night"), "foreign"], "sep": ["", " & "]},
    ),
    "fourier_features": Case(
        call=lambda: {"t": [0.0, 6.0, 12.0, 23.5], "period": 24, "n_harmonics": 2, "prefix": "hour"},
        bad={"t": ["abc", 5, None, np.zeros((2, 2)), [np.nan, 1.0], [np.inf], ["a", "b"], [True, False],
                   pd.to_datetime(["2024-01-01"]), {"a": 1}],
             "period": [0, -1, np.nan, np.inf, "24", None, True],
             "n_harmonics": [0, 1_001, 10**12, 2.5, None, True],
             "prefix": [3, None, b"t"]},
        valid={"t": [range(24), np.arange(7, dtype=np.float32), pd.Series([1, 2, 3], index=[10, 11, 12]), [],
                     np.array([0, 86_400, 604_799]), [1e12, -5.0]],
               "period": [np.int64(7), 604_800, np.float32(24.0), 0.5], "n_harmonics": [np.int64(3), 1_000],
               "prefix": ["", "dow"]},
    ),
}

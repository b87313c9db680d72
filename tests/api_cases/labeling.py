"""Cases of mlsys_course.labeling: natural-label windows, labeling functions, the label model, active learning."""

import datetime as dt

import warnings

import numpy as np
import pandas as pd
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LinearRegression, LogisticRegression

from api_cases import Case
from mlsys_course.datasets import make_click_log, make_transactions
from mlsys_course.labeling import FRAUD_LABELING_FUNCTIONS, LabelModel, lf_foreign, lf_new_account

TX = make_transactions(80, random_state=0)
CLICKS = make_click_log(120, random_state=0)
L = [[1, -1, 0], [1, 1, -1], [-1, -1, 0], [0, 1, 1], [1, 1, 1], [-1, 0, 0]]
Y = [1, 1, 0, 0, 1, 0]


def _changed(frame, changes):
    """A copy of ``frame`` with some columns replaced (a value None drops the column; a callable gets the frame)."""
    df = frame.copy()
    for column, value in changes.items():
        if value is None:
            df = df.drop(columns=column)
        else:
            df[column] = value(df) if callable(value) else value
    return df


def _tx(**changes):
    """The small transaction log with some columns replaced."""
    return _changed(TX, changes)


def _clicks(**changes):
    """The small click log with some columns replaced."""
    return _changed(CLICKS, changes)


def _duplicated(df):
    return pd.concat([df, df.iloc[:, :1]], axis=1)


def _with_nan(column):
    return lambda df: df[column].astype(object).where(df.index != df.index[0], None)


_GENERIC_DF_BAD = [None, {"amount": [1.0]}, np.zeros((3, 3)), pd.DataFrame(), TX.iloc[:0], _duplicated(TX)]

#: Frames each labeling function must refuse: the columns it reads, missing or of the wrong kind.
_BAD_COLUMNS = {
    "is_foreign": [None, lambda df: df["is_foreign"].map({True: "True", False: "False"}), _with_nan("is_foreign"),
                   lambda df: df["is_foreign"].astype(int) * 2],
    "account_age_days": [None, _with_nan("account_age_days"), lambda df: df["account_age_days"].astype(str),
                         lambda df: -df["account_age_days"], lambda df: df["account_age_days"].where(df.index != 0, np.inf)],
    "amount": [None, _with_nan("amount"), lambda df: df["amount"].astype(str), lambda df: -df["amount"],
               lambda df: df["amount"].where(df.index != 0, np.inf)],
    "timestamp": [None, _with_nan("timestamp"), lambda df: df["timestamp"].where(df.index != 0),
                  lambda df: df["timestamp"].astype(str),
                  lambda df: df["timestamp"].dt.tz_localize("UTC")],
    "merchant_category": [None, lambda df: df["merchant_category"].cat.codes],
    "device": [None, lambda df: df["device"].cat.codes],
    "user_id": [None, _with_nan("user_id")],
}

_READS = {
    "lf_big_ticket_night": ("timestamp", "merchant_category", "amount"),
    "lf_new_account": ("account_age_days",),
    "lf_foreign": ("is_foreign",),
    "lf_card_testing_burst": ("user_id", "timestamp"),
    "lf_small_digital_mobile": ("device", "merchant_category", "amount"),
    "lf_established_customer": ("account_age_days", "is_foreign"),
}

_VALID_DF = [
    _tx().set_index(np.arange(len(TX)) + 1_000),
    _tx(merchant_category=lambda df: df["merchant_category"].astype(str),
        device=lambda df: df["device"].astype(object).where(df.index % 3 != 0, None)),
    _tx(is_foreign=lambda df: df["is_foreign"].astype(np.int8), amount=lambda df: df["amount"].astype(np.float32),
        account_age_days=lambda df: df["account_age_days"].astype(float)),
    _tx().sample(frac=1.0, random_state=0),
]


def _lf_case(name):
    bad = list(_GENERIC_DF_BAD)
    for column in _READS[name]:
        bad += [_tx(**{column: change}) for change in _BAD_COLUMNS[column]]
    return Case(call=lambda: {"df": TX.copy()}, bad={"df": bad}, valid={"df": _VALID_DF})


def _fit_label_model(L, y=None, class_prior=None, init_accuracy=0.7, max_iter=500, tol=1e-7):
    with warnings.catch_warnings():  # tol=0 is valid and, rightly, never converges: the warning says so
        warnings.simplefilter("ignore", ConvergenceWarning)
        model = LabelModel(class_prior=class_prior, init_accuracy=init_accuracy, max_iter=max_iter, tol=tol).fit(L, y)
    return model.predict_proba(L), model.predict(L), model.score(L, Y)


_POOL = np.array([[-4.0], [0.1], [2.5], [-0.3]])
_MODEL = LogisticRegression().fit(np.array([[-3.0], [-1.0], [1.0], [3.0]]), [0, 0, 1, 1])


CASES = {
    "labels_at": Case(
        call=lambda: {"events": CLICKS.copy(), "window": "5min"},
        bad={"events": [*_GENERIC_DF_BAD[:5], _duplicated(CLICKS), _clicks(timestamp=None),
                        _clicks(timestamp=lambda df: df["timestamp"].astype(str)),
                        _clicks(timestamp=lambda df: df["timestamp"].dt.tz_localize("UTC")),
                        _clicks(timestamp=_with_nan("timestamp")),
                        _clicks(clicked=lambda df: df["clicked"] * 2), _clicks(clicked=_with_nan("clicked")),
                        _clicks(click_time=lambda df: df["click_time"].where(df["clicked"] == 0)),
                        _clicks(click_time=lambda df: df["timestamp"] - pd.Timedelta("1min"))],
             "window": ["abc", -1, 5, "0min", "-5min", None, np.nan, pd.NaT, "1000000D", [5]],
             "event_time": ["nope", None, ["timestamp"], "user_id"],
             "label_time": ["nope", "user_id", 3],
             "positive": ["nope", "p_click", "timestamp", "item_id"]},
        valid={"window": [pd.Timedelta("5min"), dt.timedelta(minutes=5), np.timedelta64(5, "m"), "36500D"],
               "events": [CLICKS.set_index(np.arange(len(CLICKS)) * 3 + 7),
                          _clicks(clicked=lambda df: df["clicked"].astype(bool)),
                          _clicks(clicked=lambda df: df["clicked"].astype(float))],
               "positive": ["clicked"]},
    ),
    "label_window_report": Case(
        call=lambda: {"events": CLICKS.copy(), "windows": ["5min", "1h"]},
        bad={"events": [*_GENERIC_DF_BAD[:5], _duplicated(CLICKS), _clicks(clicked=None),
                        _clicks(clicked=lambda df: df["clicked"] * 2)],
             "windows": [[], "5min", ["5min", "abc"], [5], {"5min"}, None, ["0min"], [None], pd.Timedelta("5min")],
             "event_time": ["nope"], "label_time": ["user_id"], "positive": ["p_click"]},
        valid={"windows": [np.array(["5min", "1h"]), ("5min",), pd.Series(pd.to_timedelta(["5min", "1D"]), index=[7, 8]),
                           [np.timedelta64(5, "m"), dt.timedelta(hours=1)]]},
    ),
    "lf_big_ticket_night": _lf_case("lf_big_ticket_night"),
    "lf_new_account": _lf_case("lf_new_account"),
    "lf_foreign": _lf_case("lf_foreign"),
    "lf_card_testing_burst": _lf_case("lf_card_testing_burst"),
    "lf_small_digital_mobile": _lf_case("lf_small_digital_mobile"),
    "lf_established_customer": _lf_case("lf_established_customer"),
    "apply_labeling_functions": Case(
        call=lambda: {"df": TX.copy(), "lfs": dict(FRAUD_LABELING_FUNCTIONS)},
        bad={"df": [*_GENERIC_DF_BAD, _tx(is_foreign=None)],
             "lfs": [[], {}, "lf_foreign", lf_foreign, [lf_foreign, "x"], {"a": 3},
                     [lambda df: np.ones(3)], [lambda df: df["is_foreign"].to_numpy()],
                     [lambda df: np.full(len(df), 2)], [lambda df: np.full(len(df), np.nan)],
                     [lambda df: np.full(len(df), "1")], [lambda df: np.ones((len(df), 2))],
                     [lambda df: np.full(len(df), 0.5)]]},
        valid={"lfs": [[lf_foreign, lf_new_account], (lf_foreign,), {"new": lf_new_account},
                       [lambda df: np.full(len(df), -1.0)],
                       [lambda df: pd.Series(np.zeros(len(df), dtype=int), index=df.index + 5)]],
               "df": _VALID_DF[:1]},
    ),
    "lf_summary": Case(
        call=lambda: {"L": [list(r) for r in L], "y": list(Y), "names": ["a", "b", "c"]},
        bad={"L": [[], [1, 0, -1], [[1, 2, 0]] * 6, [[np.nan, 1, 0]] * 6, [["1", "0", "-1"]] * 6,
                   [[True, False, True]] * 6, np.zeros((6, 0)), "L"],
             "y": [[1, 0], [0, 1, 2, 0, 1, 0], [np.nan, 1, 0, 0, 1, 0], ["a"] * 6, 1],
             "names": [["a", "b"], ["a", "a", "b"], [1, 2, 3], "abc", 3, ["a", "b", None]]},
        valid={"L": [np.array(L, dtype=np.int8), np.array(L, dtype=float), pd.DataFrame(L, index=range(10, 16))],
               "y": [None, np.array(Y, dtype=bool), pd.Series(Y, index=range(60, 66))],
               "names": [None, ("x", "y", "z"), pd.Index(["p", "q", "r"])]},
    ),
    "majority_vote": Case(
        call=lambda: {"L": [list(r) for r in L], "tie_break": "random", "random_state": 0},
        bad={"L": [[], [[1, 2]], [[np.nan, 1]], [[np.inf, 1]], [1, 0], "votes", [[1.5, 0]]],
             "tie_break": ["coin", None, 0, ["random"]], "random_state": [-1, "x", 1.5]},
        valid={"tie_break": ["abstain", "negative", "positive"], "L": [np.array(L, dtype=np.int16)],
               "random_state": [np.random.default_rng(0), None]},
    ),
    "simulate_votes": Case(
        call=lambda: {"n": 100, "accuracies": [0.9, 0.6], "coverages": [0.5, 1.0], "class_prior": 0.5, "random_state": 0},
        bad={"n": [0, -1, 2.5, "100", 10**8, 10**12],
             "accuracies": [[1.5, 0.6], [np.nan, 0.6], [0.9], 0.9, [], [[0.9, 0.6]], ["a", "b"]],
             "coverages": [[-0.1, 1.0], [0.5], [np.inf, 0.5]],
             "class_prior": [0.0, 1.0, np.nan, "0.5", None],
             "random_state": [-1, "x"]},
        valid={"accuracies": [np.array([0.9, 0.6], dtype=np.float32), [1, 0]], "coverages": [[0, 1]],
               "class_prior": [np.float32(0.1)], "n": [1]},
    ),
    "LabelModel": Case(
        call=lambda: {"L": [list(r) for r in L]},
        fn=_fit_label_model,
        bad={"L": [[], [1, 0, -1], [[1, 2, 0]] * 6, [[np.nan, 1, 0]] * 6, [[-1, -1, -1]] * 6, [["a", "b", "c"]] * 6,
                   [[True, False, True]] * 6, "L"],
             "y": [[0, 1], [0, 1, 2, 0, 1, 0], [np.nan, 1, 0, 0, 1, 0], ["a"] * 6],
             "class_prior": [0.0, 1.0, -0.5, np.nan, "0.3"],
             "init_accuracy": [0.5, 1.0, 0.2, np.nan, None],
             "max_iter": [0, -1, 2.5, None],
             "tol": [-1.0, np.nan, "small"]},
        valid={"L": [np.array(L, dtype=np.int8), pd.DataFrame(L, index=range(40, 46)), np.array(L, dtype=np.float32)],
               "y": [list(Y), np.array(Y, dtype=bool), pd.Series(Y, index=range(20, 26))],
               "class_prior": [np.float64(0.3), 0.5], "max_iter": [np.int64(50)], "tol": [0.0, np.float32(1e-4)]},
    ),
    "query": Case(
        call=lambda: {"model": _MODEL, "X_pool": _POOL.copy(), "n": 2, "strategy": "uncertainty", "random_state": 0},
        bad={"model": [None, "model", LogisticRegression(), LinearRegression().fit(_POOL, [0.0, 1.0, 2.0, 3.0]),
                       LogisticRegression().fit(np.zeros((4, 2)) + np.arange(4)[:, None], [0, 0, 1, 1])],
             "X_pool": [[], [1.0, 2.0], [[np.nan]] * 4, [["a"]] * 4, np.zeros((4, 3)), np.zeros((0, 1)), "pool"],
             "n": [0, 5, -1, 2.5, None, "2"],
             "strategy": ["best", None, ["margin"], "committee"],
             "committee": [[_MODEL], [_MODEL, _MODEL], "abc", [1, 2]],
             "random_state": [-1, "x"]},
        valid={"strategy": ["margin", "entropy", "random"], "n": [4],
               "X_pool": [_POOL.astype(np.float32), pd.DataFrame(_POOL, index=[9, 8, 7, 6])],
               "random_state": [None, np.random.default_rng(3)]},
    ),
}

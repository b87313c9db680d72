"""Chapter 7a: batch and online prediction: the lab code of the chapter's notebook (experiment plumbing and exercise checks).

The recipes are in :mod:`mlsys_course.skew` (the train-serving skew report), :mod:`mlsys_course.streaming`
(windowed counts in batch and per event, and the value a batch job serves) and
:mod:`mlsys_course.features` (the stateless feature function). This module holds what only the chapter
needs: how many nightly batch predictions go unused and how stale the used ones are, the features of the
three prediction modes (batch prediction, online with batch features, online with streaming features), the
offline feature path and a replay of events through a per-request feature function, and exercise 7a.1.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from mlsys_course._validation import check_duration, check_frame, check_int, duration_label, show
from mlsys_course.datasets import make_transactions
from mlsys_course.exercises import exercise
from mlsys_course.features import transaction_features
from mlsys_course.skew import skew_report
from mlsys_course.streaming import WindowCounter, stale_batch_feature, window_count_batch

__all__ = [
    "LABEL_COLUMNS",
    "batch_prediction_usage",
    "card_history_features",
    "offline_features",
    "prediction_mode_features",
    "seconds_per_update",
    "serve",
]

#: Columns of the transactions frame a service never sees at request time (they arrive weeks later).
LABEL_COLUMNS = ("is_fraud", "label_known_at")

_HOUR_NS = 3_600 * 10**9


def _check_world(transactions: Any, users: Any) -> tuple[pd.DataFrame, pd.DataFrame]:
    transactions = check_frame("transactions", transactions, columns=["transaction_id", "timestamp", "user_id"])
    users = check_frame("users", users, columns=["user_id", "signed_up_at"])
    unknown = ~transactions["user_id"].isin(users["user_id"])
    if unknown.any():
        raise ValueError(f"users must hold every user of transactions; {int(unknown.sum())} payments have an unknown user_id")
    return transactions, users


def batch_prediction_usage(
    transactions: pd.DataFrame, users: pd.DataFrame, *, refreshes: Sequence[str] = ("1h", "6h", "1D", "7D")
) -> pd.DataFrame:
    """How many batch predictions go unused, and how stale the used ones are, for each refresh interval.

    A batch job runs every ``refresh``, from the first payment's midnight on, and precomputes a prediction
    for every user signed up before it runs. A payment in ``[job, job + refresh)`` uses its user's
    prediction from that job; a user with no payment in the period never uses it; a user who signed up
    after the job has none (the request needs a fallback). Online prediction computes one prediction per
    payment, at the payment (the last row).

    Returns
    -------
    pandas.DataFrame
        Indexed by ``refresh`` (then ``"online"``): ``jobs``, ``predictions`` computed, ``used``
        (user-periods with a payment), ``share_unused``, ``predictions_per_payment``,
        ``share_no_prediction`` (payments of users who signed up after the job), and the staleness of
        the predictions payments used, in hours: ``staleness_mean_h`` and ``staleness_p90_h``.
    """
    transactions, users = _check_world(transactions, users)
    t = transactions["timestamp"].to_numpy("datetime64[ns]").view(np.int64)
    user = pd.factorize(transactions["user_id"])[0]
    signup_of = users.set_index("user_id")["signed_up_at"]
    signup = signup_of.reindex(transactions["user_id"]).to_numpy("datetime64[ns]").view(np.int64)
    all_signups = np.sort(signup_of.to_numpy("datetime64[ns]").view(np.int64))
    origin = t.min() // (24 * _HOUR_NS) * (24 * _HOUR_NS)
    rows = []
    for refresh in refreshes:
        step = check_duration("refreshes", refresh).value
        job = origin + (t - origin) // step * step
        jobs = np.arange(origin, job.max() + 1, step)
        computed = np.searchsorted(all_signups, jobs, side="left")  # users signed up before each job
        covered = signup < job
        period = (job[covered] - origin) // step  # user-periods with a payment, as one int64 key each
        used = len(np.unique(period * (int(user.max()) + 1) + user[covered]))
        hours = (t - job)[covered] / _HOUR_NS
        rows.append({"refresh": duration_label(pd.Timedelta(step)), "jobs": len(jobs), "predictions": int(computed.sum()),
                     "used": used, "share_unused": 1 - used / computed.sum(), "predictions_per_payment": computed.sum() / len(t),
                     "share_no_prediction": float(1 - covered.mean()),
                     "staleness_mean_h": float(hours.mean()), "staleness_p90_h": float(np.quantile(hours, 0.9))})
    rows.append({"refresh": "online", "jobs": 0, "predictions": len(t), "used": len(t), "share_unused": 0.0,
                 "predictions_per_payment": 1.0, "share_no_prediction": 0.0, "staleness_mean_h": 0.0, "staleness_p90_h": 0.0})
    return pd.DataFrame(rows).set_index("refresh")


def prediction_mode_features(transactions: pd.DataFrame, users: pd.DataFrame) -> pd.DataFrame:
    """Features for the three prediction modes of the book, one row per payment.

    The columns of :func:`mlsys_course.features.transaction_features` (the payment's own features, known
    only at request time), and:

    - ``log_account_age_at_midnight``: ``log1p`` of the whole days between sign-up and the payment day's
      midnight, NaN for a user who signed up since (last night's job knew nothing of them);
    - ``payments_24h_at_midnight``: the card's payments in the 24 hours before midnight (last night's job);
    - ``payments_1h_at_midnight``: the card's payments in the hour before midnight, plus this payment: what
      last night's job serves for "payments in the last hour" (:func:`mlsys_course.streaming.stale_batch_feature`);
    - ``payments_1h``: the card's payments in the last hour, this one included, computed at request time
      (:func:`mlsys_course.streaming.window_count_batch`, what a stream processor serves).
    """
    transactions, users = _check_world(transactions, users)
    X = transaction_features(transactions)
    midnight = transactions["timestamp"].dt.floor("D").to_numpy("datetime64[ns]")
    signup = users.set_index("user_id")["signed_up_at"].reindex(transactions["user_id"]).to_numpy("datetime64[ns]")
    days = (midnight - signup) / np.timedelta64(1, "D")
    with np.errstate(invalid="ignore"):
        X["log_account_age_at_midnight"] = np.where(days >= 0, np.log1p(np.floor(np.maximum(days, 0))), np.nan)
    X["payments_24h_at_midnight"] = stale_batch_feature(transactions, refresh="1D", window="1D", include_current=False).to_numpy()
    X["payments_1h_at_midnight"] = stale_batch_feature(transactions, refresh="1D", window="1h").to_numpy()
    X["payments_1h"] = window_count_batch(transactions, window="1h").to_numpy()
    return X


def offline_features(transactions: pd.DataFrame) -> pd.DataFrame:
    """The training path of the fraud model: vectorised over a whole frame of payments.

    ``transaction_id``, the columns of :func:`mlsys_course.features.transaction_features`, and
    ``payments_1h``: the card's payments in ``(t - 1 hour, t]``, this one included
    (:func:`mlsys_course.streaming.window_count_batch`). Rows must be in arrival (time) order.
    """
    transactions = check_frame("transactions", transactions, columns=["transaction_id", "timestamp", "user_id"])
    X = transaction_features(transactions)
    X.insert(0, "transaction_id", transactions["transaction_id"].to_numpy())
    X["payments_1h"] = window_count_batch(transactions, window="1h").to_numpy()
    return X.reset_index(drop=True)


def serve(events: pd.DataFrame, features: Callable[[dict, dict], Mapping]) -> pd.DataFrame:
    """Replay events one at a time, in arrival order, through a per-request feature function, as a service would.

    ``features(event, state)`` receives each event as a dict (column -> Python value; a categorical
    as its string, a missing value as NaN) and ``state``, a dict the service keeps between requests
    (empty at the start). It returns the event's features as a mapping. The label columns
    ``LABEL_COLUMNS`` are dropped first: a service does not know them.

    Returns
    -------
    pandas.DataFrame
        The service's feature log: ``transaction_id`` then the returned features, one row per event.
    """
    events = check_frame("events", events, columns=["transaction_id"])
    if not callable(features):
        raise TypeError(f"features must be a function features(event, state) -> dict; got {show(features)}")
    records = events.drop(columns=[c for c in LABEL_COLUMNS if c in events.columns]).to_dict("records")
    state: dict = {}
    log = []
    for event in records:
        log.append({"transaction_id": event["transaction_id"], **features(event, state)})
    return pd.DataFrame(log)


def seconds_per_update(events: pd.DataFrame, *, window: str = "1h", repeats: int = 3) -> float:
    """Seconds one :meth:`mlsys_course.streaming.WindowCounter.update` takes (a fresh feature at request time):
    ``events`` replayed ``repeats`` times through a fresh counter, the best replay's mean per event."""
    events = check_frame("events", events, columns=["user_id", "timestamp"])
    repeats = check_int("repeats", repeats, minimum=1)
    keys, stamps = events["user_id"].tolist(), list(events["timestamp"])
    best = float("inf")
    for _ in range(repeats):
        counter = WindowCounter(window)
        start = time.perf_counter()
        for key, stamp in zip(keys, stamps):
            counter.update(key, stamp)
        best = min(best, (time.perf_counter() - start) / len(keys))
    return best


# --- Exercise 7a.1: the online version of an offline feature ------------------------------------------
def card_history_features(transactions: pd.DataFrame) -> pd.DataFrame:
    """The offline (batch) definition of two card-history features: what exercise 7a.1 asks to compute online.

    - ``seconds_since_previous``: seconds since the card's (``user_id``'s) previous payment; NaN for its
      first payment;
    - ``payments_previous_10min``: the card's earlier payments in ``(t - 10 min, t]``, this payment
      excluded: a payment exactly 10 minutes old has left the window, and an earlier payment in the same
      second counts.

    Rows must be in arrival (time) order; returns ``transaction_id`` and the two features.
    """
    transactions = check_frame("transactions", transactions, columns=["transaction_id", "timestamp", "user_id"])
    previous = transactions.groupby("user_id", sort=False)["timestamp"].diff().dt.total_seconds()
    count = window_count_batch(transactions, key="user_id", window="10min") - 1
    return pd.DataFrame({"transaction_id": transactions["transaction_id"].to_numpy(),
                         "seconds_since_previous": previous.to_numpy(np.float64),
                         "payments_previous_10min": count.to_numpy()})


def _card_case(seed: int) -> pd.DataFrame:
    """A fresh, busy world (two days, few cards) plus one planted card whose payments sit on the edges:
    its first payment, two in the same second, one exactly 10 minutes after them, one a second later,
    and one three hours later."""
    world = make_transactions(3_000, start="2024-05-01", end="2024-05-03", n_users=80, random_state=seed)
    world = world.drop(columns=list(LABEL_COLUMNS))
    t0 = pd.Timestamp("2024-05-01 12:00:00")
    offsets = ["0s", "0s", "10min", "10min 1s", "3h 10min 1s"]
    edge = world.iloc[[0] * len(offsets)].copy()
    edge["timestamp"] = [t0 + pd.Timedelta(o) for o in offsets]
    edge["user_id"] = int(world["user_id"].max()) + 1
    case = pd.concat([world, edge]).sort_values("timestamp", kind="stable").reset_index(drop=True)
    case["transaction_id"] = np.arange(len(case), dtype=np.int64)
    return case


_HINTS = {
    "payments_previous_10min": "is this payment counted? does a payment exactly 10 minutes old still count? "
                               "do two payments in the same second see each other in arrival order?",
    "seconds_since_previous": "is the previous payment this card's own, and is a card's first payment NaN?",
}


@exercise("7a.1")
def _card_features_online(answer: Any, *, seeds: Sequence[int] = (7001, 7002)) -> tuple[bool, str]:
    if isinstance(answer, type) or not callable(answer):
        return False, f"the answer must be a function card_features(event, state) -> dict; got {type(answer).__name__}."
    total = 0
    for seed in seeds:  # fresh worlds the notebook never showed, with a planted edge-case card
        case = _card_case(seed)
        state: dict = {}
        log = []
        for event in case.to_dict("records"):
            try:
                out = answer(dict(event), state)
            except Exception as error:  # a learner's function may fail in any way: report it as a verdict
                return False, f"your function raised {type(error).__name__}: {error} on payment {event['transaction_id']}."
            if not isinstance(out, Mapping):
                return False, f"your function must return a dict of features; it returned {type(out).__name__}."
            log.append({"transaction_id": event["transaction_id"], **out})
        try:
            online = pd.DataFrame(log)
            report = skew_report(card_history_features(case), online, key="transaction_id", atol=1e-9)
        except (TypeError, ValueError) as error:
            return False, f"your features could not be compared: {error}."
        if report.offline_only_columns:
            return False, f"your dict lacks {list(report.offline_only_columns)}; return both features for every payment."
        bad = report.features[report.features["mismatches"] > 0]
        if len(bad):
            name, row = next(iter(bad.iterrows()))
            return False, (f"{name} differs from the offline definition on {row['mismatches']} of {row['rows']} payments of a "
                           f"fresh world; e.g. payment {row['example_key']}: offline {row['offline_value']}, yours "
                           f"{row['online_value']}. {_HINTS.get(name, '')}".rstrip())
        total += report.n_rows
    return True, (f"zero mismatches on {total:,} payments of {len(seeds)} fresh worlds (first payments, same-second "
                  f"payments, a payment exactly 10 minutes after another): your online features equal the offline ones.")

"""Chapter 7a: batch and online prediction: the lab code of the chapter's notebook (experiment plumbing and exercise checks).

The recipes are in :mod:`mlsys_course.skew` (the train-serving skew report), :mod:`mlsys_course.streaming`
(windowed counts in batch and per event, and the value a batch job serves) and
:mod:`mlsys_course.features` (the stateless feature function). This module holds what only the chapter
needs: how many nightly batch predictions go unused and how stale the used ones are, the features of the
three prediction modes (batch prediction, online with batch features, online with streaming features), the
offline feature path and a replay of events through a per-request feature function, and exercise 7a.1;
for batch scoring that grows (:mod:`mlsys_course.batch_prediction`), the case study written as day partitions,
the read-everything arm, peak memory of a scoring run measured in a fresh process, the per-user daily feature
job (one pandas function, run on the whole frame or per partition), and exercise 7a.2.
"""

from __future__ import annotations

import multiprocessing
import os
import tempfile
import time
import tracemalloc
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from typing import Any

import dask
import dask.dataframe as dd
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from mlsys_course._validation import check_choice, check_duration, check_frame, check_int, duration_label, show
from mlsys_course.batch_prediction import predict_parquet
from mlsys_course.datasets import make_transactions
from mlsys_course.exercises import exercise
from mlsys_course.features import transaction_features
from mlsys_course.skew import skew_report
from mlsys_course.streaming import WindowCounter, stale_batch_feature, window_count_batch

__all__ = [
    "BATCH_HOWS",
    "LABEL_COLUMNS",
    "RAW_COLUMNS",
    "batch_prediction_usage",
    "card_history_features",
    "daily_user_features",
    "offline_features",
    "predict_all_at_once",
    "prediction_mode_features",
    "scoring_memory",
    "seconds_per_update",
    "serve",
    "user_totals",
    "write_day_partitions",
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


# --- Batch scoring that grows: chunks on one machine, or Dask (decision 3) and exercise 7a.2 ----------
#: The raw columns the case-study model reads (its pipeline computes ``transaction_features`` from them).
RAW_COLUMNS = ["timestamp", "amount", "merchant_category", "device", "is_foreign", "user_age", "account_age_days"]

#: The two arms of the memory experiment: the chunked recipe, or read everything then score.
BATCH_HOWS = ("chunks", "all at once")

_MIB = 2**20


def write_day_partitions(transactions: pd.DataFrame, root: str | os.PathLike, *, rows_per_group: int = 4_096) -> list[str]:
    """Write transactions as a hive-partitioned Parquet dataset, one directory per day (``day=2024-01-01``).

    The labels (``is_fraud``, ``label_known_at``) are left out: a scoring job runs before they exist. Row
    groups hold at most ``rows_per_group`` rows. Returns the day directories, in order.
    """
    transactions = check_frame("transactions", transactions, columns=["timestamp", "transaction_id"])
    rows_per_group = check_int("rows_per_group", rows_per_group, minimum=1)
    frame = transactions.drop(columns=list(LABEL_COLUMNS), errors="ignore")
    frame = frame.assign(day=frame["timestamp"].dt.strftime("%Y-%m-%d"))
    pq.write_to_dataset(pa.Table.from_pandas(frame, preserve_index=False), os.fspath(root), partition_cols=["day"],
                        basename_template="part-{i}.parquet", row_group_size=rows_per_group,
                        existing_data_behavior="error")
    return [os.path.join(os.fspath(root), f"day={day}") for day in sorted(frame["day"].unique())]


def predict_all_at_once(model: Any, source: str | os.PathLike, destination: str | os.PathLike, *,
                        keep: Sequence[str] = ("transaction_id",)) -> dict[str, int]:
    """The other arm: read the whole dataset into one frame, score it, write it (what fails as data grows)."""
    frame = pq.read_table(os.fspath(source), columns=[*keep, *model.feature_names_in_]).to_pandas()
    scored = frame[list(keep)].assign(prediction=model.predict_proba(frame[list(model.feature_names_in_)])[:, 1])
    scored.to_parquet(os.fspath(destination), index=False)
    return {"rows": len(frame)}


def _measure(model: Any, sources: list[str], hows: list[str], batch_rows: int) -> list[dict]:
    """In a fresh process: score each source with each arm in turn and record Arrow's and numpy's peak memory."""
    pool = pa.default_memory_pool()
    tracemalloc.start()
    rows = []
    try:
        with tempfile.TemporaryDirectory() as tmp:
            for how in hows:
                for k, source in enumerate(sources):
                    tracemalloc.reset_peak()
                    destination = os.path.join(tmp, f"scored-{len(rows)}.parquet")
                    if how == "chunks":
                        n = predict_parquet(model, source, destination, keep=["transaction_id"], batch_rows=batch_rows)["rows"]
                    else:
                        n = predict_all_at_once(model, source, destination)["rows"]
                    rows.append({"how": how, "rows": n, "arrow_mib": pool.max_memory() / _MIB,
                                 "numpy_mib": tracemalloc.get_traced_memory()[1] / _MIB})
    finally:
        tracemalloc.stop()
    return rows


def scoring_memory(model: Any, sources: Sequence[str | os.PathLike], *, hows: Sequence[str] = BATCH_HOWS,
                   batch_rows: int = 4_096) -> pd.DataFrame:
    """Peak memory of scoring each source with each arm, measured in one fresh process.

    A fresh process (multiprocessing ``spawn``) runs the arms in the order given, each on the sources in the
    order given (list them by growing need: the light arm first, the smallest source first). After each run
    it records Arrow's high-water mark so far (``arrow_mib``: it can only rise, so a run that needs no more
    than an earlier one shows the earlier mark, and a flat column means no run needed more than the first),
    and the peak of numpy and Python allocations during that run (``numpy_mib``, from ``tracemalloc``, reset
    before each run). ``peak_mib`` is their sum. A fresh process is needed because a process's Arrow
    high-water mark cannot be reset.
    """
    sources = [os.fspath(s) for s in sources]
    if not sources:
        raise ValueError("sources must name at least one Parquet dataset; got []")
    hows = [check_choice("hows", h, BATCH_HOWS) for h in hows]
    batch_rows = check_int("batch_rows", batch_rows, minimum=1)
    with ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn")) as process:
        table = pd.DataFrame(process.submit(_measure, model, sources, hows, batch_rows).result())
    return table.assign(peak_mib=table["arrow_mib"] + table["numpy_mib"])


def daily_user_features(transactions: pd.DataFrame) -> pd.DataFrame:
    """Per user and day: payments, total and largest amount, share at night and share from abroad.

    A plain pandas function, written once: run it on the whole frame, or per partition of a dataset
    partitioned by day (no user-day straddles two partitions, so the per-partition results are the answer).
    Night and abroad come from the row-wise :func:`mlsys_course.features.transaction_features`.
    """
    features = transaction_features(transactions)
    per_row = pd.DataFrame({"user_id": transactions["user_id"], "day": transactions["timestamp"].dt.floor("D"),
                            "amount": transactions["amount"], "night": features["is_night"],
                            "foreign": features["is_foreign"]})
    daily = per_row.groupby(["user_id", "day"], sort=True).agg(
        payments=("amount", "size"), total_amount=("amount", "sum"), max_amount=("amount", "max"),
        night_share=("night", "mean"), foreign_share=("foreign", "mean"))
    return daily.reset_index()


def user_totals(transactions: pd.DataFrame) -> pd.DataFrame:
    """Per user over the whole period: payments, mean and median amount, share from abroad (exercise 7a.2's target)."""
    totals = transactions.groupby("user_id", sort=True).agg(
        payments=("amount", "size"), mean_amount=("amount", "mean"), median_amount=("amount", "median"),
        foreign_share=("is_foreign", "mean"))
    return totals.reset_index()


# --- exercise 7a.2 --------------------------------------------------------------------------------------------
def _user_case(seed: int, n_days: int, tmp: str) -> tuple[pd.DataFrame, str]:
    world = make_transactions(4_000, start="2024-03-01", end=f"2024-03-{1 + n_days:02d}", n_users=150, random_state=seed)
    write_day_partitions(world, os.path.join(tmp, "days"))
    return world, os.path.join(tmp, "days")


def _as_table(result: Any) -> pd.DataFrame:
    frame = result.reset_index() if "user_id" not in result.columns and result.index.name == "user_id" else result
    return frame.sort_values("user_id").reset_index(drop=True)


@exercise("7a.2")
def _user_totals_job(answer: Any, *, seeds: Sequence[int] = (7201, 7202)) -> tuple[bool, str]:
    if not callable(answer):
        return False, f"the answer must be a function job(days) -> dask DataFrame; got {type(answer).__name__}."
    expected_columns = ["user_id", "payments", "mean_amount", "median_amount", "foreign_share"]
    for seed, n_days in zip(seeds, (6, 9)):  # fresh worlds, split into another number of day partitions each time
        with tempfile.TemporaryDirectory() as tmp:
            world, root = _user_case(seed, n_days, tmp)
            reference = user_totals(world)
            days = dd.read_parquet(root)
            try:
                result = answer(days)
            except Exception as error:  # a learner's function may fail in any way: report it as a verdict
                return False, f"your job raised {type(error).__name__}: {error}"
            if not isinstance(result, dd.DataFrame):
                return False, (f"your job returned a {type(result).__name__}, not a lazy dask DataFrame: a job that "
                               "computes inside pulls every row into one process.")
            try:
                with dask.config.set(scheduler="sync"):
                    got = result.compute()
            except Exception as error:
                return False, f"computing your job raised {type(error).__name__}: {error}"
        if not isinstance(got, pd.DataFrame):
            return False, f"your job must give a DataFrame with columns {expected_columns}; got {type(got).__name__}."
        got = _as_table(got)
        missing = [c for c in expected_columns if c not in got.columns]
        if missing:
            return False, f"your result lacks the column(s) {missing}; expected {expected_columns}."
        repeated = got["user_id"].duplicated()
        if repeated.any():
            user = int(got.loc[repeated, "user_id"].iloc[0])
            n = int((got["user_id"] == user).sum())
            return False, (f"user {user} has {n} rows in your result: each partition was aggregated on its own, but "
                           f"a user's payments span partitions (days). Bring each user's rows together first.")
        if len(got) != len(reference) or not np.array_equal(got["user_id"].to_numpy(), reference["user_id"].to_numpy()):
            return False, f"your result has {len(got)} users; the {n_days}-day fresh case has {len(reference)}."
        for column in expected_columns[1:]:
            if not np.allclose(got[column].to_numpy(float), reference[column].to_numpy(float), rtol=1e-9, atol=1e-12):
                return False, f"{column} differs from pandas on the whole frame (seed {seed}, {n_days} day partitions)."
    return True, (f"your job equals pandas on the whole frame on {len(seeds)} fresh worlds (6 and 9 day partitions), "
                  "and stays lazy until computed.")

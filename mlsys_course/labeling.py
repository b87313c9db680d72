"""Labels: how long natural labels take to arrive, and what to do when hand labels are scarce.

- **Natural labels and feedback loop length**: :func:`labels_at` gives the label a row gets if you
  wait ``window`` after the event (a click that arrives later, a chargeback that comes weeks later,
  counts as a negative); :func:`label_window_report` measures, on your own event log, what each window
  costs in missed positives.
- **Weak supervision**: labeling functions (``lf_*``, :data:`FRAUD_LABELING_FUNCTIONS` for the
  fraud world) vote fraud (1), legitimate (0) or abstain (-1); :func:`apply_labeling_functions`
  builds the vote matrix ``L``, :func:`lf_summary` describes it (coverage, overlaps, conflicts,
  empirical accuracy), and :func:`majority_vote` or a :class:`LabelModel` (Dawid-Skene EM, a
  scikit-learn classifier fitted on ``L`` without labels) turn it into labels. :func:`simulate_votes`
  plants labeling functions of known accuracy and coverage, to check a label model before trusting it.
- **Semi-supervision**: use scikit-learn's ``sklearn.semi_supervised.SelfTrainingClassifier`` directly
  (hand labels as given, -1 for the unlabelled rows).
- **Active learning**: :func:`query` picks the pool rows to label next (uncertainty, margin, entropy,
  query-by-committee or random).

The chapter's experiment drivers (the active learning loop, the label-budget comparison of its arms)
are in :mod:`mlsys_course.lab.ch04a`.

Book: Chapter 4, "Labeling": "Natural Labels" (feedback loop length) and "Handling the Lack of
Labels" (weak supervision, semi-supervision, active learning).
"""

from __future__ import annotations

import numbers
import warnings
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
from scipy import sparse
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.exceptions import ConvergenceWarning, NotFittedError
from sklearn.utils.validation import check_is_fitted

from ._validation import (
    duration_label,
    RandomState,
    check_array,
    check_binary_labels,
    check_choice,
    check_column,
    check_duration,
    check_frame,
    check_int,
    check_probability,
    check_random_state,
    check_real,
    check_same_length,
    show,
)
from .streaming import Duration, window_count_batch

__all__ = [
    "ABSTAIN",
    "MAX_VOTES",
    "FRAUD",
    "FRAUD_LABELING_FUNCTIONS",
    "LEGIT",
    "LabelModel",
    "STRATEGIES",
    "apply_labeling_functions",
    "label_window_report",
    "labels_at",
    "lf_big_ticket_night",
    "lf_card_testing_burst",
    "lf_established_customer",
    "lf_foreign",
    "lf_new_account",
    "lf_small_digital_mobile",
    "lf_summary",
    "majority_vote",
    "query",
    "simulate_votes",
]

ABSTAIN, LEGIT, FRAUD = -1, 0, 1
VOTES = (ABSTAIN, LEGIT, FRAUD)  # the values a labeling function may return, in the order of LabelModel.vote_probs_
STRATEGIES = ("uncertainty", "margin", "entropy", "committee", "random")
#: Most votes (rows x labeling functions) :func:`simulate_votes` makes: its work arrays stay near 500 MB.
MAX_VOTES = 20_000_000
TIE_BREAKS = ("abstain", "random", "negative", "positive")


def _datetimes(events: pd.DataFrame, name: str, column: str, *, allow_nat: bool) -> np.ndarray:
    """The times in ``events[column]``; the messages name both the frame and the argument ``name`` that chose it."""
    col = events[column]
    where = f"events[{column!r}] (the {name} column)"
    if isinstance(col.dtype, pd.DatetimeTZDtype):
        raise ValueError(f"{where} must be timezone-naive; got {col.dtype}")
    if not pd.api.types.is_datetime64_dtype(col.dtype):
        raise TypeError(f"{where} must have a datetime64 dtype; got {col.dtype}")
    if not allow_nat and col.isna().any():
        raise ValueError(f"{where} must have no missing times; got {int(col.isna().sum())} NaT")
    return col.to_numpy("datetime64[ns]")


def _is_sequence(value: Any) -> bool:
    """A list-like of values (list, tuple, range, numpy array, Series, ...), not a string or a mapping."""
    return isinstance(value, Iterable) and not isinstance(value, (str, bytes, Mapping))


# --- Natural labels and feedback loop length --------------------------------------------------------
def _delays(events: Any, event_time: str, label_time: str, positive: str) -> tuple[np.ndarray, np.ndarray]:
    """Whether each row is truly positive, and (for positives) how long its label took, in ns (uint64)."""
    events = check_frame("events", events)
    for name, column in (("event_time", event_time), ("label_time", label_time), ("positive", positive)):
        check_column(name, events, column, frame="events")
    t = _datetimes(events, "event_time", event_time, allow_nat=False)
    arrived = _datetimes(events, "label_time", label_time, allow_nat=True)
    col = events[positive]
    where = f"events[{positive!r}] (the positive column)"
    if col.isna().any():
        raise ValueError(f"{where} must have no missing values; got {int(col.isna().sum())}")
    values = col.to_numpy(bool) if pd.api.types.is_bool_dtype(col.dtype) else col.to_numpy()
    if pd.api.types.is_numeric_dtype(col.dtype) and not pd.api.types.is_bool_dtype(col.dtype):
        values = col.to_numpy(dtype=float)
    y = check_binary_labels(where, values).astype(bool)
    if np.isnat(arrived[y]).any():
        raise ValueError(
            f"events[{label_time!r}] (the label_time column) must be set for every positive row; "
            f"got {int(np.isnat(arrived[y]).sum())} NaT"
        )
    early = y & (arrived < t)
    if early.any():
        raise ValueError(
            f"events[{label_time!r}] (the label_time column) must not be before events[{event_time!r}] (the event_time "
            f"column); got {int(early.sum())} such positive row(s)"
        )
    # As unsigned nanoseconds: a delay longer than int64 holds (292 years) is still exact, and longer than any window.
    delay = arrived.view(np.int64).astype(np.uint64) - t.view(np.int64).astype(np.uint64)
    return y, np.where(y, delay, np.uint64(0))


def labels_at(
    events: pd.DataFrame,
    *,
    window: Duration,
    event_time: str = "timestamp",
    label_time: str = "click_time",
    positive: str = "clicked",
) -> pd.Series:
    """The label each event gets if you wait ``window`` after it: positive only if the positive outcome arrived in time.

    A natural label arrives with a delay (a click minutes after the impression, a chargeback weeks
    after the payment). A pipeline that labels a row ``window`` after its event calls it positive
    when the outcome arrived within ``window`` (``delay <= window``), and negative otherwise: a
    positive that arrives later is mislabelled negative. The defaults fit
    :func:`mlsys_course.datasets.make_click_log`; for :func:`~mlsys_course.datasets.make_transactions`
    pass ``label_time="label_known_at", positive="is_fraud"`` (the chargeback date).

    Parameters
    ----------
    events : pandas.DataFrame
        One row per event.
    window : str, pandas.Timedelta or datetime.timedelta
        How long to wait after each event before labelling it (positive), e.g. ``"5min"``, ``"30D"``.
    event_time : str, default "timestamp"
        Column of event times (datetime64, no NaT).
    label_time : str, default "click_time"
        Column of the times the positive outcome arrived (datetime64; set on every positive row; may
        be NaT or anything on negative rows, which are never positive).
    positive : str, default "clicked"
        Column of the true (eventual) labels, 0/1 or boolean.

    Returns
    -------
    pandas.Series
        int64 0/1 labels aligned with ``events.index``, named ``"label"``.

    Book: Chapter 4, "Labeling: Natural Labels" (feedback loop length).

    Example
    -------
    >>> events = pd.DataFrame({
    ...     "timestamp": pd.to_datetime(["2024-01-01 10:00"] * 3),
    ...     "click_time": pd.to_datetime(["2024-01-01 10:02", "2024-01-01 10:20", None]),
    ...     "clicked": [1, 1, 0],
    ... })
    >>> labels_at(events, window="5min").tolist()
    [1, 0, 0]
    """
    window = check_duration("window", window)
    y, delay = _delays(events, event_time, label_time, positive)
    return pd.Series((y & (delay <= np.uint64(window.value))).astype(np.int64), index=events.index, name="label")


def label_window_report(
    events: pd.DataFrame,
    windows: Sequence[Duration],
    *,
    event_time: str = "timestamp",
    label_time: str = "click_time",
    positive: str = "clicked",
) -> pd.DataFrame:
    """What each labelling window costs: the share of positives it catches and how many it mislabels negative.

    For each ``window``, rows are labelled as in :func:`labels_at`: waiting longer catches more of
    the late positives, but every row's label (and so every retraining on it) waits ``window``.

    Parameters
    ----------
    events : pandas.DataFrame
        One row per event, as in :func:`labels_at`.
    windows : list-like of str, pandas.Timedelta or datetime.timedelta
        The waits to compare (positive durations, at least one): a list, a tuple, an array, ...
    event_time, label_time, positive : str
        Column names, as in :func:`labels_at` (defaults fit the click log).

    Returns
    -------
    pandas.DataFrame
        One row per window, in the order given, with columns ``window`` (how long each row waits for
        its label, as a string such as ``"5min"``, ``"1h"`` or ``"30D"``: ``pandas.to_timedelta``
        turns the column back into durations, e.g. to plot), ``recall`` (share of the true positives
        labelled positive; NaN when there are none), ``missed`` (positives mislabelled negative),
        ``wrong_share`` (share of all rows with a wrong label) and ``positives`` (true positives in
        ``events``).

    Book: Chapter 4, "Labeling: Natural Labels" (feedback loop length).

    Example
    -------
    >>> events = pd.DataFrame({
    ...     "timestamp": pd.to_datetime(["2024-01-01 10:00"] * 4),
    ...     "click_time": pd.to_datetime(["2024-01-01 10:02", "2024-01-01 10:20", None, None]),
    ...     "clicked": [1, 1, 0, 0],
    ... })
    >>> label_window_report(events, ["5min", "1h"])
      window  recall  missed  wrong_share  positives
    0   5min     0.5       1         0.25          2
    1     1h     1.0       0         0.00          2
    """
    if not _is_sequence(windows) or isinstance(windows, (set, frozenset)):
        raise TypeError(f"windows must be a non-empty list of durations such as ['5min', '1h']; got {show(windows)}")
    spans = [check_duration(f"windows[{i}]", w) for i, w in enumerate(windows)]
    if not spans:
        raise ValueError("windows must hold at least one duration such as '5min'; got none")
    y, delay = _delays(events, event_time, label_time, positive)
    positives = int(y.sum())
    rows = []
    for span in spans:
        caught = int((y & (delay <= np.uint64(span.value))).sum())
        rows.append({
            "window": duration_label(span),
            "recall": caught / positives if positives else np.nan,
            "missed": positives - caught,
            "wrong_share": (positives - caught) / len(y) if len(y) else np.nan,
            "positives": positives,
        })
    return pd.DataFrame(rows, columns=["window", "recall", "missed", "wrong_share", "positives"])


# --- Weak supervision: labeling functions for the fraud world ---------------------------------------
def _column(df: Any, column: str, kind: str, reader: str) -> np.ndarray:
    """A column a labeling function reads, checked, as a numpy array of the kind the rule compares.

    A column of the wrong kind would make a rule vote silently wrong (the string "False" is truthy, so
    a flag of strings voted FRAUD on every row), so it is refused, naming the column; so is a missing
    flag, number, time or key. A missing *text* value (the world's ``device`` is missing at random) is
    unknown, and a rule that needs it does not fire: it abstains. The numbers the rules read (an amount,
    an account age) are finite and >= 0: a negative age would otherwise vote "new account".
    """
    check_frame("df", df)
    if column not in df.columns:
        raise ValueError(f"df must have a column {column!r} ({reader} reads it); df has {show(list(df.columns))}")
    col = df[column]
    missing = int(col.isna().sum())
    if missing and kind != "text":
        raise ValueError(f"df[{column!r}] must have no missing values ({reader} reads it); got {missing} missing")
    dtype = col.dtype
    if kind == "key":  # an identifier: any values, none missing
        return col.to_numpy()
    if kind == "flag":
        if pd.api.types.is_bool_dtype(dtype):
            return col.to_numpy(bool)
        if pd.api.types.is_integer_dtype(dtype) and col.isin([0, 1]).all():
            return col.to_numpy(dtype=np.int64) == 1
        raise TypeError(
            f"df[{column!r}] must hold True/False (or 0/1) for {reader}; got dtype {dtype} with values such as "
            f"{show(col.unique()[:3].tolist())}"
        )
    if kind == "number":
        if not pd.api.types.is_numeric_dtype(dtype) or pd.api.types.is_bool_dtype(dtype):
            raise TypeError(f"df[{column!r}] must be numeric for {reader}; got dtype {dtype}")
        values = col.to_numpy(dtype=float)
        bad = ~np.isfinite(values) | (values < 0)
        if bad.any():
            raise ValueError(
                f"df[{column!r}] must hold finite numbers >= 0 for {reader}; got {int(bad.sum())} other value(s) "
                f"such as {values[bad][0]}"
            )
        return values
    if kind == "time":
        if pd.api.types.is_datetime64_dtype(dtype) and not isinstance(dtype, pd.DatetimeTZDtype):
            return col.to_numpy("datetime64[ns]")
        raise TypeError(f"df[{column!r}] must have a timezone-naive datetime64 dtype for {reader}; got {dtype}")
    values = col.cat.categories if isinstance(dtype, pd.CategoricalDtype) else col  # kind == "text"
    if pd.api.types.infer_dtype(values, skipna=True) not in ("string", "empty"):
        raise TypeError(f"df[{column!r}] must hold strings (or a categorical of strings) for {reader}; got dtype {dtype}")
    return col.to_numpy(dtype=object)


def _fires(condition: np.ndarray, vote: int) -> np.ndarray:
    return np.where(condition, vote, ABSTAIN).astype(np.int64)


def lf_big_ticket_night(df: pd.DataFrame) -> np.ndarray:
    """Fraud if an electronics or travel purchase over $150 is made between 00:00 and 05:59; else abstain.

    The analyst's rule for early fraud: resellable, expensive goods bought while the cardholder sleeps.

    Parameters
    ----------
    df : pandas.DataFrame
        Transactions as made by :func:`mlsys_course.datasets.make_transactions`.

    Returns
    -------
    numpy.ndarray
        One vote per row: ``FRAUD`` (1) or ``ABSTAIN`` (-1).

    Book: Chapter 4, "Handling the Lack of Labels: Weak supervision" (labeling functions encode
    heuristics).

    Example
    -------
    >>> df = pd.DataFrame({"merchant_category": ["travel", "travel", "grocery"], "amount": [900.0, 900.0, 900.0],
    ...                    "timestamp": pd.to_datetime(["2024-01-01 03:00", "2024-01-01 13:00", "2024-01-01 03:00"])})
    >>> lf_big_ticket_night(df).tolist()
    [1, -1, -1]
    """
    reader = "lf_big_ticket_night"
    night = pd.DatetimeIndex(_column(df, "timestamp", "time", reader)).hour < 6
    resellable = np.isin(_column(df, "merchant_category", "text", reader), ["electronics", "travel"])
    return _fires(resellable & (_column(df, "amount", "number", reader) > 150) & night, FRAUD)


def lf_new_account(df: pd.DataFrame) -> np.ndarray:
    """Fraud if the account is less than 30 days old; else abstain.

    Parameters
    ----------
    df : pandas.DataFrame
        Transactions with an ``account_age_days`` column (finite numbers >= 0).

    Returns
    -------
    numpy.ndarray
        One vote per row: ``FRAUD`` (1) or ``ABSTAIN`` (-1).

    Book: Chapter 4, "Handling the Lack of Labels: Weak supervision".

    Example
    -------
    >>> lf_new_account(pd.DataFrame({"account_age_days": [3, 400]})).tolist()
    [1, -1]
    """
    return _fires(_column(df, "account_age_days", "number", "lf_new_account") < 30, FRAUD)


def lf_foreign(df: pd.DataFrame) -> np.ndarray:
    """Fraud if the payment comes from another country than the cardholder's home; else abstain.

    Parameters
    ----------
    df : pandas.DataFrame
        Transactions with a boolean (or 0/1) ``is_foreign`` column.

    Returns
    -------
    numpy.ndarray
        One vote per row: ``FRAUD`` (1) or ``ABSTAIN`` (-1).

    Book: Chapter 4, "Handling the Lack of Labels: Weak supervision".

    Example
    -------
    >>> lf_foreign(pd.DataFrame({"is_foreign": [True, False]})).tolist()
    [1, -1]
    """
    return _fires(_column(df, "is_foreign", "flag", "lf_foreign"), FRAUD)


def lf_card_testing_burst(df: pd.DataFrame) -> np.ndarray:
    """Fraud if the same card (``user_id``) paid at least once more in the previous 10 minutes; else abstain.

    Card testing: a fraudster with a working card uses it several times within minutes. The count is
    :func:`mlsys_course.streaming.window_count_batch` over ``(t - 10 min, t]``, which looks only at
    earlier payments, so the rule could run at prediction time. Rows need not be sorted (they are
    sorted by time, stably, for the count, and the votes returned in the original order). Apply it
    to the whole log and then select rows: on a sample, a card's earlier payments may be missing.

    Parameters
    ----------
    df : pandas.DataFrame
        Transactions with ``user_id`` and ``timestamp`` columns.

    Returns
    -------
    numpy.ndarray
        One vote per row: ``FRAUD`` (1) or ``ABSTAIN`` (-1).

    Book: Chapter 4, "Handling the Lack of Labels: Weak supervision"; Chapter 3 (a window feature).

    Example
    -------
    >>> df = pd.DataFrame({"user_id": [7, 7, 8, 7],
    ...                    "timestamp": pd.to_datetime(["10:00", "10:03", "10:04", "10:30"], format="%H:%M")})
    >>> lf_card_testing_burst(df).tolist()
    [-1, 1, -1, -1]
    """
    _column(df, "user_id", "key", "lf_card_testing_burst")
    order = np.argsort(_column(df, "timestamp", "time", "lf_card_testing_burst"), kind="stable")
    counts = window_count_batch(df.iloc[order], key="user_id", time="timestamp", window="10min").to_numpy()
    votes = np.empty(len(df), dtype=np.int64)
    votes[order] = _fires(counts >= 2, FRAUD)
    return votes


def lf_small_digital_mobile(df: pd.DataFrame) -> np.ndarray:
    """Fraud if digital goods or gaming under $10 are bought on mobile; else abstain.

    The analyst's rule for late fraud: small card-testing charges on instantly delivered goods.

    Parameters
    ----------
    df : pandas.DataFrame
        Transactions with ``merchant_category``, ``amount`` (finite, >= 0) and ``device`` columns (a missing device: the
        rule abstains).

    Returns
    -------
    numpy.ndarray
        One vote per row: ``FRAUD`` (1) or ``ABSTAIN`` (-1).

    Book: Chapter 4, "Handling the Lack of Labels: Weak supervision".

    Example
    -------
    >>> df = pd.DataFrame({"merchant_category": ["gaming", "gaming"], "amount": [4.0, 4.0],
    ...                    "device": ["mobile", "desktop"]})
    >>> lf_small_digital_mobile(df).tolist()
    [1, -1]
    """
    reader = "lf_small_digital_mobile"
    mobile = _column(df, "device", "text", reader) == "mobile"
    digital = np.isin(_column(df, "merchant_category", "text", reader), ["digital_goods", "gaming"])
    return _fires(digital & (_column(df, "amount", "number", reader) < 10) & mobile, FRAUD)


def lf_established_customer(df: pd.DataFrame) -> np.ndarray:
    """Legitimate if the account is over a year old and the payment is domestic; else abstain.

    A plausible rule that breaks the label model's assumption: it fires exactly when
    :func:`lf_new_account` and :func:`lf_foreign` cannot, so the functions are strongly dependent
    whatever the class, and the label model explains that dependence with its latent class instead
    of fraud. It is therefore not in :data:`FRAUD_LABELING_FUNCTIONS`: add it to see the failure.

    Parameters
    ----------
    df : pandas.DataFrame
        Transactions with ``account_age_days`` (finite, >= 0) and ``is_foreign`` columns.

    Returns
    -------
    numpy.ndarray
        One vote per row: ``LEGIT`` (0) or ``ABSTAIN`` (-1).

    Book: Chapter 4, "Handling the Lack of Labels: Weak supervision" (labeling functions can be correlated).

    Example
    -------
    >>> df = pd.DataFrame({"account_age_days": [900, 900, 3], "is_foreign": [False, True, False]})
    >>> lf_established_customer(df).tolist()
    [0, -1, -1]
    """
    reader = "lf_established_customer"
    old = _column(df, "account_age_days", "number", reader) > 365
    return _fires(old & ~_column(df, "is_foreign", "flag", reader), LEGIT)


#: The fraud world's labeling functions, by name: five fraud heuristics, each voting FRAUD or abstaining.
FRAUD_LABELING_FUNCTIONS: dict[str, Callable[[pd.DataFrame], np.ndarray]] = {
    f.__name__.removeprefix("lf_"): f
    for f in (lf_big_ticket_night, lf_new_account, lf_foreign, lf_card_testing_burst, lf_small_digital_mobile)
}


def _check_lfs(lfs: Any) -> tuple[list[str], list[Callable]]:
    if isinstance(lfs, Mapping):
        names, funcs = [str(k) for k in lfs], list(lfs.values())
    elif _is_sequence(lfs):
        funcs = list(lfs)
        names = [getattr(f, "__name__", f"lf_{j}") for j, f in enumerate(funcs)]
    else:
        raise TypeError(f"lfs must be a dict of name -> function or a list of functions; got {show(lfs)}")
    if not funcs:
        raise ValueError("lfs must hold at least one labeling function; got none")
    for name, f in zip(names, funcs):
        if not callable(f):
            raise TypeError(f"lfs[{name!r}] must be a function of the data frame; got {show(f)}")
    return names, funcs


def apply_labeling_functions(df: pd.DataFrame, lfs: Mapping[str, Callable] | Sequence[Callable]) -> np.ndarray:
    """The vote matrix ``L``: each labeling function applied to every row.

    A labeling function here is vectorized: it takes the whole frame and returns one vote per row,
    ``1`` (positive), ``0`` (negative) or ``-1`` (abstain), which is much faster than Snorkel's
    row-at-a-time functions and equivalent. A boolean mask is refused rather than read as votes 1 and
    0 (its False rows would vote "negative" instead of abstaining).

    Parameters
    ----------
    df : pandas.DataFrame
        The unlabelled rows (at least one).
    lfs : dict of str to callable, or sequence of callables
        The labeling functions, ``f(df) -> array of shape (len(df),)``; column ``j`` of ``L`` holds
        the votes of the ``j``-th.

    Returns
    -------
    numpy.ndarray
        int64 array of shape ``(len(df), len(lfs))`` with values in {-1, 0, 1}.

    Book: Chapter 4, "Handling the Lack of Labels: Weak supervision" (Ratner et al. 2017, Snorkel).

    Example
    -------
    >>> df = pd.DataFrame({"account_age_days": [3, 400, 10], "is_foreign": [False, True, True]})
    >>> apply_labeling_functions(df, [lf_new_account, lf_foreign])
    array([[ 1, -1],
           [-1,  1],
           [ 1,  1]])
    """
    df = check_frame("df", df)
    names, funcs = _check_lfs(lfs)
    L = np.empty((len(df), len(funcs)), dtype=np.int64)
    for j, (name, f) in enumerate(zip(names, funcs)):
        where = f"lfs[{name!r}]" if isinstance(lfs, Mapping) else f"lfs[{j}] (labeling function {name!r})"
        try:
            votes = np.asarray(f(df))
        except Exception as error:  # the function's own error, kept as it is, with the function named
            error.add_note(f"(raised by {where} in apply_labeling_functions)")
            raise
        if votes.shape != (len(df),):
            raise ValueError(f"{where} must return one vote per row of df, shape ({len(df)},); got shape {votes.shape}")
        if votes.dtype == bool or not (np.issubdtype(votes.dtype, np.number) or votes.dtype == object):
            raise TypeError(
                f"{where} must return the numbers -1 (abstain), 0 and 1; got dtype {votes.dtype} "
                "(for a boolean condition, return np.where(condition, FRAUD, ABSTAIN))"
            )
        if votes.dtype == object and not all(
            v is None or v is pd.NA
            or isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, (bool, np.bool_))
            for v in votes.tolist()
        ):
            raise TypeError(
                f"{where} must return the numbers -1 (abstain), 0 and 1; got values such as {show(votes[:3].tolist())}"
            )
        bad = ~np.isin(votes, VOTES) | pd.isna(votes)
        if bad.any():
            got = show(list(dict.fromkeys(map(str, votes[bad].tolist())))[:5])
            raise ValueError(f"{where} must return only -1, 0 and 1; got {got}")
        L[:, j] = votes
    return L


def _check_L(name: str, value: Any, n_columns: int | None = None) -> np.ndarray:
    """A 2-d vote matrix with at least one row and column and values in {-1, 0, 1}, as int64.

    The phrases scikit-learn's estimator checks look for (sparse, complex, 0 sample(s) / feature(s))
    are kept in the messages.
    """
    if sparse.issparse(value):
        raise TypeError(
            f"{name} must be a dense array of votes -1, 0, 1; got a sparse {type(value).__name__} "
            "(sparse input is not supported: call .toarray())"
        )
    if value is None or isinstance(value, (str, bytes)) or np.isscalar(value):
        raise TypeError(f"{name} must be a 2-d array of votes -1, 0, 1; got {show(value)}")
    arr = np.asarray(value)
    if arr.ndim != 2:
        raise ValueError(f"{name} must be a 2-d array (n_rows, n_labeling_functions); got shape {arr.shape}")
    if arr.shape[0] == 0:
        raise ValueError(
            f"{name} must have at least one row; got 0 sample(s) (shape={arr.shape}) while a minimum of 1 is required."
        )
    if arr.shape[1] == 0:
        raise ValueError(
            f"{name} must have at least one labeling function (column); got 0 feature(s) (shape={arr.shape}) "
            "while a minimum of 1 is required."
        )
    if np.iscomplexobj(arr):
        raise ValueError(f"{name} must hold the votes -1, 0 and 1; got complex numbers (Complex data not supported)")
    if arr.dtype == object:  # e.g. a frame of nullable integers: numbers only, no booleans
        cells = arr.ravel().tolist()
        if not all(isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, bool) for v in cells):
            kinds = sorted({type(v).__name__ for v in cells} - {"int", "float"})
            raise TypeError(f"{name} must hold the numbers -1 (abstain), 0 and 1; got values of type {', '.join(kinds)}")
        arr = arr.astype(float)
    if arr.dtype == bool or not np.issubdtype(arr.dtype, np.number):
        raise TypeError(f"{name} must hold the numbers -1 (abstain), 0 and 1; got dtype {arr.dtype}")
    finite = np.isfinite(arr)
    if not finite.all():
        raise ValueError(f"{name} must hold only -1 (abstain), 0 and 1; got {int((~finite).sum())} NaN or inf value(s)")
    bad = ~np.isin(arr, VOTES)
    if bad.any():
        raise ValueError(f"{name} must hold only -1 (abstain), 0 and 1; got {show(np.unique(arr[bad])[:5].tolist())}")
    if n_columns is not None and arr.shape[1] != n_columns:
        raise ValueError(f"{name} must have {n_columns} columns (one per labeling function seen in fit); got {arr.shape[1]}")
    return arr.astype(np.int64)


def lf_summary(L: Any, y: Any = None, *, names: Sequence[str] | None = None) -> pd.DataFrame:
    """Describe each labeling function: what it votes, how often, and how often it agrees with the others (and the truth).

    As Snorkel's ``LFAnalysis.lf_summary``: *coverage* is the share of rows where the function
    votes; *overlaps* the share where it votes and at least one other function votes too;
    *conflicts* the share where it votes and another function votes the other class. With true
    labels ``y`` (a small hand-labelled development set), also the number of correct and incorrect
    votes and the empirical accuracy ``correct / (correct + incorrect)`` (NaN for a function that
    never votes).

    Parameters
    ----------
    L : array-like of shape (n, m)
        Votes -1 (abstain), 0, 1, as made by :func:`apply_labeling_functions`.
    y : array-like of shape (n,), optional
        True 0/1 labels, paired with the rows of ``L`` by position (a Series and a DataFrame ``L`` must
        share their index).
    names : sequence of str, optional
        One name per column (a dict of labeling functions gives its keys); default ``lf_0 .. lf_{m-1}``.

    Returns
    -------
    pandas.DataFrame
        One row per labeling function, indexed by name, with columns ``polarity`` (the sorted list
        of labels it emits), ``coverage``, ``overlaps``, ``conflicts`` and, with ``y``, ``correct``,
        ``incorrect``, ``emp_acc``.

    Book: Chapter 4, "Handling the Lack of Labels: Weak supervision" (Ratner et al. 2017, Snorkel).

    Example
    -------
    >>> L = [[1, -1, 0], [1, 1, -1], [-1, -1, 0], [0, 1, 1]]
    >>> lf_summary(L, y=[1, 1, 0, 0], names=["a", "b", "c"])
      polarity  coverage  overlaps  conflicts  correct  incorrect  emp_acc
    a   [0, 1]      0.75      0.75       0.50        3          0  1.000000
    b      [1]      0.50      0.50       0.25        1          1  0.500000
    c   [0, 1]      0.75      0.50       0.50        1          2  0.333333
    """
    L_given, L = L, _check_L("L", L)
    n, m = L.shape
    if names is None:
        labels = [f"lf_{j}" for j in range(m)]
    else:
        if isinstance(names, (str, bytes)) or not isinstance(names, Iterable):
            raise TypeError(f"names must be a list of {m} strings, one per column of L; got {show(names)}")
        labels = list(names)
        if len(labels) != m or not all(isinstance(s, str) for s in labels) or len(set(labels)) != m:
            raise ValueError(f"names must be {m} distinct strings, one per column of L; got {show(labels)}")
    votes = L != ABSTAIN
    others_vote = (votes.sum(axis=1, keepdims=True) - votes) > 0
    has = {v: (L == v).any(axis=1, keepdims=True) for v in (LEGIT, FRAUD)}
    conflict = ((L == FRAUD) & has[LEGIT]) | ((L == LEGIT) & has[FRAUD])
    summary = pd.DataFrame({
        "polarity": [sorted(int(v) for v in np.unique(L[:, j]) if v != ABSTAIN) for j in range(m)],
        "coverage": votes.mean(axis=0),
        "overlaps": (votes & others_vote).mean(axis=0),
        "conflicts": conflict.mean(axis=0),
    }, index=labels)
    if y is not None:
        if isinstance(y, pd.Series) and isinstance(L_given, pd.DataFrame) and not y.index.equals(L_given.index):
            raise ValueError(
                "y must have the same index as L when both are pandas objects (rows are paired by position); got "
                "different indexes (use y.to_numpy() to pair them by position)"
            )
        truth = check_binary_labels("y", y)
        check_same_length(L=L, y=truth)
        correct = (votes & (L == truth[:, None])).sum(axis=0)
        incorrect = votes.sum(axis=0) - correct
        summary["correct"] = correct
        summary["incorrect"] = incorrect
        cast = votes.sum(axis=0)
        summary["emp_acc"] = np.divide(correct, cast, out=np.full(m, np.nan), where=cast > 0)
    return summary


def majority_vote(L: Any, *, tie_break: str = "abstain", random_state: RandomState = None) -> np.ndarray:
    """The label most labeling functions vote for, row by row (abstains don't count).

    Parameters
    ----------
    L : array-like of shape (n, m)
        Votes -1 (abstain), 0, 1.
    tie_break : {"abstain", "random", "negative", "positive"}, default "abstain"
        The label of a row with as many 0 as 1 votes (including a row where every function
        abstains): -1, a fair coin (seeded by ``random_state``), 0 or 1.
    random_state : int, numpy.random.Generator or None
        Seed for ``tie_break="random"``.

    Returns
    -------
    numpy.ndarray
        int64 array of shape (n,): 1, 0, or -1 for a tie with ``tie_break="abstain"``.

    Book: Chapter 4, "Handling the Lack of Labels: Weak supervision" (the baseline a label model
    must beat).

    Example
    -------
    >>> majority_vote([[1, 1, 0], [0, -1, -1], [1, 0, -1], [-1, -1, -1]]).tolist()
    [1, 0, -1, -1]
    >>> majority_vote([[1, 0, -1], [-1, -1, -1]], tie_break="negative").tolist()
    [0, 0]
    """
    L = _check_L("L", L)
    check_choice("tie_break", tie_break, TIE_BREAKS)
    rng = check_random_state("random_state", random_state)
    margin = (L == FRAUD).sum(axis=1) - (L == LEGIT).sum(axis=1)
    tie = {"abstain": np.full(len(L), ABSTAIN), "negative": np.zeros(len(L), dtype=np.int64),
           "positive": np.ones(len(L), dtype=np.int64)}.get(tie_break)
    if tie is None:  # "random": one coin per row, drawn for every row so the draw does not depend on where ties are
        tie = rng.integers(0, 2, len(L))
    return np.where(margin > 0, 1, np.where(margin < 0, 0, tie)).astype(np.int64)


def simulate_votes(
    n: int,
    accuracies: Sequence[float],
    coverages: Sequence[float],
    *,
    class_prior: float = 0.5,
    random_state: RandomState = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Plant labeling functions of known accuracy and coverage, conditionally independent given the label.

    ``y ~ Bernoulli(class_prior)``; function ``j`` votes on a row with probability ``coverages[j]``
    (independently of ``y``), and its vote is ``y`` with probability ``accuracies[j]``, ``1 - y``
    otherwise: exactly the label model's assumptions, so its estimates can be checked.

    Parameters
    ----------
    n : int
        Number of rows, >= 1; ``n * len(accuracies)`` is at most :data:`MAX_VOTES` (a few hundred MB of
        work arrays).
    accuracies : list-like of float
        ``P(vote = y | votes)`` per function, each in [0, 1].
    coverages : list-like of float
        ``P(votes)`` per function, each in [0, 1]; same length as ``accuracies``.
    class_prior : float, default 0.5
        ``P(y = 1)``, in (0, 1).
    random_state : int, numpy.random.Generator or None
        Seed or generator.

    Returns
    -------
    L : numpy.ndarray
        int64 votes of shape (n, m), -1 for abstain.
    y : numpy.ndarray
        int64 true labels of shape (n,).

    Book: Chapter 4, "Handling the Lack of Labels: Weak supervision".

    Example
    -------
    >>> L, y = simulate_votes(10_000, [0.9, 0.6], [0.5, 1.0], random_state=0)
    >>> L.shape, round(float((L[:, 0] != -1).mean()), 2), round(float((L[:, 1] == y).mean()), 2)
    ((10000, 2), 0.5, 0.6)
    """
    n = check_int("n", n, minimum=1)
    acc = check_array("accuracies", accuracies).astype(float)
    cov = check_array("coverages", coverages).astype(float)
    check_same_length(accuracies=acc, coverages=cov)
    if n * len(acc) > MAX_VOTES:
        raise ValueError(
            f"n must be <= MAX_VOTES // len(accuracies) = {MAX_VOTES // len(acc):,} (n * {len(acc)} labeling functions "
            f"is at most MAX_VOTES = {MAX_VOTES:,} votes); got {n:,}"
        )
    for name, arr in (("accuracies", acc), ("coverages", cov)):
        if ((arr < 0) | (arr > 1)).any():
            raise ValueError(f"{name} must be probabilities in [0, 1]; got {show(arr.tolist())}")
    class_prior = check_probability("class_prior", class_prior)
    rng = check_random_state("random_state", random_state)
    y = (rng.random(n) < class_prior).astype(np.int64)
    votes = rng.random((n, len(acc))) < cov
    right = rng.random((n, len(acc))) < acc
    L = np.where(votes, np.where(right, y[:, None], 1 - y[:, None]), ABSTAIN).astype(np.int64)
    return L, y


# --- The label model (Dawid & Skene 1979; the generative model of Snorkel, Ratner et al. 2017) ------
def _patterns(L: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The distinct rows of L, each row's pattern, and how many rows share each pattern.

    Rows with the same votes get the same posterior, so EM runs on the (few) distinct patterns
    weighted by their counts: 200k rows of 10 functions hold at most 3**10 patterns, usually far fewer.
    """
    m = L.shape[1]
    if m <= 39:  # each row as one base-3 number (3**39 < 2**63): a 1-d unique is much faster
        code = (L + 1) @ (3 ** np.arange(m, dtype=np.int64))
        _, first, inverse, counts = np.unique(code, return_index=True, return_inverse=True, return_counts=True)
        return L[first], inverse, counts.astype(float)
    patterns, inverse, counts = np.unique(L, axis=0, return_inverse=True, return_counts=True)
    return patterns, inverse.ravel(), counts.astype(float)


def _one_hot(patterns: np.ndarray) -> np.ndarray:
    """(u, 3m) indicators: column ``3j + k`` is 1 where function j's vote is ``VOTES[k]``."""
    u, m = patterns.shape
    return (patterns[:, :, None] == np.array(VOTES)).reshape(u, 3 * m).astype(float)


def _log_joint(X: np.ndarray, log_prior: np.ndarray, vote_probs: np.ndarray) -> np.ndarray:
    """``log P(y = c) + sum_j log P(vote_j | y = c)`` for each pattern (rows of X) and class c: shape (u, 2)."""
    m = vote_probs.shape[0]
    log_theta = np.log(np.maximum(vote_probs, 1e-300))  # (m, 2, 3)
    return log_prior + X @ log_theta.transpose(0, 2, 1).reshape(3 * m, 2)


_SMOOTHING = 0.1  # pseudo-count added to every (function, class, vote) cell in the M-step: no zero probabilities


def _check_binary_target(y: Any) -> np.ndarray:
    """0/1 labels for the label model; the message names the kind of target otherwise (binary models only)."""
    arr = np.asarray(y)
    if arr.ndim != 1:
        raise ValueError(f"y must be a 1-d array of 0/1 labels; got shape {arr.shape}")
    if arr.dtype == bool:
        return arr.astype(np.int64)
    if np.iscomplexobj(arr):
        raise ValueError("y must hold the labels 0 and 1; got complex numbers (Complex data not supported)")
    if not np.issubdtype(arr.dtype, np.number):
        raise ValueError(f"y must hold the labels 0 and 1; got dtype {arr.dtype}. Only binary classification is supported.")
    if not np.isfinite(arr).all():
        raise ValueError(f"y must hold the labels 0 and 1; got {int((~np.isfinite(arr)).sum())} NaN or inf value(s)")
    bad = ~np.isin(arr, (0, 1))
    if bad.any():
        kind = "continuous" if np.any(arr != np.round(arr)) else "multiclass"
        raise ValueError(
            f"y must hold the labels 0 and 1; got a {kind} target with values such as "
            f"{show(np.unique(arr[bad])[:5].tolist())}. Only binary classification is supported."
        )
    return arr.astype(np.int64)


class LabelModel(ClassifierMixin, BaseEstimator):
    """A label model: learns how reliable each labeling function is, without labels, and combines their votes.

    The generative model of Dawid & Skene (1979), as used by Snorkel (Ratner et al. 2017) when the
    labeling functions are conditionally independent given the true label ``y``::

        y ~ Categorical(class_prior_)                      y in {0, 1}
        P(vote_j = v | y = c) = vote_probs_[j, c, v]       v in (abstain, 0, 1), independently over j

    Abstaining is one of the outcomes, so a function that only ever votes 1 still tells the classes
    apart by *when* it fires. Fit by expectation-maximisation: the E-step computes each row's
    posterior ``P(y | votes)`` by Bayes' rule; the M-step re-estimates the class prior and every
    function's vote probabilities from the posterior-weighted counts (plus a pseudo-count of 0.1 per
    cell, so no probability is exactly 0); repeat until the mean log-likelihood per row improves by
    less than ``tol``. Rows with the same votes share a posterior, so EM runs on the distinct vote
    patterns (vectorized numpy): 200k rows of 10 functions fit in well under a second.

    EM starts from "every function votes the right class with probability ``init_accuracy`` and
    abstains as often whatever the class", which picks, of the two mirror-image solutions, the one
    in which the functions are better than chance. The model assumes conditional independence:
    functions that depend on each other whatever the class (one fires exactly when another cannot)
    make it explain that dependence with its latent class instead of ``y``. With imbalanced classes
    pass ``class_prior`` (the fraud rate is known from past chargebacks): with functions that only
    vote the rare class, the prior learned from the votes alone drifts to a different split.

    A labeling function that abstains on every row (a column of -1) is allowed and changes nothing:
    it has no vote to weigh, its ``accuracies_`` entry is NaN, and no warning is raised. ``L`` with
    no vote at all raises ``ValueError`` (there is nothing to learn).

    **How it maps onto scikit-learn's estimator API.** ``X`` is the vote matrix ``L`` (one row per data
    point, one column per labeling function, values -1 = abstain, 0, 1: what
    :func:`apply_labeling_functions` returns; any other value is refused, with -1 the only abstain
    value). ``fit(L, y=None)`` learns from the votes alone: ``y`` is ignored (it is accepted so that the
    model fits in a ``Pipeline`` or ``cross_val_score``, where ``y`` serves the scorer). ``predict(L)``
    returns labels 0/1, ``predict_proba(L)`` the posterior of each, ``score(L, y)`` the accuracy against
    true labels (a small hand-labelled development set), and ``classes_`` is always ``[0, 1]``. It is a
    classifier (``ClassifierMixin``), so scikit-learn's scorers such as ``"average_precision"`` work on
    it; it is not trained from labels, so the estimator checks that expect a classifier to learn ``y``,
    or to accept continuous features, are expected to fail (listed in ``tests/test_labeling.py``).

    Parameters
    ----------
    class_prior : float or None, default None
        ``P(y = 1)``, in (0, 1), kept fixed; None to learn it with the rest.
    init_accuracy : float, default 0.7
        Starting accuracy of every function, in (0.5, 1).
    max_iter : int, default 500
        Maximum number of EM iterations (>= 1); a ``ConvergenceWarning`` is raised if reached.
    tol : float, default 1e-7
        Stop when the mean log-likelihood per row improves by less than this (>= 0).

    Attributes
    ----------
    classes_ : numpy.ndarray
        ``[0, 1]``.
    class_prior_ : numpy.ndarray of shape (2,)
        ``[P(y = 0), P(y = 1)]``.
    vote_probs_ : numpy.ndarray of shape (m, 2, 3)
        ``P(vote_j = v | y = c)`` for v in ``VOTES`` = (-1, 0, 1), in that order.
    accuracies_ : numpy.ndarray of shape (m,)
        Each function's estimated accuracy when it votes, ``P(vote_j = y | vote_j != -1)``, the model's
        counterpart of the empirical accuracy of :func:`lf_summary`; NaN for a function that never votes.
    n_iter_ : int
        EM iterations run.
    log_likelihood_ : float
        Mean log-likelihood per row of the fitted model.
    n_features_in_ : int
        Number of labeling functions ``m``.

    Book: Chapter 4, "Handling the Lack of Labels: Weak supervision". Dawid, A. P. & Skene, A. M.
    (1979), "Maximum likelihood estimation of observer error-rates using the EM algorithm"; Ratner,
    A. et al. (2017), "Snorkel: Rapid training data creation with weak supervision".

    Example
    -------
    >>> from mlsys_course.labeling import LabelModel, majority_vote, simulate_votes
    >>> L, y = simulate_votes(20_000, [0.9, 0.9, 0.6, 0.6, 0.6], [0.5, 0.5, 0.8, 0.8, 0.8], random_state=0)
    >>> model = LabelModel().fit(L)
    >>> model.accuracies_.round(1).tolist()  # planted: 0.9, 0.9, 0.6, 0.6, 0.6
    [0.9, 0.9, 0.6, 0.6, 0.6]
    >>> mv = majority_vote(L, tie_break="random", random_state=0)
    >>> round(float(model.score(L, y)), 2), round(float((mv == y).mean()), 2)  # accuracy: label model, majority vote
    (0.84, 0.76)
    """

    def __init__(self, *, class_prior: float | None = None, init_accuracy: float = 0.7, max_iter: int = 500,
                 tol: float = 1e-7) -> None:
        self.class_prior = class_prior
        self.init_accuracy = init_accuracy
        self.max_iter = max_iter
        self.tol = tol

    def __sklearn_tags__(self):  # noqa: D105
        tags = super().__sklearn_tags__()
        tags.target_tags.required = False  # learns from the votes alone
        tags.classifier_tags.multi_class = False  # y in {0, 1}
        return tags

    def fit(self, L: Any, y: Any = None) -> LabelModel:
        """Learn the class prior and each function's vote probabilities from ``L`` alone.

        ``y`` is ignored by the fit; when given (as ``cross_val_score`` or a ``Pipeline`` does), it must be
        0/1 labels, one per row of ``L``, since those are the only labels this model predicts.
        """
        if y is not None:
            y = _check_binary_target(y)
        L = _check_L("L", L)
        if y is not None:
            check_same_length(L=L, y=y)
        fixed = None if self.class_prior is None else check_probability("class_prior", self.class_prior)
        a = check_real("init_accuracy", self.init_accuracy, low=0.5, high=1.0, low_open=True, high_open=True)
        max_iter = check_int("max_iter", self.max_iter, minimum=1)
        tol = check_real("tol", self.tol, low=0.0)
        if (L == ABSTAIN).all():
            raise ValueError(
                f"L must hold at least one vote; every labeling function abstains on every row (shape {L.shape})"
            )
        patterns, _, w = _patterns(L)
        X, m, n = _one_hot(patterns), L.shape[1], w.sum()

        coverage = (w @ (patterns != ABSTAIN)) / n
        silent = coverage == 0
        theta = np.empty((m, 2, 3))  # theta[j, c, k] = P(vote_j = VOTES[k] | y = c)
        theta[:, :, 0] = 1 - coverage[:, None]
        theta[:, 0, 1] = theta[:, 1, 2] = a * coverage  # the vote names the true class
        theta[:, 0, 2] = theta[:, 1, 1] = (1 - a) * coverage
        prior = np.array([0.5, 0.5]) if fixed is None else np.array([1 - fixed, fixed])

        previous = -np.inf
        for iteration in range(1, max_iter + 1):
            # E-step: posterior P(y = c | votes) of every pattern.
            joint = _log_joint(X, np.log(prior), theta)
            log_evidence = np.logaddexp(joint[:, 0], joint[:, 1])
            posterior = np.exp(joint - log_evidence[:, None])
            log_likelihood = float(w @ log_evidence) / n
            # M-step: expected counts of each (function, class, vote), and of each class.
            weighted = w[:, None] * posterior
            counts = (X.T @ weighted).reshape(m, 3, 2).transpose(0, 2, 1) + _SMOOTHING
            theta = counts / counts.sum(axis=2, keepdims=True)
            theta[silent] = (1.0, 0.0, 0.0)  # a function that never votes: always abstains, whatever the class
            if fixed is None:
                prior = weighted.sum(axis=0) / n
            if log_likelihood - previous < tol:
                break
            previous = log_likelihood
        else:
            warnings.warn(f"LabelModel: EM did not converge in max_iter={max_iter} iterations; increase max_iter",
                          ConvergenceWarning, stacklevel=2)
        joint = _log_joint(X, np.log(prior), theta)  # the log-likelihood of the parameters returned
        log_likelihood = float(w @ np.logaddexp(joint[:, 0], joint[:, 1])) / n

        self.classes_ = np.array([0, 1])
        self.class_prior_ = prior
        self.vote_probs_ = theta
        right = prior[0] * theta[:, 0, 1] + prior[1] * theta[:, 1, 2]
        cast = prior[0] * (1 - theta[:, 0, 0]) + prior[1] * (1 - theta[:, 1, 0])
        self.accuracies_ = np.divide(right, cast, out=np.full(m, np.nan), where=~silent)
        self.n_iter_ = iteration
        self.log_likelihood_ = log_likelihood
        self.n_features_in_ = m
        return self

    def predict_proba(self, L: Any) -> np.ndarray:
        """Posterior ``[P(y = 0 | votes), P(y = 1 | votes)]`` of every row, shape (n, 2)."""
        check_is_fitted(self, "vote_probs_")
        L = _check_L("L", L, self.n_features_in_)
        patterns, inverse, _ = _patterns(L)
        joint = _log_joint(_one_hot(patterns), np.log(self.class_prior_), self.vote_probs_)
        return np.exp(joint - np.logaddexp(joint[:, 0], joint[:, 1])[:, None])[inverse]

    def predict(self, L: Any) -> np.ndarray:
        """The more probable label of every row (0 on an exact tie); rows with no vote get the prior's class."""
        return (self.predict_proba(L)[:, 1] > 0.5).astype(np.int64)


# --- Active learning (Settles 2009) -------------------------------------------------------------------
def _entropy(p: np.ndarray) -> np.ndarray:
    """Row-wise entropy in nats, with 0 log 0 = 0."""
    logp = np.log(np.where(p > 0, p, 1.0))
    return -(p * logp).sum(axis=1)


def _informativeness(model: Any, X: np.ndarray, strategy: str, committee: Sequence[Any]) -> np.ndarray:
    """How much labelling each row is expected to teach the model: higher = ask first."""
    if strategy == "committee":
        votes = [np.asarray(member.predict(X)) for member in committee]
        shapes = {v.shape for v in votes}
        if shapes != {(len(X),)}:
            raise ValueError(
                f"committee members' predict must return one label per pool row, shape ({len(X)},); got {sorted(shapes)}"
            )
        votes = np.stack(votes)  # (C, n)
        shares = np.stack([(votes == label).mean(axis=0) for label in np.unique(votes)], axis=1)
        return _entropy(shares)  # vote entropy
    p = np.asarray(model.predict_proba(X), dtype=float)
    if p.ndim != 2 or len(p) != len(X):
        raise ValueError(f"model.predict_proba must return an array of shape (n_pool, n_classes); got shape {p.shape}")
    if not np.isfinite(p).all():
        raise ValueError(f"model.predict_proba must return finite probabilities; got {int((~np.isfinite(p)).sum())} NaN or inf")
    if strategy == "uncertainty":
        return 1.0 - p.max(axis=1)  # least confident
    if strategy == "margin":
        top2 = np.sort(p, axis=1)[:, -2:] if p.shape[1] > 1 else np.column_stack([np.zeros(len(p)), p[:, 0]])
        return -(top2[:, 1] - top2[:, 0])  # smallest margin between the two likeliest classes
    return _entropy(p)


def _check_fitted_for(name: str, model: Any, X: np.ndarray) -> None:
    """A scikit-learn model that is fitted, on as many features as ``X_pool`` has (other models are trusted)."""
    if isinstance(model, BaseEstimator):
        try:
            check_is_fitted(model)
        except NotFittedError:
            raise ValueError(
                f"{name} must be a fitted classifier; got an unfitted {type(model).__name__} (call fit first)"
            ) from None
    expected = getattr(model, "n_features_in_", None)
    if isinstance(expected, numbers.Integral) and expected != X.shape[1]:
        raise ValueError(
            f"X_pool must have as many columns as {name} was fitted on ({expected}); got {X.shape[1]}"
        )


def query(
    model: Any,
    X_pool: Any,
    n: int,
    *,
    strategy: str = "uncertainty",
    committee: Sequence[Any] | None = None,
    random_state: RandomState = None,
) -> np.ndarray:
    """Which rows of the unlabelled pool to send to the labellers next.

    Strategies (Settles 2009, section 3):

    - ``"uncertainty"``: least confident, the largest ``1 - max_c P(c | x)`` (for two classes: the
      probability closest to 0.5);
    - ``"margin"``: the smallest gap between the two most probable classes;
    - ``"entropy"``: the largest entropy of the predicted distribution;
    - ``"committee"``: query-by-committee, the largest *vote entropy* ``-sum_c (V_c / C) log(V_c / C)``
      where ``V_c`` of the ``C`` committee members predict class ``c``;
    - ``"random"``: uniformly at random, the baseline.

    Ties are broken at random (seeded), so equally informative rows are not picked by position.

    Parameters
    ----------
    model : fitted classifier
        Needs ``predict_proba`` for uncertainty, margin and entropy; unused by ``"random"``; for
        ``"committee"`` without ``committee``, its ``estimators_`` (a fitted ``BaggingClassifier`` or
        random forest) are the committee. A scikit-learn model that is not fitted, or was fitted on
        another number of columns than ``X_pool`` has, is refused before it is asked anything.
    X_pool : array-like of shape (n_pool, d)
        The unlabelled rows (numeric, finite); a DataFrame is passed to the model as it is.
    n : int
        How many to pick, 1 <= n <= n_pool.
    strategy : {"uncertainty", "margin", "entropy", "committee", "random"}, default "uncertainty"
        How to rank the pool.
    committee : list-like of fitted classifiers, optional
        The committee for ``"committee"`` (at least two members); refused with any other strategy, which
        would ignore it.
    random_state : int, numpy.random.Generator or None
        Seed for ties and for ``"random"``.

    Returns
    -------
    numpy.ndarray
        ``n`` distinct row positions in ``X_pool``, most informative first.

    Book: Chapter 4, "Handling the Lack of Labels: Active learning". Settles, B. (2009), "Active
    Learning Literature Survey", University of Wisconsin-Madison CS Technical Report 1648.

    Example
    -------
    >>> from sklearn.linear_model import LogisticRegression
    >>> X = np.array([[-3.0], [-1.0], [1.0], [3.0]])
    >>> model = LogisticRegression().fit(X, [0, 0, 1, 1])
    >>> pool = np.array([[-4.0], [0.1], [2.5], [-0.3]])
    >>> query(model, pool, 2, strategy="uncertainty").tolist()
    [1, 3]
    """
    check_choice("strategy", strategy, STRATEGIES)
    Xp = check_array("X_pool", X_pool, ndim=2).astype(float)
    n = check_int("n", n, minimum=1)
    if n > len(Xp):
        raise ValueError(f"n must be <= the number of rows of X_pool ({len(Xp)}); got {n}")
    if committee is not None and strategy != "committee":
        raise ValueError(f"committee is used only by strategy='committee'; got a committee with strategy={strategy!r}")
    rng = check_random_state("random_state", random_state)
    if strategy == "random":
        return rng.choice(len(Xp), n, replace=False)
    if strategy == "committee":
        if committee is None:
            committee = getattr(model, "estimators_", None)
            if committee is None:
                raise ValueError(
                    "committee must be given for strategy='committee' (a list of fitted classifiers), or model must "
                    f"be an ensemble with estimators_; got committee=None and {type(model).__name__}"
                )
        if not _is_sequence(committee) or len(list(committee)) < 2:
            raise ValueError(f"committee must be a list of at least two fitted classifiers; got {show(committee)}")
        committee = list(committee)
        lacking = [j for j, member in enumerate(committee) if not callable(getattr(member, "predict", None))]
        if lacking:
            raise TypeError(f"committee must hold fitted classifiers with predict; got member(s) {lacking} without")
        for j, member in enumerate(committee):
            _check_fitted_for(f"committee[{j}]", member, Xp)
    elif not hasattr(model, "predict_proba"):
        raise TypeError(
            f"model must be a fitted classifier with predict_proba for strategy={strategy!r}; got {type(model).__name__}"
        )
    else:
        _check_fitted_for("model", model, Xp)
    score = _informativeness(model, X_pool if isinstance(X_pool, pd.DataFrame) else Xp, strategy, committee)
    shuffle = rng.permutation(len(Xp))  # random order among ties
    return shuffle[np.argsort(-score[shuffle], kind="stable")[:n]]

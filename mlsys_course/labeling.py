"""Labels: how long natural labels take to arrive, and what to do when hand labels are scarce.

- **Natural labels and feedback loop length**: :func:`labels_at` gives the label a row gets if you
  wait ``window`` after the event (a click that arrives later, a chargeback that comes weeks later,
  counts as a negative); :func:`label_window_report` measures what each window costs in missed
  positives.
- **Weak supervision**: labeling functions (``lf_*``, :data:`FRAUD_LABELING_FUNCTIONS` for the
  fraud world) vote fraud (1), legitimate (0) or abstain (-1); :func:`apply_labeling_functions`
  builds the vote matrix ``L``, :func:`lf_summary` describes it (coverage, overlaps, conflicts,
  empirical accuracy), and :func:`majority_vote` or a :class:`LabelModel` (Dawid-Skene EM) turn it
  into labels. :func:`simulate_votes` plants labeling functions of known accuracy and coverage.
- **Semi-supervision**: :func:`self_training`, a thin use of scikit-learn's ``SelfTrainingClassifier``.
- **Active learning**: :func:`query` picks the pool rows to label next (uncertainty, margin, entropy,
  query-by-committee or random), :func:`active_learning_curve` plays the loop.
- **Spending a label budget**: :func:`label_budget_curves` scores random labels, active learning,
  self-training and weak supervision against the number of hand labels used.

``LabelModel`` is a scikit-learn estimator; the class is built on first access (``from
mlsys_course.labeling import LabelModel``), so that importing this module does not import
scikit-learn.

Book: Chapter 4, "Labeling": "Natural Labels" (feedback loop length) and "Handling the Lack of
Labels" (weak supervision, semi-supervision, active learning).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from ._validation import (
    check_duration,
    RandomState,
    _show,
    check_array,
    check_binary_labels,
    check_choice,
    check_int,
    check_probability,
    check_random_state,
    check_real,
    check_same_length,
)
from .streaming import Duration, _label, window_count_batch

__all__ = [
    "ABSTAIN",
    "FRAUD",
    "FRAUD_LABELING_FUNCTIONS",
    "LEGIT",
    "LabelModel",
    "STRATEGIES",
    "active_learning_curve",
    "apply_labeling_functions",
    "label_budget_curves",
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
    "self_training",
    "simulate_votes",
]

ABSTAIN, LEGIT, FRAUD = -1, 0, 1
VOTES = (ABSTAIN, LEGIT, FRAUD)  # the values a labeling function may return, in the order of LabelModel.vote_probs_
STRATEGIES = ("uncertainty", "margin", "entropy", "committee", "random")
TIE_BREAKS = ("abstain", "random", "negative", "positive")
METHODS = ("random", "active learning", "self-training", "weak supervision")


def _check_frame(name: str, value: Any, columns: Sequence[str]) -> pd.DataFrame:
    if not isinstance(value, pd.DataFrame):
        raise TypeError(f"{name} must be a pandas DataFrame; got {_show(value)} of type {type(value).__name__}")
    missing = [c for c in columns if c not in value.columns]
    if missing:
        raise ValueError(
            f"{name} must have the columns {list(columns)}; missing {missing}; it has {_show(list(value.columns))}"
        )
    return value


def _datetimes(df: pd.DataFrame, column: str, *, allow_nat: bool) -> np.ndarray:
    col = df[column]
    if isinstance(col.dtype, pd.DatetimeTZDtype):
        raise ValueError(f"df[{column!r}] must be timezone-naive; got {col.dtype}")
    if not pd.api.types.is_datetime64_dtype(col.dtype):
        raise TypeError(f"df[{column!r}] must have a datetime64 dtype; got {col.dtype}")
    if not allow_nat and col.isna().any():
        raise ValueError(f"df[{column!r}] must have no missing times; got {int(col.isna().sum())} NaT")
    return col.to_numpy("datetime64[ns]")


# --- Natural labels and feedback loop length --------------------------------------------------------
def _delays(events: Any, event_time: str, label_time: str, positive: str) -> tuple[np.ndarray, np.ndarray]:
    """Whether each row is truly positive, and (for positives) how long its label took, in ns."""
    df = _check_frame("events", events, [event_time, label_time, positive])
    t = _datetimes(df, event_time, allow_nat=False)
    arrived = _datetimes(df, label_time, allow_nat=True)
    col = df[positive]
    if col.isna().any():
        raise ValueError(f"df[{positive!r}] must have no missing values; got {int(col.isna().sum())}")
    y = check_binary_labels(f"df[{positive!r}]", col.to_numpy()).astype(bool)
    if np.isnat(arrived[y]).any():
        raise ValueError(f"df[{label_time!r}] must be set for every positive row; got {int(np.isnat(arrived[y]).sum())} NaT")
    delay = np.where(y, (arrived - t).astype(np.int64), 0)
    if (delay < 0).any():
        raise ValueError(
            f"df[{label_time!r}] must not be before df[{event_time!r}]; got {int((delay < 0).sum())} such positive row(s)"
        )
    return y, delay


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
    return pd.Series((y & (delay <= window.value)).astype(np.int64), index=events.index, name="label")


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
    windows : sequence of str, pandas.Timedelta or datetime.timedelta
        The waits to compare (positive durations, at least one).
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
    if isinstance(windows, (str, bytes)) or not isinstance(windows, Sequence) or len(windows) == 0:
        raise TypeError(f"windows must be a non-empty list of durations such as ['5min', '1h']; got {_show(windows)}")
    spans = [check_duration(f"windows[{i}]", w) for i, w in enumerate(windows)]
    y, delay = _delays(events, event_time, label_time, positive)
    positives = int(y.sum())
    rows = []
    for span in spans:
        caught = int((y & (delay <= span.value)).sum())
        rows.append({
            "window": _label(span),
            "recall": caught / positives if positives else np.nan,
            "missed": positives - caught,
            "wrong_share": (positives - caught) / len(y) if len(y) else np.nan,
            "positives": positives,
        })
    return pd.DataFrame(rows, columns=["window", "recall", "missed", "wrong_share", "positives"])


# --- Weak supervision: labeling functions for the fraud world ---------------------------------------
_LF_COLUMNS = ("timestamp", "user_id", "merchant_category", "amount", "device", "is_foreign", "account_age_days")


def _fires(df: pd.DataFrame, condition: Any, vote: int) -> np.ndarray:
    return np.where(np.asarray(condition, dtype=bool), vote, ABSTAIN).astype(np.int64)


def _category_in(df: pd.DataFrame, categories: Sequence[str]) -> np.ndarray:
    return df["merchant_category"].isin(categories).to_numpy(bool)


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
    night = df["timestamp"].dt.hour.to_numpy() < 6
    return _fires(df, _category_in(df, ["electronics", "travel"]) & (df["amount"].to_numpy() > 150) & night, FRAUD)


def lf_new_account(df: pd.DataFrame) -> np.ndarray:
    """Fraud if the account is less than 30 days old; else abstain.

    Parameters
    ----------
    df : pandas.DataFrame
        Transactions with an ``account_age_days`` column.

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
    return _fires(df, df["account_age_days"].to_numpy() < 30, FRAUD)


def lf_foreign(df: pd.DataFrame) -> np.ndarray:
    """Fraud if the payment comes from another country than the cardholder's home; else abstain.

    Parameters
    ----------
    df : pandas.DataFrame
        Transactions with a boolean ``is_foreign`` column.

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
    return _fires(df, df["is_foreign"].to_numpy(bool), FRAUD)


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
    order = np.argsort(df["timestamp"].to_numpy(), kind="stable")
    counts = window_count_batch(df.iloc[order], key="user_id", time="timestamp", window="10min").to_numpy()
    votes = np.empty(len(df), dtype=np.int64)
    votes[order] = _fires(df, counts >= 2, FRAUD)
    return votes


def lf_small_digital_mobile(df: pd.DataFrame) -> np.ndarray:
    """Fraud if digital goods or gaming under $10 are bought on mobile; else abstain.

    The analyst's rule for late fraud: small card-testing charges on instantly delivered goods.

    Parameters
    ----------
    df : pandas.DataFrame
        Transactions with ``merchant_category``, ``amount`` and ``device`` columns.

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
    mobile = (df["device"] == "mobile").to_numpy(bool, na_value=False)
    return _fires(df, _category_in(df, ["digital_goods", "gaming"]) & (df["amount"].to_numpy() < 10) & mobile, FRAUD)


def lf_established_customer(df: pd.DataFrame) -> np.ndarray:
    """Legitimate if the account is over a year old and the payment is domestic; else abstain.

    A plausible rule that breaks the label model's assumption: it fires exactly when
    :func:`lf_new_account` and :func:`lf_foreign` cannot, so the functions are strongly dependent
    whatever the class, and the label model explains that dependence with its latent class instead
    of fraud. It is therefore not in :data:`FRAUD_LABELING_FUNCTIONS`: add it to see the failure.

    Parameters
    ----------
    df : pandas.DataFrame
        Transactions with ``account_age_days`` and ``is_foreign`` columns.

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
    return _fires(df, (df["account_age_days"].to_numpy() > 365) & ~df["is_foreign"].to_numpy(bool), LEGIT)


#: The fraud world's labeling functions, by name: five fraud heuristics, each voting FRAUD or abstaining.
FRAUD_LABELING_FUNCTIONS: dict[str, Callable[[pd.DataFrame], np.ndarray]] = {
    f.__name__.removeprefix("lf_"): f
    for f in (lf_big_ticket_night, lf_new_account, lf_foreign, lf_card_testing_burst, lf_small_digital_mobile)
}


def _check_lfs(lfs: Any) -> tuple[list[str], list[Callable]]:
    if isinstance(lfs, Mapping):
        names, funcs = [str(k) for k in lfs], list(lfs.values())
    elif isinstance(lfs, Sequence) and not isinstance(lfs, (str, bytes)):
        funcs = list(lfs)
        names = [getattr(f, "__name__", f"lf_{j}") for j, f in enumerate(funcs)]
    else:
        raise TypeError(f"lfs must be a dict of name -> function or a list of functions; got {_show(lfs)}")
    if not funcs:
        raise ValueError("lfs must hold at least one labeling function; got none")
    for name, f in zip(names, funcs):
        if not callable(f):
            raise TypeError(f"lfs[{name!r}] must be a function of the data frame; got {_show(f)}")
    return names, funcs


def apply_labeling_functions(df: pd.DataFrame, lfs: Mapping[str, Callable] | Sequence[Callable]) -> np.ndarray:
    """The vote matrix ``L``: each labeling function applied to every row.

    A labeling function here is vectorized: it takes the whole frame and returns one vote per row,
    ``1`` (positive), ``0`` (negative) or ``-1`` (abstain), which is much faster than Snorkel's
    row-at-a-time functions and equivalent.

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
    if not isinstance(df, pd.DataFrame):
        raise TypeError(f"df must be a pandas DataFrame; got {_show(df)} of type {type(df).__name__}")
    if len(df) == 0:
        raise ValueError("df must have at least one row; got 0")
    names, funcs = _check_lfs(lfs)
    L = np.empty((len(df), len(funcs)), dtype=np.int64)
    for j, (name, f) in enumerate(zip(names, funcs)):
        votes = np.asarray(f(df))
        if votes.shape != (len(df),):
            raise ValueError(
                f"labeling function {name!r} must return one vote per row, shape ({len(df)},); got shape {votes.shape}"
            )
        bad = ~np.isin(votes, VOTES)
        if bad.any():
            got = _show(np.unique(votes[bad])[:5].tolist())
            raise ValueError(f"labeling function {name!r} must return only -1, 0 and 1; got {got}")
        L[:, j] = votes
    return L


def _check_L(name: str, value: Any, n_columns: int | None = None) -> np.ndarray:
    """A 2-d vote matrix with at least one row and column and values in {-1, 0, 1}, as int64."""
    if isinstance(value, (str, bytes)) or np.isscalar(value):
        raise TypeError(f"{name} must be a 2-d array of votes -1, 0, 1; got {_show(value)}")
    arr = np.asarray(value)
    if arr.ndim != 2:
        raise ValueError(f"{name} must be a 2-d array (n_rows, n_labeling_functions); got shape {arr.shape}")
    if arr.shape[0] == 0 or arr.shape[1] == 0:
        raise ValueError(f"{name} must have at least one row and one labeling function; got shape {arr.shape}")
    if arr.dtype == bool or not np.issubdtype(arr.dtype, np.number):
        raise TypeError(f"{name} must hold the numbers -1 (abstain), 0 and 1; got dtype {arr.dtype}")
    bad = ~np.isin(arr, VOTES)
    if bad.any():
        raise ValueError(f"{name} must hold only -1 (abstain), 0 and 1; got {_show(np.unique(arr[bad])[:5].tolist())}")
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
        True 0/1 labels.
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
    L = _check_L("L", L)
    n, m = L.shape
    if names is None:
        labels = [f"lf_{j}" for j in range(m)]
    else:
        labels = list(names)
        if len(labels) != m or not all(isinstance(s, str) for s in labels):
            raise ValueError(f"names must be {m} strings, one per column of L; got {_show(labels)}")
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
    random_state: RandomState = 0,
) -> tuple[np.ndarray, np.ndarray]:
    """Plant labeling functions of known accuracy and coverage, conditionally independent given the label.

    ``y ~ Bernoulli(class_prior)``; function ``j`` votes on a row with probability ``coverages[j]``
    (independently of ``y``), and its vote is ``y`` with probability ``accuracies[j]``, ``1 - y``
    otherwise: exactly the label model's assumptions, so its estimates can be checked.

    Parameters
    ----------
    n : int
        Number of rows (>= 1).
    accuracies : sequence of float
        ``P(vote = y | votes)`` per function, each in [0, 1].
    coverages : sequence of float
        ``P(votes)`` per function, each in [0, 1]; same length as ``accuracies``.
    class_prior : float, default 0.5
        ``P(y = 1)``, in (0, 1).
    random_state : int, numpy.random.Generator or None, default 0
        Seed.

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
    for name, arr in (("accuracies", acc), ("coverages", cov)):
        if ((arr < 0) | (arr > 1)).any():
            raise ValueError(f"{name} must be probabilities in [0, 1]; got {_show(arr.tolist())}")
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

_LABEL_MODEL_DOC = """A label model: learns how reliable each labeling function is, without labels, and combines their votes.

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
    >>> from mlsys_course.labeling import LabelModel, simulate_votes
    >>> L, y = simulate_votes(20_000, [0.9, 0.9, 0.6, 0.6, 0.6], [0.5, 0.5, 0.8, 0.8, 0.8], random_state=0)
    >>> model = LabelModel().fit(L)
    >>> model.accuracies_.round(1).tolist()  # planted: 0.9, 0.9, 0.6, 0.6, 0.6
    [0.9, 0.9, 0.6, 0.6, 0.6]
    >>> mv = majority_vote(L, tie_break="random", random_state=0)
    >>> round(float(model.score(L, y)), 2), round(float((mv == y).mean()), 2)  # accuracy: label model, majority vote
    (0.84, 0.76)
    """


def _label_model_class() -> type:
    from sklearn.base import BaseEstimator, ClassifierMixin
    from sklearn.exceptions import ConvergenceWarning

    class LabelModel(ClassifierMixin, BaseEstimator):
        __doc__ = _LABEL_MODEL_DOC

        def __init__(self, *, class_prior: float | None = None, init_accuracy: float = 0.7, max_iter: int = 500,
                     tol: float = 1e-7) -> None:
            self.class_prior = class_prior
            self.init_accuracy = init_accuracy
            self.max_iter = max_iter
            self.tol = tol

        def fit(self, L: Any, y: Any = None) -> LabelModel:
            """Learn the class prior and each function's vote probabilities from ``L`` alone (``y`` is ignored)."""
            L = _check_L("L", L)
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
                import warnings

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
            from sklearn.utils.validation import check_is_fitted

            check_is_fitted(self, "vote_probs_")
            L = _check_L("L", L, self.n_features_in_)
            patterns, inverse, _ = _patterns(L)
            joint = _log_joint(_one_hot(patterns), np.log(self.class_prior_), self.vote_probs_)
            return np.exp(joint - np.logaddexp(joint[:, 0], joint[:, 1])[:, None])[inverse]

        def predict(self, L: Any) -> np.ndarray:
            """The more probable label of every row (0 on an exact tie); rows with no vote get the prior's class."""
            return (self.predict_proba(L)[:, 1] > 0.5).astype(np.int64)

    LabelModel.__module__ = __name__
    LabelModel.__qualname__ = "LabelModel"
    return LabelModel


def __getattr__(name: str) -> Any:
    if name == "LabelModel":  # built on first use, so that importing this module does not import scikit-learn
        cls = globals()["LabelModel"] = _label_model_class()
        return cls
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | {"LabelModel"})




# --- Semi-supervision ---------------------------------------------------------------------------------
def _check_X(name: str, value: Any, min_len: int = 1) -> np.ndarray:
    arr = np.asarray(value) if isinstance(value, pd.DataFrame) else value
    return check_array(name, arr, ndim=2, min_len=min_len).astype(float)


def self_training(
    X_labeled: Any,
    y_labeled: Any,
    X_unlabeled: Any,
    *,
    estimator: Any = None,
    threshold: float = 0.75,
    max_iter: int = 10,
) -> Any:
    """Fit a classifier on a few labelled rows plus many unlabelled ones, by self-training.

    A thin use of scikit-learn's ``SelfTrainingClassifier``: fit on the labelled rows, give the
    unlabelled rows on which the model is at least ``threshold`` sure its predicted label, refit, and
    repeat (at most ``max_iter`` times, or until no new row qualifies). The unlabelled rows are passed
    to scikit-learn with the label -1.

    Parameters
    ----------
    X_labeled : array-like of shape (n_labeled, d)
        Features of the hand-labelled rows.
    y_labeled : array-like of shape (n_labeled,)
        Their labels (integers >= 0; at least two classes).
    X_unlabeled : array-like of shape (n_unlabeled, d)
        Features of the unlabelled rows (may have zero rows).
    estimator : scikit-learn classifier with ``predict_proba``, optional
        Default ``LogisticRegression(max_iter=1000)``.
    threshold : float, default 0.75
        Confidence needed to adopt a pseudo-label, in (0, 1).
    max_iter : int, default 10
        Maximum number of self-training rounds (>= 1).

    Returns
    -------
    sklearn.semi_supervised.SelfTrainingClassifier
        The fitted model; ``labeled_iter_`` says in which round each row got its label (0 for hand
        labels, -1 for rows never labelled).

    Book: Chapter 4, "Handling the Lack of Labels: Semi-supervision" (self-training).

    Example
    -------
    >>> from sklearn.datasets import make_blobs
    >>> from sklearn.linear_model import LogisticRegression
    >>> X, y = make_blobs(200, centers=2, random_state=0)
    >>> hand = np.r_[np.flatnonzero(y == 0)[:2], np.flatnonzero(y == 1)[:2]]  # 4 hand labels
    >>> rest = np.setdiff1d(np.arange(200), hand)
    >>> round(float(LogisticRegression().fit(X[hand], y[hand]).score(X, y)), 2)  # the 4 labels alone
    0.95
    >>> model = self_training(X[hand], y[hand], X[rest])
    >>> round(float(model.score(X, y)), 2), int((model.labeled_iter_ > 0).sum())  # accuracy, pseudo-labels adopted
    (0.96, 183)
    """
    from sklearn.linear_model import LogisticRegression
    from sklearn.semi_supervised import SelfTrainingClassifier

    Xl = _check_X("X_labeled", X_labeled)
    yl = check_array("y_labeled", y_labeled)
    check_same_length(X_labeled=Xl, y_labeled=yl)
    if not np.issubdtype(yl.dtype, np.integer) or (yl < 0).any():
        got = _show(np.unique(yl)[:5].tolist())
        raise ValueError(f"y_labeled must hold integer class labels >= 0 (-1 marks unlabelled rows); got {got}")
    if len(np.unique(yl)) < 2:
        raise ValueError(f"y_labeled must hold at least two classes; got only {_show(np.unique(yl).tolist())}")
    Xu = _check_X("X_unlabeled", X_unlabeled, min_len=0)
    if Xu.shape[1] != Xl.shape[1]:
        raise ValueError(f"X_unlabeled must have {Xl.shape[1]} columns like X_labeled; got {Xu.shape[1]}")
    threshold = check_probability("threshold", threshold)
    max_iter = check_int("max_iter", max_iter, minimum=1)
    base = LogisticRegression(max_iter=1000) if estimator is None else estimator
    model = SelfTrainingClassifier(base, threshold=threshold, max_iter=max_iter)
    return model.fit(np.vstack([Xl, Xu]), np.concatenate([yl, np.full(len(Xu), -1, dtype=yl.dtype)]))


# --- Active learning (Settles 2009) -------------------------------------------------------------------
def _entropy(p: np.ndarray) -> np.ndarray:
    """Row-wise entropy in nats, with 0 log 0 = 0."""
    logp = np.log(np.where(p > 0, p, 1.0))
    return -(p * logp).sum(axis=1)


def _informativeness(model: Any, X: np.ndarray, strategy: str, committee: Sequence[Any]) -> np.ndarray:
    """How much labelling each row is expected to teach the model: higher = ask first."""
    if strategy == "committee":
        votes = np.stack([np.asarray(member.predict(X)) for member in committee])  # (C, n)
        shares = np.stack([(votes == label).mean(axis=0) for label in np.unique(votes)], axis=1)
        return _entropy(shares)  # vote entropy
    p = np.asarray(model.predict_proba(X), dtype=float)
    if strategy == "uncertainty":
        return 1.0 - p.max(axis=1)  # least confident
    if strategy == "margin":
        top2 = np.sort(p, axis=1)[:, -2:] if p.shape[1] > 1 else np.column_stack([np.zeros(len(p)), p[:, 0]])
        return -(top2[:, 1] - top2[:, 0])  # smallest margin between the two likeliest classes
    return _entropy(p)


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
        random forest) are the committee.
    X_pool : array-like of shape (n_pool, d)
        The unlabelled rows.
    n : int
        How many to pick, 1 <= n <= n_pool.
    strategy : {"uncertainty", "margin", "entropy", "committee", "random"}, default "uncertainty"
        How to rank the pool.
    committee : sequence of fitted classifiers, optional
        The committee for ``"committee"`` (at least two members).
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
    Xp = _check_X("X_pool", X_pool)
    n = check_int("n", n, minimum=1, maximum=len(Xp))
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
        if isinstance(committee, (str, bytes)) or not isinstance(committee, Sequence) or len(committee) < 2:
            raise ValueError(f"committee must be a list of at least two fitted classifiers; got {_show(committee)}")
    elif not hasattr(model, "predict_proba"):
        raise TypeError(
            f"model must be a fitted classifier with predict_proba for strategy={strategy!r}; got {type(model).__name__}"
        )
    score = _informativeness(model, Xp, strategy, committee)
    shuffle = rng.permutation(len(Xp))  # random order among ties
    return shuffle[np.argsort(-score[shuffle], kind="stable")[:n]]


def _fit_or_constant(estimator: Any, X: np.ndarray, y: np.ndarray, classes: np.ndarray) -> Any:
    """Clone and fit ``estimator``; with a single class among the labels, a constant model.

    The constant is ``DummyClassifier(strategy="prior")`` that still knows every class in
    ``classes`` (the missing ones get probability 0, through rows of weight 0), so that a scorer
    asking for the positive class's probability gets a column of zeros rather than an error.
    """
    from sklearn.base import clone
    from sklearn.dummy import DummyClassifier

    if len(np.unique(y)) > 1:
        return clone(estimator).fit(X, y)
    X_all = np.vstack([X, np.repeat(X[:1], len(classes), axis=0)])
    y_all = np.concatenate([y, classes])
    weight = np.concatenate([np.ones(len(y)), np.zeros(len(classes))])
    return DummyClassifier(strategy="prior").fit(X_all, y_all, sample_weight=weight)


def _default_estimator(estimator: Any) -> Any:
    from sklearn.linear_model import LogisticRegression

    if estimator is None:
        return LogisticRegression(max_iter=1000)
    if not (hasattr(estimator, "fit") and hasattr(estimator, "get_params")):
        raise TypeError(f"estimator must be an unfitted scikit-learn classifier; got {_show(estimator)}")
    return estimator


def _check_data(X: Any, y: Any, X_test: Any, y_test: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    X, X_test = _check_X("X", X), _check_X("X_test", X_test)
    y, y_test = check_array("y", y, numeric=False), check_array("y_test", y_test, numeric=False)
    check_same_length(X=X, y=y)
    check_same_length(X_test=X_test, y_test=y_test)
    if X_test.shape[1] != X.shape[1]:
        raise ValueError(f"X_test must have {X.shape[1]} columns like X; got {X_test.shape[1]}")
    return X, y, X_test, y_test


def _committee(estimator: Any, X: np.ndarray, y: np.ndarray, size: int, rng: np.random.Generator) -> list[Any]:
    """A bagged committee: ``size`` copies of the estimator, each fitted on a bootstrap sample."""
    from sklearn.ensemble import BaggingClassifier

    if len(np.unique(y)) < 2:
        return [_fit_or_constant(estimator, X, y, np.unique(y))] * size
    bag = BaggingClassifier(estimator, n_estimators=size, random_state=int(rng.integers(2**31)))
    return list(bag.fit(X, y).estimators_)


def active_learning_curve(
    X: Any,
    y: Any,
    X_test: Any,
    y_test: Any,
    *,
    estimator: Any = None,
    strategy: str = "uncertainty",
    n_initial: int = 20,
    batch_size: int = 10,
    n_rounds: int = 20,
    committee_size: int = 5,
    scoring: str = "accuracy",
    random_state: RandomState = 0,
) -> pd.DataFrame:
    """Play the active learning loop and score the model after every batch of labels.

    Start from ``n_initial`` pool rows labelled at random; then, ``n_rounds`` times: fit a fresh
    clone of ``estimator`` on the labelled rows, score it on the test set, :func:`query` ``batch_size``
    more rows and reveal their labels from ``y`` (the oracle). With a single class among the labels
    (rare positives), the model is a constant (scikit-learn's ``DummyClassifier(strategy="prior")``),
    whose queries are ties broken at random. For ``"committee"``, each round also fits a bagged
    committee of ``committee_size`` clones (scikit-learn's ``BaggingClassifier``).

    Parameters
    ----------
    X, y : array-like
        The pool, shape (n_pool, d), and its labels (revealed only when queried).
    X_test, y_test : array-like
        Held-out rows to score on.
    estimator : unfitted scikit-learn classifier, optional
        Default ``LogisticRegression(max_iter=1000)``; needs ``predict_proba``.
    strategy : {"uncertainty", "margin", "entropy", "committee", "random"}, default "uncertainty"
        See :func:`query`.
    n_initial : int, default 20
        Random labels to start from (>= 1).
    batch_size : int, default 10
        Labels bought per round (>= 1).
    n_rounds : int, default 20
        Number of query rounds (>= 0); the pool must hold ``n_initial + n_rounds * batch_size`` rows.
    committee_size : int, default 5
        Members of the committee (>= 2), for ``"committee"``.
    scoring : str, default "accuracy"
        A scikit-learn scorer name (``"accuracy"``, ``"average_precision"``, ``"f1"``, ...).
    random_state : int, numpy.random.Generator or None, default 0
        Seed of the initial sample, the committee and the tie-breaks.

    Returns
    -------
    pandas.DataFrame
        ``n_rounds + 1`` rows with columns ``strategy``, ``labels_used`` and ``score``.

    Book: Chapter 4, "Handling the Lack of Labels: Active learning" (Settles 2009).

    Example
    -------
    >>> from sklearn.datasets import make_classification
    >>> X, y = make_classification(600, n_features=5, random_state=0)
    >>> curve = active_learning_curve(X[:400], y[:400], X[400:], y[400:], n_initial=10, batch_size=10, n_rounds=2)
    >>> curve.round(3)
          strategy  labels_used  score
    0  uncertainty           10   0.92
    1  uncertainty           20   0.93
    2  uncertainty           30   0.96
    """
    from sklearn.metrics import get_scorer

    X, y, X_test, y_test = _check_data(X, y, X_test, y_test)
    estimator = _default_estimator(estimator)
    check_choice("strategy", strategy, STRATEGIES)
    n_initial = check_int("n_initial", n_initial, minimum=1)
    batch_size = check_int("batch_size", batch_size, minimum=1)
    n_rounds = check_int("n_rounds", n_rounds, minimum=0)
    committee_size = check_int("committee_size", committee_size, minimum=2)
    if n_initial + n_rounds * batch_size > len(X):
        raise ValueError(f"n_initial + n_rounds * batch_size must be at most the pool size {len(X)}; "
                         f"got {n_initial} + {n_rounds} * {batch_size} = {n_initial + n_rounds * batch_size}")
    scorer = get_scorer(scoring)
    rng = check_random_state("random_state", random_state)
    classes = np.unique(y)

    labelled = rng.choice(len(X), n_initial, replace=False)
    rows = []
    for round_ in range(n_rounds + 1):
        model = _fit_or_constant(estimator, X[labelled], y[labelled], classes)
        rows.append({"strategy": strategy, "labels_used": len(labelled), "score": float(scorer(model, X_test, y_test))})
        if round_ == n_rounds:
            break
        pool = np.setdiff1d(np.arange(len(X)), labelled)
        committee = _committee(estimator, X[labelled], y[labelled], committee_size, rng) if strategy == "committee" else None
        picks = query(model, X[pool], batch_size, strategy=strategy, committee=committee, random_state=rng)
        labelled = np.concatenate([labelled, pool[picks]])
    return pd.DataFrame(rows)


# --- Spending a label budget -------------------------------------------------------------------------
def label_budget_curves(
    X: Any,
    y: Any,
    X_test: Any,
    y_test: Any,
    *,
    budgets: Sequence[int],
    weak_labels: Any = None,
    estimator: Any = None,
    scoring: str = "accuracy",
    strategy: str = "uncertainty",
    random_state: RandomState = 0,
) -> pd.DataFrame:
    """Score four ways of spending a hand-labelling budget, against the number of hand labels used.

    For each budget ``b`` (hand labels bought from the oracle ``y``):

    - ``"random"``: label ``b`` pool rows drawn at random and fit on them;
    - ``"active learning"``: start from the first budget's random rows, then :func:`query` (with
      ``strategy``; a bagged committee of 5 for ``"committee"``) the rows that bring the labelled
      set to each next budget;
    - ``"self-training"``: the same ``b`` random rows plus every other pool row unlabelled,
      :func:`self_training`;
    - ``"weak supervision"`` (when ``weak_labels`` is given): fit on the weak labels of every pool
      row (rows whose weak label is -1, abstain, are left out), with the ``b`` random rows' weak
      labels replaced by their hand labels; its curve starts at 0 hand labels.

    The random rows are the first ``b`` of one seeded permutation, so each method sees nested sets as
    the budget grows, and the methods share them. A model whose labels hold a single class is a
    constant (``DummyClassifier(strategy="prior")``); self-training then falls back to it too.

    Parameters
    ----------
    X, y : array-like
        The pool, shape (n_pool, d), and its true labels (revealed only when bought).
    X_test, y_test : array-like
        Held-out rows to score on.
    budgets : sequence of int
        Increasing numbers of hand labels, each in [1, n_pool].
    weak_labels : array-like of shape (n_pool,), optional
        Labels from weak supervision, e.g. ``LabelModel().fit(L).predict(L)``; -1 = abstain.
    estimator : unfitted scikit-learn classifier, optional
        Default ``LogisticRegression(max_iter=1000)``.
    scoring : str, default "accuracy"
        A scikit-learn scorer name; ``"average_precision"`` for rare positives.
    strategy : str, default "uncertainty"
        The active learning strategy (see :func:`query`).
    random_state : int, numpy.random.Generator or None, default 0
        Seed.

    Returns
    -------
    pandas.DataFrame
        Columns ``method``, ``labels_used``, ``score``: one row per method and budget (plus the
        0-label point of weak supervision).

    Book: Chapter 4, "Handling the Lack of Labels" (weak supervision, semi-supervision, active learning).

    Example
    -------
    >>> from sklearn.datasets import make_classification
    >>> X, y = make_classification(700, n_features=5, random_state=1)
    >>> noisy = np.random.default_rng(0).random(500) < 0.2
    >>> weak = np.where(noisy, 1 - y[:500], y[:500])  # weak labels, 20% wrong
    >>> curves = label_budget_curves(X[:500], y[:500], X[500:], y[500:], budgets=[10, 40], weak_labels=weak)
    >>> curves.pivot(index="labels_used", columns="method", values="score").round(2)
    method       active learning  random  self-training  weak supervision
    labels_used
    0                        NaN     NaN            NaN              0.88
    10                      0.76    0.76           0.74              0.88
    40                      0.88    0.88           0.88              0.88
    """
    from sklearn.metrics import get_scorer

    X, y, X_test, y_test = _check_data(X, y, X_test, y_test)
    estimator = _default_estimator(estimator)
    check_choice("strategy", strategy, STRATEGIES)
    if isinstance(budgets, (str, bytes)) or not isinstance(budgets, Sequence) or len(budgets) == 0:
        raise TypeError(f"budgets must be a non-empty list of label counts; got {_show(budgets)}")
    budgets = [check_int(f"budgets[{i}]", b, minimum=1, maximum=len(X)) for i, b in enumerate(budgets)]
    if any(b2 <= b1 for b1, b2 in zip(budgets, budgets[1:])):
        raise ValueError(f"budgets must be strictly increasing; got {budgets}")
    weak = None
    if weak_labels is not None:
        weak = check_array("weak_labels", weak_labels)
        check_same_length(X=X, weak_labels=weak)
        if not np.issubdtype(weak.dtype, np.integer) or (weak < -1).any():
            got = _show(np.unique(weak)[:5].tolist())
            raise ValueError(f"weak_labels must hold integer class labels, -1 for abstain; got {got}")
    scorer = get_scorer(scoring)
    rng = check_random_state("random_state", random_state)
    classes = np.unique(y)
    order = rng.permutation(len(X))

    def score(model: Any) -> float:
        return float(scorer(model, X_test, y_test))

    rows = []
    labelled = order[: budgets[0]]
    if weak is not None:
        keep = weak != ABSTAIN
        rows.append(("weak supervision", 0, score(_fit_or_constant(estimator, X[keep], weak[keep], classes))))
    for b in budgets:
        bought = order[:b]
        rows.append(("random", b, score(_fit_or_constant(estimator, X[bought], y[bought], classes))))
        if len(labelled) < b:  # active learning: query up to this budget from the current model
            model = _fit_or_constant(estimator, X[labelled], y[labelled], classes)
            pool = np.setdiff1d(np.arange(len(X)), labelled)
            committee = _committee(estimator, X[labelled], y[labelled], 5, rng) if strategy == "committee" else None
            picks = query(model, X[pool], b - len(labelled), strategy=strategy, committee=committee, random_state=rng)
            labelled = np.concatenate([labelled, pool[picks]])
        rows.append(("active learning", b, score(_fit_or_constant(estimator, X[labelled], y[labelled], classes))))
        if len(np.unique(y[bought])) > 1:
            unlabeled = np.setdiff1d(np.arange(len(X)), bought)
            st = self_training(X[bought], y[bought], X[unlabeled], estimator=estimator)
        else:
            st = _fit_or_constant(estimator, X[bought], y[bought], classes)
        rows.append(("self-training", b, score(st)))
        if weak is not None:
            mixed = weak.copy()
            mixed[bought] = y[bought]
            keep = mixed != ABSTAIN
            rows.append(("weak supervision", b, score(_fit_or_constant(estimator, X[keep], mixed[keep], classes))))
    return pd.DataFrame(rows, columns=["method", "labels_used", "score"])

"""Data leakage: leakage-safe splits, point-in-time joins and a leakage scan.

A leak is information about the label that the model sees offline but will not have when it serves
a prediction. The offline score is then inflated, and the gap only shows in production. This module
holds the tools that keep a leak out:

- **Splits** that respect time, entities and label delay: :func:`time_split` (every training row
  before every test row), :func:`time_series_cv` (forward-chaining folds for ``cv=``),
  :func:`group_split` and :func:`group_kfold` (all rows of one user on one side),
  :func:`label_available_split` (train only on labels known at the training date). They reuse
  scikit-learn's ``TimeSeriesSplit``, ``GroupShuffleSplit``, ``GroupKFold`` and
  ``StratifiedGroupKFold``, and return positions, so a list of folds is a valid ``cv=`` argument.
- **Point-in-time joins**: :func:`point_in_time_join` gives each label row the latest feature value
  known *at the label's time* (pandas ``merge_asof`` or DuckDB ``ASOF JOIN``, identical results);
  :func:`naive_latest_join` is the leak it prevents (the value as of the data export), and
  :func:`chargeback_log` builds a feature log from the fraud world to join.
- **Detection**: :func:`leakage_scan` flags features that predict the label too well on their own,
  test rows duplicated in training, and feature timestamps after the label's time.

Time columns are timezone-naive ``datetime64`` columns of any unit, with times between 1678 and 2261
(the range of pandas' nanosecond timestamps, in which every recipe computes; times outside it are
refused rather than wrapped around).

Preprocessing that learns from data (scaling, imputation, target encoding) is leakage-safe when it
is a step of a scikit-learn ``Pipeline`` fitted on the training rows only; no helper is needed for
that. Chapter 5's notebook measures what each classic leak costs, its leaky and honest set-ups side
by side.

Book: Chapter 5, "Data Leakage" (common causes: splitting time-correlated data randomly, scaling
before splitting, filling missing data with statistics from the test split, poor handling of data
duplication before splitting, group leakage, leakage from the data generation process; detecting
data leakage).
"""

from __future__ import annotations

import datetime as _dt
import math
from collections.abc import Sequence
from typing import Any

import duckdb
import numpy as np
import pandas as pd
from sklearn.metrics import average_precision_score, roc_auc_score
from sklearn.model_selection import (
    GroupKFold,
    GroupShuffleSplit,
    StratifiedGroupKFold,
    StratifiedKFold,
    TimeSeriesSplit,
)
from sklearn.preprocessing import TargetEncoder
from sklearn.tree import DecisionTreeClassifier
from sklearn.utils.multiclass import type_of_target

from ._validation import (
    check_time_column,
    RandomState,
    check_binary_labels,
    check_bool,
    check_choice,
    check_column,
    check_columns,
    check_duration,
    check_frame,
    check_int,
    check_probability,
    check_real,
    check_seed,
    check_timestamp,
    show,
)

__all__ = [
    "ENGINES",
    "SCAN_COLUMNS",
    "chargeback_log",
    "group_kfold",
    "group_split",
    "label_available_split",
    "leakage_scan",
    "naive_latest_join",
    "point_in_time_join",
    "time_series_cv",
    "time_split",
]

ENGINES = ("pandas", "duckdb")
SCAN_COLUMNS = ["check", "feature", "statistic", "value", "threshold", "flagged", "detail"]

#: DuckDB never fetches an extension at run time (the as-of join needs none).
_OFFLINE = {"autoinstall_known_extensions": False, "autoload_known_extensions": False}

Split = tuple[np.ndarray, np.ndarray]
Duration = str | pd.Timedelta | _dt.timedelta | np.timedelta64
DateLike = str | _dt.date | np.datetime64


# --- Column checks specific to this module --------------------------------------------------------------
def _group_codes(df: pd.DataFrame, group: Any) -> np.ndarray:
    """The group column as codes 0..n_groups-1, checked (no missing group, at least 2 groups)."""
    check_column("group", df, group)
    n_missing = int(df[group].isna().sum())
    if n_missing:
        raise ValueError(f"df[{group!r}] must have no missing groups; got {n_missing}")
    try:
        codes = pd.factorize(df[group])[0]
    except TypeError:  # unhashable values (lists, dicts)
        raise TypeError(f"df[{group!r}] (the group column) must hold hashable group ids such as ints or "
                        f"strings; got values of type {show(sorted({type(v).__name__ for v in df[group]}))}") from None
    if codes.max(initial=-1) < 1:
        raise ValueError(f"df[{group!r}] must hold at least 2 groups to split; got {codes.max(initial=-1) + 1}")
    return codes


def _group_values(df: pd.DataFrame, group: Any, codes: np.ndarray) -> np.ndarray:
    """The groups as scikit-learn gets them: the values themselves (so that an int seed gives scikit-learn's
    split), or their codes when the values cannot be ordered (1 and "a" in one column)."""
    values = df[group].to_numpy()
    try:
        np.unique(values)
    except TypeError:
        return codes
    return values


def _positions(rows: np.ndarray) -> np.ndarray:
    return np.sort(rows).astype(np.int64)


# --- Splits ------------------------------------------------------------------------------------------------
def time_split(df: pd.DataFrame, *, time: str = "timestamp", test_size: float = 0.2) -> Split:
    """Split by time: the latest ``test_size`` of the rows are the test set, all the rest come before.

    The test set starts at the time of the row at position ``n - ceil(test_size * n)`` in time order;
    rows tied with that time all go to the test set, so every training row is *strictly* earlier
    than every test row (the test set can be larger than asked when times tie; when the tied rows
    include the earliest time, they go to the training set instead, and the test set is smaller).
    The rows need not be sorted.

    Parameters
    ----------
    df : pandas.DataFrame
        The rows to split (at least 2).
    time : str, default "timestamp"
        Timezone-naive datetime column, no missing values.
    test_size : float, default 0.2
        Share of rows in the test set, in (0, 1).

    Returns
    -------
    train, test : numpy.ndarray of int64
        Row positions (for ``df.iloc``), ascending. ``cv=[time_split(df)]`` makes it a single
        holdout fold for ``GridSearchCV``.

    Raises
    ------
    ValueError
        When ``test_size`` is outside (0, 1), the time column is missing or has NaT, or all rows share
        one time.

    Book: Chapter 5, "Data Leakage: Splitting time-correlated data randomly instead of by time".

    Examples
    --------
    >>> df = pd.DataFrame({"timestamp": pd.to_datetime(["2024-01-03", "2024-01-01", "2024-01-04",
    ...                                                  "2024-01-02", "2024-01-04"])})
    >>> train, test = time_split(df, test_size=0.2)
    >>> train.tolist(), test.tolist()
    ([0, 1, 3], [2, 4])
    """
    check_frame("df", df, min_rows=2)
    check_column("time", df, time)
    test_size = check_probability("test_size", test_size)
    t = check_time_column("df", df, time, "time")
    n = len(t)
    n_test = min(max(math.ceil(test_size * n), 1), n - 1)
    cut = np.sort(t)[n - n_test]
    is_test = t >= cut
    if is_test.all():  # the cut is the earliest time: its ties train, the later rows test
        is_test = t > cut
        if not is_test.any():
            raise ValueError(f"df[{time!r}] holds a single time ({pd.Timestamp(cut)}): all rows tie; cannot split by time")
    return np.flatnonzero(~is_test), np.flatnonzero(is_test)


def time_series_cv(
    df: pd.DataFrame,
    *,
    time: str = "timestamp",
    n_splits: int = 5,
    gap: int = 0,
    max_train_size: int | None = None,
) -> list[Split]:
    """Forward-chaining folds (scikit-learn's ``TimeSeriesSplit``), checked and safe at ties.

    ``TimeSeriesSplit`` trusts the row order; this checks that the rows are sorted by time and raises
    otherwise, and drops from each training fold the rows tied with its test fold's first time, so
    that every training row is strictly earlier than every test row of its fold. The result is a
    list of ``(train, test)`` position arrays: pass it as ``cv=`` to ``cross_val_score`` or
    ``GridSearchCV``.

    Parameters
    ----------
    df : pandas.DataFrame
        The rows, sorted by ``time`` (non-decreasing; ties allowed).
    time : str, default "timestamp"
        Timezone-naive datetime column, no missing values.
    n_splits : int, default 5
        Number of folds (>= 2), as ``TimeSeriesSplit``.
    gap : int, default 0
        Rows left out between each training fold and its test fold (>= 0), as ``TimeSeriesSplit``:
        with delayed labels, leave out about the rows of one label delay.
    max_train_size : int or None
        Keep only the latest ``max_train_size`` training rows of each fold (a sliding window).

    Returns
    -------
    list of (train, test)
        Row positions per fold, training folds growing forward in time.

    Book: Chapter 5, "Data Leakage: Splitting time-correlated data randomly instead of by time".

    Examples
    --------
    >>> df = pd.DataFrame({"timestamp": pd.date_range("2024-01-01", periods=6, freq="D")})
    >>> [(tr.tolist(), te.tolist()) for tr, te in time_series_cv(df, n_splits=2)]
    [([0, 1], [2, 3]), ([0, 1, 2, 3], [4, 5])]
    """
    check_frame("df", df)
    check_column("time", df, time)
    t = check_time_column("df", df, time, "time")
    down = np.flatnonzero(np.diff(t) < 0)
    if len(down):
        raise ValueError(
            f"df[{time!r}] must be sorted in non-decreasing order (row order is time order); got a "
            f"decrease at row {down[0] + 1}; sort first with df.sort_values({time!r}, kind='stable')"
        )
    n_splits = check_int("n_splits", n_splits, minimum=2)
    gap = check_int("gap", gap, minimum=0)
    if max_train_size is not None:
        max_train_size = check_int("max_train_size", max_train_size, minimum=1)
    if len(t) < n_splits + 1 + gap:
        raise ValueError(f"df must have at least n_splits + 1 + gap = {n_splits + 1 + gap} rows; got {len(t)}")
    folds = []
    for train, test in TimeSeriesSplit(n_splits, gap=gap, max_train_size=max_train_size).split(t):
        train = train[t[train] < t[test[0]]]
        if len(train) == 0:
            raise ValueError(
                f"n_splits={n_splits} leaves the fold with test rows from {pd.Timestamp(t[test[0]])} without a "
                "strictly earlier row; use fewer n_splits")
        folds.append((train.astype(np.int64), test.astype(np.int64)))
    return folds


def group_split(
    df: pd.DataFrame,
    *,
    group: str = "user_id",
    test_size: float = 0.2,
    random_state: RandomState = None,
) -> Split:
    """A random split that keeps every group (user, card, patient) on one side: ``GroupShuffleSplit``.

    ``test_size`` is the share of *groups* in the test set: ``ceil(test_size * n_groups)`` groups,
    as in scikit-learn, so the share of rows varies when groups have unequal sizes (use
    :func:`group_kfold` for folds balanced in rows). With an int seed the split is exactly
    ``GroupShuffleSplit(1, test_size=test_size, random_state=seed)``'s.

    Parameters
    ----------
    df : pandas.DataFrame
        The rows to split.
    group : str, default "user_id"
        Column naming each row's group (hashable ids), no missing values, at least 2 groups.
    test_size : float, default 0.2
        Share of groups in the test set, in (0, 1), leaving at least one group to train on.
    random_state : int, numpy.random.Generator or None, default None
        Seed of the shuffle (None: a different split each call).

    Returns
    -------
    train, test : numpy.ndarray of int64
        Row positions, ascending; no group has rows in both.

    Book: Chapter 5, "Data Leakage: Group leakage".

    Examples
    --------
    >>> df = pd.DataFrame({"user_id": [1, 1, 2, 2, 3, 3, 4, 4, 5, 5]})
    >>> train, test = group_split(df, test_size=0.2, random_state=0)
    >>> sorted(set(df["user_id"].iloc[test])), len(train)
    ([3], 8)
    >>> train, test = group_split(df, test_size=0.6, random_state=0)
    >>> df["user_id"].iloc[test].nunique(), len(train)
    (3, 4)
    """
    check_frame("df", df)
    codes = _group_codes(df, group)
    test_size = check_probability("test_size", test_size)
    seed = check_seed("random_state", random_state)
    n_groups = int(codes.max()) + 1
    if math.ceil(test_size * n_groups) >= n_groups:
        raise ValueError(
            f"test_size must leave at least one of the {n_groups} groups for training "
            f"(ceil(test_size * {n_groups}) < {n_groups}); got {test_size}")
    splitter = GroupShuffleSplit(1, test_size=test_size, random_state=seed)
    train, test = next(splitter.split(codes, groups=_group_values(df, group, codes)))
    return _positions(train), _positions(test)


def group_kfold(
    df: pd.DataFrame,
    *,
    group: str = "user_id",
    n_splits: int = 5,
    stratify: str | None = None,
    random_state: RandomState = None,
) -> list[Split]:
    """K folds in which each group's rows are all in one fold (``GroupKFold`` / ``StratifiedGroupKFold``).

    Without ``stratify``: ``GroupKFold(n_splits, shuffle=True)``, folds balanced in rows. With
    ``stratify`` (a label column): ``StratifiedGroupKFold(n_splits, shuffle=True)``, which also keeps
    the label's share similar across folds (useful for a rare positive class). Pass the list as
    ``cv=``. With an int seed the folds are exactly scikit-learn's with that ``random_state``.

    Parameters
    ----------
    df : pandas.DataFrame
        The rows to split.
    group : str, default "user_id"
        Column naming each row's group (hashable ids), no missing values.
    n_splits : int, default 5
        Number of folds, from 2 to the number of groups.
    stratify : str or None
        Label column to stratify on (binary or multiclass, no missing values), or None.
    random_state : int, numpy.random.Generator or None, default None
        Seed of the shuffle of groups (None: different folds each call).

    Returns
    -------
    list of (train, test)
        Row positions per fold; the test folds partition the rows.

    Book: Chapter 5, "Data Leakage: Group leakage".

    Examples
    --------
    >>> df = pd.DataFrame({"user_id": [1, 1, 2, 2, 3, 3], "y": [0, 1, 0, 1, 0, 1]})
    >>> folds = group_kfold(df, n_splits=3, stratify="y", random_state=0)
    >>> sorted(sorted(set(df["user_id"].iloc[test])) for _, test in folds)
    [[1], [2], [3]]
    """
    check_frame("df", df)
    codes = _group_codes(df, group)
    n_splits = check_int("n_splits", n_splits, minimum=2, maximum=int(codes.max()) + 1)
    seed = check_seed("random_state", random_state)
    groups = _group_values(df, group, codes)
    if stratify is None:
        folds = GroupKFold(n_splits, shuffle=True, random_state=seed).split(codes, groups=groups)
    else:
        check_column("stratify", df, stratify)
        n_missing = int(df[stratify].isna().sum())
        if n_missing:
            raise ValueError(f"df[{stratify!r}] must have no missing labels to stratify; got {n_missing}")
        labels = df[stratify].to_numpy()
        kind = type_of_target(labels)
        if kind not in ("binary", "multiclass"):
            raise ValueError(f"stratify must name a label column of df with a few classes (binary or multiclass); "
                             f"df[{stratify!r}] is {kind}")
        folds = StratifiedGroupKFold(n_splits, shuffle=True, random_state=seed).split(codes, labels, groups)
    return [(_positions(train), _positions(test)) for train, test in folds]


def label_available_split(
    df: pd.DataFrame,
    *,
    cutoff: DateLike,
    time: str = "timestamp",
    label_time: str = "label_known_at",
    horizon: Duration | None = None,
) -> Split:
    """Train on what was labeled by ``cutoff``, test on what arrives after it: the honest setup for late labels.

    On the day a model is trained (``cutoff``), a transaction's label is known only once its
    chargeback arrived or its dispute window closed. The training set is the rows with
    ``label_time <= cutoff``; the test set is the rows with ``time > cutoff`` (the traffic the model
    will score), up to ``cutoff + horizon`` when given. Rows that happened before the cutoff but whose
    label was still pending are in neither: training on them with their *final* label would use
    labels from the future, which the model deployed at ``cutoff`` could not have had.

    Beware the selection this creates with the fraud world's delays: among the recent rows, fraud
    (chargeback after about 20 days) is known before legitimate payments (60 days), so the newest
    part of the training set holds only fraud. That is what production sees too; reweight or keep
    only rows older than the longest delay if the model must learn the base rate from recent data.

    Parameters
    ----------
    df : pandas.DataFrame
        The rows.
    cutoff : str, datetime, date or numpy.datetime64
        The training date (timezone-naive).
    time : str, default "timestamp"
        Event-time column (datetime, no missing values).
    label_time : str, default "label_known_at"
        When each row's label became known (datetime, never before ``time``). NaT means not known yet.
    horizon : str, pandas.Timedelta or datetime.timedelta, optional
        Keep only test rows with ``time <= cutoff + horizon``.

    Returns
    -------
    train, test : numpy.ndarray of int64
        Row positions, ascending.

    Book: Chapter 4, "Natural Labels: Feedback loop length"; Chapter 5, "Data Leakage".

    Examples
    --------
    >>> df = pd.DataFrame({
    ...     "timestamp": pd.to_datetime(["2024-01-01", "2024-01-05", "2024-01-08", "2024-01-12"]),
    ...     "label_known_at": pd.to_datetime(["2024-01-06", "2024-01-20", "2024-01-09", "2024-01-13"]),
    ... })
    >>> train, test = label_available_split(df, cutoff="2024-01-10")
    >>> train.tolist(), test.tolist()
    ([0, 2], [3])
    """
    check_frame("df", df)
    check_column("time", df, time)
    check_column("label_time", df, label_time)
    cut = check_timestamp("cutoff", cutoff).value
    t = check_time_column("df", df, time, "time")
    known = check_time_column("df", df, label_time, "label_time", allow_nat=True)
    nat = df[label_time].isna().to_numpy()
    early = ~nat & (known < t)
    if early.any():
        raise ValueError(
            f"df[{label_time!r}] must not be before df[{time!r}] (a label is known after its event); "
            f"got {int(early.sum())} row(s), the first at row {int(np.flatnonzero(early)[0])}"
        )
    is_train = ~nat & (known <= cut)
    is_test = t > cut
    if horizon is not None:
        is_test &= t <= cut + check_duration("horizon", horizon).value
    if not is_train.any():
        raise ValueError(f"cutoff must come after some label of df is known; no label is known by {pd.Timestamp(cut)}")
    if not is_test.any():
        raise ValueError(
            f"cutoff must come before some row of df (within the horizon); no row comes after {pd.Timestamp(cut)}")
    return np.flatnonzero(is_train), np.flatnonzero(is_test)


# --- Point-in-time joins -------------------------------------------------------------------------------
def _join_keys(labels: pd.DataFrame, features: pd.DataFrame, on: Any) -> tuple[np.ndarray, np.ndarray]:
    """Both frames' key columns as comparable int64 arrays (integers as they are, others factorized together)."""
    a, b = labels[on], features[on]
    if all(isinstance(c.dtype, np.dtype) and c.dtype.kind in "iu" and np.can_cast(c.dtype, np.int64) for c in (a, b)):
        return a.to_numpy(np.int64), b.to_numpy(np.int64)  # numpy integers: never missing
    for frame, col in (("labels", a), ("features", b)):
        n_missing = int(col.isna().sum())
        if n_missing:
            raise ValueError(f"{frame}[{on!r}] must have no missing keys; got {n_missing}")
    kinds = _key_kind(a), _key_kind(b)
    if None not in kinds and kinds[0] != kinds[1]:  # 1 never equals "1": every label would go unmatched
        raise TypeError(f"on must name comparable keys in both frames; got labels[{on!r}] of dtype {a.dtype} "
                        f"({kinds[0]}) and features[{on!r}] of dtype {b.dtype} ({kinds[1]})")
    try:
        codes = pd.factorize(pd.concat([a, b], ignore_index=True))[0].astype(np.int64)
    except TypeError:  # unhashable keys (lists, dicts)
        raise TypeError(f"on must name columns of hashable keys (ints, strings) in labels and features; "
                        f"got labels[{on!r}] of dtype {a.dtype} and features[{on!r}] of dtype {b.dtype}") from None
    return codes[: len(a)], codes[len(a):]


_KEY_KINDS = {"integer": "number", "floating": "number", "mixed-integer-float": "number", "decimal": "number",
              "boolean": "number", "string": "string", "bytes": "bytes", "datetime64": "datetime",
              "datetime": "datetime", "timedelta64": "timedelta", "timedelta": "timedelta", "date": "date"}


def _key_kind(col: pd.Series) -> str | None:
    """What a key column holds ("number", "string", "datetime", ...; a categorical: its categories), None if mixed."""
    if isinstance(col.dtype, pd.CategoricalDtype):
        col = pd.Series(col.cat.categories)
    if pd.api.types.is_numeric_dtype(col.dtype):  # bool included: True == 1, as in pandas
        return "number"
    return _KEY_KINDS.get(pd.api.types.infer_dtype(col, skipna=True))


def _time_order(t: np.ndarray, *, stable: bool) -> np.ndarray | None:
    """The order that sorts ``t`` (``stable``: rows with equal times keep their order), or None when already sorted."""
    if np.all(t[1:] >= t[:-1]):
        return None
    order = np.argsort(t)  # numpy's quicksort is several times faster than a stable sort ...
    if stable:
        ts = t[order]
        if np.any(ts[1:] == ts[:-1]):  # ... but may reorder tied times
            order = np.argsort(t, kind="stable")
    return order


def _check_join(labels: Any, features: Any, on: Any, label_time: Any, feature_time: Any, suffix: Any):
    check_frame("labels", labels, min_rows=0)
    check_frame("features", features, min_rows=0)
    check_column("on", labels, on, frame="labels")
    check_column("on", features, on, frame="features")
    check_column("label_time", labels, label_time, frame="labels")
    check_column("feature_time", features, feature_time, frame="features")
    if not isinstance(suffix, str):
        raise TypeError(f"suffix must be a non-empty string; got {show(suffix)} of type {type(suffix).__name__}")
    if not suffix:
        raise ValueError("suffix must be a non-empty string; got ''")
    taken = set(labels.columns)
    for column in features.columns:  # the names _attach gives: a clash would overwrite a column silently
        if column == on:
            continue
        name = _joined_name(column, labels, suffix)
        if name in taken:
            raise ValueError(
                f"suffix {suffix!r} names features[{column!r}] {name!r} in the result, which is already the name of "
                "a column of labels or of another column of features; rename the column or choose another suffix")
        taken.add(name)
    return _join_keys(labels, features, on)


def _joined_name(column: Any, labels: pd.DataFrame, suffix: str) -> Any:
    """The name of a feature column in the joined frame: suffixed when ``labels`` has a column of that name."""
    return f"{column}{suffix}" if column in labels.columns else column


def _attach(labels: pd.DataFrame, features: pd.DataFrame, on: Any, pos: np.ndarray, suffix: str) -> pd.DataFrame:
    """``labels`` plus every column of ``features`` but ``on``, taken at row ``pos`` (missing where -1)."""
    out = labels.copy()
    fill = bool((pos < 0).any())
    for column in features.columns:
        if column == on:
            continue
        out[_joined_name(column, labels, suffix)] = features[column].array.take(pos, allow_fill=fill)
    return out


def point_in_time_join(
    labels: pd.DataFrame,
    features: pd.DataFrame,
    *,
    on: str = "user_id",
    label_time: str = "timestamp",
    feature_time: str = "feature_time",
    tolerance: Duration | None = None,
    allow_exact_matches: bool = True,
    engine: str = "pandas",
    suffix: str = "_feature",
) -> pd.DataFrame:
    """Give each label row the feature values its key had *at the label's time*: an as-of join.

    For label row ``i`` with key ``k`` and time ``t``, the joined feature row is the latest row of
    ``features`` with key ``k`` and ``feature_time <= t`` (``allow_exact_matches=True``, the
    default: a value written at the very instant of the prediction counts as known, as in
    ``merge_asof`` and SQL ``ASOF JOIN``) or ``feature_time < t`` (``allow_exact_matches=False``:
    choose it when a feature row stamped ``t`` may have been written *because of* the event at
    ``t``). Never a row after ``t``. Among feature rows of one key with the same time, the one later
    in ``features`` wins. With ``tolerance``, a match older than ``t - tolerance`` is dropped (the
    value is too stale to use). Label rows without a match get missing values.

    How: the feature log is put in a stable time order (a log already in time order, as logs
    usually are, is used as it is) and the labels are sorted by time. ``engine="pandas"`` then runs
    ``pandas.merge_asof(by=on)`` on the two; ``engine="duckdb"`` replaces each time by its rank in
    the log's order (so that ties resolve as in pandas) and runs
    ``SELECT ... FROM labels l ASOF LEFT JOIN features f ON l.key = f.key AND l.t >= f.t`` in an
    in-memory DuckDB. The matched rows are then gathered in the labels' own order. On 1M unsorted
    labels against a time-ordered log of 10M rows (2 shared cores), the pandas engine took 0.22 s
    (0.14 s of CPU) where a plain ``merge_asof`` with its label sort took 0.33 s (0.19 s), and the
    DuckDB engine 3.6 s; a shuffled log adds its sort, about 1.2 s of CPU
    (``python tools/bench_leakage.py join``).

    Parameters
    ----------
    labels : pandas.DataFrame
        One row per prediction to make (the training examples): key and time columns.
    features : pandas.DataFrame
        A feature log: key, the time each value became known, and the feature columns.
    on : str, default "user_id"
        Key column in both frames: hashable keys of one kind on both sides (numbers, strings or dates;
        ``1`` never matches ``"1"``, so that mix is refused), no missing keys. Integer keys are used as
        they are, others are factorized together.
    label_time : str, default "timestamp"
        Datetime column of ``labels``: when the prediction is made (no NaT).
    feature_time : str, default "feature_time"
        Datetime column of ``features``: when the value became available (no NaT).
    tolerance : str, pandas.Timedelta or datetime.timedelta, optional
        Maximum age of a feature value, positive.
    allow_exact_matches : bool, default True
        ``feature_time <= label_time`` (True) or ``<`` (False).
    engine : {"pandas", "duckdb"}, default "pandas"
        Where the as-of match runs; the results are identical.
    suffix : str, default "_feature"
        Appended to a feature column whose name is already a column of ``labels`` (e.g. the feature
        time when both times are called ``timestamp``). A suffixed name that is already taken (by
        a column of ``labels`` or of ``features``) is refused rather than overwritten.

    Returns
    -------
    pandas.DataFrame
        ``labels`` (same index and row order) with every column of ``features`` except ``on``,
        including ``feature_time`` so that the match can be audited. Unmatched rows hold NaN/NaT
        (integer columns then become float, as in any pandas merge).

    See Also
    --------
    naive_latest_join : the leak this join prevents.
    pandas.merge_asof : the engine, for frames already sorted by time.

    Book: Chapter 5, "Data Leakage" (features must only use information available at prediction
    time) and "Detecting Data Leakage"; Chapter 7, "Batch Prediction Versus Online Prediction".

    Examples
    --------
    Labels need not be sorted. User 2's only value is written after its label; with a tolerance of
    one day, the value of January 1 is too stale for the label of January 3:

    >>> labels = pd.DataFrame({"user_id": [1, 2, 1],
    ...                        "timestamp": pd.to_datetime(["2024-01-05", "2024-01-05", "2024-01-03"])})
    >>> log = pd.DataFrame({"user_id": [1, 1, 2],
    ...                     "feature_time": pd.to_datetime(["2024-01-01", "2024-01-04", "2024-01-06"]),
    ...                     "chargebacks": [1, 2, 1]})
    >>> point_in_time_join(labels, log)
       user_id  timestamp feature_time  chargebacks
    0        1 2024-01-05   2024-01-04          2.0
    1        2 2024-01-05          NaT          NaN
    2        1 2024-01-03   2024-01-01          1.0
    >>> point_in_time_join(labels, log, engine="duckdb")["chargebacks"].tolist()
    [2.0, nan, 1.0]
    >>> point_in_time_join(labels, log, tolerance="1D")["chargebacks"].tolist()
    [2.0, nan, nan]
    """
    lk, fk = _check_join(labels, features, on, label_time, feature_time, suffix)
    lt = check_time_column("labels", labels, label_time, "label_time")
    ft = check_time_column("features", features, feature_time, "feature_time")
    tol = None if tolerance is None else check_duration("tolerance", tolerance).value
    exact = check_bool("allow_exact_matches", allow_exact_matches)
    if not isinstance(engine, str):
        raise TypeError(
            f"engine must be one of {', '.join(map(repr, ENGINES))}; got {show(engine)} of type {type(engine).__name__}")
    check_choice("engine", engine, ENGINES)

    pos = np.full(len(lt), -1, dtype=np.int64)
    if len(lt) and len(ft):
        # Both sides in time order. Among feature rows with the same time, the order decides the match
        # (the later row wins), so the log's sort is stable; among labels it changes nothing.
        log_order = _time_order(ft, stable=True)  # None: already in order, as logs usually are
        fk_s, ft_s = (fk, ft) if log_order is None else (fk[log_order], ft[log_order])
        label_order = _time_order(lt, stable=False)
        lk_s, lt_s = (lk, lt) if label_order is None else (lk[label_order], lt[label_order])
        if engine == "pandas":
            left = pd.DataFrame({"k": lk_s, "t": lt_s}, copy=False)  # copy=False: no copy into one 2-d block
            right = pd.DataFrame({"k": fk_s, "t": ft_s, "j": np.arange(len(ft_s))}, copy=False)
            matched = pd.merge_asof(left, right, on="t", by="k", allow_exact_matches=exact)["j"]
            j = matched.to_numpy(np.float64, na_value=np.nan)
            j = np.where(np.isnan(j), -1, j).astype(np.int64)
        else:  # times replaced by ranks in the log's order, so that ties resolve as in pandas
            rank = np.searchsorted(ft_s, lt_s, side="right" if exact else "left") - 1
            left = pd.DataFrame({"row": np.arange(len(lt)), "k": lk_s, "o": rank}, copy=False)
            right = pd.DataFrame({"k": fk_s, "o": np.arange(len(ft_s))}, copy=False)
            with duckdb.connect(config=_OFFLINE) as con:
                con.register("l", left)
                con.register("f", right)
                got = con.sql("SELECT l.row, COALESCE(f.o, -1) AS j FROM l ASOF LEFT JOIN f "
                              "ON l.k = f.k AND l.o >= f.o").fetchnumpy()
            j = np.empty(len(lt), dtype=np.int64)
            j[np.asarray(got["row"])] = np.asarray(got["j"])
        if log_order is not None:  # back to positions in features
            j = np.where(j >= 0, log_order[np.maximum(j, 0)], -1)
        if label_order is None:
            pos = j
        else:  # back to the labels' order
            pos[label_order] = j
        if tol is not None:
            too_old = (pos >= 0) & (lt - ft[np.maximum(pos, 0)] > tol)
            pos[too_old] = -1
    return _attach(labels, features, on, pos, suffix)


def naive_latest_join(
    labels: pd.DataFrame,
    features: pd.DataFrame,
    *,
    on: str = "user_id",
    label_time: str = "timestamp",
    feature_time: str = "feature_time",
    suffix: str = "_feature",
) -> pd.DataFrame:
    """The leak: give each label row its key's *latest* feature values, whatever the label's time.

    This is what joining a snapshot of a feature table taken at export time does (``users.csv``
    with today's chargeback count): rows from January get the values of June, including the
    consequences of their own label. Same output layout as :func:`point_in_time_join`; use it to
    show the leak, never to build a training set.

    Parameters
    ----------
    labels, features, on, label_time, feature_time, suffix
        As in :func:`point_in_time_join` (``label_time`` is only checked, not used).

    Returns
    -------
    pandas.DataFrame
        ``labels`` with every column of ``features`` except ``on``, from the key's row with the
        latest ``feature_time`` (ties: the later row). Keys absent from ``features`` get NaN.

    Book: Chapter 5, "Data Leakage" (leakage from the future).

    Examples
    --------
    The label of January 3 gets the count of January 4, written after it:

    >>> labels = pd.DataFrame({"user_id": [1, 2, 1],
    ...                        "timestamp": pd.to_datetime(["2024-01-05", "2024-01-05", "2024-01-03"])})
    >>> log = pd.DataFrame({"user_id": [1, 1, 2],
    ...                     "feature_time": pd.to_datetime(["2024-01-01", "2024-01-04", "2024-01-06"]),
    ...                     "chargebacks": [1, 2, 1]})
    >>> naive_latest_join(labels, log)["chargebacks"].tolist()
    [2, 1, 2]
    """
    lk, fk = _check_join(labels, features, on, label_time, feature_time, suffix)
    check_time_column("labels", labels, label_time, "label_time")
    ft = check_time_column("features", features, feature_time, "feature_time")
    order = np.argsort(ft, kind="stable")
    last = pd.Series(order, index=fk[order])
    last = last[~last.index.duplicated(keep="last")]
    pos = last.reindex(lk).fillna(-1).to_numpy(np.int64)
    return _attach(labels, features, on, pos, suffix)


def chargeback_log(df: pd.DataFrame, *, key: str = "user_id") -> pd.DataFrame:
    """A feature log from the fraud world: each chargeback raises the card's running chargeback count.

    One row per fraud transaction, at the time its chargeback arrived (``label_known_at``), with the
    number of chargebacks of that key known so far. Point-in-time joined at a transaction's
    timestamp, it is a legitimate feature (past chargebacks of this card); joined as of the export
    (:func:`naive_latest_join`) it counts the transaction's own future chargeback.

    Parameters
    ----------
    df : pandas.DataFrame
        Transactions with ``key``, ``is_fraud`` (0/1) and ``label_known_at`` (datetime, no NaT for a
        fraud), as made by :func:`mlsys_course.datasets.make_transactions`.
    key : str, default "user_id"
        The entity the count is kept for (no missing values on fraud rows); not ``"feature_time"``
        or ``"chargebacks"``, the log's own columns.

    Returns
    -------
    pandas.DataFrame
        Columns ``key``, ``feature_time`` (datetime64[ns]) and ``chargebacks`` (int64), sorted by
        time (ties keep the order of ``df``).

    Book: Chapter 5, "Data Leakage"; Chapter 4, "Natural Labels".

    Examples
    --------
    >>> df = pd.DataFrame({"user_id": [7, 7, 8, 7], "is_fraud": [1, 0, 1, 1],
    ...     "label_known_at": pd.to_datetime(["2024-02-01", "2024-03-01", "2024-01-20", "2024-01-25"])})
    >>> chargeback_log(df)
       user_id feature_time  chargebacks
    0        8   2024-01-20            1
    1        7   2024-01-25            1
    2        7   2024-02-01            2
    """
    check_frame("df", df, min_rows=0)
    check_column("key", df, key)
    if key in ("feature_time", "chargebacks"):
        raise ValueError(f"key must not be 'feature_time' or 'chargebacks', the log's own columns; got {key!r} "
                         "(rename that column of df)")
    missing = [c for c in ("is_fraud", "label_known_at") if c not in df.columns]
    if missing:
        raise ValueError(f"df must have the columns 'is_fraud' and 'label_known_at' (as make_transactions makes); "
                         f"missing {missing}")
    fraud = check_binary_labels("df['is_fraud']", df["is_fraud"]).astype(bool) if len(df) else np.zeros(0, bool)
    known = check_time_column("df", df, "label_known_at", allow_nat=True)
    if df["label_known_at"].isna().to_numpy()[fraud].any():
        raise ValueError("df['label_known_at'] must be known (not NaT) for every fraud row")
    keys = df[key][fraud]
    if keys.isna().any():
        raise ValueError(f"df[{key!r}] must have no missing keys on fraud rows; got {int(keys.isna().sum())}")
    log = pd.DataFrame({key: keys.to_numpy(), "feature_time": known[fraud].view("datetime64[ns]")})
    log = log.sort_values("feature_time", kind="stable", ignore_index=True)
    log["chargebacks"] = log.groupby(key, sort=False).cumcount().astype(np.int64) + 1
    return log


# --- Detection ------------------------------------------------------------------------------------------
def _single_feature_scores(x: pd.Series, y: np.ndarray, folds: list[Split], seed: int | None) -> np.ndarray:
    """Out-of-fold P(y=1) from this feature alone: a depth-3 tree (numeric) or a target encoding (categorical)."""
    scores = np.empty(len(y))
    dtype = x.dtype
    if isinstance(dtype, pd.CategoricalDtype) or pd.api.types.is_object_dtype(dtype) or pd.api.types.is_string_dtype(dtype):
        # each category as an int code (missing values: one more category, -1), whatever the types of the values
        values = pd.factorize(x)[0].reshape(-1, 1)
        for train, test in folds:
            enc = TargetEncoder(target_type="binary").fit(values[train], y[train])
            scores[test] = enc.transform(values[test])[:, 0]
        return scores
    if isinstance(dtype, pd.DatetimeTZDtype):
        x = x.dt.tz_convert(None)
    if pd.api.types.is_datetime64_dtype(x.dtype) or pd.api.types.is_timedelta64_dtype(x.dtype):
        values = x.to_numpy().view(np.int64).astype(np.float64)  # NaT (the int64 minimum) set to NaN below
        values[x.isna().to_numpy()] = np.nan
    else:
        values = x.to_numpy(np.float64, na_value=np.nan)
    values = values.reshape(-1, 1)
    leaf = max(5, len(y) // 200)
    for train, test in folds:
        tree = DecisionTreeClassifier(max_depth=3, min_samples_leaf=leaf, random_state=seed).fit(values[train], y[train])
        scores[test] = tree.predict_proba(values[test])[:, 1]
    return scores


def _check_scan_feature(name: str, x: pd.Series) -> None:
    dtype = x.dtype
    ok = (pd.api.types.is_numeric_dtype(dtype) or pd.api.types.is_bool_dtype(dtype)
          or pd.api.types.is_datetime64_any_dtype(dtype) or pd.api.types.is_timedelta64_dtype(dtype)
          or isinstance(dtype, pd.CategoricalDtype) or pd.api.types.is_object_dtype(dtype)
          or pd.api.types.is_string_dtype(dtype))
    if not ok or pd.api.types.is_complex_dtype(dtype):
        raise TypeError(f"{name}[{x.name!r}] must be numeric, boolean, datetime, categorical or string; got dtype {dtype}")
    if pd.api.types.is_object_dtype(dtype):
        try:
            pd.factorize(x)
        except TypeError:  # unhashable values (lists, dicts, arrays)
            raise TypeError(f"{name}[{x.name!r}] must hold numbers, strings or other hashable categories; got values "
                            f"of type {show(sorted({type(v).__name__ for v in x}))}") from None


def _time_columns(time: Any, X: pd.DataFrame) -> list:
    if time is None:
        return []
    if isinstance(time, (list, tuple, np.ndarray, pd.Index)):
        return check_columns("time", X, time, frame="X_train")
    return [check_column("time", X, time, frame="X_train")]


def _power_threshold(aucs: list[float], auc_threshold: float, error_ratio: float | None) -> float:
    """The bar of the predictive-power check: ``auc_threshold``, lowered to just above the deepest gap.

    ``aucs`` sorted in decreasing order. A gap below feature ``j``: ``(1 - aucs[j]) * error_ratio <=
    1 - aucs[j + 1]``. With gaps, the bar is ``1 - (1 - aucs[g + 1]) / error_ratio`` for the deepest gap
    ``g`` (every feature down to ``g`` clears it, none below does); without one, that bar over the
    second-best feature (which the best feature did not reach).
    """
    if error_ratio is None or len(aucs) < 2:
        return auc_threshold
    gaps = [j for j in range(len(aucs) - 1) if (1 - aucs[j]) * error_ratio <= 1 - aucs[j + 1]]
    reference = aucs[gaps[-1] + 1] if gaps else aucs[1]
    return float(min(auc_threshold, 1 - (1 - reference) / error_ratio))


def leakage_scan(
    X_train: pd.DataFrame,
    y_train: Any,
    X_test: pd.DataFrame | None = None,
    *,
    time: str | Sequence[str] | None = None,
    label_time: str | None = None,
    auc_threshold: float = 0.95,
    error_ratio: float | None = 2.0,
    max_duplicate_share: float = 0.0,
    cv: int = 5,
    random_state: RandomState = None,
) -> pd.DataFrame:
    """Look for the three signatures of leakage in a training set (and its test set).

    1. **Predictive power** (``check="predictive_power"``, one row per feature): the ROC-AUC of the
       feature *alone*, out of fold (stratified ``cv``-fold on the training rows): a depth-3 decision
       tree for numeric, boolean, datetime and timedelta columns (missing values allowed), a target
       encoding for categorical and string columns. Flagged when ``>= auc_threshold`` (default
       0.95): in a hard problem (fraud, churn) no honest single feature separates the classes almost
       perfectly, so such a feature is usually the label in disguise. A fixed bar misses a leak just
       below it, so a feature far above the rest is flagged too (``error_ratio``, default 2): sort
       the AUCs; where a feature's ranking error ``1 - AUC`` is at most ``1 / error_ratio`` of the
       next lower feature's, that feature and every one above it are flagged. ``threshold`` shows
       the bar that resulted (the lower of the two). Out-of-fold scoring keeps ID-like columns
       (unique per row) near 0.5 instead of memorised at 1.0. The PR-AUC is in ``detail``.
    2. **Duplicates across the split** (``check="duplicate_rows"``, with ``X_test``): the share of test
       rows whose feature values (all columns except the time columns) exactly equal a training row's,
       compared by a 64-bit row hash. Flagged when above ``max_duplicate_share`` (default 0: any).
       Data with few discrete features has honest duplicates; raise the threshold there.
    3. **Future timestamps** (``check="future_timestamp"``, with ``time`` and ``label_time``): rows
       whose feature timestamp is after their label's (prediction) time, in the training and in the
       test set. Flagged when any.

    Parameters
    ----------
    X_train : pandas.DataFrame
        Training features (numeric, boolean, datetime, timedelta, categorical or string columns,
        unique names), plus the time columns named by ``time`` and ``label_time``.
    y_train : array-like of shape (n_train,)
        0/1 labels with both classes, at least ``cv`` of each (a Series is read by position).
    X_test : pandas.DataFrame, optional
        Test features with the same columns in the same order.
    time : str or list of str, optional
        Datetime columns holding when each feature value was computed or observed. Needs ``label_time``.
    label_time : str, optional
        Datetime column holding the time of the prediction the row trains for. Needs ``time``.
    auc_threshold : float, default 0.95
        Single-feature ROC-AUC flagged as suspicious whatever the other features score, in (0.5, 1].
    error_ratio : float > 1 or None, default 2.0
        The relative bar: a feature whose ``1 - AUC`` is at most ``1 / error_ratio`` of the next lower
        feature's (it makes half the ranking errors or fewer) is flagged, with every feature above it.
        None: the absolute ``auc_threshold`` only. Needs two features or more.
    max_duplicate_share : float, default 0.0
        Largest share of test rows duplicated in training that is not flagged, in [0, 1).
    cv : int, default 5
        Folds for the out-of-fold scores (>= 2).
    random_state : int, numpy.random.Generator or None, default None
        Seed of the folds and the trees (None: the AUCs vary slightly from call to call).

    Returns
    -------
    pandas.DataFrame
        One row per finding, columns ``SCAN_COLUMNS``: ``check``, ``feature`` (the column, or
        ``"<all>"`` for duplicates), ``statistic`` (``"roc_auc"``, ``"share_of_test_rows"``,
        ``"share_of_rows"``), ``value``, ``threshold``, ``flagged`` (bool) and ``detail``.
        Predictive-power rows are sorted by decreasing AUC. ``scan.query("flagged")`` lists the leaks.

    Book: Chapter 5, "Detecting Data Leakage" (measure the predictive power of each feature, or set
    of features, with respect to the target; look out for features with unusually high correlation)
    and "Data Leakage: Poor handling of data duplication before splitting".

    Examples
    --------
    A feature that is a noisy copy of the label, and a test row copied from training:

    >>> rng = np.random.default_rng(0)
    >>> y = rng.integers(0, 2, 400)
    >>> X = pd.DataFrame({"honest": y + rng.normal(0, 2, 400), "copy": y + rng.normal(0, 0.1, 400)})
    >>> scan = leakage_scan(X.iloc[:300], y[:300], pd.concat([X.iloc[300:], X.iloc[:1]]), random_state=0)
    >>> scan.loc[scan["flagged"], ["check", "feature"]]
                check feature
    0  predictive_power    copy
    2    duplicate_rows   <all>
    """
    check_frame("X_train", X_train)
    y = check_binary_labels("y_train", y_train)
    if len(y) != len(X_train):
        raise ValueError(f"y_train must have one label per row of X_train ({len(X_train)}); got {len(y)}")
    if X_test is not None:
        check_frame("X_test", X_test, min_rows=0)
        if list(X_test.columns) != list(X_train.columns):
            raise ValueError(f"X_test must have the columns of X_train in the same order; got {show(list(X_test.columns))}")
    auc_threshold = check_real("auc_threshold", auc_threshold, low=0.5, high=1.0, low_open=True)
    if error_ratio is not None:
        error_ratio = check_real("error_ratio", error_ratio, low=1.0, low_open=True)
    max_duplicate_share = check_real("max_duplicate_share", max_duplicate_share, low=0.0, high=1.0, high_open=True)
    cv = check_int("cv", cv, minimum=2)
    seed = check_seed("random_state", random_state)
    time_columns = _time_columns(time, X_train)
    if bool(time_columns) != (label_time is not None):
        raise ValueError(f"time and label_time must be given together; got time={show(time)}, label_time={show(label_time)}")
    if label_time is not None:
        check_column("label_time", X_train, label_time, frame="X_train")
        if label_time in time_columns:
            raise ValueError(f"label_time must not be one of the time columns; got {label_time!r} in both")
    counts = np.bincount(y, minlength=2)
    if counts.min() < cv:
        raise ValueError(f"y_train must have at least cv={cv} rows of each class; got {counts.tolist()} (0s, 1s)")
    features = [c for c in X_train.columns if c not in time_columns and c != label_time]
    for column in features:
        _check_scan_feature("X_train", X_train[column])
        if X_test is not None:
            _check_scan_feature("X_test", X_test[column])
    frames = [("X_train", X_train)] + ([("X_test", X_test)] if X_test is not None else [])
    named = {**{c: "time" for c in time_columns}, **({label_time: "label_time"} if label_time is not None else {})}
    times = {(name, column): check_time_column(name, frame, column, argument, allow_nat=True)
             for name, frame in frames for column, argument in named.items()}
    rows = []

    folds = list(StratifiedKFold(cv, shuffle=True, random_state=seed).split(np.zeros(len(y)), y))
    power = []
    for column in features:
        s = _single_feature_scores(X_train[column], y, folds, seed)
        power.append((column, roc_auc_score(y, s), average_precision_score(y, s)))
    power.sort(key=lambda r: -r[1])
    threshold = _power_threshold([auc for _, auc, _ in power], auc_threshold, error_ratio)
    for i, (column, auc, ap) in enumerate(power):
        others = [p[1] for j, p in enumerate(power) if j != i]
        best_other = f"; best other feature {max(others):.3f}" if others else ""
        rows.append(("predictive_power", column, "roc_auc", auc, threshold, auc >= threshold,
                     f"PR-AUC {ap:.3f} (prevalence {y.mean():.3f}){best_other}"))

    if X_test is not None and features:
        seen = np.isin(pd.util.hash_pandas_object(X_test[features], index=False).to_numpy(),
                       pd.util.hash_pandas_object(X_train[features], index=False).to_numpy())
        share = float(seen.mean()) if len(seen) else 0.0
        rows.append(("duplicate_rows", "<all>", "share_of_test_rows", share, max_duplicate_share,
                     share > max_duplicate_share, f"{int(seen.sum())} of {len(seen)} test rows equal a training row"))

    for column in time_columns:
        late, total = 0, 0
        for name, frame in frames:
            valid = frame[column].notna().to_numpy() & frame[label_time].notna().to_numpy()
            late += int((valid & (times[name, column] > times[name, label_time])).sum())
            total += len(frame)
        rows.append(("future_timestamp", column, "share_of_rows", late / max(total, 1), 0.0, late > 0,
                     f"{late} of {total} rows have {column} after {label_time}"))
    return pd.DataFrame(rows, columns=SCAN_COLUMNS)

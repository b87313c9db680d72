"""Train-serving skew: compare the features the training pipeline computed with those the service computed.

A model is trained on features computed by an offline (batch) pipeline and served features computed by an
online path (per request, from a stream). When the two paths are two pieces of code they drift apart: a
window boundary that includes the current event on one side only, an account age in hours instead of days,
a different default for a missing value. Nothing crashes; the model silently sees inputs it was not trained
on. The check is simple: take the same events through both paths, join them on a key, and compare every
feature. :func:`skew_report` does that and reports each feature's mismatches; :func:`assert_no_skew` turns
it into a test a pipeline can run on every release.

Comparison rules, per feature (each row is one key present on both sides):

- **Numbers** (any numeric or boolean dtype on *both* sides, nullable ones included): compared as float64
  with ``numpy.isclose(online, offline, rtol=rtol, atol=atol, equal_nan=True)``: the offline (training)
  value is the reference, missing equals missing, and missing against a number is a mismatch. So an
  ``int64`` 3 and a ``float64`` 3.0 match, as do ``True`` and 1; the report shows both dtypes, so a dtype
  difference stays visible even where the values agree. (Integers above 2**53 lose precision as float64.)
- **Everything else** (strings, datetimes, objects, or a number on one side only): compared value by value
  with ``==``; missing (None, NaN, NaT, pd.NA) equals missing. No tolerance applies, and a number never
  equals its text ("1" vs 1 is a mismatch): cast a column first if that is what you mean.
- A **categorical** is first turned into its values, so a ``category`` "mobile" matches a ``str``
  "mobile", and a categorical of numbers compares as numbers.

Book: Chapter 7, "Unifying Batch Pipeline and Streaming Pipeline" (train-serving skew: the features a model
is served differ from those it was trained on, because two pipelines compute them).
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from mlsys_course._validation import check_bool, check_frame, check_real, is_hashable, show

__all__ = ["REPORT_COLUMNS", "SkewReport", "assert_no_skew", "skew_report"]

#: The columns of :attr:`SkewReport.features`, one row per compared feature.
REPORT_COLUMNS = ("rows", "mismatches", "share", "max_abs_diff", "example_key", "offline_value", "online_value",
                  "offline_dtype", "online_dtype")


def _scalar(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    return None if value is pd.NA else value


def _fmt(value: Any) -> str:
    if isinstance(value, tuple):
        return "(" + ", ".join(_fmt(v) for v in value) + ")"
    value = _scalar(value)
    if isinstance(value, float):
        return f"{value:.4g}"
    return repr(value)


@dataclass(frozen=True)
class SkewReport:
    """The outcome of :func:`skew_report`: per-feature mismatches and what is present on one side only.

    Attributes
    ----------
    key : tuple
        The key column(s) the two sides were joined on.
    n_rows : int
        Number of keys present on both sides: the rows compared.
    features : pandas.DataFrame
        One row per compared feature (index ``feature``), columns ``REPORT_COLUMNS``: ``rows`` compared
        (keys on both sides), ``mismatches`` and their ``share``, ``max_abs_diff`` (largest absolute
        difference over rows where both values are present; NaN for non-numeric features), the first
        mismatching key in the offline frame's row order (``example_key``, a tuple for a composite key,
        None when all match) with its ``offline_value`` and ``online_value``, and the two dtypes.
    offline_only_keys, online_only_keys : pandas.Index
        Keys present on one side only (a MultiIndex for a composite key).
    offline_only_columns, online_only_columns : tuple
        Columns present on one side only.

    ``ok`` is True when at least one row and one feature were compared and nothing mismatched or was
    present on one side only; ``str(report)`` is a readable summary.
    """

    key: tuple
    n_rows: int
    features: pd.DataFrame
    offline_only_keys: pd.Index
    online_only_keys: pd.Index
    offline_only_columns: tuple
    online_only_columns: tuple

    def __post_init__(self) -> None:
        if not isinstance(self.key, tuple) or not self.key:
            raise TypeError(f"key must be a non-empty tuple of column names; got {show(self.key)}")
        if isinstance(self.n_rows, bool) or not isinstance(self.n_rows, (int, np.integer)):
            raise TypeError(f"n_rows must be a non-negative int (the keys compared); got {show(self.n_rows)}")
        if self.n_rows < 0:
            raise ValueError(f"n_rows must be a non-negative int (the keys compared); got {self.n_rows}")
        check_frame("features", self.features, min_rows=0, columns=list(REPORT_COLUMNS))
        for name in ("offline_only_keys", "online_only_keys"):
            if not isinstance(getattr(self, name), pd.Index):
                raise TypeError(f"{name} must be a pandas Index of keys; got {show(getattr(self, name))}")
        for name in ("offline_only_columns", "online_only_columns"):
            if not isinstance(getattr(self, name), tuple):
                raise TypeError(f"{name} must be a tuple of column names; got {show(getattr(self, name))}")

    @property
    def n_mismatches(self) -> int:
        """Mismatching values, summed over features."""
        return int(self.features["mismatches"].sum())

    @property
    def ok(self) -> bool:
        """No mismatch, nothing on one side only, and something was compared."""
        return (self.n_rows > 0 and len(self.features) > 0 and self.n_mismatches == 0
                and not len(self.offline_only_keys) and not len(self.online_only_keys)
                and not self.offline_only_columns and not self.online_only_columns)

    def __str__(self) -> str:
        key = self.key[0] if len(self.key) == 1 else list(self.key)
        bad = self.features[self.features["mismatches"] > 0]
        lines = [f"train-serving skew report on key {key!r}: {self.n_rows} rows compared, "
                 f"{len(bad)} of {len(self.features)} features mismatch"]
        for name, row in bad.iterrows():
            lines.append(f"  {name!r}: {row['mismatches']} of {row['rows']} rows ({row['share']:.1%}), max abs diff "
                         f"{_fmt(row['max_abs_diff'])}; e.g. key {_fmt(row['example_key'])}: offline "
                         f"{_fmt(row['offline_value'])}, online {_fmt(row['online_value'])}")
        for name, row in self.features[self.features["mismatches"] == 0].iterrows():
            if row["offline_dtype"] != row["online_dtype"]:
                lines.append(f"  {name!r}: values match; dtypes differ ({row['offline_dtype']} offline, "
                             f"{row['online_dtype']} online)")
        for side, keys in (("offline", self.offline_only_keys), ("online", self.online_only_keys)):
            if len(keys):
                lines.append(f"  {len(keys)} key(s) only {side}, e.g. {_fmt(keys[0])}")
        for side, columns in (("offline", self.offline_only_columns), ("online", self.online_only_columns)):
            if columns:
                lines.append(f"  columns only {side}: {list(columns)}")
        if self.n_rows == 0:
            lines.append("  no key is on both sides: nothing was compared")
        return "\n".join(lines)


def _key_columns(key: Any, offline: pd.DataFrame, online: pd.DataFrame) -> tuple:
    if isinstance(key, (list, tuple)):
        columns = tuple(key)
        if not columns:
            raise ValueError("key must name at least one column; got an empty list")
    elif key is None or isinstance(key, (set, dict)) or not is_hashable(key):
        raise TypeError(f"key must be a column name or a list of column names present in both frames; got {show(key)}")
    else:
        columns = (key,)
    if len(set(map(repr, columns))) != len(columns):
        raise ValueError(f"key must not repeat a column; got {show(list(columns))}")
    for side, frame in (("offline", offline), ("online", online)):
        absent = [c for c in columns if not is_hashable(c) or c not in frame.columns]
        if absent:
            raise ValueError(f"key must name columns of both frames; {side} lacks {show(absent)}; "
                             f"it has {show(list(frame.columns))}")
    return columns


def _kind(series: pd.Series) -> str:
    dtype = series.dtype
    if pd.api.types.is_bool_dtype(dtype) or (pd.api.types.is_numeric_dtype(dtype) and not pd.api.types.is_complex_dtype(dtype)):
        return "number"
    if pd.api.types.is_datetime64_any_dtype(dtype):
        return "datetime"
    if pd.api.types.is_timedelta64_dtype(dtype):
        return "timedelta"
    if isinstance(dtype, pd.CategoricalDtype):
        return _kind(pd.Series(dtype.categories))
    return "other"


def _key_index(side: str, frame: pd.DataFrame, columns: tuple) -> pd.Index:
    parts = []
    for c in columns:
        values = frame[c]
        if values.isna().any():
            raise ValueError(f"key column {c!r} of {side} must have no missing values; got {int(values.isna().sum())}")
        if isinstance(values.dtype, pd.CategoricalDtype):
            values = values.astype(values.dtype.categories.dtype)
        parts.append(values.reset_index(drop=True).rename(c))
    index = pd.Index(parts[0]) if len(parts) == 1 else pd.MultiIndex.from_arrays(parts)
    if not index.is_unique:
        first = index[index.duplicated()][0]
        raise ValueError(f"key must identify one row of {side}; got {int(index.duplicated().sum())} repeated "
                         f"key(s), e.g. {show(first)}")
    return index


def _check_key_kinds(columns: tuple, offline: pd.DataFrame, online: pd.DataFrame) -> None:
    for c in columns:
        kinds = _kind(offline[c]), _kind(online[c])
        if kinds[0] != kinds[1]:
            raise TypeError(f"key column {c!r} must hold the same kind of value on both sides so keys can match; "
                            f"got {offline[c].dtype} offline and {online[c].dtype} online (cast one side first)")


def _compared_columns(columns: Any, key: tuple, offline: pd.DataFrame, online: pd.DataFrame) -> tuple[list, tuple, tuple]:
    if columns is None:
        wanted = [c for c in offline.columns if c not in key] + [c for c in online.columns if c not in key and c not in offline.columns]
    else:
        if isinstance(columns, (str, bytes, dict)) or not hasattr(columns, "__iter__"):
            raise TypeError(f"columns must be a list of column names or None; got {show(columns)}")
        wanted = list(columns)
        if not wanted:
            raise ValueError("columns must name at least one column; got an empty list")
        unknown = [c for c in wanted if not is_hashable(c) or (c not in offline.columns and c not in online.columns)]
        if unknown:
            raise ValueError(f"columns must be columns of offline or online; got unknown {show(unknown)}")
        if len(set(wanted)) != len(wanted):
            raise ValueError(f"columns must not repeat a column; got {show(wanted)}")
        keys = [c for c in wanted if c in key]
        if keys:
            raise ValueError(f"columns must not include the key; got {show(keys)}")
    shared = [c for c in wanted if c in offline.columns and c in online.columns]
    offline_only = tuple(c for c in wanted if c in offline.columns and c not in online.columns)
    online_only = tuple(c for c in wanted if c in online.columns and c not in offline.columns)
    return shared, offline_only, online_only


def _equal(a: Any, b: Any) -> bool:
    try:
        result = a == b
    except Exception:  # noqa: BLE001 - an object whose == fails is not equal
        return False
    return bool(result) if isinstance(result, (bool, np.bool_)) else False


def _values_of(series: pd.Series) -> pd.Series:
    """A categorical as its values (numbers as float64 with NaN, anything else as objects); others unchanged."""
    if not isinstance(series.dtype, pd.CategoricalDtype):
        return series
    codes = series.cat.codes.to_numpy()
    categories = series.cat.categories
    if _kind(pd.Series(categories)) == "number":
        values = np.append(categories.to_numpy(dtype=np.float64), np.nan)[codes]  # code -1 (missing) picks the NaN
    else:
        values = np.append(categories.to_numpy(dtype=object), None)[codes]
    return pd.Series(values, index=series.index)


def _compare(a: pd.Series, b: pd.Series, rtol: float, atol: float) -> tuple[np.ndarray, float]:
    """Per row: mismatch (bool array); and the largest absolute difference (NaN if not numeric)."""
    a, b = _values_of(a), _values_of(b)
    if _kind(a) == "number" and _kind(b) == "number":
        x = a.to_numpy(dtype=np.float64, na_value=np.nan)
        y = b.to_numpy(dtype=np.float64, na_value=np.nan)
        mismatch = ~np.isclose(y, x, rtol=rtol, atol=atol, equal_nan=True)
        both = ~np.isnan(x) & ~np.isnan(y)
        with np.errstate(invalid="ignore"):
            diff = np.where(x[both] == y[both], 0.0, np.abs(y[both] - x[both]))
        return mismatch, float(diff.max()) if diff.size else float("nan")
    x, y = a.to_numpy(dtype=object), b.to_numpy(dtype=object)
    missing_x, missing_y = pd.isna(x), pd.isna(y)
    equal = np.fromiter((_equal(u, v) for u, v in zip(x, y)), dtype=bool, count=len(x))
    mismatch = ~((missing_x & missing_y) | (~missing_x & ~missing_y & equal))
    return mismatch, float("nan")


def skew_report(
    offline: pd.DataFrame,
    online: pd.DataFrame,
    *,
    key: Hashable | Sequence[Hashable],
    columns: Sequence[Hashable] | None = None,
    rtol: float = 1e-9,
    atol: float = 0.0,
) -> SkewReport:
    """Compare the same events' features from the offline (training) path and the online (serving) path.

    The two frames are joined on ``key`` (row order does not matter). Every feature column present on
    both sides is compared row by row under the rules of the module docstring (numbers: ``numpy.isclose``
    with the offline value as reference, NaN equal to NaN; other values: ``==``, a categorical as its
    values). Keys and columns present on one side only are reported, not dropped silently.

    Parameters
    ----------
    offline : pandas.DataFrame
        Features computed by the training pipeline (batch), one row per key.
    online : pandas.DataFrame
        Features computed by the serving path for the same events (e.g. logged by the service).
    key : column name or list of column names
        The column(s) identifying an event in both frames (e.g. ``"transaction_id"``); no missing values,
        unique on each side, and the same kind of value on both sides (numbers, text or datetimes).
    columns : list of column names, optional
        The features to compare (each in at least one frame; not the key). Default: every column of
        either frame except the key.
    rtol, atol : float, default 1e-9 and 0.0
        Tolerances for numeric features, as in ``numpy.isclose`` (both >= 0). The small default ``rtol``
        forgives last-digit differences between a vectorised and a scalar implementation of the same
        formula; ``atol`` is needed where values are exactly 0 on one side (a sum minus itself).

    Returns
    -------
    SkewReport
        ``features`` (one row per compared feature: rows, mismatches, share, max_abs_diff, an example
        key with both values, both dtypes), the keys and columns on one side only, ``ok`` and a readable
        ``str``.

    Book: Chapter 7, "Unifying Batch Pipeline and Streaming Pipeline" (train-serving skew).

    Example
    -------
    >>> offline = pd.DataFrame({"id": [1, 2, 3], "age_days": [3, 40, 700], "device": ["mobile", None, "tablet"]})
    >>> online = pd.DataFrame({"id": [3, 2, 1], "age_days": [700.0, 960.0, 3.0],     # hours, on one row
    ...                        "device": pd.Categorical(["tablet", None, "mobile"])})
    >>> report = skew_report(offline, online, key="id")
    >>> report.features[["rows", "mismatches", "share", "max_abs_diff", "example_key"]]
              rows  mismatches     share  max_abs_diff example_key
    feature
    age_days     3           1  0.333333         920.0           2
    device       3           0  0.000000           NaN        None
    >>> report.ok
    False
    """
    offline = check_frame("offline", offline)
    online = check_frame("online", online)
    key_columns = _key_columns(key, offline, online)
    rtol = check_real("rtol", rtol, low=0.0)
    atol = check_real("atol", atol, low=0.0)
    shared, offline_only_columns, online_only_columns = _compared_columns(columns, key_columns, offline, online)
    _check_key_kinds(key_columns, offline, online)
    offline_keys = _key_index("offline", offline, key_columns)
    online_keys = _key_index("online", online, key_columns)

    position = online_keys.get_indexer(offline_keys)  # each offline row's online row, -1 if none
    matched = position >= 0
    rows_offline, rows_online = np.flatnonzero(matched), position[matched]
    offline_only_keys = offline_keys[~matched]
    online_only_keys = online_keys[offline_keys.get_indexer(online_keys) < 0]

    records = []
    for column in shared:
        a = offline[column].iloc[rows_offline].reset_index(drop=True)
        b = online[column].iloc[rows_online].reset_index(drop=True)
        mismatch, max_abs_diff = _compare(a, b, rtol, atol)
        n_bad = int(mismatch.sum())
        first = int(np.argmax(mismatch)) if n_bad else None
        example = None if first is None else offline_keys[rows_offline[first]]
        records.append({
            "feature": column,
            "rows": len(rows_offline),
            "mismatches": n_bad,
            "share": n_bad / len(rows_offline) if len(rows_offline) else float("nan"),
            "max_abs_diff": max_abs_diff,
            "example_key": None if example is None else (tuple(map(_scalar, example)) if isinstance(example, tuple) else _scalar(example)),
            "offline_value": None if first is None else _scalar(a.iloc[first]),
            "online_value": None if first is None else _scalar(b.iloc[first]),
            "offline_dtype": str(offline[column].dtype),
            "online_dtype": str(online[column].dtype),
        })
    index = pd.Index([r["feature"] for r in records], dtype=object, name="feature")
    dtypes = {"rows": np.int64, "mismatches": np.int64, "share": np.float64, "max_abs_diff": np.float64}
    features = pd.DataFrame({c: pd.Series([r[c] for r in records], index=index, dtype=dtypes.get(c, object))
                             for c in REPORT_COLUMNS}, index=index)
    return SkewReport(key_columns, len(rows_offline), features, offline_only_keys, online_only_keys, offline_only_columns, online_only_columns)


def assert_no_skew(
    offline: pd.DataFrame,
    online: pd.DataFrame,
    *,
    key: Hashable | Sequence[Hashable],
    columns: Sequence[Hashable] | None = None,
    rtol: float = 1e-9,
    atol: float = 0.0,
    allow_unmatched_keys: bool = False,
) -> SkewReport:
    """Raise an ``AssertionError`` carrying the :func:`skew_report` unless the two paths agree: a pipeline test.

    Fails when any value mismatches, a column is on one side only, nothing was compared, or (unless
    ``allow_unmatched_keys``) a key is on one side only.

    Parameters
    ----------
    offline, online, key, columns, rtol, atol
        As in :func:`skew_report`.
    allow_unmatched_keys : bool, default False
        Pass although some keys are on one side only (e.g. the service logged a sample of the requests
        and the offline frame holds them all); at least one key must still be on both sides.

    Returns
    -------
    SkewReport
        The report, when the check passes.

    Book: Chapter 7, "Unifying Batch Pipeline and Streaming Pipeline" (train-serving skew).

    Example
    -------
    >>> offline = pd.DataFrame({"id": [1, 2], "payments_1h": [1, 2]})
    >>> assert_no_skew(offline, pd.DataFrame({"id": [2, 1], "payments_1h": [2.0, 1.0]}), key="id").ok
    True
    >>> assert_no_skew(offline, pd.DataFrame({"id": [1, 2], "payments_1h": [0.0, 1.0]}), key="id")
    Traceback (most recent call last):
    ...
    AssertionError: train-serving skew report on key 'id': 2 rows compared, 1 of 1 features mismatch
      'payments_1h': 2 of 2 rows (100.0%), max abs diff 1; e.g. key 1: offline 1, online 0
    """
    allow_unmatched_keys = check_bool("allow_unmatched_keys", allow_unmatched_keys)
    report = skew_report(offline, online, key=key, columns=columns, rtol=rtol, atol=atol)
    unmatched = bool(len(report.offline_only_keys) or len(report.online_only_keys))
    passed = (report.n_rows > 0 and len(report.features) > 0 and report.n_mismatches == 0
              and not report.offline_only_columns and not report.online_only_columns
              and (allow_unmatched_keys or not unmatched))
    if not passed:
        raise AssertionError(str(report))
    return report

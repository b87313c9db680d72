"""The package's one set of argument contracts: bad input gets a clear error naming the argument.

Each check returns the validated value (converted only where the conversion is lossless), or raises
``TypeError`` (wrong kind of thing) / ``ValueError`` (right kind, wrong value) with a message of the
form ``"<name> must be <what is accepted>; got <what was given>"``.

Contracts every module follows (modules never define their own copies of these checks):

- ``random_state``: scikit-learn's meaning. Recipes default to None (fresh randomness); an int gives
  the same result every time; a ``numpy.random.Generator`` is accepted too. Use
  :func:`check_random_state` for numpy draws and :func:`check_seed` to hand a seed to scikit-learn or
  imbalanced-learn (an int passes through unchanged, so results equal the library's with that int).
- ``scoring``: scikit-learn's contract. A scorer name (``"average_precision"``), a callable
  ``scorer(estimator, X, y)``, or None for the estimator's own ``score``; :func:`check_scoring` returns
  the scorer. Several metrics: a list of names or a dict of name -> scorer (:func:`check_scorings`).
- frames and columns: :func:`check_frame` (a DataFrame with unique column names) and
  :func:`check_columns`; estimators: :func:`check_estimator`.
"""

from __future__ import annotations

import datetime as _dt
import numbers
import os
from typing import Any

import numpy as np
import pandas as pd

RandomState = int | np.random.Generator | None


def show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def check_int(name: str, value: Any, *, minimum: int | None = None, maximum: int | None = None) -> int:
    """An integer (not a bool, not a float) within ``[minimum, maximum]``."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an integer; got {show(value)} of type {type(value).__name__}")
    value = int(value)
    if minimum is not None and value < minimum:
        raise ValueError(f"{name} must be >= {minimum}; got {value}")
    if maximum is not None and value > maximum:
        raise ValueError(f"{name} must be <= {maximum}; got {value}")
    return value


def check_real(
    name: str,
    value: Any,
    *,
    low: float | None = None,
    high: float | None = None,
    low_open: bool = False,
    high_open: bool = False,
) -> float:
    """A finite real number (not a bool) within the given bounds (closed unless ``*_open``)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a real number; got {show(value)} of type {type(value).__name__}")
    value = float(value)
    if not np.isfinite(value):
        raise ValueError(f"{name} must be finite; got {value}")
    lo = "(" if low_open else "["
    hi = ")" if high_open else "]"
    interval = f"{lo}{'-inf' if low is None else low}, {'inf' if high is None else high}{hi}"
    if low is not None and (value < low or (low_open and value == low)):
        raise ValueError(f"{name} must be in {interval}; got {value}")
    if high is not None and (value > high or (high_open and value == high)):
        raise ValueError(f"{name} must be in {interval}; got {value}")
    return value


def check_probability(name: str, value: Any, *, open_interval: bool = True) -> float:
    """A probability in (0, 1) (or [0, 1] with ``open_interval=False``)."""
    return check_real(name, value, low=0.0, high=1.0, low_open=open_interval, high_open=open_interval)


def check_choice(name: str, value: Any, choices: tuple) -> Any:
    """One of ``choices`` (by equality; an array or other unhashable value is never one, nor is a bool a number).

    When every choice is a string, a value that is not one is a ``TypeError``."""
    if all(isinstance(c, str) for c in choices) and not isinstance(value, str):
        raise TypeError(f"{name} must be one of {', '.join(map(repr, choices))}; got {show(value)} of type {type(value).__name__}")
    valid = is_hashable(value) and not isinstance(value, np.ndarray) and value in choices
    if valid and isinstance(value, (bool, np.bool_)):
        valid = any(isinstance(c, bool) and c == value for c in choices)
    if not valid:
        raise ValueError(f"{name} must be one of {', '.join(map(repr, choices))}; got {show(value)}")
    return value


def check_random_state(name: str, value: Any) -> np.random.Generator:
    """An int seed, a ``numpy.random.Generator`` or None, returned as a Generator (for numpy draws).

    A Generator is returned as given (drawing from it advances the caller's generator)."""
    if value is None or isinstance(value, np.random.Generator):
        return np.random.default_rng(value)
    return np.random.default_rng(check_seed(name, value))


def check_seed(name: str, value: Any) -> int | None:
    """An int seed for scikit-learn or imbalanced-learn: an int is kept, a Generator draws one, None stays None.

    >>> check_seed("random_state", 7), check_seed("random_state", None)
    (7, None)
    """
    if value is None:
        return None
    if isinstance(value, np.random.Generator):
        return int(value.integers(2**31 - 1))
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(
            f"{name} must be an int, a numpy.random.Generator or None; got {show(value)} "
            f"of type {type(value).__name__}"
        )
    if value < 0:
        raise ValueError(f"{name} must be a non-negative int seed; got {value}")
    if value >= 2**32:
        raise ValueError(f"{name} must be an int seed below 2**32 (scikit-learn's limit); got {value}")
    return int(value)


def check_array(
    name: str,
    value: Any,
    *,
    ndim: int = 1,
    min_len: int = 1,
    numeric: bool = True,
    finite: bool = True,
) -> np.ndarray:
    """An array-like of the given dimension, non-empty, numeric and finite unless told otherwise."""
    if isinstance(value, (str, bytes)) or np.isscalar(value):
        raise TypeError(f"{name} must be array-like with {ndim} dimension(s); got {show(value)}")
    arr = np.asarray(value)
    if arr.ndim != ndim:
        raise ValueError(f"{name} must have {ndim} dimension(s); got shape {arr.shape}")
    if len(arr) < min_len:
        raise ValueError(f"{name} must have at least {min_len} element(s); got {len(arr)}")
    if numeric:
        if arr.dtype == bool or not np.issubdtype(arr.dtype, np.number):
            raise TypeError(f"{name} must be numeric; got dtype {arr.dtype}")
        if finite and not np.all(np.isfinite(arr)):
            raise ValueError(f"{name} must be finite (no NaN or inf); got {int(np.sum(~np.isfinite(arr)))} non-finite value(s)")
    return arr


def check_binary_labels(name: str, value: Any) -> np.ndarray:
    """A 1-d array of 0/1 (or boolean) labels, returned as int8."""
    arr = np.asarray(value)
    if arr.ndim != 1 or len(arr) == 0:
        raise ValueError(f"{name} must be a non-empty 1-d array of 0/1 labels; got shape {arr.shape}")
    if arr.dtype == bool:
        return arr.astype(np.int8)
    if not np.issubdtype(arr.dtype, np.number):
        raise TypeError(f"{name} must hold 0/1 labels; got dtype {arr.dtype}")
    bad = ~np.isin(arr, (0, 1))
    if bad.any():
        raise ValueError(f"{name} must hold only 0 and 1; got {show(np.unique(arr[bad])[:5].tolist())}")
    return arr.astype(np.int8)


def check_same_length(**arrays: np.ndarray) -> None:
    """All arrays have the same length."""
    lengths = {k: len(v) for k, v in arrays.items()}
    if len(set(lengths.values())) > 1:
        raise ValueError("arguments must have the same length; got " + ", ".join(f"{k}={n}" for k, n in lengths.items()))


def check_duration(name: str, value: Any) -> pd.Timedelta:
    """A positive duration: a pandas offset string ("10min", "30D"), a Timedelta, timedelta or timedelta64."""
    if not isinstance(value, (str, pd.Timedelta, _dt.timedelta, np.timedelta64)):
        raise TypeError(
            f"{name} must be a duration such as '10min', a pandas.Timedelta or a datetime.timedelta; "
            f"got {show(value)} of type {type(value).__name__}"
        )
    try:
        td = pd.Timedelta(value)
    except ValueError:
        raise ValueError(f"{name} must be a duration such as '10min' or '30D'; got {show(value)}") from None
    if td is pd.NaT or td <= pd.Timedelta(0):
        raise ValueError(f"{name} must be a positive duration; got {show(value)}")
    return td


def check_bool(name: str, value: Any) -> bool:
    """True or False (a numpy bool too); nothing else is read as a truth value."""
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name} must be True or False; got {show(value)} of type {type(value).__name__}")
    return bool(value)


def check_frame(name: str, value: Any, *, min_rows: int = 1, columns: Any = None) -> pd.DataFrame:
    """A pandas DataFrame with unique column names, at least ``min_rows`` rows and the given ``columns``."""
    if not isinstance(value, pd.DataFrame):
        raise TypeError(f"{name} must be a pandas DataFrame; got {show(value)} of type {type(value).__name__}")
    if len(value) < min_rows:
        raise ValueError(f"{name} must have at least {min_rows} row(s); got {len(value)}")
    duplicated = value.columns[value.columns.duplicated()].unique().tolist()
    if duplicated:
        raise ValueError(f"{name} must have unique column names; got repeated {show(duplicated)}")
    if columns is not None:
        check_columns("columns", value, columns, frame=name)
    return value


def check_column(name: str, df: Any, column: Any, *, frame: str = "df") -> Any:
    """One column name of ``df`` (the argument is called ``name``; the frame's argument ``frame``)."""
    if isinstance(column, (list, tuple, set, dict)) or column is None:
        raise TypeError(f"{name} must be one column name of {frame}; got {show(column)}")
    try:
        present = column in df.columns
    except TypeError:  # unhashable
        present = False
    if not present:
        raise ValueError(f"{name} must be a column of {frame}; got {show(column)}; {frame} has {show(list(df.columns))}")
    return column


def check_columns(name: str, df: Any, columns: Any, *, frame: str = "df", min_len: int = 1) -> list:
    """A list of distinct column names of ``df``; a single name (str) is refused, to avoid reading it letter by letter."""
    if isinstance(columns, (str, bytes)) or not hasattr(columns, "__iter__") or isinstance(columns, dict):
        raise TypeError(
            f"{name} must be a list of column names; got {show(columns)} of type {type(columns).__name__}"
        )
    columns = list(columns)
    if len(columns) < min_len:
        raise ValueError(f"{name} must name at least {min_len} column(s) of {frame}; got {columns}")
    unknown = [c for c in columns if not is_hashable(c) or c not in df.columns]
    if unknown:
        raise ValueError(
            f"{name} must be columns of {frame}; got unknown {show(unknown)}; {frame} has {show(list(df.columns))}"
        )
    if len(set(columns)) != len(columns):
        raise ValueError(f"{name} must not repeat a column; got {show(columns)}")
    return columns


def is_hashable(value: Any) -> bool:
    """True when ``value`` can be a dict key or a category (pandas counts some unhashable values silently)."""
    try:
        hash(value)
    except TypeError:
        return False
    return True


def check_estimator(name: str, value: Any, *, methods: tuple[str, ...] = ("fit",)) -> Any:
    """A scikit-learn style estimator (``get_params`` and the given methods); returned as given, not cloned."""
    if isinstance(value, type):
        raise TypeError(f"{name} must be an estimator instance; got the class {value.__name__} (call it: {value.__name__}())")
    missing = [m for m in ("get_params", *methods) if not callable(getattr(value, m, None))]
    if missing:
        raise TypeError(
            f"{name} must be a scikit-learn estimator with {', '.join(('get_params', *methods))}; "
            f"got {show(value)} of type {type(value).__name__}, which lacks {', '.join(missing)}"
        )
    return value


def check_scoring(name: str, value: Any, *, allow_none: bool = True) -> Any:
    """scikit-learn's ``scoring``: a scorer name, a callable ``scorer(estimator, X, y)``, or None.

    Returns the scorer callable (None stays None: the estimator's own ``score``).

    >>> check_scoring("scoring", "average_precision")
    make_scorer(average_precision_score, response_method=('decision_function', 'predict_proba'))
    """
    # scikit-learn is imported here, not at the top: chapter 3's child processes (writers, consumers) import
    # this module, and sklearn.metrics would add about a second to each one's start.
    from sklearn.metrics import get_scorer, get_scorer_names

    if value is None:
        if not allow_none:
            raise ValueError(f"{name} must be a scorer name such as 'average_precision' or a callable; got None")
        return None
    if callable(value):
        return value
    if isinstance(value, str):
        if value not in get_scorer_names():
            raise ValueError(
                f"{name} must be a scikit-learn scorer name such as 'average_precision', 'roc_auc' or 'r2' "
                f"(sklearn.metrics.get_scorer_names()); got {value!r}"
            )
        return get_scorer(value)
    raise TypeError(
        f"{name} must be a scorer name (str), a callable scorer(estimator, X, y) or None; "
        f"got {show(value)} of type {type(value).__name__}"
    )


def check_scorings(name: str, value: Any) -> dict:
    """Several metrics in scikit-learn's multi-metric form: a name, a list of names, or a dict name -> scorer.

    Returns a dict from metric name to scorer callable, in the order given.
    """
    if isinstance(value, str):
        return {value: check_scoring(name, value, allow_none=False)}
    if isinstance(value, dict):
        if not value:
            raise ValueError(f"{name} must name at least one metric; got an empty dict")
        for key in value:
            if not isinstance(key, str):
                raise TypeError(f"{name} must have str keys; got {show(key)}")
        return {k: check_scoring(f"{name}[{k!r}]", v, allow_none=False) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        if not value:
            raise ValueError(f"{name} must name at least one metric; got {show(value)}")
        if len(set(map(str, value))) != len(value):
            raise ValueError(f"{name} must not repeat a metric; got {show(value)}")
        for v in value:
            if not isinstance(v, str):
                raise TypeError(f"{name} as a list must hold scorer names; got {show(v)}")
        return {v: check_scoring(name, v, allow_none=False) for v in value}
    raise TypeError(
        f"{name} must be a scorer name, a list of names or a dict of name -> scorer; "
        f"got {show(value)} of type {type(value).__name__}"
    )


def check_timestamp(name: str, value: Any) -> pd.Timestamp:
    """A timezone-naive date (string, datetime, date, numpy datetime64 or Timestamp) as a nanosecond Timestamp."""
    if isinstance(value, bool) or not isinstance(value, (str, _dt.date, np.datetime64)):
        raise TypeError(
            f"{name} must be a date string such as '2024-01-01' or a datetime; got {show(value)} "
            f"of type {type(value).__name__}"
        )
    try:
        ts = pd.Timestamp(value)
    except (ValueError, OverflowError):
        ts = None
    if ts is None or pd.isna(ts):
        raise ValueError(f"{name} must be a parsable date between 1678 and 2261 such as '2024-01-01'; got {show(value)}")
    if ts.tz is not None:
        raise ValueError(f"{name} must be timezone-naive; got {show(value)}")
    try:
        return ts.as_unit("ns")
    except (ValueError, OverflowError):
        raise ValueError(f"{name} must be a date between 1678 and 2261; got {show(value)}") from None


def check_labels(name: str, value: Any, *, min_len: int = 1) -> np.ndarray:
    """A 1-d array of class labels of one kind: no missing (NaN, None) or infinite label, no str mixed with numbers.

    (numpy would turn ``["a", 1]`` into ``["a", "1"]`` without a word.)"""
    y = check_array(name, value, numeric=False, min_len=min_len)
    if isinstance(value, (list, tuple)) and y.dtype.kind == "U" and not all(isinstance(v, str) for v in value):
        raise TypeError(f"{name} must hold labels of one type, all str or all numbers; got {show(list(value)[:5])}")
    bad = pd.isna(y) | (np.isinf(y) if y.dtype.kind == "f" else False)
    if np.any(bad):
        raise ValueError(f"{name} must not contain missing or infinite labels (NaN, None, inf); got {int(np.sum(bad))} of them")
    return y


def check_time_column(frame: str, df: pd.DataFrame, column: Any, argument: str | None = None, *,
                      allow_nat: bool = False) -> np.ndarray:
    """A timezone-naive datetime column of ``df`` as int64 nanoseconds (NaT as the int64 minimum when allowed).

    ``frame`` is the frame's argument name and ``argument`` the parameter that named the column (for the
    messages). Times outside 1678-2261 are refused: numpy's cast to nanoseconds would wrap them silently.
    """
    col = df[column]
    where = f"{frame}[{column!r}]" + (f" (the {argument} column)" if argument and column != argument else "")
    if isinstance(col.dtype, pd.DatetimeTZDtype):
        raise ValueError(f"{where} must be timezone-naive; got {col.dtype} (use .dt.tz_convert(None))")
    if not pd.api.types.is_datetime64_dtype(col.dtype):
        raise TypeError(f"{where} must have a datetime64 dtype; got {col.dtype}")
    if col.dtype != np.dtype("datetime64[ns]"):
        try:  # pandas' cast raises outside the nanosecond range (OutOfBoundsDatetime is a ValueError)
            col = col.dt.as_unit("ns")
        except (ValueError, OverflowError):
            raise ValueError(f"{where} must hold times between 1678 and 2261; got {col.min()} to {col.max()}") from None
    t = col.to_numpy("datetime64[ns]").view(np.int64)
    if not allow_nat:
        n_nat = int(np.count_nonzero(t == np.iinfo(np.int64).min))
        if n_nat:
            raise ValueError(f"{where} must have no missing times; got {n_nat} NaT")
    return t


def check_directory(name: str, value: Any) -> str:
    """An existing directory, given as a str or os.PathLike."""
    if not isinstance(value, (str, os.PathLike)):
        raise TypeError(f"{name} must be a path to an existing directory (str or os.PathLike); got {show(value)}")
    path = os.fspath(value)
    if not os.path.isdir(path):
        raise ValueError(f"{name} must be an existing directory; got {path!r}, which is not a directory")
    return path


def json_default(value: Any) -> Any:
    """``json.dumps``'s ``default``: numpy scalars and arrays become Python numbers and lists; else a TypeError."""
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    raise TypeError(f"a value of type {type(value).__name__} ({show(value)}) is not JSON")


_DURATION_UNITS = (("D", 86_400_000_000_000), ("h", 3_600_000_000_000), ("min", 60_000_000_000),
                   ("s", 1_000_000_000), ("ms", 1_000_000), ("us", 1_000))


def duration_label(td: pd.Timedelta) -> str:
    """'10min', '1h', '1D', ... : the duration in the largest unit that divides it (a column-name suffix).

    >>> duration_label(pd.Timedelta("90min")), duration_label(pd.Timedelta("2D"))
    ('90min', '2D')
    """
    for suffix, ns in _DURATION_UNITS:
        if td.value % ns == 0:
            return f"{td.value // ns}{suffix}"
    return f"{td.value}ns"

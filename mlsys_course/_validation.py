"""Argument checks shared by every helper: bad input gets a clear error naming the argument.

Each check returns the validated value (converted only where the conversion is lossless), or raises
``TypeError`` (wrong kind of thing) / ``ValueError`` (right kind, wrong value) with a message of the
form ``"<name> must be <what is accepted>; got <what was given>"``.
"""

from __future__ import annotations

import datetime as _dt
import numbers
from typing import Any

import numpy as np

RandomState = int | np.random.Generator | None


def _show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def check_int(name: str, value: Any, *, minimum: int | None = None, maximum: int | None = None) -> int:
    """An integer (not a bool, not a float) within ``[minimum, maximum]``."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an integer; got {_show(value)} of type {type(value).__name__}")
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
        raise TypeError(f"{name} must be a real number; got {_show(value)} of type {type(value).__name__}")
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
    """One of ``choices``."""
    if value not in choices:
        raise ValueError(f"{name} must be one of {', '.join(map(repr, choices))}; got {_show(value)}")
    return value


def check_random_state(name: str, value: Any) -> np.random.Generator:
    """An int seed, a ``numpy.random.Generator`` or None, returned as a Generator."""
    if value is None or isinstance(value, np.random.Generator):
        return np.random.default_rng(value)
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(
            f"{name} must be an int, a numpy.random.Generator or None; got {_show(value)} "
            f"of type {type(value).__name__}"
        )
    if value < 0:
        raise ValueError(f"{name} must be a non-negative int seed; got {value}")
    return np.random.default_rng(int(value))


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
        raise TypeError(f"{name} must be array-like with {ndim} dimension(s); got {_show(value)}")
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
        raise ValueError(f"{name} must hold only 0 and 1; got {_show(np.unique(arr[bad])[:5].tolist())}")
    return arr.astype(np.int8)


def check_same_length(**arrays: np.ndarray) -> None:
    """All arrays have the same length."""
    lengths = {k: len(v) for k, v in arrays.items()}
    if len(set(lengths.values())) > 1:
        raise ValueError("arguments must have the same length; got " + ", ".join(f"{k}={n}" for k, n in lengths.items()))


def check_duration(name: str, value: Any) -> "pd.Timedelta":  # noqa: F821 (pandas is imported lazily)
    """A positive duration: a pandas offset string ("10min", "30D"), a Timedelta, timedelta or timedelta64."""
    import pandas as pd  # here, so that modules needing only numpy stay cheap to import

    if not isinstance(value, (str, pd.Timedelta, _dt.timedelta, np.timedelta64)):
        raise TypeError(
            f"{name} must be a duration such as '10min', a pandas.Timedelta or a datetime.timedelta; "
            f"got {_show(value)} of type {type(value).__name__}"
        )
    try:
        td = pd.Timedelta(value)
    except ValueError:
        raise ValueError(f"{name} must be a duration such as '10min' or '30D'; got {_show(value)}") from None
    if td is pd.NaT or td <= pd.Timedelta(0):
        raise ValueError(f"{name} must be a positive duration; got {_show(value)}")
    return td

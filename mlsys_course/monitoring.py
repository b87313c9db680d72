"""Monitoring a model in production: schema checks, operational metrics, windows and streaming detectors.

Before any statistical drift test, check that the data still has the shape the model was trained on: a
:class:`Schema` fitted on a reference frame validates a current frame (missing or unexpected columns,
dtypes, unseen categories, values out of the reference range, a jump in the share of missing values). A
unit bug (an ``amount`` that arrives in cents, 100 times too large) fails the range check at once, while a
drift test would only say "the distribution changed".

:func:`operational_metrics` turns a service's prediction log into the numbers an on-call engineer reads
per minute: requests, error rate, latency percentiles, throughput and the mean prediction.
:func:`windowed_metric` computes any metric over time on tumbling, sliding or cumulative windows (a
cumulative mean hides a dip a sliding window shows). :class:`PageHinkley` and :class:`ADWIN` watch a
stream one value at a time and flag the points where its mean changes.

Book: Chapter 8, "Monitoring and Observability" and "Detecting Data Distribution Shifts" (time scale
windows: cumulative vs sliding statistics).
"""

from __future__ import annotations

import numbers
from collections.abc import Callable, Hashable
from typing import Any

import numpy as np
import pandas as pd
from river import drift as river_drift

from mlsys_course._validation import (
    check_array,
    check_choice,
    check_column,
    check_duration,
    check_frame,
    check_int,
    check_real,
    check_time_column,
    is_hashable,
    show,
)

__all__ = ["ADWIN", "CHECKS", "LOG_COLUMNS", "MAX_WINDOWS", "PageHinkley", "Schema", "operational_metrics",
           "windowed_metric"]

#: The ``check`` values of :meth:`Schema.validate`, in the order a column is checked.
CHECKS = ("missing_column", "unexpected_column", "dtype", "unseen_category", "out_of_range", "missing_rate")

#: Columns :func:`operational_metrics` reads from a prediction log (``mlsys_course.serving``'s format).
LOG_COLUMNS = ("time", "request_id", "status", "latency_ms", "prediction")

#: Most windows :func:`windowed_metric` evaluates in one call (a step of one second over a year is a typo).
MAX_WINDOWS = 1_000_000

_VIOLATION_COLUMNS = ["column", "check", "expected", "found", "n_rows"]


def _kind(dtype: Any) -> str:
    """'numeric', 'categorical' (category, object, string, bool) or 'other' (datetimes, ...)."""
    if pd.api.types.is_bool_dtype(dtype):
        return "categorical"
    if pd.api.types.is_numeric_dtype(dtype):
        return "numeric"
    if isinstance(dtype, pd.CategoricalDtype) or pd.api.types.is_object_dtype(dtype) or pd.api.types.is_string_dtype(dtype):
        return "categorical"
    return "other"


def _dtype_name(dtype: Any) -> str:
    return "category" if isinstance(dtype, pd.CategoricalDtype) else str(dtype)


def _fmt(value: Any) -> str:
    if isinstance(value, (float, np.floating)):
        return f"{float(value):.6g}"
    if isinstance(value, np.generic):
        return repr(value.item())
    return repr(value)


def _levels(frame_name: str, column: Hashable, series: pd.Series) -> set:
    values = series.dropna()
    bad = [v for v in values.iloc[:1000] if not is_hashable(v)]
    try:
        if bad:
            raise TypeError
        return set(values.unique().tolist())
    except TypeError:
        raise TypeError(f"{frame_name}[{column!r}] must hold hashable category values (str, bool, ...); "
                        f"got unhashable values such as {show(bad[0] if bad else values.iloc[0])}") from None


class Schema:
    """The shape of the data a model was trained on: fit on a reference frame, validate current frames.

    A schema learns, per column of the reference: its dtype, its kind (numeric; categorical = category,
    object, string or bool dtype; other = datetimes and the rest), the categories seen (non-missing values
    of a categorical column), the numeric range (min and max of the non-missing values of a numeric,
    non-bool column) and the share of missing values. :meth:`validate` then checks a current frame:

    - ``missing_column``: a reference column is absent (``n_rows`` = every row);
    - ``unexpected_column``: a column the reference did not have;
    - ``dtype``: a different dtype (a categorical matches any categorical; ``int64`` vs ``float64`` is a
      violation, since a column that turns float often means missing values crept in). Range and category
      checks still run when both sides are numeric, or both categorical;
    - ``unseen_category``: non-missing values of a categorical column never seen in the reference;
    - ``out_of_range``: values outside the reference range widened by ``range_tolerance`` times its width
      on each side, ``[min - tol (max - min), max + tol (max - min)]``, reported when more than
      ``max_out_of_range`` of the current rows fall outside (0 by default: any row). Heavy-tailed columns
      (amounts) put a few rows of a normal month outside any range; a unit error puts most of them there;
    - ``missing_rate``: the current share of missing values exceeds the reference share by more than
      ``missing_tolerance`` (an absolute difference of shares).

    Parameters
    ----------
    range_tolerance : float, default 0.1
        How far beyond the reference min and max a value may lie, as a fraction of the range (>= 0).
    max_out_of_range : float, default 0.0
        Share of current rows allowed outside the widened range before ``out_of_range`` is reported, in [0, 1).
    missing_tolerance : float, default 0.05
        Largest allowed increase of a column's missing share over the reference, in [0, 1).

    Attributes
    ----------
    columns_ : tuple
        The reference columns, in order.
    dtypes_ : dict
        Column -> dtype of the reference.
    categories_ : dict
        Categorical column -> frozenset of the values seen.
    ranges_ : dict
        Numeric column -> (min, max) of the reference (columns with no value are left out).
    missing_rates_ : dict
        Column -> share of missing values in the reference.
    n_rows_ : int
        Rows of the reference.

    Book: Chapter 8, "Monitoring and Observability: Monitoring features" (schema and range checks before
    any distribution test; the book's examples: a feature out of its expected range, unseen categories).

    Example
    -------
    An ``amount`` that arrives in cents fails the range check:

    >>> ref = pd.DataFrame({"amount": [5.0, 20.0, 80.0, 12.5], "device": ["mobile", "desktop", "mobile", None]})
    >>> schema = Schema().fit(ref)
    >>> schema.validate(ref).empty
    True
    >>> cur = pd.DataFrame({"amount": [500.0, 2000.0, 7.0], "device": ["mobile", "watch", "desktop"]})
    >>> schema.validate(cur)[["column", "check", "found", "n_rows"]]
       column            check              found  n_rows
    0  amount     out_of_range  [7, 2000] (2 out)       2
    1  device  unseen_category          ['watch']       1
    """

    def __init__(self, *, range_tolerance: float = 0.1, max_out_of_range: float = 0.0,
                 missing_tolerance: float = 0.05) -> None:
        self.range_tolerance = range_tolerance
        self.max_out_of_range = max_out_of_range
        self.missing_tolerance = missing_tolerance

    def _check_params(self) -> None:
        check_real("range_tolerance", self.range_tolerance, low=0.0)
        check_real("max_out_of_range", self.max_out_of_range, low=0.0, high=1.0, high_open=True)
        check_real("missing_tolerance", self.missing_tolerance, low=0.0, high=1.0, high_open=True)

    def fit(self, reference: pd.DataFrame) -> Schema:
        """Learn the schema of ``reference`` (a DataFrame with at least one row and one column).

        Parameters
        ----------
        reference : pandas.DataFrame
            The data the model was trained or validated on.

        Returns
        -------
        Schema
            self, fitted.
        """
        self._check_params()
        check_frame("reference", reference)
        if reference.shape[1] == 0:
            raise ValueError("reference must have at least one column; got a frame with no columns")
        self.columns_ = tuple(reference.columns)
        self.dtypes_ = {c: reference[c].dtype for c in self.columns_}
        self.categories_ = {}
        self.ranges_ = {}
        for c in self.columns_:
            kind = _kind(self.dtypes_[c])
            if kind == "categorical":
                self.categories_[c] = frozenset(_levels("reference", c, reference[c]))
            elif kind == "numeric":
                values = reference[c].dropna()
                if len(values):
                    self.ranges_[c] = (float(values.min()), float(values.max()))
        self.missing_rates_ = {c: float(reference[c].isna().mean()) for c in self.columns_}
        self.n_rows_ = len(reference)
        return self

    def validate(self, current: pd.DataFrame) -> pd.DataFrame:
        """Check ``current`` against the schema: one row per violation, an empty frame when all is well.

        Parameters
        ----------
        current : pandas.DataFrame
            The data to check (at least one row).

        Returns
        -------
        pandas.DataFrame
            Columns ``column``, ``check`` (one of ``CHECKS``), ``expected`` and ``found`` (readable text)
            and ``n_rows`` (current rows concerned); reference columns in order, then unexpected columns.
        """
        if not hasattr(self, "columns_"):
            raise ValueError("this Schema is not fitted yet; call fit(reference) first")
        check_frame("current", current)
        n = len(current)
        rows: list[tuple] = []
        for c in self.columns_:
            if c not in current.columns:
                rows.append((c, "missing_column", _dtype_name(self.dtypes_[c]), "absent", n))
                continue
            col = current[c]
            ref_kind, cur_kind = _kind(self.dtypes_[c]), _kind(col.dtype)
            if _dtype_name(col.dtype) != _dtype_name(self.dtypes_[c]):
                rows.append((c, "dtype", _dtype_name(self.dtypes_[c]), _dtype_name(col.dtype), n))
            if ref_kind == cur_kind == "categorical":
                seen = _levels("current", c, col)
                unseen = seen - self.categories_[c]
                if unseen:
                    listed = sorted(unseen, key=repr)
                    text = repr(listed[:5]) + (f" and {len(listed) - 5} more" if len(listed) > 5 else "")
                    rows.append((c, "unseen_category", f"{len(self.categories_[c])} levels seen in reference", text,
                                 int(col.isin(list(unseen)).sum())))
            elif ref_kind == cur_kind == "numeric" and c in self.ranges_:
                lo, hi = self.ranges_[c]
                pad = self.range_tolerance * (hi - lo)
                values = col.to_numpy(dtype=float, na_value=np.nan)
                outside = int(np.count_nonzero((values < lo - pad) | (values > hi + pad)))
                if outside > self.max_out_of_range * n:
                    rows.append((c, "out_of_range", f"[{_fmt(lo - pad)}, {_fmt(hi + pad)}]",
                                 f"[{_fmt(np.nanmin(values))}, {_fmt(np.nanmax(values))}] ({outside} out)", outside))
            n_missing = int(col.isna().sum())
            if n_missing / n - self.missing_rates_[c] > self.missing_tolerance:
                rows.append((c, "missing_rate", f"<= {self.missing_rates_[c] + self.missing_tolerance:.3g}",
                             f"{n_missing / n:.3g}", n_missing))
        for c in current.columns:
            if c not in self.dtypes_:
                rows.append((c, "unexpected_column", "absent", _dtype_name(current[c].dtype), n))
        out = pd.DataFrame(rows, columns=_VIOLATION_COLUMNS)
        out["n_rows"] = out["n_rows"].astype(np.int64)
        return out.astype({"column": object, "check": object, "expected": object, "found": object})

    def assert_valid(self, current: pd.DataFrame) -> None:
        """Raise ValueError listing every violation when ``current`` fails :meth:`validate`; else return None.

        Parameters
        ----------
        current : pandas.DataFrame
            The data to check.
        """
        violations = self.validate(current)
        if len(violations):
            lines = [f"  {r.column!r}: {r.check}: expected {r.expected}, found {r.found} ({r.n_rows} rows)"
                     for r in violations.itertuples()]
            raise ValueError(f"current fails the schema with {len(violations)} violation(s):\n" + "\n".join(lines))


def operational_metrics(log: pd.DataFrame, *, window: str | pd.Timedelta = "1min") -> pd.DataFrame:
    """Per-window operational metrics of a service from its prediction log.

    The log has one row per predicted row (``mlsys_course.serving``'s format; a failed request is one row
    with a NaN prediction) with at least the columns ``LOG_COLUMNS``: ``time`` (datetime64, naive),
    ``request_id``, ``status`` (HTTP status), ``latency_ms`` (the request's latency, repeated on its rows)
    and ``prediction``. A request belongs to the window of its first row. Windows are tumbling, aligned
    to multiples of ``window`` since the epoch, from the first request's window to the last one's; a
    window with no request is kept (``requests`` 0, rates and percentiles NaN): an outage is a metric too.

    Per window: ``requests`` (distinct request ids), ``error_rate`` (share of requests with status >= 400),
    ``p50_ms`` and ``p99_ms`` (latency percentiles over requests, failed ones included, with numpy's
    default "linear" definition, as ``mlsys_course.latency.percentiles``), ``throughput_rps`` (requests
    per second of window) and ``mean_prediction`` (mean over the rows' non-missing predictions).

    Parameters
    ----------
    log : pandas.DataFrame
        The prediction log.
    window : str or pandas.Timedelta, default "1min"
        The window length ("1min", "1h", ...).

    Returns
    -------
    pandas.DataFrame
        One row per window: ``start`` (datetime64[ns]), ``requests``, ``error_rate``, ``p50_ms``, ``p99_ms``,
        ``throughput_rps``, ``mean_prediction``.

    Book: Chapter 8, "Monitoring and Observability: Operation-related metrics" (latency, throughput, the
    number of predictions per minute, the share of requests that return with a 2xx code).

    Example
    -------
    >>> log = pd.DataFrame({"time": pd.to_datetime(["2024-01-01 00:00:10", "2024-01-01 00:00:10",
    ...                                             "2024-01-01 00:00:50", "2024-01-01 00:01:30"]),
    ...                     "request_id": ["a", "a", "b", "c"], "status": [200, 200, 500, 200],
    ...                     "latency_ms": [12.0, 12.0, 40.0, 8.0], "prediction": [0.1, 0.3, np.nan, 0.9]})
    >>> print(operational_metrics(log, window="1min").drop(columns="start").round(3).to_string())
       requests  error_rate  p50_ms  p99_ms  throughput_rps  mean_prediction
    0         2         0.5    26.0   39.72           0.033              0.2
    1         1         0.0     8.0    8.00           0.017              0.9
    """
    check_frame("log", log, columns=list(LOG_COLUMNS))
    width = check_duration("window", window).value
    t = check_time_column("log", log, "time")
    ids = log["request_id"]
    if ids.isna().any():
        raise ValueError(f"log['request_id'] must have no missing value; got {int(ids.isna().sum())}")
    try:
        first = ~ids.duplicated().to_numpy()
    except TypeError:
        raise TypeError("log['request_id'] must hold hashable ids (str or int); got unhashable values") from None
    numeric = {}
    for name in ("status", "latency_ms", "prediction"):
        col = log[name]
        if pd.api.types.is_bool_dtype(col.dtype) or not pd.api.types.is_numeric_dtype(col.dtype):
            raise TypeError(f"log[{name!r}] must be numeric; got dtype {col.dtype}")
        numeric[name] = col.to_numpy(dtype=float, na_value=np.nan)
    for name in ("status", "latency_ms"):
        if not np.all(np.isfinite(numeric[name][first])):
            raise ValueError(f"log[{name!r}] must be finite on every request; got missing or infinite values")
    if np.isinf(numeric["prediction"]).any():
        raise ValueError("log['prediction'] must be finite or NaN (a failed request); got inf")
    code = t // width                       # window number since the epoch (floor division)
    origin = int(code.min())
    code = code - origin
    n_windows = int(code.max()) + 1
    if n_windows > MAX_WINDOWS:
        raise ValueError(f"window must give at most {MAX_WINDOWS} windows over the log; got {show(window)}, "
                         f"which gives {n_windows}")
    rcode = code[first]
    requests = np.bincount(rcode, minlength=n_windows)
    errors = np.bincount(rcode, weights=(numeric["status"][first] >= 400).astype(float), minlength=n_windows)
    with np.errstate(invalid="ignore", divide="ignore"):
        error_rate = errors / requests
        pred = numeric["prediction"]
        ok = ~np.isnan(pred)
        mean_prediction = (np.bincount(code[ok], weights=pred[ok], minlength=n_windows)
                           / np.bincount(code[ok], minlength=n_windows))
    latency = pd.Series(numeric["latency_ms"][first]).groupby(rcode).quantile([0.5, 0.99]).unstack()
    latency = latency.reindex(np.arange(n_windows))
    return pd.DataFrame({
        "start": ((origin + np.arange(n_windows)) * width).astype("datetime64[ns]"),
        "requests": requests.astype(np.int64),
        "error_rate": error_rate,
        "p50_ms": latency[0.5].to_numpy(),
        "p99_ms": latency[0.99].to_numpy(),
        "throughput_rps": requests / (width / 1e9),
        "mean_prediction": mean_prediction,
    })


def windowed_metric(frame: pd.DataFrame, *, time: Hashable, value: Hashable | Callable[[pd.DataFrame], float],
                    window: str | pd.Timedelta, kind: str = "sliding", step: str | pd.Timedelta | None = None,
                    min_rows: int = 1) -> pd.DataFrame:
    """A metric over time on tumbling, sliding or cumulative windows of a time column.

    Window ends are ``origin + window + k * step`` for k = 0, 1, ..., where ``origin`` is the first time
    floored to a multiple of ``step`` since the epoch (midnight for daily steps), up to the first end after
    the last row. The window ending at ``end`` holds the rows with ``end - window <= time < end``
    ("sliding" and "tumbling", which is sliding with ``step == window``), or every row with
    ``time < end`` ("cumulative": everything seen so far; ``window`` only sets the first end).

    Parameters
    ----------
    frame : pandas.DataFrame
        The data, in any row order.
    time : column name
        A datetime64 column (timezone-naive, no NaT).
    value : column name or callable
        A numeric or boolean column (the metric is its mean over non-missing values), or a function
        ``value(sub_frame) -> float`` called on each window's rows (in time order). A column is computed
        with cumulative sums, fast over months of rows; a callable runs once per window.
    window : str or pandas.Timedelta
        The window length ("7D", "1h", ...).
    kind : {"sliding", "tumbling", "cumulative"}, default "sliding"
        How windows are taken.
    step : str, pandas.Timedelta or None, default None
        The spacing of the ends; None for ``window`` (no overlap). "tumbling" requires ``step == window``.
    min_rows : int, default 1
        Windows with fewer rows get a NaN value (and the callable is not called).

    Returns
    -------
    pandas.DataFrame
        One row per window: ``end`` (datetime64[ns], exclusive), ``n_rows`` (rows in the window) and
        ``value`` (float, NaN for a window under ``min_rows`` or with no non-missing value).

    Book: Chapter 8, "Detecting Data Distribution Shifts: Time scale windows" (cumulative vs sliding
    statistics; a short window catches a change sooner, and raises more false alarms).

    Example
    -------
    A dip on day 3 shows in a one-day sliding window and barely in the cumulative mean:

    >>> frame = pd.DataFrame({"t": pd.date_range("2024-01-01", periods=5, freq="D"),
    ...                       "x": [1.0, 1.0, 0.0, 1.0, 1.0]})
    >>> windowed_metric(frame, time="t", value="x", window="1D")["value"].tolist()
    [1.0, 1.0, 0.0, 1.0, 1.0]
    >>> windowed_metric(frame, time="t", value="x", window="1D", kind="cumulative")["value"].round(2).tolist()
    [1.0, 1.0, 0.67, 0.75, 0.8]
    """
    check_frame("frame", frame)
    check_column("time", frame, time, frame="frame")
    t = check_time_column("frame", frame, time, "time")
    check_choice("kind", kind, ("sliding", "tumbling", "cumulative"))
    width = check_duration("window", window).value
    stride = width if step is None else check_duration("step", step).value
    if kind == "tumbling" and stride != width:
        raise ValueError(f"step must equal window for kind='tumbling' (or be None); got step={show(step)}, "
                         f"window={show(window)}")
    min_rows = check_int("min_rows", min_rows, minimum=1)
    if callable(value):
        values = None
    else:
        check_column("value", frame, value, frame="frame")
        col = frame[value]
        if not (pd.api.types.is_numeric_dtype(col.dtype) or pd.api.types.is_bool_dtype(col.dtype)):
            raise TypeError(f"value must name a numeric or boolean column (or be a callable); "
                            f"got {show(value)} of dtype {col.dtype}")
        values = col.to_numpy(dtype=float, na_value=np.nan)
        if np.isinf(values).any():
            raise ValueError(f"value column {show(value)} must be finite or NaN; got inf")
    order = np.argsort(t, kind="stable")
    ts = t[order]
    origin = (int(ts[0]) // stride) * stride
    first_end = origin + width
    n_ends = 1 + max(0, -(-(int(ts[-1]) + 1 - first_end) // stride))
    if n_ends > MAX_WINDOWS:
        raise ValueError(f"step must give at most {MAX_WINDOWS} windows; got step={show(step)} and "
                         f"window={show(window)}, which give {n_ends}")
    ends = first_end + stride * np.arange(n_ends, dtype=np.int64)
    hi = np.searchsorted(ts, ends, side="left")
    lo = np.zeros_like(hi) if kind == "cumulative" else np.searchsorted(ts, ends - width, side="left")
    n_rows = hi - lo
    result = np.full(n_ends, np.nan)
    if values is not None:
        v = values[order]
        present = ~np.isnan(v)
        sums = np.concatenate([[0.0], np.cumsum(np.where(present, v, 0.0))])
        counts = np.concatenate([[0], np.cumsum(present)])
        count = counts[hi] - counts[lo]
        keep = (n_rows >= min_rows) & (count > 0)
        result[keep] = (sums[hi] - sums[lo])[keep] / count[keep]
    else:
        ordered = frame.iloc[order]
        for i in np.flatnonzero(n_rows >= min_rows):
            out = value(ordered.iloc[lo[i]:hi[i]])
            if isinstance(out, (bool, np.bool_)) or not isinstance(out, (numbers.Real, np.number)):
                raise TypeError(f"value must return a real number for each window; got {show(out)} "
                                f"of type {type(out).__name__}")
            result[i] = float(out)
    return pd.DataFrame({"end": ends.astype("datetime64[ns]"), "n_rows": n_rows.astype(np.int64), "value": result})


def _check_stream(stream: Any) -> np.ndarray:
    arr = check_array("stream", stream, min_len=0)
    return arr.astype(float)


class PageHinkley:
    """The Page-Hinkley test: flag a change in the mean of a stream, one value at a time.

    A CUSUM-type test (Page 1954; Hinkley 1971). With ``m_t`` the running mean of the values seen since
    the last reset and ``d_t = x_t - m_t``, two cumulative sums are kept, faded by ``alpha``::

        up_t   = alpha * up_{t-1}   + d_t - delta       (grows when the mean rises)
        down_t = alpha * down_{t-1} + d_t + delta       (falls when the mean drops)

    A change is flagged at t, once at least ``min_instances`` values have been seen, when
    ``up_t - min(up) > threshold`` (mode "up" or "both") or ``max(down) - down_t > threshold`` ("down" or
    "both"); ``max(down)`` starts at -1 as in river. After a detection, the next value starts afresh (the
    mean, the sums and their extremes are reset). These are ``river.drift.PageHinkley``'s update rules, in
    the same floating-point order: the two give the same change points (tested on seeded streams).

    Parameters
    ----------
    delta : float, default 0.005
        Magnitude of change tolerated per value (>= 0).
    threshold : float, default 50.0
        The detection threshold lambda (> 0). Larger: fewer false alarms, later detections.
    alpha : float, default 0.9999
        Forgetting factor of the cumulative sums, in (0, 1].
    min_instances : int, default 30
        Values to see (since the start or the last detection) before a change may be flagged (>= 1).
    mode : {"both", "up", "down"}, default "both"
        Which changes of the mean to flag.

    Attributes
    ----------
    n_ : int
        Values seen since the last reset.
    mean_ : float
        Their mean.
    statistic_ : float
        The test statistic after the last value (the larger of the two sides the mode watches).
    drift_detected_ : bool
        Whether the last value triggered a detection.

    Book: Chapter 8, "Detecting Data Distribution Shifts" (streaming change detection).

    Example
    -------
    >>> rng = np.random.default_rng(0)
    >>> stream = np.concatenate([rng.normal(0, 1, 500), rng.normal(2, 1, 500)])
    >>> PageHinkley().detect(stream)
    array([520])
    """

    def __init__(self, *, delta: float = 0.005, threshold: float = 50.0, alpha: float = 1 - 0.0001,
                 min_instances: int = 30, mode: str = "both") -> None:
        self.delta = check_real("delta", delta, low=0.0)
        self.threshold = check_real("threshold", threshold, low=0.0, low_open=True)
        self.alpha = check_real("alpha", alpha, low=0.0, high=1.0, low_open=True)
        self.min_instances = check_int("min_instances", min_instances, minimum=1)
        self.mode = check_choice("mode", mode, ("both", "up", "down"))
        self._reset()
        self.drift_detected_ = False

    def _reset(self) -> None:
        self.n_ = 0
        self.mean_ = 0.0
        self.statistic_ = 0.0
        self._up = 0.0
        self._down = 0.0
        self._min_up = float("inf")
        self._max_down = -1.0

    def update(self, x: float) -> bool:
        """Feed one value; True when a change is detected at it."""
        return self._step(check_real("x", x))

    def _step(self, x: float) -> bool:
        if self.drift_detected_:
            self._reset()
        self.n_ += 1
        self.mean_ += (1.0 / self.n_) * (x - self.mean_)
        dev = x - self.mean_
        self._up = self.alpha * self._up + dev - self.delta
        self._down = self.alpha * self._down + dev + self.delta
        self._min_up = min(self._min_up, self._up)
        self._max_down = max(self._max_down, self._down)
        rise, fall = self._up - self._min_up, self._max_down - self._down
        self.statistic_ = {"up": rise, "down": fall, "both": max(rise, fall)}[self.mode]
        self.drift_detected_ = self.n_ >= self.min_instances and self.statistic_ > self.threshold
        return self.drift_detected_

    def detect(self, stream: Any) -> np.ndarray:
        """Feed every value of ``stream`` (1-d, finite) in order; the positions where a change was detected.

        The detector keeps its state across calls (feed a stream in chunks); positions are within this
        ``stream``. A fresh detector: ``PageHinkley(...).detect(stream)``.
        """
        values = _check_stream(stream)
        return np.array([i for i, x in enumerate(values.tolist()) if self._step(x)], dtype=np.int64)


#: ADWIN's largest ``max_buckets`` (river's default is 5) and largest ``clock``, ``min_window_length``, ``grace_period``.
ADWIN_MAX_BUCKETS = 10_000
ADWIN_MAX_COUNT = 10**9


class ADWIN:
    """ADWIN (adaptive windowing): flag a change in the mean of a stream; a thin wrapper of river's.

    ADWIN (Bifet & Gavalda 2007) keeps a window of recent values, compressed into an exponential histogram
    of buckets, and drops its older part whenever the means of an older and a newer sub-window differ by
    more than a Hoeffding-style bound at confidence ``delta``. The algorithm is long (buckets merged at
    ``max_buckets`` per size, a check every ``clock`` values, sub-windows of at least ``min_window_length``,
    no check before ``grace_period`` values) and river 0.26 runs it in Rust; matching its change points
    exactly would mean porting it line by line, so this class delegates to ``river.drift.ADWIN`` with the
    same parameters and gives it this module's interface (``update`` returns whether a change was detected,
    :meth:`detect` runs a stream). After a detection river restarts the detector with an empty window.

    Parameters
    ----------
    delta : float, default 0.002
        Confidence of the test, in (0, 1): smaller gives fewer false alarms and later detections.
    clock : int, default 32
        Check for a change every ``clock`` values (1 to ``ADWIN_MAX_COUNT``, 10**9).
    max_buckets : int, default 5
        Buckets of each size kept before two are merged (2 to ``ADWIN_MAX_BUCKETS``, 10,000).
    min_window_length : int, default 5
        Smallest sub-window compared (1 to ``ADWIN_MAX_COUNT``, 10**9).
    grace_period : int, default 10
        Values to see before any check (1 to ``ADWIN_MAX_COUNT``).

    Attributes
    ----------
    width_ : int
        Length of the current window.
    estimation_ : float
        Mean of the current window (0 when empty).
    drift_detected_ : bool
        Whether the last value triggered a detection.

    Book: Chapter 8, "Detecting Data Distribution Shifts" (adaptive windows).

    Example
    -------
    >>> rng = np.random.default_rng(0)
    >>> stream = np.concatenate([rng.normal(0, 1, 1000), rng.normal(1, 1, 1000)])
    >>> ADWIN().detect(stream)
    array([1055])
    """

    def __init__(self, *, delta: float = 0.002, clock: int = 32, max_buckets: int = 5, min_window_length: int = 5,
                 grace_period: int = 10) -> None:
        self.delta = check_real("delta", delta, low=0.0, high=1.0, low_open=True, high_open=True)
        # upper bounds: river's Rust core allocates max_buckets slots per bucket row (and aborts the whole process,
        # uncatchably, when that fails) and stores the others as 32-bit integers
        self.clock = check_int("clock", clock, minimum=1, maximum=ADWIN_MAX_COUNT)
        self.max_buckets = check_int("max_buckets", max_buckets, minimum=2, maximum=ADWIN_MAX_BUCKETS)
        self.min_window_length = check_int("min_window_length", min_window_length, minimum=1, maximum=ADWIN_MAX_COUNT)
        self.grace_period = check_int("grace_period", grace_period, minimum=1, maximum=ADWIN_MAX_COUNT)
        self._river = river_drift.ADWIN(delta=self.delta, clock=self.clock, max_buckets=self.max_buckets,
                                        min_window_length=self.min_window_length, grace_period=self.grace_period)
        self.drift_detected_ = False

    @property
    def width_(self) -> int:
        return int(self._river.width)

    @property
    def estimation_(self) -> float:
        return float(self._river.estimation)

    def update(self, x: float) -> bool:
        """Feed one value; True when a change is detected at it."""
        return self._step(check_real("x", x))

    def _step(self, x: float) -> bool:
        self._river.update(x)
        self.drift_detected_ = self._river.drift_detected
        return self.drift_detected_

    def detect(self, stream: Any) -> np.ndarray:
        """Feed every value of ``stream`` (1-d, finite) in order; the positions where a change was detected.

        The detector keeps its state across calls; positions are within this ``stream``.
        """
        values = _check_stream(stream)
        return np.array([i for i, x in enumerate(values.tolist()) if self._step(x)], dtype=np.int64)

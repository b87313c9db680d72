"""Batch or streaming features: "transactions of this card in the last 10 minutes", computed both ways.

A velocity feature for fraud counts (or sums) a key's events in a sliding time window. A batch job
computes it for every row at once (pandas ``groupby().rolling()``, or a SQL window in an analytical
database); a stream processor keeps, per key, the events still in the window and updates the value
as each event arrives. Both must give the same number for the same row, or the model is trained on
one feature and served another (train-serving skew). A batch job that runs only every hour serves
stale values in between: :func:`stale_batch_feature` gives the value such a job serves, so its error can
be measured against the fresh one.

**The window.** For the event in row ``i`` of key ``k`` at time ``t``, the feature aggregates the
events of ``k`` in ``(t - window, t]`` (``closed="right"``, the default: an event exactly ``window``
old has left) or ``[t - window, t]`` (``closed="both"``), *counting the current event itself* and,
among events at the same timestamp, only those in earlier rows. Row order is arrival order: a stream
processor cannot see an event that has not arrived yet, so every function here requires the rows
sorted by time (non-decreasing; ties allowed) and raises otherwise, rather than sorting silently.

Book: Chapter 3, "Batch Processing Versus Stream Processing" (batch features vs streaming features);
Chapter 7, "Unifying Batch Pipeline and Streaming Pipeline".
"""

from __future__ import annotations

import datetime as _dt
from collections import deque
from collections.abc import Hashable
from typing import Any

import duckdb
import numpy as np
import pandas as pd

from ._validation import (
    duration_label,
    check_time_column,
    check_bool,
    check_choice,
    check_column,
    check_duration,
    check_frame,
    check_real,
    check_timestamp,
    show,
)

__all__ = [
    "AGGS",
    "CLOSED",
    "ENGINES",
    "WindowCounter",
    "stale_batch_feature",
    "window_count_batch",
    "window_count_stream",
    "window_query",
]

AGGS = ("count", "sum")
CLOSED = ("right", "both")
ENGINES = ("pandas", "duckdb")

Duration = str | pd.Timedelta | _dt.timedelta | np.timedelta64

_UNITS = (("D", "DAY", 86_400_000_000_000), ("h", "HOUR", 3_600_000_000_000), ("min", "MINUTE", 60_000_000_000),
          ("s", "SECOND", 1_000_000_000), ("ms", "MILLISECOND", 1_000_000), ("us", "MICROSECOND", 1_000))

# DuckDB never reaches the network: no extension is downloaded or loaded behind our back.
_DUCKDB_CONFIG = {"autoinstall_known_extensions": False, "autoload_known_extensions": False}


def _check_events(df: Any, columns: dict[str, Any]) -> pd.DataFrame:
    df = check_frame("df", df, min_rows=0)
    for arg, column in columns.items():
        check_column(arg, df, column)
    return df


def _times(df: pd.DataFrame, time: Any) -> np.ndarray:
    """The time column as int64 nanoseconds, checked: naive datetimes, no NaT, non-decreasing."""
    t = check_time_column("df", df, time)
    down = np.flatnonzero(np.diff(t) < 0)
    if len(down):
        raise ValueError(
            f"df[{time!r}] must be sorted in non-decreasing order (row order is arrival order); got a "
            f"decrease at row {down[0] + 1}; sort first with df.sort_values({time!r}, kind='stable')"
        )
    return t


def _keys(df: pd.DataFrame, key: Any) -> np.ndarray:
    """Integer codes of the key column (no missing keys)."""
    if df[key].isna().any():
        raise ValueError(f"df[{key!r}] must have no missing keys; got {int(df[key].isna().sum())}")
    return pd.factorize(df[key])[0]


def _values(df: pd.DataFrame, agg: str, value: Any) -> np.ndarray:
    """What each event adds: 1 for a count, the ``value`` column for a sum."""
    if agg == "count":
        return np.ones(len(df))
    col = df[value]
    if pd.api.types.is_bool_dtype(col.dtype) or not pd.api.types.is_numeric_dtype(col.dtype):
        raise TypeError(f"value must name a numeric column of df to sum it; got df[{value!r}] of dtype {col.dtype}")
    v = col.to_numpy(np.float64, na_value=np.nan)
    if not np.isfinite(v).all():
        raise ValueError(
            f"value must name a finite column of df (no NaN or inf); got df[{value!r}] with "
            f"{int((~np.isfinite(v)).sum())} non-finite"
        )
    return v


def _prepare(df, key, time, window, agg, value, closed):
    check_choice("agg", agg, AGGS)
    check_choice("closed", closed, CLOSED)
    _check_events(df, {"key": key, "time": time} | ({"value": value} if agg == "sum" else {}))
    window = check_duration("window", window)
    name = f"count_{duration_label(window)}" if agg == "count" else f"sum_{value}_{duration_label(window)}"
    return window, _keys(df, key), _times(df, time), _values(df, agg, value), name


def _result(values: np.ndarray, agg: str, df: pd.DataFrame, name: str) -> pd.Series:
    values = np.rint(values).astype(np.int64) if agg == "count" else values.astype(np.float64)
    return pd.Series(values, index=df.index, name=name)


def window_query(window: Duration = "10min", *, agg: str = "count", closed: str = "right") -> str:
    """The DuckDB SQL that :func:`window_count_batch` runs with ``engine="duckdb"``.

    It reads a table ``events(k, ts, v, rn)`` (key, timestamp, value, arrival row number). A SQL
    ``RANGE`` frame includes its boundary (``[t - window, t]``) and every peer row with the same
    timestamp; the query subtracts the later peers (they have not arrived yet) and, for
    ``closed="right"``, the events exactly ``window`` old.

    Parameters
    ----------
    window : str, pandas.Timedelta or datetime.timedelta, default "10min"
        Window length; positive and a whole number of microseconds (DuckDB's interval resolution).
    agg : {"count", "sum"}, default "count"
        Count the events or sum their ``v``.
    closed : {"right", "both"}, default "right"
        ``(t - window, t]`` or ``[t - window, t]``.

    Returns
    -------
    str
        The query; its single column ``value`` is in ``rn`` order.

    Book: Chapter 3, "Batch Processing Versus Stream Processing".

    Example
    -------
    >>> print(window_query("10min", closed="both"))
    SELECT count(*) OVER recent - count(*) OVER later_peers AS value
    FROM events
    WINDOW recent AS (PARTITION BY k ORDER BY ts RANGE BETWEEN INTERVAL 10 MINUTE PRECEDING AND CURRENT ROW),
           later_peers AS (PARTITION BY k, ts ORDER BY rn ROWS BETWEEN 1 FOLLOWING AND UNBOUNDED FOLLOWING)
    ORDER BY rn
    """
    window = check_duration("window", window)
    check_choice("agg", agg, AGGS)
    check_choice("closed", closed, CLOSED)
    if window.value % 1_000:
        raise ValueError(f"window must be a whole number of microseconds for DuckDB; got {window}")
    unit, ns = next((unit, ns) for _, unit, ns in _UNITS if window.value % ns == 0)
    interval = f"INTERVAL {window.value // ns} {unit}"
    def over(frame: str) -> str:  # an empty frame sums to NULL, counts to 0
        return f"count(*) OVER {frame}" if agg == "count" else f"coalesce(sum(v) OVER {frame}, 0)"

    edge = f" - {over('edge')}" if closed == "right" else ""
    edge_def = (
        f"       edge AS (PARTITION BY k ORDER BY ts RANGE BETWEEN {interval} PRECEDING AND {interval} PRECEDING),\n"
        if closed == "right" else ""
    )
    return (
        f"SELECT {over('recent')} - {over('later_peers')}{edge} AS value\n"
        "FROM events\n"
        f"WINDOW recent AS (PARTITION BY k ORDER BY ts RANGE BETWEEN {interval} PRECEDING AND CURRENT ROW),\n"
        f"{edge_def}"
        "       later_peers AS (PARTITION BY k, ts ORDER BY rn ROWS BETWEEN 1 FOLLOWING AND UNBOUNDED FOLLOWING)\n"
        "ORDER BY rn"
    )


def window_count_batch(
    df: pd.DataFrame,
    *,
    key: str = "user_id",
    time: str = "timestamp",
    window: Duration = "10min",
    agg: str = "count",
    value: str = "amount",
    closed: str = "right",
    engine: str = "pandas",
) -> pd.Series:
    """A sliding-window feature for every row at once: events of the row's key in the last ``window``.

    For the row at time ``t``: the number (``agg="count"``) or the total ``value``
    (``agg="sum"``) of the events of its key in ``(t - window, t]`` (``closed="right"``) or
    ``[t - window, t]`` (``closed="both"``), counting the row itself and, among rows at the same
    time, only the earlier rows (arrival order), exactly as :class:`WindowCounter` sees them.

    Parameters
    ----------
    df : pandas.DataFrame
        Events, sorted by ``time`` (non-decreasing; ties allowed; unsorted raises).
    key : str, default "user_id"
        Column to group by (the card or user); no missing values.
    time : str, default "timestamp"
        Timezone-naive datetime column.
    window : str, pandas.Timedelta or datetime.timedelta, default "10min"
        Window length, positive.
    agg : {"count", "sum"}, default "count"
        Count the events, or sum the ``value`` column over them.
    value : str, default "amount"
        Numeric, finite column summed when ``agg="sum"`` (not used for a count).
    closed : {"right", "both"}, default "right"
        Whether an event exactly ``window`` old is out (``"right"``) or still in (``"both"``).
    engine : {"pandas", "duckdb"}, default "pandas"
        ``groupby().rolling()`` on the time column, or the SQL window of :func:`window_query` run
        in an in-memory DuckDB (``window`` then must be a whole number of microseconds).

    Returns
    -------
    pandas.Series
        One value per row, aligned with ``df.index``: int64 for a count, float64 for a sum; named
        like ``"count_10min"`` or ``"sum_amount_10min"``.

    Book: Chapter 3, "Batch Processing Versus Stream Processing" (a batch feature); Chapter 7,
    "Unifying Batch Pipeline and Streaming Pipeline".

    Example
    -------
    >>> events = pd.DataFrame({
    ...     "user_id": [1, 1, 2, 1, 1],
    ...     "timestamp": pd.to_datetime(["00:00", "00:04", "00:05", "00:05", "00:14"], format="%H:%M"),
    ... })
    >>> window_count_batch(events).tolist()
    [1, 2, 1, 3, 2]
    >>> window_count_batch(events, engine="duckdb").tolist()
    [1, 2, 1, 3, 2]
    """
    window, k, t, v, name = _prepare(df, key, time, window, agg, value, closed)
    check_choice("engine", engine, ENGINES)
    if len(df) == 0:
        return _result(np.zeros(0), agg, df, name)
    events = pd.DataFrame({"k": k, "ts": t.view("datetime64[ns]"), "v": v, "rn": np.arange(len(df))})
    if engine == "pandas":
        rolling = events.groupby("k").rolling(window, on="ts", closed=closed)["v"]
        grouped = (rolling.count() if agg == "count" else rolling.sum()).to_numpy()  # key by key, rows in order
        out = np.empty(len(df))
        out[np.argsort(k, kind="stable")] = grouped
        return _result(out, agg, df, name)
    with duckdb.connect(config=_DUCKDB_CONFIG) as con:
        con.register("events", events)
        out = con.sql(window_query(window, agg=agg, closed=closed)).fetchnumpy()["value"]
    return _result(np.asarray(out, dtype=np.float64), agg, df, name)


class WindowCounter:
    """Sliding-window count or sum per key, updated one event at a time (a stream processor's state).

    Per key it keeps a deque of the ``(time, value)`` events still in the window and their running
    total. Each event evicts the expired events of its key from the left and appends itself: every
    event is appended and evicted once, so an update costs O(1) amortized, and the memory held is
    the events of the last ``window`` (plus, for keys not seen since, their last window's events,
    evicted at the key's next event).

    Parameters
    ----------
    window : str, pandas.Timedelta or datetime.timedelta, default "10min"
        Window length, positive.
    closed : {"right", "both"}, default "right"
        The window is ``(t - window, t]`` or ``[t - window, t]``, as in :func:`window_count_batch`.

    Book: Chapter 3, "Batch Processing Versus Stream Processing" (a streaming feature); Chapter 7,
    "Unifying Batch Pipeline and Streaming Pipeline".

    Example
    -------
    >>> counter = WindowCounter("10min")
    >>> [counter.update("card-1", t) for t in ["2024-01-01 00:00", "2024-01-01 00:04", "2024-01-01 00:15"]]
    [1.0, 2.0, 1.0]
    >>> counter.update("card-1", "2024-01-01 00:16", value=25.0)  # a sum: 1 + 25
    26.0
    >>> counter.n_events
    2
    """

    def __init__(self, window: Duration = "10min", *, closed: str = "right") -> None:
        self.window = check_duration("window", window)
        self.closed = check_choice("closed", closed, CLOSED)
        self._events: dict[Hashable, deque[tuple[int, float]]] = {}
        self._totals: dict[Hashable, float] = {}
        self._now: int | None = None

    def update(self, key: Hashable, timestamp: Any, value: float = 1.0) -> float:
        """Add one event and return its key's aggregate over the window ending now, this event included.

        Parameters
        ----------
        key : hashable
            The entity (card, user).
        timestamp : pandas.Timestamp, datetime.datetime, numpy.datetime64 or str
            Event time, timezone-naive, not earlier than the previous event's (any key): events must
            arrive in non-decreasing time order.
        value : float, default 1.0
            What the event adds: 1 for a count, the amount for a sum.

        Returns
        -------
        float
            Sum of ``value`` over the key's events in the window (the count when every value is 1).
        """
        if not isinstance(key, Hashable):
            raise TypeError(f"key must be hashable; got {show(key)} of type {type(key).__name__}")
        return self._push(key, check_timestamp("timestamp", timestamp).value, check_real("value", value))

    def _push(self, key: Hashable, t: int, value: float) -> float:
        if self._now is not None and t < self._now:
            raise ValueError(
                f"timestamp must be >= the previous event's {pd.Timestamp(self._now)} (events arrive in "
                f"non-decreasing time order); got {pd.Timestamp(t)}"
            )
        self._now = t
        events = self._events.setdefault(key, deque())
        total = self._totals.get(key, 0.0)
        edge = t - self.window.value
        while events and (events[0][0] <= edge if self.closed == "right" else events[0][0] < edge):
            total -= events.popleft()[1]
        if not events:
            total = 0.0  # rounding errors do not survive a quiet period
        events.append((t, value))
        self._totals[key] = total = total + value
        return total

    @property
    def n_events(self) -> int:
        """Number of events held in memory, over all keys."""
        return sum(len(d) for d in self._events.values())


def window_count_stream(
    df: pd.DataFrame,
    *,
    key: str = "user_id",
    time: str = "timestamp",
    window: Duration = "10min",
    agg: str = "count",
    value: str = "amount",
    closed: str = "right",
) -> pd.Series:
    """The same feature as :func:`window_count_batch`, by replaying the rows through a :class:`WindowCounter`.

    Parameters and returned Series are those of :func:`window_count_batch` (same definition, dtype
    and name); the rows are fed to the counter in order, as events arriving one at a time.

    Returns
    -------
    pandas.Series
        One value per row, aligned with ``df.index``.

    Book: Chapter 3, "Batch Processing Versus Stream Processing"; Chapter 7, "Unifying Batch
    Pipeline and Streaming Pipeline".

    Example
    -------
    >>> events = pd.DataFrame({
    ...     "user_id": [1, 1, 2, 1, 1],
    ...     "timestamp": pd.to_datetime(["00:00", "00:04", "00:05", "00:05", "00:14"], format="%H:%M"),
    ... })
    >>> window_count_stream(events).tolist()
    [1, 2, 1, 3, 2]
    """
    window, _, t, v, name = _prepare(df, key, time, window, agg, value, closed)
    counter = WindowCounter(window, closed=closed)
    out = [counter._push(k, ti, vi) for k, ti, vi in zip(df[key].tolist(), t.tolist(), v.tolist())]
    return _result(np.asarray(out, dtype=np.float64), agg, df, name)


def stale_batch_feature(
    df: pd.DataFrame,
    *,
    refresh: Duration = "1h",
    key: str = "user_id",
    time: str = "timestamp",
    window: Duration = "10min",
    agg: str = "count",
    value: str = "amount",
    closed: str = "right",
    include_current: bool = True,
) -> pd.Series:
    """What a model sees when the window feature comes from a batch job run every ``refresh``.

    Jobs run at the multiples of ``refresh`` since the Unix epoch (``"1h"`` on the hour, ``"1D"``
    at midnight). The job at ``r`` sees the events before ``r`` (periods are half-open,
    ``[r - refresh, r)``, as hourly partitions are) and publishes, per key, the aggregate over its
    events in ``(r - window, r)`` (``[r - window, r)`` for ``closed="both"``). A row at time ``t``
    is served the value of the last job ``r <= t``, plus its own event when ``include_current``
    (the request carries it). The value is stale twice: it misses the key's events in ``[r, t)``
    and still counts events that left the window after ``r``.

    With ``refresh`` no coarser than the timestamps (``"1s"`` for whole seconds) and
    ``include_current``, it equals :func:`window_count_batch` except for rows that share their
    timestamp with an earlier row of the same key (a job sees none of a second's events).

    Parameters
    ----------
    df : pandas.DataFrame
        Events, sorted by ``time`` (non-decreasing).
    refresh : str, pandas.Timedelta or datetime.timedelta, default "1h"
        Interval between batch jobs, positive (a day is ``"1D"``: pandas 3 deprecates ``"1d"``).
    key, time, window, agg, value, closed
        As in :func:`window_count_batch`.
    include_current : bool, default True
        Add the row's own event (count 1, or its value) to the published value. False gives the
        job's value alone, which is off by the current event on almost every row.

    Returns
    -------
    pandas.Series
        One value per row, aligned with ``df.index``, dtype and name as in
        :func:`window_count_batch` (name suffixed ``"_every_1h"``).

    Book: Chapter 3, "Batch Processing Versus Stream Processing" (batch features are stale);
    Chapter 7, "Batch Prediction Versus Online Prediction".

    Example
    -------
    >>> events = pd.DataFrame({
    ...     "user_id": [1, 1, 1, 1],
    ...     "timestamp": pd.to_datetime(["00:55", "00:58", "01:02", "01:09"], format="%H:%M"),
    ... })
    >>> window_count_batch(events).tolist()
    [1, 2, 3, 2]
    >>> stale_batch_feature(events, refresh="1h").tolist()  # the 01:00 job saw the 00:55 and 00:58 events
    [1, 1, 3, 3]
    """
    refresh = check_duration("refresh", refresh)
    include_current = check_bool("include_current", include_current)
    window, k, t, v, name = _prepare(df, key, time, window, agg, value, closed)
    name = f"{name}_every_{duration_label(refresh)}"
    if len(df) == 0:
        return _result(np.zeros(0), agg, df, name)
    r = t // refresh.value * refresh.value  # the last job at or before each row
    # Running total of each key, then "total of the key's events before time x" by an as-of join.
    events = pd.DataFrame({"ts": t, "k": k, "cum": pd.Series(v).groupby(k).cumsum().to_numpy()})

    def total_before(x: np.ndarray, inclusive: bool) -> np.ndarray:
        asof = pd.merge_asof(pd.DataFrame({"ts": x, "k": k}), events, on="ts", by="k", allow_exact_matches=inclusive)
        return asof["cum"].fillna(0.0).to_numpy()

    stale = total_before(r, False) - total_before(r - window.value, closed == "right")
    return _result(stale + (v if include_current else 0.0), agg, df, name)

import datetime as dt

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mlsys_course.datasets import make_transactions
from mlsys_course.streaming import (
    CLOSED,
    WindowCounter,
    stale_batch_feature,
    window_count_batch,
    window_count_stream,
    window_query,
)

T0 = np.datetime64("2024-01-01T00:00:00", "ns").astype(np.int64)
SECOND = 1_000_000_000


# --- references: the definitions, written as plainly as possible, O(n^2) --------------------------------


def in_window(tj, t, w, closed):
    return (t - w < tj if closed == "right" else t - w <= tj) and tj <= t


def window_reference(keys, t, v, w, closed):
    """Row i: sum of v over rows j <= i (arrival order) of the same key with t_j in the window ending at t_i."""
    return np.array(
        [sum(v[j] for j in range(i + 1) if keys[j] == keys[i] and in_window(t[j], t[i], w, closed)) for i in range(len(t))]
    )


def stale_reference(keys, t, v, w, closed, refresh, include_current):
    """Row i: the job at r = last multiple of refresh <= t_i, over the key's events before r in the window ending at r."""
    out = []
    for i in range(len(t)):
        r = t[i] // refresh * refresh
        job = sum(v[j] for j in range(len(t)) if keys[j] == keys[i] and t[j] < r and in_window(t[j], r, w, closed))
        out.append(job + (v[i] if include_current else 0.0))
    return np.array(out)


def frame(keys, t_ns, v=None, index=None):
    data = {"user_id": keys, "timestamp": np.asarray(t_ns, dtype=np.int64).view("datetime64[ns]")}
    data["amount"] = np.ones(len(keys)) if v is None else v
    return pd.DataFrame(data, index=index)


# Small streams with ties, bursts and events exactly one window apart.
GAPS = [0, 0, 0, 1, 59, 60, 61, 299, 300, 599, 600, 601, 3599, 3600, 86_400]
events_strategy = st.lists(
    st.tuples(st.sampled_from(GAPS), st.integers(0, 3), st.integers(1, 100_000)), min_size=1, max_size=40
)


def stream_from(events):
    t = T0 + np.cumsum([g for g, _, _ in events]) * SECOND
    keys = np.array([k for _, k, _ in events])
    v = np.array([c / 100 for _, _, c in events])  # cents, like amounts
    return keys, t, v


# --- the feature: batch (pandas), batch (DuckDB) and stream agree with the definition ----------------------


@settings(max_examples=60, deadline=None)
@given(events_strategy, st.sampled_from(["10min", "1min", "90s", "1h"]), st.sampled_from(CLOSED))
def test_three_ways_match_the_brute_force_definition(events, window, closed):
    keys, t, v = stream_from(events)
    df = frame(keys, t, v)
    w = pd.Timedelta(window).value
    expected_count = window_reference(keys, t, np.ones(len(t)), w, closed)
    expected_sum = window_reference(keys, t, v, w, closed)
    for compute, extra in [(window_count_batch, {}), (window_count_batch, {"engine": "duckdb"}), (window_count_stream, {})]:
        count = compute(df, window=window, closed=closed, **extra)
        assert count.dtype == np.int64
        np.testing.assert_array_equal(count.to_numpy(), expected_count)
        total = compute(df, window=window, closed=closed, agg="sum", **extra)
        np.testing.assert_allclose(total.to_numpy(), expected_sum, rtol=1e-12)


def test_ties_are_seen_in_arrival_order_and_the_window_edge_follows_closed():
    t = T0 + np.array([0, 0, 0, 600, 600]) * SECOND
    df = frame([7, 7, 7, 7, 8], t)
    # three events of key 7 in the same second see 1, 2, 3 (not 3, 3, 3); the event 10 min later
    # sees the first three only when the window's left edge is closed.
    for engine in ("pandas", "duckdb"):
        assert window_count_batch(df, engine=engine).tolist() == [1, 2, 3, 1, 1]
        assert window_count_batch(df, engine=engine, closed="both").tolist() == [1, 2, 3, 4, 1]
    assert window_count_stream(df).tolist() == [1, 2, 3, 1, 1]
    assert window_count_stream(df, closed="both").tolist() == [1, 2, 3, 4, 1]


def test_index_name_dtype_time_units_and_generic_keys():
    t = T0 + np.array([0, 30, 30, 700, 701]) * SECOND
    df = frame(["a", "b", "a", "a", "b"], t, v=[1.5, 2.0, 3.0, 4.0, 5.0], index=[50, 10, 40, 20, 30])
    expected = [1, 1, 2, 1, 1]
    for engine in ("pandas", "duckdb"):
        out = window_count_batch(df, engine=engine)
        assert out.index.equals(df.index) and out.name == "count_10min" and out.tolist() == expected
        total = window_count_batch(df, engine=engine, agg="sum", window=pd.Timedelta(hours=1))
        assert total.name == "sum_amount_1h" and total.dtype == np.float64
        assert total.tolist() == [1.5, 2.0, 4.5, 8.5, 7.0]
    stream = window_count_stream(df, window=dt.timedelta(minutes=10))
    assert stream.index.equals(df.index) and stream.tolist() == expected
    for unit in ("s", "us"):  # pandas 3 makes microsecond datetimes by default
        coarse = df.assign(timestamp=df["timestamp"].astype(f"datetime64[{unit}]"))
        assert window_count_batch(coarse).tolist() == window_count_batch(coarse, engine="duckdb").tolist() == expected


def test_empty_frames_give_empty_series():
    df = frame(np.array([], dtype=int), np.array([], dtype=np.int64))
    for out in (window_count_batch(df), window_count_batch(df, engine="duckdb"), window_count_stream(df), stale_batch_feature(df)):
        assert len(out) == 0 and out.dtype == np.int64


def test_window_query_reads_as_the_book_sql():
    sql = window_query("10min")
    assert "RANGE BETWEEN INTERVAL 10 MINUTE PRECEDING AND CURRENT ROW" in sql
    assert "OVER edge" in sql and "OVER edge" not in window_query("10min", closed="both")
    assert "INTERVAL 1 DAY" in window_query("1D") and "INTERVAL 1500 MILLISECOND" in window_query("1.5s")
    assert "sum(v)" in window_query(agg="sum")


# --- the stream processor ---------------------------------------------------------------------------------


def test_window_counter_evicts_and_holds_only_the_window():
    counter = WindowCounter("10min")
    times = pd.Timestamp("2024-01-01") + pd.to_timedelta([0, 1, 2, 9, 10, 11, 30], unit="min")
    assert [counter.update("x", ts) for ts in times] == [1.0, 2.0, 3.0, 4.0, 4.0, 4.0, 1.0]
    assert counter.n_events == 1
    assert counter.update("y", times[-1], value=2.5) == 2.5  # another key, same time: allowed
    assert counter.n_events == 2
    both = WindowCounter("10min", closed="both")
    assert [both.update("x", ts) for ts in times[:5]] == [1.0, 2.0, 3.0, 4.0, 5.0]


def test_window_counter_sum_has_no_drift_after_a_quiet_period():
    counter = WindowCounter("1min")
    for i in range(1000):
        counter.update(0, pd.Timestamp("2024-01-01") + pd.Timedelta(seconds=i), value=0.1)
    # 0.1 is not exact in binary; after a quiet period the total restarts at exactly the new value
    assert counter.update(0, "2024-01-02", value=0.3) == 0.3


def test_window_counter_accepts_the_usual_datetime_types():
    counter = WindowCounter()
    assert counter.update(1, dt.datetime(2024, 1, 1)) == 1.0
    assert counter.update(1, np.datetime64("2024-01-01T00:01")) == 2.0
    assert counter.update(1, pd.Timestamp("2024-01-01 00:02")) == 3.0
    assert counter.update(1, "2024-01-01 00:03") == 4.0


# --- staleness ------------------------------------------------------------------------------------------


@settings(max_examples=60, deadline=None)
@given(
    events_strategy,
    st.sampled_from(["1s", "1min", "7min", "10min", "1h", "1D"]),
    st.sampled_from(CLOSED),
    st.booleans(),
)
def test_stale_feature_matches_the_definition(events, refresh, closed, include_current):
    keys, t, v = stream_from(events)
    df = frame(keys, t, v)
    w, r = pd.Timedelta("10min").value, pd.Timedelta(refresh).value
    for agg, values in (("count", np.ones(len(t))), ("sum", v)):
        out = stale_batch_feature(df, refresh=refresh, closed=closed, agg=agg, include_current=include_current)
        expected = stale_reference(keys, t, values, w, closed, r, include_current)
        np.testing.assert_allclose(out.to_numpy(), expected, rtol=1e-12, atol=1e-9)


@settings(max_examples=60, deadline=None)
@given(events_strategy)
def test_refresh_every_second_is_fresh_except_for_same_second_ties(events):
    keys, t, v = stream_from(events)  # whole seconds
    df = frame(keys, t, v)
    fresh = window_count_batch(df, agg="sum").to_numpy()
    stale = stale_batch_feature(df, refresh="1s", agg="sum").to_numpy()
    # the job at second t has seen nothing of second t: it misses exactly the earlier same-key rows at t
    earlier_ties = np.array([sum(v[j] for j in range(i) if keys[j] == keys[i] and t[j] == t[i]) for i in range(len(t))])
    np.testing.assert_allclose(fresh - stale, earlier_ties, atol=1e-9)


def test_a_handmade_burst_is_missed_by_the_hourly_job():
    # a card-testing burst: five charges in four minutes just after 10:00, the hourly job ran at 10:00
    t = T0 + (10 * 3600 + np.array([-3000, 60, 120, 180, 240, 300])) * SECOND
    df = frame([1, 1, 1, 1, 1, 1], t)
    assert window_count_batch(df).tolist() == [1, 1, 2, 3, 4, 5]
    assert stale_batch_feature(df, refresh="1h").tolist() == [1, 1, 1, 1, 1, 1]
    assert stale_batch_feature(df, refresh="1min").tolist() == [1, 1, 2, 3, 4, 5]


# --- the case study ---------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def tx():
    return make_transactions(n=100_000, random_state=0)


def test_case_study_three_ways_agree(tx):
    count = window_count_batch(tx)
    pd.testing.assert_series_equal(window_count_batch(tx, engine="duckdb"), count)
    pd.testing.assert_series_equal(window_count_stream(tx), count)
    # an independent check: the count is >= 2 exactly when the user's previous transaction is < 10 min old
    gap = tx.groupby("user_id")["timestamp"].diff()
    np.testing.assert_array_equal(count.to_numpy() >= 2, (gap < pd.Timedelta("10min")).to_numpy())
    total = window_count_batch(tx, agg="sum")
    pd.testing.assert_series_equal(window_count_batch(tx, agg="sum", engine="duckdb"), total, rtol=1e-12)
    pd.testing.assert_series_equal(window_count_stream(tx, agg="sum"), total, rtol=1e-12)
    assert (total >= tx["amount"] - 1e-9).all()


# --- bad input --------------------------------------------------------------------------------------------


@pytest.fixture
def small():
    return frame([1, 2, 1], T0 + np.array([0, 5, 9]) * SECOND)


@pytest.mark.parametrize("compute", [window_count_batch, window_count_stream, stale_batch_feature])
def test_bad_frames_raise_naming_the_problem(compute, small):
    with pytest.raises(TypeError, match="df must be a pandas DataFrame"):
        compute(small.to_dict())
    with pytest.raises(ValueError, match=r"key must be a column of df; got 'card'; df has \['user_id', 'timestamp', 'amount'\]"):
        compute(small, key="card")
    with pytest.raises(ValueError, match="time must be a column of df"):
        compute(small, time="ts")
    with pytest.raises(ValueError, match="value must be a column of df"):
        compute(small, agg="sum", value="price")
    with pytest.raises(ValueError, match="df must have unique column names"):
        compute(small.rename(columns={"amount": "user_id"}))
    with pytest.raises(ValueError, match=r"sorted in non-decreasing order.*decrease at row 1"):
        compute(small.iloc[::-1])
    with pytest.raises(ValueError, match="NaT"):
        compute(small.assign(timestamp=small["timestamp"].where([True, False, True])))
    with pytest.raises(ValueError, match="timezone-naive"):
        compute(small.assign(timestamp=small["timestamp"].dt.tz_localize("UTC")))
    with pytest.raises(TypeError, match="datetime64 dtype; got int64"):
        compute(small.assign(timestamp=[0, 1, 2]))
    with pytest.raises(ValueError, match="missing keys"):
        compute(small.assign(user_id=[1.0, np.nan, 1.0]))
    with pytest.raises(TypeError, match=r"value must name a numeric column of df to sum it; got df\['amount'\]"):
        compute(small.assign(amount=["a", "b", "c"]), agg="sum")
    with pytest.raises(ValueError, match=r"value must name a finite column of df .*got df\['amount'\] with 1 non-finite"):
        compute(small.assign(amount=[1.0, np.nan, 2.0]), agg="sum")


@pytest.mark.parametrize("compute", [window_count_batch, window_count_stream, stale_batch_feature])
def test_bad_options_raise(compute, small):
    for window in ("0min", "-10min", pd.Timedelta(0)):
        with pytest.raises(ValueError, match="window must be a positive duration"):
            compute(small, window=window)
    with pytest.raises(TypeError, match="window must be a duration.*got 600"):
        compute(small, window=600)
    with pytest.raises(ValueError, match="window must be a duration such as"):
        compute(small, window="ten minutes")
    with pytest.raises(ValueError, match="agg must be one of 'count', 'sum'; got 'mean'"):
        compute(small, agg="mean")
    with pytest.raises(ValueError, match="closed must be one of 'right', 'both'; got 'left'"):
        compute(small, closed="left")


def test_bad_engine_refresh_and_report_options(small):
    with pytest.raises(ValueError, match="engine must be one of 'pandas', 'duckdb'; got 'spark'"):
        window_count_batch(small, engine="spark")
    with pytest.raises(ValueError, match="whole number of microseconds"):
        window_count_batch(small, window=pd.Timedelta(nanoseconds=1500), engine="duckdb")
    with pytest.raises(ValueError, match="refresh must be a positive duration"):
        stale_batch_feature(small, refresh="0s")
    with pytest.raises(TypeError, match="include_current must be True or False; got 1"):
        stale_batch_feature(small, include_current=1)


def test_window_counter_bad_input():
    with pytest.raises(ValueError, match="window must be a positive duration"):
        WindowCounter("-1min")
    with pytest.raises(ValueError, match="closed must be one of"):
        WindowCounter(closed="neither")
    counter = WindowCounter()
    counter.update("a", "2024-01-01 00:05")
    with pytest.raises(ValueError, match=r"timestamp must be >= the previous event's 2024-01-01 00:05:00.*got 2024-01-01 00:04:00"):
        counter.update("b", "2024-01-01 00:04")  # out of order, even for another key
    with pytest.raises(TypeError, match="key must be hashable"):
        counter.update(["a"], "2024-01-01 00:06")
    with pytest.raises(TypeError, match="timestamp must be a date string such as '2024-01-01' or a datetime; got 1700000000"):
        counter.update("a", 1_700_000_000)
    with pytest.raises(ValueError, match="timestamp must be a parsable date"):
        counter.update("a", "not a time")
    with pytest.raises(ValueError, match="timestamp must be a parsable date"):
        counter.update("a", np.datetime64("NaT"))
    with pytest.raises(ValueError, match="timezone-naive"):
        counter.update("a", pd.Timestamp("2024-01-01 00:06", tz="UTC"))
    with pytest.raises(TypeError, match="value must be a real number"):
        counter.update("a", "2024-01-01 00:06", value="1")
    with pytest.raises(ValueError, match="value must be finite"):
        counter.update("a", "2024-01-01 00:06", value=float("nan"))
    assert counter.update("a", "2024-01-01 00:06") == 2.0  # failed updates left no trace

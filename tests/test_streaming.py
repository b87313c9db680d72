import datetime as dt
import subprocess
import sys

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
    staleness_report,
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


def jobs_reference(t, w, closed, refresh):
    """Enumerate every job from the first row's refresh to the last row's; count the events each reads."""
    boundaries = range(t[0] // refresh * refresh, t[-1] // refresh * refresh + 1, refresh)
    scanned = sum(sum(1 for tj in t if tj < r and in_window(tj, r, w, closed)) for r in boundaries)
    return len(boundaries), scanned


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
def test_stale_feature_and_job_costs_match_the_definition(events, refresh, closed, include_current):
    keys, t, v = stream_from(events)
    df = frame(keys, t, v)
    w, r = pd.Timedelta("10min").value, pd.Timedelta(refresh).value
    for agg, values in (("count", np.ones(len(t))), ("sum", v)):
        out = stale_batch_feature(df, refresh=refresh, closed=closed, agg=agg, include_current=include_current)
        expected = stale_reference(keys, t, values, w, closed, r, include_current)
        np.testing.assert_allclose(out.to_numpy(), expected, rtol=1e-12, atol=1e-9)
    report = staleness_report(df, refreshes=[refresh], closed=closed, label=None)
    assert report.index.tolist() == [refresh]
    assert report.iloc[0][["jobs", "rows_scanned"]].tolist() == list(jobs_reference(t, w, closed, r))


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


def test_staleness_report_on_a_handmade_burst():
    # a card-testing burst: five charges in four minutes just after 10:00, the hourly job ran at 10:00
    t = T0 + (10 * 3600 + np.array([-3000, 60, 120, 180, 240, 300])) * SECOND
    df = frame([1, 1, 1, 1, 1, 1], t).assign(is_fraud=[0, 1, 1, 1, 1, 1])
    assert window_count_batch(df).tolist() == [1, 1, 2, 3, 4, 5]
    assert stale_batch_feature(df, refresh="1h").tolist() == [1, 1, 1, 1, 1, 1]
    report = staleness_report(df, refreshes=["1min", "1h"])
    assert report.loc["1h", "share_fraud_wrong"] == 0.8 and report.loc["1h", "share_burst_wrong"] == 1.0
    assert report.loc["1h", "mae"] == pytest.approx(10 / 6)
    assert report.loc["1min", "mae"] == 0.0
    assert (report["stream_updates"] == 6).all()
    assert list(report.columns) == [
        "jobs", "rows_scanned", "stream_updates", "mae", "share_wrong", "share_burst_wrong", "share_fraud_wrong"
    ]
    no_burst = staleness_report(df.iloc[:2], refreshes=["1h"], label=None)
    assert np.isnan(no_burst.loc["1h", "share_burst_wrong"]) and "share_fraud_wrong" not in no_burst


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


def test_case_study_staleness_grows_with_the_refresh_interval(tx):
    assert not tx.duplicated(["user_id", "timestamp"]).any()  # so refreshing every second is exactly fresh
    report = staleness_report(tx, refreshes=("1s", "1min", "10min", "1h", "1D"))
    assert report.loc["1s", ["mae", "share_wrong"]].tolist() == [0.0, 0.0]
    # burst rows are missed more and more often; the overall error grows while refresh <= window
    # (beyond, the job's window is always in the past and the served value is mostly the event itself)
    assert report["share_burst_wrong"].is_monotonic_increasing
    assert report.loc[["1s", "1min", "10min", "1h"], "mae"].is_monotonic_increasing
    assert report.loc["1D", "share_burst_wrong"] > 0.9
    # fewer jobs as the interval grows, and jobs that read only their window read fewer rows
    assert report["jobs"].is_monotonic_decreasing and report["rows_scanned"].is_monotonic_decreasing
    assert report.loc["1min", "rows_scanned"] > 9 * len(tx)  # every event sits in ~10 one-minute jobs' windows


# --- bad input --------------------------------------------------------------------------------------------


@pytest.fixture
def small():
    return frame([1, 2, 1], T0 + np.array([0, 5, 9]) * SECOND)


@pytest.mark.parametrize("compute", [window_count_batch, window_count_stream, stale_batch_feature])
def test_bad_frames_raise_naming_the_problem(compute, small):
    with pytest.raises(TypeError, match="df must be a pandas DataFrame"):
        compute(small.to_dict())
    with pytest.raises(ValueError, match="key must name a column of df; got 'card'"):
        compute(small, key="card")
    with pytest.raises(ValueError, match="time must name a column"):
        compute(small, time="ts")
    with pytest.raises(ValueError, match="value must name a column"):
        compute(small, agg="sum", value="price")
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
    with pytest.raises(TypeError, match=r"df\['amount'\] must be numeric"):
        compute(small.assign(amount=["a", "b", "c"]), agg="sum")
    with pytest.raises(ValueError, match=r"df\['amount'\] must be finite"):
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
    with pytest.raises(TypeError, match="include_current must be a bool"):
        stale_batch_feature(small, include_current=1)
    labelled = small.assign(is_fraud=[0, 1, 0])
    with pytest.raises(TypeError, match="refreshes must be a non-empty sequence"):
        staleness_report(labelled, refreshes="1h")
    with pytest.raises(TypeError, match="refreshes must be a non-empty sequence"):
        staleness_report(labelled, refreshes=[])
    with pytest.raises(ValueError, match=r"refreshes\[1\] must be a positive duration"):
        staleness_report(labelled, refreshes=["1h", "-1h"])
    with pytest.raises(ValueError, match="must not repeat"):
        staleness_report(labelled, refreshes=["1h", "60min"])
    with pytest.raises(ValueError, match="label must name a column"):
        staleness_report(small)
    with pytest.raises(ValueError, match=r"df\['is_fraud'\] must hold only 0 and 1"):
        staleness_report(small.assign(is_fraud=[0, 2, 0]))
    with pytest.raises(ValueError, match="at least one row"):
        staleness_report(labelled.iloc[:0])


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
    with pytest.raises(TypeError, match="timestamp must be a datetime.*got 1700000000"):
        counter.update("a", 1_700_000_000)
    with pytest.raises(ValueError, match="timestamp must be a valid time"):
        counter.update("a", "not a time")
    with pytest.raises(ValueError, match="timestamp must be a valid time"):
        counter.update("a", np.datetime64("NaT"))
    with pytest.raises(ValueError, match="timezone-naive"):
        counter.update("a", pd.Timestamp("2024-01-01 00:06", tz="UTC"))
    with pytest.raises(TypeError, match="value must be a real number"):
        counter.update("a", "2024-01-01 00:06", value="1")
    with pytest.raises(ValueError, match="value must be finite"):
        counter.update("a", "2024-01-01 00:06", value=float("nan"))
    assert counter.update("a", "2024-01-01 00:06") == 2.0  # failed updates left no trace


def test_import_is_cheap():
    code = "import sys, mlsys_course.streaming; print('duckdb' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"

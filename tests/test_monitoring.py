"""Tests of mlsys_course.monitoring: schema checks, operational metrics, windows, streaming detectors.

References: river 0.26's PageHinkley and ADWIN (same change points on seeded streams), plain pandas loops for
the windows and the per-window metrics, mlsys_course.latency.percentiles for the latency percentiles, and
Siegmund's approximation of the CUSUM average run length for Page-Hinkley's false-alarm rate.
"""

import math

import numpy as np
import pandas as pd
import pytest
from river import drift as river_drift

from mlsys_course.datasets import make_transactions
from mlsys_course.latency import percentiles
from mlsys_course.monitoring import CHECKS, ADWIN, PageHinkley, Schema, operational_metrics, windowed_metric


# ---------------------------------------------------------------- Schema

@pytest.fixture(scope="module")
def months():
    df = make_transactions(12_000, end="2024-03-01", random_state=3)
    cols = ["merchant_category", "amount", "device", "country", "is_foreign", "user_age", "account_age_days"]
    jan = df[df["timestamp"] < "2024-02-01"][cols].reset_index(drop=True)
    feb = df[df["timestamp"] >= "2024-02-01"][cols].reset_index(drop=True)
    return jan, feb


def test_a_frame_is_valid_against_its_own_schema_and_the_report_has_the_contract_columns(months):
    jan, _ = months
    report = Schema().fit(jan).validate(jan)
    assert report.empty
    assert list(report.columns) == ["column", "check", "expected", "found", "n_rows"]
    assert Schema().fit(jan).assert_valid(jan) is None


def test_the_unit_bug_fails_the_range_check_while_a_normal_month_passes(months):
    jan, feb = months
    schema = Schema(max_out_of_range=0.01).fit(jan)
    assert schema.validate(feb).empty  # next month, same units: heavy tails put < 1% outside
    cents = feb.assign(amount=feb["amount"] * 100)
    report = schema.validate(cents)
    assert report[["column", "check"]].values.tolist() == [["amount", "out_of_range"]]
    lo, hi = schema.ranges_["amount"]
    pad = 0.1 * (hi - lo)
    expected = int(((cents["amount"] < lo - pad) | (cents["amount"] > hi + pad)).sum())
    assert report["n_rows"].iloc[0] == expected > 0.5 * len(feb)


def test_each_check_fires_on_its_own_violation():
    ref = pd.DataFrame({"a": [1.0, 2.0, 3.0, 4.0], "b": ["x", "y", "x", None], "c": [1, 2, 3, 4],
                        "t": pd.date_range("2024-01-01", periods=4)})
    schema = Schema(missing_tolerance=0.2).fit(ref)
    cur = pd.DataFrame({"a": [1.0, 9.0, np.nan, np.nan], "b": ["x", "z", "z", "w"], "c": [1.0, 2.0, 3.0, 4.0],
                        "extra": [0, 0, 0, 0]})
    report = schema.validate(cur).set_index(["column", "check"])["n_rows"].to_dict()
    assert report == {("a", "out_of_range"): 1, ("a", "missing_rate"): 2, ("b", "unseen_category"): 3,
                      ("c", "dtype"): 4, ("t", "missing_column"): 4, ("extra", "unexpected_column"): 4}
    assert set(c for _, c in report) <= set(CHECKS)
    with pytest.raises(ValueError, match=r"'b': unseen_category"):
        schema.assert_valid(cur)


def test_range_tolerance_is_the_documented_widening():
    ref = pd.DataFrame({"a": [0.0, 10.0]})
    schema = Schema(range_tolerance=0.1).fit(ref)
    assert schema.validate(pd.DataFrame({"a": [-1.0, 11.0]})).empty  # exactly on the widened bounds
    report = schema.validate(pd.DataFrame({"a": [-1.001, 5.0, 11.001]}))
    assert report["n_rows"].tolist() == [2]
    assert Schema(range_tolerance=0.0).fit(ref).validate(pd.DataFrame({"a": [10.5]}))["check"].tolist() == ["out_of_range"]


def test_missing_rate_rule_is_an_absolute_increase():
    ref = pd.DataFrame({"a": [1.0] * 90 + [np.nan] * 10})  # 10% missing
    schema = Schema(missing_tolerance=0.05).fit(ref)
    assert schema.validate(pd.DataFrame({"a": [1.0] * 85 + [np.nan] * 15})).empty       # 15%: not more than 0.15
    assert schema.validate(pd.DataFrame({"a": [1.0] * 84 + [np.nan] * 16}))["check"].tolist() == ["missing_rate"]


def test_a_categorical_matches_strings_of_the_same_levels(months):
    jan, feb = months
    schema = Schema().fit(jan)
    as_str = feb.astype({"merchant_category": object})
    assert schema.validate(as_str)[["column", "check"]].values.tolist() == [["merchant_category", "dtype"]]


def test_schema_bad_use():
    with pytest.raises(ValueError, match="not fitted"):
        Schema().validate(pd.DataFrame({"a": [1]}))
    with pytest.raises(ValueError, match="range_tolerance"):
        Schema(range_tolerance=-1).fit(pd.DataFrame({"a": [1]}))
    with pytest.raises(TypeError, match="reference"):
        Schema().fit(np.ones((2, 2)))


# ---------------------------------------------------------------- operational metrics

def _random_log(seed):
    rng = np.random.default_rng(seed)
    n_requests = 400
    start = pd.Timestamp("2024-03-01 12:00:00").value
    times = np.sort(start + rng.integers(0, 10 * 60 * 10**9, n_requests))
    times[times > start + 4 * 60 * 10**9] += 3 * 60 * 10**9  # a gap: empty minutes
    rows = rng.integers(1, 4, n_requests)
    status = np.where(rng.random(n_requests) < 0.1, 500, 200)
    latency = rng.lognormal(3, 0.5, n_requests)
    frame = pd.DataFrame({"time": np.repeat(times, rows).astype("datetime64[ns]"),
                          "request_id": np.repeat([f"r{i}" for i in range(n_requests)], rows),
                          "model_version": "v1", "status": np.repeat(status, rows),
                          "latency_ms": np.repeat(latency, rows), "n_rows": np.repeat(rows, rows)})
    frame["prediction"] = np.where(frame["status"] >= 400, np.nan, rng.random(len(frame)))
    return frame.sample(frac=1.0, random_state=seed)  # order must not matter


@pytest.mark.parametrize("seed", [0, 1])
def test_operational_metrics_equal_a_plain_loop(seed):
    log = _random_log(seed)
    got = operational_metrics(log, window="1min")
    floor = log["time"].dt.floor("1min")
    minutes = pd.date_range(floor.min(), floor.max(), freq="1min")
    assert got["start"].tolist() == list(minutes)
    for row in got.itertuples():
        w = log[floor == row.start]
        reqs = w.drop_duplicates("request_id")
        assert row.requests == w["request_id"].nunique()
        if len(reqs) == 0:
            assert math.isnan(row.error_rate) and math.isnan(row.p99_ms) and math.isnan(row.mean_prediction)
            continue
        assert row.error_rate == pytest.approx((reqs["status"] >= 400).mean(), abs=1e-12)
        p = percentiles(reqs["latency_ms"].to_numpy(), q=(50, 99))
        assert (row.p50_ms, row.p99_ms) == pytest.approx((p["p50"], p["p99"]), rel=1e-12)
        assert row.throughput_rps == pytest.approx(len(reqs) / 60, rel=1e-12)
        assert row.mean_prediction == pytest.approx(w["prediction"].mean(), rel=1e-12)
    assert (got["requests"] == 0).any()  # the gap is kept as empty minutes


def test_operational_metrics_refuse_an_incomplete_log():
    with pytest.raises(ValueError, match="latency_ms"):
        operational_metrics(_random_log(0).drop(columns="latency_ms"))


# ---------------------------------------------------------------- windows

def _naive_windows(frame, time, column, window, kind, step, min_rows):
    t = frame[time]
    step = pd.Timedelta(step or window)
    window = pd.Timedelta(window)
    end = t.min().floor(step) + window
    out = []
    while True:
        lo = t.min() if kind == "cumulative" else end - window
        sub = frame[(t >= lo) & (t < end)]
        value = sub[column].mean() if len(sub) >= min_rows else np.nan
        out.append((end, len(sub), value))
        if end > t.max():
            break
        end += step
    return pd.DataFrame(out, columns=["end", "n_rows", "value"])


@pytest.mark.parametrize("kind, window, step", [("sliding", "7D", "1D"), ("tumbling", "1D", None),
                                                ("cumulative", "3D", "12h"), ("sliding", "36h", "5h")])
def test_windowed_metric_equals_a_plain_loop(kind, window, step):
    rng = np.random.default_rng(1)
    n = 3000
    frame = pd.DataFrame({"t": pd.Timestamp("2024-01-01 06:00") + pd.to_timedelta(rng.integers(0, 40 * 86400, n), "s"),
                          "x": rng.normal(10, 3, n)})
    frame.loc[rng.random(n) < 0.1, "x"] = np.nan
    got = windowed_metric(frame, time="t", value="x", window=window, kind=kind, step=step, min_rows=20)
    expected = _naive_windows(frame, "t", "x", window, kind, step, 20)
    pd.testing.assert_frame_equal(got[["end", "n_rows"]], expected[["end", "n_rows"]], check_dtype=False)
    np.testing.assert_allclose(got["value"], expected["value"], rtol=1e-10, equal_nan=True)
    by_callable = windowed_metric(frame, time="t", value=lambda sub: sub["x"].mean(), window=window, kind=kind,
                                  step=step, min_rows=20)
    np.testing.assert_allclose(by_callable["value"], got["value"], rtol=1e-10, equal_nan=True)


def test_a_cumulative_mean_hides_a_dip_a_sliding_window_shows():
    t = pd.date_range("2024-01-01", periods=100 * 24, freq="h")
    x = np.where((t >= "2024-03-01") & (t < "2024-03-04"), 0.5, 1.0)  # three bad days out of 100
    frame = pd.DataFrame({"t": t, "x": x})
    sliding = windowed_metric(frame, time="t", value="x", window="1D")
    cumulative = windowed_metric(frame, time="t", value="x", window="1D", kind="cumulative")
    assert sliding["value"].min() == 0.5
    assert cumulative["value"].min() > 0.95


def test_windowed_metric_bad_input():
    frame = pd.DataFrame({"t": pd.date_range("2024-01-01", periods=3), "s": ["a", "b", "c"]})
    with pytest.raises(TypeError, match="value"):
        windowed_metric(frame, time="t", value="s", window="1D")
    with pytest.raises(ValueError, match="step"):
        windowed_metric(frame, time="t", value=lambda s: 1.0, window="1D", kind="tumbling", step="12h")
    with pytest.raises(TypeError, match="value must return"):
        windowed_metric(frame, time="t", value=lambda s: "x", window="1D")


# ---------------------------------------------------------------- streaming detectors

def _streams(seed):
    rng = np.random.default_rng(seed)
    return {
        "up": np.concatenate([rng.normal(0, 1, 2000), rng.normal(1.5, 1, 2000)]),
        "down": np.concatenate([rng.normal(5, 2, 2000), rng.normal(3, 2, 3000)]),
        "none": rng.normal(0, 1, 5000),
        "bernoulli": (rng.random(5000) < np.r_[np.full(2500, 0.1), np.full(2500, 0.3)]).astype(float),
        "integers": rng.integers(0, 10, 3000).astype(float) + np.r_[np.zeros(1500), np.full(1500, 3.0)],
    }


def _river_points(detector, stream):
    points = []
    for i, x in enumerate(stream.tolist()):
        detector.update(x)
        if detector.drift_detected:
            points.append(i)
    return points


PH_PARAMS = [{}, {"mode": "up", "threshold": 20.0, "alpha": 0.999, "delta": 0.01, "min_instances": 10},
             {"mode": "down", "threshold": 10.0}, {"threshold": 100.0, "alpha": 1.0, "delta": 0.0}]


@pytest.mark.parametrize("seed", range(4))
def test_page_hinkley_gives_rivers_change_points(seed):
    for name, stream in _streams(seed).items():
        for params in PH_PARAMS:
            ours = PageHinkley(**params).detect(stream).tolist()
            theirs = _river_points(river_drift.PageHinkley(**params), stream)
            assert ours == theirs, (seed, name, params)


@pytest.mark.parametrize("seed", range(3))
def test_adwin_gives_rivers_change_points(seed):
    for name, stream in _streams(seed).items():
        for params in [{}, {"delta": 0.05, "clock": 1, "min_window_length": 10, "grace_period": 50}]:
            ours = ADWIN(**params).detect(stream).tolist()
            assert ours == _river_points(river_drift.ADWIN(**params), stream), (seed, name, params)
    assert ADWIN().detect(_streams(seed)["up"]).size >= 1


def test_detect_can_be_fed_in_chunks():
    stream = _streams(5)["down"]
    whole = PageHinkley(mode="down", threshold=10.0).detect(stream)
    ph = PageHinkley(mode="down", threshold=10.0)
    parts = [ph.detect(stream[:1234]), ph.detect(stream[1234:]) + 1234]
    np.testing.assert_array_equal(np.concatenate(parts), whole)
    assert whole.dtype == np.int64


def test_page_hinkley_false_alarm_rate_matches_the_cusum_run_length():
    # Siegmund's approximation of a one-sided CUSUM's average run length with no change, drift delta and
    # threshold lambda on unit-variance data: (exp(2 d l) - 1 - 2 d l) / (2 d^2); two sides halve it.
    d, lam = 0.005, 50.0
    arl_one_side = (math.exp(2 * d * lam) - 1 - 2 * d * lam) / (2 * d**2)
    expected_rate = 1 / (arl_one_side / 2 + 30)  # + min_instances after each reset
    n, alarms = 10 * 30_000, 0
    for seed in range(10):
        alarms += len(PageHinkley().detect(np.random.default_rng(seed).normal(0, 1, 30_000)))
    # ~200 alarms: a Poisson count has sd ~14 (7%); allow 25% for the approximation (running mean, alpha, discreteness)
    assert alarms / n == pytest.approx(expected_rate, rel=0.25)


def test_detection_delay_after_a_planted_shift():
    delays_ph, delays_adwin, early = [], [], 0
    for seed in range(20):
        rng = np.random.default_rng(100 + seed)
        stream = np.r_[rng.normal(0, 0.5, 2000), rng.normal(1, 0.5, 1000)]
        points = PageHinkley().detect(stream)
        early += int(np.sum(points < 2000))
        delays_ph.append(points[points >= 2000][0] - 2000)
        a = ADWIN().detect(stream)
        early += int(np.sum(a < 2000))
        delays_adwin.append(a[a >= 2000][0] - 2000)
    assert early == 0
    # a CUSUM started at 0 needs about lambda / (shift - delta) = 50 values; it starts at its (non-negative)
    # excursion, so it is sooner on average, never much later
    assert 0 < np.mean(delays_ph) <= 50.0 / (1 - 0.005) and max(delays_ph) < 100
    assert max(delays_adwin) <= 2 * 32 + 16  # within two clock ticks of a one-sd shift


def test_adwin_rarely_fires_without_a_change():
    alarms = sum(len(ADWIN().detect(np.random.default_rng(seed).normal(0, 1, 5000))) for seed in range(20))
    # ADWIN bounds the false-alarm probability per check by delta: 20 streams x ~156 checks x 0.002 = 6.25
    # expected at most; 15 is that bound's Poisson 99.9% quantile
    assert alarms <= 15


def test_detectors_expose_their_state():
    ph = PageHinkley(min_instances=5)
    for x in [1.0, 2.0, 3.0]:
        assert ph.update(x) is False
    assert ph.n_ == 3 and ph.mean_ == pytest.approx(2.0) and ph.statistic_ >= 0
    ad = ADWIN()
    ad.detect(np.ones(100))
    assert ad.width_ == 100 and ad.estimation_ == pytest.approx(1.0)
    with pytest.raises(ValueError, match="stream"):
        PageHinkley().detect([1.0, np.nan])
    with pytest.raises(ValueError, match="threshold"):
        PageHinkley(threshold=0)

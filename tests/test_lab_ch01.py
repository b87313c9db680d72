"""Chapter 1's lab drivers: the batch-size benchmark, the fill-wait simulation, the fan-out simulation, the
simulated analyst's rules and the exercise checks (the notebook runs them too)."""

import numpy as np
import pandas as pd
import pytest

from mlsys_course.datasets import make_transactions
from mlsys_course.exercises import evaluate
from mlsys_course.lab.ch01 import (
    BOOK_LATENCIES_MS,
    SIGNALS,
    _exercise_1_4_cases,
    apply_rule,
    batch_latency,
    batch_p99,
    fan_out,
    poisson_arrivals,
    throughput_curve,
    write_rule,
)
from mlsys_course.latency import percentiles


def test_book_latencies_give_the_book_numbers():
    # The book: mean 390 ms, median 100 ms, p90 3,000 ms; its p90 is the "higher" definition (nearest-rank: 110).
    assert BOOK_LATENCIES_MS.mean() == 390
    assert np.median(BOOK_LATENCIES_MS) == 100
    assert percentiles(BOOK_LATENCIES_MS, 90, method="higher").iloc[0] == 3000
    assert percentiles(BOOK_LATENCIES_MS, 90, method="nearest_rank").iloc[0] == 110


# --- throughput_curve --------------------------------------------------------------------------


def test_throughput_curve_shape_and_consistency():
    X = np.arange(64.0).reshape(32, 2)
    seen = []

    def predict(batch):
        seen.append(batch.shape[0])
        return batch.sum(axis=1)

    curve = throughput_curve(predict, X, batch_sizes=(1, 4, 32), repeat=6, warmup=2)
    assert curve.columns.tolist() == ["batch_size", "latency_ms_p50", "latency_ms_p99", "per_query_ms", "throughput_qps"]
    assert curve["batch_size"].tolist() == [1, 4, 32]
    assert seen == [1] * 8 + [4] * 8 + [32] * 8  # every call gets a full batch of the right size
    assert (curve["latency_ms_p99"] >= curve["latency_ms_p50"]).all()
    np.testing.assert_allclose(curve["per_query_ms"], curve["latency_ms_p50"] / curve["batch_size"])
    np.testing.assert_allclose(curve["throughput_qps"], 1000 / curve["per_query_ms"])


def test_throughput_curve_serves_distinct_rows_from_dataframes():
    X = pd.DataFrame({"a": np.arange(10)})
    firsts = []
    throughput_curve(lambda b: firsts.append(b["a"].iloc[0]), X, batch_sizes=np.array([3]), repeat=4, warmup=0)
    assert firsts == [0, 3, 6, 0]  # consecutive batches, cycling, the short tail batch dropped


@pytest.mark.parametrize(
    "args, kwargs, error, words",
    [
        (("not callable", np.zeros((4, 1))), {}, TypeError, "predict must be callable"),
        ((len, [1, 2, 3]), {"batch_sizes": (1,)}, TypeError, "X must be"),
        ((len, np.zeros((0, 2))), {"batch_sizes": (1,)}, ValueError, "X must have at least 1 row"),
        ((len, np.zeros((4, 2))), {"batch_sizes": (1, 8)}, ValueError, "batch_sizes must be <= 4"),
        ((len, np.zeros((4, 2))), {"batch_sizes": ()}, TypeError, "batch_sizes must be a non-empty"),
        ((len, np.zeros((4, 2))), {"batch_sizes": (2.0,)}, TypeError, "batch_sizes must be an integer"),
    ],
)
def test_throughput_curve_bad_input(args, kwargs, error, words):
    with pytest.raises(error, match=words):
        throughput_curve(*args, **kwargs)


# --- fan_out ----------------------------------------------------------------------------------------------


def test_fan_out_slow_share_matches_the_independence_formula():
    # Two latencies: 1 (99%) and 100 (1%). A page of n calls is slow iff any call is slow: 1 - 0.99**n.
    base = np.r_[np.ones(99), 100.0]
    n_samples = 200_000
    for n_calls in (1, 10, 50):
        pages = fan_out(base, n_calls, n_samples=n_samples, random_state=n_calls)
        p = 1 - 0.99**n_calls
        se = np.sqrt(p * (1 - p) / n_samples)
        assert abs((pages == 100).mean() - p) < 4 * se


def test_fan_out_is_deterministic_and_never_below_one_call():
    a = fan_out(BOOK_LATENCIES_MS, 5, n_samples=100, random_state=1)
    np.testing.assert_array_equal(a, fan_out(BOOK_LATENCIES_MS, 5, n_samples=100, random_state=1))
    assert a.shape == (100,) and a.min() >= BOOK_LATENCIES_MS.min()
    assert set(fan_out(BOOK_LATENCIES_MS, 1, n_samples=100, random_state=1)) <= set(BOOK_LATENCIES_MS)


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        ({"latencies": [1.0, -1.0], "n_calls": 2}, ValueError, "latencies must be non-negative"),
        ({"latencies": [1.0], "n_calls": 0}, ValueError, "n_calls must be >= 1"),
        ({"latencies": [1.0], "n_calls": 2, "n_samples": 0}, ValueError, "n_samples must be >= 1"),
        ({"latencies": [1.0], "n_calls": 10_000, "n_samples": 10**6}, ValueError, "n_calls \\* n_samples must be <="),
        ({"latencies": [1.0], "n_calls": 2, "random_state": "x"}, TypeError, "random_state must be"),
        ({"latencies": "fast", "n_calls": 2}, TypeError, "latencies must be array-like"),
    ],
)
def test_fan_out_rejects_bad_input(kwargs, error, match):
    with pytest.raises(error, match=match):
        fan_out(**kwargs)


# --- poisson_arrivals and batch_latency -------------------------------------------------------------------


def test_poisson_arrivals_have_exponential_gaps_at_the_rate():
    t = poisson_arrivals(500, 100_000, random_state=3)
    gaps = np.diff(t)
    assert (gaps >= 0).all()
    assert abs(gaps.mean() - 2.0) < 4 * 2.0 / np.sqrt(len(gaps))   # mean gap 1000 / 500 ms, within 4 standard errors
    assert abs(gaps.std() / gaps.mean() - 1) < 0.02                  # exponential: sd equals mean
    np.testing.assert_array_equal(t, poisson_arrivals(500, 100_000, random_state=3))


def _loop_latency(arrivals, batch, service):
    """The same server written as a plain loop: the reference for the vectorised version."""
    out, free = [], 0.0
    for k in range(len(arrivals) // batch):
        group = arrivals[k * batch:(k + 1) * batch]
        free = max(group[-1], free) + service
        out.extend(free - a for a in group)
    return np.array(out)


@pytest.mark.parametrize("rate, batch, service", [(50, 1, 10.0), (500, 10, 10.0), (2000, 50, 20.0), (900, 10, 10.0), (300, 4, 20.0)])
def test_batch_latency_matches_a_loop_simulation(rate, batch, service):
    arrivals = poisson_arrivals(rate, 3_001, random_state=rate)
    np.testing.assert_allclose(batch_latency(arrivals, batch, service), _loop_latency(arrivals, batch, service))


def test_batch_latency_on_even_arrivals_is_fill_wait_plus_service():
    for rate, batch, service in [(1000, 10, 5.0), (200, 4, 2.0), (50, 1, 10.0)]:
        arrivals = np.arange(1, 4001) * 1000 / rate
        expected = (batch - 1) / (2 * rate) * 1000 + service     # mean fill wait + service, the server keeps up
        assert batch_latency(arrivals, batch, service).mean() == pytest.approx(expected)


def test_batch_latency_grows_without_bound_when_the_server_cannot_keep_up():
    # 10 queries per 10 ms is 1000 qps of capacity; at 2000 qps the queue grows with the number of queries.
    short = batch_latency(poisson_arrivals(2000, 2_000, random_state=0), 10, 10.0)
    long = batch_latency(poisson_arrivals(2000, 20_000, random_state=0), 10, 10.0)
    assert np.percentile(long, 99) > 5 * np.percentile(short, 99)


@pytest.mark.parametrize(
    "args, error, match",
    [
        (([3.0, 1.0, 2.0], 1, 1.0), ValueError, "arrivals_ms must be non-decreasing"),
        (([1.0, 2.0], 3, 1.0), ValueError, "batch_size must be <= 2"),
        (([1.0, 2.0], 1, 0.0), ValueError, "service_ms must be in \\(0"),
        (([1.0, 2.0], 1, "1"), TypeError, "service_ms must be a real number"),
        (([1.0, 2.0], 1.5, 1.0), TypeError, "batch_size must be an integer"),
    ],
)
def test_batch_latency_rejects_bad_input(args, error, match):
    with pytest.raises(error, match=match):
        batch_latency(*args)


def test_poisson_arrivals_rejects_bad_input():
    with pytest.raises(ValueError, match="rate_qps must be in \\(0"):
        poisson_arrivals(0, 10)
    with pytest.raises(TypeError, match="rate_qps must be a real number"):
        poisson_arrivals(True, 10)
    with pytest.raises(ValueError, match="n must be >= 1"):
        poisson_arrivals(10, 0)


def test_batch_p99_prefers_small_batches_at_light_and_big_at_heavy_traffic():
    book = {1: 10.0, 10: 10.0, 50: 20.0}
    light, heavy = batch_p99(50, book, n=5_000), batch_p99(2000, book, n=5_000)
    assert min(light, key=light.get) == 1 and min(heavy, key=heavy.get) == 50
    with pytest.raises(TypeError, match="service_ms must be a non-empty dict"):
        batch_p99(50, [10.0])


# --- the simulated analyst ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def world():
    return make_transactions(n=150_000, random_state=5)


def test_write_rule_fits_the_capacity_and_follows_the_drift(world):
    month = world["timestamp"].dt.month
    january, june = world[month == 1], world[month == 6]
    for frame, capacity in [(january, 250), (june, 100)]:
        rule = write_rule(frame, capacity)
        assert set(rule["any of"]) <= set(SIGNALS) and len(rule["categories"]) == 2
        flags = apply_rule(rule, frame)
        assert flags.dtype == bool and flags.shape == (len(frame),)
        assert capacity <= flags.sum() <= capacity + 20                  # ties at the cutoff only
        fraud = frame["is_fraud"].to_numpy() == 1
        assert (flags & fraud).sum() / flags.sum() > 3 * fraud.mean()     # the rule is far better than chance
    assert write_rule(january, 250)["categories"] == ["electronics", "travel"]      # the generator's early fraud
    assert "digital_goods" in write_rule(june, 250)["categories"]                   # ... and its late fraud
    assert write_rule(january, 250)["amount"][0] == ">=" and write_rule(june, 250)["amount"][0] == "<="


def test_rules_reject_bad_input(world):
    with pytest.raises(TypeError, match="last_month must be a pandas DataFrame"):
        write_rule(world.head(100).to_numpy(), 10)
    with pytest.raises(ValueError, match="is_fraud"):
        write_rule(world.head(100).drop(columns="is_fraud"), 10)
    with pytest.raises(ValueError, match="at least one fraud"):
        write_rule(world[world["is_fraud"] == 0], 10)
    with pytest.raises(ValueError, match="capacity must be >= 1"):
        write_rule(world, 0)
    with pytest.raises(TypeError, match="rule must be a dict"):
        apply_rule({"categories": ["travel"]}, world)
    with pytest.raises(ValueError, match="must name signals"):
        apply_rule({"categories": ["travel"], "any of": ["moon phase"], "amount": (">=", 1.0)}, world)


# --- exercise checks ----------------------------------------------------------------------------------------


def test_exercise_1_4_needs_judgement():
    cases = _exercise_1_4_cases()
    assert len(cases) >= 5
    assert not evaluate("1.4", "not a function")
    assert not evaluate("1.4", lambda rate, service: 1)                  # never batching: overloaded at heavy traffic
    assert not evaluate("1.4", lambda rate, service: max(service))       # always the biggest batch: slow at light traffic
    assert not evaluate("1.4", lambda rate, service: 3)                  # not an offered size

    def smallest_that_keeps_up(rate, service):                             # no margin: queues near saturation
        return min(b for b, ms in service.items() if b / ms * 1000 > rate)
    assert not evaluate("1.4", smallest_that_keeps_up)

    def best_p99(rate, service):
        p99 = batch_p99(rate, service, random_state=7)
        return min(p99, key=p99.get)
    assert evaluate("1.4", best_p99)

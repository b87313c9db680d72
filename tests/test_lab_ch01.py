"""Chapter 1's lab drivers: the batch-size benchmark and the fan-out simulation (the notebook runs them too)."""

import numpy as np
import pandas as pd
import pytest

from mlsys_course.lab.ch01 import BOOK_LATENCIES_MS, fan_out, throughput_curve
from mlsys_course.latency import percentiles


def test_book_latencies_give_the_book_numbers():
    assert BOOK_LATENCIES_MS.mean() == 390
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

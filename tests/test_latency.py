import subprocess
import sys
import time

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mlsys_course import latency
from mlsys_course.latency import METHODS, NUMPY_METHODS, measure, percentile_table, percentiles, throughput_curve

BOOK = [100, 102, 100, 100, 99, 104, 110, 90, 3000, 95]


def nearest_rank_reference(values, q):
    """The textbook definition, written out: smallest x with at least q% of the data <= x."""
    s = sorted(values)
    n = len(s)
    for x in s:
        if sum(v <= x for v in s) >= q / 100 * n:
            return x
    return s[-1]


# --- percentiles -------------------------------------------------------------------------------


def test_book_example_numbers():
    assert np.mean(BOOK) == 390
    assert percentiles(BOOK, 50)["p50"] == 100
    assert percentiles(BOOK, 90)["p90"] == pytest.approx(399)
    assert percentiles(BOOK, 90, method="nearest_rank")["p90"] == 110
    assert percentiles(BOOK, 90, method="higher")["p90"] == 3000


def test_index_and_name():
    s = percentiles(BOOK, (50, 99.9), method="lower")
    assert s.index.tolist() == ["p50", "p99.9"]
    assert s.name == "lower"


def test_method_list_matches_numpy():
    private = getattr(getattr(np.lib, "_function_base_impl", None), "_QuantileMethods", None)
    if private is None:
        pytest.skip("numpy's private method registry is not available in this numpy version")
    assert set(NUMPY_METHODS) == set(private)
    assert METHODS == NUMPY_METHODS + ("nearest_rank",)


@pytest.mark.parametrize("method", NUMPY_METHODS)
def test_numpy_methods_match_numpy(method):
    rng = np.random.default_rng(0)
    x = rng.lognormal(size=37)
    q = [0, 1, 25, 50, 90, 99, 100]
    np.testing.assert_allclose(percentiles(x, q, method=method).to_numpy(), np.percentile(x, q, method=method))


@pytest.mark.parametrize("n", [1, 2, 7, 10, 100, 101, 1000])
def test_nearest_rank_matches_definition_and_inverted_cdf(n):
    x = np.random.default_rng(n).integers(0, 50, size=n)  # ties included
    q = [0, 1, 5, 10, 25, 50, 57, 90, 95, 99, 99.9, 100]
    ours = percentiles(x, q, method="nearest_rank").to_numpy()
    expected = [nearest_rank_reference(x.tolist(), qq) for qq in q]
    np.testing.assert_array_equal(ours, expected)
    np.testing.assert_array_equal(ours, np.percentile(x, q, method="inverted_cdf"))


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.integers(-1000, 1000), min_size=1, max_size=60),
    st.integers(0, 100),
)
def test_nearest_rank_property(values, q):
    got = percentiles(values, q, method="nearest_rank").iloc[0]
    assert got in values
    assert np.mean(np.asarray(values) <= got) >= q / 100 - 1e-12  # at least q% at or below
    smaller = [v for v in values if v < got]
    if smaller:  # and it is the smallest such value
        assert np.mean(np.asarray(values) <= max(smaller)) < q / 100
    assert got == np.percentile(values, q, method="inverted_cdf")


def test_percentile_table():
    table = percentile_table(BOOK, q=(50, 90), methods=("linear", "nearest_rank", "higher"))
    assert table.index.tolist() == ["linear", "nearest_rank", "higher"]
    assert table.columns.tolist() == ["p50", "p90"]
    np.testing.assert_allclose(table["p90"], [399, 110, 3000])
    assert (table.dtypes == float).all()


@pytest.mark.parametrize(
    "kwargs, error, words",
    [
        ({"latencies": []}, ValueError, "latencies"),
        ({"latencies": [1, np.nan]}, ValueError, "latencies"),
        ({"latencies": ["a", "b"]}, TypeError, "latencies"),
        ({"latencies": [[1, 2]]}, ValueError, "latencies"),
        ({"latencies": BOOK, "q": 101}, ValueError, "q must"),
        ({"latencies": BOOK, "q": (-1, 50)}, ValueError, "q must"),
        ({"latencies": BOOK, "q": "p90"}, TypeError, "q must"),
        ({"latencies": BOOK, "method": "nearest-rank"}, ValueError, "method must be one of"),
    ],
)
def test_percentiles_bad_input(kwargs, error, words):
    with pytest.raises(error, match=words):
        percentiles(**kwargs)


def test_percentile_table_bad_input():
    with pytest.raises(TypeError, match="methods"):
        percentile_table(BOOK, methods="linear")
    with pytest.raises(ValueError, match="method must be one of"):
        percentile_table(BOOK, methods=("linear", "bogus"))


# --- measure -----------------------------------------------------------------------------------


def test_measure_returns_repeat_positive_ms_and_passes_arguments():
    calls = []
    ms = measure(lambda a, b=0: calls.append((a, b)), 1, b=2, repeat=7, warmup=3)
    assert ms.shape == (7,) and ms.dtype == float
    assert (ms > 0).all()
    assert calls == [(1, 2)] * 10


def test_measure_sleep_is_a_lower_bound():
    ms = measure(time.sleep, 0.002, repeat=5, warmup=0)
    assert (ms >= 2.0).all()


@pytest.mark.parametrize(
    "args, kwargs, error, words",
    [
        ((42,), {}, TypeError, "fn must be callable"),
        ((sum, [1]), {"repeat": 0}, ValueError, "repeat must be >= 1"),
        ((sum, [1]), {"repeat": 2.0}, TypeError, "repeat must be an integer"),
        ((sum, [1]), {"warmup": -1}, ValueError, "warmup must be >= 0"),
    ],
)
def test_measure_bad_input(args, kwargs, error, words):
    with pytest.raises(error, match=words):
        measure(*args, **kwargs)


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
    throughput_curve(lambda b: firsts.append(b["a"].iloc[0]), X, batch_sizes=(3,), repeat=4, warmup=0)
    assert firsts == [0, 3, 6, 0]  # consecutive batches, cycling, the short tail batch dropped


def test_throughput_curve_with_a_scikit_learn_model():
    from sklearn.linear_model import LogisticRegression

    rng = np.random.default_rng(0)
    X = rng.normal(size=(256, 5))
    model = LogisticRegression().fit(X, X[:, 0] > 0)
    curve = throughput_curve(model.predict_proba, X, repeat=3, warmup=1)
    assert curve["batch_size"].tolist() == [1, 2, 4, 8, 16, 32, 64, 128, 256]
    assert np.isfinite(curve.to_numpy()).all()


@pytest.mark.parametrize(
    "args, kwargs, error, words",
    [
        (("not callable", np.zeros((4, 1))), {}, TypeError, "predict must be callable"),
        ((len, [1, 2, 3]), {"batch_sizes": (1,)}, TypeError, "X must be"),
        ((len, np.zeros((0, 2))), {"batch_sizes": (1,)}, ValueError, "X must have at least 1 row"),
        ((len, np.zeros((4, 2))), {"batch_sizes": (1, 8)}, ValueError, "batch_sizes must be <= 4"),
        ((len, np.zeros((4, 2))), {"batch_sizes": (0,)}, ValueError, "batch_sizes must be >= 1"),
        ((len, np.zeros((4, 2))), {"batch_sizes": ()}, TypeError, "batch_sizes must be a non-empty"),
        ((len, np.zeros((4, 2))), {"batch_sizes": (2.0,)}, TypeError, "batch_sizes must be an integer"),
        ((len, np.zeros((4, 2))), {"batch_sizes": (1,), "repeat": 0}, ValueError, "repeat"),
    ],
)
def test_throughput_curve_bad_input(args, kwargs, error, words):
    with pytest.raises(error, match=words):
        throughput_curve(*args, **kwargs)


def test_import_does_not_load_scikit_learn():
    code = "import sys, mlsys_course.latency; print('sklearn' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


# --- fan_out ----------------------------------------------------------------------------------------------


def test_fan_out_slow_share_matches_the_independence_formula():
    # Two latencies: 1 (99%) and 100 (1%). A page of n calls is slow iff any call is slow: 1 - 0.99**n.
    base = np.r_[np.ones(99), 100.0]
    n_samples = 200_000
    for n_calls in (1, 10, 50):
        pages = latency.fan_out(base, n_calls, n_samples=n_samples, random_state=n_calls)
        p = 1 - 0.99**n_calls
        se = np.sqrt(p * (1 - p) / n_samples)
        assert abs((pages == 100).mean() - p) < 4 * se


def test_fan_out_is_deterministic_and_never_below_one_call():
    a = latency.fan_out(latency.BOOK_LATENCIES_MS, 5, n_samples=100, random_state=1)
    b = latency.fan_out(latency.BOOK_LATENCIES_MS, 5, n_samples=100, random_state=1)
    np.testing.assert_array_equal(a, b)
    assert a.shape == (100,) and a.min() >= latency.BOOK_LATENCIES_MS.min()
    single = latency.fan_out(latency.BOOK_LATENCIES_MS, 1, n_samples=100, random_state=1)
    assert set(single) <= set(latency.BOOK_LATENCIES_MS)


def test_book_latencies_give_the_book_numbers():
    assert latency.BOOK_LATENCIES_MS.mean() == 390
    assert latency.percentiles(latency.BOOK_LATENCIES_MS, 90, method="nearest_rank").iloc[0] == 110


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        ({"latencies": [1.0, -1.0], "n_calls": 2}, ValueError, "latencies must be non-negative"),
        ({"latencies": [1.0], "n_calls": 0}, ValueError, "n_calls must be >= 1"),
        ({"latencies": [1.0], "n_calls": 2, "n_samples": 0}, ValueError, "n_samples must be >= 1"),
        ({"latencies": [1.0], "n_calls": 2, "random_state": "x"}, TypeError, "random_state must be"),
        ({"latencies": "fast", "n_calls": 2}, TypeError, "latencies must be array-like"),
    ],
)
def test_fan_out_rejects_bad_input(kwargs, error, match):
    with pytest.raises(error, match=match):
        latency.fan_out(**kwargs)

import time

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mlsys_course.latency import METHODS, NUMPY_METHODS, measure, percentiles

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


def test_unusual_but_valid_inputs():
    expected = percentiles(BOOK, (50, 90), method="nearest_rank")
    for latencies in (np.array(BOOK, dtype=np.float32), pd.Series(BOOK, index=range(100, 110)), tuple(BOOK)):
        np.testing.assert_array_equal(percentiles(latencies, (50, 90), method="nearest_rank"), expected)
    for q in (np.int64(90), np.float32(90.0), np.array(90), np.array([90]), range(90, 91), pd.Series([90], index=[7])):
        assert percentiles(BOOK, q, method="nearest_rank").tolist() == [110]


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

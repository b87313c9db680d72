"""mlsys_course.feedback: coverage, Gini and average recommended popularity against their standard formulas."""

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.integrate import trapezoid

from mlsys_course.feedback import average_recommended_popularity, catalog_coverage, gini_index


def _gini_mean_absolute_difference(x):
    """G = sum_i sum_j |x_i - x_j| / (2 n^2 mean): the textbook definition, O(n^2)."""
    x = np.asarray(x, dtype=float)
    return np.abs(x[:, None] - x[None, :]).sum() / (2 * len(x) ** 2 * x.mean())


def _gini_lorenz(x):
    """One minus twice the area under the Lorenz curve (points (i/n, share of the i smallest)), by scipy."""
    x = np.sort(np.asarray(x, dtype=float))
    n = len(x)
    shares = np.concatenate([[0.0], np.cumsum(x) / x.sum()])
    return 1.0 - 2.0 * trapezoid(shares, np.linspace(0.0, 1.0, n + 1))


nonneg_counts = st.lists(st.floats(0, 1e6, allow_nan=False, allow_infinity=False), min_size=1, max_size=60).filter(
    lambda v: sum(v) > 0)


@settings(max_examples=150, deadline=None, derandomize=True)
@given(nonneg_counts)
def test_gini_equals_the_mean_absolute_difference_and_lorenz_formulas(counts):
    g = gini_index(counts)
    assert g == pytest.approx(_gini_mean_absolute_difference(counts), abs=1e-9)
    assert g == pytest.approx(_gini_lorenz(counts), abs=1e-9)
    assert 0.0 <= g <= 1.0 - 1.0 / len(counts) + 1e-12


def test_gini_known_values_and_properties():
    assert gini_index([3, 3, 3]) == 0.0
    assert gini_index([7]) == 0.0
    assert gini_index([0, 0, 0, 5]) == pytest.approx(0.75)  # all exposure on one of n items: 1 - 1/n
    assert gini_index([1, 2, 3, 4]) == pytest.approx(0.25)  # sum |xi - xj| = 20; 20 / (2 * 16 * 2.5)
    rng = np.random.default_rng(0)
    x = rng.integers(0, 50, 200)
    assert gini_index(x) == pytest.approx(gini_index(10 * x))           # scale invariant
    assert gini_index(x) == pytest.approx(gini_index(rng.permutation(x)))  # order free
    # dropping the never-shown items hides the long tail: the index falls
    assert gini_index(np.r_[x[x > 0], np.zeros(100)]) > gini_index(x[x > 0])
    # moving exposure from a rich item to a poor one lowers the index (Pigou-Dalton)
    y = np.array([1.0, 5.0, 20.0])
    assert gini_index([2.0, 5.0, 19.0]) < gini_index(y)
    # a large uniform sample has a Gini of 1/3
    assert gini_index(rng.uniform(0, 1, 20_000)) == pytest.approx(1 / 3, abs=0.01)


def test_gini_refuses_bad_counts_and_all_zero():
    with pytest.raises(ValueError, match="counts must not be all zero"):
        gini_index([0, 0, 0])
    with pytest.raises(ValueError, match="counts must be non-negative"):
        gini_index([1, -2, 3])
    with pytest.raises(ValueError, match="counts must be finite"):
        gini_index([1.0, np.nan])
    with pytest.raises(ValueError, match="counts must have at least 1"):
        gini_index([])
    with pytest.raises(TypeError, match="counts must be numeric"):
        gini_index(["a", "b"])
    with pytest.raises(ValueError, match="counts must have 1 dimension"):
        gini_index([[1, 2], [3, 4]])
    assert gini_index([1.7e308, 1.7e308]) == 0.0 and gini_index([1.7e308, 0.0]) == pytest.approx(0.5)  # no overflow


def test_catalog_coverage_counts_distinct_items():
    assert catalog_coverage([[0, 1, 2], [0, 1, 3]], n_items=10) == 0.4
    assert catalog_coverage(np.tile([4, 2, 9], (500, 1)), n_items=100) == 0.03  # the same list for everyone: k / n
    assert catalog_coverage(np.arange(12).reshape(4, 3), n_items=12) == 1.0
    rng = np.random.default_rng(1)
    recs = rng.integers(0, 50, (30, 5))
    assert catalog_coverage(recs, 50) == len(set(recs.ravel().tolist())) / 50
    assert catalog_coverage(pd.DataFrame(recs), 50) == catalog_coverage(recs, 50)


def test_average_recommended_popularity_is_abdollahpouris_formula():
    rng = np.random.default_rng(2)
    popularity = rng.lognormal(0, 1, 40)
    recs = rng.integers(0, 40, (25, 4))
    expected = sum(sum(popularity[i] for i in row) / len(row) for row in recs) / len(recs)
    assert average_recommended_popularity(recs, popularity) == pytest.approx(expected, rel=1e-12)
    # read by position: a Series' index is not used
    series = pd.Series(popularity, index=np.arange(40) + 1000)
    assert average_recommended_popularity(recs, series) == pytest.approx(expected, rel=1e-12)
    assert average_recommended_popularity([[0, 1], [0, 2]], [100, 10, 0, 1]) == 52.5


@pytest.mark.parametrize("bad, error, message", [
    ([[0, 10]], ValueError, r"recommendations must hold item ids in \[0, n_items\) = \[0, 10\); got ids from 0 to 10"),
    ([[-1, 2]], ValueError, "recommendations must hold item ids in"),
    ([0, 1, 2], ValueError, "recommendations must be 2-D"),
    ([[0, 1], [2]], ValueError, "recommendations must be a rectangular"),
    ([[0.0, 1.0]], TypeError, "recommendations must hold integer item ids"),
    ([[True, False]], TypeError, "recommendations must hold integer item ids"),
    (np.zeros((0, 3), dtype=int), ValueError, "recommendations must hold at least one item id"),
    ("abc", TypeError, "recommendations must be a 2-D array"),
    (None, TypeError, "recommendations must be a 2-D array"),
])
def test_bad_recommendations_are_refused(bad, error, message):
    with pytest.raises(error, match=message):
        catalog_coverage(bad, n_items=10)


def test_bad_n_items_and_popularity_are_refused():
    with pytest.raises(ValueError, match="n_items must be >= 1"):
        catalog_coverage([[0]], n_items=0)
    with pytest.raises(TypeError, match="n_items must be an integer"):
        catalog_coverage([[0]], n_items=3.0)
    with pytest.raises(ValueError, match=r"\[0, len\(popularity\)\) = \[0, 2\)"):
        average_recommended_popularity([[0, 2]], [1.0, 2.0])
    with pytest.raises(ValueError, match="popularity must be non-negative"):
        average_recommended_popularity([[0, 1]], [1.0, -2.0])
    with pytest.raises(ValueError, match="popularity must be finite"):
        average_recommended_popularity([[0, 1]], [1.0, np.inf])

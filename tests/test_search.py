"""Tests for mlsys_course.search: grids at a budget, and the paired test of a gain."""

import numpy as np
import pandas as pd
import pytest
from scipy.stats import loguniform, poisson, randint, ttest_rel
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV

from mlsys_course.comparison import paired_difference
from mlsys_course.search import budget_grid, is_gain_real


# --- budget_grid --------------------------------------------------------------------------------------
@pytest.mark.parametrize("budget", [1, 2, 4, 9, 10, 27, 100])
def test_budget_grid_never_exceeds_the_budget(budget):
    space = {"a": [1, 2, 3, 4, 5], "b": loguniform(1, 10), "c": randint(1, 100)}
    grid = budget_grid(space, budget)
    assert list(grid) == ["a", "b", "c"]
    assert np.prod([len(v) for v in grid.values()]) <= budget


def test_budget_grid_values():
    # an evenly spaced subset of a list; a short list frees budget for the others
    assert budget_grid({"C": [0.01, 0.1, 1, 10, 100]}, 3) == {"C": [0.01, 1, 100]}
    g = budget_grid({"penalty": ["l2"], "C": loguniform(0.01, 100)}, 4)
    assert g["penalty"] == ["l2"] and len(g["C"]) == 4
    # quantiles (i + 0.5) / k of a distribution: log-uniform over 4 decades, k = 4
    np.testing.assert_allclose(g["C"], 10.0 ** (-2 + 4 * (np.arange(4) + 0.5) / 4))
    assert budget_grid({"n": randint(1, 11)}, 5) == {"n": [1, 3, 5, 7, 9]}
    assert budget_grid({"n": poisson(3)}, 3) == {"n": [1, 3, 5]}  # any discrete distribution gives integers


def test_budget_grid_is_a_param_grid_and_accepts_arrays_and_ranges():
    grid = budget_grid({"C": np.logspace(-2, 2, 9), "max_iter": range(100, 600, 100)}, 6)
    assert len(grid["C"]) * len(grid["max_iter"]) <= 6
    X = np.random.default_rng(0).normal(size=(60, 2))
    search = GridSearchCV(LogisticRegression(), grid, cv=2).fit(X, (X[:, 0] > 0).astype(int))
    assert len(search.cv_results_["params"]) == len(grid["C"]) * len(grid["max_iter"])


def test_budget_grid_bad_input():
    with pytest.raises(TypeError, match=r"param_space\['C'\]"):
        budget_grid({"C": 3}, 4)
    with pytest.raises(TypeError, match=r"param_space\['C'\]"):
        budget_grid({"C": []}, 4)
    with pytest.raises(TypeError, match=r"param_space\['C'\]"):
        budget_grid({"C": "abc"}, 4)
    with pytest.raises(TypeError, match=r"param_space\['C'\] must be a frozen scipy.stats distribution"):
        budget_grid({"C": loguniform}, 4)  # the distribution, not loguniform(a, b)
    with pytest.raises(ValueError, match="budget must be <= 1000000"):
        budget_grid({"C": loguniform(1, 10)}, 10**9)
    with pytest.raises(TypeError, match="param_space must be a non-empty dict"):
        budget_grid({}, 4)
    with pytest.raises(TypeError, match="keys must be parameter names"):
        budget_grid({1: [1, 2]}, 4)
    with pytest.raises(ValueError, match="budget must be >= 1"):
        budget_grid({"C": [1, 2]}, 0)
    with pytest.raises(TypeError, match="budget must be an integer"):
        budget_grid({"C": [1, 2]}, 2.5)
    with pytest.raises(ValueError, match=r"param_space\['C'\] must be a 1-d array of values; got shape \(2, 2\)"):
        budget_grid({"C": np.ones((2, 2))}, 4)  # was read row by row, a grid of arrays
    with pytest.raises(ValueError, match=r"param_space\['C'\] must be a 1-d array of values; got shape \(\)"):
        budget_grid({"C": np.array(3.0)}, 4)  # was a vague "len() of unsized object"


@pytest.mark.parametrize("space", [loguniform(10, 1), randint(5, 1)])
def test_budget_grid_refuses_a_distribution_with_invalid_parameters(space):
    """Bounds in the wrong order make scipy's quantiles NaN: the grid was NaNs (or int64's minimum) without a word."""
    with pytest.raises(ValueError, match=r"param_space\['C'\] must be a distribution with valid parameters"):
        budget_grid({"C": space}, 4)


def test_budget_grid_accepts_a_series_and_tuple():
    assert budget_grid({"C": pd.Series([0.1, 1.0, 10.0], index=[5, 6, 7]), "p": ("l1", "l2")}, 4) == {
        "C": [0.1, 10.0], "p": ["l1", "l2"]}


# --- is_gain_real -------------------------------------------------------------------------------------
def test_is_gain_real_against_scipy_and_the_comparison_harness():
    a = np.array([0.80, 0.83, 0.78, 0.81, 0.82])
    b = a + np.array([0.01, -0.02, 0.03, 0.0, 0.01])
    r = is_gain_real(a, b)
    reference = ttest_rel(b, a)
    low, high = reference.confidence_interval(0.95)
    assert r["p_value"] == pytest.approx(reference.pvalue)
    assert (r["low"], r["high"]) == pytest.approx((low, high))
    assert (r["mean_gain"], r["low"], r["high"]) == pytest.approx(paired_difference(b, a))
    assert r["mean_gain"] == pytest.approx(0.006) and not r["real"]
    assert r["spread"] == pytest.approx(np.sqrt((a.var(ddof=1) + b.var(ddof=1)) / 2))
    wide = is_gain_real(a, b, confidence=0.99)
    assert wide["low"] < r["low"] and wide["high"] > r["high"]


def test_real_means_the_interval_is_above_zero():
    rng = np.random.default_rng(0)
    seed_noise = rng.normal(0.8, 0.03, size=8)  # shared by both arms: cancels in the paired difference
    a = seed_noise + rng.normal(0, 0.002, size=8)
    b = seed_noise + 0.01 + rng.normal(0, 0.002, size=8)
    gain = is_gain_real(a, b)
    assert gain["real"] and gain["low"] > 0 and gain["p_value"] < 0.05
    assert gain["spread"] > gain["mean_gain"]  # the gain is below the seed spread, yet real: pairing
    loss = is_gain_real(b, a)
    assert not loss["real"] and loss["high"] < 0  # a measurable loss is not a gain


def test_null_is_rejected_at_about_the_stated_rate():
    rng = np.random.default_rng(1)
    real = [is_gain_real(rng.normal(size=5), rng.normal(size=5))["real"] for _ in range(2000)]
    # one-sided: the interval lies above 0 in 2.5% of null runs; sd of the rate over 2000 runs is 0.0035
    assert np.mean(real) == pytest.approx(0.025, abs=0.012)


def test_is_gain_real_edge_cases_and_valid_inputs():
    same = is_gain_real([0.5, 0.6, 0.7], [0.5, 0.6, 0.7])
    assert same["mean_gain"] == 0 and same["p_value"] == 1.0 and not same["real"]
    constant = is_gain_real([0.5, 0.6, 0.7], [0.75, 0.85, 0.95])  # exactly +0.25 every seed
    assert constant["real"] and constant["p_value"] == 0.0 and constant["low"] == pytest.approx(0.25)
    series = is_gain_real(pd.Series([0.8, 0.81, 0.82], index=[7, 8, 9]), np.array([0.9, 0.9, 0.93], dtype=np.float32))
    assert series["mean_gain"] == pytest.approx(0.1, abs=1e-6)


def test_is_gain_real_bad_input():
    with pytest.raises(ValueError, match="paired"):
        is_gain_real([1, 2, 3], [1, 2])
    with pytest.raises(ValueError, match="scores_a must have at least 2"):
        is_gain_real([1], [1])
    with pytest.raises(ValueError, match="scores_b must be finite"):
        is_gain_real([1, 2], [1, np.nan])
    with pytest.raises(TypeError, match="scores_a must be numeric"):
        is_gain_real(["a", "b"], [1, 2])
    with pytest.raises(TypeError, match="scores_a must be array-like"):
        is_gain_real(0.8, [1, 2])
    with pytest.raises(ValueError, match="confidence"):
        is_gain_real([1, 2], [2, 3], confidence=1.0)

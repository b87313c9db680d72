"""The latency budget (mlsys_course.latency.budget): the Monte Carlo sum of a request path's parts against
exact results: a sum of exponentials is a gamma, a constant shifts every quantile, and the memoryless tail."""

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from mlsys_course.latency import MAX_SAMPLES, budget, percentiles


def _quantile_se(p, n, density):
    """Standard error of the empirical p-quantile of n draws (asymptotic: sqrt(p(1-p)/n) / f(x_p))."""
    return np.sqrt(p * (1 - p) / n) / density


def test_sum_of_two_exponentials_is_a_gamma_not_the_sum_of_their_p99s():
    scale, m, n = 10.0, 200_000, 400_000
    rng = np.random.default_rng(0)
    parts = {"queueing": rng.exponential(scale, m), "inference": rng.exponential(scale, m)}
    table = budget(parts, objective_ms=100.0, n_samples=n, random_state=1)
    exact = stats.gamma(a=2, scale=scale)
    for p, column in [(0.5, "p50_ms"), (0.99, "p99_ms")]:
        x = exact.ppf(p)
        # error from the Monte Carlo draws (n) and from each part's own sample (m), 5 standard errors
        se = np.sqrt(_quantile_se(p, n, exact.pdf(x)) ** 2 + 2 * _quantile_se(p, m, exact.pdf(x)) ** 2)
        assert table.loc["total", column] == pytest.approx(x, abs=5 * se)
    sum_of_p99s = table.loc[["queueing", "inference"], "p99_ms"].sum()
    assert sum_of_p99s == pytest.approx(2 * stats.expon(scale=scale).ppf(0.99), rel=0.02)
    assert sum_of_p99s - table.loc["total", "p99_ms"] > 20  # 92.1 against 66.4 ms: adding p99s overstates
    assert table.loc["total", "mean_ms"] == pytest.approx(2 * scale, rel=0.01)


def test_a_fixed_part_shifts_every_quantile_and_its_tail_share_is_exact():
    """Memoryless: the mean of an exponential over its top 1% is its p99 plus its scale."""
    scale, c, m = 5.0, 40.0, 400_000
    x = np.random.default_rng(1).exponential(scale, m)
    table = budget({"network": c, "inference": x}, objective_ms=70.0, n_samples=m, random_state=2)
    expon = stats.expon(scale=scale)
    for p, column in [(0.5, "p50_ms"), (0.99, "p99_ms")]:
        se = np.sqrt(2) * _quantile_se(p, m, expon.pdf(expon.ppf(p)))
        assert table.loc["total", column] == pytest.approx(c + expon.ppf(p), abs=5 * se)
    tail_mean = c + expon.ppf(0.99) + scale
    assert table.loc["network", "tail_share"] == pytest.approx(c / tail_mean, rel=0.01)
    assert table.loc["inference", "tail_share"] == pytest.approx((expon.ppf(0.99) + scale) / tail_mean, rel=0.02)
    assert table["tail_share"].drop("total").sum() == pytest.approx(1.0)


def test_parts_are_summarised_from_their_own_samples_and_fixed_parts_as_given():
    x = np.random.default_rng(3).lognormal(1.0, 0.5, 777)
    table = budget({"network": 12.5, "inference": x}, objective_ms=50.0, random_state=0)
    assert table.index.tolist() == ["network", "inference", "total"]
    assert table.columns.tolist() == ["kind", "mean_ms", "p50_ms", "p99_ms", "tail_share", "within_objective"]
    assert table["kind"].tolist() == ["fixed", "measured", "sum"]
    np.testing.assert_array_equal(table.loc["inference", ["p50_ms", "p99_ms"]].astype(float), percentiles(x, (50, 99)))
    assert table.loc["inference", "mean_ms"] == pytest.approx(x.mean())
    assert table.loc["network", ["mean_ms", "p50_ms", "p99_ms"]].tolist() == [12.5, 12.5, 12.5]
    assert table.loc["total", "tail_share"] == 1.0


def test_the_objective_verdict():
    x = np.random.default_rng(4).exponential(5.0, 100_000)
    table = budget({"network": 40.0, "inference": x}, objective_ms=60.0, random_state=0)
    p99 = table.loc["total", "p99_ms"]  # about 40 + 23 ms
    assert 60 < p99 < 66 and not table.loc["total", "within_objective"]
    assert table.loc[["network", "inference"], "within_objective"].all()  # each part fits alone; their sum does not
    assert budget({"network": 40.0, "inference": x}, objective_ms=70.0, random_state=0).loc["total", "within_objective"]
    assert not budget({"network": 120.0}, objective_ms=100.0).loc["network", "within_objective"]


def test_other_percentiles():
    x = np.random.default_rng(5).exponential(5.0, 50_000)
    table = budget({"inference": x}, objective_ms=20.0, q=95, random_state=0)
    assert table.columns.tolist() == ["kind", "mean_ms", "p50_ms", "p95_ms", "tail_share", "within_objective"]
    assert table.loc["total", "p95_ms"] == pytest.approx(stats.expon(scale=5.0).ppf(0.95), rel=0.03)
    assert budget({"inference": x}, objective_ms=20.0, q=50, random_state=0).columns.tolist() == [
        "kind", "mean_ms", "p50_ms", "tail_share", "within_objective"]
    assert "p99.9_ms" in budget({"inference": x}, objective_ms=20.0, q=99.9, random_state=0).columns


def test_seeded_draws_repeat():
    x = np.random.default_rng(6).exponential(5.0, 1_000)
    y = np.random.default_rng(7).exponential(5.0, 1_000)
    a = budget({"a": x, "b": y}, objective_ms=50.0, random_state=0)
    pd.testing.assert_frame_equal(a, budget({"a": x, "b": y}, objective_ms=50.0, random_state=np.random.default_rng(0)))
    assert a.loc["total", "p99_ms"] != budget({"a": x, "b": y}, objective_ms=50.0, random_state=1).loc["total", "p99_ms"]


def test_unusual_but_valid_parts():
    x = [1.0, 2.0, 3.0]
    expected = budget({"a": x, "b": 2}, objective_ms=10, random_state=0)
    for a in (np.array(x, dtype=np.float32), pd.Series(x, index=[7, 8, 9]), tuple(x), np.array([1, 2, 3])):
        pd.testing.assert_frame_equal(budget({"a": a, "b": np.int64(2)}, objective_ms=10, random_state=0), expected)
    assert budget({"zero": 0.0}, objective_ms=1.0).loc["total", "p99_ms"] == 0.0


@pytest.mark.parametrize(
    "kwargs, error, words",
    [
        ({"components": {}}, TypeError, "components must be a non-empty dict"),
        ({"components": [1.0, 2.0]}, TypeError, "components must be a non-empty dict"),
        ({"components": {1: 5.0}}, TypeError, "components must have str names"),
        ({"components": {"total": 5.0}}, ValueError, "must not have a part named 'total'"),
        ({"components": {"net": -1.0}}, ValueError, r"components\['net'\] must be in"),
        ({"components": {"net": np.nan}}, ValueError, r"components\['net'\] must be finite"),
        ({"components": {"net": "40 ms"}}, TypeError, r"components\['net'\] must be a number"),
        ({"components": {"net": True}}, TypeError, r"components\['net'\] must be a number"),
        ({"components": {"net": [1.0, -2.0]}}, ValueError, r"components\['net'\] must hold latencies >= 0"),
        ({"components": {"net": []}}, ValueError, r"components\['net'\] must have at least 1"),
        ({"components": {"net": [[1.0, 2.0]]}}, ValueError, r"components\['net'\] must have 1 dimension"),
        ({"components": {"net": [1.0, np.inf]}}, ValueError, r"components\['net'\] must be finite"),
        ({"components": {"net": None}}, TypeError, r"components\['net'\] must be a number"),
        ({"objective_ms": 0}, ValueError, "objective_ms must be in"),
        ({"objective_ms": "100ms"}, TypeError, "objective_ms must be a real number"),
        ({"q": 0}, ValueError, "q must be in"),
        ({"q": 101}, ValueError, "q must be in"),
        ({"n_samples": 10}, ValueError, "n_samples must be >= 1000"),
        ({"n_samples": MAX_SAMPLES + 1}, ValueError, "n_samples must be <="),
        ({"random_state": "x"}, TypeError, "random_state must be"),
    ],
)
def test_bad_input(kwargs, error, words):
    call = {"components": {"net": 40.0}, "objective_ms": 100.0, **kwargs}
    with pytest.raises(error, match=words):
        budget(**call)

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.stats import chi2_contingency, ks_2samp

from mlsys_course.datasets import make_transactions
from mlsys_course.importance import MAX_BINS, PSI_EPS, distribution_shift, feature_coverage, psi
from mlsys_course.leakage import time_split


def psi_formula(e_counts, a_counts, eps=PSI_EPS):
    """The population stability index written out term by term."""
    total_e, total_a = sum(e_counts), sum(a_counts)
    value = 0.0
    for e, a in zip(e_counts, a_counts):
        pe, pa = max(e / total_e, eps), max(a / total_a, eps)
        value += (pa - pe) * np.log(pa / pe)
    return value


# --- coverage and shift -----------------------------------------------------------------------------


def test_psi_equals_the_formula_on_categories_and_on_bins():
    assert psi(list("aabb"), list("abbb"), categorical=True) == pytest.approx(psi_formula([2, 2], [1, 3]))
    # a category absent from training counts with a share of eps
    assert psi(list("aab"), list("abc"), categorical=True) == pytest.approx(psi_formula([2, 1, 0], [1, 1, 1]))
    expected = np.arange(100.0)  # deciles at 9.9, 19.8, ...: ten bins of ten values
    actual = np.concatenate([np.full(30, -5.0), np.arange(50.0, 120.0)])
    edges = np.quantile(expected, np.linspace(0, 1, 11)[1:-1])
    a_counts = np.bincount(np.searchsorted(edges, actual, side="right"), minlength=10)
    assert a_counts.tolist() == [30, 0, 0, 0, 0, 10, 10, 10, 10, 30]
    assert psi(expected, actual) == pytest.approx(psi_formula([10] * 10, a_counts))


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(0, 5), min_size=1, max_size=40), st.lists(st.integers(0, 5), min_size=1, max_size=40))
def test_psi_is_nonnegative_and_zero_for_the_same_sample(e, a):
    assert psi(e, a, categorical=True) >= 0 and psi(e, a) >= 0
    assert psi(e, e, categorical=True) == 0.0 and psi(e, e) == 0.0


def test_psi_rejects_bad_input():
    with pytest.raises(TypeError, match="expected must hold numbers, datetimes or timedeltas unless categorical=True; got dtype"):
        psi(["a", "b"], [1.0, 2.0])
    with pytest.raises(ValueError, match="actual must have at least one non-missing value"):
        psi([1.0], [np.nan])
    with pytest.raises(ValueError, match="bins must be >= 2; got 1"):
        psi([1.0], [1.0], bins=1)
    with pytest.raises(TypeError, match="expected must be a 1-d array-like"):
        psi("abc", [1.0])


def test_feature_coverage_counts_missing_values_and_unseen_categories():
    train = pd.DataFrame({"merchant": ["a", "a", "b", None], "age": [1.0, None, None, 4.0], "m_id": [1, 1, 2, 3]})
    test = pd.DataFrame({"merchant": ["a", "c", "c", "d", None], "age": [1.0, 2.0, 3.0, 4.0, 5.0], "m_id": [9, 1, 1, 1, 1]})
    cov = feature_coverage(train, test, categorical="m_id")
    assert cov["kind"].tolist() == ["categorical", "numeric", "categorical"]
    assert cov["coverage_train"].tolist() == [0.75, 0.5, 1.0] and cov["coverage_test"].tolist() == [0.8, 1.0, 1.0]
    assert cov.loc["merchant", "unseen_share"] == 0.75 and cov.loc["merchant", "n_unseen"] == 2
    assert cov.loc["m_id", "unseen_share"] == 0.2 and np.isnan(cov.loc["age", "unseen_share"])


def test_time_split_of_the_world_shows_new_merchants_and_ageing_accounts():
    df = make_transactions(30_000, random_state=0)
    train, test = time_split(df)
    cols = ["merchant_id", "merchant_category", "amount", "device", "account_age_days"]
    cov = feature_coverage(df.iloc[train][cols], df.iloc[test][cols], categorical="merchant_id")
    opened = df.groupby("merchant_id")["timestamp"].min()
    new = opened[opened >= df["timestamp"].iloc[test].min()].index
    assert cov.loc["merchant_id", "n_unseen"] == len(new) > 0
    assert cov.loc["merchant_id", "unseen_share"] == pytest.approx(df["merchant_id"].iloc[test].isin(new).mean())
    assert cov.loc["device", "coverage_test"] < 1.0  # MAR missing device
    shift = distribution_shift(df.iloc[train][cols], df.iloc[test][cols], categorical="merchant_id")
    assert shift.index[0] == "merchant_id" and shift.loc["account_age_days", "psi"] > 0.1
    assert shift.loc["amount", "p_value"] > 0.01  # amounts do not drift in this world


def test_distribution_shift_reports_scipys_tests_and_the_psi():
    rng = np.random.default_rng(0)
    train = pd.DataFrame({"x": rng.normal(0, 1, 3000), "same": rng.normal(0, 1, 3000), "c": rng.choice(list("abc"), 3000)})
    test = pd.DataFrame({"x": rng.normal(0.3, 1, 2000), "same": rng.normal(0, 1, 2000),
                         "c": rng.choice(list("abc"), 2000, p=[0.6, 0.3, 0.1])})
    test.loc[:99, "x"] = np.nan  # missing values are left out
    shift = distribution_shift(train, test)
    ks = ks_2samp(train["x"], test["x"].dropna())
    assert shift.loc["x", "statistic"] == pytest.approx(ks.statistic) and shift.loc["x", "p_value"] == pytest.approx(ks.pvalue)
    table = pd.crosstab(np.r_[np.zeros(3000), np.ones(2000)], np.r_[train["c"], test["c"]]).to_numpy()
    chi2, p = chi2_contingency(table)[:2]
    assert shift.loc["c", "statistic"] == pytest.approx(chi2) and shift.loc["c", "p_value"] == pytest.approx(p)
    for column, categorical in (("x", False), ("same", False), ("c", True)):
        assert shift.loc[column, "psi"] == pytest.approx(psi(train[column], test[column], categorical=categorical))
    assert shift.loc["same", "p_value"] > 0.01 and shift.loc["x", "p_value"] < 1e-6 and shift.loc["c", "psi"] > 0.25
    assert shift["psi"].is_monotonic_decreasing


def test_coverage_and_shift_reject_bad_input():
    train = pd.DataFrame({"a": [1.0, 2.0]})
    with pytest.raises(ValueError, match=r"test must have every column of train; missing \['a'\]"):
        feature_coverage(train, pd.DataFrame({"b": [1.0]}))
    with pytest.raises(TypeError, match="train must be a pandas DataFrame"):
        distribution_shift([1.0, 2.0], train)
    with pytest.raises(ValueError, match="categorical must be a column of train; got 'z'"):
        distribution_shift(train, train, categorical="z")
    with pytest.raises(ValueError, match=r"categorical must be columns of train; got unknown \['z'\]"):
        feature_coverage(train, train, categorical=["a", "z"])
    with pytest.raises(ValueError, match=r"test\['a'\] must have at least one non-missing value"):
        distribution_shift(train, pd.DataFrame({"a": [np.nan]}))
    with pytest.raises(ValueError, match=r"train must have at least 1 row\(s\); got 0"):
        feature_coverage(train.iloc[:0], train)


def test_duplicate_column_names_are_refused_clearly():
    twice = pd.DataFrame([[1.0, 2.0], [3.0, 4.0]], columns=["a", "a"])
    for func in (feature_coverage, distribution_shift):
        with pytest.raises(ValueError, match=r"train must have unique column names; got repeated \['a'\]"):
            func(twice, twice)
        with pytest.raises(ValueError, match=r"test must have unique column names; got repeated \['a'\]"):
            func(twice.iloc[:, :1], twice)


def test_sizes_and_values_that_would_hang_or_mislead_are_refused():
    with pytest.raises(ValueError, match=rf"bins must be <= {MAX_BINS}; got 10000000000"):
        psi([1.0, 2.0], [1.0, 2.0], bins=10**10)
    with pytest.raises(ValueError, match=rf"bins must be <= {MAX_BINS}"):
        distribution_shift(pd.DataFrame({"x": [1.0, 2.0]}), pd.DataFrame({"x": [1.0, 2.0]}), bins=10**10)
    with pytest.raises(ValueError, match=r"test\['x'\] must be finite where present .*got 1 infinite value"):
        distribution_shift(pd.DataFrame({"x": [1.0, 2.0]}), pd.DataFrame({"x": [1.0, np.inf]}))
    with pytest.raises(ValueError, match=r"actual must be finite where present"):
        psi([1.0, 2.0], [np.inf, 1.0])
    with pytest.raises(TypeError, match=r"categorical must be True or False; got 'yes'"):
        psi(["a"], ["a"], categorical="yes")


def test_unusual_but_valid_inputs():
    rng = np.random.default_rng(0)
    n = 300
    train = pd.DataFrame({
        "x": rng.normal(size=n).astype(np.float32),
        "id": pd.array(rng.integers(0, 5, n), dtype="Int64"),
        "flag": rng.random(n) < 0.5,
        "when": pd.date_range("2024-01-01", periods=n, freq="h", tz="UTC"),
        0: rng.choice(["a", "b"], n),  # a non-string column label
    }, index=np.arange(n)[::-1] * 3)
    test = train.copy()
    test.loc[test.index[:10], "id"] = pd.NA
    coverage = feature_coverage(train, test, categorical=np.array(["id"]))
    assert coverage.loc["id", "coverage_test"] == pytest.approx(1 - 10 / n) and coverage.loc["id", "kind"] == "categorical"
    shift = distribution_shift(train, test, categorical="id")
    assert shift.loc["x", "psi"] == 0.0 and shift.loc["when", "statistic"] == 0.0 and shift.loc["0", "p_value"] == 1.0
    assert psi(range(10), np.arange(10), bins=np.int64(4)) == 0.0
    assert psi(pd.Series(["a", "b"], index=[5, 9]), ["a", "a"], categorical=np.bool_(True)) > 0


def test_values_of_different_kinds_are_not_compared_as_numbers():
    # A datetime read as nanoseconds against plain numbers, or UTC against local times, would give a number
    # that means nothing: refused.
    days = pd.Series(pd.date_range("2024-01-01", periods=20))
    with pytest.raises(TypeError, match=r"actual must hold values of the same kind as expected \(datetimes, "):
        psi(days, np.arange(20.0))
    with pytest.raises(TypeError, match=r"test\['t'\] must hold values of the same kind as train\['t'\] \(datetimes"):
        distribution_shift(pd.DataFrame({"t": days}), pd.DataFrame({"t": days.dt.tz_localize("UTC")}))
    with pytest.raises(TypeError, match=r"test\['t'\] must hold values of the same kind .*got dtype str"):
        distribution_shift(pd.DataFrame({"t": np.arange(20.0)}), pd.DataFrame({"t": ["x"] * 20}))
    with pytest.raises(TypeError, match=r"train\['z'\] must hold real numbers; got dtype complex128"):
        distribution_shift(pd.DataFrame({"z": np.arange(5) + 1j}), pd.DataFrame({"z": np.arange(5) + 1j}))
    with pytest.raises(TypeError, match=r"expected must be a 1-d array-like or pandas Series; got \[\[1, 2\], \[3\]\]"):
        psi([[1, 2], [3]], [1.0])


def test_categories_must_be_hashable():
    with pytest.raises(TypeError, match=r"expected must hold hashable values .*got \{'a': 1\} of type dict"):
        psi([{"a": 1}, {"a": 1}], ["a"], categorical=True)
    with pytest.raises(TypeError, match=r"actual must hold hashable values .*got \[1\]"):
        psi(["a"], pd.Series([[1], [2]]), categorical=True)
    frame = pd.DataFrame({"c": ["a", "b"]})
    with pytest.raises(TypeError, match=r"test\['c'\] must hold hashable values .*got \[1\]"):
        feature_coverage(frame, pd.DataFrame({"c": [[1], [2]]}))
    with pytest.raises(TypeError, match=r"train\['c'\] must hold hashable values .*got \{'a': 1\}"):
        distribution_shift(pd.DataFrame({"c": [{"a": 1}] * 2}), frame)
    with pytest.raises(TypeError, match=r"categorical must be a column name or a list of column names of train"):
        feature_coverage(frame, frame, categorical=frame)


def test_timedeltas_and_mixed_categories():
    # Durations are numbers (nanoseconds): the same PSI and KS as on their values in seconds.
    rng = np.random.default_rng(0)
    a, b = rng.exponential(60, 500), rng.exponential(90, 400)
    durations = pd.DataFrame({"d": pd.to_timedelta(a, "s")}), pd.DataFrame({"d": pd.to_timedelta(b, "s")})
    shift = distribution_shift(*durations)
    assert shift.loc["d", "kind"] == "numeric"
    assert shift.loc["d", "statistic"] == pytest.approx(ks_2samp(a, b).statistic)
    assert shift.loc["d", "psi"] == pytest.approx(psi(a, b), rel=1e-9)
    # Categories of mixed types (a number and a string do not sort) are counted as they are.
    assert psi(["a", 1, 1, 2.5], [1, "a", "a", 2.5], categorical=True) == pytest.approx(psi_formula([1, 2, 1], [2, 1, 1]))

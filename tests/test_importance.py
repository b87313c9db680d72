import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.stats import chi2_contingency, ks_2samp
from sklearn.ensemble import RandomForestClassifier
from sklearn.inspection import permutation_importance
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from mlsys_course.datasets import make_transactions
from mlsys_course.features import transaction_features
from mlsys_course.importance import PSI_EPS, distribution_shift, feature_coverage, importance_comparison, psi
from mlsys_course.leakage import group_split, time_split


def psi_formula(e_counts, a_counts, eps=PSI_EPS):
    """The population stability index written out term by term."""
    total_e, total_a = sum(e_counts), sum(a_counts)
    value = 0.0
    for e, a in zip(e_counts, a_counts):
        pe, pa = max(e / total_e, eps), max(a / total_a, eps)
        value += (pa - pe) * np.log(pa / pe)
    return value


# --- importance -------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def forest_on_the_world():
    """The recommended setting: 4000 rows at 5% fraud, a planted random ID, half the users held out, 50 trees."""
    df = make_transactions(4_000, fraud_rate=0.05, random_state=0)
    X = transaction_features(df).assign(random_id=np.random.default_rng(0).permutation(len(df)).astype(float))
    y = df["is_fraud"].to_numpy()
    train, test = group_split(df, test_size=0.5, random_state=0)
    rf = RandomForestClassifier(50, random_state=0).fit(X.iloc[train], y[train])
    return rf, X.iloc[test], y[test]


def test_a_random_id_ranks_high_by_impurity_and_at_zero_by_permutation(forest_on_the_world):
    rf, X_test, y_test = forest_on_the_world
    table = importance_comparison(rf, X_test, y_test, scoring="average_precision", n_repeats=3, random_state=0)
    row = table.loc["random_id"]
    assert row["impurity_rank"] <= 6 and row["impurity"] > 1.5 / len(table)  # well above an equal share
    assert row["permutation"] < 0.1 * table["permutation"].max()  # next to nothing, held out
    assert abs(row["permutation"]) < 3 * row["permutation_std"] + 0.01  # within the shuffles' noise of zero
    assert table.loc["category_digital_goods", "permutation"] > 0.05  # a real signal keeps a real drop


def test_importance_comparison_reports_scikit_learns_numbers(forest_on_the_world):
    rf, X_test, y_test = forest_on_the_world
    table = importance_comparison(rf, X_test, y_test, scoring="roc_auc", n_repeats=2, random_state=4)
    ref = permutation_importance(rf, X_test, y_test, scoring="roc_auc", n_repeats=2, random_state=4)
    ordered = table.reindex(X_test.columns)
    np.testing.assert_allclose(ordered["impurity"], rf.feature_importances_)
    np.testing.assert_allclose(ordered["permutation"], ref.importances_mean)
    np.testing.assert_allclose(ordered["permutation_std"], ref.importances_std)
    assert table["impurity"].is_monotonic_decreasing and table["impurity_rank"].iloc[0] == 1


def test_importance_comparison_takes_a_pipeline_and_rejects_models_without_importances():
    rng = np.random.default_rng(0)
    X = pd.DataFrame({"a": rng.normal(size=300), "b": rng.normal(size=300)})
    y = (X["a"] > 0).astype(int)
    pipe = make_pipeline(StandardScaler(), RandomForestClassifier(10, random_state=0)).fit(X, y)
    assert importance_comparison(pipe, X, y, n_repeats=1).index[0] == "a"
    with pytest.raises(TypeError, match="must be a fitted estimator with feature_importances_ .* got LogisticRegression"):
        importance_comparison(LogisticRegression().fit(X, y), X, y)
    with pytest.raises(ValueError, match=r"one value per column of X_test \(1\); got 2"):
        importance_comparison(pipe, X[["a"]], y)
    with pytest.raises(ValueError, match="n_repeats must be >= 1; got 0"):
        importance_comparison(pipe, X, y, n_repeats=0)
    with pytest.raises(TypeError, match="X_test must be a pandas DataFrame"):
        importance_comparison(pipe, X.to_numpy(), y)


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
    with pytest.raises(TypeError, match="expected must be numeric unless categorical=True; got dtype"):
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
    with pytest.raises(ValueError, match="categorical must name columns of train; got 'z'"):
        distribution_shift(train, train, categorical="z")
    with pytest.raises(ValueError, match=r"test\['a'\] must have at least one non-missing value"):
        distribution_shift(train, pd.DataFrame({"a": [np.nan]}))

"""mlsys_course.drift: two-sample drift tests against scipy, statsmodels, scikit-learn and the formulas."""

import numpy as np
import pandas as pd
import pytest
from scipy import special, stats
from scipy.spatial.distance import pdist
from sklearn.linear_model import LogisticRegression
from sklearn.metrics.pairwise import rbf_kernel
from sklearn.model_selection import StratifiedKFold
from statsmodels.stats.multitest import multipletests

from mlsys_course import drift
from mlsys_course.drift import (
    PSI_EPSILON,
    ChiSquareDetector,
    DomainClassifierDetector,
    DriftResult,
    KSDetector,
    MMDDetector,
    PSIDetector,
    chi2_counts,
    chi2_test,
    correct_pvalues,
    drift_report,
    ks_test,
    mmd_test,
    psi,
    psi_counts,
)


def _binomial_tolerance(runs, rate=0.05, sigmas=4):
    """Rejection rates within this of alpha are within sampling error (4 binomial standard errors)."""
    return sigmas * np.sqrt(rate * (1 - rate) / runs)


# ----------------------------------------------------------------------------------------------- KS


@pytest.mark.filterwarnings("ignore:ks_2samp. Exact calculation unsuccessful")  # scipy's own fallback, as scipy
@pytest.mark.parametrize("n1, n2", [(1, 1), (3, 8), (40, 40), (200, 130), (2_000, 1_500), (10_000, 10_000),  # exact
                                    (10_001, 300), (12_000, 12_000), (20_000, 7_000), (15_000, 40)])  # asymptotic
@pytest.mark.parametrize("ties", [False, True])
@pytest.mark.parametrize("alternative", ["two-sided", "less", "greater"])
def test_ks_equals_scipy(n1, n2, ties, alternative):
    rng = np.random.default_rng(n1 + n2)
    a, b = rng.normal(size=n1), rng.normal(0.03, 1.1, size=n2)
    if ties:
        a, b = np.round(a, 1), np.round(b, 1)
    statistic, p = ks_test(a, b, alternative=alternative)
    expected = stats.ks_2samp(a, b, alternative=alternative)
    assert abs(statistic - expected.statistic) <= 1e-12
    assert abs(p - expected.pvalue) <= 1e-9


def test_pruned_ecdf_gap_equals_the_gap_at_every_point():
    """The block bound skips points only where the gap cannot be the largest: same float, bit for bit."""
    rng = np.random.default_rng(17)
    for _ in range(60):
        n1, n2 = rng.integers(1, 3000, 2)
        decimals = int(rng.integers(0, 3))  # heavy ties to none
        a = np.sort(np.round(rng.normal(size=n1), decimals))
        b = np.sort(np.round(rng.normal(rng.normal(0, 0.1), 1, size=n2), decimals))
        for x, y in ((a, b), (b, a)):
            every = np.max(np.arange(1, len(x) + 1) / len(x) - np.searchsorted(y, x, side="right") / len(y))
            assert drift._max_ecdf_gap(x, y) == every and drift._max_ecdf_gap(x, y, block=5) == every


@pytest.mark.parametrize("shift", [0.0, 0.03, 0.05, 0.5])
def test_ks_of_large_drifted_windows_equals_scipy(shift):
    """Large windows that drifted take scipy's slow branch (2 * smirnov(n, d)), which we compute vectorised."""
    rng = np.random.default_rng(7)
    a, b = rng.normal(size=30_000), rng.normal(shift, 1, size=25_000)
    statistic, p = ks_test(a, b)
    expected = stats.ks_2samp(a, b)
    assert abs(statistic - expected.statistic) <= 1e-12 and abs(p - expected.pvalue) <= 1e-9
    if shift >= 0.03:  # the branch this test is about was taken
        en = np.round(30_000 * 25_000 / 55_000)
        assert en * statistic**2 >= 2.2


@pytest.mark.parametrize("n", [200, 5_000, 60_000, 1_000_000, 1_200_000])
def test_smirnov_sum_equals_scipy_special(n):
    for z in (1.5, 2.0, 3.0):  # n d^2 = z^2 >= 2.2: the branch in use
        d = z / np.sqrt(n)
        if n <= 60_000 or n > drift.SMIRNOV_EXACT_MAX_N:  # scipy's own sum takes ~1 s at n = 1e6: skipped
            assert abs(drift._smirnov(n, d) - special.smirnov(n, d)) <= 1e-11
    for d in (0.3, 0.6):
        assert abs(drift._kstwo_sf(d, float(min(n, 5_000))) - stats.kstwo.sf(d, min(n, 5_000))) <= 1e-12


def test_kstwo_sf_equals_scipy_on_every_branch():
    for n in (5, 140, 141, 1_000, 20_000):
        for d in np.r_[0.2 / n, 0.8 / n, 1.5 / n, np.sqrt(np.array([0.3, 2.0, 2.3, 30.0, 400.0]) / n), 0.5, 0.7,
                       1 - 0.5 / n, 1.0]:
            d = float(min(d, 1.0))
            assert abs(drift._kstwo_sf(d, float(n)) - stats.kstwo.sf(d, n)) <= 1e-12, (n, d)


def test_ks_detector_sorts_the_reference_once_and_matches_scipy_per_column():
    rng = np.random.default_rng(0)
    ref = pd.DataFrame({"a": rng.normal(size=3000), "b": rng.integers(0, 5, 3000)})
    detector = KSDetector(correction=None).fit(ref)
    assert all(np.all(np.diff(s) >= 0) for s in detector.sorted_reference_)
    assert list(detector.feature_names_in_) == ["a", "b"]
    for shift in (0.0, 0.2):
        cur = pd.DataFrame({"b": rng.integers(0, 5, 2000), "a": rng.normal(shift, 1, 2000)})  # other column order
        result = detector.test(cur)
        for column in ("a", "b"):
            expected = stats.ks_2samp(ref[column], cur[column])
            assert result.columns.loc[column, "statistic"] == pytest.approx(expected.statistic, abs=1e-12)
            assert result.columns.loc[column, "p_value"] == pytest.approx(expected.pvalue, abs=1e-9)
    assert result.drifted and result.columns["drifted"].tolist() == [True, False]


def test_per_column_result_aggregates_and_corrects():
    rng = np.random.default_rng(1)
    ref = pd.DataFrame(rng.normal(size=(500, 4)), columns=list("wxyz"))
    cur = pd.DataFrame(rng.normal(size=(400, 4)), columns=list("wxyz")).assign(x=lambda f: f["x"] + 0.4)
    result = KSDetector(alpha=0.05, correction="holm").fit(ref).test(cur)
    table = result.columns
    assert list(table.columns) == ["statistic", "p_value", "p_adjusted", "drifted"] and table.index.name == "column"
    np.testing.assert_allclose(table["p_adjusted"], multipletests(table["p_value"], method="holm")[1])
    assert result.method == "ks" and result.threshold == 0.05
    assert result.statistic == table["statistic"].max() and result.p_value == table["p_adjusted"].min()
    assert table["drifted"].tolist() == (table["p_adjusted"] <= 0.05).tolist() == [False, True, False, False]
    assert "DRIFT in ['x']" in str(result)


# ----------------------------------------------------------------------------------------------- chi-square


def test_chi2_equals_scipy_on_the_table_of_counts():
    rng = np.random.default_rng(2)
    ref = rng.choice(list("abcd"), 400, p=[0.4, 0.3, 0.2, 0.1])
    cur = rng.choice(list("abcd"), 300, p=[0.3, 0.3, 0.25, 0.15])
    table = np.array([[np.sum(ref == v) for v in "abcd"], [np.sum(cur == v) for v in "abcd"]])
    expected = stats.chi2_contingency(table)
    assert chi2_test(ref, cur) == pytest.approx((expected.statistic, expected.pvalue), rel=1e-12, abs=0)
    # two levels: scipy's Yates correction applies, as in chi2_contingency's default
    two = stats.chi2_contingency([[60, 40], [45, 55]])
    assert chi2_test(["x"] * 60 + ["y"] * 40, ["x"] * 45 + ["y"] * 55) == pytest.approx((two.statistic, two.pvalue))


def test_a_level_unseen_in_the_reference_is_its_own_level_and_unused_categories_are_dropped():
    ref = pd.Series(pd.Categorical(["a"] * 50 + ["b"] * 50, categories=["a", "b", "never"]))
    cur = pd.Series(["a"] * 45 + ["b"] * 45 + ["new"] * 10)
    expected = stats.chi2_contingency([[50, 50, 0], [45, 45, 10]])  # "never" dropped, "new" kept with count 0
    assert chi2_test(ref, cur) == pytest.approx((expected.statistic, expected.pvalue))
    result = ChiSquareDetector().fit(ref.to_frame("device")).test(cur.to_frame("device"))
    assert result.drifted and result.columns.loc["device", "p_value"] == pytest.approx(expected.pvalue)
    assert chi2_test(["a", "a"], ["a"]) == (0.0, 1.0)  # one level: nothing can differ


def test_chi2_detector_on_bool_and_category_columns():
    rng = np.random.default_rng(3)
    ref = pd.DataFrame({"flag": rng.random(500) < 0.3, "c": pd.Categorical(rng.choice(["u", "v"], 500))})
    cur = pd.DataFrame({"flag": rng.random(500) < 0.5, "c": rng.choice(["u", "v"], 500).astype(object)})
    result = ChiSquareDetector(correction=None).fit(ref).test(cur)
    for column in ("flag", "c"):
        table = pd.crosstab(np.r_[np.zeros(500), np.ones(500)], np.r_[ref[column].astype(str), cur[column].astype(str)])
        assert result.columns.loc[column, "p_value"] == pytest.approx(stats.chi2_contingency(table.to_numpy()).pvalue)
    assert result.columns["drifted"].tolist() == [True, False]


# ----------------------------------------------------------------------------------------------- PSI


def _psi_by_hand(expected_counts, actual_counts):
    e = np.asarray(expected_counts, float) / np.sum(expected_counts)
    a = np.asarray(actual_counts, float) / np.sum(actual_counts)
    e[e == 0] = PSI_EPSILON
    a[a == 0] = PSI_EPSILON
    return sum((ai - ei) * np.log(ai / ei) for ai, ei in zip(a, e))


def test_psi_equals_the_formula_with_quantile_bins_of_the_reference():
    rng = np.random.default_rng(4)
    ref, cur = rng.gamma(2.0, size=3000), rng.gamma(2.4, size=2000)
    inner = np.quantile(ref, np.arange(1, 10) / 10)
    edges = np.r_[-np.inf, inner, np.inf]
    e, a = (np.bincount(pd.cut(v, edges).codes, minlength=10) for v in (ref, cur))
    assert psi(ref, cur, bins=10) == pytest.approx(_psi_by_hand(e, a), rel=1e-12)
    detector = PSIDetector(bins=10).fit(pd.DataFrame({"x": ref}))
    np.testing.assert_allclose(detector.edges_[0], inner)
    assert detector.test(pd.DataFrame({"x": cur})).statistic == pytest.approx(_psi_by_hand(e, a), rel=1e-12)
    assert psi(ref, ref) == 0.0
    # values beyond the reference's range fall in the open outer bins; an empty bin uses the epsilon
    assert psi(ref, np.full(100, 1e6)) == pytest.approx(_psi_by_hand(e, [0] * 9 + [100]))


def test_psi_bins_merge_on_tied_data_and_many_bins_use_sorting():
    ref = np.repeat([1.0, 2.0, 3.0], [50, 30, 20])
    cur = np.repeat([1.0, 2.0, 3.0], [20, 30, 50])
    assert psi(ref, cur, bins=10) == pytest.approx(_psi_by_hand([50, 30, 20], [20, 30, 50]))
    rng = np.random.default_rng(5)
    x, y = rng.normal(size=5000), rng.normal(0.1, 1, size=5000)
    edges = np.r_[-np.inf, np.unique(np.quantile(x, np.arange(1, 200) / 200)), np.inf]
    by_hand = _psi_by_hand(*(np.bincount(pd.cut(v, edges).codes, minlength=len(edges) - 1) for v in (x, y)))
    assert psi(x, y, bins=200) == pytest.approx(by_hand, rel=1e-12)


def test_psi_of_categorical_levels_with_an_unseen_level():
    ref = ["web"] * 70 + ["app"] * 30
    cur = ["web"] * 50 + ["app"] * 40 + ["kiosk"] * 10
    assert psi(ref, cur) == pytest.approx(_psi_by_hand([70, 30, 0], [50, 40, 10]))
    result = PSIDetector(threshold=0.2).fit(pd.DataFrame({"d": ref})).test(pd.DataFrame({"d": cur}))
    assert result.p_value is None and result.threshold == 0.2
    assert result.columns["p_value"].isna().all() and result.columns["p_adjusted"].isna().all()
    assert result.drifted == (result.statistic >= 0.2)


# ----------------------------------------------------------------------------------------------- MMD


def _mmd2_direct(x, y, sigma):
    """The unbiased squared MMD from its definition (Gretton et al. 2012, eq. 3)."""
    n, m = len(x), len(y)
    kxx, kyy, kxy = (rbf_kernel(u, v, gamma=0.5 / sigma**2) for u, v in ((x, x), (y, y), (x, y)))
    return ((kxx.sum() - np.trace(kxx)) / (n * (n - 1)) + (kyy.sum() - np.trace(kyy)) / (m * (m - 1))
            - 2 * kxy.mean())


def test_mmd_statistic_equals_the_definition_with_the_median_heuristic():
    rng = np.random.default_rng(6)
    ref, cur = rng.normal(size=(80, 3)) * [1, 5, 10] + 3, rng.normal(0.3, 1, size=(60, 3)) * [1, 5, 10] + 3
    detector = MMDDetector(random_state=0).fit(ref)
    np.testing.assert_allclose(detector.mean_, ref.mean(axis=0))
    x, y = (ref - ref.mean(0)) / ref.std(0), (cur - ref.mean(0)) / ref.std(0)
    sigma = np.median(pdist(np.vstack([x, y])))
    result = detector.test(cur)
    assert result.statistic == pytest.approx(_mmd2_direct(x, y, sigma), rel=1e-9)
    assert result.columns is None and result.method == "mmd"
    statistic, p = mmd_test(ref, cur, bandwidth=2.0, random_state=0)
    assert statistic == pytest.approx(_mmd2_direct(x, y, 2.0), rel=1e-9)


def test_every_permutation_statistic_equals_the_definition():
    rng = np.random.default_rng(7)
    z = rng.normal(size=(30, 2))
    kernel = rbf_kernel(z, gamma=0.5)
    np.fill_diagonal(kernel, 0.0)
    splits = np.zeros((30, 5))
    for j in range(5):
        splits[rng.permutation(30)[:12], j] = 1.0
    fast = drift._mmd2_splits(kernel, splits)
    for j in range(5):
        first = splits[:, j] == 1
        assert fast[j] == pytest.approx(_mmd2_direct(z[first], z[~first], 1.0), rel=1e-9)


def test_mmd_p_value_is_one_plus_exceedances_over_one_plus_permutations():
    rng = np.random.default_rng(8)
    ref, cur = rng.normal(size=(40, 2)), rng.normal(size=(30, 2))
    p_values = {mmd_test(ref, cur, n_permutations=19, random_state=s)[1] for s in range(20)}
    assert p_values <= {k / 20 for k in range(1, 21)} and len(p_values) > 1
    assert mmd_test(ref, cur, random_state=3) == mmd_test(ref, cur, random_state=3)  # seeded
    assert mmd_test(ref, ref + 5, n_permutations=50, random_state=0)[1] == 1 / 51  # the smallest p-value


def test_mmd_finds_a_correlation_only_shift_that_per_column_ks_misses():
    rng = np.random.default_rng(0)
    n = 600
    ref = pd.DataFrame(rng.multivariate_normal([0, 0], [[1, 0.8], [0.8, 1]], size=n), columns=["x", "y"])
    cur = pd.DataFrame(rng.multivariate_normal([0, 0], [[1, -0.8], [-0.8, 1]], size=n), columns=["x", "y"])
    ks = KSDetector(correction=None).fit(ref).test(cur)
    assert (ks.columns["p_value"] > 0.05).all() and not ks.drifted
    mmd = MMDDetector(random_state=0).fit(ref).test(cur)
    assert mmd.p_value < 0.05 and mmd.drifted
    domain = DomainClassifierDetector(random_state=0).fit(ref).test(cur)
    assert domain.statistic > 0.6 and domain.drifted


# ----------------------------------------------------------------------------------------------- domain classifier


def test_domain_classifier_auc_of_out_of_fold_scores_and_per_fold_mann_whitney_p_value():
    rng = np.random.default_rng(9)
    ref = pd.DataFrame({"x": rng.normal(size=150), "device": rng.choice(["app", "web"], 150, p=[0.5, 0.5])})
    cur = pd.DataFrame({"x": rng.normal(0.5, 1, size=120), "device": rng.choice(["app", "web"], 120, p=[0.3, 0.7])})
    result = DomainClassifierDetector(estimator=LogisticRegression(), cv=4, random_state=0).fit(ref).test(cur)
    # rebuild it the documented way: one-hot device, stratified 4-fold, predict_proba of the held-out fold
    pooled = pd.concat([ref, cur], ignore_index=True)
    x = np.column_stack([pooled["x"], pooled["device"] == "app", pooled["device"] == "web"]).astype(float)
    y = np.r_[np.zeros(150), np.ones(120)]
    scores, fold_p = np.empty(270), []
    for train, test in StratifiedKFold(4, shuffle=True, random_state=0).split(x, y):
        scores[test] = LogisticRegression().fit(x[train], y[train]).predict_proba(x[test])[:, 1]
        fold_p.append(stats.mannwhitneyu(scores[test][y[test] == 1], scores[test][y[test] == 0],
                                         alternative="greater").pvalue)
    u = stats.mannwhitneyu(scores[y == 1], scores[y == 0])
    assert result.statistic == pytest.approx(u.statistic / (150 * 120), rel=1e-9)  # AUC = U / (n0 n1)
    assert result.p_value == pytest.approx(min(1.0, 4 * min(fold_p)), rel=1e-9)  # Bonferroni over folds
    assert result.drifted and result.method == "domain_classifier" and result.threshold == 0.05


def test_domain_classifier_default_estimator_sees_a_categorical_shift():
    rng = np.random.default_rng(10)
    ref = pd.DataFrame({"x": rng.normal(size=400), "c": pd.Categorical(rng.choice(list("abcd"), 400))})
    cur = pd.DataFrame({"x": rng.normal(size=400),
                        "c": pd.Categorical(rng.choice(list("abcd"), 400, p=[0.55, 0.15, 0.15, 0.15]))})
    result = DomainClassifierDetector(random_state=0).fit(ref).test(cur)
    assert result.drifted and result.statistic > 0.55
    again = DomainClassifierDetector(random_state=0).fit(ref).test(cur)
    assert again.statistic == result.statistic  # seeded


# ----------------------------------------------------------------------------------------------- corrections


@pytest.mark.parametrize("method", ["bonferroni", "holm", "fdr_bh"])
def test_correct_pvalues_equals_statsmodels(method):
    rng = np.random.default_rng(11)
    for p in (rng.random(30) ** 3, np.array([0.01, 0.01, 0.04, 0.04, 0.5, 0.001]), np.array([0.3]),
              np.array([0.0, 1.0, 0.02])):
        np.testing.assert_allclose(correct_pvalues(p, method=method), multipletests(p, method=method)[1],
                                   rtol=1e-13, atol=0)
    assert correct_pvalues([0.2, 0.01], method=None).tolist() == [0.2, 0.01]


# ----------------------------------------------------------------------------------------------- report


def test_drift_report_uses_ks_for_numbers_chi2_for_categories_and_psi_for_all():
    rng = np.random.default_rng(12)
    n = 800
    ref = pd.DataFrame({"amount": rng.lognormal(size=n), "age": rng.integers(18, 90, n),
                        "device": rng.choice(["app", "web"], n), "cat": pd.Categorical(rng.choice(list("xyz"), n)),
                        "flag": rng.random(n) < 0.2})
    cur = ref.sample(frac=1.0, random_state=1).reset_index(drop=True).assign(amount=lambda f: f["amount"] * 1.3)
    report = drift_report(ref, cur, correction="fdr_bh", bins=8)
    assert list(report.columns) == ["kind", "test", "statistic", "p_value", "p_adjusted", "psi", "drifted"]
    assert report["kind"].tolist() == ["numeric", "numeric", "categorical", "categorical", "categorical"]
    assert report["test"].tolist() == ["ks", "ks", "chi2", "chi2", "chi2"]
    for column in ("amount", "age"):
        assert tuple(report.loc[column, ["statistic", "p_value"]]) == pytest.approx(ks_test(ref[column], cur[column]))
    for column in ("device", "cat", "flag"):
        assert tuple(report.loc[column, ["statistic", "p_value"]]) == pytest.approx(chi2_test(ref[column], cur[column]))
    for column in ref.columns:
        assert report.loc[column, "psi"] == pytest.approx(psi(ref[column], cur[column], bins=8), rel=1e-12)
    np.testing.assert_allclose(report["p_adjusted"], multipletests(report["p_value"], method="fdr_bh")[1])
    assert report["drifted"].tolist() == [True, False, False, False, False]


# ----------------------------------------------------------------------------------------------- false alarms


def test_no_shift_rejection_rates_are_alpha_within_sampling_error():
    """On windows drawn from one distribution, each test rejects at alpha 0.05 about 5% of the time."""
    rng = np.random.default_rng(13)
    runs = 600
    ks = np.mean([ks_test(rng.normal(size=300), rng.normal(size=200))[1] <= 0.05 for _ in range(runs)])
    levels, probs = ["a", "b", "c", "d"], [0.4, 0.3, 0.2, 0.1]
    chi2 = np.mean([chi2_test(rng.choice(levels, 300, p=probs), rng.choice(levels, 200, p=probs))[1] <= 0.05
                    for _ in range(runs)])
    for rate in (ks, chi2):
        assert abs(rate - 0.05) <= _binomial_tolerance(runs), (ks, chi2)
    runs_mmd = 300
    mmd = np.mean([mmd_test(rng.normal(size=(30, 3)), rng.normal(size=(25, 3)), n_permutations=99,
                            random_state=rng)[1] <= 0.05 for _ in range(runs_mmd)])
    assert abs(mmd - 0.05) <= _binomial_tolerance(runs_mmd), mmd


def test_domain_classifier_false_alarm_rate_is_at_most_alpha_within_sampling_error():
    """Per-fold Mann-Whitney p-values combined with Bonferroni: valid, so at most alpha (conservative)."""
    rng = np.random.default_rng(14)
    runs = 250
    detector = DomainClassifierDetector(estimator=LogisticRegression(), cv=2, random_state=0)
    rejected = [detector.fit(rng.normal(size=(60, 2))).test(rng.normal(size=(60, 2))).drifted for _ in range(runs)]
    assert np.mean(rejected) <= 0.05 + _binomial_tolerance(runs, sigmas=3), np.mean(rejected)


# ----------------------------------------------------------------------------------------------- NaN policy


def test_nan_policy_raise_names_the_column_and_omit_drops_values_per_column():
    rng = np.random.default_rng(15)
    ref = pd.DataFrame({"a": rng.normal(size=200), "b": rng.normal(size=200)})
    cur = pd.DataFrame({"a": rng.normal(size=150), "b": rng.normal(size=150)})
    cur.loc[:9, "a"] = np.nan
    with pytest.raises(ValueError, match=r"current\['a'\].*10 NaN.*nan_policy='omit'"):
        KSDetector().fit(ref).test(cur)
    with pytest.raises(ValueError, match=r"current\['a'\]"):
        drift_report(ref, cur)
    result = KSDetector(nan_policy="omit", correction=None).fit(ref).test(cur)
    assert result.columns.loc["a", "statistic"] == pytest.approx(stats.ks_2samp(ref["a"], cur["a"].dropna()).statistic)
    assert result.columns.loc["b", "statistic"] == pytest.approx(stats.ks_2samp(ref["b"], cur["b"]).statistic)
    assert psi(ref["a"], cur["a"], nan_policy="omit") == psi(ref["a"], cur["a"].dropna())
    with pytest.raises(ValueError, match="current.*missing"):
        MMDDetector().fit(ref).test(cur)
    mmd = MMDDetector(nan_policy="omit", random_state=0).fit(ref).test(cur)
    assert mmd.statistic == MMDDetector(random_state=0).fit(ref).test(cur.dropna()).statistic
    devices = pd.Series(["app", None, "web", "app"])
    with pytest.raises(ValueError, match="1 missing"):
        chi2_test(devices, ["app", "web"])
    assert chi2_test(devices, ["app", "web"], nan_policy="omit") == chi2_test(devices.dropna(), ["app", "web"])


# ----------------------------------------------------------------------------------------------- bad input


def test_bad_input_is_refused_with_the_argument_named():
    ref = pd.DataFrame({"a": [1.0, 2.0, 3.0], "b": [1, 2, 3]})
    with pytest.raises(ValueError, match="not fitted"):
        KSDetector().test(ref)
    with pytest.raises(ValueError, match="current must have at least 1 row"):
        KSDetector().fit(ref).test(ref.iloc[:0])
    with pytest.raises(ValueError, match="reference must have at least 1 row"):
        ks_test([], [1.0])
    with pytest.raises(ValueError, match="current must have the same columns"):
        KSDetector().fit(ref).test(ref.rename(columns={"b": "c"}))
    with pytest.raises(TypeError, match=r"current\['b'\] must be numeric"):
        KSDetector().fit(ref).test(ref.assign(b=["x", "y", "z"]))
    with pytest.raises(TypeError, match="reference must have only numeric columns"):
        KSDetector().fit(ref.assign(c=["x", "y", "z"]))
    with pytest.raises(TypeError, match="reference must have only categorical columns"):
        ChiSquareDetector().fit(ref)
    with pytest.raises(ValueError, match="bins must be >= 1"):
        PSIDetector(bins=0).fit(ref)
    with pytest.raises(ValueError, match="n_permutations must be >= 1"):
        MMDDetector(n_permutations=0).fit(ref)
    with pytest.raises(ValueError, match="alpha must be in"):
        KSDetector(alpha=1.0).fit(ref)
    with pytest.raises(ValueError, match="correction must be one of"):
        KSDetector(correction="sidak").fit(ref)
    with pytest.raises(ValueError, match="current must have at least 2 rows"):
        MMDDetector().fit(ref).test(ref.iloc[:1])
    with pytest.raises(ValueError, match="cv must be at most the current window's rows"):
        DomainClassifierDetector(cv=3).fit(ref).test(ref.iloc[:2])
    with pytest.raises(TypeError, match=r"reference\['t'\] must be numeric .* or categorical"):
        drift_report(ref.assign(t=pd.Timestamp("2024-01-01")), ref)
    with pytest.raises(ValueError, match="p_values must be in"):
        correct_pvalues([0.2, np.nan])
    with pytest.raises(ValueError, match="p_value must be in"):
        DriftResult("ks", 0.1, 1.2, 0.05, False)


def test_detectors_are_plain_classes_with_params_in_init_and_a_readable_repr():
    detector = KSDetector(alpha=0.01, correction=None)
    assert repr(detector) == "KSDetector(alpha=0.01, correction=None, alternative='two-sided', nan_policy='raise')"
    assert repr(MMDDetector(random_state=3)).startswith("MMDDetector(alpha=0.05, n_permutations=100, ")
    assert PSIDetector(bins=5).get_params() == {"bins": 5, "threshold": 0.2, "nan_policy": "raise"}
    bad = KSDetector(alpha=7)  # stored unchanged, refused at fit
    assert bad.alpha == 7 and not hasattr(bad, "sorted_reference_")
    ref = np.random.default_rng(16).normal(size=(50, 2))
    assert detector.fit(ref) is detector and list(detector.feature_names_in_) == [0, 1]
    one_column = KSDetector().fit(ref[:, 0])  # a 1-D array is one column named 0
    assert one_column.test(ref[:, 1]).columns.index.tolist() == [0]


# ----------------------------------------------------------------------------------------------- many windows at once


@pytest.mark.filterwarnings("ignore:ks_2samp. Exact calculation unsuccessful")  # scipy's own fallback, as scipy
@pytest.mark.parametrize("method", ["auto", "exact", "asymp"])
@pytest.mark.parametrize("alternative", ["two-sided", "less", "greater"])
@pytest.mark.parametrize("n1, n2", [(1, 3), (60, 40), (300, 120)])
def test_ks_method_and_axis_equal_scipy(method, alternative, n1, n2):
    rng = np.random.default_rng(n1 * n2)
    a, b = rng.normal(size=(n1, 6)), rng.normal(0.1, 1.2, size=(n2, 6))
    a[:, 0], b[:, 0] = np.round(a[:, 0], 1), np.round(b[:, 0], 1)  # ties
    b[:, 1] += 3.0  # a shifted column: tiny p-values
    expected = stats.ks_2samp(a, b, alternative=alternative, method=method, axis=0)
    for axis, (x, y) in ((0, (a, b)), (1, (a.T, b.T))):
        statistic, p = ks_test(x, y, alternative=alternative, method=method, axis=axis)
        assert statistic.shape == p.shape == (6,)
        np.testing.assert_allclose(statistic, expected.statistic, rtol=0, atol=1e-12)
        np.testing.assert_allclose(p, expected.pvalue, rtol=1e-9, atol=1e-12)
    one = ks_test(a[:, 2], b[:, 2], alternative=alternative, method=method)  # axis=None: 1-D windows
    one_expected = stats.ks_2samp(a[:, 2], b[:, 2], alternative=alternative, method=method)
    assert one == pytest.approx((one_expected.statistic, one_expected.pvalue), rel=1e-9, abs=1e-12)


def test_ks_axis_auto_switches_to_asymptotic_above_10000_rows_like_scipy():
    rng = np.random.default_rng(5)
    a, b = rng.normal(size=(2, 10_001)), rng.normal(0.02, 1, size=(2, 300))
    statistic, p = ks_test(a, b, axis=1)
    expected = stats.ks_2samp(a, b, axis=1)
    np.testing.assert_allclose(statistic, expected.statistic, atol=1e-12)
    np.testing.assert_allclose(p, expected.pvalue, rtol=1e-9)


def test_psi_axis_equals_psi_column_by_column():
    rng = np.random.default_rng(7)
    ref, cur = rng.lognormal(size=(500, 5)), rng.lognormal(0.2, 1, size=(40, 5))
    ref[:, 0] = np.round(ref[:, 0])  # tied edges merge
    ref[:, 1] = 1.0  # a constant column: one bin
    cur[:, 2] = 1e6  # every current value in the top bin
    for bins in (1, 3, 10, 100):
        expected = [psi(ref[:, j], cur[:, j], bins=bins) for j in range(5)]
        np.testing.assert_allclose(psi(ref, cur, bins=bins, axis=0), expected, rtol=1e-12, atol=1e-15)
        np.testing.assert_allclose(psi(ref.T, cur.T, bins=bins, axis=1), expected, rtol=1e-12, atol=1e-15)
    assert psi(ref, ref, axis=0).tolist() == [0.0] * 5


def test_chi2_counts_equals_scipy_chi2_contingency_table_by_table():
    rng = np.random.default_rng(11)
    a = rng.multinomial(300, [0.4, 0.3, 0.2, 0.1, 0.0], size=8)
    b = rng.multinomial(80, [0.3, 0.3, 0.2, 0.1, 0.1], size=8)
    a[1, 2:], b[1, 2:] = 0, 0  # two levels: Yates' correction
    a[2, 1:], b[2, 1:] = 0, 0  # one level: nothing can differ
    a[3], b[3] = [10, 10, 0, 0, 0], [0, 0, 0, 5, 0]  # a level unseen in the reference
    for correction in (True, False):
        statistic, p = chi2_counts(a, b, correction=correction)
        for i in range(8):
            table = np.vstack([a[i], b[i]])
            expected = stats.chi2_contingency(table[:, table.sum(axis=0) > 0], correction=correction)
            assert (statistic[i], p[i]) == pytest.approx((expected.statistic, expected.pvalue), rel=1e-12, abs=1e-15)
    ref, cur = np.array(list("aabbbc")), np.array(list("abccz"))
    levels = ["a", "b", "c", "z"]
    counts = [np.array([(x == v).sum() for v in levels]) for x in (ref, cur)]
    assert chi2_counts(*counts) == pytest.approx(chi2_test(ref, cur), rel=1e-12)


def test_psi_counts_equals_psi_of_the_windows():
    ref, cur = np.array(list("aaaaaaabbb")), np.array(list("aaaaabbbbc"))
    assert psi_counts([7, 3, 0], [5, 4, 1]) == pytest.approx(psi(ref, cur), rel=1e-12)
    assert psi_counts([7, 3, 0, 0], [5, 4, 1, 0]) == pytest.approx(psi(ref, cur), rel=1e-12)  # unused level: 0
    many = psi_counts([[7, 3, 0], [1, 1, 1]], [[5, 4, 1], [1, 1, 1]])
    assert many.tolist() == pytest.approx([psi(ref, cur), 0.0], rel=1e-12)
    assert psi_counts([70, 30, 0], [50, 40, 10]) == pytest.approx(_psi_by_hand([70, 30, 0], [50, 40, 10]), rel=1e-12)


def test_bad_input_of_the_vectorised_forms_names_the_argument():
    two = np.ones((5, 3))
    with pytest.raises(ValueError, match="method must be one of"):
        ks_test([1.0], [2.0], method="stephens")
    with pytest.raises(ValueError, match="axis must be None, 0"):
        ks_test(two, two, axis=2)
    with pytest.raises(TypeError, match="axis must be None"):
        psi(two, two, axis="rows")
    with pytest.raises(ValueError, match="reference must have at least 1 row"):  # axis=None still takes 1-D only
        ks_test(np.ones((0,)), [1.0])
    with pytest.raises(ValueError, match="current must be 2-D when axis=0"):
        ks_test(two, np.ones(5), axis=0)
    with pytest.raises(ValueError, match="reference and current must have as many columns"):
        ks_test(two, np.ones((5, 2)), axis=0)
    with pytest.raises(ValueError, match="reference and current must have as many rows"):
        psi(two, np.ones((4, 3)), axis=1)
    with pytest.raises(TypeError, match="reference must be numeric"):
        psi(np.full((5, 3), "a"), two, axis=0)
    with pytest.raises(ValueError, match="current must have no missing values"):
        ks_test(two, np.full((5, 3), np.nan), axis=0)
    with pytest.raises(ValueError, match="nan_policy must be 'raise' when axis"):
        ks_test(two, two, axis=0, nan_policy="omit")
    with pytest.raises(ValueError, match="reference_counts and current_counts must have the same shape"):
        chi2_counts([1, 2], [1, 2, 3])
    with pytest.raises(ValueError, match="current_counts must be finite counts >= 0"):
        psi_counts([1, 2], [1, -2])
    with pytest.raises(ValueError, match="reference_counts must have a positive total"):
        chi2_counts([[1, 2], [0, 0]], [[1, 2], [1, 1]])
    with pytest.raises(TypeError, match="correction must be True or False"):
        chi2_counts([1, 2], [2, 1], correction="yates")

"""mlsys_course.experiments against statsmodels (power, z-tests, intervals), scipy (the joint normal law of
repeated looks), published group-sequential boundaries, and seeded simulations (A/A peeking, canaries)."""

import math

import numpy as np
import pytest
from scipy import stats
from statsmodels.stats.power import NormalIndPower, zt_ind_solve_power
from statsmodels.stats.proportion import (confint_proportions_2indep, proportion_effectsize, proportions_ztest,
                                          test_proportions_2indep as sm_test_proportions_2indep)

from mlsys_course.experiments import ab_test, canary_check, power, sample_size, sequential_boundaries

RATES = [(0.10, 0.11), (0.10, 0.105), (0.02, 0.025), (0.5, 0.45), (0.30, 0.20), (0.01, 0.015), (0.9, 0.92)]


@pytest.mark.parametrize("alternative", ["two-sided", "larger", "smaller"])
@pytest.mark.parametrize("ratio", [1.0, 0.5, 3.0])
@pytest.mark.parametrize("alpha,target", [(0.05, 0.8), (0.01, 0.9), (0.1, 0.5)])
def test_sample_size_and_power_equal_statsmodels(alternative, ratio, alpha, target):
    for pc, pt in RATES:
        h = proportion_effectsize(pt, pc)
        if (alternative == "larger" and h < 0) or (alternative == "smaller" and h > 0):
            with pytest.raises(ValueError, match="alternative"):
                sample_size(pc, pt, alpha=alpha, power=target, ratio=ratio, alternative=alternative)
            continue
        ref = NormalIndPower().solve_power(effect_size=h, alpha=alpha, power=target, ratio=ratio,
                                           alternative=alternative)
        assert ref == pytest.approx(zt_ind_solve_power(effect_size=h, alpha=alpha, power=target, ratio=ratio,
                                                       alternative=alternative))
        n = sample_size(pc, pt, alpha=alpha, power=target, ratio=ratio, alternative=alternative)
        assert n == math.ceil(ref), (pc, pt, ref)
        # n reaches the target and n - 1 does not (the smallest whole size)
        assert power(pc, pt, n, alpha=alpha, ratio=ratio, alternative=alternative) >= target
        assert power(pc, pt, n - 1, alpha=alpha, ratio=ratio, alternative=alternative) < target
        for n_c in (50, 1234.5, n):
            assert power(pc, pt, n_c, alpha=alpha, ratio=ratio, alternative=alternative) == pytest.approx(
                NormalIndPower().power(h, n_c, alpha, ratio=ratio, alternative=alternative), rel=1e-12, abs=1e-15)


def test_anchor_numbers():
    # 10% -> 11%: statsmodels' root is 14744.1 users, so the smallest size with power >= 0.8 is 14,745
    # (the "14,744" often quoted is that root truncated; 14,744 users give power 0.79999)
    assert NormalIndPower().solve_power(proportion_effectsize(0.11, 0.10), alpha=0.05, power=0.8) == \
        pytest.approx(14744.1, abs=0.05)
    assert sample_size(0.10, 0.11) == 14745
    assert power(0.10, 0.11, 14744) == pytest.approx(0.8, abs=1e-5) and power(0.10, 0.11, 14744) < 0.8
    assert sample_size(0.10, 0.105) == 57756            # the syllabus's sketch: about 58k per arm
    assert power(0.10, 0.10, 1000) == pytest.approx(0.05)  # no lift: the test rejects at rate alpha
    # the textbook closed form (one tail) is within one user for realistic sizes
    z = stats.norm.isf(0.025) + stats.norm.ppf(0.8)
    assert abs(sample_size(0.10, 0.11) - math.ceil(2 * (z / proportion_effectsize(0.11, 0.10)) ** 2)) <= 1
    # unequal allocation: more users in all, fewer in control when treatment gets more
    assert sample_size(0.10, 0.11, ratio=2.0) < 14745 < sample_size(0.10, 0.11, ratio=2.0) * 3


def test_ab_test_equals_statsmodels_z_test_and_wald_interval():
    rng = np.random.default_rng(0)
    for _ in range(200):
        nc, nt = rng.integers(20, 50_000, 2)
        cc, ct = rng.binomial(nc, rng.uniform(0.02, 0.9)), rng.binomial(nt, rng.uniform(0.02, 0.9))
        if cc + ct in (0, nc + nt):
            continue
        alpha = float(rng.choice([0.01, 0.05, 0.1]))
        r = ab_test(cc, nc, ct, nt, alpha=alpha)
        z, p = proportions_ztest([ct, cc], [nt, nc])
        lo, hi = confint_proportions_2indep(ct, nt, cc, nc, method="wald", compare="diff", alpha=alpha)
        assert r.z == pytest.approx(z, rel=1e-9)
        assert r.p_value == pytest.approx(p, rel=1e-9, abs=1e-300)
        assert (r.ci_low, r.ci_high) == (pytest.approx(lo, abs=1e-12), pytest.approx(hi, abs=1e-12))
        assert r.difference == pytest.approx(ct / nt - cc / nc)
        assert r.significant == (p < alpha)


def test_ab_test_interval_covers_the_true_difference_at_its_level():
    rng = np.random.default_rng(1)
    reps, n = 2000, 5000
    cc, ct = rng.binomial(n, 0.10, reps), rng.binomial(n, 0.11, reps)
    covered = np.mean([ab_test(a, n, b, n).ci_low <= 0.01 <= ab_test(a, n, b, n).ci_high for a, b in zip(cc, ct)])
    assert abs(covered - 0.95) < 3 * math.sqrt(0.05 * 0.95 / reps)


def test_sequential_boundaries_match_published_values_and_the_joint_normal_law():
    # Lan-DeMets O'Brien-Fleming, 5 equal looks, two-sided 0.05 (gsDesign / rpact / Jennison & Turnbull)
    np.testing.assert_allclose(sequential_boundaries(5), [4.877, 3.357, 2.680, 2.290, 2.031], atol=6e-4)
    np.testing.assert_allclose(sequential_boundaries(2), [2.963, 1.969], atol=6e-4)
    np.testing.assert_allclose(sequential_boundaries(5, spending="pocock"), [2.438, 2.427, 2.410, 2.397, 2.386],
                               atol=6e-4)
    assert sequential_boundaries(1)[0] == pytest.approx(stats.norm.isf(0.025))
    # the joint law of z_k = B(t_k)/sqrt(t_k): corr(z_j, z_k) = sqrt(t_j / t_k); P(never cross) = 1 - alpha
    for t, spending, alpha in [((1 / 3, 2 / 3, 1.0), "obrien-fleming", 0.05), ((0.25, 0.6, 1.0), "pocock", 0.1),
                               ((0.5, 1.0), "obrien-fleming", 0.01)]:
        b = sequential_boundaries(list(t), alpha=alpha, spending=spending)
        t = np.array(t)
        cov = np.sqrt(np.minimum.outer(t, t) / np.maximum.outer(t, t))
        stay = stats.multivariate_normal(np.zeros(len(t)), cov).cdf(b, lower_limit=-b, rng=0)
        assert 1 - stay == pytest.approx(alpha, abs=2e-4)
        # first look spends exactly the spending function's alpha
        spent = 4 * stats.norm.sf(stats.norm.isf(alpha / 4) / math.sqrt(t[0])) if spending == "obrien-fleming" \
            else alpha * math.log1p((math.e - 1) * t[0])
        assert 2 * stats.norm.sf(b[0]) == pytest.approx(spent, rel=1e-9)
    # boundaries fall over the looks (O'Brien-Fleming); more looks, a stricter last look
    b10 = sequential_boundaries(10)
    assert np.all(np.diff(b10) < 0) and b10[-1] > sequential_boundaries(5)[-1] > 1.96


def _peeking(rng, reps, looks, per_look, pc, pt):
    """Cumulative two-proportion z at each look, shape (reps, looks), for reps independent A/B tests."""
    c = np.cumsum(rng.binomial(per_look, pc, (reps, looks)), axis=1)
    t = np.cumsum(rng.binomial(per_look, pt, (reps, looks)), axis=1)
    n = per_look * np.arange(1, looks + 1)
    pooled = (c + t) / (2 * n)
    return (t - c) / n / np.sqrt(pooled * (1 - pooled) * 2 / n)


def test_peeking_inflates_false_positives_and_alpha_spending_restores_them():
    reps, looks = 20_000, 10
    z = np.abs(_peeking(np.random.default_rng(2), reps, looks, 1000, 0.10, 0.10))
    se = math.sqrt(0.05 * 0.95 / reps)
    naive = np.mean((z >= stats.norm.isf(0.025)).any(axis=1))
    once = np.mean(z[:, -1] >= stats.norm.isf(0.025))
    corrected = np.mean((z >= sequential_boundaries(looks)).any(axis=1))
    pocock = np.mean((z >= sequential_boundaries(looks, spending="pocock")).any(axis=1))
    assert naive > 0.15                      # about 0.19: nearly four times alpha
    assert abs(once - 0.05) < 3.5 * se       # a single look is fine
    assert abs(corrected - 0.05) < 3.5 * se  # the corrected test is back at alpha
    assert abs(pocock - 0.05) < 3.5 * se
    # with a real lift, O'Brien-Fleming keeps nearly all of the fixed test's power
    n = sample_size(0.10, 0.11)
    z = np.abs(_peeking(np.random.default_rng(3), 4000, looks, math.ceil(n / looks), 0.10, 0.11))
    fixed = np.mean(z[:, -1] >= 1.96)
    seq = np.mean((z >= sequential_boundaries(looks)).any(axis=1))
    assert abs(fixed - 0.8) < 3.5 * math.sqrt(0.16 / 4000)
    assert fixed - 0.04 < seq <= fixed + 0.01


def test_canary_check_equals_statsmodels_wald_test_with_margin():
    rng = np.random.default_rng(4)
    for _ in range(100):
        nk, nc = rng.integers(50, 5000), rng.integers(500, 50_000)
        ek, ec = rng.binomial(nk, rng.uniform(0.01, 0.1)), rng.binomial(nc, rng.uniform(0.01, 0.1))
        if ek == 0 and ec == 0:
            continue
        margin = float(rng.choice([0.0, 0.002, 0.01]))
        d = canary_check(ek, nk, ec, nc, margin=margin, alpha=0.05)
        ref = sm_test_proportions_2indep(ek, nk, ec, nc, value=margin, method="wald", compare="diff",
                                      alternative="larger")
        assert d.z == pytest.approx(ref.statistic, rel=1e-9)
        assert d.p_value == pytest.approx(ref.pvalue, rel=1e-9, abs=1e-300)
        assert d.rollback == (ref.pvalue < 0.05)
    assert not canary_check(0, 100, 0, 1000).rollback and canary_check(0, 100, 0, 1000).p_value == 1.0
    assert canary_check(5, 5, 0, 1000).rollback  # every canary request failed, none of control's
    # the margin tolerates a small regression
    assert canary_check(130, 10_000, 1000, 100_000).rollback
    assert not canary_check(130, 10_000, 1000, 100_000, margin=0.002).rollback


def test_canary_triggers_on_a_regression_and_not_on_an_equal_model():
    rng = np.random.default_rng(5)
    runs = 2000
    nk, nc = 2000, 38_000  # 5% of traffic on the canary
    ctl = rng.binomial(nc, 0.01, runs)
    equal = [canary_check(e, nk, c, nc).rollback for e, c in zip(rng.binomial(nk, 0.01, runs), ctl)]
    worse = [canary_check(e, nk, c, nc).rollback for e, c in zip(rng.binomial(nk, 0.02, runs), ctl)]
    assert np.mean(equal) < 0.05 + 3 * math.sqrt(0.05 * 0.95 / runs)  # false rollbacks at most alpha
    # power of the one-sided test at 1% -> 2%: d / se = 0.01 / sqrt(.02*.98/2000 + .01*.99/38000) = 3.14
    expected = stats.norm.sf(stats.norm.isf(0.05) - 0.01 / math.sqrt(0.02 * 0.98 / nk + 0.01 * 0.99 / nc))
    assert np.mean(worse) > 0.9 and abs(np.mean(worse) - expected) < 0.05


@pytest.mark.parametrize("call,match", [
    (lambda: sample_size(0.0, 0.1), "p_control must be in"),
    (lambda: sample_size(0.1, 1.0), "p_treatment must be in"),
    (lambda: sample_size(0.1, 0.1), "p_treatment must differ"),
    (lambda: sample_size(0.1, 0.11, alpha=1.0), "alpha must be in"),
    (lambda: sample_size(0.1, 0.11, power=0.0), "power must be in"),
    (lambda: sample_size(0.1, 0.11, power=0.04), "power must exceed alpha"),
    (lambda: sample_size(0.1, 0.11, ratio=0), "ratio must be in"),
    (lambda: sample_size(0.1, 0.11, alternative="greater"), "alternative must be one of"),
    (lambda: sample_size(0.1, 0.09, alternative="larger"), "alternative='larger'"),
    (lambda: power(0.1, 0.11, 0), "n_control must be in"),
    (lambda: ab_test(10, 0, 10, 100), "n_control must be >= 1"),
    (lambda: ab_test(10, 100, 10, 0), "n_treatment must be >= 1"),
    (lambda: ab_test(101, 100, 10, 100), "conversions_control must be at most n_control"),
    (lambda: ab_test(1, 100, -1, 100), "conversions_treatment must be >= 0"),
    (lambda: ab_test(0, 100, 0, 100), "pooled variance is 0"),
    (lambda: ab_test(1, 100, 2, 100, alpha=0), "alpha must be in"),
    (lambda: canary_check(1, 0, 1, 100), "n_canary must be >= 1"),
    (lambda: canary_check(1, 10, 101, 100), "errors_control must be at most n_control"),
    (lambda: canary_check(1, 10, 1, 100, margin=-0.1), "margin must be in"),
    (lambda: sequential_boundaries(0), "looks must be >= 1"),
    (lambda: sequential_boundaries([0.5, 0.9]), "ending at 1.0"),
    (lambda: sequential_boundaries([0.5, 0.5, 1.0]), "strictly increasing"),
    (lambda: sequential_boundaries(5, spending="bonferroni"), "spending must be one of"),
    (lambda: sequential_boundaries(5, alpha=1.5), "alpha must be in"),
])
def test_bad_input_is_refused_clearly(call, match):
    with pytest.raises(ValueError, match=match):
        call()


@pytest.mark.parametrize("call,match", [
    (lambda: ab_test(10.0, 100, 10, 100), "conversions_control must be an integer"),
    (lambda: ab_test(10, True, 10, 100), "n_control must be an integer"),
    (lambda: sample_size("0.1", 0.11), "p_control must be a real number"),
    (lambda: sequential_boundaries("5"), "looks must be"),
    (lambda: sequential_boundaries(["a", "b"]), "looks must hold numbers"),
])
def test_wrong_types_are_refused_clearly(call, match):
    with pytest.raises(TypeError, match=match):
        call()

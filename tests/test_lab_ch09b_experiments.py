"""Tests of the A/B-test and canary sections' lab code in mlsys_course.lab.ch09b (ab_*) and of exercise 9b.1."""

import math

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from mlsys_course.exercises import evaluate  # noqa: E402
from mlsys_course.experiments import ab_test, canary_check, sample_size, sequential_boundaries  # noqa: E402
from mlsys_course.lab.ch09b import (AB_EXERCISE, ab_canary_outcome, ab_canary_p_values, ab_canary_plot,  # noqa: E402
                                    ab_canary_traffic, ab_exercise_run, ab_first_stop, ab_peeking_z, ab_plot,
                                    ab_stop_table, ab_users)


def test_ab_users_converts_at_the_planned_rates():
    users = ab_users(3, days=10, per_arm_per_day=5_000)
    assert len(users) == 100_000 and (users.groupby("arm").size() == 50_000).all()
    assert users["day"].nunique() == 10
    rate = users.groupby("arm")["converted"].mean()
    truth = users.groupby("arm")["propensity"].mean()
    se = math.sqrt(0.11 * 0.89 / 50_000)
    assert abs(truth["A"] - 0.10) < 0.002 and abs(truth["B"] - 0.11) < 0.002
    assert abs(rate["A"] - truth["A"]) < 4 * se and abs(rate["B"] - truth["B"]) < 4 * se
    assert users.equals(ab_users(3, days=10, per_arm_per_day=5_000))


def test_ab_peeking_z_is_ab_tests_z_at_every_look():
    z = ab_peeking_z(4, reps=50, looks=6, per_look=300, p_control=0.1, p_treatment=0.12)
    rng = np.random.default_rng([4, 9202])
    c = np.cumsum(rng.binomial(300, 0.1, (50, 6)), axis=1)
    t = np.cumsum(rng.binomial(300, 0.12, (50, 6)), axis=1)
    for r in range(0, 50, 7):
        for k in range(6):
            n = 300 * (k + 1)
            assert z[r, k] == pytest.approx(ab_test(c[r, k], n, t[r, k], n).z, rel=1e-12)


def test_first_stop_and_the_stop_table():
    z = np.array([[0.5, 2.5, 3.0], [1.0, 1.0, 2.0], [0.1, 0.2, 0.3], [-3.0, 0.0, 0.0]])
    assert ab_first_stop(z, [2.0, 2.0, 2.0]).tolist() == [1, 2, -1, 0]
    assert ab_first_stop(z, [np.inf, np.inf, 1.96]).tolist() == [2, 2, -1, -1]
    table = ab_stop_table({"once": [np.inf, np.inf, 1.96], "all": [2.0, 2.0, 2.0]}, z, z, per_look=100)
    assert table.loc["once", "false_positive_rate"] == 0.5 and table.loc["all", "power"] == 0.75
    assert table.loc["once", "mean_users_per_arm"] == 300
    assert table.loc["all", "mean_users_per_arm"] == (200 + 300 + 300 + 100) / 4


def test_the_peeking_simulation_shows_the_problem_and_the_fix():
    z = ab_peeking_z(0, reps=8_000, looks=10, per_look=1_000, p_control=0.1, p_treatment=0.1)
    table = ab_stop_table({"naive": np.full(10, 1.96), "obf": sequential_boundaries(10)}, z, z, per_look=1_000)
    se = math.sqrt(0.05 * 0.95 / 8_000)
    assert table.loc["naive", "false_positive_rate"] > 0.15
    assert abs(table.loc["obf", "false_positive_rate"] - 0.05) < 3.5 * se
    fig = ab_plot(np.array([0.05, 0.1]), np.array([60_000, 15_000]), {"naive": np.full(10, 1.96)}, z)
    assert len(fig.axes) == 2
    plt.close(fig)


def test_ab_canary_p_values_equal_canary_check():
    traffic = ab_canary_traffic(1, error_canary=0.02, runs=20, minutes=15, requests_per_minute=200)
    p = ab_canary_p_values(traffic, margin=0.002)
    for r in range(0, 20, 3):
        for m in range(15):
            nk = int(traffic["n_canary"][r, m])
            if nk == 0:
                assert p[r, m] == 1.0
                continue
            expected = canary_check(int(traffic["errors_canary"][r, m]), nk, int(traffic["errors_control"][r, m]),
                                    int(traffic["n_control"][r, m]), margin=0.002).p_value
            assert p[r, m] == pytest.approx(expected, rel=1e-12, abs=1e-300)
    # zero errors anywhere: no evidence, p = 1, as canary_check
    quiet = {k: np.array([[v]]) for k, v in {"n_canary": 50, "errors_canary": 0, "n_control": 950,
                                             "errors_control": 0}.items()}
    assert ab_canary_p_values(quiet)[0, 0] == canary_check(0, 50, 0, 950).p_value == 1.0


def test_canary_outcome_counts_rollbacks_and_exposure():
    traffic = {"n_canary": np.array([[10, 20, 30], [10, 20, 30]]), "errors_canary": np.array([[0, 0, 9], [0, 0, 0]]),
               "n_control": np.array([[990, 1980, 2970], [990, 1980, 2970]]),
               "errors_control": np.array([[10, 20, 30], [10, 20, 30]])}
    out = ab_canary_outcome(traffic, alpha=0.01)
    assert out["rolled_back"] == 0.5 and out["minute"] == 3 and out["canary_requests"] == 30
    assert out["extra_errors"] == pytest.approx(((9 - 0.3) + (0 - 0.3)) / 2)
    equal = ab_canary_outcome(ab_canary_traffic(2, error_canary=0.01, runs=1_000), alpha=0.05 / 60)
    worse = ab_canary_outcome(ab_canary_traffic(3, error_canary=0.02, runs=1_000), alpha=0.05 / 60)
    assert equal["rolled_back"] <= 0.05 and worse["rolled_back"] > 0.95
    t = ab_canary_traffic(2, error_canary=0.02)
    fig = ab_canary_plot(t, ab_canary_p_values(t)[0], {"a": 0.05})
    assert len(fig.axes) == 2
    plt.close(fig)


def _plan(inflation, spending="obrien-fleming", bounds=None):
    n = math.ceil(sample_size(0.05, 0.055) * inflation)
    looks = math.ceil(n / AB_EXERCISE["per_arm_per_day"])
    return {"n_per_arm": n, "looks": looks,
            "boundaries": sequential_boundaries(looks, spending=spending) if bounds is None else [bounds] * looks}


def test_exercise_9b1_accepts_a_sized_sequential_plan_and_refuses_the_wrong_ones():
    good = evaluate("9b.1", _plan(1.08))
    assert good.passed, good.message
    naive = evaluate("9b.1", _plan(1.0, bounds=1.96))
    assert not naive.passed and "false positives" in naive.message
    unsized = evaluate("9b.1", _plan(1.0))  # corrected but not sized for the correction: power about 0.785
    assert not unsized.passed and "power" in unsized.message
    over = evaluate("9b.1", _plan(1.3))
    assert not over.passed and "budget" in over.message
    few = _plan(1.08)
    few["looks"], few["boundaries"] = 3, sequential_boundaries(3)
    assert "looks" in evaluate("9b.1", few).message
    for bad in [None, {"n_per_arm": 1}, {"n_per_arm": 30_000.0, "looks": 10, "boundaries": [2] * 10},
                {"n_per_arm": 33_000, "looks": 12, "boundaries": [2] * 5},
                {"n_per_arm": 33_000, "looks": 12, "boundaries": ["x"] * 12}]:
        verdict = evaluate("9b.1", bad)
        assert not verdict.passed and verdict.message


def test_exercise_run_is_the_checkers_simulation():
    plan = _plan(1.0, bounds=1.96)
    plan["boundaries"] = np.r_[np.full(plan["looks"] - 1, np.inf), 1.96]
    fp = ab_exercise_run(plan, 7, p_treatment=0.05, reps=20_000)
    assert abs(fp - 0.05) < 3.5 * math.sqrt(0.05 * 0.95 / 20_000)  # one look: the fixed test's alpha
    pw = ab_exercise_run(plan, 8, p_treatment=0.055, reps=20_000)
    assert abs(pw - 0.8) < 3.5 * math.sqrt(0.16 / 20_000)           # sized by sample_size: power 0.8
